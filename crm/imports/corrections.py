"""Rows corrected in the preview: a bad cell is given its right value in the wizard and the row is
checked again, instead of editing the file and uploading it again.

The corrected values are kept on the job (`options["row_edits"]`: row number → {file column: value}),
read in place of the file's cells wherever rows are mapped (crm.imports.operations.mapped_rows), part
of the job's fingerprint (a commit never reuses a check made before a correction) and kept after the
import: the job records which cells were edited.
"""
from __future__ import annotations

from crm.imports import checking, storage
from crm.imports.models import ImportJob
from crm.imports.targets import TARGETS


def correctable(job: ImportJob) -> bool:
    """Targets checked row by row in the job's own pass (not record by record by their runner)."""
    return TARGETS[job.target].runner is None


def correct_cell(job: ImportJob, row: int, header: str, value: str) -> bool:
    """Keep `value` for the row's cell and check the row again: its errors replace the row's old
    ones. → whether every listed error is now corrected (the whole file is then to be checked again)."""
    edits = dict((job.options or {}).get("row_edits") or {})
    edits[str(row)] = {**edits.get(str(row), {}), header: value}
    job.options = {**(job.options or {}), "row_edits": edits}
    found = row_errors(job, row)
    before = [error for error in job.errors or [] if error["row"] == row]
    job.errors = sorted([error for error in job.errors or [] if error["row"] != row] + found, key=lambda error: error["row"])
    if before and not found:
        job.options = {**job.options, "rejected_rows": max(((job.options or {}).get("rejected_rows") or 1) - 1, 0)}
    return not job.errors


def row_errors(job: ImportJob, row: int) -> list[dict]:
    """The row's errors as the job's check lists them, with the corrections made so far."""
    target = TARGETS[job.target]
    reverse = {key: header for header, key in (job.mapping or {}).items() if key}
    with storage.open_upload(job) as fileobj, checking.open_table(job, fileobj) as table:
        for number, raw in checking.mapped_rows(job, table):
            if number == row:
                values, errors = target.row_check()(raw)
                return [] if values is not None else checking.error_entries(target, reverse, number, raw, errors)
            if number > row:
                break
    return []
