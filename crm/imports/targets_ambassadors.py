"""Import and export target of alumni activities (the return a prefecture reports).

Prefecture staff import activities for alumni their prefecture reaches: each row names its alumnus
by email, looked up only among the alumni in the importer's scope (whose use has not ceased). An
email outside that scope is rejected with the same message as an unknown one, so an upload cannot
probe for people known to other prefectures. Imported activities are "reported" (verification is a
separate step); re-importing matches on alumnus, date, kind and description, and a changed activity
that had been verified or rejected goes back to "reported" to be reviewed again.
"""
from __future__ import annotations

import threading
from collections.abc import Iterator
from types import SimpleNamespace

from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import MultiDict

from crm import access
from crm.alumni.models import Alumnus
from crm.ambassadors import operations as ambassador_operations
from crm.ambassadors.forms import ActivityForm
from crm.ambassadors.models import Activity, ActivityKind, ActivityStatus
from crm.extensions import db
from crm.imports import exports, records
from crm.imports.targets import Column, Target, country_code, date_text, enum_value, register, text

ACTIVITY_FIELDS = ambassador_operations.ACTIVITY_FIELDS
FIGURES = ("people_reached", "visitors_brought", "economic_value_yen", "funds_raised_yen", "media_items")
ACTIVITY_COLUMNS = [
    Column("email", "Email", "メールアドレス", ("email address", "e-mail", "メール", "alumnus email")),
    Column("family_name", "Family name", "姓", (), importable=False),
    Column("given_name", "Given name", "名", (), importable=False),
    Column("occurred_on", "Date", "日付", ("活動日", "実施日", "date of activity")),
    Column("kind", "Kind", "活動の種類", ("種類", "種別", "activity kind", "type")),
    Column("country", "Country", "国", ("国名", "実施国")),
    Column("description", "Description", "内容", ("活動内容", "概要", "summary")),
    Column("people_reached", "People reached", "到達人数", ("reach",)),
    Column("visitors_brought", "Visitors brought", "誘客数", ("visitors", "来訪者数")),
    Column("economic_value_yen", "Estimated economic value (yen)", "推定経済効果（円）", ("economic value", "経済効果")),
    Column("economic_value_basis", "Basis of the estimate", "算定根拠", ("basis",)),
    Column("funds_raised_yen", "Funds raised (yen)", "募金・寄附額（円）", ("funds raised", "寄附額")),
    Column("media_items", "Media items", "メディア掲載数", ("media",)),
    Column("evidence_url", "Evidence link", "根拠資料URL", ("evidence", "url", "link")),
    Column("status", "Status", "状態", (), importable=False),
    Column("fiscal_year", "Fiscal year", "年度", (), importable=False),
]


class ActivityRowForm(ActivityForm):
    class Meta:
        csrf = False

    version = None


_FORMS = threading.local()


def validate_activity_row(raw: dict) -> tuple[dict | None, list[tuple[str | None, str]]]:
    email = text(raw.get("email")).strip()
    errors: list[tuple[str | None, str]] = []
    if not email:
        errors.append(("email", str(_l("Give the email address of the alumnus."))))
    formdata = MultiDict()
    for key in ("description", "economic_value_basis", "evidence_url", *FIGURES):
        if text(raw.get(key)):
            formdata[key] = text(raw[key])
    if text(raw.get("occurred_on")):
        formdata["occurred_on"] = date_text(raw["occurred_on"])
    if text(raw.get("kind")):
        formdata["kind"] = enum_value(ActivityKind, raw["kind"])
    if text(raw.get("country")):
        formdata["country"] = country_code(raw["country"])
    form = getattr(_FORMS, "activity", None)
    if form is None:
        form = _FORMS.activity = ActivityRowForm(formdata=None)
    form.process(formdata)
    if not form.validate():
        errors.extend((name, str(message)) for name, messages in form.errors.items() for message in messages)
    if errors:
        return None, errors
    values = {key: form.data[key] for key in ACTIVITY_FIELDS}
    values["kind"] = ActivityKind(values["kind"])
    for key in ("country", "economic_value_basis", "evidence_url"):
        values[key] = values[key] or None
    return {"email": email.casefold(), "activity": values}, []


class ActivityImporter(records.Importer):
    def context(self, job):
        reachable = (access.scoped(Alumnus).where(Alumnus.cease_use.is_(False))
                     .with_only_columns(Alumnus.id, Alumnus.email, Alumnus.email_secondary))
        by_email = {}
        for alumnus_id, email, secondary in db.session.execute(reachable):
            for address in (email, secondary):
                if address:
                    by_email.setdefault(address.casefold(), alumnus_id)
        existing = {}
        for activity in db.session.scalars(access.scoped(Activity).where(Activity.prefecture_id == job.prefecture_id)):
            existing.setdefault(self._identity(activity.alumnus_id, {key: getattr(activity, key) for key in ACTIVITY_FIELDS}), activity.id)
        return SimpleNamespace(prefecture_id=job.prefecture_id, by_email=by_email, existing=existing)

    @staticmethod
    def _identity(alumnus_id, values):
        return alumnus_id, values["occurred_on"], ActivityKind(values["kind"]), " ".join(values["description"].split())

    def check(self, context, values):
        if values["email"] not in context.by_email:
            # The same words whether the person is unknown or known only elsewhere.
            return [("email", str(_l("No alumnus in your records has this email address.")))]
        return []

    def key(self, context, values):
        return self._identity(context.by_email[values["email"]], values["activity"])

    def find(self, context, values):
        return context.existing.get(self.key(context, values))

    def create(self, context, values):
        alumnus = access.load(Alumnus, context.by_email[values["email"]])
        activity = ambassador_operations.log_activity(alumnus, context.prefecture_id, values["activity"])
        context.existing[self.key(context, values)] = activity.id

    def update(self, context, record_id, values):
        activity = access.load(Activity, record_id)
        changed = {key: value for key, value in values["activity"].items() if getattr(activity, key) != value}
        if not changed:
            return False
        ambassador_operations.set_activity(activity, values["activity"])
        if activity.status != ActivityStatus.REPORTED:
            ambassador_operations.review(activity, ActivityStatus.REPORTED, None)
        return True


ACTIVITIES = register(Target(
    name="activities", label=_l("Alumni activities"), columns=ACTIVITY_COLUMNS, validate=validate_activity_row,
    required=(("email",), ("occurred_on",), ("kind",), ("description",)), runner=records.runner(ActivityImporter()),
))


def activity_records(filters: dict) -> Iterator[dict]:
    """The activities the user's scope reaches in the 年度 (verified only, or all), about people whose
    use has not ceased. The ministry never reaches this: its scope of activities is empty."""
    statement = (ambassador_operations.activity_query({"year": filters.get("fy"), "status": filters.get("status")})
                 .join(Alumnus, Alumnus.id == Activity.alumnus_id).where(Alumnus.cease_use.is_(False))
                 .order_by(Activity.occurred_on, Activity.id))
    if filters.get("prefecture"):
        statement = statement.where(Activity.prefecture_id == int(filters["prefecture"]))
    for activity in db.session.scalars(statement.execution_options(yield_per=1000)):
        alumnus = activity.alumnus
        row = {key: getattr(activity, key) for key in ACTIVITY_FIELDS}
        row.update(alumnus_id=alumnus.id, email=alumnus.email or alumnus.email_secondary, family_name=alumnus.family_name, given_name=alumnus.given_name,
                   kind=str(activity.kind.label), status=str(activity.status.label), fiscal_year=activity.fiscal_year)
        yield row


exports.RECORDS["activities"] = activity_records
