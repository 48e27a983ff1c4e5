"""Streaming writers for exports: CSV/TSV, XLSX and vCard.

Every writer consumes its rows lazily, so exporting 100,000 contacts never
holds them all in memory; :func:`iter_csv` and :func:`iter_vcards` yield
chunks of bytes that can feed a streamed HTTP response directly.

Formula injection: a spreadsheet treats a cell starting with ``=``, ``+``,
``-``, ``@``, tab or carriage return as a formula, so text written to CSV or
XLSX is passed through :func:`neutralise`, which prefixes such text with a
single quote.  The readers undo it with :func:`restore_neutralised`, making
export followed by import an exact round trip for every string.  vCards are
not opened by spreadsheets and are written as they are.

Characters an encoding cannot hold are written as :data:`REPLACEMENT` (for
CP932 see :func:`cp932_unrepresentable`, which lists them in advance), and
control characters XLSX cannot store are replaced the same way.  XLSX also
cannot keep a carriage return: CRLF and CR become LF there (and in vCards).
"""

from __future__ import annotations

import codecs
import csv
import datetime
import io
import itertools
import math
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any, BinaryIO, TypeVar

from xml.sax.saxutils import escape

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.utils.datetime import to_excel

from crm.formats.decoding import normalise_encoding

__all__ = [
    "FORMULA_TRIGGERS",
    "REPLACEMENT",
    "cp932_unrepresentable",
    "iter_csv",
    "iter_vcards",
    "neutralise",
    "restore_neutralised",
    "write_csv",
    "write_vcards",
    "write_xlsx",
]

#: First characters that make a spreadsheet evaluate a cell as a formula.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")

#: What an unwritable character becomes, in every format.
REPLACEMENT = "?"

# Deflate level of the XLSX writer: 1 is several times faster than 6 and the file ~15 % larger.
_XLSX_COMPRESSION = 1

#: Roughly how many characters the CSV writer gathers before yielding bytes.
CSV_CHUNK_CHARS = 1 << 16

VCARD_VERSIONS = ("3.0", "4.0")

# RFC 6350 limits a vCard line to 75 octets; longer lines are folded.
_VCARD_LINE_OCTETS = 75

_X_NAME = re.compile(r"X-[A-Za-z0-9-]+")

Row = Mapping[str, Any] | Sequence[Any]
T = TypeVar("T")


def neutralise(value: T) -> T:
    """Return ``value`` made safe to put in a spreadsheet cell.

    Text starting with a formula trigger gets a ``'`` prefix.  So does text
    that already looks neutralised (quotes followed by a trigger), so that
    :func:`restore_neutralised` can tell the two apart and every string
    round-trips exactly.  Anything that is not a string is returned as is.
    """
    if isinstance(value, str) and value.lstrip("'").startswith(FORMULA_TRIGGERS):
        return "'" + value  # type: ignore[return-value]  # T is str here
    return value


def restore_neutralised(value: T) -> T:
    """Undo :func:`neutralise`: drop one ``'`` it would have added.

    The readers apply this to every text cell of CSV and XLSX files, so a
    hand-made file whose cell reads ``'=1+1`` imports as ``=1+1``; it is
    neutralised again on the next export.
    """
    if (
        isinstance(value, str)
        and value.startswith("'")
        and value.lstrip("'").startswith(FORMULA_TRIGGERS)
    ):
        return value[1:]  # type: ignore[return-value]  # T is str here
    return value


def _windows_cp932_overrides() -> dict[str, bytes]:
    """Map the characters Python and Windows encode differently in CP932.

    The IBM extension characters (髙 﨑 ⅰ ...) exist twice in CP932: as IBM
    extensions (rows FA-FC) and as "NEC-selected IBM extensions" (rows
    ED-EE).  Both decode to the same character, but Windows (and Java's MS932
    and glibc) encode to the IBM rows while Python picks the NEC rows: 髙 is
    FB FC from Excel and EE E0 from Python.  Writing the Windows bytes keeps
    our exports identical to what Excel itself saves.
    """
    overrides = {}
    for lead in (0xFA, 0xFB, 0xFC):
        for trail in range(0x40, 0xFD):
            code = bytes((lead, trail))
            try:
                char = code.decode("cp932")
            except UnicodeDecodeError:
                continue
            if char.encode("cp932")[0] in (0xED, 0xEE):
                overrides[char] = code
    return overrides


_CP932_OVERRIDES = _windows_cp932_overrides()
_CP932_OVERRIDE_CHARS = re.compile(
    "[" + "".join(re.escape(char) for char in _CP932_OVERRIDES) + "]"
)


def _encode_cp932(text: str) -> bytes:
    parts = []
    start = 0
    for match in _CP932_OVERRIDE_CHARS.finditer(text):
        parts.append(text[start : match.start()].encode("cp932", "replace"))
        parts.append(_CP932_OVERRIDES[match.group()])
        start = match.end()
    parts.append(text[start:].encode("cp932", "replace"))
    return b"".join(parts)


def cp932_unrepresentable(values: Iterable[Any]) -> list[tuple[str, str]]:
    """List the strings a CP932 export would change, with what it will show.

    Returns ``(value, shown)`` pairs, each value once, in first-seen order.
    ``shown`` is the value read back from the CP932 bytes, so it covers both
    kinds of change:

    * characters CP932 lacks become :data:`REPLACEMENT` ``?`` -- emoji,
      accented Latin letters such as ``ő``, the em dash ``—``;
    * a few characters are folded onto a look-alike that CP932 has and come
      back as that look-alike: WAVE DASH ``〜`` (U+301C) is written as 0x8160,
      which every CP932 decoder reads as FULLWIDTH TILDE ``～`` (U+FF5E); in
      the same way ``−`` (U+2212) becomes ``－``, ``‖`` becomes ``∥`` and
      ``¢ £ ¬`` become ``￠ ￡ ￢``.

    ``～`` (U+FF5E) itself is native to CP932 and is not listed.
    """
    changed: dict[str, str] = {}
    for value in values:
        if isinstance(value, str) and value not in changed:
            shown = _encode_cp932(value).decode("cp932")
            if shown != value:
                changed[value] = shown
    return list(changed.items())


def _text_encoder(encoding: str) -> Callable[[str, bool], bytes]:
    """Return ``encode(text, final)`` for a stream of text chunks."""
    if normalise_encoding(encoding) == "cp932":
        return lambda text, final: _encode_cp932(text)
    # An incremental encoder writes a BOM (utf-8-sig, utf-16) only once.
    return codecs.getincrementalencoder(encoding)("replace").encode


def _row_values(row: Row, headers: Sequence[str]) -> list[Any]:
    if isinstance(row, Mapping):
        return [row.get(header) for header in headers]
    values = list(row)
    if len(values) != len(headers):
        raise ValueError(f"row has {len(values)} values for {len(headers)} headers")
    return values


def _csv_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return neutralise(value)
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, datetime.datetime):
        return value.isoformat(sep=" ")
    return str(value)


def iter_csv(
    rows: Iterable[Row],
    headers: Sequence[str],
    encoding: str = "utf-8-sig",
    delimiter: str = ",",
) -> Iterator[bytes]:
    """Yield a CSV (or, with ``delimiter='\\t'``, TSV) file as byte chunks.

    ``rows`` are mappings keyed by header or sequences in header order.
    ``encoding`` is ``'utf-8-sig'`` (what Excel opens correctly as UTF-8) or
    ``'cp932'`` (older Japanese software); characters the encoding lacks
    become :data:`REPLACEMENT`.  Dates are written as ISO 8601, booleans as
    ``TRUE``/``FALSE``, ``None`` as an empty cell; records end with CRLF.
    """
    encode = _text_encoder(encoding)
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow([neutralise(header) for header in headers])
    for row in rows:
        writer.writerow([_csv_text(value) for value in _row_values(row, headers)])
        if buffer.tell() >= CSV_CHUNK_CHARS:
            yield encode(buffer.getvalue(), False)
            buffer.seek(0)
            buffer.truncate()
    yield encode(buffer.getvalue(), True)


def write_csv(
    rows: Iterable[Row],
    headers: Sequence[str],
    fileobj: BinaryIO,
    encoding: str = "utf-8-sig",
    delimiter: str = ",",
) -> None:
    """Write :func:`iter_csv` output to a binary file."""
    for chunk in iter_csv(rows, headers, encoding, delimiter):
        fileobj.write(chunk)


def write_xlsx(
    rows: Iterable[Row],
    headers: Sequence[str],
    fileobj: BinaryIO,
    sheet_title: str = "Sheet1",
) -> None:
    """Write rows to an XLSX workbook with typed cells (:func:`xlsx_chunks`).

    Numbers, booleans, dates and times keep their type; everything else is
    written as neutralised text.
    """
    for data in xlsx_chunks(rows, headers, sheet_title):
        fileobj.write(data)


class _Pipe:
    """A write-only file for :class:`zipfile.ZipFile` whose bytes are taken out as they come: the
    zip is written as a stream (no seek; sizes in data descriptors), never held whole."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.size = 0

    def write(self, data: bytes) -> int:
        self.parts.append(bytes(data))
        self.size += len(data)
        return len(data)

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        data, self.parts, self.size = b"".join(self.parts), [], 0
        return data


_XLSX_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_XLSX_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_XLSX_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_XLSX_PARTS = {
    "[Content_Types].xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
        "</Types>"
    ),
    "_rels/.rels": (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="{_XLSX_PKG_REL}">'
        f'<Relationship Id="rId1" Type="{_XLSX_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
    ),
    "xl/_rels/workbook.xml.rels": (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="{_XLSX_PKG_REL}">'
        f'<Relationship Id="rId1" Type="{_XLSX_REL}/worksheet" Target="worksheets/sheet1.xml"/>'
        f'<Relationship Id="rId2" Type="{_XLSX_REL}/styles" Target="styles.xml"/></Relationships>'
    ),
    # Styles 1-3: the number formats openpyxl gave dates, date-times and times (what the exports
    # showed before this writer).
    "xl/styles.xml": (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<styleSheet xmlns="{_XLSX_NS}">'
        '<numFmts count="3"><numFmt numFmtId="164" formatCode="yyyy-mm-dd"/>'
        '<numFmt numFmtId="165" formatCode="yyyy-mm-dd h:mm:ss"/><numFmt numFmtId="166" formatCode="h:mm:ss"/></numFmts>'
        '<fonts count="1"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>'
        '<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>'
        '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
        '<cellXfs count="4"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
        '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
        '<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
        '<xf numFmtId="166" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>'
        '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
        "</styleSheet>"
    ),
}
# What a sheet's name may not hold (Excel refuses the workbook otherwise).
_SHEET_TITLE_FORBIDDEN = re.compile(r"[\\/*?:\[\]]")
_XML_TEXT = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
_EXCEL_EPOCH = datetime.datetime(1899, 12, 30)


def _column_letters(index: int) -> str:
    letters = ""
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def _xlsx_cell(reference: str, value: Any) -> str:
    """One cell of the sheet's XML: text inline (no shared-strings table to hold), numbers,
    booleans, and dates as serial numbers with a date style."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return f'<c r="{reference}" t="b"><v>{int(value)}</v></c>'
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        number = float(value) if isinstance(value, Decimal) else value
        if isinstance(number, float) and not math.isfinite(number):
            return _xlsx_text(reference, str(number))
        return f'<c r="{reference}"><v>{number!r}</v></c>'
    if isinstance(value, datetime.datetime):
        if value.tzinfo is not None:
            # Excel has no time zones: keep the wall-clock time the caller chose (convert to
            # Asia/Tokyo before exporting if needed).
            value = value.replace(tzinfo=None)
        return f'<c r="{reference}" s="2"><v>{to_excel(value)!r}</v></c>'
    if isinstance(value, datetime.date):
        return f'<c r="{reference}" s="1"><v>{to_excel(value)!r}</v></c>'
    if isinstance(value, datetime.time):
        return f'<c r="{reference}" s="3"><v>{to_excel(value)!r}</v></c>'
    # XML turns a raw CR into LF when the file is read, so write the LF Excel itself uses for a
    # line break rather than let CR change silently.
    return _xlsx_text(reference, str(value).replace("\r\n", "\n").replace("\r", "\n"))


def _xlsx_text(reference: str, text: str) -> str:
    text = ILLEGAL_CHARACTERS_RE.sub(REPLACEMENT, neutralise(text)).translate(_XML_TEXT)
    return f'<c r="{reference}" t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>'


def xlsx_chunks(rows: Iterable[Row], headers: Sequence[str], sheet_title: str = "Sheet1", chunk: int = 1 << 16) -> Iterator[bytes]:
    """A workbook (one sheet, typed cells) as byte chunks for a streamed download or a file.

    The sheet's XML is written here, a row at a time, into a zip written as a stream: openpyxl's
    write-only mode cost ~0.2 ms a cell (three quarters of a 100,000-row export) and needs a
    seekable file. Text goes inline in its cell (no shared-strings table held in memory).
    """
    title = _SHEET_TITLE_FORBIDDEN.sub("_", sheet_title)[:31].strip("'") or "Sheet1"
    pipe = _Pipe()
    with zipfile.ZipFile(pipe, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=_XLSX_COMPRESSION) as archive:
        for name, xml in _XLSX_PARTS.items():
            archive.writestr(name, xml)
        archive.writestr("xl/workbook.xml", (
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<workbook xmlns="{_XLSX_NS}" xmlns:r="{_XLSX_REL}">'
            f'<sheets><sheet name="{escape(title, {chr(34): "&quot;"})}" sheetId="1" r:id="rId1"/></sheets></workbook>'
        ))
        letters = [_column_letters(index) for index in range(1, len(headers) + 1)]
        with archive.open("xl/worksheets/sheet1.xml", "w") as sheet:
            pieces = [f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="{_XLSX_NS}"><sheetData>']
            size = 0
            for number, values in enumerate(itertools.chain([list(headers)], (_row_values(row, headers) for row in rows)), 1):
                line = f'<row r="{number}">' + "".join(
                    [_xlsx_cell(f"{letter}{number}", value) for letter, value in zip(letters, values, strict=False)]) + "</row>"
                pieces.append(line)
                size += len(line)
                if size >= chunk:
                    sheet.write("".join(pieces).encode())
                    pieces, size = [], 0
                    if pipe.size >= chunk:
                        yield pipe.take()
            pieces.append("</sheetData></worksheet>")
            sheet.write("".join(pieces).encode())
    yield pipe.take()


def _escape_text(value: str) -> str:
    # Line breaks are normalised to "\n", the only one vCard can express.
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    return (
        value.replace("\\", "\\\\")
        .replace("\n", "\\n")
        .replace(",", "\\,")
        .replace(";", "\\;")
    )


def _fold(line: str) -> str:
    """Fold a content line at 75 octets without splitting a character."""
    if len(line.encode("utf-8")) <= _VCARD_LINE_OCTETS:
        return line
    pieces = []
    current: list[str] = []
    size = 0
    limit = _VCARD_LINE_OCTETS
    for char in line:
        octets = len(char.encode("utf-8"))
        if size + octets > limit:
            pieces.append("".join(current))
            current, size = [], 0
            limit = _VCARD_LINE_OCTETS - 1  # the leading space counts
        current.append(char)
        size += octets
    pieces.append("".join(current))
    return "\r\n ".join(pieces)


def _display_name(card: Mapping[str, Any]) -> str:
    full_name: str = card.get("full_name") or ""
    if full_name:
        return full_name
    family = card.get("family_name") or ""
    given = card.get("given_name") or ""
    # Japanese names read family name first; Latin ones given name first.
    if any(ord(char) >= 0x3000 for char in family + given):
        parts = (family, given)
    else:
        parts = (given, family)
    return " ".join(part for part in parts if part)


def _card_lines(card: Mapping[str, Any], version: str) -> Iterator[str]:
    def text(key: str) -> str:
        return _escape_text(card.get(key) or "")

    yield "BEGIN:VCARD"
    yield f"VERSION:{version}"
    yield "FN:" + _escape_text(_display_name(card))
    if card.get("family_name") or card.get("given_name") or version == "3.0":
        yield f"N:{text('family_name')};{text('given_name')};;;"
    # The phonetic-name properties Apple and Android contacts use for furigana.
    if card.get("family_name_kana"):
        yield "X-PHONETIC-LAST-NAME:" + text("family_name_kana")
    if card.get("given_name_kana"):
        yield "X-PHONETIC-FIRST-NAME:" + text("given_name_kana")
    for email in card.get("emails") or ():
        yield "EMAIL:" + _escape_text(email)
    phones = card.get("phones") or ([card["phone"]] if card.get("phone") else [])
    for phone in phones:
        yield "TEL:" + _escape_text(phone)
    if card.get("organisation") or card.get("department"):
        org = text("organisation")
        yield (
            f"ORG:{org};{text('department')}"
            if card.get("department")
            else f"ORG:{org}"
        )
    if card.get("title"):
        yield "TITLE:" + text("title")
    if card.get("url"):
        # A URI value: commas and semicolons in it must stay unescaped.
        yield "URL:" + card["url"]
    if card.get("note"):
        yield "NOTE:" + text("note")
    address = ("street", "city", "region", "postal_code", "country")
    if any(card.get(key) for key in address):
        yield "ADR:;;" + ";".join(text(key) for key in address)
    for name, values in (card.get("x_fields") or {}).items():
        if not _X_NAME.fullmatch(name):
            raise ValueError(f"not a vCard extension property name: {name!r}")
        for value in values:
            yield f"{name}:{_escape_text(value)}"
    yield "END:VCARD"


def iter_vcards(
    cards: Iterable[Mapping[str, Any]], version: str = "4.0"
) -> Iterator[bytes]:
    """Yield UTF-8 vCards, one card per chunk.

    ``cards`` use the keys the vCard reader produces (``full_name``,
    ``family_name``, ``given_name``, ``emails``, ``phones``/``phone``,
    ``organisation``, ``department``, ``title``, ``url``, ``note``, address
    parts, ``family_name_kana``/``given_name_kana``, ``x_fields``).
    """
    if version not in VCARD_VERSIONS:
        raise ValueError(f"vCard version must be one of {VCARD_VERSIONS}")
    for card in cards:
        lines = (_fold(line) + "\r\n" for line in _card_lines(card, version))
        yield "".join(lines).encode("utf-8")


def write_vcards(
    cards: Iterable[Mapping[str, Any]], fileobj: BinaryIO, version: str = "4.0"
) -> None:
    """Write :func:`iter_vcards` output to a binary file."""
    for chunk in iter_vcards(cards, version):
        fileobj.write(chunk)
