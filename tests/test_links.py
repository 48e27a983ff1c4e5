"""Links between domains: JET alumni involved in exchange-association programs (within the alumni
scope), the ambassador filter and badge on the alumni list, and the alumni picker."""
import pytest
from sqlalchemy import func, select

from crm.associations.models import ProgramAlumnus
from crm.audit import AuditEntry
from crm.auth.models import Role
from crm.extensions import db
from tests.conftest import HYOGO, TOTTORI, fragment


def _links(app, program_id=None) -> list[int]:
    with app.app_context():
        statement = select(ProgramAlumnus.alumnus_id).order_by(ProgramAlumnus.alumnus_id)
        if program_id is not None:
            statement = statement.where(ProgramAlumnus.program_id == program_id)
        return list(db.session.scalars(statement))


def _link(app, program_id, alumnus_id):
    with app.app_context():
        db.session.add(ProgramAlumnus(program_id=program_id, alumnus_id=alumnus_id))
        db.session.commit()


@pytest.fixture
def tottori_program(make_association, make_program):
    association = make_association(TOTTORI, "鳥取県国際交流財団")
    return association, make_program(association, title="同窓会")


# --- Linking alumni to programs --------------------------------------------------------------------

def test_tottori_staff_link_a_tottori_alumnus_and_the_audit_trail_records_it(app, signed_in, tottori_program, make_alumnus):
    _association, program = tottori_program
    alumnus = make_alumnus(TOTTORI, family="Okafor", given="Grace")
    client = signed_in(Role.PREFECTURE_STAFF, prefecture=TOTTORI)
    response = client.submit(f"/associations/programs/{program}/alumni", {"alumnus": alumnus}, htmx=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and fragment(html) and "OKAFOR, Grace" in html
    assert _links(app, program) == [alumnus]
    # Linking again changes nothing.
    assert client.submit(f"/associations/programs/{program}/alumni", {"alumnus": alumnus}, htmx=True).status_code == 200
    assert _links(app, program) == [alumnus]
    with app.app_context():
        entries = db.session.scalars(select(AuditEntry).where(AuditEntry.record_type == "program_alumni")).all()
        assert [entry.action for entry in entries] == ["create"]
    # The alumnus's page lists the program.
    page = client.get(f"/alumni/{alumnus}").get_data(as_text=True)
    assert "同窓会" in page and f"/associations/programs/{program}" in page


def test_unlink_removes_the_link_and_is_audited(app, signed_in, tottori_program, make_alumnus):
    _association, program = tottori_program
    alumnus = make_alumnus(TOTTORI)
    _link(app, program, alumnus)
    client = signed_in(Role.PREFECTURE_STAFF, prefecture=TOTTORI)
    response = client.submit(f"/associations/programs/{program}/alumni/{alumnus}/remove", htmx=True)
    assert response.status_code == 200 and "No JET alumni linked yet." in response.get_data(as_text=True)
    assert _links(app, program) == []
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.record_type == "program_alumni", AuditEntry.action == "delete")) == 1


def test_link_without_htmx_redirects_to_the_program(app, signed_in, tottori_program, make_alumnus):
    _association, program = tottori_program
    alumnus = make_alumnus(TOTTORI)
    client = signed_in(Role.PREFECTURE_STAFF, prefecture=TOTTORI)
    response = client.submit(f"/associations/programs/{program}/alumni", {"alumnus": alumnus})
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/associations/programs/{program}#program-alumni")


def test_program_alumni_section_is_a_fragment_for_htmx_and_a_page_without(signed_in, tottori_program):
    _association, program = tottori_program
    client = signed_in(Role.PREFECTURE_STAFF, prefecture=TOTTORI)
    assert fragment(client.htmx_get(f"/associations/programs/{program}/alumni").get_data(as_text=True))
    assert not fragment(client.get(f"/associations/programs/{program}/alumni").get_data(as_text=True))


def test_hyogo_staff_cannot_link_a_tottori_only_alumnus(app, signed_in, make_association, make_program, make_alumnus):
    program = make_program(make_association(HYOGO, "兵庫県国際交流協会"))
    tottori_only = make_alumnus(TOTTORI, family="Tanaka")
    client = signed_in(Role.PREFECTURE_STAFF, prefecture=HYOGO)
    assert client.submit(f"/associations/programs/{program}/alumni", {"alumnus": tottori_only}, htmx=True).status_code == 404
    assert _links(app) == []


def test_hyogo_staff_cannot_link_to_or_unlink_from_a_tottori_program(app, signed_in, tottori_program, make_alumnus):
    _association, program = tottori_program
    shared = make_alumnus(TOTTORI, HYOGO)
    _link(app, program, shared)
    client = signed_in(Role.PREFECTURE_STAFF, prefecture=HYOGO)
    other = make_alumnus(HYOGO)
    assert client.submit(f"/associations/programs/{program}/alumni", {"alumnus": other}).status_code == 404
    assert client.submit(f"/associations/programs/{program}/alumni/{shared}/remove").status_code == 404
    assert client.htmx_get(f"/associations/programs/{program}/alumni").status_code == 404
    assert _links(app) == [shared]


def test_tottori_staff_see_only_the_linked_alumni_they_reach(app, signed_in, tottori_program, make_alumnus):
    _association, program = tottori_program
    mine, hyogo_only = make_alumnus(TOTTORI, family="Mine"), make_alumnus(HYOGO, family="Kobe")
    _link(app, program, mine)
    _link(app, program, hyogo_only)  # an administrator linked someone from elsewhere
    client = signed_in(Role.PREFECTURE_STAFF, prefecture=TOTTORI)
    html = client.get(f"/associations/programs/{program}").get_data(as_text=True)
    assert "MINE" in html and "KOBE" not in html and "1 more alumnus is linked outside the alumni you may see." in html
    # Nor can they unlink the one they cannot reach.
    assert client.submit(f"/associations/programs/{program}/alumni/{hyogo_only}/remove").status_code == 404
    assert _links(app, program) == sorted([mine, hyogo_only])


def test_association_staff_see_only_the_number_of_linked_alumni(app, signed_in, tottori_program, make_alumnus):
    association, program = tottori_program
    consenting = make_alumnus(TOTTORI, family="Consenting", email="consent@example.org", contact_consent=True)
    other = make_alumnus(TOTTORI, family="Quiet", kana="クワイエット")
    _link(app, program, consenting)
    _link(app, program, other)
    client = signed_in(Role.ASSOCIATION_STAFF, association=association)
    for url in (f"/associations/programs/{program}", f"/associations/programs/{program}/alumni"):
        html = client.get(url).get_data(as_text=True)
        assert "2 JET alumni linked." in html, url
        for secret in ("CONSENTING", "Consenting", "consent@example.org", "QUIET", "クワイエット", f"/alumni/{consenting}"):
            assert secret not in html, (url, secret)
    # They cannot link, unlink or search the registry.
    assert client.submit(f"/associations/programs/{program}/alumni", {"alumnus": other}).status_code == 403
    assert client.submit(f"/associations/programs/{program}/alumni/{other}/remove").status_code == 403
    assert client.htmx_get("/alumni/pick?q=quiet").status_code == 403
    assert _links(app, program) == sorted([consenting, other])


def test_linking_without_a_choice_or_a_ceased_alumnus_is_refused(app, signed_in, tottori_program, make_alumnus):
    _association, program = tottori_program
    ceased = make_alumnus(TOTTORI, cease_use=True)
    client = signed_in(Role.PREFECTURE_STAFF, prefecture=TOTTORI)
    response = client.submit(f"/associations/programs/{program}/alumni", {}, htmx=True)
    assert response.status_code == 422 and "Choose an alumnus." in response.get_data(as_text=True)
    response = client.submit(f"/associations/programs/{program}/alumni", {"alumnus": ceased}, htmx=True)
    assert response.status_code == 422 and "data has ceased: they cannot be linked" in response.get_data(as_text=True)
    assert _links(app) == []


def test_forged_csrf_on_link_is_refused(app, signed_in, tottori_program, make_alumnus):
    _association, program = tottori_program
    alumnus = make_alumnus(TOTTORI)
    client = signed_in(Role.PREFECTURE_STAFF, prefecture=TOTTORI)
    assert client.post(f"/associations/programs/{program}/alumni", data={"alumnus": alumnus, "csrf_token": "forged"}).status_code == 400
    assert _links(app) == []


def test_alumnus_page_shows_only_programs_the_user_reaches(app, signed_in, make_association, make_program, make_alumnus):
    shared = make_alumnus(TOTTORI, HYOGO)
    tottori_program = make_program(make_association(TOTTORI, "鳥取県国際交流財団"), title="鳥取の催し")
    hyogo_program = make_program(make_association(HYOGO, "兵庫県国際交流協会"), title="兵庫の催し")
    _link(app, tottori_program, shared)
    _link(app, hyogo_program, shared)
    html = signed_in(Role.PREFECTURE_STAFF, prefecture=TOTTORI).get(f"/alumni/{shared}").get_data(as_text=True)
    assert "鳥取の催し" in html and "兵庫の催し" not in html


# --- The picker ------------------------------------------------------------------------------------

def test_picker_searches_within_scope_and_is_a_fragment_for_htmx(signed_in, make_alumnus):
    make_alumnus(TOTTORI, family="Okafor", given="Grace")
    make_alumnus(HYOGO, family="Okamoto", given="Ken")
    make_alumnus(TOTTORI, family="Okabe", given="Ceased", cease_use=True)
    client = signed_in(Role.PREFECTURE_STAFF, prefecture=TOTTORI)
    response = client.htmx_get("/alumni/pick?q=oka&field=log-alumnus")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and fragment(html)
    assert 'name="log-alumnus"' in html and "OKAFOR" in html and "OKAMOTO" not in html and "OKABE" not in html
    assert not fragment(client.get("/alumni/pick?q=oka").get_data(as_text=True))
    assert client.htmx_get('/alumni/pick?q=oka&field="><script>').status_code == 404


# --- The ambassador filter and badge on the alumni list ---------------------------------------------

def test_ambassador_filter_and_badge_follow_the_term_and_the_prefecture(app, signed_in, make_user, make_alumnus, make_ambassador):
    from datetime import date, timedelta

    today = date.today()
    current = make_alumnus(TOTTORI, family="Current")
    past = make_alumnus(TOTTORI, family="Past")
    make_alumnus(TOTTORI, family="Plain")  # neither ambassador nor shared
    shared = make_alumnus(TOTTORI, HYOGO, family="Shared")
    make_ambassador(current, start=today - timedelta(days=30))
    make_ambassador(past, start=today - timedelta(days=800), end=today - timedelta(days=400))
    make_ambassador(shared, prefecture=HYOGO, start=today - timedelta(days=30))
    tottori = signed_in(Role.PREFECTURE_STAFF, prefecture=TOTTORI)

    def names(query):
        html = tottori.htmx_get("/alumni", query_string=query).get_data(as_text=True)
        return {name for name in ("CURRENT", "PAST", "PLAIN", "SHARED") if f">{name}, John<" in html}, html

    found, html = names({})
    assert found == {"CURRENT", "PAST", "PLAIN", "SHARED"}
    assert html.count("Current ambassador") == 1  # the badge: Tottori's own current ambassador only
    assert names({"ambassador": "current"})[0] == {"CURRENT"}
    assert names({"ambassador": "any"})[0] == {"CURRENT", "PAST"}
    assert names({"ambassador": "bogus"})[0] == {"CURRENT", "PAST", "PLAIN", "SHARED"}
    # Hyogo's staff see their own appointment of the shared alumnus, not Tottori's.
    hyogo = app.test_client()
    hyogo.login(make_user(Role.PREFECTURE_STAFF, prefecture=HYOGO)[1])
    hyogo_html = hyogo.htmx_get("/alumni", query_string={"ambassador": "current"}).get_data(as_text=True)
    assert "SHARED" in hyogo_html and "CURRENT" not in hyogo_html


# --- The picker replaces the <select> of every alumnus (activities, appointments) -------------------

def test_activity_and_appointment_forms_no_longer_list_every_alumnus(signed_in, make_alumnus):
    make_alumnus(TOTTORI, family="Hidden")
    client = signed_in(Role.PREFECTURE_STAFF, prefecture=TOTTORI)
    for url in ("/ambassadors/activities", "/ambassadors"):
        html = client.get(url).get_data(as_text=True)
        assert "HIDDEN" not in html and "/alumni/pick?field=" in html, url


def test_a_rejected_activity_keeps_the_chosen_alumnus(app, signed_in, make_alumnus):
    from crm.ambassadors.models import Activity

    alumnus = make_alumnus(TOTTORI, family="Chosen")
    client = signed_in(Role.PREFECTURE_STAFF, prefecture=TOTTORI)
    response = client.submit("/ambassadors/activities", {"log-alumnus": alumnus, "log-kind": "tourism"}, htmx=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and f'value="{alumnus}" checked' in html and "CHOSEN" in html
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Activity)) == 0


def test_hyogo_staff_cannot_log_or_appoint_a_tottori_only_alumnus(app, signed_in, make_alumnus):
    from crm.ambassadors.models import Activity, Ambassador

    tottori_only = make_alumnus(TOTTORI)
    client = signed_in(Role.PREFECTURE_STAFF, prefecture=HYOGO)
    logged = client.submit("/ambassadors/activities", {"log-alumnus": tottori_only, "log-kind": "tourism",
                                                       "log-occurred_on": "2025-05-01", "log-description": "Fair"}, htmx=True)
    appointed = client.submit("/ambassadors", {"alumnus": tottori_only, "title": "大使", "term_start_on": "2025-04-01"})
    assert logged.status_code == 404 and appointed.status_code == 404
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Activity)) == 0
        assert db.session.scalar(select(func.count()).select_from(Ambassador)) == 0
