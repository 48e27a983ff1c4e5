"""Forms for associations, members, fees and programs. None of them assigns an id, a binding or a
version: the prefecture of a new association is checked against crm.access, versions are compared."""
from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField, EmailField, FieldList, Form, FormField, HiddenField, StringField, TextAreaField, URLField
from wtforms.validators import DataRequired, Email, Length, NumberRange, Optional, URL, ValidationError

from crm.alumni.names import normalise_kana
from crm.associations.models import (
    AssociationKind,
    FundingSource,
    MemberKind,
    MemberStatus,
    MemberType,
    MunicipalitySize,
    PartnerKind,
    PaymentMethod,
    ProgramKind,
    ProgramStatus,
    Secretariat,
)
from crm.extensions import db
from crm.forms import DateField, DateTimeLocalField, FiscalYearField, IntegerField, SelectField, at_most_days_ahead, choices
from crm.glossary import term
from crm.reference.models import Prefecture

NOT_NEGATIVE = NumberRange(min=0, message=_l("This cannot be negative."))
YEN = {"inputmode": "numeric"}
FIRST_ASSOCIATION_DAY = date(1868, 1, 1)


class AssociationForm(FlaskForm):
    name_ja = StringField(_l("Name (Japanese)"), validators=[DataRequired(), Length(max=200)])
    name_en = StringField(_l("Name (English)"), validators=[DataRequired(), Length(max=200)])
    municipality = StringField(_l("Municipality"), validators=[Optional(), Length(max=100)])
    kind = SelectField(_l("Kind"), choices=choices(AssociationKind.choices()), validators=[DataRequired()])
    officially_recognised = BooleanField(_l("Officially recognised regional international exchange association (地域国際化協会)"))
    municipality_size = SelectField(_l("Municipality size"), choices=choices(MunicipalitySize.choices(), blank=True), validators=[Optional()])
    secretariat = SelectField(_l("Secretariat"), choices=choices(Secretariat.choices()), validators=[DataRequired()])
    staff_full_time = IntegerField(_l("Full-time staff"), default=0, validators=[Optional(), NOT_NEGATIVE])
    staff_on_loan = IntegerField(_l("Staff on loan from the local government"), default=0, validators=[Optional(), NOT_NEGATIVE])
    staff_volunteers = IntegerField(_l("Volunteers"), default=0, validators=[Optional(), NOT_NEGATIVE])
    contact = StringField(_l("Contact (office phone, email)"), validators=[Optional(), Length(max=300)])
    website = URLField(_l("Website"), validators=[Optional(), URL(message=_l("Enter a full web address (https://…).")), Length(max=300)])
    founded_year = IntegerField(_l("Founded in"), validators=[Optional(), NumberRange(min=FIRST_ASSOCIATION_DAY.year, max=2100)])
    # The version the form was rendered from; compared, never assigned.
    version = HiddenField()

    def values(self) -> dict:
        data = {key: value for key, value in self.data.items() if key not in ("csrf_token", "version", "prefecture")}
        for key in ("staff_full_time", "staff_on_loan", "staff_volunteers"):
            data[key] = data[key] or 0
        data["municipality_size"] = data["municipality_size"] or None
        return data


class NewAssociationForm(AssociationForm):
    prefecture = SelectField(_l("Prefecture"), coerce=int, validators=[DataRequired()])

    def fill_prefectures(self, allowed: list[int] | None):
        """Only the prefectures crm.access lets this user register in (None: all)."""
        statement = select(Prefecture).order_by(Prefecture.id)
        if allowed is not None:
            statement = statement.where(Prefecture.id.in_(allowed))
        self.prefecture.choices = [(p.id, f"{p.code} {p.name}") for p in db.session.scalars(statement)]
        return self


def _katakana(value):
    """A reading stored as katakana whatever was typed (ひらがな, half-width), so that members sort
    by reading (あいうえお順)."""
    return (normalise_kana(value) or None) if value else value


class MemberForm(FlaskForm):
    name = StringField(term("member_name"), validators=[DataRequired(), Length(max=200)])
    name_kana = StringField(_l("Name (kana)"), filters=[_katakana], validators=[Optional(), Length(max=200)])
    kind = SelectField(_l("Individual or organisation"), choices=choices(MemberKind.choices()), validators=[DataRequired()])
    member_type = SelectField(_l("Member type"), choices=choices(MemberType.choices()), validators=[DataRequired()])
    # Exchange associations are older than JET: the earliest is the first year one could be founded in.
    joined_on = DateField(_l("Joined on"), validators=[Optional(), at_most_days_ahead(366)], earliest=FIRST_ASSOCIATION_DAY)
    status = SelectField(_l("Status"), choices=choices(MemberStatus.choices()), validators=[DataRequired()])
    email = EmailField(term("email_address"), validators=[Optional(), Email(), Length(max=254)])
    phone = StringField(term("phone_number"), validators=[Optional(), Length(max=40)])
    postal_code = StringField(_l("Postal code"), validators=[Optional(), Length(max=10)])
    address = StringField(_l("Address"), validators=[Optional(), Length(max=300)])
    consent_to_contact = BooleanField(_l("Agrees to be contacted"))
    version = HiddenField()

    def values(self) -> dict:
        return {key: value for key, value in self.data.items() if key not in ("csrf_token", "version")}


class AssessFeesForm(FlaskForm):
    fiscal_year = FiscalYearField(_l("Fiscal year"), validators=[DataRequired()], earliest=1989)
    amount = IntegerField(_l("Annual fee (yen)"), validators=[DataRequired(message=_l("Enter the annual fee.")), NOT_NEGATIVE], render_kw=YEN)


class FeePaymentForm(FlaskForm):
    paid_on = DateField(_l("Paid on"), validators=[DataRequired(message=_l("Enter the date of payment.")), at_most_days_ahead(0)])
    method = SelectField(_l("Method"), choices=choices(PaymentMethod.choices()), validators=[DataRequired()])
    receipt_number = StringField(_l("Receipt number"), validators=[Optional(), Length(max=40)])
    version = HiddenField()


def _known(enum_class, message):
    """A select whose unknown value gets a clear message instead of WTForms' 'Not a valid choice'."""

    def check(_form, field):
        if field.data and field.data not in {member.value for member in enum_class}:
            raise ValidationError(message % {"value": field.data})

    return check


class FundingLineForm(Form):
    source = SelectField(
        _l("Source"), choices=choices(FundingSource.choices(), blank=True), validate_choice=False,
        validators=[Optional(), _known(FundingSource, _l("Unknown funding source “%(value)s”."))],
    )
    grantor = StringField(_l("Grantor"), validators=[Optional(), Length(max=200)])
    amount = IntegerField(_l("Amount (yen)"), validators=[Optional(), NumberRange(min=1, message=_l("The amount must be more than 0 yen."))], render_kw=YEN)

    @property
    def blank(self) -> bool:
        return not (self.source.data or self.grantor.data or self.amount.data)

    def validate_grantor(self, field):
        if self.source.data == FundingSource.PRIVATE_GRANT.value and not (field.data or "").strip():
            raise ValidationError(_l("A private foundation grant needs the grantor's name."))

    def validate_amount(self, field):
        if self.source.data and field.data is None:
            raise ValidationError(_l("Enter the amount."))

    def validate_source(self, field):
        if not field.data and (self.grantor.data or self.amount.data):
            raise ValidationError(_l("Choose the source of this money."))


class PartnerForm(Form):
    kind = SelectField(
        _l("Kind of partner"), choices=choices(PartnerKind.choices(), blank=True), validate_choice=False,
        validators=[Optional(), _known(PartnerKind, _l("Unknown kind of partner “%(value)s”."))],
    )
    name = StringField(_l("Partner"), validators=[Optional(), Length(max=200)])

    @property
    def blank(self) -> bool:
        return not (self.kind.data or self.name.data)

    def validate_name(self, field):
        if self.kind.data and not (field.data or "").strip():
            raise ValidationError(_l("Enter the partner's name."))

    def validate_kind(self, field):
        if not field.data and self.name.data:
            raise ValidationError(_l("Choose the kind of partner."))


# Empty rows offered for new funding lines and partners (blank rows are ignored on save).
SPARE_ROWS = 2


class ProgramForm(FlaskForm):
    title_ja = StringField(_l("Title (Japanese)"), validators=[DataRequired(), Length(max=200)])
    title_en = StringField(_l("Title (English)"), validators=[Optional(), Length(max=200)])
    kind = SelectField(_l("Kind"), choices=choices(ProgramKind.choices()), validators=[DataRequired()])
    starts_at = DateTimeLocalField(_l("Starts (Japan time)"), format="%Y-%m-%dT%H:%M", validators=[DataRequired()])
    ends_at = DateTimeLocalField(_l("Ends (Japan time)"), format="%Y-%m-%dT%H:%M", validators=[DataRequired()])
    venue = StringField(_l("Venue"), validators=[Optional(), Length(max=200)])
    status = SelectField(_l("Status"), choices=choices(ProgramStatus.choices()), validators=[DataRequired()], default=ProgramStatus.PLANNED.value)
    budget = IntegerField(_l("Budget (yen)"), default=0, validators=[Optional(), NOT_NEGATIVE], render_kw=YEN)
    actual_cost = IntegerField(_l("Actual cost (yen)"), validators=[Optional(), NOT_NEGATIVE], render_kw=YEN)
    participants_japanese = IntegerField(_l("Participants: Japanese residents"), default=0, validators=[Optional(), NOT_NEGATIVE])
    participants_foreign = IntegerField(_l("Participants: foreign residents"), default=0, validators=[Optional(), NOT_NEGATIVE])
    volunteers = IntegerField(_l("Volunteers"), default=0, validators=[Optional(), NOT_NEGATIVE])
    outcome_notes = TextAreaField(_l("Outcome notes"), validators=[Optional(), Length(max=5000)])
    funding_lines = FieldList(FormField(FundingLineForm), min_entries=SPARE_ROWS)
    partners = FieldList(FormField(PartnerForm), min_entries=SPARE_ROWS)
    version = HiddenField()

    def validate_ends_at(self, field):
        if field.data and self.starts_at.data and field.data < self.starts_at.data:
            raise ValidationError(_l("The program cannot end before it starts."))

    def values(self) -> dict:
        data = {key: value for key, value in self.data.items() if key not in ("csrf_token", "version", "funding_lines", "partners")}
        for key in ("budget", "participants_japanese", "participants_foreign", "volunteers"):
            data[key] = data[key] or 0
        return data

    def funding_values(self) -> list[dict]:
        return [entry.form.data for entry in self.funding_lines if not entry.form.blank]

    def partner_values(self) -> list[dict]:
        return [entry.form.data for entry in self.partners if not entry.form.blank]

    def add_spare_rows(self):
        """Offer empty rows after the existing lines, so more can be added without script."""
        for field_list in (self.funding_lines, self.partners):
            while len(field_list) < len([e for e in field_list if not e.form.blank]) + SPARE_ROWS:
                field_list.append_entry()
        return self
