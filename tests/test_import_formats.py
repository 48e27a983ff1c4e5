"""Tests for crm.imports: encoding detection, readers and writers.

Every input file is built in the test itself, byte by byte where the exact
bytes matter (CP932 vendor characters, cut multi-byte characters).
"""

from __future__ import annotations

import codecs
import datetime
import io
import zipfile
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import openpyxl
import pytest

from crm.formats.decoding import (
    HEAD_SIZE,
    DecodingError,
    InvalidTextError,
    UndetectableEncodingError,
    decode_head,
    detect_encoding,
    normalise_encoding,
    open_text,
)
from crm.formats.readers import (
    BinaryFileError,
    DuplicateHeaderError,
    EmptyFileError,
    EmptyHeaderError,
    FileFormatError,
    HeaderNotFoundError,
    ImportFileError,
    LegacyExcelError,
    MalformedFileError,
    NotSpreadsheetError,
    SheetNotFoundError,
    Table,
    TooManyRowsError,
    UnnamedColumnDataError,
    guess_format,
    read_table,
)
from crm.formats.writers import (
    cp932_unrepresentable,
    iter_csv,
    iter_vcards,
    neutralise,
    restore_neutralised,
    write_csv,
    write_vcards,
    write_xlsx,
)

pytestmark = pytest.mark.filterwarnings("error")

# Names and values Japanese local governments really handle: IBM extension
# kanji (髙 﨑), NEC special characters (① ㈱), the CP932 tilde, half-width
# katakana, and CSV-hostile punctuation and line breaks.
JAPANESE_ROWS = [
    {
        "氏名": "髙橋 一郎",
        "カナ": "ﾀｶﾊｼ ｲﾁﾛｳ",
        "会社": "㈱ふるさと",
        "メモ": "①番窓口～",
    },
    {
        "氏名": "山﨑 花子",
        "カナ": "ヤマザキ ハナコ",
        "会社": "",
        "メモ": '改行\nあり, "引用"',
    },
    {
        "氏名": "德永 はるか",
        "カナ": "ﾄｸﾅｶﾞ",
        "会社": "合同会社Ｔ",
        "メモ": "CRLF\r\n入り",
    },
]
JAPANESE_HEADERS = ["氏名", "カナ", "会社", "メモ"]

FORMULA_VALUES = [
    "=SUM(A1:A2)",
    "+81-3-1234-5678",
    "-",
    "@here",
    "\tindented",
    "\rcarriage",
    "'=already quoted",
    "''+double",
    "'",
    "it's fine",
    '=HYPERLINK("http://evil")',
]


def csv_file(text: str, encoding: str = "utf-8") -> io.BytesIO:
    return io.BytesIO(text.encode(encoding))


def rows_of(table: Table) -> list[tuple[int, dict[str, Any]]]:
    return list(table.rows)


def xlsx_bytes(rows: list[list[Any]], title: str = "Sheet1") -> bytes:
    """A workbook written by openpyxl's normal (not write-only) mode."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = title
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# --- decoding ----------------------------------------------------------------


class TestDetectEncoding:
    def test_boms(self) -> None:
        assert detect_encoding(codecs.BOM_UTF8 + "氏名".encode()) == "utf-8-sig"
        assert detect_encoding("氏名".encode("utf-16")) == "utf-16"
        assert (
            detect_encoding(codecs.BOM_UTF16_BE + "氏名".encode("utf-16-be"))
            == "utf-16"
        )

    def test_plain_utf8_and_ascii(self) -> None:
        assert detect_encoding("髙橋,﨑".encode()) == "utf-8"
        assert detect_encoding(b"name,email\r\n") == "utf-8"

    def test_python_cp932_decodes_excel_ibm_extension_bytes(self) -> None:
        # Excel on Windows saves 髙 as the IBM extension FB FC and 﨑 as FA B1;
        # the NEC-selected duplicates (EE E0, ED 95) decode to the same.
        assert b"\xfb\xfc".decode("cp932") == "髙" == "\u9ad9"
        assert b"\xee\xe0".decode("cp932") == "髙"
        assert b"\xfa\xb1".decode("cp932") == "﨑" == "\ufa11"
        assert b"\xed\x95".decode("cp932") == "﨑"
        # ED 9F is a different NEC-selected character, not 髙.
        assert b"\xed\x9f".decode("cp932") == "忞"
        with pytest.raises(UnicodeDecodeError):
            b"\xfb\xfc".decode("shift_jis")

    def test_cascade_returns_cp932_and_exact_characters(self) -> None:
        raw = (
            b"\xfb\xfc\x8b\xb4,\xfa\xb1,\x87\x40,\x87\x8a,\x81\x60,\xb6\xc0\xb6\xc5\r\n"
        )
        assert detect_encoding(raw) == "cp932"
        stream, encoding = open_text(io.BytesIO(raw))
        assert encoding == "cp932"
        assert stream.readline() == "髙橋,﨑,①,㈱,\uff5e,ｶﾀｶﾅ\r\n"

    def test_cut_multibyte_char_at_boundary_still_detects_cp932(self) -> None:
        # 髙 (FB FC) straddles the end of the head: FB is its last byte.
        # Without trimming, neither strict UTF-8 nor strict CP932 would
        # accept the head and the detector would guess.
        line = "髙橋,①\r\n".encode("cp932")
        padding = b"a" * (HEAD_SIZE - 1 - len(line) * 1000)
        data = line * 1000 + padding + b"\xfb\xfc\x8b\xb4\r\n"
        head = data[:HEAD_SIZE]
        assert head.endswith(b"\xfb")
        assert detect_encoding(head) == "cp932"
        stream, encoding = open_text(io.BytesIO(data))
        assert encoding == "cp932"
        assert "".join(stream).endswith("a髙橋\r\n")

    def test_cut_multibyte_char_at_boundary_still_detects_utf8(self) -> None:
        # Half of a three-byte UTF-8 character at the end of the head.
        padding = b"x" * (HEAD_SIZE - 1 - 3)
        data = "髙".encode() + padding + "橋".encode() + b"\n"
        assert data[:HEAD_SIZE].endswith("橋".encode()[:1])
        assert detect_encoding(data[:HEAD_SIZE]) == "utf-8"
        assert "".join(open_text(io.BytesIO(data))[0]).endswith("x橋\n")

    def test_detector_is_last_resort(self) -> None:
        text = "Árvíztűrő tükörfúrógép, őszi ünnep és tűz. " * 20
        assert detect_encoding(text.encode("cp1250")) == "cp1250"

    def test_undetectable(self) -> None:
        with pytest.raises(UndetectableEncodingError) as info:
            detect_encoding(bytes(range(1, 256)) * 4)
        assert info.value.code == "encoding_unknown"
        assert isinstance(info.value, DecodingError)

    def test_normalise_encoding(self) -> None:
        assert normalise_encoding("Shift_JIS") == "cp932"
        assert normalise_encoding("sjis") == "cp932"
        assert normalise_encoding("Windows-31J") == "cp932"
        assert normalise_encoding("MS932") == "cp932"
        assert normalise_encoding("UTF8") == "utf-8"

    def test_chosen_utf8_skips_bom(self) -> None:
        data = codecs.BOM_UTF8 + "氏名\n".encode()
        stream, encoding = open_text(io.BytesIO(data), "utf-8")
        assert encoding == "utf-8-sig"
        assert stream.readline() == "氏名\n"


class TestStreamingDecode:
    def test_line_endings_kept_like_newline_empty(self) -> None:
        stream, _ = open_text(io.BytesIO(b"a\r\nb\rc\nd"))
        assert list(stream) == ["a\r\n", "b\r", "c\n", "d"]

    def test_crlf_split_between_chunks(self) -> None:
        # The head ends in "\r" and the next chunk starts with "\n".
        data = b"a" * (HEAD_SIZE - 1) + b"\r\nnext\r\n"
        stream, _ = open_text(io.BytesIO(data))
        lines = list(stream)
        assert len(lines) == 2
        assert lines[0].endswith("a\r\n")
        assert lines[1] == "next\r\n"

    def test_readline_and_long_lines_across_chunks(self) -> None:
        long_line = "髙" * (HEAD_SIZE // 2)  # spans the head and many chunks
        data = f"{long_line}\r\nshort\r".encode("cp932")
        stream, _ = open_text(io.BytesIO(data))
        assert stream.readline() == long_line + "\r\n"
        assert stream.readline() == "short\r"
        assert stream.readline() == ""

    def test_decode_error_deep_in_file_reports_line_and_offset(self) -> None:
        line = "髙橋 一郎,takahashi@example.jp\n".encode()
        count = HEAD_SIZE // len(line) + 500  # well past the detection head
        data = line * count + b"bad \xff byte\n" + line
        table = read_table(io.BytesIO(data), "contacts.csv")
        assert table.encoding == "utf-8"
        with pytest.raises(InvalidTextError) as info:
            rows_of(table)
        assert info.value.code == "decoding"
        assert info.value.params["line"] == count + 1
        assert info.value.params["byte_offset"] == len(line) * count + 4
        assert f"line {count + 1}" in str(info.value)

    def test_decode_error_in_cp932_and_utf16(self) -> None:
        cp932 = "髙橋\n".encode("cp932") * 3 + b"x\x81\x20\n"
        with pytest.raises(InvalidTextError) as info:
            list(open_text(io.BytesIO(cp932), "cp932")[0])
        assert info.value.params == {"encoding": "cp932", "line": 4, "byte_offset": 16}

        utf16 = "a\r\nb\r\n".encode("utf-16") + b"\x00\xd8" + "c".encode("utf-16-le")
        with pytest.raises(InvalidTextError) as info:
            list(open_text(io.BytesIO(utf16))[0])
        assert info.value.params["line"] == 3
        assert info.value.params["byte_offset"] == 14

    def test_utf16_chosen_for_a_file_without_its_byte_order_mark(self) -> None:
        # Python's utf-16 codec raises a plain UnicodeError here, not a UnicodeDecodeError.
        with pytest.raises(InvalidTextError) as info:
            list(open_text(io.BytesIO("氏名\r\n髙橋\r\n".encode("cp932")), "utf-16")[0])
        assert info.value.params == {"encoding": "utf-16", "line": 1, "byte_offset": 0}

    def test_truncated_character_at_end_of_file(self) -> None:
        with pytest.raises(InvalidTextError) as info:
            list(open_text(io.BytesIO("a\nb髙".encode()[:-1]))[0])
        assert info.value.params["line"] == 2

    def test_error_in_bom_file_counts_the_bom(self) -> None:
        data = codecs.BOM_UTF8 + b"ab\xff"
        with pytest.raises(InvalidTextError) as info:
            list(open_text(io.BytesIO(data))[0])
        assert info.value.params["byte_offset"] == 5

    def test_wrong_chosen_encoding_in_head(self) -> None:
        with pytest.raises(InvalidTextError) as info:
            decode_head("a\n髙".encode("cp932"), "utf-8")
        assert info.value.params["line"] == 2


# --- delimited round trips -------------------------------------------------


ENCODING_CASES = [
    pytest.param("utf-8", ",", "names.csv", id="utf-8"),
    pytest.param("utf-8-sig", ",", "names.csv", id="utf-8-bom"),
    pytest.param("cp932", ",", "names.csv", id="cp932"),
    pytest.param("utf-16", "\t", "names.txt", id="utf-16-tsv"),
    pytest.param("utf-8-sig", "\t", "names.tsv", id="tsv"),
]


@pytest.mark.parametrize(("encoding", "delimiter", "filename"), ENCODING_CASES)
def test_delimited_round_trip_is_byte_exact(
    encoding: str, delimiter: str, filename: str
) -> None:
    first = io.BytesIO()
    write_csv(JAPANESE_ROWS, JAPANESE_HEADERS, first, encoding, delimiter)

    table = read_table(io.BytesIO(first.getvalue()), filename)
    assert table.encoding == encoding
    assert table.delimiter == delimiter
    assert table.format == ("tsv" if delimiter == "\t" else "csv")
    assert table.headers == JAPANESE_HEADERS
    rows = rows_of(table)
    assert [number for number, _ in rows] == [2, 3, 4]
    assert [values for _, values in rows] == JAPANESE_ROWS

    second = io.BytesIO()
    write_csv(
        (values for _, values in rows), table.headers, second, encoding, delimiter
    )
    assert second.getvalue() == first.getvalue()


def test_cp932_export_writes_windows_bytes() -> None:
    output = io.BytesIO()
    write_csv(
        [["髙橋", "山﨑", "ⅰ", "①", "～"]], ["a", "b", "c", "d", "e"], output, "cp932"
    )
    body = output.getvalue().split(b"\r\n")[1]
    assert body == b"\xfb\xfc\x8b\xb4,\x8eR\xfa\xb1,\xfa\x40,\x87\x40,\x81\x60"


def test_excel_cp932_file_reimports_and_reexports_identically() -> None:
    # What Excel's "CSV (comma delimited)" saves on Japanese Windows.
    excel = b"\x8e\x81\x96\xbc\r\n\xfb\xfc\x8b\xb4\r\n\x8eR\xfa\xb1\r\n"
    table = read_table(io.BytesIO(excel), "excel.csv")
    assert table.encoding == "cp932"
    assert table.headers == ["氏名"]
    rows = [values for _, values in table.rows]
    assert rows == [{"氏名": "髙橋"}, {"氏名": "山﨑"}]
    output = io.BytesIO()
    write_csv(rows, table.headers, output, "cp932")
    assert output.getvalue() == excel


def test_utf8_bom_written_once_across_chunks() -> None:
    rows = ({"氏名": f"髙橋{i}"} for i in range(20_000))
    data = b"".join(iter_csv(rows, ["氏名"], "utf-8-sig"))
    assert data.startswith(codecs.BOM_UTF8)
    assert data.count(codecs.BOM_UTF8) == 1


def test_iter_csv_streams_lazily() -> None:
    consumed = 0

    def rows() -> Iterator[dict[str, Any]]:
        nonlocal consumed
        for index in range(100_000):
            consumed += 1
            yield {"id": index, "氏名": "髙橋 一郎", "メモ": "x" * 20}

    chunks = iter_csv(rows(), ["id", "氏名", "メモ"], "cp932")
    next(chunks)
    assert consumed < 5_000
    total = sum(1 for _ in chunks) + 1
    assert consumed == 100_000
    assert total > 10


def test_csv_value_formatting() -> None:
    output = io.BytesIO()
    row = [
        None,
        True,
        datetime.date(2024, 10, 14),
        datetime.datetime(2024, 10, 14, 9, 30),
        1.5,
        Decimal("-2.50"),
        -3,
    ]
    write_csv([row], list("abcdefg"), output, "utf-8")
    assert output.getvalue().split(b"\r\n")[1] == (
        b",TRUE,2024-10-14,2024-10-14 09:30:00,1.5,-2.50,-3"
    )


def test_sequence_rows_must_match_headers() -> None:
    with pytest.raises(ValueError):
        write_csv([["only one"]], ["a", "b"], io.BytesIO())


class TestCsvReading:
    def test_quoted_newlines_and_blank_rows_keep_excel_row_numbers(self) -> None:
        text = 'name,note\r\n"a","line1\r\nline2"\r\n\r\n,\r\nb,x\r\n'
        rows = rows_of(read_table(csv_file(text), "x.csv"))
        assert rows == [
            (2, {"name": "a", "note": "line1\r\nline2"}),
            (5, {"name": "b", "note": "x"}),
        ]

    def test_header_below_blank_lines(self) -> None:
        table = read_table(csv_file("\n\nname\nx\n"), "x.csv")
        assert table.header_row == 3
        assert rows_of(table) == [(4, {"name": "x"})]

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("名前;住所\n山田;東京都千代田区1,2\n", ";"),
            ('名前,住所\n山田,"東京都; 千代田区\t1"\n', ","),
            ("名前\t住所\n山田\t東京\n", "\t"),
            ("名前\n山田\n", ","),
        ],
    )
    def test_delimiter_sniffing(self, text: str, expected: str) -> None:
        assert read_table(csv_file(text), "x.csv").delimiter == expected

    def test_delimiter_override(self) -> None:
        table = read_table(csv_file("a;b,c\n1;2,3\n"), "x.csv", delimiter=";")
        assert table.headers == ["a", "b,c"]

    def test_short_rows_are_padded_and_trailing_empty_header_stripped(self) -> None:
        table = read_table(csv_file("a,b,,\n1\n2,3,,\n"), "x.csv")
        assert table.headers == ["a", "b"]
        assert rows_of(table) == [(2, {"a": "1", "b": ""}), (3, {"a": "2", "b": "3"})]

    def test_data_under_stripped_header_is_an_error(self) -> None:
        table = read_table(csv_file("a,b,\n1,2,3\n"), "x.csv")
        with pytest.raises(UnnamedColumnDataError) as info:
            rows_of(table)
        assert info.value.params == {"row": 2, "column": "C"}

    def test_header_names_are_stripped(self) -> None:
        assert read_table(csv_file(" a , b\n"), "x.csv").headers == ["a", "b"]

    def test_explicit_encoding(self) -> None:
        data = "氏名\n髙橋\n".encode("cp932")
        table = read_table(io.BytesIO(data), "x.csv", encoding="Shift_JIS")
        assert table.encoding == "cp932"
        assert rows_of(table) == [(2, {"氏名": "髙橋"})]

    def test_csv_error_is_reported_with_row(self) -> None:
        big = "x" * 200_000
        table = read_table(csv_file(f'a\n1\n"{big}"\n'), "x.csv")
        with pytest.raises(MalformedFileError) as info:
            rows_of(table)
        assert info.value.params["row"] == 3


# --- rejected files ----------------------------------------------------------


def zip_bytes(names: list[str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in names:
            archive.writestr(name, "<xml/>")
    return buffer.getvalue()


class TestRejectedFiles:
    def test_zip_renamed_csv(self) -> None:
        data = zip_bytes(["contacts.csv"])
        with pytest.raises(NotSpreadsheetError) as info:
            read_table(io.BytesIO(data), "contacts.csv")
        assert info.value.code == "not_spreadsheet"
        assert isinstance(info.value, FileFormatError)
        assert isinstance(info.value, ImportFileError)

    def test_docx(self) -> None:
        data = zip_bytes(["[Content_Types].xml", "word/document.xml"])
        with pytest.raises(NotSpreadsheetError):
            read_table(io.BytesIO(data), "contacts.xlsx")

    def test_broken_workbook(self) -> None:
        with pytest.raises(NotSpreadsheetError):
            read_table(io.BytesIO(zip_bytes(["xl/workbook.xml"])), "x.xlsx")

    def test_xlsx_forced_as_csv(self) -> None:
        data = xlsx_bytes([["a"]])
        with pytest.raises(NotSpreadsheetError):
            read_table(io.BytesIO(data), "x.csv", fmt="csv")

    def test_text_forced_as_xlsx(self) -> None:
        with pytest.raises(NotSpreadsheetError):
            read_table(csv_file("a\n1\n"), "x.xlsx", fmt="xlsx")

    def test_unknown_forced_format(self) -> None:
        with pytest.raises(ValueError):
            read_table(csv_file("a\n"), "x.csv", fmt="xls")

    @pytest.mark.parametrize(
        "content", [b"", codecs.BOM_UTF8, b"\r\n \r\n", b",,\n,,\n"]
    )
    def test_empty(self, content: bytes) -> None:
        with pytest.raises(EmptyFileError) as info:
            read_table(io.BytesIO(content), "x.csv")
        assert info.value.code == "empty"

    def test_binary(self) -> None:
        with pytest.raises(BinaryFileError) as info:
            read_table(io.BytesIO(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), "x.csv")
        assert info.value.code == "binary"

    def test_pdf(self) -> None:
        with pytest.raises(NotSpreadsheetError):
            read_table(io.BytesIO(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"), "x.csv")

    def test_legacy_xls(self) -> None:
        data = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100
        with pytest.raises(LegacyExcelError) as info:
            read_table(io.BytesIO(data), "x.xls")
        assert info.value.code == "legacy_excel"

    def test_duplicate_header(self) -> None:
        with pytest.raises(DuplicateHeaderError) as info:
            read_table(csv_file("氏名,メール,氏名 \n"), "x.csv")
        assert info.value.code == "duplicate_header"
        assert info.value.params == {"name": "氏名", "row": 1, "columns": "A, C"}
        assert '"氏名"' in str(info.value)

    def test_empty_header_name(self) -> None:
        with pytest.raises(EmptyHeaderError) as info:
            read_table(csv_file("a,,c\n"), "x.csv")
        assert info.value.params == {"column": "B", "row": 1}

    def test_undecodable(self) -> None:
        with pytest.raises(DecodingError):
            read_table(io.BytesIO(bytes(range(1, 256)) * 4), "x.csv")


# --- formula neutralisation ----------------------------------------------------


@pytest.mark.parametrize("value", FORMULA_VALUES)
def test_neutralise_restore_inverse(value: str) -> None:
    assert restore_neutralised(neutralise(value)) == value


def test_neutralise_examples() -> None:
    assert neutralise("=1+1") == "'=1+1"
    assert neutralise("'=1+1") == "''=1+1"
    assert neutralise("it's") == "it's"
    assert neutralise(-5) == -5
    assert restore_neutralised("'plain") == "'plain"


def test_formula_neutralisation_round_trip_csv() -> None:
    rows = [{"value": value} for value in FORMULA_VALUES]
    output = io.BytesIO()
    write_csv(rows, ["value"], output)
    assert b"\r\n'=SUM(A1:A2)\r\n" in output.getvalue()
    assert b"\r\n=" not in output.getvalue()
    table = read_table(io.BytesIO(output.getvalue()), "x.csv")
    assert [values for _, values in table.rows] == rows


def test_formula_neutralisation_round_trip_xlsx() -> None:
    # XLSX cannot hold CR; that case is covered by the next test.
    rows = [{"=header": value} for value in FORMULA_VALUES if "\r" not in value]
    output = io.BytesIO()
    write_xlsx(rows, ["=header"], output)
    sheet = openpyxl.load_workbook(io.BytesIO(output.getvalue())).active
    assert sheet["A1"].value == "'=header"
    assert sheet["A2"].value == "'=SUM(A1:A2)"
    assert sheet["A2"].data_type == "s"
    table = read_table(io.BytesIO(output.getvalue()), "x.xlsx")
    assert table.headers == ["=header"]
    assert [values for _, values in table.rows] == rows


def test_xlsx_line_breaks_become_lf() -> None:
    output = io.BytesIO()
    write_xlsx([["\rcarriage", "a\r\nb\rc"]], ["x", "y"], output)
    ((_, values),) = read_table(io.BytesIO(output.getvalue()), "x.xlsx").rows
    assert values == {"x": "\ncarriage", "y": "a\nb\nc"}


# --- XLSX ------------------------------------------------------------------------


class TestXlsx:
    def test_round_trip_typed_cells(self) -> None:
        headers = ["氏名", "生年月日", "登録日時", "件数", "金額", "有効", "空"]
        rows = [
            [
                "髙橋 一郎",
                datetime.date(1980, 2, 29),
                datetime.datetime(2024, 10, 14, 9, 30),
                3,
                1.5,
                True,
                None,
            ],
            [
                "山﨑 ㈱①～ｶﾀｶﾅ",
                datetime.date(2000, 1, 1),
                datetime.datetime(2024, 1, 1, 0, 0),
                -7,
                Decimal("2.25"),
                False,
                None,
            ],
        ]
        output = io.BytesIO()
        write_xlsx(iter(rows), headers, output, sheet_title="名簿")
        table = read_table(io.BytesIO(output.getvalue()), "export.xlsx")
        assert table.format == "xlsx"
        assert table.encoding is None
        assert table.sheet_names == ["名簿"]
        assert table.headers == headers
        result = rows_of(table)
        assert [number for number, _ in result] == [2, 3]
        first, second = (values for _, values in result)
        assert first == dict(zip(headers, rows[0], strict=True))
        assert second["登録日時"] == datetime.date(2024, 1, 1)  # midnight -> date
        assert second["金額"] == 2.25
        assert second["氏名"] == "山﨑 ㈱①～ｶﾀｶﾅ"

    def test_aware_datetimes_and_illegal_characters(self) -> None:
        jst = datetime.timezone(datetime.timedelta(hours=9))
        output = io.BytesIO()
        write_xlsx(
            [[datetime.datetime(2024, 5, 1, 12, 0, tzinfo=jst), "a\x0bb", 7]],
            ["日時", "メモ", "x"],
            output,
        )
        ((_, values),) = read_table(io.BytesIO(output.getvalue()), "x.xlsx").rows
        assert values == {
            "日時": datetime.datetime(2024, 5, 1, 12, 0),
            "メモ": "a?b",
            "x": 7,
        }

    def test_sheet_choice_header_position_and_gaps(self) -> None:
        workbook = openpyxl.Workbook()
        workbook.active.title = "表紙"
        workbook.active["A1"] = "cover"
        sheet = workbook.create_sheet("名簿")
        sheet["A3"], sheet["B3"], sheet["C3"] = "氏名", "メール", None
        sheet["A4"], sheet["B4"] = "髙橋", "t@example.jp"
        sheet["A7"] = "山﨑"
        buffer = io.BytesIO()
        workbook.save(buffer)

        table = read_table(io.BytesIO(buffer.getvalue()), "x.xlsx", sheet="名簿")
        assert table.sheet_names == ["表紙", "名簿"]
        assert table.sheet == "名簿"
        assert table.header_row == 3
        assert rows_of(table) == [
            (4, {"氏名": "髙橋", "メール": "t@example.jp"}),
            (7, {"氏名": "山﨑", "メール": None}),
        ]
        assert read_table(io.BytesIO(buffer.getvalue()), "x.xlsx").headers == ["cover"]
        with pytest.raises(SheetNotFoundError) as info:
            read_table(io.BytesIO(buffer.getvalue()), "x.xlsx", sheet="なし")
        assert info.value.params == {"sheet": "なし", "sheets": "表紙, 名簿"}

    def test_duplicate_header_and_empty_sheet(self) -> None:
        with pytest.raises(DuplicateHeaderError):
            read_table(io.BytesIO(xlsx_bytes([["a", "a"]])), "x.xlsx")
        with pytest.raises(EmptyFileError):
            read_table(io.BytesIO(xlsx_bytes([])), "x.xlsx")

    def test_close_before_and_while_reading_rows(self) -> None:
        data = xlsx_bytes([["a"], [1], [2]])
        with read_table(io.BytesIO(data), "x.xlsx") as table:
            assert table.headers == ["a"]
        with read_table(io.BytesIO(data), "x.xlsx") as table:
            assert next(table.rows) == (2, {"a": 1})

    def test_max_rows(self) -> None:
        data = xlsx_bytes([["n"]] + [[i] for i in range(10)])
        table = read_table(io.BytesIO(data), "x.xlsx", max_rows=3)
        with pytest.raises(TooManyRowsError) as info:
            rows_of(table)
        assert info.value.params == {"limit": 3, "row": 5}


# --- LinkedIn ------------------------------------------------------------------

LINKEDIN = (
    "Notes:\r\n"
    '"When exporting your connection data, you may notice that some of the '
    "email addresses are missing. You will only see email addresses for "
    "connections who have allowed their connections to see or download their "
    'email address."\r\n'
    "\r\n"
    "First Name,Last Name,URL,Email Address,Company,Position,Connected On\r\n"
    "一郎,髙橋,https://www.linkedin.com/in/takahashi,,㈱ふるさと,課長,14 Oct 2024\r\n"
    'Anna,Kovács,https://www.linkedin.com/in/anna,anna@example.hu,"Acme, Kft.",'
    "Engineer,03 Jan 2019\r\n"
    "X,Y,,,,,sometime\r\n"
)


def test_linkedin_notes_lines() -> None:
    data = LINKEDIN.encode()
    assert guess_format("Connections.csv", data) == "linkedin"
    table = read_table(io.BytesIO(data), "Connections.csv")
    assert table.format == "linkedin"
    assert table.header_row == 4
    assert table.headers[:2] == ["First Name", "Last Name"]
    rows = rows_of(table)
    assert [number for number, _ in rows] == [5, 6, 7]
    assert rows[0][1]["Last Name"] == "髙橋"
    assert rows[0][1]["Connected On"] == datetime.date(2024, 10, 14)
    assert rows[1][1]["Company"] == "Acme, Kft."
    assert rows[1][1]["Connected On"] == datetime.date(2019, 1, 3)
    assert rows[2][1]["Connected On"] == "sometime"


def test_linkedin_header_missing() -> None:
    data = ("Notes:\n" * 30 + "First Name,Last Name\n").encode()
    with pytest.raises(HeaderNotFoundError):
        read_table(io.BytesIO(data), "x.csv", fmt="linkedin")


def test_plain_csv_with_name_columns_is_not_linkedin() -> None:
    assert guess_format("x.csv", b"First Name,Last Name,Email\n") == "csv"


# --- vCard -------------------------------------------------------------------------


def fold_bytes(line: bytes, width: int = 20) -> bytes:
    """Fold at fixed byte widths, splitting UTF-8 characters like some phones."""
    pieces = [line[i : i + width] for i in range(0, len(line), width)]
    return b"\r\n ".join(pieces) + b"\r\n"


def test_vcard_40_multiple_cards() -> None:
    note = "長いメモです。改行\\nと、カンマ\\,とセミコロン\\;を含みます。".encode()
    data = (
        b"BEGIN:VCARD\r\nVERSION:4.0\r\n"
        + "FN:髙橋 一郎\r\nN:髙橋;一郎;;;\r\n".encode()
        + b"EMAIL;TYPE=work:work@example.jp\r\nEMAIL;PREF=1:main@example.jp\r\n"
        + b'TEL;VALUE=uri;TYPE="voice,cell":tel:+81-90-1234-5678\r\n'
        + "ORG:㈱ふるさと;企画課;広報係\r\nTITLE:主任\r\n".encode()
        + b"URL:https://example.jp/a,b\r\n"
        + fold_bytes(b"NOTE:" + note)
        + "ADR;TYPE=home:;;千代田1-1;千代田区;東京都;100-0001;日本\r\n".encode()
        + "X-PHONETIC-LAST-NAME:タカハシ\r\nX-PHONETIC-FIRST-NAME:イチロウ\r\n".encode()
        + "X-CRM-ID:42\r\nitem1.X-ABLABEL:家族\r\nPHOTO;ENCODING=b:AAAA\r\n".encode()
        + b"END:VCARD\r\n\r\n"
        + "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:山﨑 花子\r\nEND:VCARD\r\n".encode()
    )
    assert guess_format("contacts.csv", data) == "vcard"
    table = read_table(io.BytesIO(data), "contacts.vcf")
    assert table.format == "vcard"
    assert table.encoding == "utf-8"
    (n1, first), (n2, second) = rows_of(table)
    assert (n1, n2) == (1, 2)
    assert first["full_name"] == "髙橋 一郎"
    assert (first["family_name"], first["given_name"]) == ("髙橋", "一郎")
    assert first["emails"] == ["main@example.jp", "work@example.jp"]
    assert first["phone"] == "+81-90-1234-5678"
    assert (first["organisation"], first["department"]) == (
        "㈱ふるさと",
        "企画課 広報係",
    )
    assert first["title"] == "主任"
    assert first["url"] == "https://example.jp/a,b"
    assert first["note"] == "長いメモです。改行\nと、カンマ,とセミコロン;を含みます。"
    assert (first["city"], first["region"], first["country"]) == (
        "千代田区",
        "東京都",
        "日本",
    )
    assert (first["street"], first["postal_code"]) == ("千代田1-1", "100-0001")
    assert (first["family_name_kana"], first["given_name_kana"]) == (
        "タカハシ",
        "イチロウ",
    )
    assert first["x_fields"] == {"X-CRM-ID": ["42"], "X-ABLABEL": ["家族"]}
    assert first["version"] == "4.0"
    assert second["full_name"] == "山﨑 花子"
    assert second["family_name"] is None and second["emails"] == []


def test_vcard_30_charset_and_21_quoted_printable() -> None:
    data = (
        b"BEGIN:VCARD\r\nVERSION:3.0\r\n"
        + b"N;CHARSET=SHIFT_JIS:"
        + "髙橋;一郎".encode("cp932")
        + b";;;\r\n"
        + "FN:髙橋 一郎\r\n".encode()
        + b"EMAIL;TYPE=INTERNET;TYPE=PREF:a@example.jp\r\nEMAIL:b@example.jp\r\n"
        + b"TEL;TYPE=CELL:090-1111-2222\r\nTEL;TYPE=WORK,PREF:03-1111-2222\r\n"
        + b"END:VCARD\r\n"
        + b"BEGIN:VCARD\r\nVERSION:2.1\r\n"
        + b"N;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:=E5=B1=B1=E7=94=B0;=E5=A4=\r\n"
        + b"=AA=E9=83=8E;;;\r\n"
        + b"FN;CHARSET=SHIFT_JIS;QUOTED-PRINTABLE:=8ER=93c=20=91=BE=98Y\r\n"
        + "SOUND;X-IRMC-N;CHARSET=UTF-8:ﾔﾏﾀﾞ;ﾀﾛｳ;;;\r\n".encode()
        + b"END:VCARD\r\n"
    )
    (_, first), (_, second) = rows_of(read_table(io.BytesIO(data), "x.vcf"))
    assert (first["family_name"], first["given_name"]) == ("髙橋", "一郎")
    assert first["emails"] == ["a@example.jp", "b@example.jp"]
    assert first["phones"] == ["03-1111-2222", "090-1111-2222"]
    assert (second["family_name"], second["given_name"]) == ("山田", "太郎")
    assert second["full_name"] == "山田 太郎"
    assert (second["family_name_kana"], second["given_name_kana"]) == ("ﾔﾏﾀﾞ", "ﾀﾛｳ")


def test_vcard_cp932_file_with_bom_less_detection() -> None:
    data = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:髙橋\r\nN:髙橋;;;;\r\nEND:VCARD\r\n"
    table = read_table(io.BytesIO(data.encode("cp932")), "x.vcf")
    assert table.encoding == "cp932"
    assert rows_of(table)[0][1]["full_name"] == "髙橋"


def test_vcard_utf8_bom() -> None:
    data = codecs.BOM_UTF8 + "BEGIN:VCARD\nVERSION:4.0\nFN:髙橋\nEND:VCARD\n".encode()
    table = read_table(io.BytesIO(data), "x.vcf")
    assert rows_of(table)[0][1]["full_name"] == "髙橋"


@pytest.mark.parametrize(
    ("content", "row"),
    [
        ("BEGIN:VCARD\nFN:a\n", 2),
        ("BEGIN:VCARD\nBEGIN:VCARD\n", 2),
        ("END:VCARD\n", 1),
        ("BEGIN:VCARD\nFN:a\nEND:VCARD\njunk\n", 4),
        ("BEGIN:VCARD\nno colon here\nEND:VCARD\n", 2),
        ("BEGIN:VCARD\nFN;CHARSET=x-nope:a\nEND:VCARD\n", 2),
    ],
)
def test_malformed_vcards(content: str, row: int) -> None:
    with pytest.raises(MalformedFileError) as info:
        rows_of(read_table(io.BytesIO(content.encode()), "x.vcf", fmt="vcard"))
    assert info.value.params["row"] == row


def test_vcard_without_cards() -> None:
    table = read_table(io.BytesIO(b"\r\n\r\n"), "x.vcf", fmt="vcard")
    with pytest.raises(EmptyFileError):
        rows_of(table)


def test_vcard_invalid_bytes_report_line() -> None:
    data = b"BEGIN:VCARD\r\nVERSION:4.0\r\nFN:ok\r\nNOTE:bad \xff\r\nEND:VCARD\r\n"
    with pytest.raises(InvalidTextError) as info:
        rows_of(read_table(io.BytesIO(data), "x.vcf", encoding="utf-8"))
    assert info.value.params == {"encoding": "utf-8", "line": 4, "byte_offset": 42}


def test_vcard_utf16_is_rejected() -> None:
    data = "BEGIN:VCARD\r\nFN:a\r\nEND:VCARD\r\n".encode("utf-16")
    with pytest.raises(MalformedFileError):
        read_table(io.BytesIO(data), "x.vcf")


CARDS = [
    {
        "full_name": "髙橋 一郎",
        "family_name": "髙橋",
        "given_name": "一郎",
        "family_name_kana": "タカハシ",
        "given_name_kana": "イチロウ",
        "emails": ["ichiro@example.jp", "i.takahashi@example.com"],
        "phones": ["03-1234-5678", "090-1234-5678"],
        "phone": "03-1234-5678",
        "organisation": "㈱ふるさと; 本社",
        "department": "企画課",
        "title": "主任",
        "url": "https://example.jp/?a=1,2",
        "note": "長いメモ" * 30 + "\n二行目, セミコロン; バックスラッシュ\\ 😀",
        "street": "千代田1-1",
        "city": "千代田区",
        "region": "東京都",
        "postal_code": "100-0001",
        "country": "日本",
        "x_fields": {"X-CRM-ID": ["42"]},
    },
    {"full_name": None, "family_name": "山﨑", "given_name": "花子", "emails": []},
    {"full_name": "Anna Kovács", "family_name": "Kovács", "given_name": "Anna"},
]


@pytest.mark.parametrize("version", ["3.0", "4.0"])
def test_vcard_round_trip(version: str) -> None:
    output = io.BytesIO()
    write_vcards(iter(CARDS), output, version)
    data = output.getvalue()
    assert all(len(line) <= 75 for line in data.split(b"\r\n"))
    rows = rows_of(read_table(io.BytesIO(data), "export.vcf"))
    assert [number for number, _ in rows] == [1, 2, 3]
    first, second, third = (card for _, card in rows)
    assert {key: first[key] for key in CARDS[0]} == CARDS[0]
    assert first["version"] == version
    assert second["full_name"] == "山﨑 花子"  # Japanese order when FN is missing
    assert third["full_name"] == "Anna Kovács"


def test_vcard_writer_validation() -> None:
    with pytest.raises(ValueError):
        list(iter_vcards([{}], version="2.1"))
    with pytest.raises(ValueError):
        list(iter_vcards([{"x_fields": {"NOTE": ["x"]}}]))


# --- guess_format, max_rows, CP932 report ------------------------------------------


@pytest.mark.parametrize(
    ("filename", "head", "expected"),
    [
        ("x.csv", xlsx_bytes([["a"]]), "xlsx"),
        ("x.txt", b"a\tb\n1\t2\n", "tsv"),
        ("x.tsv", b"a\n1\n", "tsv"),
        ("x.xlsx", b"a,b\n1,2\n", "csv"),
        ("x.csv", b"\r\n begin:vcard\r\n", "vcard"),
    ],
)
def test_guess_format_prefers_content(
    filename: str, head: bytes, expected: str
) -> None:
    assert guess_format(filename, head) == expected


def test_max_rows_csv() -> None:
    text = "n\n" + "".join(f"{i}\n" for i in range(5))
    assert len(rows_of(read_table(csv_file(text), "x.csv", max_rows=5))) == 5
    table = read_table(csv_file(text), "x.csv", max_rows=3)
    with pytest.raises(TooManyRowsError) as info:
        rows_of(table)
    assert info.value.code == "too_many_rows"
    assert info.value.params == {"limit": 3, "row": 5}


def test_max_rows_vcard() -> None:
    data = b"".join(iter_vcards([{"full_name": str(i)} for i in range(3)]))
    with pytest.raises(TooManyRowsError):
        rows_of(read_table(io.BytesIO(data), "x.vcf", max_rows=2))


def test_cp932_unrepresentable() -> None:
    values = ["山田", "髙橋", "～", "〜", "ő", "😀", "〜", None, 5, "−5", "Tom — Jerry"]
    assert cp932_unrepresentable(values) == [
        ("〜", "～"),
        ("ő", "?"),
        ("😀", "?"),
        ("−5", "－5"),
        ("Tom — Jerry", "Tom ? Jerry"),
    ]
    output = io.BytesIO()
    write_csv([["〜ő"]], ["a"], output, "cp932")
    assert output.getvalue() == b"a\r\n\x81\x60?\r\n"
