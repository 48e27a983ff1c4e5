"""Headers as offices write them: variants matched with a score, nothing left out silently, saved mappings."""
from __future__ import annotations

import datetime
import io

import openpyxl
import pytest
from sqlalchemy import select

from crm.alumni.models import Alumnus
from crm.extensions import db
from crm.imports import eras, headers as header_matching
from crm.imports.models import JobState
from crm.formats.readers import read_table
from crm.imports.targets import TARGETS, date_text
from tests.conftest import TOTTORI, fragment
from tests.test_imports import alumni, csv_bytes, latest_job, map_and_check, commit, upload

OFFICE_HEADERS = ["氏名（姓）", "氏名(名)", "フリガナ（姓）", "フリガナ（名）", "E-mail Address", "国籍", "現在の勤務先",
                  "任用\n団体名", "職 種", "任用期間", "生年月日", "備考"]
OFFICE_ROWS = [["Smith", "John", "スミス", "ジョン", "john@example.com", "US", "鳥取銀行", "鳥取市教育委員会", "ALT", "2015-2018",
                "1990/01/02", "メモ"]]


@pytest.mark.parametrize("header, key", [
    ("氏名（姓）", "family_name"), ("氏名(名)", "given_name"), ("姓（ローマ字）", "family_name"), ("名前（英字）", "full_name"),
    ("フリガナ（姓）", "name_katakana"), ("Last name (Romaji)", "family_name"), ("E-mail Address", "email"),
    ("EMAIL", "email"), ("現在の勤務先", "employer"), ("現勤務先", "employer"), ("勤務先名", "employer"), ("国籍欄", "citizenship"),
    ("メール\nアドレス", "email"), ("任用 期間", "period"), ("携帯電話番号", "phone"), ("氏名（カナ）", "name_katakana"),
    ("セイ", "name_katakana"), ("姓カナ", "name_katakana"), ("名（カナ）", "name_katakana"), ("フリガナ（メイ）", "name_katakana"),
    ("名英字", "given_name"), ("English", None),
])
def test_office_header_variants_are_matched(app, header, key):
    with app.app_context():
        match = TARGETS["alumni"].matches([header])[header]
        assert (match and match.key) == key


def test_a_plain_name_is_surer_than_a_qualified_one_and_a_name_inside_a_header_is_a_guess(app):
    with app.app_context():
        matches = TARGETS["alumni"].matches(["メールアドレス", "氏名（姓）", "現在の勤務先", "携帯電話番号"])
    assert [matches[h].score for h in matches] == [header_matching.EXACT, header_matching.QUALIFIED,
                                                   header_matching.AFFIXED, header_matching.CONTAINED]


def test_columns_not_kept_on_purpose_are_recognised_and_never_mapped(app):
    with app.app_context():
        target = TARGETS["alumni"]
        matches = target.matches(["生年月日", "性別", "マイナンバー", "Gender", "Date of birth"])
        assert all(match is not None and match.key is None for match in matches.values())
        assert target.suggest(list(matches)) == {}


def test_the_surest_header_wins_a_column_and_katakana_parts_are_joined(app):
    with app.app_context():
        target = TARGETS["alumni"]
        assert target.suggest(["氏名（姓）", "Family name", "フリガナ（姓）", "フリガナ（名）"]) == {
            "Family name": "family_name", "フリガナ（姓）": "name_katakana", "フリガナ（名）": "name_katakana"}
        assert target.suggest(["姓", "名", "セイ", "メイ"]) == {"姓": "family_name", "名": "given_name", "セイ": "name_katakana",
                                                             "メイ": "name_katakana"}
        # A whole katakana column is surer than parts of one.
        assert target.suggest(["フリガナ（姓）", "フリガナ"]) == {"フリガナ": "name_katakana"}


def test_the_wizard_says_how_sure_each_match_is_and_lists_what_is_not_imported(app, signed_in):
    client = signed_in()
    assert upload(client, csv_bytes(OFFICE_ROWS, OFFICE_HEADERS)).status_code == 303
    job = latest_job(app)
    page = client.get(f"/imports/{job.id}").get_data(as_text=True)
    assert "Sure" in page and "Likely" in page
    assert 'id="unmapped-columns"' in page and "備考" in page.split('id="unmapped-columns"')[1].split("</p>")[0]
    assert "生年月日" in page.split('id="not-kept-columns"')[1].split("</p>")[0]
    map_and_check(client, app, job.id)
    commit(client, job.id)
    assert alumni(app, TOTTORI) == [("Smith", "John", "スミス・ジョン", "john@example.com")]


def save_office_mapping(client, app):
    """Upload the office roster, import its 備考 as interests and save the mapping by name."""
    upload(client, csv_bytes(OFFICE_ROWS, OFFICE_HEADERS))
    job = latest_job(app)
    data = {f"column-{index}": ("interests" if header == "備考" else (job.mapping or {}).get(header, ""))
            for index, header in enumerate(job.headers)}
    client.submit(f"/imports/{job.id}/mapping", {**data, "mapping_name": "県教委名簿"}, htmx=True)


def test_the_wizard_proposes_the_saved_mapping_for_a_file_with_the_same_headers(app, signed_in):
    client = signed_in()
    save_office_mapping(client, app)
    upload(client, csv_bytes(OFFICE_ROWS, [header.upper() for header in OFFICE_HEADERS]), name="next-year.csv")
    again = latest_job(app)
    assert again.mapping["備考"] == "interests"
    assert "県教委名簿" in client.get(f"/imports/{again.id}").get_data(as_text=True)


def test_the_cli_refuses_unmapped_columns_until_mapped_or_ignored(app, tmp_path):
    path = tmp_path / "roster.csv"
    path.write_bytes(csv_bytes(OFFICE_ROWS, OFFICE_HEADERS))
    runner = app.test_cli_runner()
    refused = runner.invoke(args=["import", "alumni", str(path), "--prefecture", "31"])
    assert refused.exit_code == 1 and "unmapped column: 備考" in refused.output
    assert "not kept on purpose (not needed for the purpose of use): 生年月日" in refused.output
    assert alumni(app) == []
    assert runner.invoke(args=["import", "alumni", str(path), "--prefecture", "31", "--ignore", "備考", "--dry-run"]).exit_code == 0
    assert runner.invoke(args=["import", "alumni", str(path), "--prefecture", "31", "--ignore-unmapped", "--dry-run"]).exit_code == 0
    result = runner.invoke(args=["import", "alumni", str(path), "--prefecture", "31", "--map", "備考=interests",
                                 "--map", "現在の勤務先=job_title"])
    assert result.exit_code == 0, result.output
    assert "備考 → interests" in result.output and "現在の勤務先 → job_title" in result.output
    bad = runner.invoke(args=["import", "alumni", str(path), "--prefecture", "31", "--map", "備考=nonsense"])
    assert bad.exit_code == 1 and "unknown key" in bad.output


def test_the_cli_uses_a_mapping_saved_in_the_wizard_by_name(app, signed_in, tmp_path):
    client = signed_in()
    save_office_mapping(client, app)
    path = tmp_path / "roster.csv"
    path.write_bytes(csv_bytes(OFFICE_ROWS, OFFICE_HEADERS))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["import", "alumni", str(path), "--prefecture", "31", "--mapping", "県教委名簿", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "備考 → interests" in result.output
    assert runner.invoke(args=["import", "alumni", str(path), "--prefecture", "31", "--mapping", "none"]).exit_code == 1


# --- Layouts -----------------------------------------------------------------------------------------

def office_workbook() -> bytes:
    """A roster as an office lays it out: a title and a date above the table, 氏名 and フリガナ merged
    over 姓 | 名, 和暦 dates, a second sheet."""
    workbook = openpyxl.Workbook()
    notes = workbook.active
    notes.title = "記入例"
    notes.append(["この表の書き方"])
    sheet = workbook.create_sheet("名簿")
    sheet.append(["JET経験者名簿"])
    sheet.append(["", "", "", "", "", "", "", "令和6年4月1日現在"])
    sheet.append([])
    sheet.append(["氏名", None, "フリガナ", None, "メールアドレス", "職種", "任用期間", "同意日"])
    sheet.append(["姓", "名", "姓", "名", None, None, None, None])
    for column in ("A4:B4", "C4:D4", "E4:E5", "F4:F5", "G4:G5", "H4:H5"):
        sheet.merge_cells(column)
    sheet.append(["Smith", "John", "スミス", "ジョン", "john@example.com", "ALT", "平成27年度～令和元年度", "令和5年4月1日"])
    sheet.append(["Brown", "Kate", "ブラウン", "ケイト", "kate@example.com", "CIR", "H30-R2", datetime.datetime(2023, 4, 2)])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_a_title_row_and_a_two_row_header_are_read_as_one_header():
    table = read_table(io.BytesIO(office_workbook()), "roster.xlsx", sheet="名簿")
    assert table.headers == ["氏名（姓）", "氏名（名）", "フリガナ（姓）", "フリガナ（名）", "メールアドレス", "職種", "任用期間", "同意日"]
    rows = list(table.rows)
    assert rows[0][0] == 6 and rows[0][1]["氏名（姓）"] == "Smith"


def test_a_csv_with_a_title_and_blank_rows_above_the_header():
    data = "JET経験者名簿,,\r\n,,\r\n氏名,メールアドレス,職種\r\nSmith John,john@example.com,ALT\r\n".encode("cp932")
    table = read_table(io.BytesIO(data), "roster.csv")
    assert table.headers == ["氏名", "メールアドレス", "職種"] and table.header_row == 3
    assert [number for number, _ in table.rows] == [4]


def test_a_sheet_is_chosen_in_the_cli_and_era_dates_and_years_are_imported(app, tmp_path):
    path = tmp_path / "roster.xlsx"
    path.write_bytes(office_workbook())
    runner = app.test_cli_runner()
    wrong = runner.invoke(args=["import", "alumni", str(path), "--prefecture", "31"])
    assert wrong.exit_code == 1
    result = runner.invoke(args=["import", "alumni", str(path), "--prefecture", "31", "--sheet", "名簿"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        people = {a.family_name: a for a in db.session.scalars(select(Alumnus))}
        assert people["Smith"].name_katakana == "スミス・ジョン" and people["Smith"].consent_on == datetime.date(2023, 4, 1)
        assert [(p.start_year, p.end_year) for p in people["Smith"].placements] == [(2015, 2019)]
        assert [(p.start_year, p.end_year) for p in people["Brown"].placements] == [(2018, 2020)]


@pytest.mark.parametrize("written, read", [
    ("令和5年4月1日", "2023-04-01"), ("R5.4.1", "2023-04-01"), ("H31/4/30", "2019-04-30"), ("令和元年5月1日", "2019-05-01"),
    ("２０２４年４月１日", "2024-04-01"), (45017, "2023-04-01"), ("45017", "2023-04-01"), ("㋿5.4.1", "2023-04-01"),
])
def test_era_dates_full_width_digits_and_excel_serials_are_dates(written, read):
    assert date_text(written) == read


@pytest.mark.parametrize("written, read", [("H31", "2019"), ("平成30年度", "2018"), ("令和元年", "2019"), ("２０１８年", "2018"),
                                           ("R5", "2023"), ("2015", "2015")])
def test_era_years(written, read):
    assert eras.year_text(written) == read


# --- Corrections in the preview ------------------------------------------------------------------------

def test_a_bad_cell_is_corrected_in_the_preview_and_the_corrected_value_is_imported(app, signed_in):
    client = signed_in()
    rows = [["Smith, John", "", "john@example", "US", "", "ALT", "2015-2018"],
            ["Brown, Kate", "", "kate@example.com", "AU", "", "ALT", "2016-2018"]]
    assert upload(client, csv_bytes(rows)).status_code == 303
    job = latest_job(app)
    map_and_check(client, app, job.id)
    job = latest_job(app)
    assert [(error["row"], error["column"], error["value"]) for error in job.errors] == [(2, "メールアドレス", "john@example")]
    page = client.get(f"/imports/{job.id}").get_data(as_text=True)
    assert f'/imports/{job.id}/rows/2' in page
    still_bad = client.submit(f"/imports/{job.id}/rows/2", {"header": "メールアドレス", "value": "john@"}, htmx=True)
    assert still_bad.status_code == 200 and latest_job(app).errors[0]["value"] == "john@"
    fixed = client.submit(f"/imports/{job.id}/rows/2", {"header": "メールアドレス", "value": "john@example.com"}, htmx=True)
    assert fixed.status_code == 200
    job = latest_job(app)
    assert job.state == JobState.VALIDATED and not job.errors and job.row_count == 2
    commit(client, job.id)
    job = latest_job(app)
    assert job.state == JobState.DONE and job.options["row_edits"] == {"2": {"メールアドレス": "john@example.com"}}
    assert ("Smith", "John", None, "john@example.com") in alumni(app, TOTTORI)
    assert 'id="corrected-rows"' in client.get(f"/imports/{job.id}").get_data(as_text=True)


def test_a_correction_is_refused_outside_the_preview_and_for_a_column_the_file_does_not_have(app, signed_in):
    client = signed_in()
    upload(client, csv_bytes([["Smith, John", "", "john@example", "US", "", "ALT", "2015-2018"]]))
    job = latest_job(app)
    assert client.submit(f"/imports/{job.id}/rows/2", {"header": "メールアドレス", "value": "x@example.com"}, htmx=True).status_code == 409
    map_and_check(client, app, job.id)
    assert client.submit(f"/imports/{job.id}/rows/2", {"header": "nope", "value": "x"}, htmx=True).status_code == 409


def test_a_correction_answers_htmx_with_the_wizard_fragment_and_a_form_post_with_the_page(app, signed_in):
    client = signed_in()
    upload(client, csv_bytes([["Smith, John", "", "john@example", "US", "", "ALT", "2015-2018"],
                              ["Brown, Kate", "", "kate@", "AU", "", "ALT", "2016-2018"]]))
    job = latest_job(app)
    map_and_check(client, app, job.id)
    htmx = client.submit(f"/imports/{job.id}/rows/2", {"header": "メールアドレス", "value": "john@"}, htmx=True)
    assert fragment(htmx.get_data(as_text=True)) and 'id="import-job"' in htmx.get_data(as_text=True)
    page = client.submit(f"/imports/{job.id}/rows/3", {"header": "メールアドレス", "value": "kate@"})
    assert page.status_code == 200 and not fragment(page.get_data(as_text=True))


def test_a_mapping_changed_by_hand_shows_no_score(app, signed_in):
    client = signed_in()
    upload(client, csv_bytes(OFFICE_ROWS, OFFICE_HEADERS))
    job = latest_job(app)
    map_and_check(client, app, job.id, {"現在の勤務先": "job_title"})
    page = client.get(f"/imports/{job.id}").get_data(as_text=True)
    employer_row = page.split("現在の勤務先</label>")[1].split("</tr>")[0]
    assert "Likely" not in employer_row and "%" not in employer_row
    assert "Sure" in page.split("氏名（姓）</label>")[1].split("</tr>")[0]
