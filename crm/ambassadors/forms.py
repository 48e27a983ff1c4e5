"""Forms for appointments, activities and investment rows. None carries a prefecture: the owning
prefecture is the signed-in staff member's (operations); `version` is only compared."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import StringField, TextAreaField, URLField
from wtforms.validators import URL, DataRequired, Length, NumberRange, Optional, ValidationError

from crm import clock
from crm.ambassadors.models import ActivityKind
from crm.forms import CountryField, DateField, FiscalYearField, IntegerField, SelectField, VersionedForm, at_most_days_ahead, choices, strip
from crm.glossary import term

YEN = NumberRange(min=0, max=10**13, message=_l("Enter an amount between 0 and 10 trillion yen."))
COUNT = NumberRange(min=0, max=100_000_000, message=_l("Enter a number of 0 or more."))


def _zero_if_blank(value):
    return 0 if value in (None, "") else value


class AlumnusPickerWidget:
    """A search-as-you-type picker (templates/alumni/_picker.html) instead of a <select> listing every
    reachable alumnus: at 100,000 alumni a list is unusable. The chosen id is only a number here; the
    views load it through `crm.access.load`, so an id outside the user's scope answers 404."""

    def __call__(self, field, **kwargs):
        from flask import render_template
        from markupsafe import Markup

        from crm.alumni.operations import listable
        from crm.alumni.models import Alumnus
        from crm.extensions import db

        chosen = db.session.scalar(listable().where(Alumnus.id == field.data)) if field.data else None
        attributes = {key: value for key, value in kwargs.items() if key.startswith("aria-")}
        return Markup(render_template("alumni/_picker.html", name=field.name, input_id=field.id, chosen=chosen,
                                      attributes=attributes))


class AlumnusChoiceMixin:
    alumnus = IntegerField(_l("Alumnus"), widget=AlumnusPickerWidget(), validators=[DataRequired(_l("Choose an alumnus."))])


class AmbassadorForm(VersionedForm):
    title = StringField(term("ambassador_title"), filters=[strip], validators=[DataRequired(), Length(max=200)],
                        description=_l("For example: 鳥取県ふるさと大使"))
    region = StringField(_l("Region abroad"), filters=[strip], validators=[Optional(), Length(max=200)])
    term_start_on = DateField(_l("Term starts"), validators=[DataRequired()])
    term_end_on = DateField(_l("Term ends"), validators=[Optional()])

    def validate_term_end_on(self, field):
        if field.data and self.term_start_on.data and field.data < self.term_start_on.data:
            raise ValidationError(_l("The term cannot end before it starts."))


class AppointmentForm(AlumnusChoiceMixin, AmbassadorForm):
    pass


class ActivityForm(VersionedForm):
    occurred_on = DateField(_l("Date"), validators=[DataRequired(), at_most_days_ahead(0)], default=clock.today)
    kind = SelectField(term("activity_kind"), choices=choices(ActivityKind.choices()), validators=[DataRequired()])
    country = CountryField(term("country"))
    description = TextAreaField(_l("Description"), filters=[strip], validators=[DataRequired(), Length(max=4000)])
    people_reached = IntegerField(_l("People reached"), filters=[_zero_if_blank], validators=[Optional(), COUNT], default=0)
    visitors_brought = IntegerField(_l("Visitors brought"), filters=[_zero_if_blank], validators=[Optional(), COUNT], default=0)
    economic_value_yen = IntegerField(_l("Estimated economic value (yen)"), big=True, filters=[_zero_if_blank], validators=[Optional(), YEN], default=0)
    economic_value_basis = StringField(_l("Basis of the estimate"), filters=[strip], validators=[Optional(), Length(max=500)])
    funds_raised_yen = IntegerField(_l("Funds raised (yen)"), big=True, filters=[_zero_if_blank], validators=[Optional(), YEN], default=0)
    media_items = IntegerField(_l("Media items"), filters=[_zero_if_blank], validators=[Optional(), COUNT], default=0)
    evidence_url = URLField(_l("Evidence link"), filters=[strip],
                            validators=[Optional(), URL(require_tld=False, message=_l("Enter an http or https address.")), Length(max=500)])

    def validate_evidence_url(self, field):
        if field.data and not field.data.lower().startswith(("http://", "https://")):
            raise ValidationError(_l("Enter an http or https address."))

    def validate(self, extra_validators=None):
        # On the form, not the field: an empty optional field skips its own inline validators.
        valid = super().validate(extra_validators)
        if self.economic_value_yen.data and not self.economic_value_basis.data:
            self.economic_value_basis.errors = [*self.economic_value_basis.errors, _l("Say how the economic value was estimated.")]
            return False
        return valid


class ActivityLogForm(AlumnusChoiceMixin, ActivityForm):
    pass


class InvestmentForm(VersionedForm):
    fiscal_year = FiscalYearField(_l("Fiscal year (年度)"), validators=[DataRequired()])
    alt_count = IntegerField(_l("ALTs hosted"), filters=[_zero_if_blank], validators=[Optional(), COUNT], default=0)
    cir_count = IntegerField(_l("CIRs hosted"), filters=[_zero_if_blank], validators=[Optional(), COUNT], default=0)
    sea_count = IntegerField(_l("SEAs hosted"), filters=[_zero_if_blank], validators=[Optional(), COUNT], default=0)
    hosting_cost_yen = IntegerField(_l("Hosting cost (yen)"), big=True, filters=[_zero_if_blank], validators=[Optional(), YEN], default=0)
    programme_spending_yen = IntegerField(_l("Other alumni-programme spending (yen)"), big=True, filters=[_zero_if_blank],
                                          validators=[Optional(), YEN], default=0,
                                          description=_l("Events, travel grants and other alumni work."))
