"""The domain's words, each concept once, in both languages.

Forms, lists, filters, reports and exports take their labels from here, so a concept reads the same
everywhere it appears, and two concepts that English spells alike get two catalogue entries
(a context tells them apart): a person's name (氏名) is not a network's or an association's (名称), an email
address field (メールアドレス) is not the email channel of a contact entry (メール).
tests/test_glossary.py walks every page to check that no two entries share a translation.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext as _p

TERMS = {
    # Who and what a record is called.
    "person_name": _l("Name"),
    "organisation_name": _p("organisation", "Name"),
    "member_name": _p("association member", "Name"),
    "ambassador_title": _p("ambassador", "Title"),
    "program_title": _l("Title"),
    "email_address": _l("Email"),
    "phone_number": _l("Phone"),
    # How a contact happened.
    "channel.email": _p("contact channel", "Email"),
    "channel.meeting": _l("Meeting"),
    "channel.event": _l("Event"),
    "channel.sns": _l("SNS"),
    "channel.phone": _p("contact channel", "Phone"),
    "channel.visit": _l("Visit"),
    "channel.note": _l("Note"),
    # What an alumnus did for a prefecture.
    "activity_kind": _p("activity", "Kind"),
    "activity.article": _l("Article or media contribution"),
    "activity.policy_proposal": _l("Policy proposal"),
    "activity.promotion_event": _l("Promotion event abroad"),
    "activity.business": _l("Business or trade introduction"),
    "activity.tourism": _l("Tourism promotion"),
    "activity.inbound_visitors": _l("Inbound visitors hosted"),
    "activity.fundraising": _l("Fundraising or disaster support"),
    "activity.student_recruitment": _l("Student recruitment"),
    "activity.furusato_nozei": _l("Furusato nozei promotion"),
    "activity.teaching": _l("Teaching Japanese language or culture abroad"),
    "activity.other": _l("Other"),
    # The field an alumnus works in.
    "sector": _l("Sector"),
    "country": _l("Country"),
    "country_of_residence": _l("Country of residence"),
}


def term(key: str):
    """The concept's label (lazy: it reads in the language of the request that shows it)."""
    return TERMS[key]
