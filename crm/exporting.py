"""Every download in every domain answers through here, so the formats, the file names, the
formula-injection guard and the audit entry are the same everywhere.

- `download()`: rows a view computed itself (fee reminders, reports, a membership list), as CSV
  (UTF-8 with BOM) or XLSX, the audit entry written first.
- `streamed()`: a body already written in one of `EXPORT_FORMATS` (CSV UTF-8 or CP932, XLSX, vCard,
  iCalendar); the transfer room's registered export targets (crm.imports.exports) answer through it.

Callers check scope BEFORE calling (load the association or prefecture through crm.access): the
body is streamed after the view has returned.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from urllib.parse import quote

from flask import Response, stream_with_context

from crm import audit
from crm.formats.writers import iter_csv, xlsx_chunks

EXPORT_FORMATS = {
    # format: (file extension, Content-Type header)
    "csv": ("csv", "text/csv; charset=utf-8"),
    "csv-cp932": ("csv", "text/csv; charset=shift_jis"),
    "xlsx": ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "vcard": ("vcf", "text/vcard; charset=utf-8"),
    "ical": ("ics", "text/calendar; charset=utf-8"),
}
FORMATS = ("csv", "xlsx")


def streamed(body: Iterable[bytes], fmt: str, filename: str, *, attachment: bool = True) -> Response:
    """A streamed file named `filename` plus the format's extension (UTF-8 file names kept); an
    attachment, or shown in place (a calendar feed a calendar application subscribes to)."""
    extension, content_type = EXPORT_FORMATS[fmt]
    response = Response(stream_with_context(body), content_type=content_type)  # as given: mimetype= adds a second charset
    full_name = f"{filename}.{extension}"
    ascii_name = full_name if full_name.isascii() else f"export.{extension}"
    disposition = "attachment" if attachment else "inline"
    response.headers["Content-Disposition"] = f"{disposition}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(full_name)}"
    return response


def download(rows: Iterable, headers: list[str], fmt: str, filename: str, *, record_type: str, record_id=None, row_count: int,
             sheet_title: str | None = None, **details) -> Response:
    """A streamed download of `rows` (mappings by header or sequences) as CSV (UTF-8 with BOM, which
    Excel opens correctly) or XLSX, after recording the export with its filter and row count."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}")
    audit.record_event("export", record_type, record_id, format=fmt, rows=row_count, **details)
    body: Iterator[bytes] = iter_csv(rows, headers) if fmt == "csv" else xlsx_chunks(rows, headers, sheet_title or filename)
    return streamed(body, fmt, filename)
