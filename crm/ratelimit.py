"""Rate-limit counters kept in the application's own database: `database://`, the default storage of
the limiter (crm.extensions.limiter, configured by RATELIMIT_STORAGE_URI).

Every web worker and every server already shares the database, so counts hold across all of them
with nothing else to run (`memory://` counts per process: three gunicorn workers would allow three
times the attempts). Redis (`redis://…`) is the alternative for sites that run it.

A counter is one row: a fixed window that starts with the first hit and ends at `expires_at`. The
counters are read and written through the request's own session, so a failed sign-in's count is
committed with its audit entry, in one transaction, and SQLite never waits on a second connection
of the same request. The increment is one upsert, atomic on SQLite and PostgreSQL alike.
"""
from __future__ import annotations

import time

from limits.storage import Storage
from sqlalchemy import Float, Integer, String, delete, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped, mapped_column

from crm.extensions import db

# Keys name an account by a digest and an address of at most 45 characters; the limiter adds its
# own prefix and the window. Longer keys would mean a caller is building them wrongly.
KEY_LENGTH = 255
# Ended windows removed at most per increment: bounded work for the request that does it.
SWEEP_ROWS = 100


class RateLimitCounter(db.Model):
    __tablename__ = "rate_limit_counters"

    key: Mapped[str] = mapped_column(String(KEY_LENGTH), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)
    # Seconds since the epoch, as the limits library counts; indexed for the sweep of old windows.
    expires_at: Mapped[float] = mapped_column(Float, index=True)


# One statement for "add to the window, or start a new one if it has ended": two workers
# incrementing at once both count (ON CONFLICT takes the row lock on PostgreSQL; SQLite has one writer).
INCREMENT = text(
    "INSERT INTO rate_limit_counters (key, count, expires_at) VALUES (:key, :amount, :now + :expiry) "
    "ON CONFLICT (key) DO UPDATE SET "
    "count = CASE WHEN rate_limit_counters.expires_at <= :now THEN :amount ELSE rate_limit_counters.count + :amount END, "
    "expires_at = CASE WHEN rate_limit_counters.expires_at <= :now THEN :now + :expiry ELSE rate_limit_counters.expires_at END "
    "RETURNING count"
)


class DatabaseStorage(Storage):
    """The fixed-window storage interface of `limits`, on the application's database."""

    STORAGE_SCHEME = ["database"]

    @property
    def base_exceptions(self):
        return SQLAlchemyError

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = time.time()
        # Windows that have ended are swept as new ones start (the index keeps this cheap), so a
        # flood of made-up accounts leaves no rows behind. Rows another transaction holds are left
        # for a later sweep: waiting for them could deadlock with that transaction's own increments.
        ended = (select(RateLimitCounter.key).where(RateLimitCounter.expires_at <= now)
                 .limit(SWEEP_ROWS).with_for_update(skip_locked=True))
        db.session.execute(delete(RateLimitCounter).where(RateLimitCounter.key.in_(ended)))
        return db.session.execute(INCREMENT, {"key": key[:KEY_LENGTH], "amount": amount, "now": now, "expiry": expiry}).scalar_one()

    def get(self, key: str) -> int:
        count = db.session.scalar(
            select(RateLimitCounter.count).where(RateLimitCounter.key == key[:KEY_LENGTH], RateLimitCounter.expires_at > time.time())
        )
        return count or 0

    def get_expiry(self, key: str) -> float:
        expires_at = db.session.scalar(select(RateLimitCounter.expires_at).where(RateLimitCounter.key == key[:KEY_LENGTH]))
        return expires_at if expires_at and expires_at > time.time() else time.time()

    def check(self) -> bool:
        db.session.execute(select(1))
        return True

    def reset(self) -> int | None:
        return db.session.execute(delete(RateLimitCounter)).rowcount

    def clear(self, key: str) -> None:
        db.session.execute(delete(RateLimitCounter).where(RateLimitCounter.key == key[:KEY_LENGTH]))
