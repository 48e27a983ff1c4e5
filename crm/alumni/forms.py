"""Forms for alumni, placements, the contact log and alumni networks.

No form carries a prefecture to assign to a record it does not describe: the writer's prefecture of a
contact entry comes from the signed-in account (operations), and `version` is only compared.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, StringField, TextAreaField, URLField
from wtforms.validators import URL, DataRequired, Email, Length, NumberRange, Optional, ValidationError

from crm import clock
from crm.alumni.names import has_kana_letters, normalise_kana
from crm.alumni.models import FIRST_JET_YEAR, Channel, Direction, JapaneseLevel, Platform, Position, Sector
from crm.forms import CountryField, DateField, IntegerField, SelectField, VersionedForm, at_most_days_ahead, choices, strip
from crm.glossary import term
from crm.reference.prefectures import prefecture_choices


def _lower(value):
    return value.strip().lower() if isinstance(value, str) else value


def _optional_enum(value):
    return value or None


def in_katakana(_form, field):
    """A name in katakana; hiragana, half-width katakana and any separator are accepted as they
    will be stored (crm.alumni.names.normalise_kana)."""
    if field.data and not all("\u30a0" <= char <= "\u30ff" for char in normalise_kana(field.data)):
        raise ValidationError(_l("Write this name in katakana (hiragana and half-width katakana are converted)."))


def without_kana(_form, field):
    """A Latin name field holds the name as spelt in Latin letters (the passport's): kana is a
    reading, kept in the katakana field, where the duplicate check and the katakana search use it.
    Kanji and other scripts stay accepted: some alumni's legal names are written so (髙橋, Ольга)."""
    if field.data and has_kana_letters(field.data):
        raise ValidationError(_l("Write this name in Latin letters; a name in katakana goes in “Name in katakana”."))


def _year_range():
    return NumberRange(min=FIRST_JET_YEAR, max=2100, message=_l("Enter a year between %(min)s and %(max)s."))


class ProfileForm(VersionedForm):
    family_name = StringField(_l("Family name (Latin)"), filters=[strip], validators=[DataRequired(), Length(max=100), without_kana])
    given_name = StringField(_l("Given name (Latin)"), filters=[strip], validators=[DataRequired(), Length(max=100), without_kana])
    name_katakana = StringField(_l("Name in katakana"), filters=[strip], validators=[Optional(), Length(max=100), in_katakana])
    citizenship = CountryField(_l("Citizenship"))
    employer = StringField(_l("Current employer"), filters=[strip], validators=[Optional(), Length(max=200)])
    sector = SelectField(term("sector"), choices=choices(Sector.choices(), blank=True), coerce=_optional_enum, validators=[Optional()])
    job_title = StringField(_l("Job title"), filters=[strip], validators=[Optional(), Length(max=200)])
    languages = StringField(_l("Languages"), filters=[strip], validators=[Optional(), Length(max=200)])
    japanese_level = SelectField(_l("Japanese level"), choices=choices(JapaneseLevel.choices(), blank=True), coerce=_optional_enum, validators=[Optional()])
    interests = StringField(_l("Interests"), filters=[strip], validators=[Optional(), Length(max=500)])


class ContactDetailsForm(VersionedForm):
    email = EmailField(term("email_address"), filters=[_lower], validators=[Optional(), Email(), Length(max=254)])
    email_secondary = EmailField(_l("Second email"), filters=[_lower], validators=[Optional(), Email(), Length(max=254)])
    phone = StringField(term("phone_number"), filters=[strip], validators=[Optional(), Length(max=40)])
    residence_country = CountryField(term("country_of_residence"))
    city = StringField(_l("City"), filters=[strip], validators=[Optional(), Length(max=100)])
    linkedin_url = URLField(_l("LinkedIn URL"), filters=[strip], validators=[Optional(), URL(), Length(max=300)])


class ConsentForm(VersionedForm):
    contact_consent = BooleanField(_l("Agrees to be contacted"))
    # Optional: a post without it (an older form, a script) keeps the person's language (set_fields).
    preferred_language = SelectField(_l("Language of newsletters"), choices=choices([("en", "English"), ("ja", "日本語")]),
                                     validators=[Optional()],
                                     description=_l("Consent to newsletters is given per mailing list (Outreach)."))
    consent_on = DateField(_l("Consent given on"), validators=[Optional()])
    consent_source = StringField(_l("How consent was given"), filters=[strip], validators=[Optional(), Length(max=200)],
                                 description=_l("For example: sign-up form at the 2025 reception, email reply."))
    cease_use = BooleanField(_l("Cease use (利用停止)"),
                             description=_l("Keeps the record for legal requests and removes the person from lists, searches, exports and mailings."))


class PlacementFields:
    host_prefecture = SelectField(_l("Host prefecture"), coerce=int, validators=[DataRequired()])
    organisation = StringField(_l("Contracting organisation"), filters=[strip], validators=[Optional(), Length(max=200)],
                               description=_l("The municipality or board of education that hired them."))
    position = SelectField(_l("Position"), choices=choices(Position.choices()), validators=[DataRequired()])
    start_year = IntegerField(_l("Start year"), validators=[DataRequired(), _year_range()])
    end_year = IntegerField(_l("End year"), validators=[Optional(), _year_range()])

    def validate_end_year(self, field):
        if field.data is not None and self.start_year.data is not None and field.data < self.start_year.data:
            raise ValidationError(_l("The end year cannot be before the start year."))

    def fill_prefectures(self):
        self.host_prefecture.choices = choices(prefecture_choices())
        return self


class PlacementForm(PlacementFields, VersionedForm):
    def fill_choices(self):
        return self.fill_prefectures()


class AlumnusCreateForm(PlacementFields, ProfileForm, ContactDetailsForm):
    # Set after a duplicate warning, when the person is confirmed to be someone new.
    confirm_new = BooleanField(_l("This is a different person: create the record anyway"))

    def fill_choices(self):
        VersionedForm.fill_choices(self)
        return self.fill_prefectures()


class ContactEntryForm(FlaskForm):
    contacted_on = DateField(_l("Date"), validators=[DataRequired(), at_most_days_ahead(0)], default=clock.today)
    channel = SelectField(_l("Channel"), choices=choices(Channel.choices()), validators=[DataRequired()])
    direction = SelectField(_l("Direction"), choices=choices(Direction.choices()), validators=[DataRequired()], default=Direction.OUTGOING.value)
    summary = TextAreaField(_l("Summary"), filters=[strip], validators=[DataRequired(), Length(max=2000)])
    follow_up_on = DateField(_l("Follow up on"), validators=[Optional(), at_most_days_ahead(2 * 366)])
    assignee = SelectField(_l("Assignee"), coerce=lambda value: int(value) if value not in (None, "", "None") else None, validators=[Optional()])

    def validate_follow_up_on(self, field):
        if field.data and self.contacted_on.data and field.data < self.contacted_on.data:
            raise ValidationError(_l("The follow-up cannot come before the contact."))


class AlumniGroupForm(VersionedForm):
    name = StringField(term("organisation_name"), filters=[strip], validators=[DataRequired(), Length(max=200)])
    platform = SelectField(_l("Platform"), choices=choices(Platform.choices()), validators=[DataRequired()])
    url = URLField(_l("URL"), filters=[strip], validators=[Optional(), URL(), Length(max=300)])
    member_count = IntegerField(_l("Members"), validators=[Optional(), NumberRange(min=0, max=10_000_000)])


class JapanAlumniAssociationForm(VersionedForm):
    name = StringField(term("organisation_name"), filters=[strip], validators=[DataRequired(), Length(max=200)])
    country = CountryField(term("country"), validators=[DataRequired()])
    city = StringField(_l("City"), filters=[strip], validators=[Optional(), Length(max=100)])
    founded_year = IntegerField(_l("Founded"), validators=[Optional(), NumberRange(min=1900, max=2100)])
    member_count = IntegerField(_l("Members"), validators=[Optional(), NumberRange(min=0, max=10_000_000)])
    contact = StringField(_l("Contact"), filters=[strip], validators=[Optional(), Length(max=200)])
    website = URLField(_l("Website"), filters=[strip], validators=[Optional(), URL(), Length(max=300)])


class SnoozeForm(FlaskForm):
    """Move a follow-up to a later day (not into the past)."""
    follow_up_on = DateField(_l("Follow up on"), validators=[DataRequired(), at_most_days_ahead(2 * 366)])

    def validate_follow_up_on(self, field):
        if field.data and field.data < clock.today():
            raise ValidationError(_l("Choose today or a later day."))


class ReassignForm(FlaskForm):
    """Hand a follow-up to another account of the same office: the choices are that office's accounts."""
    assignee = SelectField(_l("Assignee"), coerce=lambda value: int(value) if str(value).isdigit() else None,
                           validators=[DataRequired()])
