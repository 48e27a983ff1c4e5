"""Home pages as work queues: what each role finds waiting, each item one click from done."""
from datetime import timedelta

from crm import clock
from crm.alumni.models import ContactEntry
from crm.ambassadors.models import Activity, ActivityStatus, Ambassador
from crm.associations.models import MembershipFee, PaymentMethod
from crm.audit import AuditEntry
from crm.auth.models import Role
from crm.extensions import db
from crm.imports.models import ImportJob, JobState
from crm.reference import fiscal_year

import pytest

from tests.conftest import HYOGO, TOTTORI, fragment


@pytest.fixture
def tottori(signed_in):
    return signed_in(Role.PREFECTURE_STAFF, prefecture=TOTTORI)


def _job(app, prefecture, filename, state=JobState.DONE):
    with app.app_context():
        job = ImportJob(target="alumni", prefecture_id=prefecture, filename=filename, stored_name=filename, state=state)
        db.session.add(job)
        db.session.commit()
        return job.id


def test_prefecture_home_lists_follow_ups_mine_and_the_offices(app, client, make_user, make_alumnus, make_contact):
    me, email = make_user(Role.PREFECTURE_STAFF, prefecture=TOTTORI)
    colleague, _ = make_user(Role.PREFECTURE_STAFF, prefecture=TOTTORI)
    hyogo_staff, _ = make_user(Role.PREFECTURE_STAFF, prefecture=HYOGO)
    client.login(email)
    alumnus = make_alumnus(TOTTORI, HYOGO)
    today = clock.today()
    make_contact(alumnus, TOTTORI, summary="My overdue call", follow_up_on=today - timedelta(days=2), assignee_id=me)
    make_contact(alumnus, TOTTORI, summary="My call next week", follow_up_on=today + timedelta(days=6), assignee_id=me)
    make_contact(alumnus, TOTTORI, summary="My call next quarter", follow_up_on=today + timedelta(days=90), assignee_id=me)
    make_contact(alumnus, TOTTORI, summary="Colleague's call", follow_up_on=today, assignee_id=colleague)
    make_contact(alumnus, HYOGO, summary="Hyogo's own call", follow_up_on=today, assignee_id=hyogo_staff)
    make_contact(alumnus, TOTTORI, summary="Done call", follow_up_on=today, assignee_id=me, done_at=clock.now())
    html = client.get("/").get_data(as_text=True)
    mine, office = html.split('id="home-follow-ups"')[1].split("<h3>")[1:3]
    assert "My overdue call" in mine and "My call next week" in mine and "Colleague" not in mine
    assert "Colleague&#39;s call" in office and "My overdue" not in office
    assert "next quarter" not in html and "Hyogo&#39;s own" not in html and "Done call" not in html
    assert "Overdue" in mine


def test_prefecture_home_shows_empty_states(tottori):
    html = tottori.get("/").get_data(as_text=True)
    for empty in ("Nothing to follow up today", "No activity is waiting to be verified", "term ends within 90 days",
                  "No file has been imported yet"):
        assert empty in html
    assert 'id="privacy-due"' in html  # the APPI deadlines panel is still included


def test_prefecture_home_activity_verified_in_one_click_with_a_toast(app, tottori, make_alumnus, make_activity):
    alumnus = make_alumnus(TOTTORI, family="Verifiable")
    activity = make_activity(alumnus, status="reported", description="Pear promotion in Ohio")
    make_activity(make_alumnus(HYOGO, family="Hyogoan"), prefecture=HYOGO, status="reported", description="Hyogo beef fair")
    html = tottori.get("/").get_data(as_text=True)
    queue = html.split('id="home-to-verify"')[1].split("</section>")[0]
    assert "Pear promotion in Ohio" in queue and "Hyogo beef fair" not in queue
    response = tottori.submit(f"/ambassadors/activities/{activity}/review", {"status": "verified"}, htmx=True)
    assert response.status_code == 200 and "crm:notice" in response.headers["HX-Trigger"]
    with app.app_context():
        assert db.session.get(Activity, activity).status == ActivityStatus.VERIFIED
    assert "Pear promotion in Ohio" not in tottori.get("/").get_data(as_text=True)


def test_prefecture_home_forged_review_leaves_the_item_and_says_why(app, tottori, make_alumnus, make_activity):
    # The queue's Verify button swaps "delete": a refused review must go to the message area instead.
    activity = make_activity(make_alumnus(TOTTORI, family="Forged"), status="reported", description="Pear fair")
    response = tottori.submit(f"/ambassadors/activities/{activity}/review", {"status": "approved-by-me"}, htmx=True)
    assert response.status_code == 422
    assert response.headers["HX-Retarget"] == "#messages" and response.headers["HX-Reswap"] == "innerHTML"
    assert "does not offer" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Activity, activity).status == ActivityStatus.REPORTED
    assert "Pear fair" in tottori.get("/").get_data(as_text=True).split('id="home-to-verify"')[1]


def test_prefecture_home_terms_ending_within_90_days_and_recent_imports(app, tottori, make_alumnus, make_ambassador):
    today = clock.today()
    make_ambassador(make_alumnus(TOTTORI, family="Ending"), start=today - timedelta(days=300), end=today + timedelta(days=30))
    make_ambassador(make_alumnus(TOTTORI, family="Lasting"), start=today - timedelta(days=300), end=today + timedelta(days=200))
    make_ambassador(make_alumnus(HYOGO, family="Elsewhere"), prefecture=HYOGO, start=today - timedelta(days=300),
                    end=today + timedelta(days=10))
    _job(app, TOTTORI, "tottori-alumni.csv")
    _job(app, HYOGO, "hyogo-alumni.csv")
    html = tottori.get("/").get_data(as_text=True)
    terms = html.split('id="home-terms-ending"')[1].split("</section>")[0]
    assert "ENDING" in terms.upper() and "Lasting" not in terms and "Elsewhere" not in terms
    imports = html.split('id="home-imports"')[1].split("</section>")[0]
    assert "tottori-alumni.csv" in imports and "hyogo-alumni.csv" not in imports


def test_follow_up_done_from_home_answers_htmx_with_a_toast(app, client, make_user, make_alumnus, make_contact):
    me, email = make_user(Role.PREFECTURE_STAFF, prefecture=TOTTORI)
    client.login(email)
    entry = make_contact(make_alumnus(TOTTORI), TOTTORI, summary="Call back", follow_up_on=clock.today(), assignee_id=me)
    response = client.submit(f"/alumni/contacts/{entry}/done", htmx=True)
    assert response.status_code == 200 and response.get_data(as_text=True) == ""
    assert "Follow-up done" in response.headers["HX-Trigger"]


def test_association_home_lists_unpaid_fees_upcoming_programs_and_members_without_consent(
        signed_in, make_association, make_member, make_fee, make_program):
    association = make_association()
    other = make_association(HYOGO, name="兵庫県国際交流協会")
    year = fiscal_year.fiscal_year_of(clock.today())
    unpaid = make_member(association, name="未納 太郎")
    make_fee(unpaid, fiscal_year=year, amount_due=5000)
    paid = make_member(association, name="完納 花子")
    make_fee(paid, fiscal_year=year, paid_on=clock.today())
    make_fee(make_member(association, name="昨年 未納"), fiscal_year=year - 1)
    make_member(association, name="同意 なし", consent_to_contact=False)
    make_fee(make_member(other, name="他会 未納"), fiscal_year=year)
    make_program(association, title="来月の交流会", day=clock.today() + timedelta(days=30))
    make_program(association, title="去年の交流会", day=clock.today() - timedelta(days=300))
    html = signed_in(Role.ASSOCIATION_STAFF, association=association).get("/").get_data(as_text=True)
    fees = html.split('id="home-unpaid-fees"')[1].split("</section>")[0]
    assert "未納 太郎" in fees and "完納" not in fees and "昨年" not in fees and "他会" not in fees
    programs = html.split('id="home-programs"')[1].split("</section>")[0]
    assert "来月の交流会" in programs and "去年" not in programs
    consent = html.split('id="home-no-consent"')[1].split("</section>")[0]
    assert "同意 なし" in consent and "未納 太郎" not in consent


def test_association_home_empty_states(signed_in, make_association):
    html = signed_in(Role.ASSOCIATION_STAFF, association=make_association()).get("/").get_data(as_text=True)
    for empty in ("Every fee of this year is paid", "No program is planned", "Every active member may be contacted"):
        assert empty in html


def test_ministry_home_shows_national_headline_with_change_and_links(signed_in):
    html = signed_in(Role.MINISTRY_REVIEWER).get("/").get_data(as_text=True)
    section = html.split('id="home-national"')[1].split("</section>")[0]
    assert "Alumni tracked" in section and "Change" in section
    assert "/reports/national?indicator=tracked" in section
    # No individual's record: the headline comes from the published (protected) national totals.
    assert "/alumni/" not in section


def test_ministry_headline_keeps_hidden_figures_hidden(app, make_alumnus):
    from crm.home import operations
    from crm.reports import returns

    make_alumnus(TOTTORI)  # one person: every count below the disclosure threshold
    with app.test_request_context():
        headline = operations.national_headline()
    tracked = dict((key, (now, change)) for key, now, _before, change in headline["rows"])["tracked"]
    assert not isinstance(tracked[0], int) or tracked[0] == 0 or tracked[0] >= returns.THRESHOLD


def test_admin_home_lists_denials_and_failed_imports(app, signed_in, client, make_alumnus):
    alumnus = make_alumnus(HYOGO)
    signed_in(Role.PREFECTURE_STAFF).get(f"/alumni/{alumnus}")  # refused: Hyogo's alumnus
    _job(app, TOTTORI, "broken.xlsx", JobState.FAILED)
    _job(app, TOTTORI, "fine.csv", JobState.DONE)
    client.post("/logout", data={"csrf_token": client.csrf_token()})
    html = signed_in(Role.ADMIN).get("/").get_data(as_text=True)
    denials = html.split('id="home-denials"')[1].split("</section>")[0]
    assert f"/alumni/{alumnus}" in denials
    failed = html.split('id="home-imports"')[1].split("</section>")[0]
    assert "broken.xlsx" in failed and "fine.csv" not in failed
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(AuditEntry).where(AuditEntry.action == "denied"))


def test_admin_home_empty_states(signed_in):
    html = signed_in(Role.ADMIN).get("/").get_data(as_text=True)
    assert "No access has been denied" in html and "No import job has failed" in html


def test_home_is_a_whole_page_and_follow_up_item_a_fragment(app, client, make_user, make_alumnus, make_contact):
    me, email = make_user(Role.PREFECTURE_STAFF, prefecture=TOTTORI)
    client.login(email)
    entry = make_contact(make_alumnus(TOTTORI), TOTTORI, follow_up_on=clock.today(), assignee_id=me)
    assert not fragment(client.get("/").get_data(as_text=True))
    snoozed = client.submit(f"/alumni/contacts/{entry}/snooze", {"follow_up_on": (clock.today() + timedelta(days=3)).isoformat()},
                            htmx=True)
    assert snoozed.status_code == 200 and fragment(snoozed.get_data(as_text=True))
    with app.app_context():
        assert db.session.get(ContactEntry, entry).follow_up_on == clock.today() + timedelta(days=3)


# --- One click from done: terms ending, unpaid fees, imports awaiting their user --------------------

def _audited(app, record_type: str, record_id: int) -> list[dict]:
    with app.app_context():
        return [entry.changes for entry in db.session.scalars(
            db.select(AuditEntry).where(AuditEntry.action == "update", AuditEntry.record_type == record_type,
                                        AuditEntry.record_id == str(record_id)).order_by(AuditEntry.id))]


def _ending(app, make_alumnus, make_ambassador, prefecture=TOTTORI, family="Renewable", days=30):
    today = clock.today()
    ambassador = make_ambassador(make_alumnus(prefecture, family=family), prefecture=prefecture,
                                 start=today - timedelta(days=300), end=today + timedelta(days=days))
    with app.app_context():
        return ambassador, db.session.get(Ambassador, ambassador).version


def _terms_queue(client) -> str:
    return client.get("/").get_data(as_text=True).split('id="home-terms-ending"')[1].split("</section>")[0]


def test_term_extended_a_year_from_home_leaves_the_queue_with_a_toast_and_is_audited(app, tottori, make_alumnus, make_ambassador):
    ambassador, version = _ending(app, make_alumnus, make_ambassador)
    assert f"/ambassadors/{ambassador}/extend" in _terms_queue(tottori)
    response = tottori.submit(f"/ambassadors/{ambassador}/extend", {"version": version}, htmx=True)
    assert response.status_code == 200 and response.get_data(as_text=True) == ""
    assert "crm:notice" in response.headers["HX-Trigger"] and "now ends on" in response.headers["HX-Trigger"]
    end = clock.today() + timedelta(days=30)
    with app.app_context():
        assert db.session.get(Ambassador, ambassador).term_end_on == end.replace(year=end.year + 1)
    assert _audited(app, "ambassadors", ambassador)[-1]["term_end_on"]["new"] == end.replace(year=end.year + 1).isoformat()
    assert "RENEWABLE" not in _terms_queue(tottori).upper()


def test_term_let_end_from_home_leaves_the_queue_until_its_end_date_is_changed(app, tottori, make_alumnus, make_ambassador):
    ambassador, version = _ending(app, make_alumnus, make_ambassador)
    response = tottori.submit(f"/ambassadors/{ambassador}/let-end", {"version": version}, htmx=True)
    assert response.status_code == 200 and "as planned" in response.headers["HX-Trigger"]
    with app.app_context():
        record = db.session.get(Ambassador, ambassador)
        assert record.end_confirmed_on == clock.today() and record.term_end_on == clock.today() + timedelta(days=30)
    assert "end_confirmed_on" in _audited(app, "ambassadors", ambassador)[-1]
    assert "RENEWABLE" not in _terms_queue(tottori).upper()
    assert "Not to be renewed" in tottori.get("/ambassadors").get_data(as_text=True)
    # A new end date asks the question again.
    with app.app_context():
        record = db.session.get(Ambassador, ambassador)
        form = {f"ambassador-{ambassador}-{key}": value for key, value in {
            "title": record.title, "region": record.region or "", "term_start_on": record.term_start_on.isoformat(),
            "term_end_on": (clock.today() + timedelta(days=60)).isoformat(), "version": record.version}.items()}
    assert tottori.submit(f"/ambassadors/{ambassador}", form, htmx=True).status_code == 200
    assert "RENEWABLE" in _terms_queue(tottori).upper()


def test_a_stale_term_decision_is_refused_with_409_and_the_current_item(app, tottori, make_alumnus, make_ambassador):
    ambassador, version = _ending(app, make_alumnus, make_ambassador)
    assert tottori.submit(f"/ambassadors/{ambassador}/let-end", {"version": version}, htmx=True).status_code == 200
    response = tottori.submit(f"/ambassadors/{ambassador}/extend", {"version": version}, htmx=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 409 and "Someone else changed this record" in html and f'id="term-ending-{ambassador}"' in html
    with app.app_context():
        assert db.session.get(Ambassador, ambassador).term_end_on == clock.today() + timedelta(days=30)
    # A plain form is sent to the ambassadors page with the reason.
    plain = tottori.submit(f"/ambassadors/{ambassador}/extend", {"version": version})
    assert plain.status_code == 303 and "/ambassadors" in plain.headers["Location"]


def test_an_extension_reaching_a_later_term_is_refused_on_the_item(app, tottori, make_alumnus, make_ambassador):
    today = clock.today()
    alumnus = make_alumnus(TOTTORI, family="Twice")
    ambassador = make_ambassador(alumnus, start=today - timedelta(days=300), end=today + timedelta(days=30))
    make_ambassador(alumnus, start=today + timedelta(days=100), end=today + timedelta(days=500))
    with app.app_context():
        version = db.session.get(Ambassador, ambassador).version
    response = tottori.submit(f"/ambassadors/{ambassador}/extend", {"version": version}, htmx=True)
    assert response.status_code == 422 and "overlaps" in response.get_data(as_text=True)


def test_another_prefectures_term_cannot_be_decided(app, tottori, make_alumnus, make_ambassador):
    ambassador, version = _ending(app, make_alumnus, make_ambassador, prefecture=HYOGO, family="Elsewhere")
    for action in ("extend", "let-end"):
        assert tottori.submit(f"/ambassadors/{ambassador}/{action}", {"version": version}, htmx=True).status_code == 404
    with app.app_context():
        record = db.session.get(Ambassador, ambassador)
        assert record.version == version and record.end_confirmed_on is None


def test_term_decisions_without_csrf_token_are_refused(app, tottori, make_alumnus, make_ambassador):
    ambassador, version = _ending(app, make_alumnus, make_ambassador)
    for action in ("extend", "let-end"):
        assert tottori.post(f"/ambassadors/{ambassador}/{action}", data={"version": version},
                            headers={"HX-Request": "true"}).status_code == 400
    with app.app_context():
        assert db.session.get(Ambassador, ambassador).version == version


@pytest.fixture
def unpaid_fee(app, make_association, make_member, make_fee):
    def make(prefecture=TOTTORI, name="未納 太郎"):
        association = make_association(prefecture, name=f"{name}の協会")
        fee = make_fee(make_member(association, name=name), fiscal_year=fiscal_year.fiscal_year_of(clock.today()), amount_due=5000)
        with app.app_context():
            return association, fee, db.session.get(MembershipFee, fee).version
    return make


def test_fee_payment_recorded_from_home_leaves_the_queue_with_a_toast_and_is_audited(app, signed_in, unpaid_fee):
    association, fee, version = unpaid_fee()
    client = signed_in(Role.ASSOCIATION_STAFF, association=association)
    assert f"/associations/fees/{fee}/pay-today" in client.get("/").get_data(as_text=True)
    response = client.submit(f"/associations/fees/{fee}/pay-today", {"version": version, "method": "bank_transfer"}, htmx=True)
    assert response.status_code == 200 and response.get_data(as_text=True) == ""
    assert "Payment of" in response.headers["HX-Trigger"]
    with app.app_context():
        paid = db.session.get(MembershipFee, fee)
        assert paid.paid_on == clock.today() and paid.method == PaymentMethod.BANK_TRANSFER
    assert _audited(app, "membership_fees", fee)[-1]["paid_on"]["new"] == clock.today().isoformat()
    fees = client.get("/").get_data(as_text=True).split('id="home-unpaid-fees"')[1].split("</section>")[0]
    assert "未納 太郎" not in fees


def test_a_fee_payment_from_home_is_undone_on_the_fees_page(app, signed_in, unpaid_fee):
    association, fee, version = unpaid_fee()
    client = signed_in(Role.ASSOCIATION_STAFF, association=association)
    client.submit(f"/associations/fees/{fee}/pay-today", {"version": version, "method": "cash"}, htmx=True)
    page = client.get(f"/associations/{association}/fees").get_data(as_text=True)
    assert f"/associations/fees/{fee}/cancel-payment" in page
    response = client.submit(f"/associations/fees/{fee}/cancel-payment", {"version": version}, htmx=True)
    assert response.status_code == 409  # the payment made a new version
    response = client.submit(f"/associations/fees/{fee}/cancel-payment", {"version": version + 1}, htmx=True)
    assert response.status_code == 200 and "cancelled" in response.headers["HX-Trigger"]
    assert f"/associations/fees/{fee}/pay" in response.get_data(as_text=True)  # the row offers the payment again
    with app.app_context():
        assert db.session.get(MembershipFee, fee).paid_on is None
    assert "未納 太郎" in client.get("/").get_data(as_text=True)


def test_a_stale_or_repeated_fee_payment_from_home_is_refused_on_the_item(app, signed_in, unpaid_fee):
    association, fee, version = unpaid_fee()
    client = signed_in(Role.ASSOCIATION_STAFF, association=association)
    stale = client.submit(f"/associations/fees/{fee}/pay-today", {"version": version - 1, "method": "cash"}, htmx=True)
    assert stale.status_code == 409 and "Someone else changed" in stale.get_data(as_text=True)
    assert f'id="fee-due-{fee}"' in stale.get_data(as_text=True)
    assert client.submit(f"/associations/fees/{fee}/pay-today", {"version": version, "method": "cash"}, htmx=True).status_code == 200
    again = client.submit(f"/associations/fees/{fee}/pay-today", {"version": version, "method": "cash"}, htmx=True)
    assert again.status_code == 422 and "already paid" in again.get_data(as_text=True)


def test_another_associations_fee_cannot_be_paid_or_cancelled(app, signed_in, unpaid_fee):
    mine, _, _ = unpaid_fee()
    _, theirs, version = unpaid_fee(HYOGO, name="他会 未納")
    client = signed_in(Role.ASSOCIATION_STAFF, association=mine)
    assert client.submit(f"/associations/fees/{theirs}/pay-today", {"version": version, "method": "cash"}, htmx=True).status_code == 404
    assert client.submit(f"/associations/fees/{theirs}/cancel-payment", {"version": version}, htmx=True).status_code == 404
    with app.app_context():
        assert db.session.get(MembershipFee, theirs).paid_on is None


def test_fee_payment_from_home_without_csrf_token_is_refused(app, signed_in, unpaid_fee):
    association, fee, version = unpaid_fee()
    client = signed_in(Role.ASSOCIATION_STAFF, association=association)
    for action in ("pay-today", "cancel-payment"):
        assert client.post(f"/associations/fees/{fee}/{action}", data={"version": version, "method": "cash"},
                           headers={"HX-Request": "true"}).status_code == 400
    with app.app_context():
        assert db.session.get(MembershipFee, fee).paid_on is None


def test_imports_awaiting_their_user_offer_the_step_on_home(app, tottori):
    from tests.test_imports import GOOD_ROWS, csv_bytes, latest_job, map_and_check, upload

    assert upload(tottori, csv_bytes(GOOD_ROWS)).status_code == 303
    checked = latest_job(app).id
    map_and_check(tottori, app, checked)
    failed = _job(app, TOTTORI, "failed.csv", JobState.FAILED)
    _job(app, HYOGO, "hyogo-failed.csv", JobState.FAILED)
    imports = tottori.get("/").get_data(as_text=True).split('id="home-imports"')[1].split("</section>")[0]
    assert f'action="/imports/{checked}/commit"' in imports and "Import 3 rows" in imports
    assert f'action="/imports/{failed}/restart"' in imports and "hyogo-failed" not in imports
    # The button is a plain form: it leads on to the job's page, where the progress is followed.
    response = tottori.submit(f"/imports/{checked}/commit")
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/imports/{checked}")
    with app.app_context():
        assert db.session.get(ImportJob, checked).state == JobState.DONE
    response = tottori.submit(f"/imports/{failed}/restart")
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/imports/{failed}")
    imports = tottori.get("/").get_data(as_text=True).split('id="home-imports"')[1].split("</section>")[0]
    assert "/commit" not in imports and f"/imports/{failed}/restart" not in imports


def test_import_steps_of_another_prefecture_or_without_csrf_token_are_refused(app, tottori):
    hyogo = _job(app, HYOGO, "hyogo-failed.csv", JobState.FAILED)
    assert tottori.submit(f"/imports/{hyogo}/restart").status_code == 404
    mine = _job(app, TOTTORI, "failed.csv", JobState.FAILED)
    assert tottori.post(f"/imports/{mine}/restart").status_code == 400
    with app.app_context():
        assert db.session.get(ImportJob, mine).state == JobState.FAILED


def test_administrators_see_failed_imports_without_a_step_they_cannot_take(app, signed_in):
    failed = _job(app, TOTTORI, "failed.csv", JobState.FAILED)
    html = signed_in(Role.ADMIN).get("/").get_data(as_text=True)
    assert "failed.csv" in html and f"/imports/{failed}/restart" not in html
