"""Account rules: creating users, signing in and out, passwords, deactivation. Audited via the ORM."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.orm.attributes import set_committed_value

from crm.auth.models import Role, User
from crm.auth.passwords import hash_password, needs_rehash, password_problems, verify_password
from crm.db import utcnow
from crm.extensions import db
from crm.reference.models import Prefecture


class AccountError(ValueError):
    """A rule about accounts was broken; the message is shown to the user."""


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def find_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == normalise_email(email)))


def check_binding(role: Role, prefecture_id: int | None, association_id: int | None) -> tuple[int | None, int | None]:
    """The prefecture/association a role needs, validated; the other binding is cleared."""
    if role == Role.PREFECTURE_STAFF:
        if prefecture_id is None or db.session.get(Prefecture, prefecture_id) is None:
            raise AccountError(_l("Prefecture staff must be bound to one prefecture."))
        return prefecture_id, None
    if role == Role.ASSOCIATION_STAFF:
        if association_id is None or db.session.get(User.association.property.mapper.class_, association_id) is None:
            raise AccountError(_l("Association staff must be bound to one association."))
        return None, association_id
    return None, None


def create_user(
    email: str,
    display_name: str,
    role: Role,
    password: str,
    prefecture_id: int | None = None,
    association_id: int | None = None,
    locale: str | None = None,
) -> User:
    email = normalise_email(email)
    if find_by_email(email) is not None:
        raise AccountError(_l("An account with this email already exists."))
    problems = password_problems(password, email)
    if problems:
        raise AccountError(" ".join(str(problem) for problem in problems))
    prefecture_id, association_id = check_binding(role, prefecture_id, association_id)
    user = User(
        email=email,
        display_name=display_name.strip() or email,
        role=role,
        prefecture_id=prefecture_id,
        association_id=association_id,
        locale=locale,
        password_hash=hash_password(password),
        password_changed_at=utcnow(),
    )
    db.session.add(user)
    db.session.flush()
    return user


def authenticate(email: str, password: str) -> User | None:
    """The active user with these credentials, else None — the same work and answer either way."""
    user = find_by_email(email)
    if not verify_password(user.password_hash if user else None, password):
        return None
    if not user.active:
        return None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    write_own_bookkeeping(user, last_login_at=utcnow())
    return user


def end_sessions(user: User) -> None:
    """Every cookie issued to this user so far stops working (see the user loader)."""
    write_own_bookkeeping(user, session_version=user.session_version + 1)


def write_own_bookkeeping(user: User, **values) -> None:
    """Sign-in time, language and session version are the user's own bookkeeping, not what an
    administrator edits: written past the ORM's version counter (and the change log: sign-ins and
    sign-outs are events of their own), so an administrator's open edit form of the account does
    not turn stale when its user signs in, signs out or switches language."""
    users = User.__table__
    db.session.execute(update(users).where(users.c.id == user.id).values(**values))
    for key, value in values.items():
        set_committed_value(user, key, value)


def set_password(user: User, new_password: str) -> None:
    problems = password_problems(new_password, user.email)
    if problems:
        raise AccountError(" ".join(str(problem) for problem in problems))
    user.password_hash = hash_password(new_password)
    user.password_changed_at = utcnow()
    end_sessions(user)


def change_own_password(user: User, current_password: str, new_password: str) -> None:
    if not verify_password(user.password_hash, current_password):
        raise AccountError(_l("The current password is not correct."))
    set_password(user, new_password)


def active_admin_count() -> int:
    return db.session.scalar(select(func.count()).select_from(User).where(User.role == Role.ADMIN, User.active))


def set_active(user: User, active: bool, acting_user: User) -> None:
    if not active:
        if user.id == acting_user.id:
            raise AccountError(_l("You cannot deactivate your own account."))
        if user.role == Role.ADMIN and user.active and active_admin_count() <= 1:
            raise AccountError(_l("The last active administrator cannot be deactivated."))
        end_sessions(user)
    user.active = active


def change_role(user: User, role: Role, prefecture_id: int | None, association_id: int | None, acting_user: User) -> None:
    if user.role == Role.ADMIN and role != Role.ADMIN:
        if user.id == acting_user.id:
            raise AccountError(_l("You cannot remove your own administrator role."))
        if active_admin_count() <= 1:
            raise AccountError(_l("The last active administrator must stay an administrator."))
    prefecture_id, association_id = check_binding(role, prefecture_id, association_id)
    if (user.role, user.prefecture_id, user.association_id) != (role, prefecture_id, association_id):
        # What the user may reach changed: sessions opened under the old scope end.
        end_sessions(user)
    user.role, user.prefecture_id, user.association_id = role, prefecture_id, association_id
