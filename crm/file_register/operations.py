"""One prefecture's register of personal information files, entry by entry, in the items and order
public bodies publish (個人情報ファイル簿: 法第74条, 第75条), read from crm.file_register.models."""
from __future__ import annotations

from flask import current_app
from flask_babel import gettext as _, lazy_gettext as _l

from crm.file_register.models import FILES, PersonalFile, items_of
from crm.i18n import is_japanese
from crm.reference.models import Prefecture

# The register's items, in the published order.
HEADINGS = {
    "name": _l("Name of the file"),
    "body": _l("Public body"),
    "office": _l("Organisation in charge of the work"),
    "purpose": _l("Purpose of use"),
    "items": _l("Items recorded"),
    "scope": _l("Whose records"),
    "collection": _l("How records are collected"),
    "special_care": _l("Special-care personal information"),
    "recipients": _l("Regular recipients"),
    "requests": _l("Where requests for disclosure, correction and suspension of use are received"),
    "other_law": _l("Special procedures under other laws"),
    "kind": _l("Kind of file"),
    "retention": _l("Retention"),
}


def _retention(file: PersonalFile) -> str:
    if file.retention is None:
        return _("Not set: kept until the association deletes the record.")
    return _("Anonymised %(years)s years after the last placement end, contact, activity or consent, or when the "
             "person asks for deletion; the aggregate figures stay.", years=current_app.config["RETENTION_INACTIVE_YEARS"])


def entries(prefecture: Prefecture) -> list[dict]:
    """Each file's entry for `prefecture`: item key → its text (the recorded items as a list)."""
    result = []
    for file in FILES:
        items = items_of(file.key)
        result.append({
            "name": str(file.name),
            "body": prefecture.name,
            "office": _("%(prefecture)s, the office in charge of the JET Programme and international exchange",
                        prefecture=prefecture.name),
            "purpose": str(file.purpose),
            "items": [str(item.label) for item in items],
            "scope": str(file.scope),
            "collection": str(file.collection),
            "special_care": _("Included") if any(item.special_care for item in items) else _("None"),
            "recipients": str(file.recipients),
            "requests": _("%(prefecture)s, the information disclosure desk", prefecture=prefecture.name),
            "other_law": _("None"),
            "kind": _("Computer-processed file"),
            "retention": _retention(file),
        })
    return result


def csv_rows(prefecture: Prefecture):
    """One row per file, one column per item (the recorded items joined), as published spreadsheets are."""
    separator = "、" if is_japanese() else ", "
    for entry in entries(prefecture):
        yield [separator.join(value) if isinstance(value, list) else value for value in entry.values()]
