"""The shared fields (crm/forms.py) are the only kind of select, integer and date field any form
declares, so each refuses what its column cannot hold before anything is written."""
import importlib
import pkgutil
from datetime import date

import pytest
import wtforms
from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import MultiDict

import crm
from crm import forms as shared

OWN_KINDS = {wtforms.SelectField: shared.SelectField, wtforms.IntegerField: shared.IntegerField,
             wtforms.DateField: shared.DateField, wtforms.DateTimeLocalField: shared.DateTimeLocalField}


def _form_classes():
    for module in pkgutil.walk_packages(crm.__path__, "crm."):
        if module.name.endswith(".forms"):
            for value in vars(importlib.import_module(module.name)).values():
                if isinstance(value, type) and issubclass(value, wtforms.Form):
                    yield value


def test_every_form_declares_the_shared_fields():
    wrong = []
    for form_class in _form_classes():
        for name in dir(form_class):
            unbound = getattr(form_class, name, None)
            field_class = getattr(unbound, "field_class", None)
            if field_class in OWN_KINDS:
                wrong.append(f"{form_class.__module__}.{form_class.__name__}.{name}: use crm.forms.{field_class.__name__}")
    assert not wrong, "\n".join(wrong)


class Probe(wtforms.Form):
    sector = shared.SelectField(choices=shared.choices([("business", "Business")], blank=True), validators=[wtforms.validators.Optional()])
    count = shared.IntegerField(validators=[wtforms.validators.Optional()])
    money = shared.IntegerField(big=True, validators=[wtforms.validators.Optional()])
    on = shared.DateField(validators=[wtforms.validators.Optional()])


@pytest.mark.parametrize("values, field", [
    ({"sector": "not-a-sector"}, "sector"),
    ({"count": str(2**31)}, "count"),
    ({"count": str(-2**31)}, "count"),
    ({"money": str(2**63)}, "money"),
    ({"on": "0200-01-01"}, "on"),
    ({"on": "1986-12-31"}, "on"),
    ({"on": "9999-12-31"}, "on"),
])
def test_a_value_the_database_cannot_hold_is_refused_on_the_form(app_context, values, field):
    form = Probe(MultiDict(values))
    assert not form.validate() and form.errors.get(field)


def test_a_select_of_spaces_is_blank_and_good_values_pass(app_context):
    form = Probe(MultiDict({"sector": "   ", "count": str(2**31 - 1), "money": str(2**63 - 1), "on": "1987-01-01"}))
    assert form.validate(), form.errors
    assert form.sector.data == "" and form.on.data == date(1987, 1, 1)


class Required(wtforms.Form):
    position = shared.SelectField(choices=shared.choices([("alt", "ALT"), ("cir", "CIR")]), validators=[wtforms.validators.InputRequired()])
    kind = shared.SelectField(choices=shared.choices([("a", "A")], blank=True), validators=[wtforms.validators.InputRequired()])
    sector = shared.SelectField(choices=shared.choices([("a", "A")]), validators=[wtforms.validators.Optional()])


def test_a_required_select_begins_with_an_empty_choice_and_keeps_its_default(app_context):
    form = Required(data={"position": "cir"})
    html = str(form.position(required=True))
    assert html.index('<option value="">') < html.index('value="alt"')
    assert '<option selected value="cir">' in html or '<option value="cir" selected>' in html
    assert str(form.kind(required=True)).count('value=""') == 1  # its own blank choice is enough
    assert 'value=""' not in str(form.sector())  # not required: no placeholder
    assert not Required(MultiDict({"position": "", "kind": "a"})).validate()


class Translated(wtforms.Form):
    position = shared.SelectField(choices=shared.choices([("alt", _l("Alumni")), ("x&y", "<b>"), (7, "7"), ("", "")]))


def test_options_are_written_as_wtforms_writes_them_and_follow_the_language(app):
    # Options are kept per process (crm.forms._option): the same bytes as WTForms' own, the selected
    # one marked, and a translated label in the language of each request.
    for language, label in (("en", ">Alumni<"), ("ja", ">JET経験者<"), ("en", ">Alumni<")):
        with app.test_request_context(headers={"Accept-Language": language}):
            for chosen in ("alt", "x&y", "7", None):
                form = Translated(data={"position": chosen})
                html = str(form.position())
                assert html == str(wtforms.widgets.Select()(form.position)), (language, chosen)
                assert html.count(" selected") == (chosen is not None) and label in html


def test_options_equal_in_python_but_of_another_type_are_kept_apart(app_context):
    # 1 == True and "a" == a str enum member: the cache must not hand one's option to the other.
    for value in (1, True, 0, False):
        field = Translated(data={"position": None}).position
        field.choices = shared.choices([(value, "same label")])
        assert str(field()) == str(wtforms.widgets.Select()(field)), value


def test_filter_options_mark_the_current_choice_and_escape_text(app_context):
    pairs = [(f"C{number}", f"<Country {number}>") for number in range(60)]  # long: built once
    html = shared.select_options(pairs, "C3")
    assert '<option value="C3" selected>&lt;Country 3&gt;</option>' in html and html.count("selected") == 1
    assert "selected" not in shared.select_options(pairs, None)
    assert shared.select_options([("a", "<A>"), "b"], "b", label=str.upper) == '<option value="a">&lt;A&gt;</option>\n<option value="b" selected>B</option>'
