"""Every download in every domain answers through here, so the formats, the file names, the
formula-injection guard and the audit entry are the same everywhere.

- `export_target()`: a registered export target (crm.imports.targets: alumni, contacts, members,
  programs, activities) through crm.imports.exports — CSV UTF-8 with BOM, CSV CP932 (after a page
  listing the values CP932 cannot hold), XLSX; streamed; the audit entry (filter, row count) is
  written once the last row has gone out.
- `download()`: rows a view computed itself (fee reminders, reports), in the same formats, the audit
  entry written first.

Callers check scope BEFORE calling (load the association or prefecture through crm.access): the
body is streamed after the view has returned.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date
from urllib.parse import quote

from flask import Response, render_template, request, stream_with_context

from crm import audit
from crm.imports import exports
from crm.imports.targets import TARGETS
from crm.formats.writers import iter_csv, xlsx_chunks

FORMATS = ("csv", "xlsx")
TABLE_FORMATS = ("csv", "csv-cp932", "xlsx")


def streamed(body: Iterator[bytes], fmt: str, filename: str) -> Response:
    """A streamed attachment named `filename` plus the format's extension (UTF-8 file names kept)."""
    extension, content_type = exports.EXPORT_FORMATS[fmt]
    response = Response(stream_with_context(body), content_type=content_type)  # as given: mimetype= adds a second charset
    full_name = f"{filename}.{extension}"
    ascii_name = full_name if full_name.isascii() else f"export.{extension}"
    response.headers["Content-Disposition"] = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(full_name)}"
    return response


def download(rows: Iterable, headers: list[str], fmt: str, filename: str, *, record_type: str, record_id=None, row_count: int, **details) -> Response:
    """A streamed download of `rows` (mappings by header or sequences) as CSV (UTF-8 with BOM, which
    Excel opens correctly) or XLSX, after recording the export with its filter and row count."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}")
    audit.record_event("export", record_type, record_id, format=fmt, rows=row_count, **details)
    body = iter_csv(rows, headers) if fmt == "csv" else xlsx_chunks(rows, headers, filename)
    return streamed(body, fmt, filename)


def export_target(target: str, filters: dict, *, endpoint: str, url_args: dict, formats=TABLE_FORMATS, filename: str | None = None,
                  fmt: str | None = None):
    """The export of a registered target: the format choice when none is asked for, the CP932
    confirmation when values would change, else the streamed file. `endpoint` and `url_args` make
    the links back to the same export."""
    fmt = fmt or request.args.get("format", "")
    context = {"target": target, "label": TARGETS[target].label, "formats": formats, "endpoint": endpoint,
               "url_args": {key: value for key, value in url_args.items() if value not in (None, "")}}
    if fmt not in formats:
        return render_template("imports/export.html", **context)
    if fmt == "csv-cp932" and request.args.get("confirmed") != "1":
        changes = exports.cp932_changes(target, filters)
        if changes:
            return render_template("imports/export_cp932.html", changes=changes, **context)
    name = filename or f"{target}-{date.today().isoformat()}"
    return streamed(exports.stream(target, fmt, filters), fmt, name)
