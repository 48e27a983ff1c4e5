"""Forms reached through a personal link and the public request page.

None names a person or a prefecture to write to: the person is the link's, and the prefecture of a
reported activity is chosen among those the person served in (checked again in operations).
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField
from wtforms.validators import DataRequired, Email, Length

from crm.alumni.forms import ConsentForm, ContactDetailsForm, ProfileForm, _lower
from crm.ambassadors.forms import ActivityForm
from crm.associations.forms import MemberForm
from crm.forms import SelectField, VersionedForm
from crm.glossary import term


class LinkRequestForm(FlaskForm):
    email = EmailField(term("email_address"), filters=[_lower], validators=[DataRequired(), Email(), Length(max=254)])


class DetailsForm(ContactDetailsForm):
    """Contact details, residence, employer, job title and languages: the person's own to correct."""

    employer = ProfileForm.employer
    job_title = ProfileForm.job_title
    languages = ProfileForm.languages
    preferred_language = ConsentForm.preferred_language


class SelfReportForm(ActivityForm):
    """An activity the person did for a prefecture they served in; staff verify it as any other."""

    prefecture_id = SelectField(_l("Prefecture"), coerce=int, validators=[DataRequired()])

    def limit_to(self, prefectures) -> SelfReportForm:
        self.prefecture_id.choices = [(p.id, p.name) for p in prefectures]
        if len(prefectures) == 1 and self.prefecture_id.data is None:
            # Someone who served in one prefecture reports to it without having to choose it.
            self.prefecture_id.data = prefectures[0].id
        return self


class MemberDetailsForm(VersionedForm):
    """An association member's contact details and language: theirs to correct (nothing else)."""

    email = MemberForm.email
    phone = MemberForm.phone
    postal_code = MemberForm.postal_code
    address = MemberForm.address
    preferred_language = ConsentForm.preferred_language
