"""Streaming readers for imported contact files.

:func:`read_table` opens CSV, TSV, XLSX, LinkedIn "Connections.csv" and vCard
files and returns a :class:`Table`: the header is read at once, so the app can
show a column-mapping screen, and ``rows`` then yields
``(row_number, {header: value})`` lazily, so large files are never held in
memory.

Row numbers are what the user sees: for CSV, TSV and XLSX the spreadsheet row
(1-based, header included; a CSV record holding a quoted line break is still
one row, as in Excel); for vCard files the 1-based card index.

Values: CSV and TSV cells are strings (``''`` when empty) except LinkedIn's
"Connected On", parsed to a date; XLSX cells keep their type (numbers,
booleans, ``datetime.date`` for dates at midnight, ``datetime.datetime``
otherwise, ``None`` when empty).  Text cells of CSV, TSV and XLSX files go
through :func:`~crm.formats.writers.restore_neutralised`, undoing the quote
our exports put before formula-like text, so exports re-import exactly.

Every problem with the file raises an :class:`ImportFileError` subclass whose
``code`` and ``params`` let the app show a translated message.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import datetime
import io
import itertools
import quopri
import re
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any, BinaryIO

from openpyxl.utils import get_column_letter

from crm.formats.decoding import (
    HEAD_SIZE,
    DecodedTextStream,
    DecodingError,
    ImportFileError,
    InvalidTextError,
    UndetectableEncodingError,
    decode_head,
    detect_encoding,
    normalise_encoding,
    open_text,
)
from crm.formats.limits import CellTooLargeError, ReadLimits, RowTooLargeError
from crm.formats.writers import restore_neutralised
from crm.formats.xlsx_reader import DamagedWorkbookError, NotWorkbookError, Workbook

__all__ = [
    "FORMATS",
    "VCARD_FIELDS",
    "BinaryFileError",
    "DecodingError",
    "DuplicateHeaderError",
    "EmptyFileError",
    "EmptyHeaderError",
    "FieldTooLargeError",
    "FileFormatError",
    "HeaderNotFoundError",
    "ImportFileError",
    "LegacyExcelError",
    "MalformedFileError",
    "NotSpreadsheetError",
    "SheetNotFoundError",
    "Table",
    "TooManyRowsError",
    "UnnamedColumnDataError",
    "guess_format",
    "read_table",
]

FORMATS = ("csv", "tsv", "xlsx", "linkedin", "vcard")

#: Delimiters a CSV file is sniffed for, in order of preference on a tie.
DELIMITERS = (",", "\t", ";")

#: Keys of the dictionaries the vCard reader yields.
VCARD_FIELDS = (
    "full_name",
    "family_name",
    "given_name",
    "family_name_kana",
    "given_name_kana",
    "emails",
    "phones",
    "phone",
    "organisation",
    "department",
    "title",
    "url",
    "note",
    "street",
    "city",
    "region",
    "postal_code",
    "country",
    "x_fields",
    "version",
)

LINKEDIN_NAME_COLUMNS = ("First Name", "Last Name")
LINKEDIN_DATE_COLUMN = "Connected On"

# How far to look for a LinkedIn header below its "Notes:" preamble, and how
# many lines to sniff a delimiter from.
_LINKEDIN_SEARCH_ROWS = 20
#: A vCard may be this many times a row's size in bytes (4 MiB by default).
VCARD_ROOM = 16
_SNIFF_LINES = 50

_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls, encrypted .xlsx
_PDF_MAGIC = b"%PDF-"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")

_MONTHS = {
    name: number
    for number, name in enumerate(
        "jan feb mar apr may jun jul aug sep oct nov dec".split(), start=1
    )
}
_LINKEDIN_DATE = re.compile(r"\s*(\d{1,2}) ([A-Za-z]{3}) (\d{4})\s*")

Record = Sequence[Any]
NumberedRecords = Iterator[tuple[int, Record]]
Rows = Generator[tuple[int, dict[str, Any]], None, None]


class FileFormatError(ImportFileError):
    """The file is not one the importer can read."""

    code = "file_format"
    template = "The file's format is not supported."


class EmptyFileError(FileFormatError):
    code = "empty"
    template = "The file is empty."


class NotSpreadsheetError(FileFormatError):
    code = "not_spreadsheet"
    template = (
        "The file is not a spreadsheet. Please upload a CSV, TSV or Excel "
        "(.xlsx) file, or for alumni also a vCard (.vcf) file."
    )


class LegacyExcelError(FileFormatError):
    code = "legacy_excel"
    template = (
        "The file is an old-format Excel (.xls) or a password-protected "
        "workbook. Please save it as .xlsx or CSV without a password."
    )


class BinaryFileError(FileFormatError):
    code = "binary"
    template = "The file contains binary data and is not a text or spreadsheet file."


class EmptyHeaderError(FileFormatError):
    code = "empty_header"
    template = "Column {column} of the header (row {row}) has no name."


class DuplicateHeaderError(FileFormatError):
    code = "duplicate_header"
    template = (
        'The column name "{name}" appears more than once in the header '
        "(row {row}, columns {columns})."
    )


class HeaderNotFoundError(FileFormatError):
    code = "header_not_found"
    template = "The header row ({columns}) was not found."


class UnnamedColumnDataError(FileFormatError):
    code = "unnamed_column"
    template = "Row {row} has data in column {column}, which has no name in the header."


class MalformedFileError(FileFormatError):
    code = "malformed"
    template = "The file is damaged near row {row}: {detail}."


class FieldTooLargeError(MalformedFileError):
    """csv's own bound on a field (process-wide, 131,072 characters by default), met before the
    cell bound can name the column."""

    code = "field_too_large"
    template = "Row {row} holds a field of more than {limit} characters."


class SheetNotFoundError(FileFormatError):
    code = "sheet_not_found"
    template = 'There is no sheet named "{sheet}". Sheets: {sheets}.'


class TooManyRowsError(ImportFileError):
    code = "too_many_rows"
    template = (
        "The file has more than {limit} rows (row {row} is over the limit). "
        "Please split it into smaller files."
    )


@dataclass
class Table:
    """A file opened for import: header now, rows on demand.

    ``rows`` can be iterated once.  Close the table (or use it in a ``with``
    block) when abandoning it before the end, so an XLSX file is released.
    """

    format: str
    headers: list[str]
    rows: Rows
    header_row: int | None = None
    encoding: str | None = None
    delimiter: str | None = None
    sheet_names: list[str] = field(default_factory=list)
    sheet: str | None = None
    _release: Callable[[], None] | None = field(default=None, repr=False)

    def close(self) -> None:
        self.rows.close()
        if self._release is not None:
            self._release()

    def __enter__(self) -> Table:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _check_container(head: bytes) -> str:
    """Classify the head as ``'zip'`` or ``'text'``, rejecting the rest."""
    if not head:
        raise EmptyFileError()
    if head.startswith(_ZIP_MAGIC):
        # Entry names are stored in clear in the local headers; every workbook
        # writer puts small xl/ parts near the start.  A .docx, or any other
        # zip renamed .csv or .xlsx, has none.
        if b"xl/" not in head:
            raise NotSpreadsheetError()
        return "zip"
    if head.startswith(_OLE_MAGIC):
        raise LegacyExcelError()
    if head.startswith(_PDF_MAGIC):
        raise NotSpreadsheetError()
    if not head.startswith(_UTF16_BOMS) and b"\x00" in head:
        raise BinaryFileError()
    return "text"


def guess_format(filename: str, head: bytes, encoding: str | None = None) -> str:
    """Guess the format of a file from its first bytes, then its name.

    Content decides first: a zip with workbook parts is ``'xlsx'``, text
    starting with ``BEGIN:VCARD`` is ``'vcard'``, a LinkedIn connections
    header near the top is ``'linkedin'``.  Other text is ``'tsv'`` if named
    .tsv/.tab or tab-delimited, else ``'csv'``.  Raises
    :class:`FileFormatError` for empty, binary or non-spreadsheet content and
    :class:`DecodingError` for undecodable text.
    """
    if _check_container(head) == "zip":
        return "xlsx"
    # vCards are recognised from the bytes: 2.1/3.0 cards may mix charsets
    # property by property, so the whole head need not decode as one.
    if _starts_with_vcard(head.removeprefix(codecs.BOM_UTF8)):
        return "vcard"
    text, _ = decode_head(head, encoding)
    if _starts_with_vcard(text.encode("utf-8")):  # UTF-16 vCards
        return "vcard"
    if _is_linkedin(text):
        return "linkedin"
    if PurePath(filename).suffix.lower() in (".tsv", ".tab"):
        return "tsv"
    sample = list(itertools.islice(io.StringIO(text, newline=""), _SNIFF_LINES))
    return "tsv" if _sniff_delimiter(sample) == "\t" else "csv"


def _starts_with_vcard(data: bytes) -> bool:
    return data.lstrip(b" \t\r\n")[:11].upper() == b"BEGIN:VCARD"


def _is_linkedin_header(cells: Record) -> bool:
    names = {str(cell).strip() for cell in cells}
    return all(column in names for column in LINKEDIN_NAME_COLUMNS)


def _is_linkedin(text: str) -> bool:
    # Format detection also wants "Connected On", so that any CSV with
    # first/last name columns is not taken for a LinkedIn export.
    records = csv.reader(io.StringIO(text, newline=""))
    try:
        return any(
            _is_linkedin_header(cells)
            and LINKEDIN_DATE_COLUMN in {cell.strip() for cell in cells}
            for cells in itertools.islice(records, _LINKEDIN_SEARCH_ROWS)
        )
    except csv.Error:  # e.g. a huge quoted field: certainly not LinkedIn
        return False


def _sniff_delimiter(lines: list[str]) -> str:
    """Pick the delimiter giving the most rows as wide as the first one.

    Parsing each candidate with :mod:`csv` (rather than counting characters)
    ignores delimiters inside quoted fields, such as commas in addresses.
    """
    best, best_score = DELIMITERS[0], (0, 0)
    for delimiter in DELIMITERS:
        try:
            records = [
                cells
                for cells in csv.reader(lines, delimiter=delimiter)
                if not _is_blank(cells)
            ]
        except csv.Error:
            continue
        if not records or len(records[0]) < 2:
            continue
        width = len(records[0])
        score = (sum(len(cells) == width for cells in records), width)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def read_table(
    fileobj: BinaryIO,
    filename: str,
    fmt: str | None = None,
    sheet: str | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
    max_rows: int | None = None,
    limits: ReadLimits | None = None,
) -> Table:
    """Open an uploaded file for import.

    ``fileobj`` is a seekable binary file (Flask's uploads are) positioned at
    the start of the data.  ``fmt`` (one of :data:`FORMATS`), ``encoding`` and
    ``delimiter`` override detection; ``sheet`` picks an XLSX sheet by name
    (default: the first).  With ``max_rows``, iterating past that many data
    rows raises :class:`TooManyRowsError`.  ``limits`` bound a cell, a row
    and a workbook's parts (default :class:`ReadLimits`): whatever the file
    holds, it is read in bounded memory.
    """
    limits = limits or ReadLimits()
    start = fileobj.tell()
    head = fileobj.read(HEAD_SIZE)
    fileobj.seek(start)
    container = _check_container(head)
    if fmt is None:
        fmt = guess_format(filename, head, encoding)
    elif fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; expected one of {FORMATS}")
    if (fmt == "xlsx") != (container == "zip"):
        raise NotSpreadsheetError()

    if fmt == "xlsx":
        table = _read_xlsx(fileobj, sheet, limits)
    elif fmt == "vcard":
        table = _read_vcards(fileobj, head, encoding, limits)
    else:
        table = _read_delimited(fileobj, fmt, encoding, delimiter, limits)
    if max_rows is not None:
        table.rows = _limit_rows(table.rows, max_rows)
    return table


def _limit_rows(rows: Rows, max_rows: int) -> Rows:
    with contextlib.closing(rows):  # closing the limiter closes the reader
        for count, (row_number, values) in enumerate(rows, start=1):
            if count > max_rows:
                raise TooManyRowsError(limit=max_rows, row=row_number)
            yield row_number, values


def _is_blank_cell(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _is_blank(cells: Record) -> bool:
    return all(_is_blank_cell(cell) for cell in cells)


def _is_not_blank(cells: Record) -> bool:
    return not _is_blank(cells)


def _find_header(
    records: NumberedRecords,
    is_header: Callable[[Record], bool] = _is_not_blank,
    search_rows: int | None = None,
    not_found: ImportFileError | None = None,
) -> tuple[int, Record]:
    """Consume records up to and including the header row and return it.

    Raises ``not_found`` (default :class:`EmptyFileError`) when no header
    is found within ``search_rows`` rows.
    """
    for number, cells in records:
        if is_header(cells):
            return number, cells
        if search_rows is not None and number >= search_rows:
            break
    raise not_found or EmptyFileError()


# How many non-blank rows may stand above and at the header (a title, a date, notes).
_HEADER_SEARCH_ROWS = 10


def _filled(cells: Record) -> int:
    return sum(not _is_blank_cell(cell) for cell in cells)


def _find_table_header(records: NumberedRecords) -> tuple[int, Record, NumberedRecords]:
    """The header of a table as offices lay it out: below a title row or blank rows
    (「JET経験者名簿」 then the table), and over two rows where cells are merged (氏名 over 姓 | 名,
    read as 氏名（姓）, 氏名（名）). → (row number, header cells, the records after the header).

    The header is the first row filled at least half as wide as the widest of the first rows."""
    ahead, problem = [], None
    try:
        for number, cells in records:
            if not _is_blank(cells):
                ahead.append((number, list(cells)))
                if len(ahead) >= _HEADER_SEARCH_ROWS:
                    break
    except ImportFileError as error:
        # A problem in a row below the header is reported when that row is read, as without the look ahead.
        if not ahead:
            raise
        problem = error
    if not ahead:
        raise EmptyFileError()
    widest = max(_filled(cells) for _, cells in ahead)
    index = next(i for i, (_, cells) in enumerate(ahead) if _filled(cells) * 2 > widest)
    number, cells = ahead[index]
    rest = ahead[index + 1:]
    if rest and (combined := _two_row_header(cells, rest[0][1])):
        cells, rest = combined, rest[1:]
    return number, cells, _then_raising(rest, problem) if problem else itertools.chain(rest, records)


def _then_raising(rows: list, problem: ImportFileError) -> NumberedRecords:
    yield from rows
    raise problem


def _two_row_header(top: list, below: list) -> list[str] | None:
    """The header's names when `below` names the parts of merged cells in `top` (each blank cell of
    `top`, within the table, has a name below it), else None."""
    def text(cells: list, index: int) -> str:
        value = cells[index] if index < len(cells) else None
        return "" if _is_blank_cell(value) else str(value).strip()

    width = max(i + 1 for i in range(max(len(top), len(below))) if text(top, i) or text(below, i))
    # A column is in a merged group when its top cell or the next one is blank; the other columns'
    # cells are merged down over both rows, so nothing stands below them.
    merged = [not text(top, i) or (i + 1 < width and not text(top, i + 1)) for i in range(width)]
    if not any(merged) or any(bool(text(below, i)) != merged[i] for i in range(width)) or any(
            not isinstance(value, str) for value in below if not _is_blank_cell(value)):
        return None
    names, parent = [], ""
    for i in range(width):
        parent = text(top, i) or parent
        child = text(below, i)
        if merged[i] and parent:
            names.append(f"{parent} ({child})" if parent.isascii() else f"{parent}（{child}）")
        else:
            names.append(child or text(top, i))
    return names


def _header_names(cells: Record, row: int) -> list[str]:
    names = [
        "" if cell is None else restore_neutralised(str(cell).strip()) for cell in cells
    ]
    # Spreadsheets often carry empty columns after the last real one.
    while names and not names[-1]:
        names.pop()
    first_column: dict[str, int] = {}
    for index, name in enumerate(names, start=1):
        if not name:
            raise EmptyHeaderError(column=get_column_letter(index), row=row)
        if name in first_column:
            raise DuplicateHeaderError(
                name=name,
                row=row,
                columns=f"{get_column_letter(first_column[name])}, "
                f"{get_column_letter(index)}",
            )
        first_column[name] = index
    return names


def _rows(
    records: NumberedRecords,
    headers: list[str],
    convert: Callable[[str, Any], Any],
    missing: Any,
) -> Rows:
    """Turn numbered records into ``(row_number, {header: value})``.

    Blank rows are skipped (their numbers stay counted).  Data under no
    header is an error rather than silently dropped.
    """
    width = len(headers)
    for number, cells in records:
        if _is_blank(cells):
            continue
        for index in range(width, len(cells)):
            if not _is_blank_cell(cells[index]):
                raise UnnamedColumnDataError(
                    row=number, column=get_column_letter(index + 1)
                )
        yield (
            number,
            {
                header: convert(header, cells[index]) if index < len(cells) else missing
                for index, header in enumerate(headers)
            },
        )


# --- CSV, TSV and LinkedIn -------------------------------------------------


class _BoundedLines:
    """The lines of a text stream for :mod:`csv`, refusing a record (one or
    more lines: a quoted field may hold line breaks) longer than the row
    limit before it is held in memory."""

    def __init__(self, stream: DecodedTextStream, limits: ReadLimits) -> None:
        self.stream, self.limit = stream, limits.row_chars
        self.used = 0
        self.row = 1
        self.sampled: list[str] = []

    def __iter__(self) -> _BoundedLines:
        return self

    def __next__(self) -> str:
        if self.sampled:
            line = self.sampled.pop()
        else:
            line = self.stream.readline(self.limit - self.used + 1)
        if not line:
            raise StopIteration
        self.used += len(line)
        if self.used > self.limit:
            raise RowTooLargeError(row=self.row, limit=self.limit)
        return line

    def sample(self, count: int) -> list[str]:
        """Up to ``count`` lines to sniff the delimiter from (fewer when they
        add up to a row's worth); they are read again, and counted, after."""
        lines: list[str] = []
        size = 0
        while len(lines) < count and size < self.limit:
            self.row = len(lines) + 1  # the records are not parsed yet
            line = next(self, "")
            self.used = 0
            if not line:
                break
            lines.append(line)
            size += len(line)
        self.row = 1
        self.sampled = lines[::-1]
        return lines

    def record_read(self, number: int) -> None:
        self.used, self.row = 0, number + 1


def _numbered_csv(
    records: Iterable[list[str]], lines: _BoundedLines, limits: ReadLimits
) -> NumberedRecords:
    number = 0
    cell_chars = limits.cell_chars
    try:
        for number, cells in enumerate(records, start=1):
            lines.record_read(number)
            if cells and max(map(len, cells)) > cell_chars:
                column = next(
                    index
                    for index, cell in enumerate(cells, start=1)
                    if len(cell) > cell_chars
                )
                raise CellTooLargeError(
                    row=number, column=get_column_letter(column), limit=cell_chars
                )
            yield number, cells
    except csv.Error as exc:
        if str(exc).startswith("field larger than field limit"):
            raise FieldTooLargeError(row=number + 1, limit=f"{csv.field_size_limit():,}") from exc
        raise MalformedFileError(row=number + 1, detail=str(exc)) from exc


def _csv_value(header: str, value: str) -> Any:
    return restore_neutralised(value)


def _linkedin_value(header: str, value: str) -> Any:
    value = restore_neutralised(value)
    if header == LINKEDIN_DATE_COLUMN:
        return _parse_linkedin_date(value)
    return value


def _parse_linkedin_date(value: str) -> datetime.date | str:
    """Parse "14 Oct 2024"; anything else is returned unchanged.

    Month names are matched by hand because ``strptime('%b')`` depends on
    the process locale.
    """
    match = _LINKEDIN_DATE.fullmatch(value)
    if match:
        day, month_name, year = match.groups()
        month = _MONTHS.get(month_name.lower())
        if month:
            try:
                return datetime.date(int(year), month, int(day))
            except ValueError:
                pass  # e.g. "31 Feb 2024": leave it for validation to report
    return value


def _read_delimited(
    fileobj: BinaryIO,
    fmt: str,
    encoding: str | None,
    delimiter: str | None,
    limits: ReadLimits,
) -> Table:
    stream, chosen_encoding = open_text(fileobj, encoding)
    bounded = _BoundedLines(stream, limits)
    if delimiter is None:
        if fmt == "tsv":
            delimiter = "\t"
        elif fmt == "linkedin":
            delimiter = ","
        else:
            delimiter = _sniff_delimiter(bounded.sample(_SNIFF_LINES))
    records = _numbered_csv(
        csv.reader(bounded, delimiter=delimiter), bounded, limits
    )
    if fmt == "linkedin":
        header_row, cells = _find_header(
            records,
            _is_linkedin_header,
            _LINKEDIN_SEARCH_ROWS,
            HeaderNotFoundError(columns=", ".join(LINKEDIN_NAME_COLUMNS)),
        )
        convert = _linkedin_value
    else:
        header_row, cells, records = _find_table_header(records)
        convert = _csv_value
    headers = _header_names(cells, header_row)
    return Table(
        format=fmt,
        headers=headers,
        rows=_rows(records, headers, convert, missing=""),
        header_row=header_row,
        encoding=chosen_encoding,
        delimiter=delimiter,
    )


# --- XLSX ------------------------------------------------------------------


def _xlsx_cell(header: str, value: Any) -> Any:
    if isinstance(value, datetime.datetime) and value.time() == datetime.time():
        return value.date()
    return restore_neutralised(value)


def _read_xlsx(fileobj: BinaryIO, sheet: str | None, limits: ReadLimits) -> Table:
    try:
        workbook = Workbook(fileobj, limits)
    except NotWorkbookError as exc:
        raise NotSpreadsheetError() from exc
    try:
        names = workbook.sheet_names
        if sheet is None:
            chosen = names[0]
        elif sheet in names:
            chosen = sheet
        else:
            raise SheetNotFoundError(sheet=sheet, sheets=", ".join(names))
        header_row, cells, records = _find_table_header(_damage_reported(workbook.rows(chosen)))
        headers = _header_names(cells, header_row)
    except BaseException:
        workbook.close()
        raise
    return Table(
        format="xlsx",
        headers=headers,
        rows=_closing(
            _rows(records, headers, _xlsx_cell, missing=None), workbook.close
        ),
        header_row=header_row,
        sheet_names=names,
        sheet=chosen,
        _release=workbook.close,
    )


def _damage_reported(records: NumberedRecords) -> NumberedRecords:
    with contextlib.closing(records):
        try:
            yield from records
        except DamagedWorkbookError as exc:
            raise MalformedFileError(**exc.params) from None


def _closing(rows: Rows, release: Callable[[], None]) -> Rows:
    try:
        yield from rows
    finally:
        release()


# --- vCard -----------------------------------------------------------------


def _is_ascii_compatible(encoding: str) -> bool:
    # The parser works on bytes (see _read_vcards), which needs line breaks,
    # spaces and the ";:=\"" separators to be the ASCII bytes.
    sample = 'BEGIN:VCARD\r\n\t ;:="'
    try:
        return sample.encode("ascii").decode(encoding) == sample
    except UnicodeDecodeError:
        return False


def _read_vcards(
    fileobj: BinaryIO, head: bytes, encoding: str | None, limits: ReadLimits
) -> Table:
    # vCards are unfolded as bytes, before decoding: some phones fold lines
    # in the middle of a multi-byte character, and vCard 2.1/3.0 properties
    # may name their own CHARSET, so each value is decoded on its own.
    if encoding is not None:
        default_encoding = normalise_encoding(encoding)
    else:
        try:
            default_encoding = detect_encoding(head, use_detector=False)
        except UndetectableEncodingError:
            # Properties with their own CHARSET can make the head fit no
            # single encoding; a statistical guess would then silently
            # garble the rest, so use vCard's default and report bad lines.
            default_encoding = "utf-8"
    if not _is_ascii_compatible(default_encoding):
        raise MalformedFileError(
            row=1, detail=f"vCard files in {default_encoding} are not supported"
        )
    return Table(
        format="vcard",
        headers=list(VCARD_FIELDS),
        # A card may carry a photo (base64, skipped but read): more room than a row of text.
        rows=_vcard_rows(fileobj, default_encoding, VCARD_ROOM * limits.row_chars),
        encoding=default_encoding,
    )


class _LineTooLarge(Exception):
    pass


def _logical_lines(fileobj: BinaryIO, limit: int) -> Iterator[tuple[int, int, bytes]]:
    """Yield ``(line_number, byte_offset, unfolded_line)``, skipping blanks.

    A line (folded or not) longer than ``limit`` bytes raises
    :class:`_LineTooLarge` before it is held whole.
    """
    current: bytearray | None = None
    start_line = start_offset = offset = 0
    raw_lines = iter(lambda: fileobj.readline(limit + 1), b"")
    for number, raw in enumerate(raw_lines, start=1):
        if len(raw) > limit:
            raise _LineTooLarge()
        line = raw.rstrip(b"\r\n")
        if number == 1:
            line = line.removeprefix(codecs.BOM_UTF8)
        if current is not None and _continues_quoted_printable(current):
            # vCard 2.1 soft line break: "=" at the end joins the next line.
            del current[-1]
            current += line
        elif current is not None and line[:1] in (b" ", b"\t"):
            current += line[1:]  # RFC folding: CRLF plus one space
        else:
            if current:
                yield start_line, start_offset, bytes(current)
            current, start_line, start_offset = bytearray(line), number, offset
        if len(current) > limit:
            raise _LineTooLarge()
        offset += len(raw)
    if current:
        yield start_line, start_offset, bytes(current)


def _continues_quoted_printable(line: bytearray) -> bool:
    # Cheap test first: a long folded PHOTO must not be rescanned per line.
    if not line.endswith(b"="):
        return False
    return b"QUOTED-PRINTABLE" in line[: line.find(b":")].upper()


_PARAM_ITEM = re.compile(r'(?:[^;"]|"[^"]*")+')
_PARAM_VALUE = re.compile(r'(?:[^,"]|"[^"]*")+')
_ESCAPE = re.compile(r"\\(.)", re.DOTALL)
_ESCAPED = {"n": "\n", "N": "\n", ",": ",", ";": ";", "\\": "\\"}
_BARE_ENCODINGS = {"QUOTED-PRINTABLE", "BASE64", "8BIT", "7BIT"}
# ADR components after the post-office box and extended address.
_ADDRESS_KEYS = ("street", "city", "region", "postal_code", "country")


@dataclass
class _Property:
    name: str
    params: dict[str, list[str]]
    value: str


def _split_value_part(line: bytes) -> int:
    """Index of the colon ending the name and parameters (quotes respected)."""
    in_quotes = False
    for index, byte in enumerate(line):
        if byte == 0x22:  # '"'
            in_quotes = not in_quotes
        elif byte == 0x3A and not in_quotes:  # ':'
            return index
    return -1


def _parse_property(
    line: bytes, number: int, offset: int, encoding: str
) -> _Property | None:
    """Parse one content line; None for binary values such as PHOTO.

    The separators are ASCII and never occur inside a UTF-8 or CP932
    character, so splitting the bytes before decoding is safe.
    """
    colon = _split_value_part(line)
    prefix = _decode_part(line[: max(colon, 0)], encoding, number, offset)
    items = _PARAM_ITEM.findall(prefix)
    if colon < 0 or not items:
        raise MalformedFileError(row=number, detail="a line is not NAME:VALUE")
    name = items[0].rsplit(".", 1)[-1].strip().upper()  # drop "item1." groups
    params: dict[str, list[str]] = {}
    for item in items[1:]:
        key, sep, values = item.partition("=")
        if not sep:  # vCard 2.1 bare parameters: "TEL;WORK;VOICE:"
            key, values = (
                ("ENCODING", key) if key.upper() in _BARE_ENCODINGS else ("TYPE", key)
            )
        params.setdefault(key.strip().upper(), []).extend(
            value.strip().strip('"') for value in _PARAM_VALUE.findall(values)
        )
    raw_value = line[colon + 1 :]
    transfer = {value.upper() for value in params.get("ENCODING", [])}
    if transfer & {"B", "BASE64"}:
        return None
    if "QUOTED-PRINTABLE" in transfer:
        raw_value = quopri.decodestring(raw_value)
    value_encoding = encoding
    if "CHARSET" in params:
        try:
            value_encoding = normalise_encoding(params["CHARSET"][0])
        except LookupError:
            raise MalformedFileError(
                row=number, detail=f"unknown CHARSET {params['CHARSET'][0]}"
            ) from None
    value = _decode_part(raw_value, value_encoding, number, offset + colon + 1)
    return _Property(name, params, value)


def _decode_part(data: bytes, encoding: str, number: int, offset: int) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise InvalidTextError(
            encoding=encoding, line=number, byte_offset=offset + exc.start
        ) from None


def _unescape(text: str) -> str:
    return _ESCAPE.sub(lambda match: _ESCAPED.get(match.group(1), match.group()), text)


def _components(text: str) -> list[str]:
    """Split a structured value (N, ORG, ADR) on unescaped ';' and unescape."""
    parts, current = [], []
    chars = iter(text)
    for char in chars:
        if char == "\\":
            current.append(char + next(chars, ""))
        elif char == ";":
            parts.append(_unescape("".join(current)))
            current = []
        else:
            current.append(char)
    parts.append(_unescape("".join(current)))
    return parts


def _preference(prop: _Property) -> int:
    """Sort key: vCard 4.0 PREF=1..100, 3.0 TYPE=pref, then the rest."""
    pref = prop.params.get("PREF", [])
    if pref and pref[0].isdigit():
        return int(pref[0])
    if any(value.lower() == "pref" for value in prop.params.get("TYPE", [])):
        return 1
    return 101


def _empty_card() -> dict[str, Any]:
    card: dict[str, Any] = dict.fromkeys(VCARD_FIELDS)
    card.update(emails=[], phones=[], x_fields={})
    return card


def _vcard_rows(fileobj: BinaryIO, encoding: str, limit: int) -> Rows:
    """One card a row; a card (all its lines) longer than ``limit`` bytes
    raises :class:`RowTooLargeError` with the card's number."""
    props: list[_Property] | None = None
    index = 0
    number = 0
    card_size = 0
    lines = _logical_lines(fileobj, limit)
    while True:
        try:
            number, offset, line = next(lines)
        except StopIteration:
            break
        except _LineTooLarge:
            raise RowTooLargeError(row=index + 1, limit=limit) from None
        card_size += len(line)
        if card_size > limit:
            raise RowTooLargeError(row=index + 1, limit=limit)
        upper = line.strip().upper()
        if upper == b"BEGIN:VCARD":
            if props is not None:
                raise MalformedFileError(row=number, detail="a vCard inside a vCard")
            props = []
            card_size = len(line)
        elif upper == b"END:VCARD":
            if props is None:
                raise MalformedFileError(row=number, detail="END:VCARD without BEGIN")
            index += 1
            yield index, _build_card(props)
            props = None
            card_size = 0
        elif props is None:
            raise MalformedFileError(row=number, detail="text outside BEGIN/END:VCARD")
        else:
            prop = _parse_property(line, number, offset, encoding)
            if prop is not None:
                props.append(prop)
    if props is not None:
        raise MalformedFileError(row=number, detail="the last vCard has no END:VCARD")
    if index == 0:
        raise EmptyFileError()


def _build_card(props: list[_Property]) -> dict[str, Any]:
    card = _empty_card()
    seen: set[str] = set()
    # Sorting by preference first makes "the first EMAIL/TEL/ADR" the
    # preferred one; the sort is stable, so file order breaks ties.
    for prop in sorted(props, key=_preference):
        name, value = prop.name, prop.value
        first = name not in seen
        seen.add(name)
        if name == "VERSION":
            card["version"] = value.strip()
        elif name == "FN" and first:
            card["full_name"] = _unescape(value) or None
        elif name == "N" and first:
            family, given = [*_components(value), "", ""][:2]
            card["family_name"], card["given_name"] = family or None, given or None
        elif name == "EMAIL":
            card["emails"].append(_unescape(value).strip())
        elif name == "TEL":
            phone = _unescape(value).strip()
            # vCard 4.0 may give a URI: "TEL;VALUE=uri:tel:+81-3-1234-5678".
            card["phones"].append(
                phone[4:] if phone.lower().startswith("tel:") else phone
            )
        elif name == "ORG" and first:
            org, *units = _components(value)
            card["organisation"] = org or None
            card["department"] = " ".join(unit for unit in units if unit) or None
        elif name in ("TITLE", "URL") and first:
            card[name.lower()] = _unescape(value) or None
        elif name == "NOTE":
            note = _unescape(value)
            card["note"] = note if card["note"] is None else card["note"] + "\n" + note
        elif name == "ADR" and first:
            parts = [*_components(value), *[""] * 7][2:7]
            for key, part in zip(_ADDRESS_KEYS, parts, strict=True):
                card[key] = part or None
        elif name == "X-PHONETIC-LAST-NAME":
            card["family_name_kana"] = _unescape(value) or None
        elif name == "X-PHONETIC-FIRST-NAME":
            card["given_name_kana"] = _unescape(value) or None
        elif name == "SOUND" and "X-IRMC-N" in _upper_types(prop):
            # Japanese feature phones: "SOUND;X-IRMC-N:ヤマダ;タロウ;;;".
            family, given = [*_components(value), "", ""][:2]
            card["family_name_kana"] = card["family_name_kana"] or family or None
            card["given_name_kana"] = card["given_name_kana"] or given or None
        elif name.startswith("X-"):
            card["x_fields"].setdefault(name, []).append(_unescape(value))
    card["phone"] = card["phones"][0] if card["phones"] else None
    return card


def _upper_types(prop: _Property) -> set[str]:
    return {value.upper() for value in prop.params.get("TYPE", [])}
