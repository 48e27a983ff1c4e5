"""Japanese and English: a complete catalogue, the user's choice, Accept-Language, dates per locale."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from babel.support import Translations

from crm import i18n
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


# A deployment has the files git tracks: catalogues as .po only (*.mo is ignored). The child imports
# `crm` from such a copy (the current directory comes first on its path), starts the app as
# gunicorn would, and shows the sign-in page to a Japanese browser.
_FRESH_COPY_CHILD = """
from pathlib import Path
import crm
assert Path(crm.__file__).resolve().is_relative_to(Path.cwd().resolve()), crm.__file__
app = crm.create_app()
print(app.test_client().get("/login", headers={"Accept-Language": "ja"}).get_data(as_text=True))
"""


def test_a_fresh_install_without_compiled_catalogues_serves_japanese_pages(tmp_path):
    copy = tmp_path / "checkout"
    for name in ("crm", "templates", "static", "migrations"):
        shutil.copytree(ROOT / name, copy / name, ignore=shutil.ignore_patterns("*.mo", "__pycache__"))
    assert not list(copy.glob("crm/translations/*/LC_MESSAGES/*.mo"))
    env = {**os.environ, "CRM_SECRET_KEY": "i18n-test", "CRM_DATABASE_URL": f"sqlite:///{tmp_path / 'i18n.sqlite'}"}
    result = subprocess.run([sys.executable, "-c", _FRESH_COPY_CHILD], cwd=copy, env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    assert '<html lang="ja">' in result.stdout
    assert "サインイン" in result.stdout and "Sign in" not in result.stdout
    assert (copy / "crm/translations/ja/LC_MESSAGES/messages.mo").exists()


def test_a_read_only_install_compiles_its_catalogues_into_the_instance_folder(tmp_path, monkeypatch):
    package = tmp_path / "translations"
    shutil.copytree(i18n.CATALOGUES, package, ignore=shutil.ignore_patterns("*.mo"))
    monkeypatch.setattr(i18n, "CATALOGUES", package)
    compile_for_real = i18n._compile

    def read_only_package(source, compiled):
        if compiled.is_relative_to(package):
            raise PermissionError(13, "Permission denied", str(compiled))
        compile_for_real(source, compiled)

    monkeypatch.setattr(i18n, "_compile", read_only_package)
    instance = tmp_path / "instance" / "translations"
    assert i18n.compiled_catalogues(instance) == [str(instance), str(package)]
    assert Translations.load(str(instance), ["ja"]).gettext("Sign in") == "サインイン"
    # Compiled once: a later start finds it current and compiles nothing.
    monkeypatch.setattr(i18n, "_compile", lambda source, compiled: pytest.fail(f"compiled {compiled} again"))
    assert i18n.compiled_catalogues(instance) == [str(instance), str(package)]


def test_a_catalogue_older_than_its_source_is_compiled_again(tmp_path, monkeypatch):
    package = tmp_path / "translations"
    shutil.copytree(i18n.CATALOGUES, package, ignore=shutil.ignore_patterns("*.mo"))
    monkeypatch.setattr(i18n, "CATALOGUES", package)
    compiled = package / "ja" / "LC_MESSAGES" / "messages.mo"
    compiled.write_bytes(b"stale")
    os.utime(compiled, (1, 1))
    assert i18n.compiled_catalogues(tmp_path / "instance") == [str(package)]
    assert Translations.load(str(package), ["ja"]).gettext("Sign in") == "サインイン"
