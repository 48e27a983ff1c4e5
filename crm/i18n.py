"""Languages: the compiled catalogues, which locale a request gets, enumerations whose values carry
translatable labels, and the date filter templates use."""
from __future__ import annotations

import os
from datetime import UTC, date, datetime
from enum import StrEnum
from functools import cache, lru_cache
from pathlib import Path

from babel import Locale, dates
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import current_app, g, has_request_context, request, session
from flask_babel import get_locale, get_timezone, get_translations

SESSION_LOCALE_KEY = "locale"
CATALOGUES = Path(__file__).with_name("translations")


def compiled_catalogues(fallback: Path) -> list[str]:
    """The translation directories for Flask-Babel, every catalogue compiled.

    Only the .po files are in git (and in the package): a .mo missing or older than its .po is
    compiled here, at start-up, whatever way the app was installed — without it every page reads
    in English under lang="ja". Where the package cannot be written (a read-only install), the
    catalogue is compiled under `fallback` (the instance folder) and that directory comes first.
    Compiling takes a fraction of a second and happens once per change of the .po; concurrent
    workers each write a file of their own and rename it into place.
    """
    directories = [str(CATALOGUES)]
    for source in sorted(CATALOGUES.glob("*/LC_MESSAGES/*.po")):
        compiled = source.with_suffix(".mo")
        elsewhere = fallback / source.relative_to(CATALOGUES).with_suffix(".mo")
        if _current(compiled, source):
            continue
        if not _current(elsewhere, source):
            try:
                _compile(source, compiled)
                continue
            except OSError:
                elsewhere.parent.mkdir(parents=True, exist_ok=True)
                _compile(source, elsewhere)
        if str(fallback) not in directories:
            directories.insert(0, str(fallback))
    return directories


def _current(compiled: Path, source: Path) -> bool:
    try:
        return compiled.stat().st_mtime >= source.stat().st_mtime
    except OSError:
        return False


def _compile(source: Path, compiled: Path) -> None:
    with source.open("rb") as po:
        catalogue = read_po(po, locale=source.parent.parent.name)
    partial = compiled.with_name(f".{compiled.name}.{os.getpid()}.partial")
    try:
        with partial.open("wb") as mo:
            write_mo(mo, catalogue)  # fuzzy entries left out, as `pybabel compile` does
        os.replace(partial, compiled)
    finally:
        partial.unlink(missing_ok=True)


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


# Translated enumeration labels by (language, enumeration, value): catalogues do not change while
# the app runs, and a list renders the same few labels on every row. The enumeration is part of the
# key because members are strings: Sector.BUSINESS == ActivityKind.BUSINESS == "business", and
# keyed by member alone an activity kind read as whichever sector label was cached first (企業).
_translated_labels: dict[tuple[str, type, str], str] = {}


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
        key = (get_locale().language, type(self), self._value_)
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
    return _formatted_date(value, get_locale(), format)


def date_formatter(format: str = "medium"):
    """`format_date` for many values at once: the locale and time zone looked up once."""
    locale, zone = get_locale(), get_timezone()

    def formatted(value: date | datetime) -> str:
        if isinstance(value, datetime):
            value = (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(zone).date()
        return _formatted_date(value, locale, format)

    return formatted


@lru_cache(maxsize=4096)
def _formatted_date(value: date, locale: Locale, format: str) -> str:
    """A day as `format` writes it in `locale`: a list's rows share few days, and applying a pattern
    costs as much as the rest of a row."""
    return _date_pattern(locale, format).apply(value, locale)


def request_translations():
    """flask_babel's translations for the current locale, remembered on the request's babel context
    beside the locale they are for (so `force_locale` still switches them). flask_babel's own lookup
    reaches through `g` half a dozen times per string, and a page translates eighty strings or more."""
    babel_context = g.get("_flask_babel")
    locale = getattr(babel_context, "babel_locale", None)
    remembered = getattr(babel_context, "crm_translations", None)
    if locale is not None and remembered is not None and remembered[0] is locale:
        return remembered[1]
    translations = get_translations()
    babel_context = g.get("_flask_babel")
    if babel_context is not None and getattr(babel_context, "babel_locale", None) is not None:
        babel_context.crm_translations = (babel_context.babel_locale, translations)
    return translations


def install_template_gettext(environment) -> None:
    """The templates' `_`, `ngettext`, `pgettext` and `npgettext` through `request_translations`."""
    environment.install_gettext_callables(
        gettext=lambda string: request_translations().ugettext(string),
        ngettext=lambda singular, plural, n: request_translations().ungettext(singular, plural, n),
        pgettext=lambda context, string: request_translations().upgettext(context, string),
        npgettext=lambda context, singular, plural, n: request_translations().unpgettext(context, singular, plural, n),
        newstyle=True,
    )
