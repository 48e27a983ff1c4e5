"""The import's row check (crm.imports.form_rules) gives exactly what the alumni form gives: the same
data, the same errors, the same messages, row after row on one bound form."""
from __future__ import annotations

import pytest
from email_validator import EmailNotValidError, validate_email
from flask_babel import force_locale
from werkzeug.datastructures import MultiDict

from crm.imports.form_rules import FormRules, _plain_address
from crm.imports.targets import AlumnusRowForm

GOOD = {"family_name": "Smith", "given_name": "John", "position": "alt", "start_year": "2015"}

ROWS = [
    GOOD,
    GOOD | {"email": "John.Smith@Example.ORG ", "end_year": "2018", "citizenship": "us", "consent_on": "2024-04-01"},
    GOOD | {"email": "not-an-email", "end_year": "2012"},  # bad email, end before start
    {"given_name": "Emma", "position": "xyz", "start_year": "nineteen"},  # no family name, bad choice, not a number
    GOOD | {"start_year": "1980", "end_year": "2300"},  # outside the year range
    GOOD | {"family_name": "x" * 101, "employer": "y" * 201, "linkedin_url": "not a url"},
    GOOD | {"residence_country": "ZZ", "sector": "farming", "japanese_level": "n9"},
    GOOD | {"email": "a..b@example.org", "email_secondary": "kate@example"},
    GOOD | {"email": "ann@localhost", "email_secondary": "bo@xn--nxasmq6b.com"},
    GOOD | {"email": "x@example.test", "consent_on": "2024-13-40", "contact_consent": "y"},
    GOOD | {"end_year": "2016"},  # after rows that set other fields: nothing of them may be left over
    {"end_year": "2016"},  # no start year: the end year is not compared with the last row's
    GOOD,
]


def form_result(cells: dict) -> tuple[dict, dict]:
    form = AlumnusRowForm(formdata=None)
    form.process(MultiDict(cells))
    form.validate()
    return form.data, {name: [str(message) for message in messages] for name, messages in form.errors.items()}


@pytest.mark.parametrize("language", ["en", "ja"])
def test_row_check_gives_the_forms_data_and_messages_row_after_row(app, language):
    with app.test_request_context("/"), force_locale(language):
        rules = FormRules(AlumnusRowForm(formdata=None))
        for _round in range(2):  # the second time through, accepted cells come from memory
            for cells in ROWS:
                data, errors = rules(cells)
                assert (data, {name: [str(m) for m in messages] for name, messages in errors.items()}) == form_result(cells), cells


ADDRESSES = ["john.smith@example.org", "o'brien+jet@mail.example.co.uk", "a@b.co", "x@example.test", "ann@localhost",
             "a..b@example.org", ".a@example.org", "a.@example.org", "a@-example.org", "a@example-.org", "a@example..org",
             "a@123.456", "a@xn--nxasmq6b.com", "a@ex--ample.org", "\"quoted\"@example.org", "ann@example.org ",
             "Ann <ann@example.org>", "a@b@example.org", "a@[127.0.0.1]", "ÿ@example.org", "a@exämple.org",
             f"{'a' * 65}@example.org", f"{'a' * 64}@{'b' * 63}.{'c' * 63}.{'d' * 60}.org", "a@" + "b" * 64 + ".org",
             "a@onion", "a@example.onion", "a@example.arpa", "a@invalid", "a@example.local", "a@com"]


@pytest.mark.parametrize("address", ADDRESSES)
def test_the_email_shortcut_accepts_only_what_email_validator_accepts(address):
    from wtforms.validators import Email

    try:
        validate_email(address, check_deliverability=False)
        valid = True
    except EmailNotValidError:
        valid = False
    assert not _plain_address(address, Email()) or valid


def test_the_email_shortcut_takes_the_everyday_address_and_leaves_the_rest_to_email_validator():
    from wtforms.validators import Email

    assert _plain_address("john.smith.42@example.org", Email())
    assert not _plain_address("JOHN@EXAMPLE.ORG", Email())  # the form lower-cases first; anything else is asked
    assert not _plain_address("a@example.test", Email())  # a special-use domain: email_validator refuses it
