"""Sign-in and own-account forms. None of them has a role, binding, id or version field."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, ValidationError

from crm.auth.passwords import MAX_LENGTH, password_problems
from crm.forms import SelectField, choices


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=MAX_LENGTH)])


class NewPasswordMixin:
    """A new password, checked against the policy; forms set `policy_email` for the email check."""

    policy_email: str | None = None

    def validate_new_password(self, field):
        problems = password_problems(field.data or "", self.policy_email)
        if problems:
            raise ValidationError(" ".join(str(problem) for problem in problems))


class ChangePasswordForm(NewPasswordMixin, FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired()])
    new_password = PasswordField(_l("New password"), validators=[DataRequired()])
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[DataRequired(), EqualTo("new_password", message=_l("The two passwords differ."))],
    )


class LanguageForm(FlaskForm):
    locale = SelectField(_l("Language"), choices=choices([("ja", "日本語"), ("en", "English")]))
    next = StringField()
