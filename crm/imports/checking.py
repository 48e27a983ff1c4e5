"""The check: a job's file read through its settings and mapping, every row through the target's
validation (the alumni form's own rules), duplicates inside the file, a preview; and the same checks
in a thread ahead of a commit that has no kept rows."""
from __future__ import annotations

import contextlib
import functools
import queue
import threading
from collections.abc import Iterator

from flask import current_app
from flask_babel import force_locale, get_locale, gettext as _
from flask_login import current_user

from crm.alumni import names
from crm.db import utcnow, write_intent, writing
from crm.extensions import db
from crm.formats.decoding import ImportFileError
from crm.formats.limits import ReadLimits
from crm.formats.readers import VCARD_FIELDS, read_table
from crm.imports import mappings
from crm.imports.acting import acting_for
from crm.imports.matching import Matcher
from crm.imports.models import ImportJob, JobState
from crm.imports.progress import Heartbeat
from crm.imports.storage import KeptRows, batch_rows, fingerprint, max_rows, open_upload
from crm.imports.targets import TARGETS, VCARD_EXTENSIONS, Target, text

PREVIEW_ROWS = 20

# vCard fields offered for mapping: flattened from the reader's cards (see `_flatten_card`).
VCARD_HEADERS = [name for name in VCARD_FIELDS if name not in ("x_fields", "phones", "version", "family_name_kana",
                                                                "given_name_kana")] + ["name_katakana", *VCARD_EXTENSIONS.values()]

_latin_key = functools.lru_cache(maxsize=1 << 16)(names.latin_name_key)


# --- Reading a job's file -------------------------------------------------------------------------------

def open_table(job: ImportJob, fileobj, max_rows: int | None = None):
    return read_table(fileobj, job.filename, fmt=job.format, sheet=job.sheet, encoding=job.encoding,
                      delimiter=job.delimiter, max_rows=max_rows, limits=ReadLimits.from_config(current_app.config))


def problem_of(error: ImportFileError) -> dict:
    return {"code": error.code, "params": {key: str(value) for key, value in error.params.items()}}


def inspect_file(job: ImportJob, fmt: str | None = None, encoding: str | None = None, delimiter: str | None = None,
                 sheet: str | None = None) -> None:
    """Detect (or apply the user's choice of) format, encoding, delimiter and sheet; read the header
    and suggest the column mapping. A file-level problem is kept in `job.problem`."""
    job.format, job.encoding, job.delimiter, job.sheet = fmt or None, encoding or None, delimiter or None, sheet or None
    job.problem, job.headers, job.errors, job.preview = None, None, None, None
    job.state = JobState.UPLOADED
    try:
        with open_upload(job) as fileobj, open_table(job, fileobj) as table:
            job.format, job.encoding, job.delimiter = table.format, table.encoding, table.delimiter
            job.sheet = table.sheet
            job.headers = VCARD_HEADERS if table.format == "vcard" else list(table.headers)
            job.options = {**(job.options or {}), "sheets": table.sheet_names}
    except ImportFileError as error:
        job.problem = problem_of(error)
        return
    except LookupError:
        job.problem = {"code": "encoding_unknown", "params": {}}
        return
    target = TARGETS[job.target]
    matches = target.matches(job.headers, job.format)
    job.mapping = target.suggest(job.headers, job.format)
    job.options = {**job.options, "scores": {header: [match.key, match.score] for header, match in matches.items() if match and match.key},
                   "not_kept": [header for header, match in matches.items() if match and match.key is None]}
    job.options.pop("saved_mapping", None)
    job.options.pop("row_edits", None)  # edits name rows and columns of the file as it was read
    if saved := mappings.proposed(job):
        mappings.apply(job, saved)


def unmapped(job: ImportJob) -> list[str]:
    """The file's columns that will not be imported, other than those not kept on purpose."""
    not_kept = set((job.options or {}).get("not_kept") or ())
    return [header for header in job.headers or [] if not (job.mapping or {}).get(header) and header not in not_kept]


def _flatten_card(card: dict) -> dict:
    flat = {key: card.get(key) for key in VCARD_HEADERS if key in card}
    flat["email"] = card.get("emails") or []
    flat["emails"] = flat["email"]
    kana = [part for part in (card.get("family_name_kana"), card.get("given_name_kana")) if part]
    flat["name_katakana"] = "・".join(kana) if kana else None
    for name in VCARD_EXTENSIONS.values():
        values = card.get("x_fields", {}).get(name)
        flat[name] = values[0] if values else None
    return flat


def mapped_rows(job: ImportJob, table) -> Iterator[tuple[int, dict]]:
    """(row number, {column key: raw value}) for the mapped columns; defaults fill empty cells."""
    mapping = {header: key for header, key in (job.mapping or {}).items() if key}
    defaults = {key: value for key, value in (job.options or {}).get("defaults", {}).items() if value}
    joined = TARGETS[job.target].joined
    parts = {key: [header for header, mapped in mapping.items() if mapped == key] for key in joined}
    parts = {key: headers for key, headers in parts.items() if len(headers) > 1}
    edits = (job.options or {}).get("row_edits") or {}
    for number, values in table.rows:
        if job.format == "vcard":
            values = _flatten_card(values)
        if edits and str(number) in edits:
            values = {**values, **edits[str(number)]}
        row = {key: values.get(header) for header, key in mapping.items()}
        for key, headers in parts.items():
            row[key] = joined[key].join(part for header in headers if (part := text(values.get(header))))
        for key, value in defaults.items():
            if not text(row.get(key)) and not (key == "start_year" and text(row.get("period"))):
                row[key] = value
        yield number, row


def save_mapping(job: ImportJob, mapping: dict, defaults: dict) -> list[str]:
    """Keep the user's mapping; → messages for required columns still missing or columns mapped twice."""
    target = TARGETS[job.target]
    keys = [key for key in mapping.values() if key]
    problems = []
    for key in sorted({key for key in keys if keys.count(key) > 1 and key not in target.joined}):
        problems.append(_("“%(column)s” is chosen for more than one column of the file.", column=_column_label(target, key)))
    for group in target.missing_required(set(keys), defaults):
        problems.append(_("Choose a column for “%(column)s”.",
                          column=_(" or ").join(_column_label(target, key) for key in group)))
    job.mapping = {header: key for header, key in mapping.items() if header in (job.headers or [])}
    job.options = {**(job.options or {}), "defaults": defaults}
    return problems


def _column_label(target: Target, key: str) -> str:
    from crm.i18n import is_japanese

    return target.header(target.column(key), is_japanese())


class RowErrors(list):
    """The rows' errors as a job keeps them: the first `IMPORT_MAX_ERRORS` listed, every rejected row
    counted. Listing them all let a small file of bad rows take hundreds of MB (a 6 MB CSV of 100,000
    bad rows: 450,000 entries, ~400 MB in the worker, as much again as JSON on the job's page)."""

    def __init__(self) -> None:
        super().__init__()
        self.limit = current_app.config.get("IMPORT_MAX_ERRORS", 1000)
        self.rows: set[int] = set()

    def append(self, error: dict) -> None:
        self.rows.add(error["row"])
        if len(self) < self.limit:
            super().append(error)

    @property
    def rejected(self) -> int:
        return len(self.rows)

    def outcome(self, job: ImportJob) -> dict:
        """The job's fields that keep them."""
        return {"errors": list(self), "options": {**(job.options or {}), "rejected_rows": self.rejected}}


def error_entries(target: Target, reverse: dict, number: int, raw: dict, row_errors: list) -> list[dict]:
    """A row's errors as the job lists them: the file's column (else the column's name), the message,
    and the cell's value when the error is in one of the file's columns (to correct it in the preview;
    not a column joined from parts, whose value is no single cell's)."""
    return [{"row": number, "column": reverse.get(key) or (key and _column_label(target, key)), "message": message,
             **({"value": text(raw.get(key))} if key in reverse and key not in target.joined else {})}
            for key, message in row_errors]


def checked_rows(job: ImportJob, table, errors: list, on_row=None) -> Iterator[tuple[int, dict]]:
    """Valid rows with their name key; errors (row, column, message) collected for the others,
    including a second row for the same person (same email, or same name and start year)."""
    target = TARGETS[job.target]
    reverse = {key: header for header, key in (job.mapping or {}).items() if key}
    seen_email: dict[tuple[str, int], int] = {}
    seen_name: dict[tuple[str, int], int] = {}
    validate = target.row_check()
    for number, raw in mapped_rows(job, table):
        if on_row:
            on_row(number, raw)
        values, row_errors = validate(raw)
        if values is None:
            for error in error_entries(target, reverse, number, raw, row_errors):
                errors.append(error)
            continue
        values["latin_key"] = _latin_key(values["alumnus"].get("family_name") or "", values["alumnus"].get("given_name") or "")
        # The same person may come twice with different placements; twice with the same start year
        # is a duplicate row.
        year = values["placement"]["start_year"]
        first = None
        for address in (values["alumnus"].get("email"), values["alumnus"].get("email_secondary")):
            if address:
                first = first or seen_email.get((address, year))
                seen_email.setdefault((address, year), number)
        if not values["alumnus"].get("email") and values["latin_key"]:  # without an email, the name and year decide
            name = (values["latin_key"], year)
            first = first or seen_name.get(name)
            seen_name.setdefault(name, number)
        if first:
            errors.append({"row": number, "column": None,
                           "message": _("The same person and placement as row %(row)s (same email, or same name, and the same start year).", row=first)})
            continue
        yield number, values


def _name_as_read(values: dict) -> str | None:
    """A person's name as it will be stored, "family, given": the preview shows how a 氏名 cell was
    split before anything is written."""
    person = values.get("alumnus", values)
    if "family_name" not in person:
        return None
    return ", ".join(part for part in (person["family_name"], person.get("given_name")) if part)


def validate_job(job: ImportJob) -> None:
    """The check pass: errors, row count and preview into the job; nothing else is written."""
    errors = RowErrors()
    preview: list[dict] = []
    count = 0
    problem = None
    token = write_intent.set(False)  # reads only: never hold SQLite's write lock while checking
    try:
        job_fingerprint = fingerprint(job)
        kept = KeptRows(job, job_fingerprint)
        matcher = Matcher(job.prefecture_id)
        raw_rows: dict[int, dict] = {}

        def keep_raw(number, raw):
            if len(raw_rows) < PREVIEW_ROWS and number not in raw_rows:
                raw_rows[number] = {key: text(value) for key, value in raw.items()}

        with open_upload(job) as fileobj, open_table(job, fileobj, max_rows()) as table:
            beat = Heartbeat(job.id, "validating", fileobj, job.size)
            try:
                for number, values in checked_rows(job, table, errors, on_row=lambda n, raw: (keep_raw(n, raw), beat())):
                    count += 1
                    if len(preview) < PREVIEW_ROWS:  # (only the preview asks the matcher)
                        preview.append({"row": number, "action": "update" if matcher.find(values) else "create",
                                        "name": _name_as_read(values)})
                        matcher.remember(-number, values)
                    if not errors:
                        kept.add((number, values))
            except ImportFileError as error:
                problem = problem_of(error)
        checked = {"fingerprint": job_fingerprint} if kept.close(keep=not (errors or problem)) else None
        count += errors.rejected
        rows = [{**item, "values": raw_rows.get(item["row"], {})} for item in preview]
        for number, values in raw_rows.items():
            if not any(item["row"] == number for item in rows):
                rows.append({"row": number, "action": "error", "values": values})
        rows.sort(key=lambda item: item["row"])
        db.session.rollback()
    finally:
        write_intent.reset(token)
    with writing():
        job = db.session.merge(job)
        job.errors, job.preview, job.row_count, job.problem = list(errors), rows[:PREVIEW_ROWS], count, problem
        job.options = {**(job.options or {}), "checked": checked, "rejected_rows": errors.rejected}
        job.state = JobState.VALIDATED
        job.finished_at = utcnow()
        db.session.commit()


# How many batches of rows the checking thread may be ahead of the commit (memory: ~5 MB a batch of
# 5,000 rows).
BATCHES_AHEAD = 4


@contextlib.contextmanager
def checked_ahead(job: ImportJob, table, fileobj, errors: list):
    """The file's valid rows in batches (file position after the batch, rows), read and checked by a
    thread up to BATCHES_AHEAD batches ahead of the commit: the file is parsed and its rows validated
    (Python, holding the GIL) while the commit waits for the database (SQLite's C code and
    PostgreSQL's answers release it) — a quarter off a 100,000-row commit. Checking reads no database;
    the thread has its own app context (its own, unused session) and acts as the caller, in the
    caller's language (WTForms translates its own messages only inside a request)."""
    app = current_app._get_current_object()
    user = current_user._get_current_object()
    language = str(get_locale())
    rows_a_batch = batch_rows()
    handoff: queue.Queue = queue.Queue(maxsize=BATCHES_AHEAD)
    stop = threading.Event()  # the commit ended (done, or failed): the thread stops at its next batch

    def hand_over(item) -> bool:
        while not stop.is_set():
            with contextlib.suppress(queue.Full):
                handoff.put(item, timeout=0.1)
                return True
        return False

    def check():
        with app.app_context(), acting_for(user), force_locale(language):
            try:
                batch: list[tuple[int, dict]] = []
                for row in checked_rows(job, table, errors):
                    batch.append(row)
                    if len(batch) >= rows_a_batch:
                        if not hand_over((fileobj.tell(), batch)):
                            return
                        batch = []
                if batch and not hand_over((fileobj.tell(), batch)):
                    return
                hand_over(None)
            except BaseException as error:  # noqa: BLE001 — raised again in the committing thread
                hand_over(error)

    def batches():
        while (item := handoff.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item

    thread = threading.Thread(target=check, name=f"import-{job.id}-check", daemon=True)
    thread.start()
    try:
        yield batches()
    finally:
        stop.set()
        thread.join()
