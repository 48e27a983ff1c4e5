"""Translated messages for the format layer's coded file problems (crm.formats.readers)."""
from __future__ import annotations

from flask_babel import gettext as _

MESSAGES = {
    "empty": lambda p: _("The file is empty."),
    "not_spreadsheet": lambda p: _("The file is not a spreadsheet. Please upload a CSV, TSV or Excel (.xlsx) file, or for alumni also a vCard (.vcf) file."),
    "legacy_excel": lambda p: _("The file is an old-format Excel (.xls) or a password-protected workbook. Please save it as .xlsx or CSV without a password."),
    "binary": lambda p: _("The file contains binary data and is not a text or spreadsheet file."),
    "empty_header": lambda p: _("Column %(column)s of the header (row %(row)s) has no name.", **p),
    "duplicate_header": lambda p: _("The column name “%(name)s” appears more than once in the header (row %(row)s, columns %(columns)s).", **p),
    "header_not_found": lambda p: _("The header row (%(columns)s) was not found.", **p),
    "unnamed_column": lambda p: _("Row %(row)s has data in column %(column)s, which has no name in the header.", **p),
    "malformed": lambda p: _("The file is damaged near row %(row)s: %(detail)s.", **p),
    "sheet_not_found": lambda p: _("There is no sheet named “%(sheet)s”. Sheets: %(sheets)s.", **p),
    "too_many_rows": lambda p: _("The file has more than %(limit)s rows (row %(row)s is over the limit). Please split it into smaller files.", **p),
    "encoding_unknown": lambda p: _("The file's character encoding could not be recognised. Please choose the encoding (for example UTF-8 or Shift_JIS (CP932)) and try again."),
    "decoding": lambda p: _("The file is not valid %(encoding)s text: undecodable bytes at line %(line)s (byte offset %(byte_offset)s). Please check the file or choose another encoding.", **p),
    "cell_too_large": lambda p: _("Row %(row)s, column %(column)s holds more than %(limit)s characters, the most a cell may hold.", **p),
    "field_too_large": lambda p: _("Row %(row)s holds a field of more than %(limit)s characters.", **p),
    "row_too_large": lambda p: _("Row %(row)s holds more than %(limit)s characters, the most a row may hold.", **p),
    "text_too_large": lambda p: _("The workbook holds a text of more than %(limit)s characters, the most a cell may hold.", **p),
    "part_too_large": lambda p: _("The workbook's part %(part)s unpacks to more than %(limit)s bytes, the most an import reads.", **p),
    "packed_too_dense": lambda p: _("The workbook's part %(part)s is compressed more than %(ratio)s times, far more than a real spreadsheet; it is refused as a possible zip bomb.", **p),
    "upload_gone": lambda p: _("The uploaded file is no longer kept (a dry run on the command line or a refused upload discards it). Please upload it again."),
    "internal": lambda p: _("The import stopped because of an unexpected error. Nothing was imported; you can start it again."),
}


def problem_message(problem: dict) -> str:
    render = MESSAGES.get(problem.get("code"))
    if render is None:
        return _("The file could not be imported.")
    try:
        return render(problem.get("params") or {})
    except KeyError:
        return _("The file could not be imported.")
