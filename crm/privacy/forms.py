"""Forms for APPI requests and the breach-response searches. None carries a prefecture: a request
belongs to the recording staff member's prefecture (views); `version` is only compared."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from crm import clock
from crm.ambassadors.forms import AlumnusChoiceMixin
from crm.forms import DateField, IntegerField, SelectField, VersionedForm, at_most_days_ahead, choices, strip
from crm.privacy.models import MAX_EXTENSION_DAYS, Decision, RequestKind


def _optional_decision(value):
    return Decision(value) if value else None


def _optional_id(value):
    return int(value) if value not in (None, "", "None") else None


def _required_with(field, message) -> bool:
    """A field another field's value makes required: False (with the message) when it is empty."""
    if field.data in (None, "") and not field.errors:
        field.errors.append(message)
        return False
    return not field.errors


class DetailsForm(VersionedForm):
    kind = SelectField(_l("Kind of request"), choices=choices(RequestKind.choices()), coerce=RequestKind, validators=[DataRequired()])
    received_on = DateField(_l("Received on"), validators=[DataRequired(), at_most_days_ahead(0)], default=clock.today,
                            description=_l("The deadline is 30 days after this day."))
    identity_verified_by = StringField(_l("Identity verified by"), filters=[strip], validators=[DataRequired(), Length(max=200)],
                                       description=_l("For example: residence card shown at the counter, copy of passport by post."))
    requester_contact = StringField(_l("Requester's contact"), filters=[strip], validators=[DataRequired(), Length(max=300)],
                                    description=_l("Postal address or email to which the decision is sent."))


class RequestForm(AlumnusChoiceMixin, DetailsForm):
    pass


class ExtensionForm(VersionedForm):
    extension_days = IntegerField(_l("Extended by (days)"), validators=[
        Optional(), NumberRange(min=1, max=MAX_EXTENSION_DAYS, message=_l("An extension is 1 to 30 days."))])
    extension_reason = TextAreaField(_l("Reason for the extension"), filters=[strip], validators=[Optional(), Length(max=2000)])
    extension_notified_on = DateField(_l("Requester told on"), validators=[Optional(), at_most_days_ahead(0)])

    def validate(self, extra_validators=None):
        # A form-level rule: an empty optional field ends its own validators before any check.
        valid = super().validate(extra_validators)
        if self.extension_days.data:
            valid &= _required_with(self.extension_reason, _l("Give the reason for the extension."))
            valid &= _required_with(self.extension_notified_on, _l("Enter the date the requester was told of the extension."))
        return valid


class DecisionForm(VersionedForm):
    decision = SelectField(_l("Decision"), choices=choices(Decision.choices(), blank=True), coerce=_optional_decision,
                           validators=[Optional()], description=_l("Granting a suspension of use ceases the use of the person's data today."))
    decision_reason = TextAreaField(_l("Reason for the decision"), filters=[strip], validators=[Optional(), Length(max=4000)])

    def validate(self, extra_validators=None):
        valid = super().validate(extra_validators)
        if self.decision.data:
            valid &= _required_with(self.decision_reason, _l("Give the reason for the decision."))
        return valid


class PeriodForm(FlaskForm):
    """The days an access search covers (GET: no CSRF)."""

    class Meta:
        csrf = False

    since = DateField(_l("From"), validators=[Optional()])
    until = DateField(_l("Until"), validators=[Optional()])

    def validate_until(self, field):
        if field.data and self.since.data and field.data < self.since.data:
            raise ValidationError(_l("The end cannot come before the start."))


class UserAccessForm(PeriodForm):
    user = SelectField(_l("User"), coerce=_optional_id, validators=[DataRequired(_l("Choose a user."))])
