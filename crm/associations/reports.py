"""Figures about associations: one association's annual report (its own staff) and the national
aggregates the ministry sees (no names, counts of people under 10 suppressed by crm.disclosure).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select

from crm import charts, clock
from crm.associations.models import (
    GOVERNMENT,
    SELF_RAISED,
    Association,
    AssociationKind,
    FundingLine,
    FundingSource,
    Member,
    MemberKind,
    MemberStatus,
    Program,
    ProgramKind,
    ProgramStatus,
)
from crm.associations.operations import FeeSummary, fee_summaries, fiscal_year_range
from crm.extensions import db
from crm.numbers import figure
from crm.reference import fiscal_year as fy
from crm.reference.fiscal_year import fiscal_year_of
from crm.reference.models import Prefecture
from crm.disclosure import THRESHOLD, derived, suppress_series, suppress_table

TREND_YEARS = 5


@dataclass
class KindLine:
    kind: ProgramKind
    programs: int = 0
    japanese: int = 0
    foreign: int = 0
    volunteers: int = 0
    budget: int = 0
    actual: int = 0


@dataclass
class FundingMix:
    fiscal_year: int
    by_source: dict[FundingSource, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.by_source.values())

    def _share(self, sources) -> float | None:
        return round(100 * sum(self.by_source.get(s, 0) for s in sources) / self.total, 1) if self.total else None

    @property
    def self_raised_share(self) -> float | None:
        """Private grants, membership fees and sponsorship as a share of all funding."""
        return self._share(SELF_RAISED)

    @property
    def government_share(self) -> float | None:
        return self._share(GOVERNMENT)


@dataclass
class YearFigures:
    """One 年度 of the five-year trend: programs held, the people at them, and fee collection."""
    fiscal_year: int
    programs: int
    japanese: int
    foreign: int
    volunteers: int
    fees: FeeSummary


@dataclass
class AnnualReport:
    association: Association
    fiscal_year: int
    by_kind: list[KindLine]
    funding: FundingMix
    trend: list[FundingMix]
    fees: FeeSummary
    years: list[YearFigures] = field(default_factory=list)

    @property
    def totals(self) -> KindLine:
        total = KindLine(kind=None)
        for line in self.by_kind:
            for key in ("programs", "japanese", "foreign", "volunteers", "budget", "actual"):
                setattr(total, key, getattr(total, key) + getattr(line, key))
        return total


def _in_year(fiscal_year: int):
    start, end = fiscal_year_range(fiscal_year)
    return (Program.starts_at >= start, Program.starts_at < end)


def _funding_mix(fiscal_year: int, association_id: int | None = None) -> FundingMix:
    statement = (
        select(FundingLine.source, func.sum(FundingLine.amount))
        .join(FundingLine.program)
        .where(*_in_year(fiscal_year), Program.status != ProgramStatus.CANCELLED)
        .group_by(FundingLine.source)
    )
    if association_id is not None:
        statement = statement.where(Program.association_id == association_id)
    return FundingMix(fiscal_year, {source: int(amount) for source, amount in db.session.execute(statement)})


def _held_by_year(association_id: int, years) -> dict[int, tuple[int, int, int, int]]:
    """Programs held in each 年度 and their Japanese and foreign participants and volunteers: one
    query over the years, summed here (an association holds tens of programs a year)."""
    totals = {year: [0, 0, 0, 0] for year in years}
    start, _ = fiscal_year_range(min(years))
    _, end = fiscal_year_range(max(years))
    for starts_at, japanese, foreign, volunteers in db.session.execute(
        select(Program.starts_at, Program.participants_japanese, Program.participants_foreign, Program.volunteers)
        .where(Program.association_id == association_id, Program.status == ProgramStatus.HELD,
               Program.starts_at >= start, Program.starts_at < end)
    ):
        line = totals[fiscal_year_of(starts_at.astimezone(clock.TOKYO).date())]
        for index, value in enumerate((1, japanese, foreign, volunteers)):
            line[index] += value
    return {year: tuple(line) for year, line in totals.items()}


def annual_report(association: Association, fiscal_year: int) -> AnnualReport:
    """Programs held in the 年度 by kind, budget vs actual, funding mix, fee collection, and the five
    年度 up to it: programs and people, funding and its self-raised share, fees due and collected."""
    lines = {kind: KindLine(kind) for kind in ProgramKind}
    rows = db.session.execute(
        select(
            Program.kind, func.count(), func.sum(Program.participants_japanese), func.sum(Program.participants_foreign),
            func.sum(Program.volunteers), func.sum(Program.budget), func.coalesce(func.sum(Program.actual_cost), 0),
        )
        .where(Program.association_id == association.id, Program.status == ProgramStatus.HELD, *_in_year(fiscal_year))
        .group_by(Program.kind)
    )
    for kind, count, japanese, foreign, volunteers, budget, actual in rows:
        lines[kind] = KindLine(kind, count, int(japanese), int(foreign), int(volunteers), int(budget), int(actual))
    years = range(fiscal_year - TREND_YEARS + 1, fiscal_year + 1)
    trend = [_funding_mix(year, association.id) for year in years]
    held, fees = _held_by_year(association.id, years), fee_summaries(association, years)
    history = [YearFigures(year, *held[year], fees[year]) for year in years]
    return AnnualReport(
        association, fiscal_year, [line for line in lines.values() if line.programs],
        trend[-1], trend, history[-1].fees, history,
    )


# The trend charts: figures of one unit share a scale (people with people, due with collected), and
# a percentage is drawn against 100 %, so that bars side by side compare.
PEOPLE = ("japanese", "foreign", "volunteers")
TREND_CHARTS = {
    "programs": ("programs", *PEOPLE),
    "funding": ("funding", "self_raised_share"),
    "fees": ("fees_due", "fees_collected", "collection_rate"),
}


PERCENTAGES = ("self_raised_share", "government_share", "collection_rate")


def amount(key: str, number) -> str:
    """One figure of the five-year trend in its unit, the same in a chart and in the table beside it."""
    return figure(number, percent=key in PERCENTAGES)


def trend_figures(report: AnnualReport) -> dict[int, dict]:
    """{年度: {figure: value}} of the five-year trend, as the tables beside the charts show them."""
    figures = {}
    for line, mix in zip(report.years, report.trend):
        figures[line.fiscal_year] = {
            "programs": line.programs, "japanese": line.japanese, "foreign": line.foreign, "volunteers": line.volunteers,
            "funding": mix.total, "self_raised_share": mix.self_raised_share, "government_share": mix.government_share,
            "fees_due": line.fees.due, "fees_collected": line.fees.collected, "collection_rate": line.fees.collection_rate,
            "members_billed": line.fees.members, "paid_members": line.fees.paid_members,
        }
    return figures


def report_charts(report: AnnualReport) -> dict:
    """Geometry of the annual report's charts: programs and funding by kind and source in the 年度,
    and the five-year trends ({section: [chart per figure]})."""
    figures = trend_figures(report)
    years = [line.fiscal_year for line in report.years]

    def common(keys):
        return max([charts.number(figures[y][k]) or 0 for y in years for k in keys] + [0])

    people, fees = common(PEOPLE), common(("fees_due", "fees_collected"))
    tops = {**{key: people for key in PEOPLE}, "fees_due": fees, "fees_collected": fees,
            "self_raised_share": 100, "collection_rate": 100}
    return {
        "kinds": charts.hbars({line.kind.label: line.programs for line in report.by_kind}),
        "sources": charts.hbars({source.label: yen for source, yen in report.funding.by_source.items()}),
        **{section: charts.small_multiples(years, figures, keys, fy.label, tops, text=amount)
           for section, keys in TREND_CHARTS.items()},
    }


def report_rows(report: AnnualReport, labels: dict) -> list[list]:
    """The annual report as rows for CSV/XLSX: section, item, then figures."""
    rows = []
    for line in report.by_kind:
        rows.append([labels["programs"], line.kind.label, line.programs, line.japanese, line.foreign, line.volunteers, line.budget, line.actual])
    for source, amount in report.funding.by_source.items():
        rows.append([labels["funding"], source.label, None, None, None, None, amount, None])
    for mix in report.trend:
        rows.append([labels["trend"], str(mix.fiscal_year), None, None, None, None, mix.total, mix.self_raised_share])
    for line in report.years:
        rows.append([labels["programs_trend"], str(line.fiscal_year), line.programs, line.japanese, line.foreign, line.volunteers, None, None])
    fees = report.fees
    rows.append([labels["fees"], labels["collection_rate"], fees.members, fees.paid_members, None, None, fees.due, fees.collected])
    for line in report.years:
        rows.append([labels["fees_trend"], f"{line.fiscal_year} · {labels['collection_rate']}", line.fees.members, line.fees.paid_members, None, None, line.fees.due, line.fees.collected])
    return rows


# --- National aggregates for the ministry ---------------------------------------------------------

@dataclass
class NationalOverview:
    fiscal_year: int
    associations: object  # (prefecture → kind → count of organisations)
    prefectures: dict[int, Prefecture]
    programs: list[tuple[ProgramKind, int]]
    participants: object  # SuppressedTable: kind → (Japanese, foreign residents)
    members: object  # SuppressedSeries: prefecture → individual members
    funding: list[tuple[FundingMix, object]]  # with the year's participants (for derived suppression)


def national_overview(fiscal_year: int) -> NationalOverview:
    """Aggregates only. Organisations (associations, programs) are counted as they are; counts of
    people (participants, individual members) go through primary and secondary suppression, and
    money figures of a year with fewer than 10 participants are suppressed as derived values."""
    prefectures = {p.id: p for p in db.session.scalars(select(Prefecture))}
    by_kind: dict[int, dict[AssociationKind, int]] = {}
    for prefecture_id, kind, count in db.session.execute(
        select(Association.prefecture_id, Association.kind, func.count()).group_by(Association.prefecture_id, Association.kind)
    ):
        by_kind.setdefault(prefecture_id, {})[kind] = count

    program_counts, participants = {}, {}
    for kind, count, japanese, foreign in db.session.execute(
        select(Program.kind, func.count(), func.sum(Program.participants_japanese), func.sum(Program.participants_foreign))
        .where(Program.status == ProgramStatus.HELD, *_in_year(fiscal_year))
        .group_by(Program.kind)
    ):
        program_counts[kind] = count
        participants[kind] = {"japanese": int(japanese), "foreign": int(foreign)}

    members = dict(
        db.session.execute(
            select(Association.prefecture_id, func.count(Member.id))
            .join(Member.association)
            .where(Member.kind == MemberKind.INDIVIDUAL, Member.status == MemberStatus.ACTIVE)
            .group_by(Association.prefecture_id)
        ).all()
    )

    years = sorted(
        {
            fiscal_year_of(moment.astimezone(clock.TOKYO).date())
            for moment in db.session.scalars(select(Program.starts_at).where(Program.status != ProgramStatus.CANCELLED))
        }
    )
    funding = []
    for year in years:
        people = db.session.scalar(
            select(func.coalesce(func.sum(Program.participants_japanese + Program.participants_foreign), 0))
            .where(Program.status == ProgramStatus.HELD, *_in_year(year))
        )
        funding.append((_funding_mix(year), int(people)))

    return NationalOverview(
        fiscal_year,
        {pid: by_kind[pid] for pid in sorted(by_kind)},
        prefectures,
        [(kind, program_counts[kind]) for kind in ProgramKind if kind in program_counts],
        # Only the totals the page shows are computed: each published total is an equation a reader can use.
        _participants_table(participants),
        suppress_series({pid: members[pid] for pid in sorted(members)}) if members else None,
        funding,
    )


def _participants_table(participants: dict):
    """Participants by kind (Japanese, foreign residents) with each kind's total. The year's funding
    row is shown only when 10 or more people took part, which tells a reader whether the unshown
    grand total is 10 or more: the protection knows it too."""
    if not participants:
        return None
    people = sum(row["japanese"] + row["foreign"] for row in participants.values())
    known = (THRESHOLD, float("inf")) if people >= THRESHOLD else (0, THRESHOLD - 1)
    return suppress_table(participants, columns=["japanese", "foreign"], col_totals=False, grand_total=False,
                          bounds={("grand",): known})


def published_amount(amount: int, people: int):
    """A money figure attached to activities, hidden when it concerns fewer than 10 people."""
    return derived(amount, people)

