"""Import and export targets of the associations domain: an association's members (import and the
treasurer's membership list) and its programs with their funding lines (export).

Every row is read within one association the user works in (`access.load_editable_association`):
association staff their own, prefecture staff one of their prefecture's, administrators any. A
member import matches on email, else on name + kind (individual, business, …), only among that
association's members: another association's members are never read, matched or changed.
"""
from __future__ import annotations

import threading
import unicodedata
from collections.abc import Iterator
from types import SimpleNamespace

from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload
from werkzeug.datastructures import MultiDict

from crm import access
from crm.associations import operations as association_operations
from crm.associations.forms import MemberForm
from crm.associations.models import Member, MemberKind, MemberStatus, MemberType, Program
from crm.extensions import db
from crm.imports import exports, records
from crm.imports.targets import Column, Target, boolean, date_text, enum_value, register, text

# --- Members ------------------------------------------------------------------------------------------

MEMBER_FIELDS = ("name", "name_kana", "kind", "member_type", "status", "joined_on", "email", "phone", "postal_code",
                 "address", "consent_to_contact")
MEMBER_COLUMNS = [
    Column("name", "Name", "氏名・名称", ("氏名", "名称", "会員名", "団体名", "full name", "member")),
    Column("name_kana", "Name (kana)", "フリガナ", ("ふりがな", "カナ", "氏名カナ", "kana", "furigana")),
    Column("kind", "Individual or organisation", "個人・団体の別", ("種別", "区分", "kind", "個人/団体")),
    Column("member_type", "Member type", "会員種別", ("会員区分", "membership type", "type")),
    Column("status", "Status", "状態", ("会員状態", "在籍状況")),
    Column("joined_on", "Joined on", "入会日", ("入会年月日", "joined", "join date")),
    Column("email", "Email", "メールアドレス", ("email address", "e-mail", "メール", "電子メール")),
    Column("phone", "Phone", "電話番号", ("tel", "telephone", "電話")),
    Column("postal_code", "Postal code", "郵便番号", ("〒", "zip", "postcode", "zip code")),
    Column("address", "Address", "住所", ("所在地",)),
    Column("consent_to_contact", "Agrees to be contacted", "連絡への同意", ("contact consent", "連絡同意", "同意")),
]
KIND_WORDS = {"個人": "individual", "企業": "business", "法人": "business", "会社": "business", "学校": "school",
              "npo法人": "npo", "団体": "npo"}
TYPE_WORDS = {"正会員": "regular", "一般会員": "regular", "賛助会員": "supporting", "学生会員": "student", "名誉会員": "honorary"}
STATUS_WORDS = {"有効": "active", "在籍": "active", "未納": "lapsed", "失効": "lapsed", "退会": "left"}


class MemberRowForm(MemberForm):
    """The member form's own fields and validators, applied to one imported row."""

    class Meta:
        csrf = False

    version = None


_FORMS = threading.local()


def validate_member_row(raw: dict) -> tuple[dict | None, list[tuple[str | None, str]]]:
    formdata = MultiDict()
    errors: list[tuple[str | None, str]] = []
    for key in ("name", "name_kana", "email", "phone", "postal_code", "address"):
        if text(raw.get(key)):
            formdata[key] = text(raw[key])
    # Blank kind, type or status: an individual, regular, active member (the form's own defaults).
    formdata["kind"] = enum_value(MemberKind, raw.get("kind"), KIND_WORDS) if text(raw.get("kind")) else "individual"
    formdata["member_type"] = enum_value(MemberType, raw.get("member_type"), TYPE_WORDS) if text(raw.get("member_type")) else "regular"
    formdata["status"] = enum_value(MemberStatus, raw.get("status"), STATUS_WORDS) if text(raw.get("status")) else "active"
    if text(raw.get("joined_on")):
        formdata["joined_on"] = date_text(raw["joined_on"])
    if "consent_to_contact" in raw:
        flag = boolean(raw["consent_to_contact"])
        if flag is None:
            errors.append(("consent_to_contact", str(_l("Write yes or no (はい / いいえ)."))))
        elif flag:
            formdata["consent_to_contact"] = "y"
    form = getattr(_FORMS, "member", None)
    if form is None:
        form = _FORMS.member = MemberRowForm(formdata=None)
    form.process(formdata)
    if not form.validate():
        errors.extend((name, str(message)) for name, messages in form.errors.items() for message in messages)
    if errors:
        return None, errors
    values = form.values()
    for key in ("name_kana", "email", "phone", "postal_code", "address"):
        values[key] = values[key] or None
    values["kind"], values["member_type"], values["status"] = (MemberKind(values["kind"]), MemberType(values["member_type"]),
                                                               MemberStatus(values["status"]))
    # Columns the file does not have keep the record's values.
    present = {"name", "kind", "member_type", "status"} | {key for key in MEMBER_FIELDS if key in raw}
    return {key: values[key] for key in MEMBER_FIELDS if key in present}, []


def _name_key(name: str) -> str:
    return "".join(unicodedata.normalize("NFKC", name).split()).casefold()


class MemberImporter(records.Importer):
    def context(self, job):
        association = access.load_editable_association((job.options or {}).get("scope", {}).get("association"))
        context = SimpleNamespace(association=association, by_email={}, by_name={}, members={})
        for member in db.session.scalars(access.scoped(Member).where(Member.association_id == association.id)):
            self._remember(context, member.id, member.email, member.name, member.kind)
        return context

    @staticmethod
    def _remember(context, member_id, email, name, kind):
        if email:
            context.by_email.setdefault(email.casefold(), member_id)
        context.by_name.setdefault((_name_key(name), kind), (member_id, bool(email)))

    def key(self, context, values):
        return values["email"].casefold() if values.get("email") else (_name_key(values["name"]), values["kind"])

    def find(self, context, values):
        if values.get("email") and values["email"].casefold() in context.by_email:
            return context.by_email[values["email"].casefold()]
        found = context.by_name.get((_name_key(values["name"]), values["kind"]))
        # Two different email addresses are two different people.
        if found is None or (found[1] and values.get("email")):
            return None
        return found[0]

    def create(self, context, values):
        member = association_operations.create_member(context.association, {key: None for key in MEMBER_FIELDS} |
                                                      {"consent_to_contact": False} | values)
        self._remember(context, member.id, member.email, member.name, member.kind)

    def update(self, context, record_id, values):
        member = access.load(Member, record_id)
        changed = {key: value for key, value in values.items() if getattr(member, key) != value}
        for key, value in changed.items():
            setattr(member, key, value)
        return bool(changed)


MEMBERS = register(Target(
    name="members", label=_l("Association members"), columns=MEMBER_COLUMNS, validate=validate_member_row,
    required=(("name",),), runner=records.runner(MemberImporter()), wizard=False,
))


def member_records(filters: dict) -> Iterator[dict]:
    """The association's members (the list's own filter), for the treasurer."""
    association = access.load_editable_association(filters.get("association"))
    statement = association_operations.member_query(association, filters.get("q", ""), filters.get("status", ""))
    for member in db.session.scalars(statement.order_by(Member.name, Member.id).execution_options(yield_per=1000)):
        row = {key: getattr(member, key) for key in MEMBER_FIELDS}
        row.update(kind=str(member.kind.label), member_type=str(member.member_type.label), status=str(member.status.label))
        yield row


# --- Programs (export) -------------------------------------------------------------------------------

PROGRAM_COLUMNS = [
    Column("title_ja", "Title (Japanese)", "事業名"),
    Column("title_en", "Title (English)", "事業名（英語）"),
    Column("kind", "Kind", "種類"),
    Column("starts_at", "Starts", "開始日時"),
    Column("ends_at", "Ends", "終了日時"),
    Column("venue", "Venue", "会場"),
    Column("status", "Status", "状態"),
    Column("budget", "Budget (yen)", "予算（円）"),
    Column("actual_cost", "Actual cost (yen)", "決算額（円）"),
    Column("participants_japanese", "Japanese participants", "参加者（日本人住民）"),
    Column("participants_foreign", "Foreign participants", "参加者（外国人住民）"),
    Column("volunteers", "Volunteers", "ボランティア"),
    Column("partners", "Partners", "連携先"),
    Column("funding_source", "Funding source", "財源"),
    Column("grantor", "Grantor", "助成元"),
    Column("funding_amount", "Funding amount (yen)", "財源額（円）"),
]
PROGRAMS = register(Target(name="programs", label=_l("Programs and their funding"), columns=PROGRAM_COLUMNS))


def program_records(filters: dict) -> Iterator[dict]:
    """An association's programs starting in the 年度, one row per funding line (a program without
    funding lines: one row)."""
    association = access.load_editable_association(filters.get("association"))
    first, last = association_operations.fiscal_year_range(int(filters["fy"]))
    statement = (association_operations.program_query(association).where(Program.starts_at >= first, Program.starts_at < last)
                 .options(selectinload(Program.partners))
                 .order_by(None).order_by(Program.starts_at, Program.id))
    for program in db.session.scalars(statement):
        base = {"title_ja": program.title_ja, "title_en": program.title_en, "kind": str(program.kind.label),
                "starts_at": association_operations.tokyo_time(program.starts_at).replace(tzinfo=None),
                "ends_at": association_operations.tokyo_time(program.ends_at).replace(tzinfo=None),
                "venue": program.venue, "status": str(program.status.label), "budget": program.budget,
                "actual_cost": program.actual_cost, "participants_japanese": program.participants_japanese,
                "participants_foreign": program.participants_foreign, "volunteers": program.volunteers,
                "partners": "; ".join(partner.name for partner in program.partners) or None}
        for line in program.funding_lines or [None]:
            row = dict(base)
            if line is not None:
                row.update(funding_source=str(line.source.label), grantor=line.grantor, funding_amount=line.amount)
            yield row


exports.RECORDS.update({"members": member_records, "programs": program_records})

