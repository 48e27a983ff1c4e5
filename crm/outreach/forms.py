"""Outreach forms. None names an owner: a new list belongs to the staff member's prefecture or
association (crm.access.list_owner_for_new); a send to the list in the URL, loaded through the scope."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, Length, Optional, ValidationError

from crm.forms import SelectField, choices, strip
from crm.glossary import term

LANGUAGE_CHOICES = choices([("ja", "日本語"), ("en", "English")])


def _one_line(_form, field):
    if field.data and ("\r" in field.data or "\n" in field.data):
        raise ValidationError(_l("A subject is one line."))


class ListForm(FlaskForm):
    name = StringField(_l("Name of the list"), filters=[strip], validators=[DataRequired(), Length(max=200)])
    purpose_ja = TextAreaField(_l("Purpose of use (Japanese)"), filters=[strip], validators=[DataRequired(), Length(max=2000)],
                               description=_l("Shown wherever someone subscribes."))
    purpose_en = TextAreaField(_l("Purpose of use (English)"), filters=[strip], validators=[Optional(), Length(max=2000)])
    public_signup = BooleanField(_l("Public sign-up page (with confirmation by email)"))
    public_archive = BooleanField(_l("Publish past newsletters on a public archive page"))


class ComposeForm(FlaskForm):
    subject_ja = StringField(_l("Subject (Japanese)"), validators=[Optional(), Length(max=200), _one_line])
    body_ja = TextAreaField(_l("Text (Japanese, Markdown)"), validators=[Optional(), Length(max=50000)])
    subject_en = StringField(_l("Subject (English)"), validators=[Optional(), Length(max=200), _one_line])
    body_en = TextAreaField(_l("Text (English, Markdown)"), validators=[Optional(), Length(max=50000)])

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if not ((self.subject_ja.data and (self.body_ja.data or "").strip()) or
                (self.subject_en.data and (self.body_en.data or "").strip())):
            self.form_errors.append(_l("Write a subject and a text in at least one language."))
            return False
        return valid


class SignupForm(FlaskForm):
    email = EmailField(term("email_address"), filters=[strip], validators=[DataRequired(), Email(), Length(max=254)])
    name = StringField(_l("Your name"), filters=[strip], validators=[Optional(), Length(max=200)])
    language = SelectField(_l("Language of newsletters"), choices=LANGUAGE_CHOICES, default="en")
