"""Sorting and paging for every list page, so each domain's list reads its URL the same way."""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, request
from sqlalchemy import Select, func, select

from crm.extensions import db


@dataclass
class Page:
    items: list
    total: int
    page: int
    per_page: int
    sort: str
    descending: bool

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

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
    try:
        return max(1, int(request.args.get("page", 1)))
    except ValueError:
        return 1


def paginate(statement: Select, columns: dict, default_sort: str, tiebreak, per_page: int | None = None, scalars=True) -> Page:
    """Count, sort (with a stable tiebreak) and slice one page of `statement`."""
    per_page = per_page or current_app.config["PAGE_SIZE"]
    key, descending = sort_from_request(columns, default_sort)
    column = columns[key]
    total = db.session.scalar(select(func.count()).select_from(statement.order_by(None).subquery()))
    page = min(page_number(), max(1, -(-total // per_page)))
    ordered = statement.order_by(column.desc() if descending else column.asc(), tiebreak)
    result = db.session.execute(ordered.limit(per_page).offset((page - 1) * per_page))
    items = list(result.scalars().unique() if scalars else result)
    return Page(items, total, page, per_page, key, descending)
