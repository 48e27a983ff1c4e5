"""The fields every form uses instead of WTForms' own. Each refuses, with a clear message on the
form, what the database cannot hold or the app must never store — before anything is written:

- a select accepts only one of its choices (WTForms' `Optional()` clears the "Not a valid choice"
  error of a value made of spaces and let "   " be saved as a sector, which then broke every page
  that read it); surrounding spaces are dropped first, so a blank stays blank;
- an integer fits its column (PostgreSQL's `integer` is 32 bits, SQLite's 64: a larger number
  failed in the driver with a 500);
- a date lies between the first year the app deals with (the JET Programme began in 1987) and 2100
  (year 1 or 9999 failed when moved between time zones or by a day);
- a country is one of the known codes.

The pieces every domain's forms share live here too: `VersionedForm`, `choices`, `strip`,
`known_country`, `at_most_days_ahead`.

tests/test_forms.py checks that no form declares WTForms' own kind of these fields.
"""
from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import wtforms
from flask_babel import format_decimal, gettext as _, lazy_gettext as _l
from flask_wtf import FlaskForm
from markupsafe import Markup, escape
from wtforms import HiddenField
from wtforms.fields.choices import Choice, SelectChoice
from wtforms.validators import Optional, StopValidation, ValidationError

from crm import clock
from crm.db import LARGEST_INTEGER, LARGEST_SMALL_INTEGER
from crm.reference import fiscal_year
from crm.reference.countries import country_choices, is_country

FIRST_DAY = date(1987, 1, 1)  # the JET Programme's first year
LAST_DAY = date(2100, 12, 31)


class PlaceholderSelect(wtforms.widgets.Select):
    """A select that, when required and without a blank choice of its own, begins with an empty
    "Choose…" option (HTML requires one; it also keeps a new record from taking the first choice
    unnoticed). A default or the saved value stays selected."""

    def __call__(self, field, **kwargs):
        html = super().__call__(field, **kwargs)
        if not (kwargs.get("required") or field.flags.required) or field.choices is None:
            return html
        first = next(iter(field.iter_choices()), None)
        if first is not None and first[0] in ("", None):
            return html
        start = html.index(">") + 1
        placeholder = Markup('<option value="">%s</option>') % _("Choose…")
        return Markup(html[:start]) + placeholder + Markup(html[start:])

    @classmethod
    def render_option(cls, choice, **kwargs):
        # An option is the same few words on every page that shows it (a record's page renders the
        # 47 prefectures of its placement form each time): WTForms' output, kept per process and
        # keyed by the label's text (a lazy translation becomes the request's language first).
        if kwargs or choice.render_kw or not isinstance(choice.value, str | int | None):
            return super().render_option(choice, **kwargs)
        return _option(choice.value, str(choice.label) if choice.label is not None else None, choice.selected)


def select_options(choices, current=None, key: str = "value", text: str = "label", label=None) -> Markup:
    """The `<option>`s of a list filter (templates/_form.html `select_filter`), with `current` selected.
    A choice is an enum member or object (its `key` and `text` attributes), a (value, text) pair, or a
    plain value shown through `label`. Built here rather than in a template loop, and a long list of
    pairs (the country filter's 250, the same on every list page of a language) is built once."""
    current = None if current is None else str(current)
    if len(choices) > LONG_OPTIONS and all(type(choice) is tuple for choice in choices):
        values, options = _pair_options(tuple(choices))
        if current in values:
            index = values.index(current)
            options = [*options[:index], options[index].replace('">', '" selected>', 1), *options[index + 1:]]
        return Markup("\n".join(options))
    parts = []
    for choice in choices:
        if not isinstance(choice, tuple) and hasattr(choice, key):
            value, shown = getattr(choice, key), getattr(choice, text)
        elif isinstance(choice, tuple):
            value, shown = choice
        else:
            value, shown = choice, label(choice) if label else choice
        value = str(value)
        selected = " selected" if value == current else ""
        parts.append(f'<option value="{escape(value)}"{selected}>{escape(shown)}</option>')
    return Markup("\n".join(parts))


LONG_OPTIONS = 40


@lru_cache(maxsize=4096, typed=True)  # typed: 1 and True (or a str enum member and its text) are equal keys otherwise
def _option(value: str | int | None, label: str | None, selected: bool) -> Markup:
    return wtforms.widgets.Select.render_option(Choice(value, label, selected, None))


@lru_cache(maxsize=16)
def _pair_options(choices: tuple[tuple[str, str], ...]) -> tuple[list[str], list[str]]:
    """(values, unselected `<option>`s) of (value, text) pairs."""
    return [str(value) for value, _shown in choices], [f'<option value="{escape(value)}">{escape(shown)}</option>' for value, shown in choices]


class SelectField(wtforms.SelectField):
    """A select whose value is always one of its choices (or blank, where blank is a choice)."""

    widget = PlaceholderSelect()

    def process_formdata(self, valuelist):
        super().process_formdata([value.strip() if isinstance(value, str) else value for value in valuelist])

    def post_validate(self, form, validation_stopped):
        # `Optional()` stops the chain and clears the errors pre_validate raised: check again.
        if validation_stopped and self.validate_choice and not self.errors and self.raw_data:
            try:
                self.pre_validate(form)
            except ValidationError as error:
                self.errors.append(error.args[0])


class IntegerField(wtforms.IntegerField):
    """A whole number its database column can hold: PostgreSQL's 32-bit `integer` (SQLAlchemy's
    Integer), or with `big=True` a BigInteger (money)."""

    def __init__(self, label=None, validators=None, big: bool = False, **kwargs):
        super().__init__(label, validators, **kwargs)
        self.largest = LARGEST_INTEGER if big else LARGEST_SMALL_INTEGER

    def pre_validate(self, form):
        if self.data is not None and not -self.largest <= self.data <= self.largest:
            raise StopValidation(_("Enter a number between %(min)s and %(max)s.",
                                   min=format_decimal(-self.largest), max=format_decimal(self.largest)))


class FiscalYearField(IntegerField):
    """A 年度, typed as people write it (2025, 令和7, R7, 7) and shown as the app labels it
    elsewhere (令和7年度, FY2025), from `earliest` to 2100."""

    def __init__(self, label=None, validators=None, earliest: int = FIRST_DAY.year, **kwargs):
        kwargs.setdefault("description", _l("For example 2025, 令和7 or R7."))
        # Text, not a number input: 令和7年度 must be shown and typed back as it is.
        kwargs.setdefault("widget", wtforms.widgets.TextInput())
        super().__init__(label, validators, **kwargs)
        self.earliest = earliest

    def process_formdata(self, valuelist):
        if not valuelist or not valuelist[0].strip():
            self.data = None
            return
        self.data = fiscal_year.parse(valuelist[0])
        if self.data is None:
            raise ValueError(_("Enter a fiscal year such as 2025, 令和7 or R7."))

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return fiscal_year.label(self.data) if self.data is not None else ""

    def pre_validate(self, form):
        if self.data is not None and not self.earliest <= self.data <= LAST_DAY.year:
            raise StopValidation(_("Enter a fiscal year from %(earliest)s (%(label)s) to %(latest)s.", earliest=self.earliest,
                                   label=fiscal_year.label(self.earliest), latest=LAST_DAY.year))


class _DateBounds:
    """A date no earlier than `earliest` (default: JET's first year) and no later than 2100."""

    def __init__(self, label=None, validators=None, earliest: date = FIRST_DAY, **kwargs):
        super().__init__(label, validators, **kwargs)
        self.earliest = earliest

    def post_validate(self, form, validation_stopped):
        # After the field's own validators, whose message about the same date says more ("cannot
        # be in the future").
        day = self.data.date() if hasattr(self.data, "date") else self.data
        if day is not None and not self.errors and not self.earliest <= day <= LAST_DAY:
            self.errors.append(_("Enter a date between %(earliest)s and %(latest)s.",
                                 earliest=self.earliest.isoformat(), latest=LAST_DAY.isoformat()))


class DateField(_DateBounds, wtforms.DateField):
    pass


class DateTimeLocalField(_DateBounds, wtforms.DateTimeLocalField):
    pass


def choices(pairs, blank: bool = False) -> list[SelectChoice]:
    """(value, label) pairs as WTForms options, optionally led by an empty "—" option."""
    options = [SelectChoice("", "—")] if blank else []
    return options + [SelectChoice(value, label) for value, label in pairs]


def strip(value):
    """A text field's filter: surrounding spaces dropped."""
    return value.strip() if isinstance(value, str) else value


def known_country(_form, field):
    if field.data and not is_country(field.data):
        raise ValidationError(_l("Unknown country code; choose a country from the list."))


def at_most_days_ahead(days: int):
    """A date no later than `days` after today in Japan (0: not in the future): a typing slip such as
    2999 for 2019 is refused instead of counting in a far 年度."""
    def check(_form, field):
        latest = clock.today() + timedelta(days=days)
        if field.data and field.data > latest:
            raise ValidationError(_l("The date cannot be in the future.") if days == 0
                                  else _l("The date cannot be later than %(date)s.", date=latest.isoformat()))
    return check


class CountryField(SelectField):
    """A country select whose unknown codes get the clear message of `known_country`."""

    def __init__(self, label=None, validators=None, **kwargs):
        super().__init__(label, validators=[*(validators or [Optional()]), known_country], validate_choice=False,
                         filters=[lambda value: value.upper() if value else None], **kwargs)

    def fill(self):
        self.choices = choices(country_choices(), blank=True)


class VersionedForm(FlaskForm):
    # The version the form was rendered from; compared, never assigned.
    version = HiddenField()

    def fill_choices(self):
        """The country selects' options, filled when the form is shown (they depend on the locale)."""
        for field in self:
            if isinstance(field, CountryField):
                field.fill()
        return self
