"""Ambassadors, activities and investment: quick logging, inline review, scope, stale edits."""
from datetime import date

from crm.ambassadors.models import Activity, ActivityStatus, Ambassador, Investment
from crm.audit import AuditEntry
from crm.auth.models import Role
from crm.extensions import db
from tests.conftest import HYOGO, TOTTORI, fragment


def _log(client, alumnus_id, **values):
    data = {"log-alumnus": alumnus_id, "log-occurred_on": "2025-03-31", "log-kind": "tourism", "log-country": "US",
            "log-description": "Seattle food fair stand", "log-people_reached": "300", "log-economic_value_yen": "120000",
            "log-economic_value_basis": "Orders placed at the fair", "log-evidence_url": "https://example.org/fair"}
    data.update({f"log-{key}": value for key, value in values.items()})
    return client.submit("/ambassadors/activities", data, htmx=True)


def test_quick_log_adds_a_reported_activity_in_the_right_fiscal_year(app, signed_in, make_alumnus):
    client = signed_in(Role.PREFECTURE_STAFF)
    alumnus = make_alumnus(TOTTORI)
    response = _log(client, alumnus)
    assert response.status_code == 200 and fragment(response.text)
    assert "Seattle food fair stand" in response.text and 'hx-swap-oob="true"' in response.text
    with app.app_context():
        activity = db.session.scalar(db.select(Activity))
        assert activity.status == ActivityStatus.REPORTED and activity.prefecture_id == TOTTORI
        assert activity.fiscal_year == 2024  # 31 March belongs to the 年度 that began the April before


def test_bad_evidence_link_is_refused_inline_and_nothing_written(app, signed_in, make_alumnus):
    client = signed_in(Role.PREFECTURE_STAFF)
    response = _log(client, make_alumnus(TOTTORI), evidence_url="javascript:alert(1)")
    assert response.status_code == 422 and "http or https" in response.text
    response = _log(client, make_alumnus(TOTTORI, family="Jones"), economic_value_basis="")
    assert response.status_code == 422 and "how the economic value was estimated" in response.text
    response = _log(client, make_alumnus(TOTTORI, family="Lee"), occurred_on="2999-01-01")  # a slip for 2019
    assert response.status_code == 422 and "cannot be in the future" in response.text
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Activity)) == 0


def test_tottori_staff_cannot_log_for_a_hyogo_only_alumnus(app, signed_in, make_alumnus):
    client = signed_in(Role.PREFECTURE_STAFF)
    assert _log(client, make_alumnus(HYOGO)).status_code == 404
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Activity)) == 0


def test_verify_inline_records_who_and_when(app, signed_in, make_alumnus, make_activity):
    client = signed_in(Role.PREFECTURE_STAFF)
    activity_id = make_activity(make_alumnus(TOTTORI), status="reported")
    response = client.submit(f"/ambassadors/activities/{activity_id}/review", {"status": "verified"}, htmx=True)
    assert response.status_code == 200 and fragment(response.text) and "Verified" in response.text
    with app.app_context():
        activity = db.session.get(Activity, activity_id)
        assert activity.status == ActivityStatus.VERIFIED and activity.reviewed_by_id and activity.reviewed_at


def test_tottori_staff_cannot_reach_hyogo_records_by_id_list_or_partial(app, signed_in, make_alumnus, make_activity,
                                                                        make_ambassador, make_investment):
    hyogo_alumnus = make_alumnus(HYOGO, family="Kobe")
    activity = make_activity(hyogo_alumnus, HYOGO, status="reported", description="Hyogo-only sake tasting")
    ambassador = make_ambassador(hyogo_alumnus, HYOGO, title="兵庫県ふるさと大使")
    investment = make_investment(HYOGO)
    client = signed_in(Role.PREFECTURE_STAFF)
    for url in (f"/ambassadors/activities/{activity}", f"/ambassadors/activities/{activity}/edit",
                f"/ambassadors/{ambassador}", f"/ambassadors/{ambassador}/edit",
                f"/ambassadors/investment/{investment}", f"/ambassadors/investment/{investment}/edit",
                f"/reports/return/{HYOGO}", f"/reports/return/{HYOGO}/export"):
        assert client.get(url).status_code == 404, url
        assert client.htmx_get(url).status_code == 404, url
    assert client.submit(f"/ambassadors/activities/{activity}/review", {"status": "verified"}, htmx=True).status_code == 404
    assert client.submit(f"/ambassadors/investment/{investment}", {"investment-{investment}-fiscal_year": "2020",
                                                                   "investment-{investment}-version": "1"}).status_code == 404
    for url in ("/ambassadors/activities", "/ambassadors", "/ambassadors/investment"):
        page = client.get(url).text
        assert "Hyogo-only sake tasting" not in page and "兵庫県ふるさと大使" not in page and "Kobe" not in page
    with app.app_context():
        assert db.session.get(Activity, activity).status == ActivityStatus.REPORTED
        assert db.session.get(Investment, investment).fiscal_year == 2025


def test_ministry_never_sees_individual_activities(signed_in, make_alumnus, make_activity):
    activity = make_activity(make_alumnus(TOTTORI))
    client = signed_in(Role.MINISTRY_REVIEWER)
    assert client.get("/ambassadors/activities").status_code == 403
    assert client.get(f"/ambassadors/activities/{activity}").status_code == 403


def test_stale_investment_edit_gets_409_and_the_first_save_stays(app, signed_in, make_investment):
    investment = make_investment(TOTTORI, 2025)
    client = signed_in(Role.PREFECTURE_STAFF)
    prefix = f"investment-{investment}"
    first = {f"{prefix}-fiscal_year": "2025", f"{prefix}-alt_count": "11", f"{prefix}-hosting_cost_yen": "31000000", f"{prefix}-version": "1"}
    assert client.submit(f"/ambassadors/investment/{investment}", first, htmx=True).status_code == 200
    second = {**first, f"{prefix}-alt_count": "99"}
    response = client.submit(f"/ambassadors/investment/{investment}", second, htmx=True)
    assert response.status_code == 409 and "changed this record meanwhile" in response.text
    with app.app_context():
        assert db.session.get(Investment, investment).alt_count == 11


def test_one_investment_row_per_prefecture_and_year(app, signed_in, make_investment):
    make_investment(TOTTORI, 2025)
    client = signed_in(Role.PREFECTURE_STAFF)
    response = client.submit("/ambassadors/investment", {"new-fiscal_year": "2025", "new-alt_count": "3"}, htmx=True)
    assert response.status_code == 422 and "entered already" in response.text
    assert client.submit("/ambassadors/investment", {"new-fiscal_year": "2024", "new-alt_count": "3"}).status_code == 303
    with app.app_context():
        rows = db.session.scalars(db.select(Investment).order_by(Investment.fiscal_year)).all()
        assert [(r.prefecture_id, r.fiscal_year) for r in rows] == [(TOTTORI, 2024), (TOTTORI, 2025)]


def test_stale_activity_edit_gets_409(app, signed_in, make_alumnus, make_activity):
    activity = make_activity(make_alumnus(TOTTORI), status="reported")
    client = signed_in(Role.PREFECTURE_STAFF)
    prefix = f"activity-{activity}"
    data = {f"{prefix}-occurred_on": "2025-04-01", f"{prefix}-kind": "article", f"{prefix}-description": "First edit",
            f"{prefix}-version": "1"}
    assert client.submit(f"/ambassadors/activities/{activity}", data, htmx=True).status_code == 200
    response = client.submit(f"/ambassadors/activities/{activity}", {**data, f"{prefix}-description": "Second"}, htmx=True)
    assert response.status_code == 409
    with app.app_context():
        assert db.session.get(Activity, activity).description == "First edit"


def test_appointment_with_term_ending_before_start_is_refused(app, signed_in, make_alumnus):
    client = signed_in(Role.PREFECTURE_STAFF)
    alumnus = make_alumnus(TOTTORI)
    data = {"alumnus": alumnus, "title": "鳥取県ふるさと大使", "term_start_on": "2025-04-01", "term_end_on": "2025-03-01"}
    response = client.submit("/ambassadors", data, htmx=True)
    assert response.status_code == 422 and "cannot end before it starts" in response.text
    assert client.submit("/ambassadors", {**data, "term_end_on": "2027-03-31"}).status_code == 303
    with app.app_context():
        ambassador = db.session.scalar(db.select(Ambassador))
        assert ambassador.prefecture_id == TOTTORI and ambassador.alumnus_id == alumnus
    page = client.get("/ambassadors").text
    assert "Current ambassadors" in page and "鳥取県ふるさと大使" in page


def test_activity_list_is_a_fragment_for_htmx_and_a_page_otherwise(signed_in, make_alumnus, make_activity):
    make_activity(make_alumnus(TOTTORI), description="Pear promotion in Lyon")
    client = signed_in(Role.PREFECTURE_STAFF)
    partial = client.htmx_get("/ambassadors/activities?status=verified")
    assert fragment(partial.text) and "Pear promotion in Lyon" in partial.text
    assert not fragment(client.get("/ambassadors/activities?status=verified").text)


def test_record_rows_are_fragments_for_htmx_and_pages_otherwise(signed_in, make_alumnus, make_activity, make_ambassador, make_investment):
    alumnus = make_alumnus(TOTTORI)
    urls = [f"/ambassadors/activities/{make_activity(alumnus)}", f"/ambassadors/{make_ambassador(alumnus)}",
            f"/ambassadors/investment/{make_investment()}"]
    client = signed_in(Role.PREFECTURE_STAFF)
    for url in urls + [u + "/edit" for u in urls]:
        assert fragment(client.htmx_get(url).text), url
        assert not fragment(client.get(url).text), url


def test_merge_moves_activities_to_the_survivor(app, make_alumnus, make_activity):
    from crm.alumni import operations
    from crm.alumni.models import Alumnus

    survivor, other = make_alumnus(TOTTORI), make_alumnus(TOTTORI, family="Smyth")
    activity = make_activity(other)
    with app.app_context():
        operations.merge(db.session.get(Alumnus, survivor), db.session.get(Alumnus, other))
        db.session.commit()
        assert db.session.get(Activity, activity).alumnus_id == survivor


def test_report_export_is_recorded_in_the_audit_trail(app, signed_in):
    client = signed_in(Role.PREFECTURE_STAFF)
    with client.get(f"/reports/return/{TOTTORI}/export?format=csv&year=2025") as response:
        assert response.status_code == 200
    with app.app_context():
        entry = db.session.scalar(db.select(AuditEntry).where(AuditEntry.action == "export"))
        assert entry.details["report"] == "local_return" and entry.details["fiscal_year"] == 2025


# --- The alumnus page's activity panel -------------------------------------------------------------

def _log_for(client, alumnus_id, htmx=True, **values):
    """Quick log from the alumnus page: the alumnus is in the address, not in the form."""
    data = {"log-occurred_on": "2025-06-01", "log-kind": "promotion_event", "log-country": "US",
            "log-description": "Sand dunes talk in Seattle", "log-people_reached": "40"}
    data.update({f"log-{key}": value for key, value in values.items()})
    return client.submit(f"/ambassadors/alumni/{alumnus_id}/activities", data, htmx=htmx)


def _activity_count(app) -> int:
    with app.app_context():
        return db.session.scalar(db.select(db.func.count()).select_from(Activity))


def test_quick_log_from_the_alumnus_page_adds_a_row_and_a_fresh_form(app, client, make_user, make_alumnus):
    _, email = make_user(Role.PREFECTURE_STAFF, prefecture=TOTTORI)
    client.login(email)
    alumnus = make_alumnus(TOTTORI)
    response = _log_for(client, alumnus)
    assert response.status_code == 200 and fragment(response.text)
    assert response.text.lstrip().startswith('<tr id="activity-') and "Sand dunes talk in Seattle" in response.text
    # The fresh form comes out of band and still posts to this alumnus, without a picker.
    assert 'hx-swap-oob="true"' in response.text and f'hx-post="/ambassadors/alumni/{alumnus}/activities"' in response.text
    assert 'name="log-alumnus"' not in response.text
    with app.app_context():
        activity = db.session.scalar(db.select(Activity))
        assert (activity.alumnus_id, activity.prefecture_id, activity.status) == (alumnus, TOTTORI, ActivityStatus.REPORTED)
        entry = db.session.scalar(db.select(AuditEntry).where(AuditEntry.record_type == "ambassador_activities",
                                                              AuditEntry.record_id == str(activity.id)))
        assert entry.action == "create" and entry.actor == email
        assert entry.changes["description"]["new"] == "Sand dunes talk in Seattle"


def test_quick_log_from_the_alumnus_page_without_htmx_returns_to_the_panel(signed_in, make_alumnus):
    client = signed_in(Role.PREFECTURE_STAFF)
    alumnus = make_alumnus(TOTTORI)
    response = _log_for(client, alumnus, htmx=False)
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/alumni/{alumnus}#alumnus-activities")


def test_tottori_staff_cannot_log_for_a_hyogo_only_alumnus_by_forging_its_id(app, signed_in, make_alumnus):
    client = signed_in(Role.PREFECTURE_STAFF)
    hyogo_only = make_alumnus(HYOGO, family="Kobe")
    assert _log_for(client, hyogo_only).status_code == 404
    assert _log_for(client, hyogo_only, htmx=False).status_code == 404
    assert client.htmx_get(f"/ambassadors/alumni/{hyogo_only}/activities").status_code == 404
    assert _activity_count(app) == 0
    with app.app_context():
        denial = db.session.scalar(db.select(AuditEntry).where(AuditEntry.action == "denied"))
        assert denial.record_type == "alumni" and denial.record_id == str(hyogo_only)


def test_panel_of_a_shared_alumnus_shows_only_the_prefectures_own_activities(signed_in, make_alumnus, make_activity):
    shared = make_alumnus(TOTTORI, HYOGO)
    make_activity(shared, TOTTORI, description="Tottori pear tasting")
    make_activity(shared, HYOGO, description="Kobe sake seminar")
    make_activity(make_alumnus(TOTTORI, family="Other"), TOTTORI, description="Someone else's talk")
    tottori = signed_in(Role.PREFECTURE_STAFF).htmx_get(f"/ambassadors/alumni/{shared}/activities").text
    assert "Tottori pear tasting" in tottori
    assert "Kobe sake seminar" not in tottori and "Someone else" not in tottori
    assert 'id="log-form"' in tottori


def test_the_panel_links_to_all_of_the_persons_activities_within_the_scope(signed_in, make_alumnus, make_activity):
    shared = make_alumnus(TOTTORI, HYOGO, family="Shared")
    make_activity(shared, TOTTORI, description="Tottori pear tasting")
    make_activity(shared, HYOGO, description="Kobe sake seminar")
    make_activity(make_alumnus(TOTTORI, family="Other"), TOTTORI, description="Someone else's talk")
    hyogo_only = make_alumnus(HYOGO, family="Kobe")
    client = signed_in(Role.PREFECTURE_STAFF)
    assert f'/ambassadors/activities?alumnus={shared}"' in client.htmx_get(f"/ambassadors/alumni/{shared}/activities").text
    page = client.get(f"/ambassadors/activities?alumnus={shared}").text
    assert "Tottori pear tasting" in page and "SHARED" in page
    assert "Kobe sake seminar" not in page and "Someone else" not in page
    assert f'name="alumnus" value="{shared}"' in page  # changing another filter keeps the person
    assert client.get(f"/ambassadors/activities?alumnus={hyogo_only}").status_code == 404
    assert "Someone else" in client.get("/ambassadors/activities?alumnus=x").text  # not a number: no filter


def test_administrators_see_every_prefectures_activities_in_the_panel_but_do_not_log(signed_in, make_alumnus, make_activity):
    shared = make_alumnus(TOTTORI, HYOGO)
    make_activity(shared, TOTTORI, description="Tottori pear tasting")
    make_activity(shared, HYOGO, description="Kobe sake seminar")
    client = signed_in(Role.ADMIN)
    panel = client.htmx_get(f"/ambassadors/alumni/{shared}/activities").text
    assert "Tottori pear tasting" in panel and "Kobe sake seminar" in panel
    assert 'id="log-form"' not in panel and "/review" in panel
    assert _log_for(client, shared).status_code == 403


def test_invalid_quick_log_on_the_alumnus_page_shows_errors_in_the_form(app, signed_in, make_alumnus):
    client = signed_in(Role.PREFECTURE_STAFF)
    alumnus = make_alumnus(TOTTORI)
    response = _log_for(client, alumnus, description="", evidence_url="javascript:alert(1)")
    assert response.status_code == 422 and fragment(response.text)
    assert response.headers["HX-Retarget"] == "closest form" and response.headers["HX-Reswap"] == "outerHTML"
    assert response.text.lstrip().startswith('<form id="log-form"') and "http or https" in response.text
    assert f'action="/ambassadors/alumni/{alumnus}/activities"' in response.text
    # Without htmx the panel comes back as a page, the form open with the same errors.
    response = _log_for(client, alumnus, htmx=False, description="")
    assert response.status_code == 422 and not fragment(response.text)
    assert "This field is required." in response.text and "<details class=\"quick-add\" open>" in response.text
    assert _activity_count(app) == 0


def test_alumnus_panel_is_a_fragment_for_htmx_and_a_page_otherwise(signed_in, make_alumnus, make_activity):
    alumnus = make_alumnus(TOTTORI)
    make_activity(alumnus, TOTTORI, description="Tottori pear tasting")
    client = signed_in(Role.PREFECTURE_STAFF)
    url = f"/ambassadors/alumni/{alumnus}/activities"
    panel = client.htmx_get(url)
    assert panel.status_code == 200 and fragment(panel.text) and "Tottori pear tasting" in panel.text
    page = client.get(url)
    assert page.status_code == 200 and not fragment(page.text) and "Tottori pear tasting" in page.text
    # The alumnus page only holds the panel's loader: its activities come from the panel's own route.
    detail = client.get(f"/alumni/{alumnus}").text
    assert f'hx-get="{url}" hx-trigger="load"' in detail and "Tottori pear tasting" not in detail


def test_alumnus_panel_queries_do_not_grow_with_its_rows(app, make_user, client, make_alumnus, make_activity):
    from crm.ambassadors import operations
    from crm.auth.models import User
    from tests.test_alumni import _queries

    _, email = make_user(Role.PREFECTURE_STAFF, prefecture=TOTTORI)
    client.login(email)
    reviewer, _email = make_user(Role.PREFECTURE_STAFF, prefecture=TOTTORI)
    alumnus = make_alumnus(TOTTORI)
    url = f"/ambassadors/alumni/{alumnus}/activities"
    make_activity(alumnus, TOTTORI, description="Only one")
    one = (_queries(app, client, url), _queries(app, client, url, htmx=True))
    for number in range(12):
        activity = make_activity(alumnus, TOTTORI, on=date(2024, 4, number + 1), status="verified", description=f"Talk {number}")
        with app.app_context():
            operations.review(db.session.get(Activity, activity), ActivityStatus.VERIFIED, db.session.get(User, reviewer))
            db.session.commit()
    many = (_queries(app, client, url), _queries(app, client, url, htmx=True))
    assert client.htmx_get(url).text.count('<tr id="activity-') == 10
    assert one == many


# --- One appointment per person and term -----------------------------------------------------------

def _appointments(app) -> list[tuple]:
    with app.app_context():
        return db.session.execute(db.select(Ambassador.alumnus_id, Ambassador.term_start_on, Ambassador.term_end_on)
                                  .order_by(Ambassador.term_start_on)).all()


def test_an_appointment_sent_again_after_a_validation_error_is_refused_not_doubled(app, signed_in, make_alumnus):
    client = signed_in(Role.PREFECTURE_STAFF)
    alumnus = make_alumnus(TOTTORI)
    data = {"alumnus": alumnus, "title": "鳥取県ふるさと大使", "term_start_on": "2025-04-01", "term_end_on": "2025-03-01"}
    assert client.submit("/ambassadors", data, htmx=True).status_code == 422
    fixed = {**data, "term_end_on": "2027-03-31"}
    assert client.submit("/ambassadors", fixed, htmx=True).status_code == 204  # HX-Redirect
    again = client.submit("/ambassadors", fixed, htmx=True)
    assert again.status_code == 422 and "already ambassador for a term that overlaps" in again.text and "2025-04-01" in again.text
    assert client.submit("/ambassadors", fixed).status_code == 422  # without htmx too
    assert _appointments(app) == [(alumnus, date(2025, 4, 1), date(2027, 3, 31))]


def test_overlapping_terms_of_one_person_are_refused_and_the_next_term_is_not(app, signed_in, make_alumnus, make_ambassador):
    client = signed_in(Role.PREFECTURE_STAFF)
    alumnus = make_alumnus(TOTTORI)
    make_ambassador(alumnus, start=date(2023, 4, 1), end=date(2025, 3, 31))
    data = {"alumnus": alumnus, "title": "鳥取県ふるさと大使"}
    for start, end in (("2024-04-01", "2026-03-31"), ("2022-04-01", ""), ("2025-03-31", "2025-04-30"), ("2020-01-01", "2023-04-01")):
        refused = client.submit("/ambassadors", {**data, "term_start_on": start, "term_end_on": end}, htmx=True)
        assert refused.status_code == 422, (start, end)
    assert client.submit("/ambassadors", {**data, "term_start_on": "2025-04-01", "term_end_on": ""}, htmx=True).status_code == 204
    # An open-ended term runs on: nothing later may start inside it.
    assert client.submit("/ambassadors", {**data, "term_start_on": "2030-04-01", "term_end_on": ""}, htmx=True).status_code == 422
    # Another person, or the same person for another prefecture, is not a clash.
    other = make_alumnus(TOTTORI, family="Other")
    assert client.submit("/ambassadors", {**data, "alumnus": other, "term_start_on": "2024-04-01"}, htmx=True).status_code == 204
    make_ambassador(alumnus, prefecture=HYOGO, start=date(2024, 4, 1))
    assert len(_appointments(app)) == 4


def test_an_edit_cannot_make_two_terms_of_one_person_overlap(app, signed_in, make_alumnus, make_ambassador):
    client = signed_in(Role.PREFECTURE_STAFF)
    alumnus = make_alumnus(TOTTORI)
    make_ambassador(alumnus, start=date(2021, 4, 1), end=date(2023, 3, 31))
    later = make_ambassador(alumnus, start=date(2023, 4, 1), end=date(2025, 3, 31))
    prefix = f"ambassador-{later}-"
    data = {prefix + "title": "鳥取県ふるさと大使", prefix + "term_start_on": "2022-04-01", prefix + "term_end_on": "2025-03-31",
            prefix + "version": "1"}
    refused = client.submit(f"/ambassadors/{later}", data, htmx=True)
    assert refused.status_code == 422 and "overlaps" in refused.text
    # Its own term does not clash with itself.
    assert client.submit(f"/ambassadors/{later}", {**data, prefix + "term_start_on": "2023-05-01"}, htmx=True).status_code == 200


def test_two_appointments_of_one_person_sent_at_once_make_one(app, make_user, make_alumnus):
    import threading

    _, email = make_user(Role.PREFECTURE_STAFF, prefecture=TOTTORI)
    alumnus = make_alumnus(TOTTORI)
    clients = [app.test_client() for _ in range(2)]
    for client in clients:
        client.login(email)
    data = {"alumnus": alumnus, "title": "鳥取県ふるさと大使", "term_start_on": "2025-04-01"}
    barrier, statuses = threading.Barrier(2), []

    def send(client):
        barrier.wait()
        statuses.append(client.submit("/ambassadors", data).status_code)

    threads = [threading.Thread(target=send, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [303, 422]
    assert len(_appointments(app)) == 1
