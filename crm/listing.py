"""Sorting and paging for every list page, so each domain's list reads its URL the same way."""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, request
from sqlalchemy import Select, func, literal_column, select

from crm.db import request_int
from crm.extensions import db


@dataclass
class Page:
    items: list
    total: int
    page: int
    per_page: int
    sort: str
    descending: bool
    # True when counting stopped at a limit: `total` is then a lower bound ("more than 1,000").
    more: bool = False

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages or self.more

    @property
    def first_index(self) -> int:
        return 0 if self.total == 0 else (self.page - 1) * self.per_page + 1

    @property
    def last_index(self) -> int:
        return min(self.total, self.page * self.per_page)


def sort_from_request(columns: dict, default: str) -> tuple[str, bool]:
    """`?sort=name` or `?sort=-name`, limited to the allowed column names."""
    raw = request.args.get("sort", default)
    descending = raw.startswith("-")
    key = raw.lstrip("-")
    if key not in columns:
        key, descending = default.lstrip("-"), default.startswith("-")
    return key, descending


def page_number() -> int:
    # Capped far beyond any list, so that the offset stays a database integer.
    return min(max(1, request_int(request.args.get("page")) or 1), 10**9)


def paginate(statement: Select, columns: dict, default_sort: str, tiebreak, per_page: int | None = None, scalars=True,
             count_limit: int | None = None, rows_by_key=None) -> Page:
    """Count, sort (with a stable tiebreak) and slice one page of `statement`.

    With `count_limit`, counting stops that many rows past the start of the requested page: a broad
    filter over a large registry then costs a bounded count, shown as "more than N", and paging on
    still works (each further page counts on from its own start). Small results are counted exactly.
    Given `rows_by_key` too, the filter and sort run once, for the keys (`tiebreak`) of the page and
    of the rows counted after it, and `rows_by_key(keys)` is the statement that reads the page's rows
    by their keys (for a filter that costs more to run twice than to return 1,000 keys).
    """
    per_page = per_page or current_app.config["PAGE_SIZE"]
    key, descending = sort_from_request(columns, default_sort)
    requested = page_number()
    column = columns[key]
    if not hasattr(column, "desc"):
        column = column()  # an order that depends on the request, such as the language
    ordered = statement.order_by(column.desc() if descending else column.asc(), tiebreak)
    if rows_by_key and count_limit is not None and (found := _bounded_page(ordered, tiebreak, requested, per_page, count_limit)):
        total, more, keys = found
        items = _read(rows_by_key(keys), scalars) if keys else []
        order = {row_key: index for index, row_key in enumerate(keys)}
        items.sort(key=lambda item: order[getattr(item, tiebreak.key)])
        return Page(items, total, requested, per_page, key, descending, more)
    total, more = _count(statement, None if count_limit is None else (requested - 1) * per_page + count_limit)
    page = min(requested, max(1, -(-total // per_page)))
    items = _read(ordered.limit(per_page).offset((page - 1) * per_page), scalars)
    return Page(items, total, page, per_page, key, descending, more)


def _read(statement: Select, scalars: bool) -> list:
    result = db.session.execute(statement)
    return list(result.scalars().unique() if scalars else result)


def _bounded_page(ordered: Select, tiebreak, requested: int, per_page: int, count_limit: int):
    """The requested page's keys and the bounded count in ONE pass of the filter and sort: the keys of
    up to `count_limit` + 1 rows from the page's start, in order (a count and a slice would filter and
    sort twice). → (total, more, the page's keys), or None for a page past the end (its last page
    must be counted first)."""
    start = (requested - 1) * per_page
    keys = db.session.scalars(ordered.with_only_columns(tiebreak, maintain_column_froms=True)
                              .limit(count_limit + 1).offset(start)).all()
    if not keys and start:
        return None
    return start + min(len(keys), count_limit), len(keys) > count_limit, keys[:per_page]


def _count(statement: Select, ceiling: int | None) -> tuple[int, bool]:
    """→ (rows of `statement`, up to `ceiling` when given; whether there are more)."""
    # Only the rows' existence matters to the count, so an index can answer it without the table.
    counted = statement.order_by(None).with_only_columns(literal_column("1"), maintain_column_froms=True)
    if ceiling is not None:
        counted = counted.limit(ceiling + 1)
    total = db.session.scalar(select(func.count()).select_from(counted.subquery()))
    if ceiling is not None and total > ceiling:
        return ceiling, True
    return total, False
