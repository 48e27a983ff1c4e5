"""Reading XLSX workbooks in bounded memory: the cells' values, as openpyxl's read-only mode gives them.

openpyxl (which writes our exports) reads a workbook's XML through ElementTree: a cell's text is
held whole before anything can look at it, every row element stays attached to the sheet while the
sheet is read, the shared strings become a Python list, and a zip member is read as far as it goes.
A 1 MiB upload holding one 1 GiB cell took 1.1 GiB. Here the XML is fed to expat in chunks, and
every byte counted as it arrives:

- before anything is read, each part's declared size and compression ratio (a zip bomb unpacks a
  thousand times; real workbooks 5–30 times), and the number of parts;
- while a part streams, the bytes actually unpacked (a zip header can lie), the characters of a
  cell and of a row, the nesting depth, and how far expat is behind the input (one enormous tag);
- the shared strings, the one table held for random access, are kept as UTF-8 in one buffer.

Values match openpyxl's read-only, data-only mode: numbers as int or float, dates per the cell's
number format (1900 or 1904 calendar), booleans, text (phonetic guides left out), errors as their
code ("#N/A"), formulas as their last computed value. Problems raise :class:`NotWorkbookError`
(the zip is no workbook) or :class:`DamagedWorkbookError` (in a sheet, with the row), and the
bounds their :mod:`crm.formats.limits` errors.
"""
from __future__ import annotations

import posixpath
import re
import zipfile
import zlib
from array import array
from collections import deque
from collections.abc import Iterator
from typing import Any, BinaryIO
from xml.parsers import expat

from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format, is_timedelta_format
from openpyxl.utils import get_column_letter
from openpyxl.utils.datetime import CALENDAR_MAC_1904, CALENDAR_WINDOWS_1900, from_excel, from_ISO8601

from crm.formats.decoding import ImportFileError
from crm.formats.limits import (CellTooLargeError, PackedTooDenseError, PartTooLargeError, ReadLimits, RowTooLargeError,
                                TextTooLargeError)

__all__ = ["DamagedWorkbookError", "NotWorkbookError", "Workbook"]

CHUNK_SIZE = 1 << 16
# Excel's own sheet size: no real workbook goes further, and a row is at most this many cells.
MAX_ROW = 1_048_576
MAX_COLUMN = 16_384
# The parts read into small tables (workbook, relationships, styles) are kilobytes in real files.
METADATA_BYTES = 8 << 20
MAX_PARTS = 10_000
MAX_DEPTH = 64
# A part smaller than this is not judged by its compression ratio (tiny XML compresses oddly).
RATIO_FLOOR = 1 << 20

_CELL_REFERENCE = re.compile(r"([A-Z]{1,3})(\d*)")


class NotWorkbookError(ImportFileError):
    code = "not_spreadsheet"
    template = "The file is not a workbook."


class DamagedWorkbookError(ImportFileError):
    code = "malformed"
    template = "The file is damaged near row {row}: {detail}."


class Workbook:
    """An XLSX file opened for reading: sheet names now, rows of a sheet on demand."""

    def __init__(self, fileobj: BinaryIO, limits: ReadLimits | None = None) -> None:
        self.limits = limits or ReadLimits()
        _check_directory(fileobj)
        try:
            self._archive = zipfile.ZipFile(fileobj)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
            raise NotWorkbookError() from exc
        try:
            self._check_parts()
            workbook_path = self._office_document()
            self.sheet_names, self._sheet_ids, self.epoch = self._read_workbook(workbook_path)
            relations = self._relations(workbook_path)
            self._sheet_paths = {}
            for name, relation_id in zip(self.sheet_names, self._sheet_ids, strict=True):
                kind, target = relations.get(relation_id, ("", ""))
                if kind.endswith("/worksheet"):
                    self._sheet_paths[name] = target
            # Chart sheets have no cells: openpyxl lists worksheets only, and so does the wizard.
            self.sheet_names = [name for name in self.sheet_names if name in self._sheet_paths]
            if not self.sheet_names:
                raise NotWorkbookError()
            styles = next((target for kind, target in relations.values() if kind.endswith("/styles")), None)
            self._date_styles, self._timedelta_styles = self._read_styles(styles)
            strings = next((target for kind, target in relations.values() if kind.endswith("/sharedStrings")), None)
            self._strings = self._read_shared_strings(strings)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        self._archive.close()

    # --- Parts ---------------------------------------------------------------------------------------

    def _check_parts(self) -> None:
        for info in self._archive.infolist():
            if info.file_size > self.limits.unpacked_bytes:
                raise PartTooLargeError(part=info.filename, limit=self.limits.unpacked_bytes)
            if info.file_size > RATIO_FLOOR and info.file_size > self.limits.packing_ratio * max(info.compress_size, 1):
                raise PackedTooDenseError(part=info.filename, ratio=self.limits.packing_ratio)

    def _stream(self, path: str, handler: _Part, max_bytes: int) -> Iterator[None]:
        """Feed a part to `handler` through expat chunk by chunk, yielding after each chunk; every
        bound checked as the bytes arrive."""
        try:
            info = self._archive.getinfo(path)
        except KeyError:
            raise NotWorkbookError() from None
        parser = expat.ParserCreate()
        parser.buffer_text = True
        parser.buffer_size = CHUNK_SIZE
        parser.StartElementHandler, parser.EndElementHandler = handler.start, handler.end
        parser.CharacterDataHandler = handler.text
        # Workbooks never declare a document type; entities are how XML bombs expand.
        parser.StartDoctypeDeclHandler = parser.EntityDeclHandler = _refuse_document_type
        unpacked = 0
        try:
            with self._archive.open(info) as stream:
                while chunk := stream.read(CHUNK_SIZE):
                    # Counted as unpacked, not as declared: the header may lie.
                    unpacked += len(chunk)
                    if unpacked > max_bytes:
                        raise PartTooLargeError(part=path, limit=max_bytes)
                    if unpacked > RATIO_FLOOR and unpacked > self.limits.packing_ratio * max(info.compress_size, 1):
                        raise PackedTooDenseError(part=path, ratio=self.limits.packing_ratio)
                    parser.Parse(chunk, False)
                    # Between calls expat stands at the start of what it could not parse yet: an
                    # unfinished tag (its attributes), comment or instruction, held until it ends.
                    if unpacked - max(parser.CurrentByteIndex, 0) > self.limits.row_chars + CHUNK_SIZE:
                        raise _Malformed("a tag too large")
                    yield
                parser.Parse(b"", True)
                yield
        except _Malformed as exc:
            raise self._damaged(handler, exc.args[0]) from None
        except expat.ExpatError as exc:
            raise self._damaged(handler, f"XML error ({expat.ErrorString(exc.code)})") from None
        except (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, NotImplementedError) as exc:
            raise self._damaged(handler, f"the workbook's compressed data is broken ({exc})") from None

    @staticmethod
    def _damaged(handler: _Part, detail: str) -> ImportFileError:
        row = handler.row_number()
        if row is None:  # a part every workbook needs, before any sheet is read
            return NotWorkbookError()
        return DamagedWorkbookError(row=row, detail=detail)

    def _parse(self, path: str, handler: _Part, max_bytes: int = METADATA_BYTES) -> None:
        for _ in self._stream(path, handler, max_bytes):
            pass

    def _office_document(self) -> str:
        relations = self._relations("")
        return next((target for kind, target in relations.values() if kind.endswith("/officeDocument")),
                    "xl/workbook.xml")

    def _relations(self, owner: str) -> dict[str, tuple[str, str]]:
        """{id: (type, part path)} of the part `owner` ('' for the package)."""
        folder, name = posixpath.split(owner)
        path = posixpath.join(folder, "_rels", f"{name}.rels")
        if path not in self._archive.NameToInfo:
            return {}
        relations: dict[str, tuple[str, str]] = {}

        def start(tag, attributes):
            if tag == "Relationship" and attributes.get("TargetMode") != "External":
                target = attributes.get("Target", "")
                target = target[1:] if target.startswith("/") else posixpath.normpath(posixpath.join(folder, target))
                relations[attributes.get("Id", "")] = (attributes.get("Type", ""), target)

        self._parse(path, _Metadata(start))
        return relations

    def _read_workbook(self, path: str) -> tuple[list[str], list[str], Any]:
        names: list[str] = []
        ids: list[str] = []
        epoch = [CALENDAR_WINDOWS_1900]

        def start(tag, attributes):
            if tag == "sheet":
                names.append(attributes.get("name", ""))
                ids.append(next((value for key, value in attributes.items() if key.endswith(":id")), ""))
            elif tag == "workbookPr" and attributes.get("date1904") in ("1", "true"):
                epoch[0] = CALENDAR_MAC_1904

        self._parse(path, _Metadata(start))
        return names, ids, epoch[0]

    def _read_styles(self, path: str | None) -> tuple[set[int], set[int]]:
        """The cell styles (indexes into cellXfs) whose number format shows a date, or a duration."""
        if path is None or path not in self._archive.NameToInfo:
            return set(), set()
        custom: dict[int, str] = {}
        formats: list[int] = []
        inside = {"cellXfs": False}

        def start(tag, attributes):
            if tag == "numFmt":
                custom[_int(attributes.get("numFmtId"))] = attributes.get("formatCode", "")
            elif tag == "cellXfs":
                inside["cellXfs"] = True
            elif tag == "xf" and inside["cellXfs"]:
                formats.append(_int(attributes.get("numFmtId")))

        def end(tag):
            if tag == "cellXfs":
                inside["cellXfs"] = False

        self._parse(path, _Metadata(start, end))
        dates, durations = set(), set()
        for index, format_id in enumerate(formats):
            code = custom.get(format_id, BUILTIN_FORMATS.get(format_id))
            if is_date_format(code):
                dates.add(index)
            if is_timedelta_format(code):
                durations.add(index)
        return dates, durations

    def _read_shared_strings(self, path: str | None) -> _SharedStrings:
        reader = _SharedStrings(self.limits.cell_chars)
        if path is not None and path in self._archive.NameToInfo:
            self._parse(path, reader, self.limits.shared_text_bytes)
        return reader

    # --- Rows ------------------------------------------------------------------------------------------

    def rows(self, sheet: str) -> Iterator[tuple[int, list[Any]]]:
        """(row number, cell values from column A to the row's last cell) for each row the sheet holds."""
        reader = _SheetReader(self, self.limits)
        done = reader.done
        for _ in self._stream(self._sheet_paths[sheet], reader, self.limits.unpacked_bytes):
            while done:
                yield done.popleft()


class _Malformed(Exception):
    """Raised inside the parse; reported with the row (or as no workbook at all) by Workbook._stream."""


def _refuse_document_type(*_args) -> None:
    raise _Malformed("a document type declaration")


class _Part:
    """expat's handlers for one part. Each `start` counts the nesting first (expat keeps every open
    element: a part of nothing but opening tags would hold gigabytes) and strips a namespace prefix."""

    depth = 0

    def opened(self, name: str) -> str:
        """Count an element opening; → its name without a namespace prefix."""
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise _Malformed("elements nested too deeply")
        return name.rpartition(":")[2] if ":" in name else name

    def closed(self, name: str) -> str:
        self.depth -= 1
        return name.rpartition(":")[2] if ":" in name else name

    def row_number(self) -> int | None:
        """The row a problem is near, or None outside sheets (the file is then no workbook)."""
        return None

    def start(self, name: str, attributes: dict) -> None:
        pass

    def end(self, name: str) -> None:
        pass

    def text(self, data: str) -> None:
        pass


class _Metadata(_Part):
    """The small parts (relationships, workbook, styles), through plain functions of (tag, attributes)."""

    def __init__(self, on_start, on_end=None) -> None:
        self.on_start, self.on_end = on_start, on_end

    def start(self, name: str, attributes: dict) -> None:
        self.on_start(self.opened(name), attributes)

    def end(self, name: str) -> None:
        name = self.closed(name)
        if self.on_end is not None:
            self.on_end(name)


class _SharedStrings(_Part):
    """The shared-string table, read from its part and kept as UTF-8 in one buffer with end offsets:
    ~1 byte a character plus 4 a string, instead of a Python string object (≥ 50 bytes) each.
    Phonetic guides (<rPh>, the furigana Excel keeps beside Japanese text) are left out."""

    def __init__(self, cell_chars: int) -> None:
        self.cell_chars = cell_chars
        self._text = bytearray()
        self._ends = array("L")
        self.pieces: list[str] = []
        self.length = 0
        self.collect = False
        self.phonetic = 0

    def start(self, name: str, attributes: dict) -> None:
        name = self.opened(name)
        if name == "t":
            self.collect = not self.phonetic
        elif name == "si":
            self.pieces, self.length = [], 0
        elif name == "rPh":
            self.phonetic += 1

    def end(self, name: str) -> None:
        name = self.closed(name)
        if name == "t":
            self.collect = False
        elif name == "si":
            self._text += "".join(self.pieces).encode("utf-8", "surrogatepass")
            self._ends.append(len(self._text))
        elif name == "rPh":
            self.phonetic -= 1

    def text(self, data: str) -> None:
        if self.collect:
            self.length += len(data)
            if self.length > self.cell_chars:
                raise TextTooLargeError(limit=self.cell_chars)
            self.pieces.append(data)

    def __len__(self) -> int:
        return len(self._ends)

    def __getitem__(self, index: int) -> str:
        if not 0 <= index < len(self._ends):
            raise IndexError(index)
        start = self._ends[index - 1] if index else 0
        return self._text[start:self._ends[index]].decode("utf-8", "surrogatepass")


class _SheetReader(_Part):
    """A sheet's rows, gathered into `done` as expat reports them; each cell and row bounded as it
    grows."""

    def __init__(self, workbook: Workbook, limits: ReadLimits) -> None:
        self.workbook = workbook
        self.limits = limits
        self.done: deque = deque()
        self.row = 0
        self.row_closed = True
        self.cells: list[Any] = []
        self.row_chars = 0
        self.column = 0
        self.kind = "n"
        self.style = 0
        self.pieces: list[str] = []
        self.cell_chars = 0
        self.collect = False
        self.inline = False
        self.phonetic = 0

    def row_number(self) -> int:
        return self.row + 1 if self.row_closed else self.row

    def start(self, name: str, attributes: dict) -> None:
        name = self.opened(name)
        if name == "c":
            reference = attributes.get("r")
            if reference:
                match = _CELL_REFERENCE.fullmatch(reference)
                if match is None:
                    raise _Malformed(f"a cell reference {reference[:20]!r}")
                self.column = _column_index(match.group(1))
            else:
                self.column += 1
            if self.column > MAX_COLUMN:
                raise _Malformed("a cell beyond column XFD")
            self.kind, self.style = attributes.get("t", "n"), _int(attributes.get("s"))
            self.pieces, self.cell_chars, self.inline = [], 0, False
        elif name == "v":
            self.collect = True
        elif name == "t":
            self.collect = self.inline and not self.phonetic
        elif name == "row":
            number = attributes.get("r")
            self.row = _int(number) if number else self.row + 1
            if not 1 <= self.row <= MAX_ROW:
                raise _Malformed("a row number beyond 1,048,576")
            self.row_closed = False
            self.cells, self.row_chars, self.column = [], 0, 0
        elif name == "is":
            self.inline = True
        elif name == "rPh":
            self.phonetic += 1

    def end(self, name: str) -> None:
        name = self.closed(name)
        if name == "c":
            value = self._value()
            if self.kind == "s" and isinstance(value, str):
                self._count(len(value))  # a shared string's text (inline text was counted as it came)
            cells, column = self.cells, self.column
            if column > len(cells):
                if column - 1 > len(cells):
                    cells.extend([None] * (column - 1 - len(cells)))
                cells.append(value)
            else:
                cells[column - 1] = value
        elif name in ("v", "t"):
            self.collect = False
        elif name == "row":
            self.done.append((self.row, self.cells))
            self.cells, self.row_closed = [], True
        elif name == "rPh":
            self.phonetic -= 1

    def text(self, data: str) -> None:
        if self.collect:
            self.cell_chars += len(data)
            if self.cell_chars > self.limits.cell_chars:
                raise CellTooLargeError(row=self.row, column=get_column_letter(self.column),
                                        limit=self.limits.cell_chars)
            self._count(len(data))
            self.pieces.append(data)

    def _count(self, characters: int) -> None:
        self.row_chars += characters
        if self.row_chars > self.limits.row_chars:
            raise RowTooLargeError(row=self.row, limit=self.limits.row_chars)

    def _value(self) -> Any:
        kind, text = self.kind, "".join(self.pieces)
        if kind == "inlineStr":
            return text if self.inline else None
        if not text:
            return None
        try:
            if kind == "n":
                number = float(text) if "." in text or "e" in text or "E" in text else int(text)
                if self.style in self.workbook._date_styles:
                    try:
                        return from_excel(number, self.workbook.epoch,
                                          timedelta=self.style in self.workbook._timedelta_styles)
                    except (OverflowError, ValueError):
                        return "#VALUE!"  # openpyxl's reading of a date out of range
                return number
            if kind == "s":
                return self.workbook._strings[int(text)]
            if kind == "b":
                return bool(int(text))
            if kind == "d":
                return from_ISO8601(text)
        except (ValueError, IndexError, TypeError):
            raise _Malformed(f"cell {get_column_letter(self.column)}{self.row} holds {text[:20]!r} as {kind!r}") from None
        return text  # "str" (a formula's text) and "e" (an error such as #N/A)


def _int(value: str | None) -> int:
    try:
        return int(value) if value else 0
    except ValueError:
        return -1


def _column_index(letters: str) -> int:
    index = 0
    for letter in letters:
        index = index * 26 + ord(letter) - 64
    return index


def _check_directory(fileobj: BinaryIO) -> None:
    """Refuse a zip whose central directory lists more parts than a workbook has, before zipfile
    builds an object for each of them (a 20 MiB file can list 400,000)."""
    start = fileobj.tell()
    fileobj.seek(0, 2)
    size = fileobj.tell()
    fileobj.seek(max(size - (1 << 16) - 22, 0))
    tail = fileobj.read()
    fileobj.seek(start)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) < at + 22:
        raise NotWorkbookError()
    entries = int.from_bytes(tail[at + 10:at + 12], "little")
    if entries > MAX_PARTS:  # 0xFFFF: a Zip64 directory, for more parts still
        raise NotWorkbookError()
