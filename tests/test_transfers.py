"""Import and export of association members, programs and alumni activities through the import
wizard and the export machinery (crm.imports.records, targets_associations, targets_ambassadors)."""
import io
from datetime import date, datetime, timezone

import openpyxl
import pytest
from sqlalchemy import select

from crm.ambassadors.models import Activity, ActivityStatus
from crm.associations.models import FundingLine, FundingSource, Member, Program, ProgramKind
from crm.audit import AuditEntry
from crm.auth.models import Role
from crm.extensions import db
from crm.imports import operations
from crm.imports.models import ImportJob, JobState

TOTTORI, HYOGO = 31, 28
TRICKY = "髙橋 﨑子 ①㈱～ｶﾀｶﾅ"  # every one of these is in CP932 (IBM extensions included)


@pytest.fixture
def two_associations(make_association):
    return make_association(TOTTORI, "鳥取県国際交流財団"), make_association(HYOGO, "兵庫県国際交流協会")


@pytest.fixture
def staff_of(signed_in):
    return lambda association_id: signed_in(Role.ASSOCIATION_STAFF, association=association_id)


def _latest_job(app) -> ImportJob:
    with app.app_context():
        return db.session.scalar(select(ImportJob).order_by(ImportJob.id.desc()))


def _run_wizard(client, app, upload_url: str, data: bytes, name: str, target: str | None = None) -> ImportJob:
    form = {"csrf_token": client.csrf_token(), "file": (io.BytesIO(data), name)}
    if target:
        form["target"] = target
    response = client.post(upload_url, data=form, content_type="multipart/form-data")
    assert response.status_code == 303, response.text
    job = _latest_job(app)
    mapping = {f"column-{index}": (job.mapping or {}).get(header, "") for index, header in enumerate(job.headers)}
    client.submit(f"/imports/{job.id}/mapping", mapping, htmx=True)
    job = _latest_job(app)
    if operations.can_commit(job):
        client.submit(f"/imports/{job.id}/commit", {}, htmx=True)
    return _latest_job(app)


def _members(app, association):
    with app.app_context():
        rows = db.session.scalars(select(Member).where(Member.association_id == association).order_by(Member.name))
        return [(m.name, m.name_kana, m.kind.value, m.member_type.value, m.status.value, m.joined_on, m.email, m.phone,
                 m.postal_code, m.address, m.consent_to_contact) for m in rows]


def _exports(app):
    with app.app_context():
        return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == "export").order_by(AuditEntry.id)))


MEMBER_CSV = (
    "氏名・名称,フリガナ,個人・団体の別,会員種別,入会日,メールアドレス,電話番号,住所,連絡への同意\r\n"
    f"{TRICKY},タカハシ サキコ,個人,正会員,2024/4/1,taka@example.jp,0857-00-0000,鳥取市東町1-220,はい\r\n"
    "株式会社さかな,カブシキガイシャサカナ,企業,賛助会員,2023年5月1日,,0857-11-1111,境港市,いいえ\r\n"
    "=cmd|' /C calc'!A0,,個人,学生会員,,,,,no\r\n"
)


# --- Members ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["csv", "csv-cp932", "xlsx"])
def test_members_round_trip_byte_exact_in_every_format(app, two_associations, staff_of, fmt):
    mine, _theirs = two_associations
    client = staff_of(mine)
    job = _run_wizard(client, app, f"/imports/associations/{mine}/members", MEMBER_CSV.encode("cp932"), "会員.csv")
    assert job.state == JobState.DONE and job.created_count == 3, job.errors
    before = _members(app, mine)
    assert TRICKY in [row[0] for row in before] and "=cmd|' /C calc'!A0" in [row[0] for row in before]
    with client.get(f"/imports/associations/{mine}/members/export?format={fmt}&confirmed=1") as response:
        assert response.status_code == 200
        data = response.get_data()
    if fmt == "csv-cp932":
        # The writer uses the bytes Windows writes (IBM extensions for 髙, 﨑); decoded, the text is exact.
        assert TRICKY in data.decode("cp932") and "'=cmd" in data.decode("cp932")
    elif fmt == "csv":
        assert data.startswith(b"\xef\xbb\xbf") and "'=cmd" in data.decode("utf-8-sig")
    else:
        names = [row[0] for row in openpyxl.load_workbook(io.BytesIO(data)).active.iter_rows(min_row=2, values_only=True)]
        assert "'=cmd|' /C calc'!A0" in names
    assert _exports(app)[-1].details["rows"] == 3 and _exports(app)[-1].details["format"] == fmt
    # Export then import: the same records, nothing new.
    job = _run_wizard(client, app, f"/imports/associations/{mine}/members", data, f"members.{'xlsx' if fmt == 'xlsx' else 'csv'}")
    assert job.state == JobState.DONE and (job.created_count, job.updated_count, job.unchanged_count) == (0, 0, 3), job.errors
    assert _members(app, mine) == before


def test_member_import_bad_row_in_the_middle_commits_nothing(app, two_associations, staff_of):
    mine, _theirs = two_associations
    client = staff_of(mine)
    bad = MEMBER_CSV.replace("境港市,いいえ", "境港市,たぶん").replace("2023年5月1日", "2023年13月1日")
    job = _run_wizard(client, app, f"/imports/associations/{mine}/members", bad.encode("utf-8"), "members.csv")
    assert job.state == JobState.VALIDATED and {error["row"] for error in job.errors} == {3}
    assert _members(app, mine) == []
    response = client.submit(f"/imports/{job.id}/commit", {}, htmx=True)
    assert response.status_code == 409 and _members(app, mine) == []


def test_member_reimport_updates_a_changed_row_and_creates_no_duplicates(app, two_associations, staff_of, make_member):
    mine, _theirs = two_associations
    make_member(mine, name="山本 由美", email="yumi@example.jp", phone="0857-00-0001")
    client = staff_of(mine)
    data = "氏名,メールアドレス,電話番号\r\n山本 由美,YUMI@example.jp,0857-99-9999\r\n山本　由美,,\r\n".encode()
    job = _run_wizard(client, app, f"/imports/associations/{mine}/members", data, "m.csv")
    # The second row (same name, no email) would update the same member as the first: refused as a
    # duplicate row of the file, nothing written.
    assert job.state == JobState.VALIDATED and job.errors and _members(app, mine)[0][7] == "0857-00-0001"
    data = "氏名,メールアドレス,電話番号\r\n山本 由美,YUMI@example.jp,0857-99-9999\r\n".encode()
    for _ in range(2):
        job = _run_wizard(client, app, f"/imports/associations/{mine}/members", data, "m.csv")
        assert job.state == JobState.DONE
    rows = _members(app, mine)
    assert len(rows) == 1 and rows[0][7] == "0857-99-9999" and rows[0][6].casefold() == "yumi@example.jp"
    with app.app_context():
        changes = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "update", AuditEntry.record_type == "association_members"))
        assert any("phone" in (entry.changes or {}) for entry in changes)


def test_staff_of_association_a_cannot_import_into_or_export_from_association_b(app, two_associations, staff_of, make_member, make_user):
    mine, theirs = two_associations
    make_member(theirs, name="兵庫 次郎", email="jiro@example.jp")
    before = _members(app, theirs)
    client = staff_of(mine)
    for url in (f"/imports/associations/{theirs}/members", f"/imports/associations/{theirs}/members/export?format=csv",
                f"/imports/associations/{theirs}/programs/export?format=csv"):
        with client.get(url) as response:
            assert response.status_code == 404, url
    response = client.post(f"/imports/associations/{theirs}/members", content_type="multipart/form-data",
                           data={"csrf_token": client.csrf_token(), "file": (io.BytesIO(MEMBER_CSV.encode()), "m.csv")})
    assert response.status_code == 404 and _latest_job(app) is None
    # Their member's email in my file: a new member of my association; theirs untouched.
    job = _run_wizard(client, app, f"/imports/associations/{mine}/members", "氏名,メールアドレス\r\n兵庫 次郎,jiro@example.jp\r\n".encode(), "m.csv")
    assert job.state == JobState.DONE and job.created_count == 1
    assert _members(app, theirs) == before and len(_members(app, mine)) == 1
    assert not [entry for entry in _exports(app)]
    # Another association's staff cannot open this association's job either.
    other = app.test_client()
    other.login(make_user(Role.ASSOCIATION_STAFF, association=theirs)[1])
    with other.get(f"/imports/{job.id}") as response:
        assert response.status_code == 404


def test_prefecture_staff_import_into_one_of_their_associations_only(app, two_associations, signed_in):
    mine, theirs = two_associations
    client = signed_in(Role.PREFECTURE_STAFF, prefecture=TOTTORI)
    with client.get(f"/imports/associations/{theirs}/members") as response:
        assert response.status_code == 404
    with client.get(f"/imports/associations/{mine}/members") as page:
        assert page.status_code == 200 and "<html" in page.text
    job = _run_wizard(client, app, f"/imports/associations/{mine}/members", MEMBER_CSV.encode(), "m.csv")
    assert job.state == JobState.DONE and job.prefecture_id == TOTTORI and len(_members(app, mine)) == 3
    with client.get("/imports") as page:  # members are uploaded from their association, not the general form
        assert 'value="members"' not in page.text and 'value="activities"' in page.text


def test_member_wizard_step_is_a_fragment_for_htmx_and_a_page_otherwise(app, two_associations, staff_of):
    mine, _theirs = two_associations
    client = staff_of(mine)
    client.post(f"/imports/associations/{mine}/members", content_type="multipart/form-data",
                data={"csrf_token": client.csrf_token(), "file": (io.BytesIO(MEMBER_CSV.encode()), "m.csv")})
    job = _latest_job(app)
    with client.get(f"/imports/{job.id}") as page, client.htmx_get(f"/imports/{job.id}") as fragment:
        assert "<html" in page.text and "<html" not in fragment.text and 'id="import-job"' in fragment.text
        assert "default_position" not in fragment.text and "氏名・名称" in fragment.text


def test_membership_export_cp932_lists_unrepresentable_values_first(app, two_associations, staff_of, make_member):
    mine, _theirs = two_associations
    make_member(mine, name="Zoë 😀")
    client = staff_of(mine)
    with client.get(f"/imports/associations/{mine}/members/export?format=csv-cp932") as page:
        assert page.status_code == 200 and "Zoë 😀" in page.text and not _exports(app)
    with client.get(f"/imports/associations/{mine}/members/export?format=csv&q=Zo") as response:
        assert "Zoë 😀" in response.get_data().decode("utf-8-sig")
    assert _exports(app)[-1].details["filter"] == {"association": mine, "q": "Zo"}


# --- Programs ---------------------------------------------------------------------------------------------

def test_program_export_per_fiscal_year_with_funding_lines(app, two_associations, staff_of):
    mine, theirs = two_associations
    with app.app_context():
        for association, title, starts in ((mine, "日本語教室＠髙島屋", datetime(2025, 4, 1, 1, tzinfo=timezone.utc)), (mine, "前年度の事業", datetime(2025, 3, 31, 1, tzinfo=timezone.utc)),
                                           (theirs, "兵庫の事業", datetime(2025, 6, 1, 1, tzinfo=timezone.utc))):
            program = Program(association_id=association, title_ja=title, kind=ProgramKind.JAPANESE_CLASSES, starts_at=starts,
                              ends_at=starts, budget=100000)
            program.funding_lines = [FundingLine(source=FundingSource.MUNICIPAL_GRANT, amount=60000),
                                     FundingLine(source=FundingSource.PRIVATE_GRANT, grantor="㈱ふるさと財団", amount=40000)]
            db.session.add(program)
        db.session.commit()
    client = staff_of(mine)
    with client.get(f"/imports/associations/{mine}/programs/export?fy=2025&format=csv-cp932&confirmed=1") as response:
        text = response.get_data().decode("cp932")
    lines = text.strip().splitlines()
    assert len(lines) == 3 and all("日本語教室＠髙島屋" in line for line in lines[1:])
    assert "㈱ふるさと財団" in text and "前年度" not in text and "兵庫" not in text and "2025-04-01 10:00" in text
    assert _exports(app)[-1].details["rows"] == 2 and _exports(app)[-1].details["filter"] == {"association": mine, "fy": 2025}


# --- Activities -------------------------------------------------------------------------------------------

ACTIVITY_CSV = (
    "メールアドレス,日付,活動の種類,国,内容,到達人数,推定経済効果（円）,算定根拠\r\n"
    "anna@example.com,2025/6/1,tourism,米国,髙橋さんと鳥取の梨を紹介 ①,120,50000,試食会の売上\r\n"
    "ben@example.com,2025-07-15,policy_proposal,GB,防災の提言～外国人住民向け,0,0,\r\n"
)


def _activities(app, prefecture=TOTTORI):
    with app.app_context():
        rows = db.session.scalars(select(Activity).where(Activity.prefecture_id == prefecture).order_by(Activity.occurred_on))
        return [(a.alumnus_id, a.occurred_on, a.kind.value, a.country, a.description, a.people_reached, a.economic_value_yen,
                 a.economic_value_basis, a.status.value, a.fiscal_year) for a in rows]


def test_activities_import_as_reported_and_round_trip_in_cp932(app, signed_in, make_alumnus):
    anna = make_alumnus(TOTTORI, family="Lee", given="Anna", email="anna@example.com")
    make_alumnus(TOTTORI, family="Brown", given="Ben", email="ben@example.com")
    client = signed_in(Role.PREFECTURE_STAFF, prefecture=TOTTORI)
    job = _run_wizard(client, app, "/imports", ACTIVITY_CSV.encode("cp932"), "activities.csv", target="activities")
    assert job.state == JobState.DONE and job.created_count == 2, job.errors
    before = _activities(app)
    assert before[0][:5] == (anna, date(2025, 6, 1), "tourism", "US", "髙橋さんと鳥取の梨を紹介 ①") and {row[8] for row in before} == {"reported"}
    with client.get("/imports/activities/export?fy=2025&status=verified&format=csv") as response:
        assert response.get_data().decode("utf-8-sig").count("\n") == 1  # the header only: nothing verified yet
    with client.get("/imports/activities/export?fy=2025&status=all&format=csv-cp932&confirmed=1") as response:
        data = response.get_data()
    assert "髙橋さんと鳥取の梨を紹介 ①" in data.decode("cp932") and _exports(app)[-1].details["rows"] == 2
    job = _run_wizard(client, app, "/imports", data, "export.csv", target="activities")
    assert job.state == JobState.DONE and (job.created_count, job.unchanged_count) == (0, 2), job.errors
    assert _activities(app) == before


def test_activity_import_refuses_people_outside_scope_without_saying_they_exist(app, signed_in, make_alumnus):
    make_alumnus(TOTTORI, family="Lee", given="Anna", email="anna@example.com")
    make_alumnus(HYOGO, family="Brown", given="Ben", email="ben@example.com")  # known only to Hyogo
    client = signed_in(Role.PREFECTURE_STAFF, prefecture=TOTTORI)
    csv = ACTIVITY_CSV + "nobody@example.com,2025-08-01,tourism,US,Unknown,0,0,\r\n"
    job = _run_wizard(client, app, "/imports", csv.encode(), "a.csv", target="activities")
    assert job.state == JobState.VALIDATED and [error["row"] for error in job.errors] == [3, 4]
    assert job.errors[0]["message"] == job.errors[1]["message"]
    assert _activities(app) == [] and _activities(app, HYOGO) == []


def test_changed_verified_activity_goes_back_to_reported(app, signed_in, make_alumnus, make_activity):
    anna = make_alumnus(TOTTORI, family="Lee", given="Anna", email="anna@example.com")
    make_activity(anna, on=date(2025, 6, 1), kind="tourism", description="Pears", people_reached=5)
    client = signed_in(Role.PREFECTURE_STAFF, prefecture=TOTTORI)
    csv = "Email,Date,Kind,Description,People reached\r\nanna@example.com,2025-06-01,tourism,Pears,50\r\n"
    job = _run_wizard(client, app, "/imports", csv.encode(), "a.csv", target="activities")
    assert job.state == JobState.DONE and job.updated_count == 1
    rows = _activities(app)
    assert len(rows) == 1 and rows[0][5] == 50 and rows[0][8] == ActivityStatus.REPORTED.value


def test_activity_export_is_scoped_and_never_for_the_ministry(app, signed_in, make_alumnus, make_activity, make_user):
    mine = make_alumnus(TOTTORI, family="Lee", given="Anna", email="anna@example.com")
    theirs = make_alumnus(HYOGO, family="Brown", given="Ben", email="ben@example.com")
    make_activity(mine, description="Tottori pears")
    make_activity(theirs, prefecture=HYOGO, description="Kobe beef")
    client = signed_in(Role.PREFECTURE_STAFF, prefecture=TOTTORI)
    with client.get("/imports/activities/export?fy=2025&format=xlsx&prefecture=28") as response:
        rows = list(openpyxl.load_workbook(io.BytesIO(response.get_data())).active.iter_rows(min_row=2, values_only=True))
    assert len(rows) == 1 and "Tottori pears" in rows[0]
    ministry = app.test_client()
    ministry.login(make_user(Role.MINISTRY_REVIEWER)[1])
    with ministry.get("/imports/activities/export?fy=2025&format=csv") as response:
        assert response.status_code == 403
