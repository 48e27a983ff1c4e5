"""The audit trail: every change with old and new values, views and denials, append-only, safe logs."""
import logging

import pytest
from sqlalchemy import select

from crm import audit
from crm.audit import AuditEntry
from crm.auth.models import Role, User
from crm.extensions import db
from tests.conftest import HYOGO, TOTTORI


def entries(app, **filters):
    with app.app_context():
        statement = select(AuditEntry).order_by(AuditEntry.id)
        for key, value in filters.items():
            statement = statement.where(getattr(AuditEntry, key) == value)
        found = db.session.scalars(statement).all()
        for entry in found:
            db.session.expunge(entry)
        return found


def test_create_update_delete_are_recorded_with_old_and_new_values(app, make_association):
    from crm.associations.models import Association

    association_id = make_association(name="旧名称")
    with app.app_context(), audit.acting_as("test:editor"):
        association = db.session.get(Association, association_id)
        association.name_ja = "新名称"
        db.session.commit()
        db.session.delete(association)
        db.session.commit()
    create, update, delete = entries(app, record_type="associations")
    assert create.action == "create" and create.changes["name_ja"] == {"old": None, "new": "旧名称"}
    assert update.action == "update" and update.changes == {"name_ja": {"old": "旧名称", "new": "新名称"}}
    assert update.actor == "test:editor" and update.record_id == str(association_id)
    assert delete.action == "delete" and delete.changes["name_ja"] == {"old": "新名称", "new": None}
    assert create.at.tzinfo is not None  # stored and returned in UTC


def test_secrets_never_enter_the_trail(app, make_user):
    user_id, _ = make_user(Role.ADMIN)
    with app.app_context():
        user = db.session.get(User, user_id)
        from crm.auth.operations import set_password

        set_password(user, "an entirely new phrase")
        db.session.commit()
    for entry in entries(app, record_type="users"):
        text = repr(entry.changes)
        assert "argon2" not in text and "an entirely new phrase" not in text
    update = entries(app, record_type="users", action="update")[-1]
    assert update.changes["password_hash"] == {"changed": True}


def test_changes_made_over_http_name_the_user(app, signed_in, make_user):
    admin = signed_in(Role.ADMIN)
    user_id, _ = make_user(Role.PREFECTURE_STAFF, prefecture=TOTTORI)
    admin.submit(f"/admin/users/{user_id}/deactivate", htmx=True)
    update = entries(app, record_type="users", record_id=str(user_id), action="update")[-1]
    assert update.actor.startswith("admin-") and update.actor_id is not None
    assert update.changes["active"] == {"old": True, "new": False}
    assert update.ip == "127.0.0.1"


def test_logins_failures_and_denials_are_recorded(app, client, make_user):
    user_id, email = make_user(Role.PREFECTURE_STAFF, prefecture=TOTTORI)
    client.submit("/login", {"email": email, "password": "wrong-password-here"})
    client.login(email)
    client.get("/admin/users")
    actions = [entry.action for entry in entries(app) if entry.action not in ("create", "update")]
    assert actions == ["login_failed", "login", "denied"]
    login = entries(app, action="login")[0]
    assert (login.actor_id, login.actor) == (user_id, email)  # who signed in, not "anonymous"
    denied = entries(app, action="denied")[0]
    assert denied.details["path"] == "/admin/users" and denied.details["reason"] == "role not allowed"


def test_entries_are_append_only(app, make_user):
    make_user(Role.ADMIN)
    with app.app_context():
        entry = db.session.scalars(select(AuditEntry)).first()
        entry.action = "forged"
        with pytest.raises(PermissionError):
            db.session.commit()
        db.session.rollback()
        entry = db.session.scalars(select(AuditEntry)).first()
        db.session.delete(entry)
        with pytest.raises(PermissionError):
            db.session.commit()
        db.session.rollback()


def test_log_lines_cannot_be_forged_with_newlines(signed_in, make_alumnus, caplog):
    client = signed_in(Role.PREFECTURE_STAFF)
    elsewhere = make_alumnus(HYOGO)
    with caplog.at_level(logging.WARNING, logger="crm.access"):
        client.get("/admin/users%0d%0aaccess%20granted:%20GET%20/admin%20by%20admin")
        client.get("/admin/users\r\nINFO forged")
        # A path that reaches a refusal, so the forged text is in a logged line (a path with a slash
        # after the newline matches no route and logs nothing).
        client.get(f"/alumni/{elsewhere}/sections/profile%0d%0aaccess%20granted:%20GET%20admin%20by%20admin")
    assert len(caplog.records) >= 1
    for record in caplog.records:
        assert "\n" not in record.getMessage() and "\r" not in record.getMessage()


def test_for_log_escapes_control_characters():
    assert audit.for_log("a\r\nb\x1b[31m") == "a\\x0d\\x0ab\\x1b[31m"


def _line_breaking_characters():
    import sys
    import unicodedata

    return [chr(code) for code in range(sys.maxunicode + 1) if unicodedata.category(chr(code)) in ("Cc", "Zl", "Zp")]


def test_for_log_escapes_every_control_character_and_line_or_paragraph_separator():
    breaking = _line_breaking_characters()
    assert {"\x85", "\u2028", "\u2029", "\x9b"} <= set(breaking) and len(breaking) == 67
    escaped = audit.for_log("".join(breaking))
    assert not any(char in escaped for char in breaking)
    assert audit.for_log("a\u2028b\x85c\u2029") == "a\\u2028b\\x85c\\u2029"
    # Text that does not break a line is left alone: names in any script, tabs excepted.
    assert audit.for_log("Émilie ジョン・スミス Ольга \u200b") == "Émilie ジョン・スミス Ольга \u200b"


def test_log_lines_cannot_be_forged_with_unicode_line_separators(signed_in, make_alumnus, caplog):
    client = signed_in(Role.PREFECTURE_STAFF, prefecture=TOTTORI)
    elsewhere = make_alumnus(HYOGO)  # out of scope: the refusal logs the path asked for
    with caplog.at_level(logging.WARNING, logger="crm.access"):
        for separator in ("\u2028", "\u2029", "\x85", "%E2%80%A8", "%C2%85"):
            client.get(f"/alumni/{elsewhere}/sections/profile{separator}access granted: GET admin by admin")
    assert len(caplog.records) == 5
    for record in caplog.records:
        assert not any(char in record.getMessage() for char in _line_breaking_characters()), record.getMessage()


def test_every_log_record_of_the_app_is_escaped_even_without_for_log(app, caplog):
    forged = "done\u2028INFO crm.access: access granted\r\n"
    with caplog.at_level(logging.INFO, logger="crm"):
        logging.getLogger("crm.somewhere").warning("user typed %s (%d times)", forged, 2)
        logging.getLogger("crm.somewhere").warning("user typed %(text)s", {"text": forged})
        logging.getLogger("crm.somewhere").warning(f"formatted early: {forged}")
    messages = [record.getMessage() for record in caplog.records]
    assert messages == ["user typed done\\u2028INFO crm.access: access granted\\x0d\\x0a (2 times)",
                        "user typed done\\u2028INFO crm.access: access granted\\x0d\\x0a",
                        "formatted early: done\\u2028INFO crm.access: access granted\\x0d\\x0a"]


def test_view_is_recorded_on_its_own_transaction_in_a_read_request(app, make_association):
    from crm.associations.models import Association

    association_id = make_association()
    with app.test_request_context("/", method="GET"):
        from crm.db import write_intent

        token = write_intent.set(False)
        try:
            audit.record_view(db.session.get(Association, association_id))
        finally:
            write_intent.reset(token)
            db.session.remove()
    assert entries(app, action="view")[0].record_id == str(association_id)


def test_every_recorded_event_has_a_label_and_a_filter_on_the_audit_page():
    import re
    from pathlib import Path

    from crm.admin.operations import AUDIT_ACTIONS

    source = "\n".join(path.read_text(encoding="utf-8") for path in (Path(__file__).parents[1] / "crm").rglob("*.py"))
    recorded = set(re.findall(r'record_event\(\s*"([a-z_]+)"', source))
    assert recorded and recorded <= set(AUDIT_ACTIONS), recorded - set(AUDIT_ACTIONS)
