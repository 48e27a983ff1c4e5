"""Streamed CSV and XLSX downloads built on crm.imports.writers, recorded in the audit trail.

Callers read their rows from the database inside the view (plain values, not ORM objects): the body
is encoded and sent while streaming, after the request's database session has ended.

Every export in every domain answers through `download()`, so the formats, the file names, the
formula-injection guard and the audit entry are the same everywhere.
"""
from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator
from urllib.parse import quote

from flask import Response, stream_with_context

from crm import audit
from crm.imports.writers import iter_csv, write_xlsx

FORMATS = ("csv", "xlsx")
MIMETYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
CHUNK = 64 * 1024


def _xlsx_chunks(rows: Iterable, headers: list[str], sheet_title: str) -> Iterator[bytes]:
    # openpyxl needs a seekable file; a spooled one stays in memory until it grows large.
    with tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024) as spool:
        write_xlsx(rows, headers, spool, sheet_title=sheet_title[:31])
        spool.seek(0)
        while chunk := spool.read(CHUNK):
            yield chunk


def download(rows: Iterable, headers: list[str], fmt: str, filename: str, *, record_type: str, record_id=None, row_count: int, **details) -> Response:
    """A streamed download of `rows` (mappings by header or sequences) as CSV (UTF-8 with BOM, which
    Excel opens correctly) or XLSX, after recording the export with its filter and row count."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}")
    audit.record_event("export", record_type, record_id, format=fmt, rows=row_count, **details)
    body = iter_csv(rows, headers) if fmt == "csv" else _xlsx_chunks(rows, headers, filename)
    response = Response(stream_with_context(body), mimetype=MIMETYPES[fmt])
    full_name = f"{filename}.{fmt}"
    response.headers["Content-Disposition"] = f"attachment; filename=\"export.{fmt}\"; filename*=UTF-8''{quote(full_name)}"
    return response
