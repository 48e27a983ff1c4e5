"""Forms for managing accounts. Role and binding are set only here, by administrators."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import EmailField, HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional

from crm.forms import DateField, SelectField
from crm.associations.models import Association
from crm.auth.forms import NewPasswordMixin, choices
from crm.auth.models import Role
from crm.extensions import db
from crm.reference.prefectures import prefecture_choices


def _optional_int(value):
    return int(value) if value not in (None, "", "None") else None


class BindingFields:
    """Role plus the prefecture or association it needs; choices are filled from the database."""

    def fill_choices(self):
        self.role.choices = choices(Role.choices())
        self.prefecture.choices = choices(prefecture_choices(), blank=True)
        associations = db.session.scalars(select(Association).order_by(Association.prefecture_id, Association.name_en))
        self.association.choices = choices([(a.id, a.name) for a in associations], blank=True)
        return self


class UserCreateForm(BindingFields, NewPasswordMixin, FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Email(), Length(max=254)])
    display_name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])
    role = SelectField(_l("Role"), validators=[DataRequired()])
    prefecture = SelectField(_l("Prefecture"), coerce=_optional_int, validators=[Optional()])
    association = SelectField(_l("Association"), coerce=_optional_int, validators=[Optional()])
    new_password = PasswordField(_l("Initial password"), validators=[DataRequired()])

    def validate(self, extra_validators=None):
        self.policy_email = self.email.data
        return super().validate(extra_validators)


class UserEditForm(BindingFields, FlaskForm):
    display_name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])
    role = SelectField(_l("Role"), validators=[DataRequired()])
    prefecture = SelectField(_l("Prefecture"), coerce=_optional_int, validators=[Optional()])
    association = SelectField(_l("Association"), coerce=_optional_int, validators=[Optional()])
    # The version the form was rendered from; compared, never assigned.
    version = HiddenField()


class PasswordResetForm(NewPasswordMixin, FlaskForm):
    new_password = PasswordField(_l("New password"), validators=[DataRequired()])
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[DataRequired(), EqualTo("new_password", message=_l("The two passwords differ."))],
    )


class AuditFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET filter changes nothing

    actor = StringField(_l("Who"), validators=[Optional(), Length(max=320)])
    action = SelectField(_l("Action"), validators=[Optional()])
    record_type = SelectField(_l("Record type"), validators=[Optional()])
    record_id = StringField(_l("Record id"), validators=[Optional(), Length(max=60)])
    since = DateField(_l("From"), validators=[Optional()])
    until = DateField(_l("To"), validators=[Optional()])
