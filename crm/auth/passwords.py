"""Password hashing (Argon2id) and the password policy.

Parameters are OWASP's minimum for Argon2id (m=19 MiB, t=2, p=1). The policy follows NIST SP 800-63B:
length, not composition; reject the most common passwords and ones built from the account's email.
"""
from __future__ import annotations

from functools import cache
from pathlib import Path

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError
from flask_babel import lazy_gettext as _l

MIN_LENGTH = 12
MAX_LENGTH = 128
COMMON_PASSWORDS = Path(__file__).with_name("common_passwords.txt")

hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1, hash_len=32, salt_len=16, type=Type.ID)

# Verified against when the account does not exist, so a failed login costs the same either way.
_DUMMY_HASH = hasher.hash("furusato-crm-dummy-password")


def hash_password(password: str) -> str:
    return hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return hasher.check_needs_rehash(password_hash)


@cache
def common_passwords() -> frozenset[str]:
    lines = COMMON_PASSWORDS.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip() and not line.startswith("#"))


def password_problems(password: str, email: str | None = None) -> list:
    """Why a new password is refused; an empty list when it is acceptable."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(_l("Use at least %(count)d characters.", count=MIN_LENGTH))
    if len(password) > MAX_LENGTH:
        problems.append(_l("Use at most %(count)d characters.", count=MAX_LENGTH))
    lowered = password.lower()
    if lowered in common_passwords():
        problems.append(_l("This password is among the most common ones; choose another."))
    elif email and email.split("@")[0].lower() in lowered and len(email.split("@")[0]) >= 4:
        problems.append(_l("Do not build the password from your email address."))
    return problems
