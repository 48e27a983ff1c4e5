"""Headers as offices write them: variants matched with a score, nothing left out silently, saved mappings."""
from __future__ import annotations

import pytest

from crm.imports import headers as header_matching
from crm.imports.targets import TARGETS
from tests.conftest import TOTTORI
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
])
def test_office_header_variants_are_matched(app, header, key):
    with app.app_context():
        assert TARGETS["alumni"].matches([header])[header].key == key


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
