"""Every page kind, as each role, in Japanese and English, is valid HTML by the W3C Nu validator
(npm `vnu-jar`, tests/vendor/vnu.jar, fetched by `scripts/vendor-assets vnu`; needs Java:
scripts/ensure-java). The only errors allowed are htmx's `hx-*` attributes, which the HTML standard
does not know. The pages are rendered by the test client (the route walk of tests/test_glossary.py)
and validated in one run of the validator: a JVM starts in seconds, not milliseconds.

CI sets CRM_REQUIRE_HTML_VALIDATOR=1: a missing Java or jar then fails instead of skipping."""
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from crm.auth.models import Role
from tests.test_access_matrix import _alumni_samples, _export_job_sample, _import_job_sample, _outreach_sample, _privacy_request_sample
from tests.test_glossary import PAGES, ROLES

VNU = Path(__file__).parent / "vendor" / "vnu.jar"
# htmx's attributes (hx-get, hx-target …) are not in the HTML standard; nothing else is excused.
HTMX_ATTRIBUTE = re.compile(r"^Attribute [“\"]hx-[a-z:-]+[”\"] not allowed on element")


def _validator() -> list[str]:
    java = shutil.which("java")
    missing = [what for what, present in (("java (scripts/ensure-java)", java), (f"{VNU} (scripts/vendor-assets vnu)", VNU.exists()))
               if not present]
    if missing:
        reason = "the W3C Nu validator cannot run: missing " + " and ".join(missing)
        if os.environ.get("CRM_REQUIRE_HTML_VALIDATOR"):
            pytest.fail(reason)
        pytest.skip(reason)
    return [java, "-Xss8m", "-jar", str(VNU)]


def validate(files: list[Path]) -> dict[str, list[str]]:
    """Validate many files in one JVM → {file name: ["line N: message", …]} for the errors not excused."""
    result = subprocess.run([*_validator(), "--errors-only", "--format", "json", "--exit-zero-always", *map(str, files)],
                            capture_output=True, text=True, timeout=600)
    report = json.loads(result.stderr or result.stdout)
    errors: dict[str, list[str]] = {}
    for message in report["messages"]:
        if message.get("type") in ("error", "non-document-error") and not HTMX_ATTRIBUTE.match(message["message"]):
            name = Path(message.get("url", "?")).name
            errors.setdefault(name, []).append(f"line {message.get('lastLine', '?')}: {message['message']} {message.get('extract', '')!r}")
    return errors


def test_the_validator_reports_an_error_and_excuses_only_htmx(tmp_path):
    good = tmp_path / "good.html"
    good.write_text('<!doctype html><html lang="en"><head><meta charset="utf-8"><title>t</title></head>'
                    '<body><button hx-post="/x">x</button></body></html>', encoding="utf-8")
    bad = tmp_path / "bad.html"
    bad.write_text('<!doctype html><html lang="en"><head><meta charset="utf-8"><title>t</title></head>'
                   '<body><label for="nowhere">x</label><select name="s" required><option value="a">a</option></select></body></html>',
                   encoding="utf-8")
    errors = validate([good, bad])
    assert "good.html" not in errors
    assert len(errors["bad.html"]) == 2, errors  # the label's missing control, the required select without a placeholder


@pytest.fixture
def pages(app, make_user, make_association, make_alumnus, make_contact, make_member, make_fee, make_program,
          make_activity, make_ambassador, make_investment):
    """Every GET page of the access matrix as (role, language) → [(url, html)], the sign-in page as anonymous."""
    _validator()  # skip (or fail) before rendering anything
    association = make_association()
    member = make_member(association)
    samples = _alumni_samples(app, make_alumnus, make_contact)
    samples.update(fee=make_fee(member), program=make_program(association), ambassador=make_ambassador(samples["alumnus"]),
                   activity=make_activity(samples["alumnus"]), investment=make_investment(), **_import_job_sample(app),
                   **_privacy_request_sample(app, samples["alumnus"]), **_outreach_sample(app, samples["alumnus"]),
                   **_export_job_sample(app, make_user(Role.PREFECTURE_STAFF, prefecture=31)[0]))
    rendered = {}
    anonymous = app.test_client()
    with anonymous.get("/login") as response:
        rendered[("anonymous", "en")] = [("/login", response.get_data(as_text=True))]
    for role in ROLES:
        binding = {Role.PREFECTURE_STAFF: {"prefecture": 31}, Role.ASSOCIATION_STAFF: {"association": association}}.get(role, {})
        _user_id, email = make_user(role, **binding)
        for language in ("en", "ja"):
            client = app.test_client()
            client.login(email)
            found = rendered.setdefault((role.value, language), [])
            for path in PAGES:
                url = path.format(user=1, association=association, member=member, **samples)
                with client.get(url, headers={"Accept-Language": language}) as response:
                    if response.status_code == 200 and response.mimetype == "text/html":
                        found.append((url, response.get_data(as_text=True)))
    return rendered


def test_every_page_is_valid_html_for_every_role_in_both_languages(pages, tmp_path):
    files, names = [], {}
    for (role, language), rendered in pages.items():
        for number, (url, html) in enumerate(rendered):
            path = tmp_path / f"{role}-{language}-{number}.html"
            path.write_text(html, encoding="utf-8")
            files.append(path)
            names[path.name] = f"{role} {language} {url}"
    assert len(files) > 100  # the walk reached the pages
    errors = validate(files)
    assert errors == {}, "\n".join(f"{names.get(name, name)}: {error}" for name, found in sorted(errors.items()) for error in found)
