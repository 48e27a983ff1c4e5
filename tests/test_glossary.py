"""The words: every page, as each role, in Japanese, says one thing one way.

Rendering a page records which catalogue entries (context, msgid) it translated and into what. Two
entries of different meaning that read the same on one page leave the reader guessing which is
meant (氏名 over a list of networks); the glossary gives each concept one entry."""
from collections import defaultdict

import pytest
from babel.support import Translations

from crm.auth.models import Role
from tests.test_access_matrix import MATRIX, _alumni_samples

ROLES = [Role.ADMIN, Role.PREFECTURE_STAFF, Role.ASSOCIATION_STAFF, Role.MINISTRY_REVIEWER]

# Entries that share a translation because they mean the same thing (a heading and a button, a
# sentence-case variant): saying so here is the deliberate act the test asks for.
SAME_MEANING: list[set] = [
    # Japanese nouns have no plural.
    {"Alumni", "Alumnus"}, {"Activities", "Activity"}, {"Tag", "Tags"}, {"Program", "Programs"},
    {"Indicator", "Indicators"}, {"Partner", "Partners"}, {"User", "Users"}, {"Alumni network", "Alumni networks"},
    {"Ambassador", "Ambassadors", "Hometown ambassador", "Hometown ambassadors"},
    # An adjective and its noun.
    {"Municipal", "Municipality"}, {"Prefectural", "Prefecture"},
    # A longer and a shorter wording of one thing.
    {"Fiscal year", "Fiscal year (年度)"}, {"Log activity", "Log an activity"},
    {"Alumni associations abroad", "Japan alumni associations abroad", "Japan alumni association abroad"},
    # What a contact entry or an activity was about.
    {"Description", "Summary"},
]


@pytest.fixture
def recorded(monkeypatch):
    """(context, msgid) → msgstr of every translation made while the block runs."""
    seen: dict[tuple, str] = {}
    plain, contextual = Translations.ugettext, Translations.upgettext

    def ugettext(self, message):
        translated = plain(self, message)
        seen[(None, message)] = translated
        return translated

    def upgettext(self, context, message):
        translated = contextual(self, context, message)
        seen[(context, message)] = translated
        return translated

    monkeypatch.setattr(Translations, "ugettext", ugettext)
    monkeypatch.setattr(Translations, "upgettext", upgettext)
    return seen


def _same_meaning(entries) -> bool:
    messages = {message for _, message in entries}
    return any(messages <= group for group in SAME_MEANING)


def clashes(seen: dict) -> list[str]:
    """Translations that two entries of different meaning share."""
    by_translation = defaultdict(set)
    for entry, translated in seen.items():
        if translated and translated != entry[1]:
            by_translation[translated].add(entry)
    return [f"{translated!r} ← {sorted(entries, key=str)}" for translated, entries in by_translation.items()
            if len(entries) > 1 and not _same_meaning(entries)]


def test_clashes_finds_two_entries_sharing_a_translation():
    seen = {(None, "Name"): "氏名", ("organisation", "Name"): "名称", (None, "Full name"): "氏名"}
    assert clashes(seen) == ["'氏名' ← [(None, 'Full name'), (None, 'Name')]"]


def test_the_glossary_names_each_concept_as_staff_say_it(app):
    from flask_babel import force_locale

    from crm.glossary import term

    expected = {"channel.email": "メール", "channel.phone": "電話", "email_address": "メールアドレス", "phone_number": "電話番号",
                "person_name": "氏名", "organisation_name": "名称", "ambassador_title": "称号", "program_title": "事業名"}
    with app.test_request_context(), force_locale("ja"):
        assert {key: str(term(key)) for key in expected} == expected


def test_an_activity_kind_reads_the_same_in_the_form_the_list_and_the_report(app):
    from flask_babel import force_locale

    from crm.ambassadors.forms import ActivityForm
    from crm.ambassadors.models import ActivityKind

    with app.test_request_context(), force_locale("ja"):
        form = ActivityForm(meta={"csrf": False})
        offered = {choice.value: str(choice.label) for choice in form.kind.choices if choice.value}
        assert offered == {kind.value: str(kind.label) for kind in ActivityKind}
        assert offered["tourism"] == "観光PR"


PAGES = sorted({path for (endpoint, method, path) in MATRIX if method == "GET" and not endpoint.startswith("static")
                and not path.endswith((".ics", ".xlsx", ".csv", "/export")) and "export" not in endpoint})


def test_no_page_says_two_things_the_same_way(app, make_user, make_association, make_alumnus, make_contact, make_member,
                                              make_fee, make_program, make_activity, make_ambassador, make_investment, recorded):
    from crm.auth.models import User
    from crm.extensions import db
    from tests.test_access_matrix import _import_job_sample, _outreach_sample, _privacy_request_sample

    association = make_association()
    member = make_member(association)
    samples = _alumni_samples(app, make_alumnus, make_contact)
    samples.update(fee=make_fee(member), program=make_program(association), ambassador=make_ambassador(samples["alumnus"]),
                   activity=make_activity(samples["alumnus"]), investment=make_investment(), **_import_job_sample(app),
                   **_privacy_request_sample(app, samples["alumnus"]), **_outreach_sample(app, samples["alumnus"]))
    users = {}
    for role in ROLES:
        binding = {Role.PREFECTURE_STAFF: {"prefecture": 31}, Role.ASSOCIATION_STAFF: {"association": association}}.get(role, {})
        user_id, email = make_user(role, **binding)
        with app.app_context():
            db.session.get(User, user_id).locale = "ja"
            db.session.commit()
        users[role] = email
    failures = []
    for role, email in users.items():
        client = app.test_client()
        client.login(email)
        for path in PAGES:
            url = path.format(user=1, association=association, member=member, **samples)
            recorded.clear()
            with client.get(url) as response:
                if response.status_code != 200:
                    continue
            failures += [f"{role.value} {url}: {clash}" for clash in clashes(recorded)]
    assert not failures, "\n".join(failures)


def test_two_enumerations_sharing_a_value_keep_their_own_labels(app):
    from flask_babel import force_locale

    from crm.alumni.models import Sector
    from crm.ambassadors.models import ActivityKind

    with app.test_request_context(), force_locale("ja"):
        assert Sector.BUSINESS.label == "企業"
        assert ActivityKind.BUSINESS.label == "ビジネス・貿易の紹介"
        assert ActivityKind.TOURISM.label == "観光PR" and Sector.TOURISM.label == "観光"
