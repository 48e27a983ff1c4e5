"""Japanese and English: a complete catalogue, the user's choice, Accept-Language, dates per locale."""
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from crm.auth.models import Role, User
from crm.extensions import db

ROOT = Path(__file__).resolve().parent.parent
CATALOGUE = ROOT / "crm" / "translations" / "ja" / "LC_MESSAGES" / "messages.po"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None, "lazy_ngettext": (1, 2)}
METHODS = [("crm/**.py", "python"), ("templates/**.html", "jinja2")]
# As in babel.cfg: the extensions the app's Jinja environment uses.
OPTIONS = {"templates/**.html": {"extensions": "jinja2.ext.do"}}


def source_messages() -> set[str]:
    found = set()
    for _filename, _line, message, _comments, _context in extract_from_dir(str(ROOT), METHODS, keywords=KEYWORDS, options_map=OPTIONS):
        found.add(message if isinstance(message, str) else message[0])
    return found


def test_extraction_reads_every_template(app):
    """Jinja's extractor silently skips a template it cannot parse, hiding its strings from the
    catalogue check above: every template must parse with the extraction's settings."""
    from jinja2 import Environment

    environment = Environment(extensions=["jinja2.ext.i18n", "jinja2.ext.do"])
    for path in sorted((ROOT / "templates").rglob("*.html")):
        environment.parse(path.read_text(encoding="utf-8"), name=str(path))


def test_strings_in_shared_templates_are_extracted():
    messages = source_messages()
    assert "Previous" in messages and "Page %(page)s of %(pages)s" in messages


def test_every_message_has_a_japanese_translation():
    with CATALOGUE.open("rb") as handle:
        catalogue = read_po(handle)
    translated = {
        (entry.id if isinstance(entry.id, str) else entry.id[0])
        for entry in catalogue
        if entry.id and not entry.fuzzy and (entry.string if isinstance(entry.string, str) else all(entry.string))
    }
    missing = sorted(source_messages() - translated)
    assert not missing, f"{len(missing)} message(s) have no Japanese translation (run `make messages`): {missing[:10]}"


def test_extraction_finds_the_messages():
    messages = source_messages()
    assert "Sign in" in messages and "Kyushu-Okinawa" in messages and len(messages) > 100


def test_accept_language_decides_for_visitors(client):
    assert "サインイン" in client.get("/login", headers={"Accept-Language": "ja,en;q=0.5"}).get_data(as_text=True)
    assert "Sign in" in client.get("/login", headers={"Accept-Language": "en-GB,en;q=0.9"}).get_data(as_text=True)
    assert 'lang="ja"' in client.get("/login", headers={"Accept-Language": "fr"}).get_data(as_text=True)


def test_switcher_choice_beats_accept_language(client):
    client.submit("/language", {"locale": "en", "next": "/login"})
    assert "Sign in" in client.get("/login", headers={"Accept-Language": "ja"}).get_data(as_text=True)


def test_saved_choice_follows_the_user_to_a_new_browser(app, make_user):
    user_id, email = make_user(Role.PREFECTURE_STAFF, prefecture=31)
    first = app.test_client()
    first.login(email)
    first.submit("/language", {"locale": "en", "next": "/"})
    with app.app_context():
        assert db.session.get(User, user_id).locale == "en"
    second = app.test_client()
    second.login(email)
    assert "Sign out" in second.get("/", headers={"Accept-Language": "ja"}).get_data(as_text=True)


def test_language_switch_redirect_stays_on_site(client):
    response = client.submit("/language", {"locale": "ja", "next": "https://evil.example/"})
    assert response.headers["Location"] == "/"


def test_dates_and_fiscal_year_formatted_per_locale(app, make_user):
    _, email = make_user(Role.PREFECTURE_STAFF, prefecture=31)
    client = app.test_client()
    client.login(email)
    client.submit("/language", {"locale": "ja", "next": "/"})
    japanese = client.get("/").get_data(as_text=True)
    assert "年度" in japanese and "年" in japanese and "鳥取県" in japanese
    client.submit("/language", {"locale": "en", "next": "/"})
    english = client.get("/").get_data(as_text=True)
    assert "FY20" in english and "Tottori" in english
