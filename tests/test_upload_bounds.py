"""Uploads are read in bounded memory: zip bombs, lying zip headers, enormous cells, rows, lines and
shared strings are refused with a message naming the limit, and a worker's peak memory grows by at
most 200 MB whatever a file within the limits holds (measured on the CLI's own process, as the
import benchmark does).

Every file is built here on the fly, streamed to disk (a few MB on disk, up to a gigabyte unpacked).
"""
from __future__ import annotations

import base64
import html
import io
import json
import os
import subprocess
import struct
import sys
import zipfile
import zlib
from pathlib import Path

import pytest

from crm.config import ROOT
from crm.formats.limits import (CellTooLargeError, PackedTooDenseError, PartTooLargeError, ReadLimits, RowTooLargeError,
                                TextTooLargeError)
from crm.formats.readers import FieldTooLargeError, MalformedFileError, NotSpreadsheetError, read_table
from tests.test_imports import csv_bytes, latest_job, map_and_check, upload

MIB = 1 << 20
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
SMALL = ReadLimits(cell_chars=100, row_chars=1000, unpacked_bytes=4 * MIB, shared_text_bytes=2 * MIB, packing_ratio=100)


# --- Building workbooks ------------------------------------------------------------------------------

def _parts(shared: bool) -> dict[str, str]:
    relations = f'<Relationship Id="rId1" Type="{RELS}/worksheet" Target="worksheets/sheet1.xml"/>'
    if shared:
        relations += f'<Relationship Id="rId2" Type="{RELS}/sharedStrings" Target="sharedStrings.xml"/>'
    return {
        "[Content_Types].xml": '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>',
        "_rels/.rels": f'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                       f'<Relationship Id="rId1" Type="{RELS}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": f'<workbook xmlns="{MAIN}" xmlns:r="{RELS}"><sheets>'
                           f'<sheet name="名簿" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": f'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                                      f'{relations}</Relationships>',
    }


def write_xlsx(path: Path, sheet, shared=None, level: int = 6) -> Path:
    """A workbook whose sheet (and shared strings) XML come from iterables of bytes, streamed."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as archive:
        for name, text in _parts(shared is not None).items():
            archive.writestr(name, text)
        for name, chunks in (("xl/worksheets/sheet1.xml", sheet), ("xl/sharedStrings.xml", shared)):
            if chunks is not None:
                with archive.open(name, "w", force_zip64=False) as part:
                    for chunk in chunks:
                        part.write(chunk)
    return path


def write_repeated_xlsx(path: Path, before: bytes, block: bytes, times: int, after: bytes, part: str = "sheet",
                        declared: int | None = None) -> Path:
    """A workbook whose sheet (or shared strings: `part`) is `before`, `block` × `times`, `after`, built
    in a moment however large it unpacks: `block` is compressed once, ending in a full flush (no
    reference to earlier bytes), so its compressed form can be repeated. `declared`: the size the
    zip's headers give for that part (a lie, when it differs)."""
    def deflate(data: bytes) -> bytes:
        compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
        return compressor.compress(data) + compressor.flush(zlib.Z_FULL_FLUSH)

    head, body = deflate(before), deflate(block)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    tail = compressor.compress(after) + compressor.flush(zlib.Z_FINISH)
    crc = zlib.crc32(before)
    for _ in range(times):
        crc = zlib.crc32(block, crc)
    crc = zlib.crc32(after, crc)
    size = len(before) + len(block) * times + len(after)
    name = "xl/worksheets/sheet1.xml" if part == "sheet" else "xl/sharedStrings.xml"
    parts = [(key, zlib.compress(text.encode())[2:-4], zlib.crc32(text.encode()), len(text.encode()))
             for key, text in _parts(part != "sheet").items()]
    if part != "sheet":
        parts.append(("xl/worksheets/sheet1.xml", *_deflated(b"".join(SHARED_SHEET))))
    directory = io.BytesIO()
    with path.open("wb") as out:
        for key, data, part_crc, part_size, chunks in [(*entry, None) for entry in parts] + [
                (name, None, crc, size, (head, *[body] * times, tail))]:
            offset = out.tell()
            compressed = len(data) if chunks is None else sum(len(chunk) for chunk in chunks)
            declared_size = part_size if chunks is None or declared is None else declared
            fields = struct.pack("<HHHHHIIIHH", 20, 0, 8, 0, 0x21, part_crc, compressed, declared_size, len(key), 0)
            out.write(b"PK\x03\x04" + fields + key.encode())
            for chunk in [data] if chunks is None else chunks:
                out.write(chunk)
            directory.write(b"PK\x01\x02" + struct.pack("<H", 20) + fields + struct.pack("<HHHII", 0, 0, 0, 0, offset)
                            + key.encode())
        start = out.tell()
        out.write(directory.getvalue())
        count = len(parts) + 1
        out.write(b"PK\x05\x06" + struct.pack("<HHHHIIH", 0, 0, count, count, len(directory.getvalue()), start, 0))
    return path


def _deflated(data: bytes) -> tuple[bytes, int, int]:
    return zlib.compress(data)[2:-4], zlib.crc32(data), len(data)


def sheet(*rows: bytes, before: bytes = b"") -> list[bytes]:
    return [f'<worksheet xmlns="{MAIN}">'.encode() + before + b"<sheetData>",
            b'<row r="1"><c r="A1" t="inlineStr"><is><t>name</t></is></c></row>', *rows, b"</sheetData></worksheet>"]


def repeated(piece: bytes, size: int):
    block = piece * max(1, min(size, MIB) // len(piece))
    for _ in range(max(1, size // len(block))):
        yield block


CELL_START = b'<row r="2"><c r="A2" t="inlineStr"><is><t>'
CELL_END = b"</t></is></c></row></sheetData></worksheet>"
# A sheet whose cells are the first shared strings.
SHARED_SHEET = [f'<worksheet xmlns="{MAIN}"><sheetData>'.encode(),
                b'<row r="1"><c r="A1" t="s"><v>0</v></c></row><row r="2"><c r="A2" t="s"><v>1</v></c></row>',
                b"</sheetData></worksheet>"]


def huge_inline_cell(size: int) -> list[bytes]:
    return [*sheet()[:2], CELL_START, *repeated(b"a", size), CELL_END]


def huge_cell_workbook(path: Path, mebibytes: int, declared: int | None = None) -> Path:
    return write_repeated_xlsx(path, b"".join(sheet()[:2]) + CELL_START, b"a" * MIB, mebibytes, CELL_END,
                               declared=declared)


def read_all(path: Path, limits: ReadLimits = SMALL, name: str | None = None):
    with path.open("rb") as fileobj, read_table(fileobj, name or path.name, limits=limits) as table:
        return list(table.rows)


# --- Each bound, one file each ---------------------------------------------------------------------------

def test_a_part_declared_larger_than_the_limit_is_refused_before_reading(tmp_path):
    path = write_xlsx(tmp_path / "bomb.xlsx", huge_inline_cell(8 * MIB), level=9)
    with pytest.raises(PartTooLargeError) as info:
        read_all(path)
    assert info.value.params["part"] == "xl/worksheets/sheet1.xml"
    assert "4,194,304 bytes" in str(info.value)


def test_a_part_compressed_like_a_zip_bomb_is_refused(tmp_path):
    path = write_xlsx(tmp_path / "dense.xlsx", huge_inline_cell(3 * MIB), level=9)
    with pytest.raises(PackedTooDenseError) as info:
        read_all(path)
    assert info.value.params == {"part": "xl/worksheets/sheet1.xml", "ratio": "100"}


def test_a_zip_header_that_lies_about_the_size_is_caught_while_streaming(tmp_path):
    # The headers say 2,000 bytes; the part unpacks to 64 MiB. Only what was declared is read, and
    # the check of the data (CRC) finds the lie: a damaged file, not 64 MiB in memory.
    path = huge_cell_workbook(tmp_path / "lying.xlsx", 64, declared=2000)
    assert zipfile.ZipFile(path).getinfo("xl/worksheets/sheet1.xml").file_size == 2000
    with pytest.raises(MalformedFileError) as info:
        read_all(path, ReadLimits())
    assert "compressed data is broken" in str(info.value)


def test_a_cell_over_the_limit_is_refused_with_its_row_and_column(tmp_path):
    path = write_xlsx(tmp_path / "cell.xlsx", huge_inline_cell(MIB // 2))
    with pytest.raises(CellTooLargeError) as info:
        read_all(path, ReadLimits())
    assert info.value.params == {"row": "2", "column": "A", "limit": "32,767"}


def test_a_shared_string_over_the_limit_is_refused(tmp_path):
    shared = [f'<sst xmlns="{MAIN}"><si><t>name</t></si><si><t>'.encode(), b"x" * 101, b"</t></si></sst>"]
    path = write_xlsx(tmp_path / "shared.xlsx", sheet(), shared)
    with pytest.raises(TextTooLargeError):
        read_all(path)


def test_shared_strings_over_their_limit_are_refused(tmp_path):
    strings = (f"<si><t>{number}</t></si>".encode() for number in range(200_000))
    path = write_xlsx(tmp_path / "table.xlsx", sheet(), [f'<sst xmlns="{MAIN}">'.encode(), *strings, b"</sst>"])
    with pytest.raises(PartTooLargeError) as info:
        read_all(path)
    assert info.value.params["part"] == "xl/sharedStrings.xml"


def test_phonetic_guides_are_not_part_of_a_shared_string(tmp_path):
    shared = [f'<sst xmlns="{MAIN}"><si><t>氏名</t></si><si><t>髙橋</t><rPh sb="0" eb="2"><t>タカハシ</t></rPh>'
              f'</si></sst>'.encode()]
    rows = sheet(b'<row r="1"><c r="A1" t="s"><v>0</v></c></row>', b'<row r="3"><c r="A3" t="s"><v>1</v></c></row>')
    del rows[1]
    path = write_xlsx(tmp_path / "furigana.xlsx", rows, shared)
    assert read_all(path) == [(3, {"氏名": "髙橋"})]


def test_a_row_of_many_cells_over_the_row_limit_is_refused(tmp_path):
    cells = b"".join(b'<c t="inlineStr"><is><t>' + b"y" * 50 + b"</t></is></c>" for _ in range(100))
    path = write_xlsx(tmp_path / "wide.xlsx", sheet(b'<row r="2">' + cells + b"</row>"))
    with pytest.raises(RowTooLargeError) as info:
        read_all(path)
    assert info.value.params == {"row": "2", "limit": "1,000"}


def test_a_row_past_excels_last_column_is_damaged(tmp_path):
    cells = b"<c><v>1</v></c>" * 16_385
    path = write_xlsx(tmp_path / "columns.xlsx", sheet(b'<row r="2">' + cells + b"</row>"))
    with pytest.raises(MalformedFileError, match="beyond column XFD"):
        read_all(path, ReadLimits())


def test_deeply_nested_xml_is_damaged(tmp_path):
    path = write_xlsx(tmp_path / "deep.xlsx", sheet(b"<x>" * 100_000 + b"</x>" * 100_000))
    with pytest.raises(MalformedFileError, match="nested too deeply"):
        read_all(path)


def test_entities_are_refused(tmp_path):
    laughs = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
              + f'<worksheet xmlns="{MAIN}"><sheetData><row><c t="inlineStr"><is><t>&lol2;</t></is></c></row>'
                f'</sheetData></worksheet>'.encode())
    with pytest.raises(MalformedFileError, match="document type"):
        read_all(write_xlsx(tmp_path / "laughs.xlsx", [laughs]))


def test_one_enormous_tag_is_refused(tmp_path):
    path = write_xlsx(tmp_path / "tag.xlsx", sheet(b'<row r="2"><c r="A2" x="' + base64.b64encode(os.urandom(2 * MIB)) + b'"/></row>'))
    with pytest.raises(MalformedFileError, match="a tag too large"):
        read_all(path, ReadLimits(unpacked_bytes=4 * MIB))


def test_a_zip_of_too_many_parts_is_not_a_workbook(tmp_path):
    path = tmp_path / "parts.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        for number in range(10_001):
            archive.writestr(f"xl/{number}", b"")
    with pytest.raises(NotSpreadsheetError):
        read_all(path)


def test_a_csv_field_over_the_cell_limit_names_row_and_column():
    data = ("氏名,メモ\r\n髙橋," + "あ" * 40_000 + "\r\n").encode("cp932")
    with pytest.raises(CellTooLargeError) as info, read_table(io.BytesIO(data), "x.csv") as table:
        list(table.rows)
    assert info.value.params == {"row": "2", "column": "B", "limit": "32,767"}


@pytest.mark.parametrize("body", [
    b"," * (2 * MIB),  # one line of two million empty cells
    b'"x\ny",' * (MIB // 6),  # many short quoted fields across lines: one record
])
def test_a_csv_record_over_the_row_limit_is_refused_before_it_is_held(body):
    with pytest.raises(RowTooLargeError) as info, read_table(io.BytesIO(b"a,b\r\n" + body), "x.csv") as table:
        list(table.rows)
    assert info.value.params == {"row": "2", "limit": "262,144"}


def test_one_quoted_field_across_many_lines_is_refused_at_csvs_own_bound():
    body = b'a,b\r\n"' + b"quoted\nfield " * (MIB // 6)
    with pytest.raises(FieldTooLargeError) as info, read_table(io.BytesIO(body), "x.csv") as table:
        list(table.rows)
    assert info.value.params == {"row": 2, "limit": "131,072"}
    assert isinstance(info.value, MalformedFileError)


def test_a_giant_line_as_the_first_line_is_refused_while_sniffing():
    with pytest.raises(RowTooLargeError) as info:
        read_table(io.BytesIO(b"a;" * MIB), "x.csv")
    assert info.value.params["row"] == "1"


def test_a_vcard_with_a_giant_line_is_refused():
    card = b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:" + b"x" * (5 * MIB) + b"\r\nEND:VCARD\r\n"
    with pytest.raises(RowTooLargeError) as info, read_table(io.BytesIO(card), "x.vcf") as table:
        list(table.rows)
    assert info.value.params["row"] == "1"


def test_a_vcard_folded_into_a_giant_line_is_refused():
    card = b"BEGIN:VCARD\r\nVERSION:3.0\r\nNOTE:" + b"xxxxxxx\r\n " * 700_000 + b"\r\nEND:VCARD\r\n"
    with pytest.raises(RowTooLargeError), read_table(io.BytesIO(card), "x.vcf") as table:
        list(table.rows)


def test_a_vcard_photo_within_the_card_room_still_reads():
    photo = b"PHOTO;ENCODING=b;TYPE=JPEG:" + b"QUJD" * (300_000 // 4) + b"\r\n"
    card = b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Emma Brown\r\n" + photo + b"END:VCARD\r\n"
    with read_table(io.BytesIO(card), "x.vcf") as table:
        assert [values["full_name"] for _, values in table.rows] == ["Emma Brown"]


# --- The wizard and the CLI ------------------------------------------------------------------------------

def test_the_wizard_refuses_a_bomb_with_422_naming_the_limit(app, signed_in, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_MAX_UNPACKED_BYTES", 4 * MIB)  # the configured limit is the one applied
    client = signed_in()
    path = huge_cell_workbook(tmp_path / "bomb.xlsx", 8)
    assert path.stat().st_size < 64 * 1024
    client.submit("/language", {"locale": "ja", "next": "/"})
    response = upload(client, path.read_bytes(), "bomb.xlsx")
    assert response.status_code == 422
    assert "ワークブックの xl/worksheets/sheet1.xml は展開すると 4,194,304 バイトを超えます" in response.text
    client.submit("/language", {"locale": "en", "next": "/"})
    response = upload(client, path.read_bytes(), "bomb.xlsx")
    assert response.status_code == 422
    assert "The workbook's part xl/worksheets/sheet1.xml unpacks to more than 4,194,304 bytes" in html.unescape(response.text)


def test_a_file_of_bad_rows_lists_the_first_errors_and_counts_every_rejected_row(app, signed_in, monkeypatch):
    # Every error listed, a 6 MB file of 100,000 bad rows made 450,000 entries: 390 MB in the worker.
    monkeypatch.setitem(app.config, "IMPORT_MAX_ERRORS", 50)
    client = signed_in()
    rows = [[f"Smith{number}, John", "すみす", f"not-an-email-{number}", "US", "鳥取市", "ALT", "2015-2016"]
            for number in range(300)]
    assert upload(client, csv_bytes(rows), "bad.csv").status_code == 303
    job = latest_job(app)
    map_and_check(client, app, job.id)
    job = latest_job(app)
    assert len(job.errors) == 50 and job.error_rows == 300 and job.row_count == 300
    page = client.get(f"/imports/{job.id}").get_data(as_text=True)
    assert "300 rows have errors" in page
    assert "The first 50 problems are listed." in page
    assert page.count("Invalid email address.") == 50


# The CLI in a child process, importing each file in turn and reporting how far its resident memory
# rose above where it stood before that import (the kernel's high-water mark, reset before each:
# /proc/self/clear_refs), with the command's exit status and output.
_MEASURING_CHILD = r"""
import gc, json, sys, time
from click.testing import CliRunner
from crm import create_app
from crm.cli import import_alumni_command

def status(key):
    with open("/proc/self/status") as lines:
        return int(next(line.split()[1] for line in lines if line.startswith(key + ":"))) * 1024

app = create_app()
runner = app.test_cli_runner()
for path in sys.argv[1:]:
    gc.collect()
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")
    before = status("VmRSS")
    started = time.perf_counter()
    result = runner.invoke(import_alumni_command, [path, "--prefecture", "31", "--dry-run"])
    print(json.dumps({"path": path, "status": result.exit_code, "output": result.output[-2000:],
                      "growth": status("VmHWM") - before,
                      "seconds": time.perf_counter() - started}), flush=True)
"""

GROWTH_LIMIT = 200 * 10**6


def test_the_cli_stays_within_200_mb_whatever_the_file_holds(app, tmp_path):
    # Within the limits, what a reader holds longest is the shared-string table: 60 MiB of it (the
    # limit is 64), in strings of 128 characters (shorter ones cost 4 bytes more each, and time).
    strings = b"".join(b"<si><t>%0128x</t></si>" % (number * 7919) for number in range(8_000))
    within = write_repeated_xlsx(tmp_path / "shared-strings.xlsx", f'<sst xmlns="{MAIN}">'.encode(), strings,
                                 60 * MIB // len(strings), b"</sst>", part="shared")
    files = {  # messages in Japanese (the default language, and the operator's here)
        "xlsx-1GiB-cell.xlsx": (huge_cell_workbook(tmp_path / "a.xlsx", 1024), "展開すると 268,435,456 バイトを超えます"),
        "xlsx-lying-header.xlsx": (huge_cell_workbook(tmp_path / "b.xlsx", 1024, declared=5000), "ファイルが壊れています"),
        "xlsx-big-cell.xlsx": (write_xlsx(tmp_path / "c.xlsx", [*huge_inline_cell(0)[:3], base64.b64encode(os.urandom(6 * MIB)),
                                                                CELL_END], level=1),
                               "32,767 文字を超える値"),
        "xlsx-shared-strings.xlsx": (within, None),
        "csv-one-line.csv": (_write(tmp_path / "d.csv", b"a,b\r\n" + b"," * (20 * MIB)), "262,144 文字を超えています"),
        "csv-one-field.csv": (_write(tmp_path / "e.csv", b'a,b\r\n"' + b"x" * (20 * MIB) + b'"\r\n'), "262,144 文字を超えています"),
        "vcard-one-line.vcf": (_write(tmp_path / "f.vcf", b"BEGIN:VCARD\r\nFN:" + b"x" * (20 * MIB) + b"\r\n"),
                               "1 行目が 4,194,304 文字を超えています"),
    }
    assert within.stat().st_size < 20 * MIB
    env = {**os.environ, "CRM_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "CRM_SECRET_KEY": "bounds-test",
           "CRM_QUEUE_URL": app.config["QUEUE_URL"], "LANG": "ja_JP.UTF-8"}
    result = subprocess.run([sys.executable, "-c", _MEASURING_CHILD, *(str(path) for path, _ in files.values())],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    reports = {Path(report["path"]): report for report in map(json.loads, result.stdout.splitlines())}
    for name, (path, message) in files.items():
        report = reports[path]
        print(f"{name}: grew by {report['growth'] / 10**6:.0f} MB in {report['seconds']:.1f} s")
        assert report["growth"] <= GROWTH_LIMIT, (name, report["growth"] / 10**6, report["output"])
        if message is not None:
            assert report["status"] == 1, (name, report["output"])
            assert message in report["output"], (name, report["output"])
        assert "Traceback" not in report["output"], (name, report["output"])


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path
