"""Statistical disclosure control for ministry-facing aggregate reports.

A ministry reviewer sees only aggregates over the 47 prefectures: counts of
people (alumni tracked, alumni by country of residence, by position, people
reached by activities, ...) and figures derived from such counts.  This module
decides which of those numbers may be shown, and :func:`legend` says in the
reader's language what the markers mean.  No database, no I/O, no app: only the
legend's words come from Flask-Babel.

Rules
-----
* **Primary suppression.**  A count of people of 1 to ``THRESHOLD - 1`` (1-9)
  is never shown; it is replaced by :data:`SUPPRESSED` which renders as
  ``"<10"``.  Zero is shown as ``0``.  Totals follow the same rule.
* **Derived values.**  A sum, percentage, ratio or money amount computed from a
  suppressed count is suppressed too (:func:`derived`, :func:`percent`).
* **Secondary suppression.**  In a table with published totals a hidden cell
  must not be recoverable by arithmetic on what is shown.
  :func:`suppress_table` hides further cells until, for every published
  equation ``row/column cells = total``, no hidden value can be solved for.
* **Small groups.**  A filter that narrows a group to 1-9 people is refused
  (:func:`ensure_group_size` raises :class:`GroupTooSmall`).

:class:`Suppressed` deliberately does not carry the hidden value, so a
template or log can never leak it.

Secondary suppression algorithm (:func:`suppress_table`)
--------------------------------------------------------
The table with its margins is treated as an ``(R+1) x (C+1)`` grid: the cells,
a column of row totals, a row of column totals and the grand total in the
corner.  Each grid row and grid column is one linear equation (its members
sum to its total; the totals column sums to the grand total, and so does the
totals row).  Totals that are not published are permanently unknown.

1. *Primary*: every published position whose value is 1-9 is hidden.
2. *Line rule* (sweeps over all grid rows, then all grid columns, then the
   two margin lines, in input order, until nothing changes).  An equation
   is *exposed* when

   - exactly one of its members is hidden (``total - visible cells`` would
     reveal it; this includes a hidden total whose cells are all shown;
     an unpublished total of >= 10 alone is harmless and ignored), or
   - its total is shown, its hidden members are all published and they are
     all 1s or all 9s: a reader who knows that zeros are shown and that
     "<10" means 1-9 would pin them from the hidden sum.

   An exposed equation gets one more hidden member: the smallest non-zero
   shown cell of that line (ties: first in input order).  Zeros are never
   chosen, as hiding a zero protects nothing.  If the line has no non-zero
   shown cell, its total is hidden instead.
3. *Linked suppression* (closes gaps the line rule cannot see).  The hidden
   positions form a bipartite graph between grid rows and grid columns; the
   published equations determine a hidden value exactly iff its edge is a
   *bridge* of that graph (lies on no cycle).  For the first such bridge
   (input order) the cheapest set of shown non-zero positions that puts it
   on a cycle is hidden (shortest path, cost = sum of the values hidden,
   then fewest positions; ties by index order).  Then back to step 2, until
   there is no bridge.

Everything is iterated in input order with index-based tie-breaking, so the
result depends only on the input (not on hash seeds or dict internals).

Guarantees: after :func:`suppress_table` no hidden published value (and no
unpublished total of 1-9) is a linear function of the published values, and
no single line pins its hidden cells at the bounds 1 or 9.  Not covered:
bounds attacks that combine several lines (full linear-programming interval
protection as done by tools such as tau-ARGUS).
"""

from __future__ import annotations

import enum
import heapq
import re
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import NotImplementedType
from typing import Any, Final, Generic, TypeVar

from flask_babel import gettext as _

__all__ = [
    "SUPPRESSED",
    "SUPPRESSED_LABEL",
    "THRESHOLD",
    "WITHHELD_LABEL",
    "DisclosureError",
    "FilterNotOffered",
    "GroupTooSmall",
    "Reason",
    "Suppressed",
    "SuppressedSeries",
    "SuppressedTable",
    "Value",
    "derived",
    "ensure_group_size",
    "is_suppressed",
    "legend",
    "percent",
    "sort_key",
    "suppress_count",
    "suppress_series",
    "suppress_table",
]

THRESHOLD: Final[int] = 10
"""Smallest number of people that may be shown; 1 to THRESHOLD-1 are hidden."""

SUPPRESSED_LABEL: Final[str] = f"<{THRESHOLD}"
"""What a count of 1 to THRESHOLD-1 people renders as."""

WITHHELD_LABEL: Final[str] = "X"
"""What every other hidden value renders as (秘匿 in Japanese official statistics): a count hidden so
that another cannot be worked out (it is 10 or more), or a sum, ratio or percentage."""


class Reason(enum.Enum):
    """Why a value is suppressed (for audits and tests; never shown)."""

    PRIMARY = "primary"
    """The count itself is 1-9."""
    SECONDARY = "secondary"
    """Hidden so that another hidden count cannot be worked out."""
    DERIVED = "derived"
    """Computed from a suppressed count."""


@dataclass(frozen=True, eq=False, slots=True)
class Suppressed:
    """A value that must not be shown; renders as ``"<10"`` (a count of 1-9 people) or ``"X"``.

    It holds no number.  All instances compare equal to each other (the
    :attr:`reason` is metadata only), so ``value == SUPPRESSED`` works.
    For ordering it sits between every number below :data:`THRESHOLD` and
    :data:`THRESHOLD` itself (e.g. ``0 < SUPPRESSED < 10``), which is where a
    "<10" count belongs when a column is sorted.  Arithmetic with it yields a
    derived :class:`Suppressed`, so ``sum()`` over a column fails closed.

    The label tells primary counts ("<10": 1-9) from everything else ("X"),
    as official statistics do; :func:`suppress_table` protects the hidden
    values knowing that a reader uses those bounds.
    """

    reason: Reason = Reason.PRIMARY

    # -- rendering ---------------------------------------------------------
    @property
    def label(self) -> str:
        return SUPPRESSED_LABEL if self.reason is Reason.PRIMARY else WITHHELD_LABEL

    def __str__(self) -> str:
        return self.label

    def __format__(self, spec: str) -> str:
        return format(self.label, _text_spec(spec))

    def __repr__(self) -> str:
        return f"Suppressed({self.reason.name})"

    def __html__(self) -> str:
        """Markup-safe rendering for Jinja (``<`` escaped)."""
        return self.label.replace("&", "&amp;").replace("<", "&lt;")

    # -- equality / ordering ------------------------------------------------
    def __eq__(self, other: object) -> bool:
        return isinstance(other, Suppressed)

    def __ne__(self, other: object) -> bool:
        return not isinstance(other, Suppressed)

    def __hash__(self) -> int:
        return hash(Suppressed)

    def _cmp(self, other: object) -> tuple[float, float] | None:
        if isinstance(other, Suppressed):
            return (0.0, 0.0)
        if isinstance(other, (int, float)) and not isinstance(other, bool):
            return (_SORT_POSITION, float(other))
        return None

    def __lt__(self, other: object) -> bool:
        pair = self._cmp(other)
        return NotImplemented if pair is None else pair[0] < pair[1]

    def __le__(self, other: object) -> bool:
        pair = self._cmp(other)
        return NotImplemented if pair is None else pair[0] <= pair[1]

    def __gt__(self, other: object) -> bool:
        pair = self._cmp(other)
        return NotImplemented if pair is None else pair[0] > pair[1]

    def __ge__(self, other: object) -> bool:
        pair = self._cmp(other)
        return NotImplemented if pair is None else pair[0] >= pair[1]

    # -- arithmetic fails closed --------------------------------------------
    def _derive(self, other: object) -> Suppressed | NotImplementedType:
        if isinstance(other, (int, float, Suppressed)) and not isinstance(other, bool):
            return _DERIVED
        return NotImplemented  # type: ignore[no-any-return]

    __add__ = __radd__ = __sub__ = __rsub__ = _derive
    __mul__ = __rmul__ = __truediv__ = __rtruediv__ = _derive


_SORT_POSITION: Final[float] = THRESHOLD - 0.5
_INF: Final[float] = float("inf")

SUPPRESSED: Final[Suppressed] = Suppressed(Reason.PRIMARY)
"""The canonical suppressed value (primary)."""
_SECONDARY: Final[Suppressed] = Suppressed(Reason.SECONDARY)
_DERIVED: Final[Suppressed] = Suppressed(Reason.DERIVED)

Value = int | Suppressed
"""A published count: an int (0 or >= THRESHOLD) or :class:`Suppressed`."""


def _text_spec(spec: str) -> str:
    """Keep only fill/align/width of a numeric format spec, for the label."""
    m = re.match(r"^(?P<fa>(.?[<>=^])?)[+\- ]?z?#?0?(?P<w>\d*)", spec)
    assert m is not None  # every group is optional
    fill_align = m.group("fa").replace("=", ">") or ">"  # right-aligned, like numbers
    return f"{fill_align}{m.group('w')}"


def is_suppressed(value: object) -> bool:
    """True if *value* is a :class:`Suppressed` marker."""
    return isinstance(value, Suppressed)


def sort_key(value: float | Suppressed | None) -> tuple[int, float]:
    """Key for sorting published values; ``None`` sorts last.

    >>> sorted([12, SUPPRESSED, 0, None], key=sort_key)
    [0, Suppressed(PRIMARY), 12, None]
    """
    if value is None:
        return (1, 0.0)
    if isinstance(value, Suppressed):
        return (0, _SORT_POSITION)
    return (0, float(value))


def _check_count(n: object, what: str = "count") -> int:
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"{what} must be an int, got {type(n).__name__}")
    if n < 0:
        raise ValueError(f"{what} must be >= 0")
    return n


def _is_small(n: int) -> bool:
    return 0 < n < THRESHOLD


def suppress_count(n: int) -> Value:
    """Primary suppression of one count of people.

    Returns *n* when it is 0 or >= :data:`THRESHOLD`, else :data:`SUPPRESSED`.

    >>> suppress_count(0), suppress_count(3), suppress_count(10)
    (0, Suppressed(PRIMARY), 10)
    """
    n = _check_count(n)
    return SUPPRESSED if _is_small(n) else n


_N = TypeVar("_N", int, float)


def derived(value: _N | Suppressed, *sources: int | Suppressed) -> _N | Suppressed:
    """Return *value*, or a suppressed marker if any source is suppressed.

    Use it for every figure computed from counts of people: sums,
    percentages, ratios, averages, and money amounts attached to an activity
    (pass the activity's people count as a source).

    *sources* are the counts the value was computed from.  Published values
    (from :func:`suppress_count` / :func:`suppress_table`) and raw counts are
    both accepted: a raw int of 1-9 cannot be a published count, so it is
    treated as suppressed (fail closed).

    >>> derived(1_500_000, suppress_count(4))     # money for 4 people
    Suppressed(DERIVED)
    >>> derived(42.0, 120, 0)
    42.0
    """
    if isinstance(value, Suppressed):
        return _DERIVED
    for src in sources:
        if isinstance(src, Suppressed):
            return _DERIVED
        if _is_small(_check_count(src, "source count")):
            return _DERIVED
    return value


def percent(
    part: int | Suppressed, whole: int | Suppressed, *, ndigits: int | None = 1
) -> float | Suppressed | None:
    """``100 * part / whole``, suppressed if either count is suppressed.

    Raw counts of 1-9 are treated as suppressed (see :func:`derived`).
    Returns ``None`` when *whole* is 0 (undefined), rounded to *ndigits*
    (``None``: no rounding).

    Note that showing both *part* and *whole* also shows ``whole - part``;
    publish such pairs through :func:`suppress_table` with totals so that a
    small complement is protected.

    >>> percent(30, 120), percent(SUPPRESSED, 120), percent(0, 0)
    (25.0, Suppressed(DERIVED), None)
    """
    if isinstance(part, Suppressed) or isinstance(whole, Suppressed):
        return _DERIVED
    part = _check_count(part, "part")
    whole = _check_count(whole, "whole")
    if part > whole:
        raise ValueError("part must not exceed whole")
    if _is_small(part) or _is_small(whole):
        return _DERIVED
    if whole == 0:
        return None
    pct = 100.0 * part / whole
    return pct if ndigits is None else round(pct, ndigits)


class DisclosureError(Exception):
    """Base class for refusals to disclose."""


class GroupTooSmall(DisclosureError):
    """A filter narrows the group to fewer than :data:`THRESHOLD` people.

    The message never contains the actual size.
    """

    def __init__(self) -> None:
        super().__init__(
            f"This selection contains fewer than {THRESHOLD} people; "
            "its figures cannot be shown. Widen the filter."
        )


class FilterNotOffered(DisclosureError):
    """A sub-group filter (position, country, ...) asked by a reader under disclosure control.

    Each filter gives new totals to subtract from the unfiltered ones, and no protection of one
    table holds across all of them: such readers get the unfiltered tables only."""

    def __init__(self) -> None:
        super().__init__(
            "Figures by position or country of residence are shown only to the prefecture's own "
            "staff: each filter gives new totals, and subtracting them could reveal a hidden figure."
        )


def ensure_group_size(n: int, *, allow_empty: bool = True) -> int:
    """Refuse a group of 1 to ``THRESHOLD - 1`` people; return *n* otherwise.

    An empty group (0) is allowed unless ``allow_empty=False``: aggregates
    over nobody reveal nothing.

    >>> ensure_group_size(25)
    25
    """
    n = _check_count(n, "group size")
    if _is_small(n) or (n == 0 and not allow_empty):
        raise GroupTooSmall()
    return n


# ---------------------------------------------------------------------------
# Tables
# ---------------------------------------------------------------------------

R = TypeVar("R", bound=Hashable)
C = TypeVar("C", bound=Hashable)
K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class SuppressedTable(Generic[R, C]):
    """A table ready for display: every entry is an int or :class:`Suppressed`.

    ``row_totals``, ``col_totals`` and ``grand_total`` are ``None`` when they
    were not requested.  Row and column keys keep the input order.
    """

    row_keys: tuple[R, ...]
    col_keys: tuple[C, ...]
    cells: Mapping[R, Mapping[C, Value]]
    row_totals: Mapping[R, Value] | None
    col_totals: Mapping[C, Value] | None
    grand_total: Value | None

    def cell(self, row: R, col: C) -> Value:
        """The published value of one cell."""
        return self.cells[row][col]

    def row(self, row: R) -> list[Value]:
        """The published cells of one row, in column order."""
        return [self.cells[row][c] for c in self.col_keys]

    def suppressed_count(self) -> int:
        """How many published positions (cells and totals) are hidden."""
        values: list[Any] = [v for r in self.row_keys for v in self.cells[r].values()]
        for extra in (self.row_totals, self.col_totals):
            if extra is not None:
                values.extend(extra.values())
        values.append(self.grand_total)
        return sum(1 for v in values if isinstance(v, Suppressed))

    def as_text_rows(self) -> list[list[str]]:
        """Header plus one list of strings per row (and a totals row).

        Handy for CSV export and tests; row/column keys go through ``str``.
        """
        header = [""] + [str(c) for c in self.col_keys]
        if self.row_totals is not None:
            header.append("Total")
        out = [header]
        for r in self.row_keys:
            line = [str(r)] + [str(v) for v in self.row(r)]
            if self.row_totals is not None:
                line.append(str(self.row_totals[r]))
            out.append(line)
        if self.col_totals is not None:
            line = ["Total"] + [str(self.col_totals[c]) for c in self.col_keys]
            if self.row_totals is not None:
                line.append("" if self.grand_total is None else str(self.grand_total))
            out.append(line)
        elif self.grand_total is not None:
            out.append(["Total"] + [""] * len(self.col_keys) + [str(self.grand_total)])
        return out


class _State(enum.IntEnum):
    SHOWN = 0
    PRIMARY = 1
    SECONDARY = 2
    UNPUBLISHED = 3


class _Grid:
    """Internal solver over the extended (R+1) x (C+1) grid.

    Nodes: grid rows ``0..nr-1``, grid columns ``nr..nr+nc-1``, the totals
    column ``TC = nr+nc`` (row totals + grand total) and the totals row
    ``TR = nr+nc+1`` (column totals + grand total).  Every position (cell or
    total) is an edge between one grid-row node and one grid-column node;
    every node is one equation over its incident edges.
    """

    def __init__(
        self,
        values: list[list[int]],
        row_totals: bool,
        col_totals: bool,
        grand_total: bool,
        magnitude: int | None = None,
    ) -> None:
        nr = len(values)
        nc = len(values[0]) if nr else 0
        self.nr, self.nc = nr, nc
        self.TC, self.TR = nr + nc, nr + nc + 1
        n_nodes = nr + nc + 2
        # edges: (u, v, value, is_total_of_u, is_total_of_v)
        self.eu: list[int] = []
        self.ev: list[int] = []
        self.val: list[int] = []
        self.state: list[_State] = []
        self.cell_edge: list[list[int]] = []
        self.incident: list[list[int]] = [[] for _ in range(n_nodes)]
        self.total_of: list[int] = [-1] * n_nodes  # edge id of each node's total
        # A sum of money or activities (not a count of people): hidden positions read "X" and range
        # over [magnitude, inf); which are sensitive is told by the caller (`sensitive`).
        self.magnitude = magnitude
        self.sensitive: list[bool | None] = []
        # What a reader knows about a position from elsewhere (other tables, other years).
        self.ext_lo: list[float] = []
        self.ext_hi: list[float] = []

        def add(u: int, v: int, value: int, published: bool) -> int:
            e = len(self.val)
            self.eu.append(u)
            self.ev.append(v)
            self.val.append(value)
            self.state.append(_State.SHOWN if published else _State.UNPUBLISHED)
            self.sensitive.append(None)
            self.ext_lo.append(0)
            self.ext_hi.append(_INF)
            self.incident[u].append(e)
            self.incident[v].append(e)
            return e

        for i in range(nr):
            self.cell_edge.append(
                [add(i, nr + j, values[i][j], True) for j in range(nc)]
            )
        self.row_total_edge = [
            add(i, self.TC, sum(values[i]), row_totals) for i in range(nr)
        ]
        self.col_total_edge = [
            add(self.TR, nr + j, sum(values[i][j] for i in range(nr)), col_totals)
            for j in range(nc)
        ]
        self.grand_edge = add(self.TR, self.TC, sum(map(sum, values)), grand_total)
        for i in range(nr):
            self.total_of[i] = self.row_total_edge[i]
        for j in range(nc):
            self.total_of[nr + j] = self.col_total_edge[j]
        self.total_of[self.TC] = self.grand_edge
        self.total_of[self.TR] = self.grand_edge

    # -- helpers ------------------------------------------------------------
    def hidden(self, e: int) -> bool:
        return self.state[e] != _State.SHOWN

    def must_protect(self, e: int) -> bool:
        """Hidden and published, or an unpublished total of 1-9 (or sensitive)."""
        s = self.state[e]
        if s == _State.SHOWN:
            return False
        if s == _State.UNPUBLISHED:
            return self.is_primary(e)
        return True

    # -- bounds a reader knows (step 4) ---------------------------------------
    def bounds(self, e: int) -> tuple[float, float]:
        """The least and greatest value a reader can assume for *e* if it is hidden: what its
        marker says ("<10": 1-9, "X" for a count: 10 or more, "X" for a sum: ``magnitude`` or
        more, an unpublished total: 0 or more), narrowed by what is known from elsewhere."""
        if self.state[e] == _State.UNPUBLISHED:
            lo, hi = 0.0, _INF
        elif self.magnitude is not None:
            lo, hi = float(self.magnitude), _INF
        elif self.is_primary(e):
            lo, hi = 1.0, float(THRESHOLD - 1)
        else:
            lo, hi = float(THRESHOLD), _INF
        return max(lo, self.ext_lo[e]), min(hi, self.ext_hi[e])

    def room(self, e: int, up: bool) -> bool:
        """Whether *e*, hidden, could be a little larger (*up*) or smaller than it is."""
        lo, hi = self.bounds(e)
        return self.val[e] < hi if up else self.val[e] > lo

    def hide(self, e: int) -> None:
        assert self.hideable(e)
        self.state[e] = _State.SECONDARY

    # -- step 1 -------------------------------------------------------------
    def is_primary(self, e: int) -> bool:
        told = self.sensitive[e]
        return _is_small(self.val[e]) if told is None else told

    def primary(self) -> None:
        for e in range(len(self.val)):
            if self.state[e] == _State.SHOWN and self.is_primary(e):
                self.state[e] = _State.PRIMARY

    # -- step 2 -------------------------------------------------------------
    def exposed(self, node: int) -> bool:
        members = self.incident[node]
        hidden = [e for e in members if self.hidden(e)]
        if len(hidden) == 1:
            return self.must_protect(hidden[0])
        total = self.total_of[node]
        if len(hidden) < 2 or self.hidden(total):
            return False
        if self.magnitude is not None or any(self.state[e] == _State.UNPUBLISHED for e in hidden):
            return False
        # A reader takes every "<10" as 1..9 and knows zeros are shown, so the
        # hidden sum pins every hidden value when they are all 1 or all 9.
        hidden_vals = {self.val[e] for e in hidden}
        return hidden_vals == {1} or hidden_vals == {THRESHOLD - 1}

    def fix_line(self, node: int) -> None:
        total = self.total_of[node]
        candidates = [
            e for e in self.incident[node] if e != total and self.hideable(e)
        ]
        if candidates:
            # incident lists are in input order, and min() keeps the first of equals
            self.hide(min(candidates, key=lambda e: self.val[e]))
            return
        if self.hideable(total) or (self.magnitude is not None and self.state[total] == _State.SHOWN):
            # a sum of 0 over few people: the hidden 0 is pinned unless the total goes too
            self.state[total] = _State.SECONDARY
            return
        raise RuntimeError("secondary suppression found no candidate (internal error)")

    def line_rule(self) -> None:
        changed = True
        while changed:
            changed = False
            for node in range(len(self.incident)):
                if self.exposed(node):
                    self.fix_line(node)
                    changed = True

    # -- step 3 -------------------------------------------------------------
    def bridges(self, edges: Iterable[int] | None = None) -> list[int]:
        """Bridges of the graph of hidden edges (or of *edges*; iterative Tarjan), sorted."""
        n = len(self.incident)
        adj: list[list[tuple[int, int]]] = [[] for _ in range(n)]
        for e in range(len(self.val)) if edges is None else edges:
            if edges is not None or self.hidden(e):
                adj[self.eu[e]].append((self.ev[e], e))
                adj[self.ev[e]].append((self.eu[e], e))
        disc = [-1] * n
        low = [0] * n
        counter = 0
        found: list[int] = []
        for root in range(n):
            if disc[root] != -1:
                continue
            disc[root] = low[root] = counter
            counter += 1
            stack: list[tuple[int, int, int]] = [
                (root, -1, 0)
            ]  # node, parent edge, next index
            while stack:
                node, pe, idx = stack[-1]
                if idx < len(adj[node]):
                    stack[-1] = (node, pe, idx + 1)
                    nxt, e = adj[node][idx]
                    if e == pe:
                        continue
                    if disc[nxt] == -1:
                        disc[nxt] = low[nxt] = counter
                        counter += 1
                        stack.append((nxt, e, 0))
                    else:
                        low[node] = min(low[node], disc[nxt])
                else:
                    stack.pop()
                    if stack:
                        parent = stack[-1][0]
                        low[parent] = min(low[parent], low[node])
                        if low[node] > disc[parent]:
                            found.append(pe)
        return sorted(found)

    def _cheapest(self, start: int, goal: int, skip: int, cross) -> list[int] | None:
        """Cheapest path from *start* to *goal* not using edge *skip*, as its edges (None if there
        is none). ``cross(node, e)`` gives the node reached over *e*, or None if *e* may not be
        used that way. Hidden positions cost nothing, shown ones their value (then their number);
        ties go to the lower index, so the result depends only on the input."""
        best: dict[int, tuple[float, int]] = {start: (0, 0)}
        via: dict[int, tuple[int, int]] = {}
        heap: list[tuple[float, int, int]] = [(0, 0, start)]
        while heap:
            cost, count, node = heapq.heappop(heap)
            if (cost, count) != best.get(node):
                continue
            if node == goal:
                break
            for e in self.incident[node]:
                nxt = None if e == skip else cross(node, e)
                if nxt is None:
                    continue
                step = (0, 0) if self.hidden(e) else (self.val[e], 1)
                cand = (cost + step[0], count + step[1])
                if nxt not in best or cand < best[nxt]:
                    best[nxt] = cand
                    via[nxt] = (e, node)
                    heapq.heappush(heap, (cand[0], cand[1], nxt))
        if goal not in best:
            return None
        path, node = [], goal
        while node != start:
            e, node = via[node]
            path.append(e)
        return path

    def close_bridge(self, bridge: int) -> None:
        """Hide the cheapest shown positions that put *bridge* on a cycle."""

        def cross(node: int, e: int) -> int | None:
            if not (self.hidden(e) or self.hideable(e)):
                return None
            return self.ev[e] if self.eu[e] == node else self.eu[e]

        path = self._cheapest(self.eu[bridge], self.ev[bridge], bridge, cross)
        if path is None:
            raise RuntimeError("secondary suppression found no path (internal error)")
        for e in path:
            if not self.hidden(e):
                self.hide(e)

    # -- step 4 -------------------------------------------------------------
    # Every hidden position must lie on a cycle of hidden positions along which the published
    # figures stay the same while each value moves within what a reader knows of it. In the grid,
    # cells and the grand total change by +d and margins by -d when a cycle crosses them from their
    # grid row to their grid column, and the other way round when crossed from column to row; as
    # the graph is bipartite, a closed walk starting with e in one direction gives a direction in
    # which every published equation holds. Such a walk proves e is not pinned (an LP over the
    # published figures has min < max for e).
    def _sign(self, e: int) -> int:
        margin = e != self.grand_edge and (self.eu[e] == self.TR or self.ev[e] == self.TC)
        return -1 if margin else 1

    def _arcs(self, node: int, e: int, shown_ok: bool) -> int | None:
        """The node reached over *e* from *node* if *e* may move the way that crossing asks."""
        if not self.hidden(e) and not (shown_ok and self.hideable(e)):
            return None
        forward = self.eu[e] == node  # grid row -> grid column
        up = (self._sign(e) > 0) == forward
        if not self.room(e, up):
            return None
        return self.ev[e] if forward else self.eu[e]

    def hideable(self, e: int) -> bool:
        """Shown and not 0: a zero is never hidden to protect another (it would read as something)."""
        return self.state[e] == _State.SHOWN and self.val[e] > 0

    def _walk(self, edge: int, avoid: int, shown_ok: bool) -> list[int] | None:
        """Cheapest path that closes a cycle through *edge* (hidden positions cost nothing, shown
        ones their value; None if there is none), trying *edge* upwards, then downwards."""

        def cross(node: int, e: int) -> int | None:
            nxt = self._arcs(node, e, shown_ok)
            return None if nxt == avoid else nxt

        for up in (True, False):
            if not self.room(edge, up):
                continue
            forward = (self._sign(edge) > 0) == up
            start, goal = (self.ev[edge], self.eu[edge]) if forward else (self.eu[edge], self.ev[edge])
            path = self._cheapest(start, goal, edge, cross)
            if path is not None:
                return path
        return None

    def _reach(self, edge: int, avoid: int, arcs: list[list[tuple[int, int, bool]]]) -> list[int] | None:
        """Like :meth:`_walk` over hidden positions only (breadth first, *arcs* precomputed)."""
        for up in (True, False):
            if not self.room(edge, up):
                continue
            forward = (self._sign(edge) > 0) == up
            start, goal = (self.ev[edge], self.eu[edge]) if forward else (self.eu[edge], self.ev[edge])
            via: dict[int, int] = {start: -1}
            queue = [start]
            for node in queue:
                if node == goal:
                    break
                for e, nxt, allowed in arcs[node]:
                    if allowed and e != edge and nxt != avoid and nxt not in via:
                        via[nxt] = e
                        queue.append(nxt)
            if goal in via:
                path, node = [], goal
                while node != start:
                    e = via[node]
                    path.append(e)
                    node = self.ev[e] if self.eu[e] == node else self.eu[e]
                return path
        return None

    def unsafe(self, insiders: Sequence[int], proven: set[int]) -> tuple[int, int] | None:
        """The first hidden position no cycle can move, as (edge, node the cycle must avoid: an
        insider's row, or -1), or None when every one can be moved. Positions proven safe are
        added to *proven* (hiding more never undoes a proof: the cycle stays available).

        An insider (the staff of one prefecture) knows every figure of their own row exactly, so a
        cycle through that row protects nothing from them."""
        arcs: list[list[tuple[int, int, bool]]] = [[] for _ in self.incident]
        for e in range(len(self.val)):
            if self.hidden(e):
                up_forward = self._sign(e) > 0
                arcs[self.eu[e]].append((e, self.ev[e], self.room(e, up_forward)))
                arcs[self.ev[e]].append((e, self.eu[e], self.room(e, not up_forward)))
        rows = set(insiders)
        for e in range(len(self.val)):
            if e in proven or not self.must_protect(e):
                continue
            if not (self.room(e, True) or self.room(e, False)):
                continue  # fixed by what is known from elsewhere: no cycle here can help
            path = self._reach(e, -1, arcs)
            if path is None:
                return e, -1
            checked: set[int] = set()
            while True:
                crossed = {self.eu[x] for x in path} & rows - checked - {self.eu[e]}
                if not crossed:
                    break
                row = min(crossed)
                checked.add(row)
                path = self._reach(e, row, arcs)
                if path is None:
                    return e, row
            proven.add(e)
        return None

    def open_cycle(self, edge: int, avoid: int) -> bool:
        """Hide the cheapest shown positions that put *edge* on a cycle avoiding *avoid*."""
        path = self._walk(edge, avoid, shown_ok=True)
        if path is None:
            return False
        for e in path:
            if not self.hidden(e):
                self.hide(e)
        return True

    def withhold_all(self) -> None:
        """Last resort when no cycle exists: hide every published position that is not zero."""
        for e in range(len(self.val)):
            if self.hideable(e):
                self.state[e] = _State.SECONDARY

    def solve(self, insiders: Sequence[int] = ()) -> None:
        self.primary()
        proven: set[int] = set()
        while True:
            self.line_rule()
            to_fix = [e for e in self.bridges() if self.must_protect(e)]
            if to_fix:
                self.close_bridge(to_fix[0])
                continue
            found = self.unsafe(insiders, proven)
            if found is None:
                return
            if not self.open_cycle(*found):
                self.withhold_all()
                return

    def published(self, e: int) -> Value:
        s = self.state[e]
        if s == _State.SHOWN:
            return self.val[e]
        if self.magnitude is not None:
            return _DERIVED
        if s == _State.PRIMARY:
            return SUPPRESSED
        if s == _State.SECONDARY:
            return _SECONDARY
        raise AssertionError("unpublished position requested")


def suppress_table(
    rows: Mapping[R, Mapping[C, int]],
    *,
    row_totals: bool = True,
    col_totals: bool = True,
    grand_total: bool = True,
    columns: Sequence[C] | None = None,
    magnitude: int | None = None,
    sensitive: Mapping[tuple, bool] | None = None,
    bounds: Mapping[tuple, tuple[float, float]] | None = None,
    hide: Iterable[tuple] = (),
    insiders: Iterable[R] = (),
) -> SuppressedTable[R, C]:
    """Apply primary and secondary suppression to a table of counts of people.

    Positions are named ``("cell", row, column)``, ``("row", row)`` (a row total), ``("col",
    column)`` (a column total) and ``("grand",)``.

    * *magnitude*: the table holds sums (yen, activities), not counts of people: which positions
      are sensitive comes from *sensitive* (e.g. fewer than 10 people contributed), hidden ones
      read "X" and a reader knows only that they are at least *magnitude*.
    * *sensitive*: positions to hide (True) or to judge by the rule (absent); counts of people
      are sensitive when 1-9.
    * *bounds*: (least, greatest) a reader can tell for a position from other figures (another
      year, another table); hidden positions are protected within those bounds too.
    * *hide*: positions to hide in any case (e.g. a total that another table hides).
    * *insiders*: rows whose every figure a reader may know exactly (staff know their own
      prefecture's): no hidden figure of another row may rely on them.

    *rows* maps a row key (e.g. prefecture) to ``{column key: count}`` (e.g.
    country of residence).  Missing cells count as 0.  Columns appear in
    *columns* order if given (it must cover every key used), else in order
    of first appearance.  Totals are computed here from the true counts; ask
    only for the totals you will display, since each published total is an
    equation a reader can use.

    See the module docstring for the algorithm.  The result is deterministic.

    >>> t = suppress_table({"Aomori": {"US": 3, "UK": 20, "NZ": 15},
    ...                     "Iwate": {"US": 12, "UK": 11, "NZ": 30},
    ...                     "Akita": {"US": 40, "UK": 25, "NZ": 18}})
    >>> t.row("Aomori"), t.row_totals["Aomori"]
    ([Suppressed(PRIMARY), 20, Suppressed(SECONDARY)], 38)
    """
    row_keys = tuple(rows)
    if len(set(row_keys)) != len(
        row_keys
    ):  # pragma: no cover - Mapping keys are unique
        raise ValueError("duplicate row keys")
    if columns is not None:
        col_keys = tuple(columns)
        if len(set(col_keys)) != len(col_keys):
            raise ValueError("duplicate column keys")
        known = set(col_keys)
        for r in row_keys:
            unknown = [c for c in rows[r] if c not in known]
            if unknown:
                raise ValueError(
                    f"row {r!r} has columns not listed in columns: {unknown!r}"
                )
    else:
        seen: dict[C, None] = {}
        for r in row_keys:
            for c in rows[r]:
                seen.setdefault(c, None)
        col_keys = tuple(seen)

    values = [
        [_check_count(rows[r].get(c, 0), f"cell {r!r}/{c!r}") for c in col_keys]
        for r in row_keys
    ]

    if not row_keys or not col_keys:
        grand = sum(map(sum, values))
        return SuppressedTable(
            row_keys=row_keys,
            col_keys=col_keys,
            cells={r: {} for r in row_keys},
            row_totals={r: 0 for r in row_keys} if row_totals else None,
            col_totals={c: 0 for c in col_keys} if col_totals else None,
            grand_total=grand if grand_total else None,
        )

    # Rows and columns of zeros that nothing marks sensitive are known to every reader and can
    # neither be hidden nor carry a cycle: they are left out of the search (large, sparse tables).
    marked = {position for position, flag in (sensitive or {}).items() if flag} | set(hide)
    marked_rows = {position[1] for position in marked if position[0] in ("cell", "row")}
    marked_cols = {position[-1] for position in marked if position[0] in ("cell", "col")}
    active_rows = [i for i, r in enumerate(row_keys) if any(values[i]) or r in marked_rows]
    active_cols = [j for j, c in enumerate(col_keys)
                   if any(values[i][j] for i in range(len(row_keys))) or c in marked_cols]
    if not active_rows or not active_cols:
        active_rows, active_cols = [0], list(range(len(col_keys)))
    grid = _Grid([[values[i][j] for j in active_cols] for i in active_rows], row_totals, col_totals, grand_total,
                 magnitude)
    row_index = {row_keys[i]: k for k, i in enumerate(active_rows)}
    col_index = {col_keys[j]: k for k, j in enumerate(active_cols)}

    def edge(position: tuple) -> int | None:
        match position:
            case ("cell", r, c):
                return grid.cell_edge[row_index[r]][col_index[c]] if r in row_index and c in col_index else None
            case ("row", r):
                return grid.row_total_edge[row_index[r]] if r in row_index else None
            case ("col", c):
                return grid.col_total_edge[col_index[c]] if c in col_index else None
            case ("grand",):
                return grid.grand_edge
        raise ValueError(f"unknown position {position!r}")

    for position, flag in (sensitive or {}).items():
        if (e := edge(position)) is not None:
            grid.sensitive[e] = bool(flag)
    for position, (lo, hi) in (bounds or {}).items():
        if (e := edge(position)) is not None:
            grid.ext_lo[e], grid.ext_hi[e] = float(lo), float(hi)
    forced = [e for e in map(edge, hide) if e is not None]
    grid.primary()
    for e in forced:
        if grid.state[e] == _State.SHOWN:
            grid.state[e] = _State.SECONDARY
    grid.solve(insiders=[row_index[r] for r in insiders if r in row_index])

    def shown(position: tuple) -> Value:
        e = edge(position)
        return 0 if e is None else grid.published(e)

    return SuppressedTable(
        row_keys=row_keys,
        col_keys=col_keys,
        cells={r: {c: shown(("cell", r, c)) for c in col_keys} for r in row_keys},
        row_totals={r: shown(("row", r)) for r in row_keys} if row_totals else None,
        col_totals={c: shown(("col", c)) for c in col_keys} if col_totals else None,
        grand_total=shown(("grand",)) if grand_total else None,
    )


@dataclass(frozen=True)
class SuppressedSeries(Generic[K]):
    """A suppressed list of counts (one per key) with an optional total."""

    keys: tuple[K, ...]
    values: Mapping[K, Value]
    total: Value | None

    def __getitem__(self, key: K) -> Value:
        return self.values[key]


_ONLY: Final[str] = "count"


def suppress_series(
    counts: Mapping[K, int] | Iterable[tuple[K, int]], *, total: bool = True
) -> SuppressedSeries[K]:
    """One count per key (e.g. per prefecture) plus an optional total.

    The single-column case of :func:`suppress_table`: if exactly one key is
    hidden while the total is shown, the smallest other non-zero count is
    hidden too (or the total, if every other count is 0).
    """
    items = dict(counts)
    table = suppress_table(
        {k: {_ONLY: v} for k, v in items.items()},
        row_totals=False,
        col_totals=total,
        grand_total=False,
        columns=[_ONLY],
    )
    return SuppressedSeries(
        keys=table.row_keys,
        values={k: table.cell(k, _ONLY) for k in table.row_keys},
        total=table.col_totals[_ONLY] if table.col_totals is not None else None,
    )


def legend() -> list[str]:
    """One line per marker, as shown under a table and written at the end of an export."""
    return [_("%(marker)s: a count of 1 to %(most)s people, hidden.", marker=SUPPRESSED_LABEL, most=THRESHOLD - 1),
            _("%(marker)s: withheld (秘匿): a count hidden so that another cannot be worked out from the totals, or a "
              "sum, ratio or percentage about fewer than %(threshold)s people.", marker=WITHHELD_LABEL, threshold=THRESHOLD),
            _("—: no data.")]
