"""The import wizard in Chromium: a CP932 file from Excel on Japanese Windows, a column mapping to
correct, the preview's row errors, the commit and its report."""
from __future__ import annotations

import csv
import io

from playwright.sync_api import expect

from crm.auth.models import Role
from tests.browser.conftest import screenshot, sign_in
from tests.conftest import PASSWORD, TOTTORI

# The office's file: "区分" (category, here new or continuing contract) comes before "職種", and both
# are headers the suggestion knows for the position, so the first one takes it.
HEADERS = ["氏名", "フリガナ", "メールアドレス", "国籍", "区分", "任用団体", "職種", "任用期間"]
ROWS = [
    ["髙橋, Emma", "タカハシ・エマ", "emma.takahashi@example.com", "英国", "継続", "米子市教育委員会", "ALT", "2019～2022"],
    ["山﨑, Daniel", "ヤマザキ・ダニエル", "daniel.yamazaki@example.com", "アメリカ", "新規", "鳥取県交流推進課", "CIR", "2021-2023"],
    ["Brown, Olivia", "ｵﾘﾋﾞｱ・ﾌﾞﾗｳﾝ", "olivia.brown@example.com", "カナダ", "新規", "㈱境港観光 ①", "ALT", "2016-2018"],
]
# What Excel on Japanese Windows writes for these two: the IBM-extension codes, where Python's cp932
# codec would write the NEC-selected ones (EE E0, ED 95). Both decode to the same characters.
WINDOWS_BYTES = {"髙": b"\xfb\xfc", "﨑": b"\xfa\xb1"}


def windows_cp932(text: str) -> bytes:
    return b"".join(WINDOWS_BYTES.get(character) or character.encode("cp932") for character in text)


def cp932_csv() -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows([HEADERS, *ROWS])
    return windows_cp932(buffer.getvalue())


def test_cp932_upload_with_a_corrected_mapping_shows_row_errors_then_imports(page, make_user, tmp_path):
    data = cp932_csv()
    assert b"\xfb\xfc" in data and b"\xfa\xb1" in data
    path = tmp_path / "卒業生名簿.csv"
    path.write_bytes(data)
    _, email = make_user(Role.PREFECTURE_STAFF, prefecture=TOTTORI)
    sign_in(page, email, PASSWORD)

    page.goto("/imports")
    page.get_by_label("File").set_input_files(str(path))
    page.get_by_role("button", name="Upload").click()
    expect(page.locator("#detected-encoding")).to_have_text("cp932")
    page.evaluate("window.notReloaded = true")

    # The suggestion took "区分" for the position and left "職種" unmapped.
    mapping = page.locator("#column-mapping")
    expect(mapping.get_by_label("区分")).to_have_value("position")
    expect(mapping.get_by_label("職種")).to_have_value("")
    expect(mapping.get_by_label("氏名")).to_have_value("full_name")
    expect(mapping.get_by_label("任用期間")).to_have_value("period")
    mapping.get_by_role("button", name="Check the rows").press("Enter")

    # Every row is refused with its number and the reason; nothing can be imported. The keyboard
    # focus is on the errors (the pressed button went with the swap).
    errors = page.locator("#row-errors")
    expect(errors).to_contain_text("3 rows have errors")
    expect(errors).to_be_focused()
    for number in (2, 3, 4):
        expect(errors.locator("tr", has=page.locator(f"td:text-is('{number}')"))).to_contain_text("区分")
    expect(errors).to_contain_text("Not a valid choice")
    expect(errors).to_contain_text("change it under “Columns” and check the rows again")
    expect(page.locator("#import-preview")).to_contain_text("髙橋, Emma")
    expect(page.get_by_role("button", name="Import 3 rows")).to_have_count(0)
    screenshot(page, "import-preview-errors")

    # The user puts the position where it belongs and checks again.
    mapping.get_by_label("区分").select_option("")
    mapping.get_by_label("職種").select_option("position")
    mapping.get_by_role("button", name="Check the rows").press("Enter")
    expect(page.locator("#import-preview")).to_contain_text("3 rows in the file.")
    expect(page.locator("#row-errors")).to_have_count(0)
    expect(page.locator("#import-preview tbody tr")).to_have_count(3)
    expect(page.get_by_role("button", name="Import 3 rows")).to_be_focused()
    page.keyboard.press("Enter")

    report = page.locator("#import-report")
    expect(report).to_contain_text("Import complete: 3 created, 0 updated, 0 unchanged.")
    expect(report.get_by_role("heading", name="Report")).to_be_focused()
    assert page.evaluate("window.notReloaded") is True
    screenshot(page, "import-report")

    report.get_by_role("link", name="Alumni").click()
    alumni = page.locator("#alumni-list")
    expect(alumni).to_contain_text("髙橋")
    expect(alumni).to_contain_text("山﨑")
    expect(alumni).not_to_contain_text("郄")
    screenshot(page, "import-alumni-list")
    # Chromium logs every 4xx answer; none is expected on this path.
    assert page.console_errors == []
