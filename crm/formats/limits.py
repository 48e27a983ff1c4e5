"""How much of an uploaded file a reader may hold at once, and the errors when a file asks for more.

A file within the upload size limit can still unpack or expand to gigabytes: a zip member
compressed a thousand times (a "zip bomb"), one cell of a gigabyte, a row of millions of cells, a
vCard line that never ends. The readers stream and count as they go, and stop with one of these
errors as soon as a bound is passed, so memory stays bounded whatever the file holds. The bounds
come from the configuration (`IMPORT_MAX_*`, see crm.config); `ReadLimits()` are the defaults.
"""
from __future__ import annotations

from dataclasses import dataclass

from crm.formats.decoding import ImportFileError

__all__ = ["BoundError", "CellTooLargeError", "PackedTooDenseError", "PartTooLargeError", "ReadLimits", "RowTooLargeError",
           "TextTooLargeError"]


@dataclass(frozen=True)
class ReadLimits:
    #: Characters of one cell (Excel's own limit); a CSV field, an XLSX cell or shared string.
    cell_chars: int = 32_767
    #: Characters of one row (CSV record, XLSX row, one vCard's lines, in bytes).
    row_chars: int = 256 * 1024
    #: Bytes any part of a workbook unpacks to (a sheet is streamed; its size costs time, not memory).
    unpacked_bytes: int = 256 * 1024 * 1024
    #: Bytes the workbook's shared-string table unpacks to: it is the one part held in memory.
    shared_text_bytes: int = 64 * 1024 * 1024
    #: How many times a part larger than a mebibyte may be compressed (workbooks' XML: ~5–30×).
    packing_ratio: int = 100

    @classmethod
    def from_config(cls, config) -> ReadLimits:
        defaults = cls()
        return cls(cell_chars=config.get("IMPORT_MAX_CELL_CHARS", defaults.cell_chars),
                   row_chars=config.get("IMPORT_MAX_ROW_CHARS", defaults.row_chars),
                   unpacked_bytes=config.get("IMPORT_MAX_UNPACKED_BYTES", defaults.unpacked_bytes),
                   shared_text_bytes=config.get("IMPORT_MAX_SHARED_TEXT_BYTES", defaults.shared_text_bytes),
                   packing_ratio=config.get("IMPORT_MAX_PACKING_RATIO", defaults.packing_ratio))


class BoundError(ImportFileError):
    """Numbers in the message read with thousands separators: "32,767", not "32767"."""

    def __init__(self, **params) -> None:
        super().__init__(**{key: f"{value:,}" if isinstance(value, int) else value for key, value in params.items()})


class CellTooLargeError(BoundError):
    code = "cell_too_large"
    template = "Row {row}, column {column} holds more than {limit} characters, the most a cell may hold."


class TextTooLargeError(BoundError):
    code = "text_too_large"
    template = "The workbook holds a text of more than {limit} characters, the most a cell may hold."


class RowTooLargeError(BoundError):
    code = "row_too_large"
    template = "Row {row} holds more than {limit} characters, the most a row may hold."


class PartTooLargeError(BoundError):
    code = "part_too_large"
    template = "The workbook's part {part} unpacks to more than {limit} bytes, the most an import reads."


class PackedTooDenseError(BoundError):
    code = "packed_too_dense"
    template = ("The workbook's part {part} is compressed more than {ratio} times, far more than a real "
                "spreadsheet; it is refused as a possible zip bomb.")
