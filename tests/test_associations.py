"""Exchange associations: registry, members and annual fees, programs, calendar and feed, reports,
and the scope that keeps one association's people away from another's staff."""
import io
from datetime import date, datetime

import icalendar
import openpyxl
import pytest
from sqlalchemy import event, func, select

from crm.associations.models import Association, AssociationKind, Member, MembershipFee, Program, ProgramStatus
from crm.audit import AuditEntry
from crm.auth.models import Role
from crm.clock import TOKYO, today as today_in_japan
from crm.extensions import db
from tests.conftest import HYOGO, TOTTORI, fragment


@pytest.fixture
def two_associations(make_association):
    """Association A (Tottori) and B (Hyogo)."""
    return make_association(TOTTORI, "鳥取県国際交流財団"), make_association(HYOGO, "兵庫県国際交流協会")


@pytest.fixture
def staff_of(signed_in):
    def sign_in(association_id):
        return signed_in(Role.ASSOCIATION_STAFF, association=association_id)

    return sign_in


def _get(app, model, record_id):
    with app.app_context():
        record = db.session.get(model, record_id)
        if record is not None:
            db.session.expunge(record)
        return record


def _count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def _audit(app, action):
    with app.app_context():
        return db.session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)).all()


PROGRAM_FORM = {
    "title_ja": "多言語防災訓練", "title_en": "Multilingual disaster drill", "kind": "disaster_preparedness", "status": "planned",
    "starts_at": "2025-09-01T10:00", "ends_at": "2025-09-01T12:30", "venue": "鳥取市民体育館", "budget": "300000",
    "participants_japanese": "0", "participants_foreign": "0", "volunteers": "12",
    "funding_lines-0-source": "municipal_grant", "funding_lines-0-amount": "100000",
    "funding_lines-1-source": "private_grant", "funding_lines-1-grantor": "ふるさと財団", "funding_lines-1-amount": "200000",
    "partners-0-kind": "university", "partners-0-name": "鳥取大学",
}


# --- Scope: association A's staff never reach association B ---------------------------------------

def test_association_staff_cannot_reach_another_associations_records_by_id(app, two_associations, staff_of, make_member, make_fee, make_program):
    mine, theirs = two_associations
    member = make_member(theirs, name="兵庫 次郎")
    fee = make_fee(member)
    program = make_program(theirs, title="神戸の文化祭")
    client = staff_of(mine)
    for url in (
        f"/associations/members/{member}", f"/associations/members/{member}/edit", f"/associations/programs/{program}",
        f"/associations/programs/{program}/edit", f"/associations/{theirs}/edit",
    ):
        assert client.get(url).status_code == 404, url
        assert client.htmx_get(url).status_code == 404, url
    before = (_get(app, Member, member).version, _get(app, MembershipFee, fee).version, _get(app, Program, program).version)
    assert client.submit(f"/associations/members/{member}", {"member-{member}-name": "changed"}, htmx=True).status_code == 404
    assert client.submit(f"/associations/fees/{fee}/pay", {f"fee-{fee}-paid_on": "2025-05-01", f"fee-{fee}-method": "cash"}, htmx=True).status_code == 404
    assert client.submit(f"/associations/programs/{program}/edit", PROGRAM_FORM).status_code == 404
    assert client.submit(f"/associations/{theirs}", {"name_ja": "乗っ取り"}).status_code == 404
    assert (_get(app, Member, member).version, _get(app, MembershipFee, fee).version, _get(app, Program, program).version) == before
    assert _get(app, MembershipFee, fee).paid_on is None and _get(app, Association, theirs).name_ja == "兵庫県国際交流協会"
    assert {entry.details["reason"] for entry in _audit(app, "denied")} == {"out of scope"}


def test_association_staff_cannot_list_export_or_feed_another_association(app, two_associations, staff_of, make_member, make_fee):
    mine, theirs = two_associations
    make_fee(make_member(theirs, name="兵庫 次郎"))
    client = staff_of(mine)
    for url in (
        f"/associations/{theirs}/members", f"/associations/{theirs}/fees", f"/associations/{theirs}/programs",
        f"/associations/{theirs}/calendar", f"/associations/{theirs}/report", f"/imports/associations/{theirs}/members/export?format=csv",
        f"/imports/associations/{theirs}/members/export?format=xlsx", f"/associations/{theirs}/fees/reminders.csv", f"/associations/{theirs}/report.xlsx",
    ):
        with client.get(url) as response:
            assert response.status_code == 404, url
        with client.htmx_get(url) as response:
            assert response.status_code == 404, url
    members_before = _count(app, Member)
    assert client.submit(f"/associations/{theirs}/members/new", {"name": "潜入", "kind": "individual", "member_type": "regular", "status": "active"}).status_code == 404
    assert client.submit(f"/associations/{theirs}/fees", {"fiscal_year": "2025", "amount": "1000"}).status_code == 404
    assert client.submit(f"/associations/{theirs}/programs/new", PROGRAM_FORM).status_code == 404
    assert client.submit(f"/associations/{theirs}/feed").status_code == 404
    assert _count(app, Member) == members_before and _count(app, Program) == 0
    assert _get(app, Association, theirs).feed_token_hash is None
    assert not _audit(app, "export")


def test_association_list_shows_association_staff_only_their_own(two_associations, staff_of):
    mine, theirs = two_associations
    html = staff_of(mine).get("/associations/").get_data(as_text=True)
    assert "Association 鳥取県国際交流財団" in html and "兵庫県国際交流協会" not in html


def test_tottori_staff_cannot_open_hyogo_association_members(two_associations, signed_in, make_member):
    _, hyogo = two_associations
    member = make_member(hyogo)
    client = signed_in(Role.PREFECTURE_STAFF, prefecture=TOTTORI)
    assert client.get(f"/associations/{hyogo}/members").status_code == 404
    assert client.get(f"/associations/members/{member}").status_code == 404
    assert "兵庫県国際交流協会" not in client.get("/associations/").get_data(as_text=True)


def test_ministry_reads_the_registry_but_nothing_inside_an_association(two_associations, signed_in, make_member, make_association):
    mine, _ = two_associations
    make_member(mine, name="山本 由美")
    client = signed_in(Role.MINISTRY_REVIEWER)
    html = client.get(f"/associations/{mine}").get_data(as_text=True)
    assert "鳥取県国際交流財団" in html and "山本" not in html and "Members" not in html
    assert client.get(f"/associations/{mine}/members").status_code == 403
    assert client.get(f"/associations/{mine}/edit").status_code == 403


# --- Registry --------------------------------------------------------------------------------------

def test_association_list_page_and_fragment(two_associations, signed_in):
    client = signed_in(Role.ADMIN)
    page = client.get("/associations/?q=兵庫")
    assert page.status_code == 200 and not fragment(page.get_data(as_text=True))
    part = client.htmx_get("/associations/?q=兵庫").get_data(as_text=True)
    assert fragment(part) and "兵庫県国際交流協会" in part and "鳥取県国際交流財団" not in part


def test_prefecture_staff_register_associations_only_in_their_prefecture(app, signed_in):
    client = signed_in(Role.PREFECTURE_STAFF, prefecture=TOTTORI)
    form = {"name_ja": "米子国際交流協会", "name_en": "Yonago IEA", "kind": "municipal", "secretariat": "municipal_division",
            "municipality": "米子市", "municipality_size": "medium", "staff_full_time": "1"}
    refused = client.submit("/associations/new", {**form, "prefecture": str(HYOGO)})
    assert refused.status_code == 422 and _count(app, Association) == 0
    created = client.submit("/associations/new", {**form, "prefecture": str(TOTTORI)})
    assert created.status_code == 303
    with app.app_context():
        association = db.session.scalar(select(Association))
        assert association.prefecture_id == TOTTORI and association.kind == AssociationKind.MUNICIPAL


def test_inline_edit_of_association_details_and_stale_edit(app, two_associations, staff_of):
    mine, _ = two_associations
    client = staff_of(mine)
    form_html = client.htmx_get(f"/associations/{mine}/edit").get_data(as_text=True)
    assert fragment(form_html) and 'class="card editing"' in form_html
    assert not fragment(client.get(f"/associations/{mine}/edit").get_data(as_text=True))
    data = {"name_ja": "鳥取県国際交流財団", "name_en": "Tottori IEF", "kind": "prefectural", "secretariat": "own_facility",
            "officially_recognised": "y", "staff_full_time": "9", "staff_on_loan": "2", "staff_volunteers": "40", "version": "1"}
    saved = client.submit(f"/associations/{mine}", data, htmx=True)
    assert saved.status_code == 200 and fragment(saved.get_data(as_text=True)) and "Tottori IEF" in saved.get_data(as_text=True)
    assert _get(app, Association, mine).officially_recognised is True
    stale = client.submit(f"/associations/{mine}", {**data, "name_en": "Old form"}, htmx=True)
    assert stale.status_code == 409 and "Someone else changed" in stale.get_data(as_text=True)
    assert _get(app, Association, mine).name_en == "Tottori IEF"
    negative = client.submit(f"/associations/{mine}", {**data, "staff_full_time": "-1", "version": "2"}, htmx=True)
    assert negative.status_code == 422 and "cannot be negative" in negative.get_data(as_text=True)


# --- Members ---------------------------------------------------------------------------------------

def test_member_list_page_fragment_and_inline_edit(app, two_associations, staff_of, make_member):
    mine, _ = two_associations
    member = make_member(mine, name="Chen Wei")
    client = staff_of(mine)
    assert not fragment(client.get(f"/associations/{mine}/members").get_data(as_text=True))
    part = client.htmx_get(f"/associations/{mine}/members?q=chen").get_data(as_text=True)
    assert fragment(part) and "Chen Wei" in part
    edit = client.htmx_get(f"/associations/members/{member}/edit").get_data(as_text=True)
    assert fragment(edit) and 'class="editing"' in edit
    prefix = f"member-{member}-"
    data = {prefix + "name": "陳 偉", prefix + "kind": "individual", prefix + "member_type": "regular", prefix + "status": "lapsed", prefix + "version": "1"}
    saved = client.submit(f"/associations/members/{member}", data, htmx=True)
    assert saved.status_code == 200 and "陳 偉" in saved.get_data(as_text=True) and fragment(saved.get_data(as_text=True))
    stale = client.submit(f"/associations/members/{member}", {**data, prefix + "name": "old"}, htmx=True)
    assert stale.status_code == 409 and _get(app, Member, member).name == "陳 偉"


def test_opening_a_member_is_recorded_in_the_audit_trail(app, two_associations, staff_of, make_member):
    mine, _ = two_associations
    member = make_member(mine)
    assert staff_of(mine).get(f"/associations/members/{member}").status_code == 200
    assert [entry.record_id for entry in _audit(app, "view")] == [str(member)]


def test_member_list_query_count_does_not_grow_with_rows(app, two_associations, staff_of, make_member):
    mine, _ = two_associations
    client = staff_of(mine)

    def queries_for_list():
        with app.app_context():
            statements = []
            listener = lambda *args: statements.append(args[2])  # noqa: E731
            event.listen(db.engine, "before_cursor_execute", listener)
            try:
                assert client.htmx_get(f"/associations/{mine}/members").status_code == 200
                assert client.htmx_get(f"/associations/{mine}/programs").status_code == 200
            finally:
                event.remove(db.engine, "before_cursor_execute", listener)
            return len(statements)

    make_member(mine, name="一人目")
    few = queries_for_list()
    for number in range(8):
        make_member(mine, name=f"会員{number}")
    assert queries_for_list() == few


def test_membership_export_for_the_treasurer_in_csv_and_xlsx(app, two_associations, staff_of, make_member):
    mine, theirs = two_associations
    make_member(mine, name="=HYPERLINK(\"http://evil\")", email="a@example.jp")
    make_member(mine, name="山本 由美", phone="0857-00-0000")
    make_member(theirs, name="兵庫 次郎")
    client = staff_of(mine)
    with client.get(f"/imports/associations/{mine}/members/export?format=csv") as response:
        assert response.status_code == 200 and response.mimetype == "text/csv"
        text = response.get_data().decode("utf-8-sig")
    assert "山本 由美" in text and "'=HYPERLINK" in text and "兵庫" not in text
    with client.get(f"/imports/associations/{mine}/members/export?format=xlsx") as response:
        sheet = openpyxl.load_workbook(io.BytesIO(response.get_data())).active
    names = [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert sorted(names) == sorted(["'=HYPERLINK(\"http://evil\")", "山本 由美"])
    exports = _audit(app, "export")
    assert [(e.details["format"], e.details["rows"]) for e in exports] == [("csv", 2), ("xlsx", 2)]


# --- Annual fees -----------------------------------------------------------------------------------

def test_fee_screen_marks_a_fee_paid_inline(app, two_associations, staff_of, make_member, make_fee):
    mine, _ = two_associations
    fee = make_fee(make_member(mine, name="山本 由美"), fiscal_year=2025, amount_due=3000)
    make_fee(make_member(mine, name="田中 健一"), fiscal_year=2025, amount_due=3000, paid_on=date(2025, 5, 1))
    client = staff_of(mine)
    page = client.get(f"/associations/{mine}/fees?fy=2025").get_data(as_text=True)
    assert "3,000" in page and "50.0%" in page
    unpaid = client.htmx_get(f"/associations/{mine}/fees?fy=2025&unpaid=1").get_data(as_text=True)
    assert fragment(unpaid) and "山本 由美" in unpaid and "田中 健一" not in unpaid
    prefix = f"fee-{fee}-"
    data = {prefix + "paid_on": "2025-06-02", prefix + "method": "bank_transfer", prefix + "receipt_number": "R-001", prefix + "version": "1"}
    paid = client.submit(f"/associations/fees/{fee}/pay", data, htmx=True)
    html = paid.get_data(as_text=True)
    assert paid.status_code == 200 and fragment(html) and 'id="fee-' in html and "R-001" in html
    assert _get(app, MembershipFee, fee).paid_on == date(2025, 6, 2)


def test_marking_a_fee_paid_updates_the_fee_summary_out_of_band(app, two_associations, staff_of, make_member, make_fee):
    mine, _ = two_associations
    fee = make_fee(make_member(mine, name="山本 由美"), fiscal_year=2025, amount_due=3000)
    make_fee(make_member(mine, name="田中 健一"), fiscal_year=2025, amount_due=2000, paid_on=date(2025, 5, 1))
    make_fee(make_member(mine, name="前年 度"), fiscal_year=2024, amount_due=9000)
    client = staff_of(mine)
    before = client.get(f"/associations/{mine}/fees?fy=2025").text
    assert "¥2,000 (1 of 2 members)" in before and "40.0%" in before
    prefix = f"fee-{fee}-"
    paid = client.submit(f"/associations/fees/{fee}/pay", {prefix + "paid_on": "2025-06-02", prefix + "method": "cash", prefix + "version": "1"},
                         htmx=True).text
    summary = paid[paid.index('id="fee-summary"'):]
    assert 'hx-swap-oob="true"' in paid[paid.index("<section"):paid.index(">", paid.index("<section"))]
    assert "¥5,000 (2 of 2 members)" in summary and "100.0%" in summary and "9,000" not in summary
    # Without htmx the list page shows the same figures after the redirect.
    assert "¥5,000 (2 of 2 members)" in client.get(f"/associations/{mine}/fees?fy=2025").text


def test_paying_a_fee_twice_is_refused_with_a_clear_error(app, two_associations, staff_of, make_member, make_fee):
    mine, _ = two_associations
    fee = make_fee(make_member(mine), paid_on=date(2025, 5, 1), receipt_number="R-9")
    prefix = f"fee-{fee}-"
    response = staff_of(mine).submit(
        f"/associations/fees/{fee}/pay", {prefix + "paid_on": "2025-06-02", prefix + "method": "cash", prefix + "version": "1"}, htmx=True
    )
    assert response.status_code == 422 and "already paid" in response.get_data(as_text=True) and "R-9" in response.get_data(as_text=True)
    assert _get(app, MembershipFee, fee).paid_on == date(2025, 5, 1)


def test_dates_far_ahead_are_refused(app, two_associations, staff_of, make_member, make_fee):
    mine, _ = two_associations
    client = staff_of(mine)
    fee = make_fee(make_member(mine))
    prefix = f"fee-{fee}-"
    response = client.submit(f"/associations/fees/{fee}/pay", {prefix + "paid_on": "2999-06-02", prefix + "method": "cash",
                                                                prefix + "version": "1"}, htmx=True)
    assert response.status_code == 422 and "cannot be in the future" in response.text and _get(app, MembershipFee, fee).paid_on is None
    member = make_member(mine, name="Chen Wei")
    prefix = f"member-{member}-"
    data = {prefix + "name": "Chen Wei", prefix + "kind": "individual", prefix + "member_type": "regular", prefix + "status": "active",
            prefix + "joined_on": "2999-04-01", prefix + "version": "1"}
    response = client.submit(f"/associations/members/{member}", data, htmx=True)
    assert response.status_code == 422 and "cannot be later than" in response.text and _get(app, Member, member).joined_on is None


def test_stale_fee_payment_answers_409(app, two_associations, staff_of, make_member, make_fee):
    mine, _ = two_associations
    fee = make_fee(make_member(mine))
    prefix = f"fee-{fee}-"
    response = staff_of(mine).submit(
        f"/associations/fees/{fee}/pay", {prefix + "paid_on": "2025-06-02", prefix + "method": "cash", prefix + "version": "0"}, htmx=True
    )
    assert response.status_code == 409 and _get(app, MembershipFee, fee).paid_on is None


def test_negative_fee_amounts_are_refused(app, two_associations, staff_of, make_member):
    mine, _ = two_associations
    make_member(mine)
    response = staff_of(mine).submit(f"/associations/{mine}/fees", {"fiscal_year": "2025", "amount": "-3000"})
    assert response.status_code == 422 and "cannot be negative" in response.get_data(as_text=True)
    assert _count(app, MembershipFee) == 0


def test_assessing_fees_bills_active_members_once(app, two_associations, staff_of, make_member, make_fee):
    mine, _ = two_associations
    make_member(mine, name="有効")
    make_member(mine, name="退会", status="left")
    billed = make_member(mine, name="請求済み")
    make_fee(billed, fiscal_year=2025, amount_due=1000)
    client = staff_of(mine)
    assert client.submit(f"/associations/{mine}/fees", {"fiscal_year": "2025", "amount": "3000"}).status_code == 303
    with app.app_context():
        fees = {fee.member.name: fee.amount_due for fee in db.session.scalars(select(MembershipFee))}
    assert fees == {"有効": 3000, "請求済み": 1000}


def test_reminder_list_holds_unpaid_members_and_only_consented_contacts(app, two_associations, staff_of, make_member, make_fee):
    mine, _ = two_associations
    make_fee(make_member(mine, name="未納 同意", email="ok@example.jp"))
    make_fee(make_member(mine, name="未納 不同意", email="no@example.jp", consent_to_contact=False))
    make_fee(make_member(mine, name="納付済み"), paid_on=date(2025, 5, 1))
    with staff_of(mine).get(f"/associations/{mine}/fees/reminders.csv?fy=2025") as response:
        text = response.get_data().decode("utf-8-sig")
    assert "未納 同意" in text and "ok@example.jp" in text and "未納 不同意" in text
    assert "no@example.jp" not in text and "納付済み" not in text
    assert _audit(app, "export")[0].details["filter"] == {"fiscal_year": 2025, "unpaid": True}


# --- Programs --------------------------------------------------------------------------------------

def test_add_a_program_with_two_funding_lines_and_a_partner(app, two_associations, staff_of):
    mine, _ = two_associations
    response = staff_of(mine).submit(f"/associations/{mine}/programs/new", PROGRAM_FORM)
    assert response.status_code == 303
    with app.app_context():
        program = db.session.scalar(select(Program))
        assert [(line.source.value, line.grantor, line.amount) for line in program.funding_lines] == [
            ("municipal_grant", None, 100000), ("private_grant", "ふるさと財団", 200000)]
        assert [partner.name for partner in program.partners] == ["鳥取大学"]
        assert program.starts_at.astimezone(TOKYO) == datetime(2025, 9, 1, 10, 0, tzinfo=TOKYO)


@pytest.mark.parametrize(
    "change, message",
    [
        ({"ends_at": "2025-09-01T09:00"}, "cannot end before it starts"),
        ({"funding_lines-0-source": "lottery"}, "Unknown funding source “lottery”"),
        ({"funding_lines-1-grantor": ""}, "needs the grantor&#39;s name"),
        ({"funding_lines-0-amount": "-5"}, "more than 0 yen"),
        ({"budget": "-1"}, "cannot be negative"),
        ({"partners-0-kind": "embassy"}, "Unknown kind of partner"),
    ],
)
def test_bad_program_input_is_refused_with_a_clear_error(app, two_associations, staff_of, change, message):
    mine, _ = two_associations
    response = staff_of(mine).submit(f"/associations/{mine}/programs/new", {**PROGRAM_FORM, **change})
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert _count(app, Program) == 0


def test_operations_refuse_what_the_form_would_also_refuse(app, app_context, two_associations):
    from crm.associations import operations

    association = db.session.get(Association, two_associations[0])
    values = {"title_ja": "講座", "kind": "other", "status": "planned", "starts_at": datetime(2025, 9, 1, 10), "ends_at": datetime(2025, 9, 1, 12)}
    with pytest.raises(operations.AssociationError, match="unknown funding source"):
        operations.create_program(association, values, [{"source": "lottery", "amount": 5}])
    with pytest.raises(operations.AssociationError, match="end before"):
        operations.create_program(association, {**values, "ends_at": datetime(2025, 9, 1, 9)})
    with pytest.raises(operations.AssociationError, match="negative"):
        operations.assess_fees(association, 2025, -1)
    db.session.rollback()


def test_stale_program_edit_answers_409(app, two_associations, staff_of, make_program):
    mine, _ = two_associations
    program = make_program(mine)
    client = staff_of(mine)
    assert client.get(f"/associations/programs/{program}/edit").status_code == 200
    ok = client.submit(f"/associations/programs/{program}/edit", {**PROGRAM_FORM, "version": "1"})
    assert ok.status_code == 303
    stale = client.submit(f"/associations/programs/{program}/edit", {**PROGRAM_FORM, "title_ja": "古い", "version": "1"})
    assert stale.status_code == 409 and _get(app, Program, program).title_ja == "多言語防災訓練"
    # What the user typed stays beside the current value, so nothing typed is lost.
    assert "You entered: 古い" in stale.get_data(as_text=True)


def test_program_list_page_and_fragment(two_associations, staff_of, make_program):
    mine, _ = two_associations
    make_program(mine, title="国際交流フェスタ", status=ProgramStatus.HELD)
    make_program(mine, title="日本語教室")
    client = staff_of(mine)
    assert not fragment(client.get(f"/associations/{mine}/programs").get_data(as_text=True))
    part = client.htmx_get(f"/associations/{mine}/programs?status=held").get_data(as_text=True)
    assert fragment(part) and "国際交流フェスタ" in part and "日本語教室" not in part


# --- Calendar and feed -----------------------------------------------------------------------------

def test_month_calendar_page_fragment_and_navigation(two_associations, staff_of, make_program):
    mine, _ = two_associations
    make_program(mine, title="国際交流フェスタ", day=date(2025, 6, 14))
    client = staff_of(mine)
    page = client.get(f"/associations/{mine}/calendar?month=2025-06").get_data(as_text=True)
    assert not fragment(page) and "国際交流フェスタ" in page and "13:30" in page
    part = client.htmx_get(f"/associations/{mine}/calendar?month=2025-07").get_data(as_text=True)
    assert fragment(part) and "国際交流フェスタ" not in part and "month=2025-06" in part and "month=2025-08" in part


def test_ical_feed_parses_and_holds_times_in_tokyo(app, two_associations, staff_of, make_program):
    mine, _ = two_associations
    today = today_in_japan()
    make_program(mine, title="国際交流フェスタ", day=today, venue="とりぎん文化会館")
    client = staff_of(mine)
    html = client.submit(f"/associations/{mine}/feed", htmx=True).get_data(as_text=True)
    url = html.split('value="')[1].split('"')[0]
    path = url.split("localhost")[-1]
    with app.test_client().get(path) as response:
        assert response.status_code == 200 and response.mimetype == "text/calendar"
        calendar = icalendar.Calendar.from_ical(response.get_data())
    events = list(calendar.walk("VEVENT"))
    assert [str(e["SUMMARY"]) for e in events] == ["国際交流フェスタ"] and str(events[0]["LOCATION"]) == "とりぎん文化会館"
    start = events[0].decoded("DTSTART")
    assert start.utcoffset().total_seconds() == 9 * 3600 and (start.hour, start.minute) == (13, 30)
    assert events[0]["DTSTART"].params["TZID"] == "Asia/Tokyo"
    assert [str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")] == ["Asia/Tokyo"]
    # Only a hash is stored; the token in the URL is not.
    token = path.rsplit("/", 1)[1].removesuffix(".ics")
    assert _get(app, Association, mine).feed_token_hash != token


def test_revoked_and_replaced_feed_tokens_answer_404(app, two_associations, staff_of):
    mine, _ = two_associations
    client = staff_of(mine)

    def new_feed_path():
        html = client.submit(f"/associations/{mine}/feed", htmx=True).get_data(as_text=True)
        return html.split('value="')[1].split('"')[0].split("localhost")[-1]

    first = new_feed_path()
    assert app.test_client().get(first).status_code == 200
    second = new_feed_path()
    assert app.test_client().get(first).status_code == 404
    assert app.test_client().get(second).status_code == 200
    revoked = client.submit(f"/associations/{mine}/feed/revoke", htmx=True)
    assert revoked.status_code == 200 and fragment(revoked.get_data(as_text=True))
    assert app.test_client().get(second).status_code == 404
    assert _get(app, Association, mine).feed_token_hash is None


# --- Reports ---------------------------------------------------------------------------------------

def test_annual_report_figures_page_fragment_and_export(app, two_associations, staff_of, make_program, make_member, make_fee):
    mine, _ = two_associations
    make_program(mine, title="フェスタ", day=date(2025, 6, 1), status=ProgramStatus.HELD, participants_japanese=40, participants_foreign=20,
                 budget=100000, actual_cost=90000, funding=[("municipal_grant", None, 60000), ("private_grant", "財団", 30000), ("membership_fees", None, 10000)])
    make_program(mine, title="前年度", day=date(2024, 6, 1), status=ProgramStatus.HELD, funding=[("municipal_grant", None, 100000)])
    make_fee(make_member(mine), fiscal_year=2025, amount_due=3000, paid_on=date(2025, 5, 1))
    make_fee(make_member(mine, name="未納"), fiscal_year=2025, amount_due=1000)
    client = staff_of(mine)
    page = client.get(f"/associations/{mine}/report?fy=2025").get_data(as_text=True)
    assert not fragment(page) and "Cultural event" in page and "90,000" in page
    assert "40.0%" in page  # self-raised: (30,000 + 10,000) / 100,000
    assert "75.0%" in page  # fee collection rate: 3,000 / 4,000
    assert "0.0%" in page  # FY2024 was all government money
    part = client.htmx_get(f"/associations/{mine}/report?fy=2025").get_data(as_text=True)
    assert fragment(part) and 'id="annual-report"' in part
    with client.get(f"/associations/{mine}/report.csv?fy=2025") as response:
        text = response.get_data().decode("utf-8-sig")
    assert "Cultural event" in text and "90000" in text
    # The five-year trend as the page draws it: programs and people, fees, per 年度.
    assert "Programs held and participants by fiscal year,2024,1,0,0,0,," in text
    assert "Annual fees by fiscal year,2025 · Members / paid / due / collected,2,1,,,4000,3000" in text
    assert _audit(app, "export")[0].details["filter"] == {"fiscal_year": 2025}


def test_print_stylesheet_hides_navigation_for_the_printed_report(app):
    with app.test_client().get("/static/app.css") as response:
        css = response.get_data(as_text=True)
    print_rules = css.split("@media print")[1]
    assert ".tabs" in print_rules and ".exports" in print_rules and ".report table" in print_rules


def test_ministry_overview_holds_no_personal_data_and_suppresses_small_counts(app, make_association, make_member, make_program, signed_in):
    tottori = make_association(TOTTORI, "鳥取県国際交流財団", kind=AssociationKind.PREFECTURAL)
    hyogo = make_association(HYOGO, "兵庫県国際交流協会", kind=AssociationKind.PREFECTURAL)
    make_association(TOTTORI, "鳥取市国際交流協会", kind=AssociationKind.MUNICIPAL)
    for number in range(3):
        make_member(tottori, name=f"鳥取 会員{number}", email=f"t{number}@example.jp")
    for number in range(12):
        make_member(hyogo, name=f"兵庫 会員{number}")
    make_program(tottori, title="少人数の講座", day=date(2025, 6, 1), status=ProgramStatus.HELD, kind="international_understanding",
                 participants_japanese=4, participants_foreign=3, funding=[("private_grant", "秘密財団", 50000)])
    make_program(hyogo, title="大きな祭り", day=date(2025, 7, 1), status=ProgramStatus.HELD, participants_japanese=300, participants_foreign=120,
                 funding=[("municipal_grant", None, 700000)])
    html = signed_in(Role.MINISTRY_REVIEWER).get("/associations/overview?fy=2025").get_data(as_text=True)
    for personal in ("会員", "example.jp", "少人数の講座", "大きな祭り", "秘密財団"):
        assert personal not in html
    members = html.split('id="members-by-prefecture"')[1].split("</table>")[0]
    assert "&lt;10" in members and ">3<" not in members
    programs = html.split('id="programs-by-kind"')[1].split("</table>")[0]
    assert "&lt;10" in programs and ">4<" not in programs and ">7<" not in programs and "300" in programs
    kinds = html.split("Associations by kind and prefecture")[1].split("</table>")[0]
    assert "Tottori" in kinds and "Hyogo" in kinds


def test_members_sort_by_their_reading(app, make_association, make_member, signed_in):
    association = make_association()
    for name, kana in (("和田 花子", "ワダ・ハナコ"), ("青木 一郎", "アオキ・イチロウ"), ("山本 由美", "ヤマモト・ユミ")):
        make_member(association, name=name, name_kana=kana)
    page = signed_in(Role.ASSOCIATION_STAFF, association=association).get(f"/associations/{association}/members?sort=name").text
    assert page.index("青木 一郎") < page.index("山本 由美") < page.index("和田 花子")


def test_a_reading_is_kept_in_katakana_however_it_was_typed(app):
    from werkzeug.datastructures import MultiDict

    from crm.associations.forms import MemberForm

    with app.test_request_context():
        for typed in ("やまもと ゆみ", "ﾔﾏﾓﾄ ﾕﾐ"):
            form = MemberForm(MultiDict({"name_kana": typed}), meta={"csrf": False})
            assert form.name_kana.data == "ヤマモト・ユミ"
