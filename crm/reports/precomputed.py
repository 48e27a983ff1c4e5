"""Figures served from the precomputed store (crm.reports.models), recomputing only what changed.

A read takes the generations of what it is about to compute *before* computing anything: the
figures it then computes have seen at least every write counted in them (writers bump them in their
own transaction), so storing the figures under those generations is safe; a write in between only
makes them stale again. A (prefecture, 年度) is served from the store if it is stored at its current
generation; the others are computed in one call and stored. Raw figures are stored; disclosure
control is applied when they are published, exactly as for live figures.

Figures may be stored in parts with their own staleness (crm.reports.returns.figures): each key
names the counters it reads (`every_year`, and the 年度's own one unless `per_year` is off), and a
read computes only the parts whose counters moved. What a request computes is stored at its end, in
one write (`batch`).

Storing from a read-only request uses a short transaction of its own (like audit.record_event) and
never waits long for the write lock: if the database is busy (an import), the computed figures are
served and stored on a later read. In a transaction that writes (CLI, tests, a POST) the rows join
that transaction, so figures computed from uncommitted data are kept only if that data is.
"""
from __future__ import annotations

import contextlib
import functools
import json
import logging
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar

from sqlalchemy import Text, and_, bindparam, cast, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import aliased

from crm.db import SQLITE_BUSY_TIMEOUT_MS, write_intent, writing
from crm.extensions import db
from crm.reports.models import EVERY_YEAR, ReportChange, ReportFigures, ReportGeneration, ReportPublication

log = logging.getLogger("crm.reports")

# How long a read waits for SQLite's write lock to store figures before giving up on storing.
STORE_WAIT_MS = 100

Plain = dict[int, dict[int, dict]]  # {prefecture id: {年度: JSON-able figures}}
_batch: ContextVar[list[dict] | None] = ContextVar("report_figures_batch", default=None)


@contextlib.contextmanager
def batch() -> Iterator[list[dict]]:
    """Store what is computed inside the block in one write when it ends (the rows, for counting);
    a batch inside another joins it."""
    if _batch.get() is not None:
        yield _batch.get()
        return
    rows: list[dict] = []
    token = _batch.set(rows)
    try:
        yield rows
    finally:
        _batch.reset(token)
    if rows:
        # A request may compute the same figures twice (the second read did not see the first's
        # unstored rows); one upsert must not name a row twice.
        _store(list({(row["key"], row["fiscal_year"], row["prefecture_id"]): row for row in rows}.values()))


def read_through(prefecture_ids: Iterable[int], key: str, years: list[int],
                 compute: Callable[[list[int], list[int]], Plain], every_year: int = EVERY_YEAR, per_year: bool = True) -> Plain:
    """{prefecture: {年度: figures}} for every requested prefecture and year: stored figures where
    current, else `compute(prefecture ids, years)` (then stored). Stored figures are current while
    the sum of the counters they read — `every_year`'s and, with `per_year`, the 年度's own — is
    unchanged. The stale (prefecture, 年度) pairs are computed in one call: their prefectures × the
    years from the first to the last stale one."""
    wanted = list(prefecture_ids)
    stored = db.session.execute(_stored_figures(every_year, per_year), {"key": key, "years": years, "prefectures": wanted})
    result: Plain = {p: {} for p in wanted}
    generations: dict[tuple[int, int], int] = {}
    for prefecture, year, figures, stored_generation, now in stored:
        generations[prefecture, year] = now
        if stored_generation == now:
            result[prefecture][year] = figures
    if write_intent.get():
        # A transaction's own changes are bumped when it commits (PostgreSQL): stale for it already
        # (an all-years counter, whichever, for every year: never current by mistake).
        for prefecture, year in db.session.execute(select(ReportChange.prefecture_id, ReportChange.fiscal_year)):
            for stale_year in years if year <= EVERY_YEAR else [year]:
                result.get(prefecture, {}).pop(stale_year, None)
    stale = {(p, year) for p in wanted for year in years if year not in result[p]}
    if not stale:
        return result
    prefectures = sorted({p for p, _ in stale})
    stale_years = list(range(min(y for _, y in stale), max(y for _, y in stale) + 1))
    if any((p, year) not in generations for p in prefectures for year in stale_years):  # never stored
        counters: dict[tuple[int, int], int] = {}
        for prefecture, year, count in db.session.execute(
                select(ReportGeneration.prefecture_id, ReportGeneration.fiscal_year, ReportGeneration.generation)
                .where(ReportGeneration.prefecture_id.in_(prefectures),
                       ReportGeneration.fiscal_year.in_([every_year, *(stale_years if per_year else [])]))):
            counters[prefecture, year] = count
        for prefecture in prefectures:
            for year in stale_years:
                generations.setdefault((prefecture, year), counters.get((prefecture, every_year), 0)
                                       + (counters.get((prefecture, year), 0) if per_year else 0))
    computed = compute(prefectures, stale_years)
    for prefecture in prefectures:
        result[prefecture].update(computed[prefecture])
    with batch() as rows:
        rows += [{"key": key, "fiscal_year": year, "prefecture_id": prefecture, "figures": computed[prefecture][year],
                  "generation": generations[prefecture, year]}
                 for prefecture in prefectures for year in stale_years]
    return result


@functools.cache
def _stored_figures(every_year: int, per_year: bool):
    """The stored figures of a key, years and prefectures (bound when run), each with the generation
    it would be stored at now: stale rows come too, read before computing, in the same statement
    (a figure computed after this read has seen at least these writes). Built once: a report reads
    through the store three times per request, and building the statement cost more than running it."""
    all_years, this_year = aliased(ReportGeneration), aliased(ReportGeneration)
    generation = func.coalesce(all_years.generation, 0)
    statement = (
        select(ReportFigures.prefecture_id, ReportFigures.fiscal_year, ReportFigures.figures, ReportFigures.generation)
        .outerjoin(all_years, and_(all_years.prefecture_id == ReportFigures.prefecture_id, all_years.fiscal_year == every_year)))
    if per_year:
        generation += func.coalesce(this_year.generation, 0)
        statement = statement.outerjoin(this_year, and_(this_year.prefecture_id == ReportFigures.prefecture_id,
                                                        this_year.fiscal_year == ReportFigures.fiscal_year))
    return statement.add_columns(generation).where(
        ReportFigures.key == bindparam("key"), ReportFigures.fiscal_year.in_(bindparam("years", expanding=True)),
        ReportFigures.prefecture_id.in_(bindparam("prefectures", expanding=True)))


def _upsert(dialect: str, model=ReportFigures, values=("generation", "figures")):
    insert = (postgresql if dialect == "postgresql" else sqlite).insert(model)
    return insert.on_conflict_do_update(index_elements=list(model.__table__.primary_key.columns),
                                        set_={name: insert.excluded[name] for name in values})


def _store(rows: list[dict], model=ReportFigures, values=("generation", "figures")) -> None:
    if write_intent.get():
        db.session.execute(_upsert(db.engine.dialect.name, model, values), rows)
        return
    with db.engine.connect() as connection:
        sqlite_connection = connection.connection.driver_connection if connection.dialect.name == "sqlite" else None
        try:
            if sqlite_connection is not None:
                sqlite_connection.execute(f"PRAGMA busy_timeout={STORE_WAIT_MS}")
            with writing(), connection.begin():
                connection.execute(_upsert(connection.dialect.name, model, values), rows)
        except OperationalError as error:
            log.info("%s not stored (database busy): %s", model.__tablename__, error.orig)
        finally:
            if sqlite_connection is not None:
                sqlite_connection.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")


# --- Protected publications (crm.reports.protection) --------------------------------------------
# A 年度's publication reads the figures of all 47 prefectures for that 年度 and the one on each
# side. Its generation is the sum of every counter those figures read; all only grow, so the sum
# moves whenever one of them does.

def publication_generations(years: list[int]) -> dict[int, int] | None:
    """{年度: generation its publication is current at}, read before anything is computed (as in
    read_through); None when this transaction changed figures not yet counted (PostgreSQL bumps
    at commit): then nothing stored is current for it, and nothing it computes is stored."""
    if write_intent.get() and db.session.scalar(select(ReportChange.id).limit(1)) is not None:
        return None
    counters = dict(db.session.execute(
        select(ReportGeneration.fiscal_year, func.sum(ReportGeneration.generation))
        .where(or_(ReportGeneration.fiscal_year <= EVERY_YEAR,
                   ReportGeneration.fiscal_year.between(min(years) - 1, max(years) + 1)))
        .group_by(ReportGeneration.fiscal_year)).all())
    every_year = sum(int(count) for year, count in counters.items() if year <= EVERY_YEAR)  # PostgreSQL sums to numeric
    return {year: every_year + sum(int(counters.get(y, 0)) for y in (year - 1, year, year + 1)) for year in years}


def stored_publications(generations: dict[int, int], method: str, decode: Callable[[dict], object]
                        ) -> tuple[dict[int, object], dict[int, object]]:
    """({年度: publication stored at its current generation}, {年度: one stored at an earlier one}) of
    those stored by this method, each as `decode` makes it of the stored JSON."""
    current, stale = {}, {}
    for year, generation, text in db.session.execute(
            select(ReportPublication.fiscal_year, ReportPublication.generation, cast(ReportPublication.publication, Text))
            .where(ReportPublication.fiscal_year.in_(list(generations)), ReportPublication.method == method)):
        (current if generation == generations[year] else stale)[year] = _decoded(text, decode)
    return current, stale


@functools.lru_cache(maxsize=12)
def _decoded(text: str, decode: Callable[[dict], object]) -> object:
    """A stored publication decoded once per process and shared by its readers, who only read it: a
    year's publication is about 100 KB of JSON, and the dashboard and a report read five (decoding
    them was a third of a drill-down's time). Keyed by the stored text itself, so a publication
    stored anew (another generation, or another database) is decoded anew. About a year's worth of
    publications are kept."""
    return decode(json.loads(text))


def store_publications(publications: dict[int, dict], generations: dict[int, int], method: str) -> None:
    _store([{"fiscal_year": year, "method": method, "generation": generations[year], "publication": publication}
            for year, publication in publications.items()], ReportPublication, ("method", "generation", "publication"))
