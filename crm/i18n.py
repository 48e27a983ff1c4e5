"""Languages: which locale a request gets, and enumerations whose values carry translatable labels."""
from __future__ import annotations

import os
from enum import StrEnum

from flask import current_app, g, has_request_context, request, session
from flask_babel import get_locale

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
    return str(get_locale()) == "ja"


class LabelledEnum(StrEnum):
    """A StrEnum whose members carry a lazily translated label: `Member("value", _l("Label"))`."""

    def __new__(cls, value: str, label=None):
        member = str.__new__(cls, value)
        member._value_ = value
        member.label = label if label is not None else value
        return member

    @classmethod
    def choices(cls) -> list[tuple[str, object]]:
        return [(member.value, member.label) for member in cls]
