"""Column mappings a prefecture keeps: saved by the wizard, proposed for files with the same
headers, chosen by name in the CLI (`--mapping NAME`)."""
from __future__ import annotations

import hashlib
import json
from pathlib import PurePath

from sqlalchemy import select

from crm.extensions import db
from crm.imports.headers import header_key
from crm.imports.models import ImportJob, SavedMapping


def headers_key(headers: list[str]) -> str:
    """Files whose headers read the same (case, width and spacing aside) share this key."""
    return hashlib.sha256(json.dumps([header_key(header) for header in headers]).encode()).hexdigest()


def proposed(job: ImportJob) -> SavedMapping | None:
    """The prefecture's most recent mapping for a file with the same headers."""
    if not job.headers or job.prefecture_id is None:
        return None
    return db.session.scalars(select(SavedMapping).where(
        SavedMapping.prefecture_id == job.prefecture_id, SavedMapping.target == job.target,
        SavedMapping.headers_key == headers_key(job.headers)).order_by(SavedMapping.updated_at.desc(), SavedMapping.id.desc())).first()


def named(prefecture_id: int, target: str, name: str) -> SavedMapping | None:
    return db.session.scalars(select(SavedMapping).where(
        SavedMapping.prefecture_id == prefecture_id, SavedMapping.target == target, SavedMapping.name == name)).first()


def remember(job: ImportJob, name: str | None = None) -> SavedMapping:
    """Keep the job's mapping for its prefecture under `name` (default: the file's name, or the
    name of the mapping already kept for these headers)."""
    existing = proposed(job)
    name = (name or "").strip()[:100] or (existing.name if existing else PurePath(job.filename).stem[:100] or job.filename)
    saved = named(job.prefecture_id, job.target, name)
    if saved is None:
        saved = SavedMapping(prefecture_id=job.prefecture_id, target=job.target, name=name)
        db.session.add(saved)
    saved.headers_key = headers_key(job.headers or [])
    saved.mapping = dict(job.mapping or {})
    saved.defaults = (job.options or {}).get("defaults") or {}
    return saved


def apply(job: ImportJob, saved: SavedMapping) -> list[str]:
    """Use a saved mapping for the job; → the saved mapping's columns this file does not have."""
    headers = set(job.headers or [])
    job.mapping = {header: key for header, key in saved.mapping.items() if header in headers}
    job.options = {**(job.options or {}), "saved_mapping": saved.name,
                   "defaults": {**(saved.defaults or {}), **(job.options or {}).get("defaults", {})}}
    return [header for header, key in saved.mapping.items() if key and header not in headers]
