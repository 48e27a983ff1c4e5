"""Languages: which locale a request gets, enumerations whose values carry translatable labels, and
the date filter templates use."""
from __future__ import annotations

import os
from datetime import UTC, date, datetime
from enum import StrEnum
from functools import cache

from babel import Locale, dates
from flask import current_app, g, has_request_context, request, session
from flask_babel import get_locale, get_timezone

SESSION_LOCALE_KEY = "locale"


def select_locale() -> str:
    """The user's saved choice, else this browser session's choice, else Accept-Language."""
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():
        # The command line speaks the operator's language (LANG=ja_JP.UTF-8), else English.
        language = os.environ.get("LANG", "")[:2]
        return language if language in languages else "en"
    # Only a user Flask-Login has already loaded: loading one here could re-enter this function.
    user = g.get("_login_user")
    if getattr(user, "is_authenticated", False) and user.locale in languages:
        return user.locale
    chosen = session.get(SESSION_LOCALE_KEY)
    if chosen in languages:
        return chosen
    return request.accept_languages.best_match(languages) or current_app.config["BABEL_DEFAULT_LOCALE"]


def is_japanese() -> bool:
    # The language alone: formatting the whole locale identifier costs more than the comparison,
    # and lists ask this once per row.
    return get_locale().language == "ja"


# Translated enumeration labels by (language, member): catalogues do not change while the app
# runs, and a list renders the same few labels on every row.
_translated_labels: dict[tuple[str, StrEnum], str] = {}


class LabelledEnum(StrEnum):
    """A StrEnum whose members carry a translated label: `Member("value", _l("Label"))`."""

    def __new__(cls, value: str, label=None):
        member = str.__new__(cls, value)
        member._value_ = value
        member._lazy_label = label if label is not None else value
        return member

    @property
    def label(self):
        """The label in the request's language (translated once per language), or the lazy
        string outside a request (module-level form choices translate when shown)."""
        if not has_request_context():
            return self._lazy_label
        key = (get_locale().language, self)
        label = _translated_labels.get(key)
        if label is None:
            label = _translated_labels[key] = str(self._lazy_label)
        return label

    @classmethod
    def choices(cls) -> list[tuple[str, object]]:
        return [(member.value, member.label) for member in cls]


class UnknownCode(str):
    """A stored code that no member of its enumeration has (see crm.db.StoredEnum): it reads as
    itself wherever a member's value or label would be shown."""

    @property
    def value(self) -> str:
        return str(self)

    @property
    def label(self) -> str:
        return str(self)

    name = label


NAMED_DATE_FORMATS = ("short", "medium", "long", "full")


@cache
def _date_pattern(locale: Locale, format: str) -> dates.DateTimePattern:
    return dates.parse_pattern(dates.get_date_format(format, locale=locale) if format in NAMED_DATE_FORMATS else format)


def format_date(value: date | datetime, format: str = "medium") -> str:
    """The `dateformat` template filter: what flask_babel's does (a timestamp is first moved to the
    user's time zone), with each locale's pattern parsed once instead of on every call — a list
    formats one date per row."""
    if isinstance(value, datetime):
        value = (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(get_timezone()).date()
    locale = get_locale()
    return _date_pattern(locale, format).apply(value, locale)
