"""Rosters written the way offices write them, each imported and exported again with no value lost or
changed: CP932 CSV from Excel (title row, 和暦, full-width digits, 髙/﨑/①/㈱), workbooks written by
LibreOffice (headless) and openpyxl (merged header cells, a title, several sheets), LinkedIn's
connections and a vCard file.

LibreOffice is slow to start: its files are written once per test session, in a temporary folder.
"""
from __future__ import annotations

import csv
import datetime
import io
import os
import shutil
import subprocess
import zipfile

import openpyxl
import pytest
from sqlalchemy import delete

from crm.alumni.models import Alumnus, Placement
from crm.extensions import db
from crm.imports.targets import TARGETS, text

# Each person as the CRM keeps them, and as the export writes them.
PEOPLE = [
    {"family_name": "髙橋", "given_name": "Emma", "name_katakana": "タカハシ・エマ", "email": "emma@example.jp",
     "organisation": "㈱﨑山 ①", "position": "ALT", "start_year": "2015", "end_year": "2018", "employer": "鳥取銀行",
     "consent_on": "2023-04-01"},
    {"family_name": "Smith", "given_name": "John", "name_katakana": "スミス・ジョン", "email": "john@example.com",
     "organisation": "鳥取市教育委員会", "position": "CIR", "start_year": "2019", "end_year": "2021", "employer": "Acme, Inc.",
     "consent_on": "2019-05-01"},
    {"family_name": "﨑山", "given_name": "Kate", "name_katakana": "サキヤマ・ケイト", "email": "kate@example.com",
     "organisation": "米子市", "position": "ALT", "start_year": "2012", "end_year": "2014", "employer": "",
     "consent_on": "2024-01-31"},
]
# The same years and dates as offices write them (和暦, full-width digits).
ERA_PERIODS = ["平成27年度～平成30年度", "H31～R3", "２０１２年～２０１４年"]
ERA_DATES = ["令和5年4月1日", "R1.5.1", "令和６年１月３１日"]
OFFICE_HEADERS = ["氏名（姓）", "氏名（名）", "フリガナ（姓）", "フリガナ（名）", "E-mail Address", "任用団体名", "職種", "任用期間",
                  "現在の勤務先", "同意日", "生年月日"]


def office_row(person: dict, index: int) -> list:
    family_kana, given_kana = person["name_katakana"].split("・")
    return [person["family_name"], person["given_name"], family_kana, given_kana, person["email"], person["organisation"],
            person["position"], ERA_PERIODS[index], person["employer"], ERA_DATES[index], "1990/01/01"]


def cp932_csv() -> bytes:
    """Excel's 「CSV（コンマ区切り）」: CP932, CRLF, a title row and a blank row above the table."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerows([["JET経験者名簿"], [], OFFICE_HEADERS])
    writer.writerows(office_row(person, index) for index, person in enumerate(PEOPLE))
    return buffer.getvalue().encode("cp932")


def merged_workbook() -> bytes:
    """openpyxl's workbook as an office lays it out: a notes sheet first, then a title, 氏名 and
    フリガナ merged over 姓 | 名, the other headers merged down over both rows, dates as date cells."""
    workbook = openpyxl.Workbook()
    workbook.active.title = "記入例"
    workbook.active.append(["記入例：この表に一人一行で記入してください"])
    sheet = workbook.create_sheet("名簿")
    sheet.append(["JET経験者名簿", None, None, None, None, None, None, "令和6年4月1日現在"])
    sheet.append(["氏名", None, "フリガナ", None, "メールアドレス", "任用団体", "職種", "着任年度", "離任年度", "勤務先", "同意日"])
    sheet.append(["姓", "名", "姓", "名"])
    for cells in ("A2:B2", "C2:D2", *(f"{column}2:{column}3" for column in "EFGHIJK")):
        sheet.merge_cells(cells)
    for person in PEOPLE:
        family_kana, given_kana = person["name_katakana"].split("・")
        sheet.append([person["family_name"], person["given_name"], family_kana, given_kana, person["email"], person["organisation"],
                      person["position"], int(person["start_year"]), f"{int(person['end_year'])}年度", person["employer"] or None,
                      datetime.date.fromisoformat(person["consent_on"])])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def linkedin_csv() -> bytes:
    lines = ["Notes:", '"When exporting your connection data, you may notice that some of the email addresses are missing."', "",
             "First Name,Last Name,URL,Email Address,Company,Position,Connected On"]
    lines += [f'{p["given_name"]},{p["family_name"]},https://www.linkedin.com/in/{p["email"].split("@")[0]},{p["email"]},'
              f'"{p["employer"]}",Teacher,14 Oct 2024' for p in PEOPLE]
    return ("\r\n".join(lines) + "\r\n").encode()


def vcards() -> bytes:
    cards = []
    for p in PEOPLE:
        family_kana, given_kana = p["name_katakana"].split("・")
        cards.append("\r\n".join([
            "BEGIN:VCARD", "VERSION:3.0", f"N:{p['family_name']};{p['given_name']};;;", f"FN:{p['given_name']} {p['family_name']}",
            f"X-PHONETIC-LAST-NAME:{family_kana}", f"X-PHONETIC-FIRST-NAME:{given_kana}", f"EMAIL;TYPE=INTERNET:{p['email']}",
            f"ORG:{p['employer'].replace(',', chr(92) + ',')}", f"X-JET-ORGANISATION:{p['organisation']}",
            f"X-JET-POSITION:{p['position']}", f"X-JET-START-YEAR:{p['start_year']}", f"X-JET-END-YEAR:{p['end_year']}",
            "END:VCARD"]))
    return ("\r\n".join(cards) + "\r\n").encode()


def soffice_convert(source, outdir, infilter: str | None = None, to: str = "xlsx"):
    """`soffice --headless --convert-to xlsx` (or `to`), with its own profile (a second LibreOffice never waits on the first)."""
    command = [shutil.which("soffice"), "--headless", f"-env:UserInstallation=file://{outdir}/profile", "--convert-to", to,
               "--outdir", str(outdir), str(source)]
    if infilter:
        command[3:3] = [f"--infilter={infilter}"]
    subprocess.run(command, check=True, capture_output=True, timeout=180)
    return outdir / (source.stem + "." + to.split(":")[0])


@pytest.fixture(scope="session")
def office_files(tmp_path_factory):
    """name → (path, extra CLI arguments): every roster, written once per session."""
    folder = tmp_path_factory.mktemp("office-files")
    files = {}
    for name, data in (("roster-cp932.csv", cp932_csv()), ("roster-merged.xlsx", merged_workbook()),
                       ("Connections.csv", linkedin_csv()), ("contacts.vcf", vcards())):
        (folder / name).write_bytes(data)
        files[name] = folder / name
    if shutil.which("soffice"):
        # LibreOffice reads the UTF-8 CSV (44: comma, 34: quote, 76: UTF-8, from line 1, standard columns,
        # 1041: Japanese, special numbers detected) and types its cells itself, dates as dates;
        # and saves openpyxl's merged workbook again in its own way.
        utf8 = folder / "roster-libreoffice.csv"
        utf8.write_text(cp932_csv().decode("cp932"), encoding="utf-8")
        (folder / "lo").mkdir()
        files["roster-libreoffice.xlsx"] = soffice_convert(utf8, folder / "lo", "CSV:44,34,76,1,,1041,false,true")
        (folder / "lo2").mkdir()
        files["roster-merged-libreoffice.xlsx"] = soffice_convert(files["roster-merged.xlsx"], folder / "lo2")
    return files


IMPORT_ARGUMENTS = {
    "roster-cp932.csv": [], "roster-libreoffice.xlsx": [],
    "roster-merged.xlsx": ["--sheet", "名簿"], "roster-merged-libreoffice.xlsx": ["--sheet", "名簿"],
    "Connections.csv": ["--position", "alt", "--start-year", "2015", "--ignore", "Connected On"],
    "contacts.vcf": [],
}
# What each kind of file holds (LinkedIn: no katakana, placement or consent; Position is a job title).
KEPT = {
    "Connections.csv": ("family_name", "given_name", "email", "employer"),
    "contacts.vcf": ("family_name", "given_name", "name_katakana", "email", "employer", "organisation", "position",
                     "start_year", "end_year"),
}
OFFICE_KEPT = ("family_name", "given_name", "name_katakana", "email", "organisation", "position", "start_year", "end_year",
               "employer", "consent_on")


def exported(app, tmp_path, fmt: str) -> list[dict]:
    """The prefecture's export, read back: column key → text."""
    out = tmp_path / f"export.{fmt}"
    result = app.test_cli_runner().invoke(args=["export", "alumni", "--prefecture", "31", "--format", fmt, "-o", str(out)])
    assert result.exit_code == 0, result.output
    by_header = {}
    for column in TARGETS["alumni"].columns:
        by_header[column.en] = by_header[column.ja] = column.key
    if fmt == "xlsx":
        rows = list(openpyxl.load_workbook(out).active.iter_rows(values_only=True))
        header, body = rows[0], rows[1:]
        return [{by_header[h]: text(v) for h, v in zip(header, row) if h in by_header} for row in body]
    return [{by_header[h]: v for h, v in row.items() if h in by_header}
            for row in csv.DictReader(io.StringIO(out.read_bytes().decode("utf-8-sig")))]


@pytest.fixture
def no_alumni(app):
    yield
    with app.app_context():
        db.session.execute(delete(Placement))
        db.session.execute(delete(Alumnus))
        db.session.commit()


def without_libreoffice():
    """CI requires LibreOffice (CRM_REQUIRE_LIBREOFFICE=1, set by .ci/run): a green run always includes
    these files; elsewhere the cases say why they did not run."""
    if os.environ.get("CRM_REQUIRE_LIBREOFFICE"):
        pytest.fail("LibreOffice (soffice) is required (CRM_REQUIRE_LIBREOFFICE) but not installed: scripts/ensure-libreoffice")
    pytest.skip("LibreOffice (soffice) is not installed: scripts/ensure-libreoffice")


@pytest.mark.parametrize("name", list(IMPORT_ARGUMENTS))
@pytest.mark.parametrize("export_format", ["csv", "xlsx"])
def test_an_office_roster_is_imported_and_exported_with_no_value_lost_or_changed(app, tmp_path, office_files, no_alumni,
                                                                                 name, export_format):
    if name not in office_files:
        without_libreoffice()
    result = app.test_cli_runner().invoke(args=["import", "alumni", str(office_files[name]), "--prefecture", "31",
                                                *IMPORT_ARGUMENTS[name]])
    assert result.exit_code == 0, result.output
    assert "3 created" in result.output
    if name.startswith("roster-cp932"):
        assert "not kept on purpose (not needed for the purpose of use): 生年月日" in result.output
    kept = KEPT.get(name, OFFICE_KEPT)
    rows = {row["email"]: row for row in exported(app, tmp_path, export_format)}
    for person in PEOPLE:
        assert {key: rows[person["email"]][key] for key in kept} == {key: person[key] for key in kept}


def test_the_libreoffice_workbooks_are_libreoffices_own(office_files):
    """Written by LibreOffice (its cells typed by its CSV filter, the merged cells kept), not copies of ours."""
    if "roster-libreoffice.xlsx" not in office_files:
        without_libreoffice()
    for name in ("roster-libreoffice.xlsx", "roster-merged-libreoffice.xlsx"):
        with zipfile.ZipFile(office_files[name]) as archive:
            assert b"<Application>LibreOffice" in archive.read("docProps/app.xml")
    typed = openpyxl.load_workbook(office_files["roster-libreoffice.xlsx"]).active
    assert isinstance(typed["K4"].value, datetime.datetime)  # 1990/01/01, read by LibreOffice as a date
    merged = openpyxl.load_workbook(office_files["roster-merged-libreoffice.xlsx"])["名簿"]
    assert {"A2:B2", "C2:D2", "E2:E3"} <= {str(cells) for cells in merged.merged_cells.ranges}


def test_the_xlsx_export_opens_in_libreoffice_and_imports_again_with_every_value_of_the_csv_export(app, tmp_path, office_files,
                                                                                                    no_alumni):
    """The XLSX export (our own streaming writer) as LibreOffice reads it holds what the CSV export
    holds, cell for cell; imported again into an empty registry, it exports the same CSV."""
    if not shutil.which("soffice"):
        without_libreoffice()
    cli = app.test_cli_runner()
    result = cli.invoke(args=["import", "alumni", str(office_files["roster-cp932.csv"]), "--prefecture", "31"])
    assert result.exit_code == 0, result.output
    (tmp_path / "first").mkdir()
    first = exported(app, tmp_path / "first", "csv")
    workbook = tmp_path / "export.xlsx"
    result = cli.invoke(args=["export", "alumni", "--prefecture", "31", "--format", "xlsx", "-o", str(workbook)])
    assert result.exit_code == 0, result.output
    (tmp_path / "lo").mkdir()
    # 44: comma, 34: quote, 76: UTF-8; cells as LibreOffice shows them (dates in the cells' own format).
    as_read = soffice_convert(workbook, tmp_path / "lo", to="csv:Text - txt - csv (StarCalc):44,34,76")
    by_header = {column.ja: column.key for column in TARGETS["alumni"].columns} | {column.en: column.key for column in TARGETS["alumni"].columns}
    libreoffice = [{by_header[h]: v for h, v in row.items() if h in by_header}
                   for row in csv.DictReader(io.StringIO(as_read.read_text(encoding="utf-8")))]
    assert libreoffice == first
    assert {row["family_name"] for row in first} == {person["family_name"] for person in PEOPLE}
    with app.app_context():
        db.session.execute(delete(Placement))
        db.session.execute(delete(Alumnus))
        db.session.commit()
    result = cli.invoke(args=["import", "alumni", str(workbook), "--prefecture", "31", "--ignore-unmapped"])
    assert result.exit_code == 0, result.output
    assert "3 created" in result.output
    (tmp_path / "again").mkdir()
    assert exported(app, tmp_path / "again", "csv") == first
