"""The Local Return on JET-vestment: a prefecture's figures per 年度, and all 47 side by side.

Everything is computed with a fixed number of aggregate queries (GROUP BY in the database), whatever
the number of alumni or activities; Python only folds the grouped rows (a few per prefecture and
year). Reports and the dashboard read the figures through crm.reports.precomputed (`figures`,
`stored_countries`), which computes only the (prefecture, 年度) whose data changed since, and of
those only the part that changed: the cohort part (tracked, reachable, ambassadors) or the activity
part (engaged, activities and their sums, investment). `publish` then applies statistical
disclosure control (crm.disclosure) for everyone who is not entitled to the full figures —
the ministry, and staff looking at national figures.

Definitions (README, "Local return report"):
- the cohort of a prefecture: alumni with a placement there, not archived (filters narrow it by
  position or country of residence); everything below counts cohort members only;
- tracked in 年度 Y: cohort members whose first placement there started in Y or earlier;
- reachable: tracked, consent to be contacted, use not ceased;
- engaged: tracked, with a contact entry of that prefecture or a non-rejected activity in Y;
- active ambassadors: appointments whose term overlaps Y;
- activities and their figures: verified activities of Y only.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field, replace

from sqlalchemy import and_, case, exists, extract, func, or_, select, union_all
from sqlalchemy.orm import joinedload, lazyload

from crm.alumni.models import Alumnus, ContactEntry, Placement, Position
from crm.ambassadors.models import Activity, ActivityKind, ActivityStatus, Ambassador, Investment
from crm import tasks
from crm.extensions import db
from crm.reference import fiscal_year
from crm.reference.countries import is_country
from crm.reports import definitions, precomputed, protection
from crm.reports.models import MEMBERSHIP
from crm.disclosure import (
    THRESHOLD, FilterNotOffered, GroupTooSmall, Suppressed, derived,
)

HIDDEN = protection.HIDDEN
PREFECTURES = protection.PREFECTURES
TREND_YEARS = 5
TOP_COUNTRIES = 8
OTHER = "other"
# Figures summed over verified activities; each is published only if ≥ 10 alumni contributed.
ACTIVITY_SUMS = protection.ACTIVITY_SUMS
# The figures of the cohort part: they read the whole cohort (consent, ambassadors' terms), not one
# 年度's contacts and activities. All other YearFigures fields are the activity part.
COHORT_FIGURES = ("tracked", "reachable", "ambassadors")


@dataclass(frozen=True)
class Filters:
    """What narrows a report: the 年度 and, optionally, the cohort (position, country of residence)."""

    fiscal_year: int
    position: str | None = None
    country: str | None = None

    @classmethod
    def parse(cls, args, default_year: int) -> Filters:
        try:
            year = int(args.get("year") or default_year)
        except ValueError:
            year = default_year
        year = min(max(year, 1987), 2100)
        position = args.get("position") if args.get("position") in {p.value for p in Position} else None
        country = (args.get("country") or "").upper() or None
        return cls(year, position, country if is_country(country) else None)

    @property
    def narrows(self) -> bool:
        return bool(self.position or self.country)

    @property
    def cohort_key(self) -> str:
        """What the stored figures are kept under: the cohort filter, not the year (figures are
        stored per 年度). Distinct counts (tracked, engaged) cannot be added up across filters, so
        each filter has its own figures."""
        return f"position={self.position or ''};country={self.country or ''}"

    def query_args(self) -> dict:
        return {key: value for key, value in
                (("year", self.fiscal_year), ("position", self.position), ("country", self.country)) if value}


@dataclass
class YearFigures:
    fiscal_year: int
    tracked: int = 0
    reachable: int = 0
    engaged: int = 0
    ambassadors: int = 0
    activity_alumni: int = 0
    activities: int = 0
    economic_value: int = 0
    funds_raised: int = 0
    people_reached: int = 0
    visitors: int = 0
    media_items: int = 0
    participants: int | None = None
    investment_yen: int | None = None
    by_kind: dict = field(default_factory=dict)  # kind → {"alumni": n, "activities": n, sums…}

    def plain(self) -> dict:
        """JSON-able, for the precomputed store."""
        return {**asdict(self), "by_kind": {kind.value: values for kind, values in self.by_kind.items()}}

    @classmethod
    def from_plain(cls, values: dict) -> YearFigures:
        return cls(**{**values, "by_kind": {ActivityKind(kind): data for kind, data in values["by_kind"].items()}})

    @property
    def return_yen(self) -> int:
        return self.economic_value + self.funds_raised

    @property
    def return_ratio(self) -> float | None:
        """The return as a percentage of the investment (one decimal): a ratio rounded to two
        places read 0.01 for nearly every prefecture."""
        if not self.investment_yen:
            return None
        return round(100 * self.return_yen / self.investment_yen, 1)


def current_year() -> int:
    """The 年度 of today in Japan."""
    return fiscal_year.current()


def default_year() -> int:
    """The 年度 reports and the dashboard open on: the last complete one."""
    return current_year() - 1


def trend_years(filters: Filters) -> list[int]:
    """The 年度 a report or the dashboard shows: the chosen one and the years before it."""
    return list(range(filters.fiscal_year - TREND_YEARS + 1, filters.fiscal_year + 1))


def fiscal_year_sql(column):
    """The 年度 of a date column, in SQL (April–March), matching crm.reference.fiscal_year."""
    return extract("year", column) - case((extract("month", column) < 4, 1), else_=0)


def _cohort(prefecture_ids, filters: Filters):
    """One row per (prefecture, alumnus) of the cohort, with first year, reachability, residence."""
    reachable = func.max(case((and_(Alumnus.contact_consent.is_(True), Alumnus.cease_use.is_(False)), 1), else_=0))
    statement = (
        select(Placement.prefecture_id.label("prefecture_id"), Placement.alumnus_id.label("alumnus_id"),
               func.min(Placement.start_year).label("first_year"), reachable.label("reachable"),
               func.max(Alumnus.residence_country).label("country"))
        .join(Alumnus, Alumnus.id == Placement.alumnus_id)
        .where(Alumnus.archived_at.is_(None))
        .group_by(Placement.prefecture_id, Placement.alumnus_id)
    )
    if prefecture_ids is not None:
        statement = statement.where(Placement.prefecture_id.in_(prefecture_ids))
    if filters.position:
        statement = statement.where(Placement.position == Position(filters.position))
    if filters.country:
        statement = statement.where(Alumnus.residence_country == filters.country)
    return statement.subquery("cohort")


def _member(prefecture_ids, filters: Filters, prefecture_col, alumnus_col, year_col=None):
    """The row's (prefecture, alumnus) belongs to the cohort (and, with `year_col`, was tracked by
    then: a placement there started that year or earlier) — the same test as joining `_cohort`, but
    as an indexed lookup per row (placements by prefecture and alumnus, alumni by id) instead of a
    join against the grouped cohort, which SQLite re-evaluates for every row."""
    conditions = [Placement.prefecture_id == prefecture_col, Placement.alumnus_id == alumnus_col,
                  Alumnus.id == alumnus_col, Alumnus.archived_at.is_(None)]
    if year_col is not None:
        conditions.append(Placement.start_year <= year_col)
    if filters.position:
        conditions.append(Placement.position == Position(filters.position))
    if filters.country:
        conditions.append(Alumnus.residence_country == filters.country)
    member = exists().where(*conditions)
    if prefecture_ids is not None:
        member = and_(prefecture_col.in_(prefecture_ids), member)
    return member


def figures(prefecture_ids, filters: Filters, years: list[int]) -> dict[int, dict[int, YearFigures]]:
    """{prefecture id: {年度: YearFigures}} for the given prefectures (None: all 47) and years, from
    the precomputed store; only what changed since is computed (crm.reports.precomputed).

    Three things are stored per (prefecture, 年度) and cohort filter: the figures as served (current
    while nothing they read changed: one read when nothing did), and their two parts, each current
    while its own inputs are unchanged. The cohort part reads the all-years inputs only (placements,
    alumni, ambassadors); the activity part reads one 年度's contacts, activities and investment,
    and of the all-years inputs only cohort membership. So after an activity only that 年度's
    activity part is computed, after a consent change or an appointment only the cohort part."""
    wanted = PREFECTURES if prefecture_ids is None else prefecture_ids

    def part(compute_part, names):
        def compute_stale(stale: list[int], stale_years: list[int]) -> dict:
            computed = compute_part(None if len(stale) == len(PREFECTURES) else stale, filters, stale_years)
            return {p: {year: {name: value for name, value in computed[p][year].plain().items() if name in names}
                        for year in stale_years} for p in stale}
        return compute_stale

    cohort_part = part(compute_cohort, COHORT_FIGURES)
    activity_part = part(compute_activity, set(YearFigures.__dataclass_fields__) - set(COHORT_FIGURES))

    def compute_stale(stale: list[int], stale_years: list[int]) -> dict:
        cohort = precomputed.read_through(stale, f"cohort;{filters.cohort_key}", stale_years, cohort_part, per_year=False)
        activity = precomputed.read_through(stale, f"activity;{filters.cohort_key}", stale_years, activity_part,
                                            every_year=MEMBERSHIP)
        return {p: {year: {**cohort[p][year], **activity[p][year]} for year in stale_years} for p in stale}

    with precomputed.batch():
        stored = precomputed.read_through(wanted, filters.cohort_key, years, compute_stale)
    return {p: {year: YearFigures.from_plain(stored[p][year]) for year in years} for p in wanted}


def _computing(years: list[int]) -> dict[int, dict[int, YearFigures]]:
    return defaultdict(lambda: {y: YearFigures(y) for y in years})


def compute_cohort(prefecture_ids, filters: Filters, years: list[int]) -> dict[int, dict[int, YearFigures]]:
    """{prefecture id: {年度: YearFigures}} with the cohort part (tracked, reachable, ambassadors)
    filled in, for the given prefectures (None: all 47) and years, computed from the data now."""
    first, last = min(years), max(years)
    cohort = _cohort(prefecture_ids, filters)
    figures = _computing(years)

    # Tracked and reachable: cumulative over the year of the first placement.
    rows = db.session.execute(
        select(cohort.c.prefecture_id, cohort.c.first_year, cohort.c.reachable, func.count())
        .group_by(cohort.c.prefecture_id, cohort.c.first_year, cohort.c.reachable))
    for prefecture, first_year, reachable, count in rows:
        for year, item in figures[prefecture].items():
            if first_year <= year:
                item.tracked += count
                item.reachable += count if reachable else 0

    # Ambassadors whose term overlaps the year, grouped by the 年度 of start and end.
    start_fy, end_fy = fiscal_year_sql(Ambassador.term_start_on), fiscal_year_sql(Ambassador.term_end_on)
    rows = db.session.execute(
        select(Ambassador.prefecture_id, start_fy, end_fy, func.count(func.distinct(Ambassador.alumnus_id)))
        .where(_member(prefecture_ids, filters, Ambassador.prefecture_id, Ambassador.alumnus_id))
        .where(start_fy <= last, or_(Ambassador.term_end_on.is_(None), end_fy >= first))
        .group_by(Ambassador.prefecture_id, start_fy, end_fy))
    for prefecture, start, end, count in rows:
        for year, item in figures[prefecture].items():
            if start <= year and (end is None or end >= year):
                item.ambassadors += count
    return figures


def compute_activity(prefecture_ids, filters: Filters, years: list[int]) -> dict[int, dict[int, YearFigures]]:
    """{prefecture id: {年度: YearFigures}} with the activity part (engaged, verified activities and
    their sums, investment) filled in, for the given prefectures (None: all 47) and years, computed
    from the data now."""
    first, last = min(years), max(years)
    figures = _computing(years)
    in_cohort = lambda pref_col, alumnus_col, year_col=None: _member(prefecture_ids, filters, pref_col, alumnus_col, year_col)  # noqa: E731

    # Engaged: a contact entry or a non-rejected activity in the year.
    contacts = (select(ContactEntry.prefecture_id.label("prefecture_id"), fiscal_year_sql(ContactEntry.contacted_on).label("fy"),
                       ContactEntry.alumnus_id.label("alumnus_id"))
                .where(ContactEntry.contacted_on.between(*_window(first, last)), ContactEntry.prefecture_id.is_not(None)))
    activities = (select(Activity.prefecture_id, Activity.fiscal_year.label("fy"), Activity.alumnus_id)
                  .where(Activity.fiscal_year.between(first, last), Activity.status != ActivityStatus.REJECTED))
    touched = union_all(contacts, activities).subquery("touched")
    rows = db.session.execute(
        select(touched.c.prefecture_id, touched.c.fy, func.count(func.distinct(touched.c.alumnus_id)))
        .where(in_cohort(touched.c.prefecture_id, touched.c.alumnus_id, touched.c.fy))
        .group_by(touched.c.prefecture_id, touched.c.fy))
    for prefecture, year, count in rows:
        figures[prefecture][int(year)].engaged = count

    # Verified activities by kind, and the distinct alumni behind them.
    verified = and_(Activity.status == ActivityStatus.VERIFIED, Activity.fiscal_year.between(first, last))
    verified_cohort = in_cohort(Activity.prefecture_id, Activity.alumnus_id, Activity.fiscal_year)
    rows = db.session.execute(
        select(Activity.prefecture_id, Activity.fiscal_year, Activity.kind, func.count(func.distinct(Activity.alumnus_id)),
               func.count(), func.sum(Activity.economic_value_yen), func.sum(Activity.funds_raised_yen),
               func.sum(Activity.people_reached), func.sum(Activity.visitors_brought), func.sum(Activity.media_items))
        .where(verified, verified_cohort)
        .group_by(Activity.prefecture_id, Activity.fiscal_year, Activity.kind))
    for prefecture, year, kind, alumni, count, value, funds, people, visitors, media in rows:
        item = figures[prefecture][year]
        sums = dict(zip(ACTIVITY_SUMS, (count, int(value or 0), int(funds or 0), int(people or 0), int(visitors or 0), int(media or 0))))
        item.by_kind[ActivityKind(kind)] = {"alumni": alumni, **sums}
        for key, amount in sums.items():
            setattr(item, key, getattr(item, key) + amount)
    rows = db.session.execute(
        select(Activity.prefecture_id, Activity.fiscal_year, func.count(func.distinct(Activity.alumnus_id)))
        .where(verified, verified_cohort).group_by(Activity.prefecture_id, Activity.fiscal_year))
    for prefecture, year, alumni in rows:
        figures[prefecture][year].activity_alumni = alumni

    # Investment rows (one per prefecture and year).
    statement = select(Investment).where(Investment.fiscal_year.between(first, last))
    if prefecture_ids is not None:
        statement = statement.where(Investment.prefecture_id.in_(prefecture_ids))
    for investment in db.session.scalars(statement):
        item = figures[investment.prefecture_id][investment.fiscal_year]
        item.participants, item.investment_yen = investment.participants, investment.total_yen
    return figures


def residence_countries(prefecture_id: int, filters: Filters) -> dict:
    """Alumni tracked in the year by country of residence."""
    cohort = _cohort([prefecture_id], filters)
    return {country or "": count for country, count in db.session.execute(
        select(cohort.c.country, func.count()).where(cohort.c.first_year <= filters.fiscal_year).group_by(cohort.c.country))}


def activity_countries(prefecture_id: int, filters: Filters) -> dict:
    """The year's verified activities by country: {country: {"alumni": n, "activities": n}}."""
    return {
        country or "": {"alumni": alumni, "activities": count}
        for country, alumni, count in db.session.execute(
            select(Activity.country, func.count(func.distinct(Activity.alumnus_id)), func.count())
            .where(_member([prefecture_id], filters, Activity.prefecture_id, Activity.alumnus_id, Activity.fiscal_year))
            .where(Activity.status == ActivityStatus.VERIFIED, Activity.fiscal_year == filters.fiscal_year)
            .group_by(Activity.country))
    }


def _stored_by_year(prefecture_id: int, filters: Filters, years: list[int], key: str, compute, per_year: bool) -> dict:
    """{年度: compute(prefecture, filters in that 年度)} of one prefecture through the precomputed store
    (one read for all the years). Countries read cohort membership only of the all-years data (not
    consent or ambassadors)."""
    def compute_stale(_stale: list[int], stale_years: list[int]) -> dict:
        return {prefecture_id: {year: compute(prefecture_id, replace(filters, fiscal_year=year)) for year in stale_years}}

    return precomputed.read_through([prefecture_id], f"{key};{filters.cohort_key}", years, compute_stale,
                                    every_year=MEMBERSHIP, per_year=per_year)[prefecture_id]


def stored_residence(prefecture_id: int, filters: Filters, years: list[int]) -> dict:
    """{年度: `residence_countries`} through the precomputed store: residence reads no activities, so
    a logged activity leaves it current."""
    return _stored_by_year(prefecture_id, filters, years, "residence", residence_countries, per_year=False)


def stored_countries(prefecture_id: int, filters: Filters) -> tuple[dict, dict]:
    """(`residence_countries`, `activity_countries`) of the filters' 年度 through the precomputed
    store; a logged activity recomputes the activity countries alone."""
    year = filters.fiscal_year
    return (stored_residence(prefecture_id, filters, [year])[year],
            _stored_by_year(prefecture_id, filters, [year], "activity-countries", activity_countries, per_year=True)[year])


def notable_activities(prefecture_id: int, filters: Filters, limit: int = 5):
    """The year's verified activities with the largest return (full reports only: they name people).
    The report shows the alumnus's name and nothing of the reviewer: loading both whole (as an
    activity's page does) was most of the time of this read."""
    return db.session.scalars(
        select(Activity)
        .options(joinedload(Activity.alumnus).load_only(Alumnus.family_name, Alumnus.given_name), lazyload(Activity.reviewed_by))
        .where(_member([prefecture_id], filters, Activity.prefecture_id, Activity.alumnus_id))
        .where(Activity.status == ActivityStatus.VERIFIED, Activity.fiscal_year == filters.fiscal_year)
        .order_by((Activity.economic_value_yen + Activity.funds_raised_yen).desc(), Activity.people_reached.desc(), Activity.id)
        .limit(limit)).all()


def store_defaults() -> tuple[int, int]:
    """Compute and store what the dashboard and every prefecture's report show when opened (the
    default 年度 and its trend, no filter), so that the first readers after a deploy or a migration
    do not wait for it; how many stored figures, and protected publications, were computed (0 when
    all were current)."""
    filters = Filters(default_year())
    years = trend_years(filters)
    with precomputed.batch() as computed:
        # the 年度 around the trend too: they bound what a hidden figure can be (protection)
        figures(None, filters, list(range(years[0] - 1, years[-1] + 2)))
        for prefecture in PREFECTURES:
            for year in (filters.fiscal_year - 1, filters.fiscal_year, filters.fiscal_year + 1):
                stored_countries(prefecture, replace(filters, fiscal_year=year))
    return len(computed), len(_protected_years(years)[1])


@tasks.task("reports.warm", hour="18", minute="30")
def warm() -> tuple[int, int]:
    """`store_defaults`, committed: by `flask --app crm reports warm`, and by the worker every night
    (18:30 UTC, 03:30 in Japan), so the first reader of a new day's 年度 does not wait for it."""
    stored = store_defaults()
    db.session.commit()
    return stored


def _window(first: int, last: int):
    from crm.reference.fiscal_year import bounds

    return bounds(first)[0], bounds(last)[1]


# --- Publishing: full figures, or under statistical disclosure control -----------------------------

def protect_derived(values: dict, people: dict, total_value: int, total_people: int):
    """Figures summed over groups of people (activities, yen, people reached): a group of 1–9 alumni
    hides its figure, and if exactly one is hidden while the total shows, the smallest other non-zero
    figure is hidden too (or the total), so `total − the others` reveals nothing."""
    hidden = {key for key in values if 0 < people.get(key, 0) < THRESHOLD}
    total = derived(total_value, total_people)
    if len(hidden) == 1 and not isinstance(total, Suppressed):
        candidates = [key for key in values if key not in hidden and values[key] > 0]
        if candidates:
            hidden.add(min(candidates, key=lambda key: values[key]))
        else:
            total = HIDDEN
    return {key: (HIDDEN if key in hidden else value) for key, value in values.items()}, total


def publish_year(item: YearFigures) -> dict:
    """One year's indicators as they are (for readers entitled to the full figures)."""
    values = {key: getattr(item, key) for key in ("tracked", "reachable", "engaged", "ambassadors", *ACTIVITY_SUMS)}
    values.update(participants=item.participants, investment_yen=item.investment_yen, return_yen=item.return_yen,
                  return_ratio=item.return_ratio, reachable_percent=percent_raw(item.reachable, item.tracked),
                  engaged_percent=percent_raw(item.engaged, item.tracked))
    return values


def percent_raw(part: int, whole: int) -> float | None:
    return None if not whole else round(100.0 * part / whole, 1)


def publish_kinds(item: YearFigures) -> dict:
    """Verified activities by kind: {kind: {activities, economic_value, …}} (all 11 kinds)."""
    rows = {kind: {key: item.by_kind.get(kind, {}).get(key, 0) for key in ACTIVITY_SUMS} for kind in ActivityKind}
    return {"rows": rows, "totals": {key: getattr(item, key) for key in ACTIVITY_SUMS}}


def publish_countries(residence: dict, activity: dict) -> dict:
    """Top countries of residence (with an "other" row so the total adds up) and of activities."""
    ordered = sorted(((c, n) for c, n in residence.items() if c), key=lambda pair: (-pair[1], pair[0]))
    top = dict(ordered[:TOP_COUNTRIES])
    rows = {**top, OTHER: sum(residence.values()) - sum(top.values())}
    act_sorted = sorted(activity.items(), key=lambda pair: (-pair[1]["activities"], pair[0]))[:TOP_COUNTRIES]
    return {"residence": rows, "residence_total": sum(rows.values()),
            "activity": {country: data["activities"] for country, data in act_sorted}}


def protected_years(years: list[int]) -> dict[int, protection.ProtectedYear]:
    """The publication under disclosure control of these 年度 (crm.reports.protection): stored where
    current, else protected from the figures of all 47 prefectures and of the 年度 around them
    (their bounds), and stored."""
    return _protected_years(years)[0]


def _protected_years(years: list[int]) -> tuple[dict[int, protection.ProtectedYear], list[int]]:
    """(publications, the 年度 whose publication was computed: not stored, or stale)."""
    generations = precomputed.publication_generations(years)  # before anything is computed
    stored, stale = ({}, {}) if generations is None else precomputed.stored_publications(
        generations, protection.METHOD, protection.ProtectedYear.from_plain)
    result = dict(stored)
    if missing := [year for year in years if year not in stored]:
        span = list(range(min(missing) - 1, max(missing) + 2))
        # A stale publication still tells its parts whose inputs did not change (e.g. every activity
        # sum after a consent change).
        computed = protection.protect_years(figures(None, Filters(max(missing)), span), missing, previous=stale)
        result.update(computed)
        if generations is not None:
            precomputed.store_publications({year: computed[year].plain() for year in missing}, generations,
                                           protection.METHOD)
    return result, missing


def _protected_report(prefecture_id: int, filters: Filters) -> tuple[dict, dict, dict]:
    """(trend, kinds, countries) under disclosure control: every figure read from the one publication."""
    if filters.narrows:
        raise FilterNotOffered()
    with precomputed.batch():
        protected = protected_years(trend_years(filters))
        # the 年度 on each side bound what a hidden count of residence could be (protection)
        residence = stored_residence(prefecture_id, filters, [filters.fiscal_year - 1, filters.fiscal_year, filters.fiscal_year + 1])
    published = {year: by_year.rows[prefecture_id] for year, by_year in protected.items()}
    countries, total = protection.protect_residence(residence, filters.fiscal_year, published[filters.fiscal_year]["tracked"])
    return published, protected[filters.fiscal_year].kinds[prefecture_id], {
        "residence": {code or OTHER: value for code, value in countries.items()}, "residence_total": total, "activity": {}}


def report(prefecture_id: int, filters: Filters, full: bool) -> dict:
    """Everything the return report shows for one prefecture and 年度 (one fixed set of queries)."""
    years = trend_years(filters)
    if full:
        with precomputed.batch():  # what was computed, stored in one write
            by_year = figures([prefecture_id], filters, years)[prefecture_id]
            residence, activity = stored_countries(prefecture_id, filters)
        published = {year: publish_year(by_year[year]) for year in years}
        kinds, countries = publish_kinds(by_year[filters.fiscal_year]), publish_countries(residence, activity)
    else:
        published, kinds, countries = _protected_report(prefecture_id, filters)
    published = {year: with_per_participant(values) for year, values in published.items()}
    now, before = published[filters.fiscal_year], published[filters.fiscal_year - 1]
    changes = {key: change(now[key], before[key]) for key in now if key not in ("reachable_percent", "engaged_percent")}
    return {
        "filters": filters,
        "years": years,
        "current": now,
        "change": changes,
        "trend": published,
        "kinds": kinds,
        "countries": countries,
        "notable": notable_activities(prefecture_id, filters) if full else [],
        "full": full,
        "previous_year": filters.fiscal_year - 1,
    }


def change(now, before):
    """The change of a published figure against the year before; hidden when either is hidden."""
    if now is None or before is None:
        return None
    if isinstance(now, Suppressed) or isinstance(before, Suppressed):
        return HIDDEN
    return round(now - before, 2) if isinstance(now, float) or isinstance(before, float) else now - before


# --- All 47 prefectures ----------------------------------------------------------------------------

INDICATORS = ("tracked", "reachable", "engaged", "ambassadors", "activities", "economic_value", "funds_raised",
              "people_reached", "visitors", "investment_yen", "return_ratio", "participants",
              "economic_value_per_participant", "return_per_participant")
# Figures per JET participant hosted: the sum divided by the participants of the same 年度.
PER_PARTICIPANT = {"economic_value_per_participant": ("economic_value",),
                   "return_per_participant": ("economic_value", "funds_raised")}


def with_per_participant(values: dict) -> dict:
    """A copy of one published row with its figures per JET participant hosted: a hidden part hides
    the quotient (crm.reports.definitions.per_participant), so nothing hidden can be worked back."""
    result = dict(values)
    for key, parts in PER_PARTICIPANT.items():
        numbers = [values.get(part) for part in parts]
        hidden = next((n for n in numbers if isinstance(n, Suppressed)), None)
        total = hidden if hidden is not None else None if any(n is None for n in numbers) else sum(numbers)
        result[key] = definitions.per_participant(total, values.get("participants"))
    return result


def national(filters: Filters) -> dict:
    """The 47 prefectures' indicators for one year and the national trend, always under disclosure
    control (this is what the ministry compares) and without sub-group filters."""
    if filters.narrows:
        raise FilterNotOffered()
    years = trend_years(filters)
    protected = protected_years(years)
    current = protected[filters.fiscal_year]
    by_year = {year: {p: with_per_participant(row) for p, row in protected[year].rows.items()} for year in years}
    return {"filters": filters, "years": years, "rows": by_year[filters.fiscal_year], "totals": with_per_participant(current.totals),
            "trend": {year: protected[year].totals for year in years}, "by_year": by_year}


__all__ = ["change", "Filters", "FilterNotOffered", "GroupTooSmall", "INDICATORS", "national", "report", "compute_activity", "compute_cohort", "figures",
           "protect_derived", "store_defaults"]
