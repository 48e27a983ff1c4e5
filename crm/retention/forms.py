"""The confirmation before anonymising, and a request for deletion."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField
from wtforms.validators import DataRequired

from crm import clock
from crm.ambassadors.forms import AlumnusChoiceMixin
from crm.forms import DateField, at_most_days_ahead


class ApplyForm(FlaskForm):
    confirm = BooleanField(_l("I have read the dry run: anonymise these people. This cannot be undone."),
                           validators=[DataRequired(_l("Tick the box to confirm the anonymisation."))])


class ErasureRequestForm(AlumnusChoiceMixin, FlaskForm):
    requested_on = DateField(_l("Date of the request"), validators=[DataRequired(), at_most_days_ahead(0)], default=clock.today)
