"""What can be imported and exported: a registry of targets.

A target names its columns (with English and Japanese headers and their synonyms, from which the
column mapping is suggested), turns one mapped row into validated values, and knows how to match
and upsert a row (importable targets) and which rows an export holds (every target). Associations,
members, programs and activities register their own targets here as those domains land.
"""
from __future__ import annotations

import datetime
import functools
import re
import threading
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask_babel import force_locale, get_locale, lazy_gettext as _l

from crm.alumni.forms import ConsentForm, ContactDetailsForm, PlacementFields, ProfileForm
from crm.alumni.models import JapaneseLevel, Position, Sector
from crm.imports import eras
from crm.imports.form_rules import FormRules
from crm.imports.headers import HeaderMatcher, Match, assign, header_key
from crm.reference.countries import _table as _country_table


@dataclass(frozen=True)
class Column:
    key: str
    en: str
    ja: str
    synonyms: tuple[str, ...] = ()
    label: Any = None
    importable: bool = True

    def names(self) -> set[str]:
        return {header_key(name) for name in (self.key, self.en, self.ja, *self.synonyms)}


@dataclass
class Target:
    name: str
    label: Any
    columns: list[Column]
    # One mapped row (column key → raw value) → (values, errors [(column key, message)]).
    validate: Callable[[dict], tuple[dict | None, list[tuple[str | None, str]]]] | None = None
    required: tuple[tuple[str, ...], ...] = ()  # each tuple: one of these columns must be mapped
    format_synonyms: dict[str, dict[str, str]] = field(default_factory=dict)
    # → the row check for one pass over a file, bound once (e.g. to its form's rules); default `validate`.
    bind_validate: Callable[[], Callable] | None = None
    # Targets imported record by record (crm.imports.records): runs the job's check or commit phase.
    runner: Callable | None = None
    # Offered in the wizard's upload form (members are uploaded from their association's page).
    wizard: bool = True
    # Names of columns the CRM does not keep on purpose (recognised, reported, never mapped).
    not_kept: tuple[str, ...] = ()
    # (column key, qualifier hints) → column key: 氏名（姓） is the family name.
    resolve: Callable[[str, frozenset], str] | None = None
    # The column a header made of qualifier words alone names (姓カナ, セイ: parts of the full name).
    named_by_parts: str | None = None
    # Column key → separator: columns a file may give in parts (フリガナ（姓）, フリガナ（名）), joined.
    joined: dict[str, str] = field(default_factory=dict)

    @property
    def importable(self) -> bool:
        return self.validate is not None

    def row_check(self) -> Callable:
        return self.bind_validate() if self.bind_validate else self.validate

    def column(self, key: str) -> Column:
        return next(column for column in self.columns if column.key == key)

    def import_columns(self) -> list[Column]:
        return [column for column in self.columns if column.importable]

    def matches(self, headers: list[str], fmt: str | None = None) -> dict[str, Match | None]:
        """Header → its best match (column key or not kept on purpose, and how sure), or None."""
        by_name = {}
        for column in self.import_columns():
            for name in column.names():
                by_name.setdefault(name, column.key)
        special = {header_key(h): key for h, key in self.format_synonyms.get(fmt or "", {}).items()}
        matcher = HeaderMatcher(by_name, {header_key(name) for name in self.not_kept}, self.resolve, special, self.named_by_parts)
        return {header: matcher.match(header) for header in headers}

    def suggest(self, headers: list[str], fmt: str | None = None) -> dict[str, str]:
        """Header → column key: the surest match first, each column once (parts of a joined column once each)."""
        return assign(self.matches(headers, fmt), set(self.joined))

    def missing_required(self, mapped_keys: set[str], defaults: dict) -> list[tuple[str, ...]]:
        provided = mapped_keys | {key for key, value in defaults.items() if value}
        return [group for group in self.required if not provided & set(group)]

    def header(self, column: Column, japanese: bool) -> str:
        return column.ja if japanese else column.en


TARGETS: dict[str, Target] = {}


def register(target: Target) -> Target:
    TARGETS[target.name] = target
    return target


# --- Value parsing shared by targets ----------------------------------------------------------------

TRUE_WORDS = {"1", "true", "yes", "y", "x", "○", "〇", "◯", "はい", "有", "あり", "同意", "済"}
FALSE_WORDS = {"", "0", "false", "no", "n", "×", "いいえ", "無", "なし", "-"}


def text(value) -> str:
    """A cell as text: None → '', dates ISO, whole floats without '.0' (Excel numbers)."""
    if type(value) is str:  # CSV cells: the common case first
        return value.strip()
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime.datetime):
        return value.date().isoformat() if value.time() == datetime.time() else value.isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, list):
        return text(value[0]) if value else ""
    return str(value).strip()


def _folded(value: str) -> str:
    return unicodedata.normalize("NFKC", value).strip().lower()


def boolean(value) -> bool | None:
    """True/False from the many ways offices write yes and no; None when unreadable."""
    word = _folded(text(value))
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    return None


_DATE = re.compile(r"(\d{4})\s*[-/年.]\s*(\d{1,2})\s*[-/月.]\s*(\d{1,2})\s*日?")


def date_text(value) -> str:
    """ISO date text for a DateField from a date cell, 2024-04-01, 2024/4/1, 2024年4月1日, 和暦
    (令和6年4月1日, R6.4.1) or an Excel serial day number."""
    if isinstance(value, datetime.datetime | datetime.date):
        return text(value)
    found = eras.serial_date(value) or eras.era_date(text(value))
    if found:
        return found.isoformat()
    match = _DATE.fullmatch(unicodedata.normalize("NFKC", text(value)))
    if match:
        year, month, day = (int(part) for part in match.groups())
        return f"{year:04d}-{month:02d}-{day:02d}"
    return text(value)


def years_from_period(value) -> tuple[str, str]:
    """任用期間 such as "2015-2018", "2015年〜2018年", "H27–H30", "平成27年度～令和元年度": the first two years."""
    found = eras.years_in(text(value))
    return (found[0] if found else text(value), found[1] if len(found) > 1 else "")


def _enum_lookup(enum_class, extra: dict[str, str]) -> dict[str, str]:
    table = {}
    for member in enum_class:
        table[_folded(member.value)] = member.value
        table[_folded(str(member.label))] = member.value
        with force_locale("ja"):
            table[_folded(str(member.label))] = member.value
        with force_locale("en"):
            table[_folded(str(member.label))] = member.value
    table.update({_folded(word): value for word, value in extra.items()})
    return table


_LOOKUPS: dict[str, dict[str, str]] = {}


def enum_value(enum_class, value, extra: dict[str, str] | None = None) -> str:
    """The stored value of an enumeration from its value or its English or Japanese label."""
    name = enum_class.__name__
    if name not in _LOOKUPS:
        _LOOKUPS[name] = _enum_lookup(enum_class, extra or {})
    word = _folded(text(value))
    return _LOOKUPS[name].get(word, word)


_COUNTRIES: dict[str, str] = {}


def country_code(value) -> str:
    """ISO alpha-2 from a code or an English or Japanese country name."""
    if not _COUNTRIES:
        for code, (english, japanese) in _country_table().items():
            _COUNTRIES[_folded(code)] = code
            _COUNTRIES[_folded(english)] = code
            _COUNTRIES[_folded(japanese)] = code
        # Short forms Japanese offices write (the kanji abbreviations of 外務省's usage, 豪州 for Australia).
        _COUNTRIES.update({"usa": "US", "us": "US", "uk": "GB", "アメリカ": "US", "イギリス": "GB", "英国": "GB", "米国": "US",
                           "アメリカ合衆国": "US", "オーストラリア連邦": "AU", "豪州": "AU", "豪": "AU", "加": "CA", "加国": "CA",
                           "独": "DE", "独国": "DE", "仏": "FR", "仏国": "FR", "愛蘭": "IE"})
    word = text(value)
    return _COUNTRIES.get(_folded(word), word.upper())


# --- Alumni ------------------------------------------------------------------------------------------

class _PlacementRowFields(PlacementFields):
    # The host prefecture of an imported placement is always the importer's own.
    host_prefecture = None


class AlumnusRowForm(_PlacementRowFields, ProfileForm, ContactDetailsForm, ConsentForm):
    """The alumni forms' own fields and validators, applied to one imported row."""

    class Meta:
        csrf = False

    version = None
    preferred_language = None  # not an import column: the record's own (or the default) stays


_FORMS = threading.local()


def _row_form() -> FormRules:
    """The row form's rules, one per thread and language (the bound form keeps the messages' language)."""
    rules = getattr(_FORMS, "alumnus", None)
    if rules is None:
        rules = _FORMS.alumnus = {}
    language = str(get_locale())
    if language not in rules:
        rules[language] = FormRules(AlumnusRowForm(formdata=None))
    return rules[language]


ALUMNUS_FIELDS = ("family_name", "given_name", "name_katakana", "email", "email_secondary", "phone", "citizenship",
                  "residence_country", "city", "employer", "sector", "job_title", "linkedin_url", "languages",
                  "japanese_level", "interests", "contact_consent", "consent_on", "consent_source")
PLACEMENT_FIELDS = ("organisation", "position", "start_year", "end_year")
POSITION_WORDS = {"外国語指導助手": "alt", "国際交流員": "cir", "スポーツ国際交流員": "sea",
                  "assistant language teacher": "alt", "coordinator for international relations": "cir",
                  "sports exchange advisor": "sea"}
LEVEL_WORDS = {f"jlpt n{n}": f"n{n}" for n in range(1, 6)} | {f"{n}級": f"n{n}" for n in range(1, 6)} | {"なし": "none"}
SECTOR_WORDS = {"行政": "government", "官公庁": "government", "教育": "education", "企業": "business", "ビジネス": "business",
                "観光": "tourism", "メディア": "media", "研究": "research", "その他": "other"}

ALUMNI_COLUMNS = [
    Column("family_name", "Family name", "姓", ("last name", "surname", "family name (latin)", "姓（ローマ字）", "名字", "苗字", "lastname")),
    Column("given_name", "Given name", "名", ("first name", "given name (latin)", "名（ローマ字）", "firstname", "forename")),
    Column("full_name", "Full name", "氏名", ("name", "名前", "氏名（ローマ字）", "full name (latin)", "fn")),
    Column("name_katakana", "Name in katakana", "フリガナ", ("ふりがな", "カナ", "氏名カナ", "カタカナ", "katakana", "furigana", "kana",
                                                             "family_name_kana", "name (katakana)")),
    Column("email", "Email", "メールアドレス", ("email address", "e-mail", "mail", "メール", "emails", "eメール", "電子メール")),
    Column("email_secondary", "Second email", "メールアドレス2", ("email 2", "secondary email", "サブメールアドレス", "予備メール")),
    Column("phone", "Phone", "電話番号", ("tel", "telephone", "電話", "携帯電話", "phone number")),
    Column("citizenship", "Citizenship", "国籍", ("nationality", "country of citizenship")),
    Column("residence_country", "Country of residence", "居住国", ("country", "国", "在住国", "residence")),
    Column("city", "City", "居住都市", ("都市", "在住都市", "市区町村")),
    Column("employer", "Employer", "勤務先", ("current employer", "company", "会社", "所属", "organisation (employer)")),
    Column("sector", "Sector", "分野", ("業種", "industry")),
    Column("job_title", "Job title", "役職", ("title", "肩書", "肩書き", "job")),
    Column("linkedin_url", "LinkedIn URL", "LinkedIn", ("linkedin", "url", "profile url", "linkedin profile")),
    Column("languages", "Languages", "使用言語", ("言語", "language")),
    Column("japanese_level", "Japanese level", "日本語レベル", ("jlpt", "日本語能力", "日本語")),
    Column("interests", "Interests", "関心分野", ("興味", "関心", "interest")),
    Column("contact_consent", "Agrees to be contacted", "連絡への同意", ("contact consent", "連絡同意")),
    Column("consent_on", "Consent given on", "同意日", ("consent date",)),
    Column("consent_source", "How consent was given", "同意の取得方法", ("consent source", "同意取得方法")),
    Column("organisation", "Contracting organisation", "任用団体", ("contracting organization", "任用先", "配置先", "host organisation",
                                                                   "受入団体", "契約団体")),
    Column("position", "Position", "職種", ("jet position", "任用職種", "区分", "alt/cir/sea")),
    Column("start_year", "Start year", "任用開始年", ("開始年", "着任年", "from", "start")),
    Column("end_year", "End year", "任用終了年", ("終了年", "離任年", "to", "end")),
    Column("period", "Period", "任用期間", ("years", "期間", "jet years", "在任期間")),
    Column("host_prefecture", "Host prefecture", "任用都道府県", (), importable=False),
]
# LinkedIn's "Position" is a job title and "Company" an employer; a vCard's "organisation" too.
LINKEDIN_HEADERS = {"First Name": "given_name", "Last Name": "family_name", "Email Address": "email",
                    "Company": "employer", "Position": "job_title", "URL": "linkedin_url"}
VCARD_HEADERS = {"organisation": "employer", "title": "job_title", "url": "linkedin_url", "country": "residence_country",
                 "X-JET-ORGANISATION": "organisation", "X-JET-POSITION": "position", "X-JET-START-YEAR": "start_year",
                 "X-JET-END-YEAR": "end_year", "X-CITIZENSHIP": "citizenship", "emails": "email"}
# Columns written to a vCard as extension properties, so a vCard export re-imports completely.
VCARD_EXTENSIONS = {"organisation": "X-JET-ORGANISATION", "position": "X-JET-POSITION", "start_year": "X-JET-START-YEAR",
                    "end_year": "X-JET-END-YEAR", "citizenship": "X-CITIZENSHIP"}


def split_full_name(full: str) -> tuple[str, str]:
    """A 氏名 cell → (family, given). "Smith, John" and "John Smith" → (Smith, John). Japanese
    offices write the family name first where it is in Japanese script or in capitals, as on a
    residence card: "髙橋 ジョン" → (髙橋, ジョン), "SMITH John" → (SMITH, John)."""
    full = " ".join(full.split())
    if "," in full:
        family, _, given = full.partition(",")
        return family.strip(), given.strip()
    if " " not in full:
        return full, ""
    first, rest = full.split(" ", 1)
    if _japanese_script(first) or (first.isupper() and len(first) > 1 and not rest.isupper()):
        return first, rest
    given, family = full.rsplit(" ", 1)
    return family, given


def _japanese_script(word: str) -> bool:
    """Kanji, hiragana or katakana (full- or half-width)."""
    return any("\u3040" <= char <= "\u30ff" or "\u3400" <= char <= "\u9fff" or "\uf900" <= char <= "\ufaff"
               or "\uff66" <= char <= "\uff9f" for char in word)


_TEXT_FIELDS = ("family_name", "given_name", "name_katakana", "email", "email_secondary", "phone", "city", "employer",
                "job_title", "linkedin_url", "languages", "interests", "consent_source", "organisation", "start_year",
                "end_year")
_OPTIONAL_TEXT = ("name_katakana", "email", "email_secondary", "phone", "city", "employer", "job_title", "linkedin_url",
                  "languages", "interests", "consent_source", "citizenship", "residence_country")
# What a cell holds → what the form receives, for the columns written in words (countries, enumerations).
_CHOICE_CELLS = {"citizenship": country_code, "residence_country": country_code,
                 "sector": lambda value: enum_value(Sector, value, SECTOR_WORDS),
                 "japanese_level": lambda value: enum_value(JapaneseLevel, value, LEVEL_WORDS),
                 "position": lambda value: enum_value(Position, value, POSITION_WORDS)}


# The same few words fill whole columns of a large file (countries, positions, periods, names):
# each distinct cell is read once.
@functools.lru_cache(maxsize=4096)
def _choice_cell(key: str, value: str) -> str:
    return _CHOICE_CELLS[key](value)


_period_years = functools.lru_cache(maxsize=4096)(years_from_period)
_split_name = functools.lru_cache(maxsize=4096)(split_full_name)
_year_text = functools.lru_cache(maxsize=4096)(eras.year_text)


def validate_alumnus_row(raw: dict, rules: FormRules | None = None) -> tuple[dict | None, list[tuple[str | None, str]]]:
    """Validate one mapped row with the alumni forms; → ({alumnus: …, placement: …}, errors).
    `rules`: the form's rules bound for the whole pass (`Target.row_check`), else looked up per row."""
    row = {key: text(value) for key, value in raw.items()}
    emails = raw.get("email")
    if isinstance(emails, list) and len(emails) > 1 and not row.get("email_secondary"):  # a vCard's several EMAIL lines
        row["email_secondary"] = text(emails[1])
    if row.get("full_name") and not (row.get("family_name") or row.get("given_name")):
        row["family_name"], row["given_name"] = _split_name(row["full_name"])
    if row.get("period") and not row.get("start_year"):
        row["start_year"], end = _period_years(row["period"])
        row["end_year"] = row.get("end_year") or end
    for key in ("start_year", "end_year"):
        if row.get(key):
            row[key] = _year_text(row[key])
    formdata = {key: row[key] for key in _TEXT_FIELDS if row.get(key)}
    for key in _CHOICE_CELLS:
        if row.get(key):
            formdata[key] = _choice_cell(key, row[key])
    if row.get("consent_on"):
        formdata["consent_on"] = date_text(raw.get("consent_on"))
    errors: list[tuple[str | None, str]] = []
    for key in ("contact_consent",):
        if key in row:
            flag = boolean(raw[key])
            if flag is None:
                errors.append((key, str(_l("Write yes or no (はい / いいえ)."))))
            elif flag:
                formdata[key] = "y"
    data, form_errors = (rules or _row_form())(formdata)
    for name, messages in form_errors.items():
        errors.extend((name, str(message)) for message in messages)
    if errors:
        return None, errors
    # Columns the file does not have keep the record's values (left out here: "not in the file").
    present = [key for key in ALUMNUS_FIELDS if key in raw or (key in ("family_name", "given_name") and "full_name" in raw)]
    if isinstance(emails, list) and len(emails) > 1:
        present.append("email_secondary")
    alumnus = {key: data.get(key) for key in present}
    for key in _OPTIONAL_TEXT:
        if key in alumnus:
            alumnus[key] = alumnus[key] or None
    if "sector" in alumnus:
        alumnus["sector"] = Sector(data["sector"]) if data.get("sector") else None
    if "japanese_level" in alumnus:
        alumnus["japanese_level"] = JapaneseLevel(data["japanese_level"]) if data.get("japanese_level") else None
    placement = {"organisation": data.get("organisation") or None, "position": Position(data["position"]),
                 "start_year": data["start_year"], "end_year": data.get("end_year")}
    return {"alumnus": alumnus, "placement": placement,
            "placement_present": {key for key in PLACEMENT_FIELDS if key in raw or (key != "organisation" and "period" in raw)}}, []


# Asked for by some rosters, not needed for the purpose of use: never kept (APPI data minimisation).
NOT_KEPT = ("生年月日", "誕生日", "性別", "マイナンバー", "個人番号", "年齢", "血液型", "本籍", "本籍地", "旅券番号",
            "パスポート番号", "在留カード番号", "宗教", "健康状態", "既往歴", "写真", "顔写真", "家族構成", "配偶者",
            "date of birth", "birth date", "birthday", "dob", "gender", "sex", "age", "passport number",
            "my number", "religion", "photo")


def resolve_alumni_column(key: str, hints: frozenset) -> str:
    """氏名（姓） is the family name, 氏名（名） the given name, 氏名（カナ）, 姓（フリガナ） the katakana name."""
    if key in ("full_name", "family_name", "given_name") and "kana" in hints:
        return "name_katakana"
    if key == "full_name" and hints & {"family", "given"} == {"family"}:
        return "family_name"
    if key == "full_name" and hints & {"family", "given"} == {"given"}:
        return "given_name"
    return key


def alumnus_row_check() -> Callable:
    """The alumni row check for one pass over a file: the form's rules bound once (thread, language)."""
    return functools.partial(validate_alumnus_row, rules=_row_form())


ALUMNI = register(Target(
    name="alumni",
    label=_l("Alumni and their placements"),
    columns=ALUMNI_COLUMNS,
    validate=validate_alumnus_row,
    bind_validate=alumnus_row_check,
    required=(("family_name", "full_name"), ("given_name", "full_name"), ("position",), ("start_year", "period")),
    format_synonyms={"linkedin": LINKEDIN_HEADERS, "vcard": VCARD_HEADERS},
    not_kept=NOT_KEPT,
    resolve=resolve_alumni_column,
    named_by_parts="full_name",
    # As a vCard's two katakana name parts are joined.
    joined={"name_katakana": "・"},
))

CONTACT_COLUMNS = [
    Column("contacted_on", "Date", "日付", ()),
    Column("family_name", "Family name", "姓", ()),
    Column("given_name", "Given name", "名", ()),
    Column("email", "Email", "メールアドレス", ()),
    Column("channel", "Channel", "連絡手段", ()),
    Column("direction", "Direction", "方向", ()),
    Column("summary", "Summary", "概要", ()),
    Column("staff", "Staff member", "担当者", ()),
    Column("follow_up_on", "Follow up on", "フォローアップ日", ()),
    Column("assignee", "Assignee", "フォローアップ担当", ()),
    Column("done", "Done", "完了", ()),
]
# The contact log is exported only: entries are written one by one, by the staff who had the contact.
CONTACTS = register(Target(name="contacts", label=_l("Contact log"), columns=CONTACT_COLUMNS))
