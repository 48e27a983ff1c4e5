"""The audit trail read as sentences: who did what to which record, in the reader's language, with
field labels instead of column names, each record linked to its page and the time in Japan.

The trail stores table and column names (they never change meaning); what a reader sees is worked
out here from the domains' own forms and routes, so a label reads as it does on the record's page.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from flask import url_for
from flask_babel import gettext as _, lazy_gettext as _l
from markupsafe import Markup, escape
from wtforms import Form
from wtforms.fields.core import UnboundField

from crm.admin import forms as admin_forms
from crm.alumni import forms as alumni_forms
from crm.ambassadors import forms as ambassador_forms
from crm.associations import forms as association_forms


@dataclass(frozen=True)
class RecordType:
    label: object
    endpoint: str | None = None  # the record's page, called with its id as `argument`
    argument: str | None = None
    forms: object = None  # the module whose forms label the record's fields


RECORD_TYPES = {
    "alumni": RecordType(_l("Alumnus"), "alumni.show_alumnus", "alumnus_id", alumni_forms),
    "placements": RecordType(_l("Placement"), "alumni.show_placement", "placement_id", alumni_forms),
    "contact_entries": RecordType(_l("Contact entry"), forms=alumni_forms),
    "alumni_groups": RecordType(_l("Alumni network"), "alumni.show_group", "group_id", alumni_forms),
    "japan_alumni_associations": RecordType(_l("Japan alumni association abroad"), "alumni.edit_japan_association",
                                            "association_id", alumni_forms),
    "associations": RecordType(_l("Association"), "associations.show_association", "association_id", association_forms),
    "association_members": RecordType(_l("Member"), "associations.show_member", "member_id", association_forms),
    "membership_fees": RecordType(_l("Annual fee"), forms=association_forms),
    "association_programs": RecordType(_l("Program"), "associations.show_program", "program_id", association_forms),
    "ambassadors": RecordType(_l("Hometown ambassador"), "ambassadors.show_ambassador", "ambassador_id", ambassador_forms),
    "ambassador_activities": RecordType(_l("Activity"), "ambassadors.show_activity", "activity_id", ambassador_forms),
    "jet_investments": RecordType(_l("Investment"), "ambassadors.show_investment", "investment_id", ambassador_forms),
    "users": RecordType(_l("User"), "admin.show_user", "user_id", admin_forms),
    "report": RecordType(_l("Return report")),
}

# One sentence per action; %(record)s is the record's link, absent for sign-ins.
SENTENCES = {
    "create": _l("%(who)s created %(record)s."),
    "update": _l("%(who)s changed %(record)s."),
    "delete": _l("%(who)s deleted %(record)s."),
    "view": _l("%(who)s viewed %(record)s."),
    "export": _l("%(who)s exported %(record)s."),
    "import": _l("%(who)s imported %(record)s."),
    "merge": _l("%(who)s merged %(record)s with another record."),
    "share": _l("%(who)s shared %(record)s with a prefecture."),
    "login": _l("%(who)s signed in."),
    "login_failed": _l("Someone failed to sign in as %(who)s."),
    "logout": _l("%(who)s signed out."),
    "denied": _l("%(who)s was refused %(record)s."),
}


def record_type_choices() -> list[tuple[str, object]]:
    return [(key, kind.label) for key, kind in RECORD_TYPES.items()]


def record_link(record_type: str | None, record_id: str | None, linked: bool = True) -> Markup:
    """"Alumnus 12" as a link to the record's page where it has one (none for a deleted record)."""
    kind = RECORD_TYPES.get(record_type or "")
    label = kind.label if kind else (record_type or _("a record"))
    text = escape(f"{label} {record_id}" if record_id else label)
    if linked and kind and kind.endpoint and record_id and record_id.isdigit():
        return Markup('<a href="{}">{}</a>').format(url_for(kind.endpoint, **{kind.argument: int(record_id)}), text)
    return text


def sentence(entry) -> Markup:
    template = SENTENCES.get(entry.action)
    if template is None:
        return escape(f"{entry.actor}: {entry.action} {record_link(entry.record_type, entry.record_id)}")
    # The translation is trusted markup-free text; what fills it is escaped (or is a built link).
    record = record_link(entry.record_type, entry.record_id, linked=entry.action != "delete")
    return Markup(escape(str(template))) % {"who": entry.actor, "record": record}


def field_label(record_type: str | None, column: str) -> str:
    """The label the record's form gives a column, else the column name in words."""
    kind = RECORD_TYPES.get(record_type or "")
    labels = _field_labels(kind.forms) if kind and kind.forms else {}
    return str(labels.get(column, column.replace("_", " ")))


@cache
def _field_labels(module) -> dict[str, object]:
    labels = {}
    for value in vars(module).values():
        if isinstance(value, type) and issubclass(value, Form):
            for name in dir(value):
                field = getattr(value, name, None)
                if isinstance(field, UnboundField) and name not in labels:
                    label = field.args[0] if field.args else field.kwargs.get("label")
                    if label is not None:
                        labels[name] = label
    return labels
