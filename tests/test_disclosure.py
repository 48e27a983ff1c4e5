"""Tests for crm.disclosure (statistical disclosure control).

The safety checks below are written independently of the implementation:
they look only at what a reader would see (the published table) and use
exact linear algebra (fractions) rather than the module's graph algorithm.
"""

from __future__ import annotations

import doctest
import os
import random
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import pytest

from crm import disclosure
from crm.disclosure import (
    SUPPRESSED,
    THRESHOLD,
    GroupTooSmall,
    Reason,
    Suppressed,
    SuppressedTable,
    derived,
    ensure_group_size,
    is_suppressed,
    percent,
    sort_key,
    suppress_count,
    suppress_series,
    suppress_table,
)

ROOT = Path(__file__).resolve().parents[1]

# ---------------------------------------------------------------------------
# An independent attacker / checker
# ---------------------------------------------------------------------------

HIDDEN = object()  # a value the reader cannot see (suppressed or never published)


def _published_positions(
    rows: dict, table: SuppressedTable, flags: tuple[bool, bool, bool]
) -> tuple[dict, dict, list[tuple[list, object]]]:
    """Return (truth, seen, equations) over positions of the extended table.

    Positions: ("cell", r, c), ("rt", r), ("ct", c), ("g",).  ``seen`` maps a
    position to what the reader sees (an int, a Suppressed, or HIDDEN when the
    total was never published).  Each equation is (positions, total position):
    the positions sum to the total.
    """
    row_totals, col_totals, grand_total = flags
    rk, ck = table.row_keys, table.col_keys
    truth: dict = {}
    seen: dict = {}
    for r in rk:
        for c in ck:
            truth[("cell", r, c)] = rows[r].get(c, 0)
            seen[("cell", r, c)] = table.cell(r, c)
    for r in rk:
        truth[("rt", r)] = sum(rows[r].get(c, 0) for c in ck)
        seen[("rt", r)] = table.row_totals[r] if row_totals else HIDDEN
    for c in ck:
        truth[("ct", c)] = sum(rows[r].get(c, 0) for r in rk)
        seen[("ct", c)] = table.col_totals[c] if col_totals else HIDDEN
    truth[("g",)] = sum(truth[("rt", r)] for r in rk)
    seen[("g",)] = table.grand_total if grand_total else HIDDEN
    eqs: list[tuple[list, object]] = []
    for r in rk:
        eqs.append(([("cell", r, c) for c in ck], ("rt", r)))
    for c in ck:
        eqs.append(([("cell", r, c) for r in rk], ("ct", c)))
    eqs.append(([("rt", r) for r in rk], ("g",)))
    eqs.append(([("ct", c) for c in ck], ("g",)))
    return truth, seen, eqs


def _unknown(v: object) -> bool:
    return v is HIDDEN or isinstance(v, Suppressed)


def _sensitive(pos, truth, seen) -> bool:
    """Positions whose exact value must stay unknown."""
    if isinstance(seen[pos], Suppressed):
        return True
    return seen[pos] is HIDDEN and 0 < truth[pos] < THRESHOLD


def solvable_positions(truth: dict, seen: dict, eqs) -> set:
    """Hidden positions whose value follows from the published equations.

    Exact Gaussian elimination over the unknowns: x_p is determined iff the
    unit vector e_p lies in the row space of the coefficient matrix, i.e. in
    reduced row echelon form p is a pivot whose row has no other entry.
    """
    unknowns = [p for p in truth if _unknown(seen[p])]
    index = {p: i for i, p in enumerate(unknowns)}
    matrix: list[list[Fraction]] = []
    for members, total in eqs:
        row = [Fraction(0)] * len(unknowns)
        for p in members:
            if p in index:
                row[index[p]] += 1
        if total in index:
            row[index[total]] -= 1
        if any(row):
            matrix.append(row)
    # reduced row echelon form
    pivots: list[int] = []
    r = 0
    for col in range(len(unknowns)):
        pivot = next((i for i in range(r, len(matrix)) if matrix[i][col] != 0), None)
        if pivot is None:
            continue
        matrix[r], matrix[pivot] = matrix[pivot], matrix[r]
        lead = matrix[r][col]
        matrix[r] = [x / lead for x in matrix[r]]
        for i in range(len(matrix)):
            if i != r and matrix[i][col] != 0:
                f = matrix[i][col]
                matrix[i] = [a - f * b for a, b in zip(matrix[i], matrix[r])]
        pivots.append(col)
        r += 1
    determined = set()
    for row_i, col in enumerate(pivots):
        if sum(1 for x in matrix[row_i] if x != 0) == 1:
            determined.add(unknowns[col])
    return determined


def line_rule_violations(truth: dict, seen: dict, eqs) -> list:
    """Lines where ``total - visible members`` gives away a hidden value.

    For a line whose total is shown, the number of hidden members must be 0
    or >= 2 (the brief's rule); more generally any equation with exactly one
    unknown reveals it (unless it is a never-published total of >= 10).
    Also flags lines whose hidden cells are all 1 or all 9: a reader who
    knows that zeros are shown and "<10" means 1-9 can pin them.
    """
    bad = []
    for members, total in eqs:
        hidden = [p for p in members if _unknown(seen[p])]
        unknowns = hidden + ([total] if _unknown(seen[total]) else [])
        suppressed = [p for p in members if isinstance(seen[p], Suppressed)]
        if not _unknown(seen[total]) and len(suppressed) == 1:
            bad.append(("single hidden cell, visible total", suppressed, total))
        elif len(unknowns) == 1 and _sensitive(unknowns[0], truth, seen):
            bad.append(("single unknown", unknowns))
        if (
            hidden
            and not _unknown(seen[total])
            and all(isinstance(seen[p], Suppressed) for p in hidden)
        ):
            vals = {truth[p] for p in hidden}
            if vals in ({1}, {THRESHOLD - 1}):
                bad.append(("pinned by bounds", hidden, vals))
    return bad


def check_publication(
    rows: dict, table: SuppressedTable, flags=(True, True, True)
) -> None:
    """Assert every disclosure-control property of *table* for input *rows*."""
    truth, seen, eqs = _published_positions(rows, table, flags)
    for pos, shown in seen.items():
        if shown is HIDDEN:
            continue
        value = truth[pos]
        if isinstance(shown, Suppressed):
            assert value != 0, f"zero suppressed at {pos}"
            if 0 < value < THRESHOLD:
                assert shown.reason is Reason.PRIMARY, pos
            else:
                assert shown.reason is Reason.SECONDARY, pos
        else:
            assert type(shown) is int
            assert shown == value, f"wrong value shown at {pos}"
            assert not 0 < value < THRESHOLD, f"small count shown at {pos}"
    assert line_rule_violations(truth, seen, eqs) == []
    leaked = {
        p for p in solvable_positions(truth, seen, eqs) if _sensitive(p, truth, seen)
    }
    assert leaked == set(), (
        f"hidden values can be solved for: {sorted(map(str, leaked))}"
    )


def random_rows(
    rng: random.Random, n_rows: int, n_cols: int, p_zero=0.35, p_small=0.3
) -> dict:
    rows = {}
    for i in range(n_rows):
        row = {}
        for j in range(n_cols):
            x = rng.random()
            if x < p_zero:
                v = 0
            elif x < p_zero + p_small:
                v = rng.randint(1, THRESHOLD - 1)
            else:
                v = rng.randint(THRESHOLD, 80)
            if v or rng.random() < 0.5:  # sometimes leave zero cells out entirely
                row[f"c{j}"] = v
        rows[f"r{i}"] = row
    return rows


# ---------------------------------------------------------------------------
# The checker itself must catch leaks
# ---------------------------------------------------------------------------


def _publication_from_grid(rows: dict, hidden: set) -> SuppressedTable:
    """Build a publication by hand, hiding exactly the given positions."""
    rk = tuple(rows)
    ck = tuple(dict.fromkeys(c for r in rk for c in rows[r]))

    def show(pos, v):
        return SUPPRESSED if pos in hidden else v

    return SuppressedTable(
        row_keys=rk,
        col_keys=ck,
        cells={r: {c: show(("cell", r, c), rows[r].get(c, 0)) for c in ck} for r in rk},
        row_totals={r: show(("rt", r), sum(rows[r].values())) for r in rk},
        col_totals={c: show(("ct", c), sum(rows[r].get(c, 0) for r in rk)) for c in ck},
        grand_total=show(("g",), sum(sum(v.values()) for v in rows.values())),
    )


def test_checker_catches_total_minus_visible_cells():
    rows = {
        "Aomori": {"US": 3, "UK": 20, "NZ": 15},
        "Iwate": {"US": 12, "UK": 11, "NZ": 30},
    }
    naive = _publication_from_grid(rows, {("cell", "Aomori", "US")})
    truth, seen, eqs = _published_positions(rows, naive, (True, True, True))
    # the attack: row total minus the visible cells
    assert (
        naive.row_totals["Aomori"]
        - naive.cell("Aomori", "UK")
        - naive.cell("Aomori", "NZ")
        == 3
    )
    assert line_rule_violations(truth, seen, eqs)
    assert ("cell", "Aomori", "US") in solvable_positions(truth, seen, eqs)


# Two 2x2 blocks of small counts joined by one more small cell (r2, c3).
# Every row and column has 0 or >= 2 hidden cells, yet
# (R1 + R2) - (C1 + C2) isolates the joining cell.
LINKED_BLOCKS = {
    "r1": {"c1": 5, "c2": 6, "c3": 20, "c4": 30},
    "r2": {"c1": 7, "c2": 8, "c3": 4, "c4": 25},
    "r3": {"c1": 40, "c2": 22, "c3": 5, "c4": 6},
    "r4": {"c1": 33, "c2": 28, "c3": 7, "c4": 8},
}


def test_checker_catches_leak_that_the_per_line_rule_misses():
    primaries = {
        ("cell", r, c)
        for r, row in LINKED_BLOCKS.items()
        for c, v in row.items()
        if 0 < v < THRESHOLD
    }
    naive = _publication_from_grid(LINKED_BLOCKS, primaries)
    truth, seen, eqs = _published_positions(LINKED_BLOCKS, naive, (True, True, True))
    assert (
        line_rule_violations(truth, seen, eqs) == []
    )  # the per-line rule is satisfied...
    assert solvable_positions(truth, seen, eqs) == {
        ("cell", "r2", "c3")
    }  # ...but this leaks
    t = naive
    attack = (
        t.row_totals["r1"]
        + t.row_totals["r2"]
        - t.col_totals["c1"]
        - t.col_totals["c2"]
        - t.cell("r1", "c3")
        - t.cell("r1", "c4")
        - t.cell("r2", "c4")
        + t.cell("r3", "c1")
        + t.cell("r3", "c2")
        + t.cell("r4", "c1")
        + t.cell("r4", "c2")
    )
    assert attack == 4


def test_linked_blocks_are_protected():
    table = suppress_table(LINKED_BLOCKS)
    check_publication(LINKED_BLOCKS, table)
    assert is_suppressed(table.cell("r2", "c3"))
    assert table.suppressed_count() > 9  # more than the 9 primary cells


def test_checker_catches_cells_pinned_at_one():
    rows = {"A": {"X": 1, "Y": 1, "Z": 40}, "B": {"X": 30, "Y": 20, "Z": 50}}
    naive = _publication_from_grid(
        rows,
        {
            ("cell", "A", "X"),
            ("cell", "A", "Y"),
            ("cell", "B", "X"),
            ("cell", "B", "Y"),
        },
    )
    truth, seen, eqs = _published_positions(rows, naive, (True, True, True))
    assert solvable_positions(truth, seen, eqs) == set()
    assert (
        "pinned by bounds",
        [("cell", "A", "X"), ("cell", "A", "Y")],
        {1},
    ) in line_rule_violations(truth, seen, eqs)


# ---------------------------------------------------------------------------
# The brief's scenarios
# ---------------------------------------------------------------------------

ALUMNI = {
    "Aomori": {"United States": 3, "United Kingdom": 20, "Canada": 15, "Australia": 0},
    "Iwate": {"United States": 12, "United Kingdom": 40, "Canada": 13, "Australia": 30},
    "Akita": {"United States": 40, "United Kingdom": 25, "Canada": 18, "Australia": 10},
}


def test_three_alumni_from_one_country_are_hidden_and_not_derivable():
    table = suppress_table(ALUMNI)
    assert str(table.cell("Aomori", "United States")) == "<10"
    assert table.cell("Aomori", "United States").reason is Reason.PRIMARY
    # the row total is shown, so another Aomori cell must be hidden with it:
    # the smallest non-zero one (Canada, 15), not the zero (Australia)
    assert table.row_totals["Aomori"] == 38
    assert table.row("Aomori") == [SUPPRESSED, 20, SUPPRESSED, 0]
    assert table.cell("Aomori", "Canada").reason is Reason.SECONDARY
    visible = [v for v in table.row("Aomori") if not is_suppressed(v)]
    assert (
        table.row_totals["Aomori"] - sum(visible) == 18
    )  # only the sum of two hidden cells
    # the United States and Canada columns each got a second hidden cell too
    assert table.row("Iwate") == [SUPPRESSED, 40, SUPPRESSED, 30]
    assert table.row("Akita") == [40, 25, 18, 10]
    assert table.suppressed_count() == 4
    check_publication(ALUMNI, table)
    assert table.as_text_rows()[1] == ["Aomori", "<10", "20", "X", "0", "38"]


def test_zeros_are_never_suppressed_nor_chosen():
    rows = {
        "A": {"X": 3, "Y": 0, "Z": 0, "W": 25},
        "B": {"X": 20, "Y": 0, "Z": 12, "W": 30},
        "C": {"X": 11, "Y": 0, "Z": 14, "W": 16},
    }
    table = suppress_table(rows)
    check_publication(rows, table)
    assert table.row("A") == [SUPPRESSED, 0, 0, SUPPRESSED]  # 25 hidden, not a zero
    assert table.col_totals["Y"] == 0
    for r in rows:
        assert table.cell(r, "Y") == 0 and type(table.cell(r, "Y")) is int


def test_total_is_hidden_when_the_other_cells_are_zeros():
    # Aomori/Canada (15) is hidden to protect Aomori/US; the rest of the Canada
    # column is zero, so only hiding the Canada total protects it.
    rows = {
        "Aomori": {"US": 3, "UK": 20, "Canada": 15},
        "Iwate": {"US": 12, "UK": 11, "Canada": 0},
    }
    table = suppress_table(rows)
    check_publication(rows, table)
    assert table.cell("Aomori", "Canada").reason is Reason.SECONDARY
    assert table.cell("Iwate", "Canada") == 0
    assert table.col_totals["Canada"].reason is Reason.SECONDARY


def test_totals_below_threshold_are_suppressed():
    rows = {"A": {"X": 4, "Y": 0}, "B": {"X": 0, "Y": 0}, "C": {"X": 50, "Y": 3}}
    table = suppress_table(rows)
    check_publication(rows, table)
    assert (
        table.row_totals["A"] == SUPPRESSED
        and table.row_totals["A"].reason is Reason.PRIMARY
    )
    assert table.row_totals["B"] == 0
    assert table.col_totals["Y"].reason is Reason.PRIMARY
    tiny = {"A": {"X": 2}, "B": {"X": 3}}
    t2 = suppress_table(tiny)
    assert t2.grand_total == SUPPRESSED and t2.col_totals["X"] == SUPPRESSED
    check_publication(tiny, t2)


def test_all_small_cells_equal_to_one_get_company():
    rows = {
        "A": {"X": 1, "Y": 1, "Z": 40},
        "B": {"X": 30, "Y": 20, "Z": 50},
        "C": {"X": 31, "Y": 21, "Z": 51},
    }
    table = suppress_table(rows)
    check_publication(rows, table)
    assert table.row("A") == [SUPPRESSED] * 3


def test_single_column_with_national_total():
    counts = {
        "Hokkaido": 40,
        "Aomori": 3,
        "Iwate": 12,
        "Miyagi": 12,
        "Akita": 0,
        "Tokyo": 200,
    }
    series = suppress_series(counts)
    assert series["Aomori"].reason is Reason.PRIMARY
    # exactly one prefecture hidden would be total - others: the smallest
    # non-zero other one (first of the two 12s) is hidden too
    assert series["Iwate"].reason is Reason.SECONDARY
    assert [series[k] for k in counts] == [40, SUPPRESSED, SUPPRESSED, 12, 0, 200]
    assert series.total == 267
    # the same through suppress_table, with or without (redundant) row totals
    rows = {k: {"alumni": v} for k, v in counts.items()}
    for rt in (False, True):
        flags = (rt, True, True)
        table = suppress_table(rows, row_totals=rt)
        check_publication(rows, table, flags)
        assert sum(is_suppressed(table.cell(k, "alumni")) for k in counts) == 2


def test_single_column_without_total_needs_no_secondary():
    series = suppress_series({"A": 3, "B": 12}, total=False)
    assert series.values == {"A": SUPPRESSED, "B": 12} and series.total is None


def test_tie_breaking_takes_the_first_in_input_order():
    rows = {
        "A": {"X": 3, "Y": 15, "Z": 15},
        "B": {"X": 20, "Y": 40, "Z": 40},
        "C": {"X": 20, "Y": 40, "Z": 40},
    }
    table = suppress_table(rows)
    assert table.row("A") == [SUPPRESSED, SUPPRESSED, 15]
    assert [table.cell(r, "X") for r in rows] == [SUPPRESSED, SUPPRESSED, 20]
    check_publication(rows, table)


@pytest.mark.parametrize(
    "flags",
    [(a, b, c) for a in (True, False) for b in (True, False) for c in (True, False)],
)
def test_random_tables_are_safe(flags):
    rng = random.Random(20240601 + sum(f << i for i, f in enumerate(flags)))
    for _ in range(150):
        rows = random_rows(
            rng,
            rng.randint(1, 6),
            rng.randint(1, 6),
            p_zero=rng.choice([0.1, 0.35, 0.7]),
        )
        rt, ct, gt = flags
        table = suppress_table(rows, row_totals=rt, col_totals=ct, grand_total=gt)
        check_publication(rows, table, flags)
        assert (table.row_totals is None) is not rt
        assert (table.col_totals is None) is not ct
        assert (table.grand_total is None) is not gt


def test_prefecture_by_country_sized_tables_are_safe_and_fast():
    rng = random.Random(47)
    for _ in range(3):
        rows = random_rows(rng, 47, 25, p_zero=0.4, p_small=0.35)
        started = time.perf_counter()
        table = suppress_table(rows)
        assert time.perf_counter() - started < 10
        check_publication(rows, table)


# ---------------------------------------------------------------------------
# Determinism
# ---------------------------------------------------------------------------


def _fingerprint(table: SuppressedTable) -> str:
    def f(v):
        return repr(v)

    parts = [repr(table.row_keys), repr(table.col_keys)]
    parts += [f(table.cell(r, c)) for r in table.row_keys for c in table.col_keys]
    parts += [f(table.row_totals[r]) for r in table.row_keys]
    parts += [f(table.col_totals[c]) for c in table.col_keys]
    parts.append(f(table.grand_total))
    return "|".join(parts)


def test_deterministic_in_process():
    rng = random.Random(7)
    for _ in range(50):
        rows = random_rows(rng, 5, 5)
        copy = {r: dict(v) for r, v in rows.items()}
        assert _fingerprint(suppress_table(rows)) == _fingerprint(suppress_table(copy))


def test_deterministic_across_hash_seeds():
    script = (
        "import random\n"
        "from crm.disclosure import suppress_table\n"
        "rng = random.Random(3)\n"
        "rows = {f'pref{i}': {f'country{j}': rng.choice([0, 0, 2, 5, 9, 12, 15, 40]) for j in range(8)} for i in range(12)}\n"
        "t = suppress_table(rows)\n"
        "print([repr(t.cell(r, c)) for r in t.row_keys for c in t.col_keys], "
        "[repr(v) for v in t.row_totals.values()], [repr(v) for v in t.col_totals.values()], repr(t.grand_total))\n"
    )
    outputs = set()
    for seed in ("0", "1", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(ROOT)}
        out = subprocess.run(
            [sys.executable, "-c", script],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        outputs.add(out.stdout)
    assert len(outputs) == 1


# ---------------------------------------------------------------------------
# Single values, derived values, percentages, group size
# ---------------------------------------------------------------------------


def test_suppress_count():
    assert suppress_count(0) == 0
    assert [is_suppressed(suppress_count(n)) for n in range(1, 10)] == [True] * 9
    assert suppress_count(10) == 10 and type(suppress_count(10)) is int
    for bad in (-1,):
        with pytest.raises(ValueError):
            suppress_count(bad)
    for bad in (True, 2.0, "3", None):
        with pytest.raises(TypeError):
            suppress_count(bad)


def test_suppressed_marker_renders_sorts_and_holds_no_value():
    assert THRESHOLD == 10
    assert str(SUPPRESSED) == "<10" == f"{SUPPRESSED}"
    assert (
        f"{SUPPRESSED:>5}" == "  <10"
        and f"{SUPPRESSED:5d}" == "  <10"
        and f"{SUPPRESSED:,}" == "<10"
    )
    assert SUPPRESSED.__html__() == "&lt;10"
    assert Suppressed.__slots__ == ("reason",)  # no room for the hidden number
    assert Suppressed(Reason.SECONDARY) == SUPPRESSED and hash(
        Suppressed(Reason.DERIVED)
    ) == hash(SUPPRESSED)
    assert SUPPRESSED != 5 and SUPPRESSED != "<10"
    assert (
        0 < SUPPRESSED < 10
        and SUPPRESSED <= Suppressed(Reason.DERIVED)
        and SUPPRESSED >= Suppressed(Reason.SECONDARY)
    )
    assert 10 >= SUPPRESSED >= 0 and not SUPPRESSED > 10
    assert sorted([25, SUPPRESSED, 0, 10]) == [0, SUPPRESSED, 10, 25]
    assert sorted([25, None, SUPPRESSED, 0], key=sort_key) == [0, SUPPRESSED, 25, None]
    with pytest.raises(TypeError):
        SUPPRESSED < "a"  # noqa: B015


def test_arithmetic_with_suppressed_fails_closed():
    assert is_suppressed(sum([12, SUPPRESSED, 30]))
    assert (SUPPRESSED + 5).reason is Reason.DERIVED
    assert is_suppressed(100 * SUPPRESSED / 40) and is_suppressed(40 - SUPPRESSED)
    with pytest.raises(TypeError):
        SUPPRESSED + "x"


def test_derived_values():
    people = suppress_count(4)
    assert (
        derived(1_500_000, people).reason is Reason.DERIVED
    )  # money for an activity of 4 people
    assert derived(1_500_000, suppress_count(40)) == 1_500_000
    assert is_suppressed(derived(1_500_000, 4))  # raw small count: fail closed
    assert derived(0, 0) == 0
    assert is_suppressed(derived(SUPPRESSED, 50))
    # people reached summed over activities is a count of people too
    reached = [25, 3, 40]
    assert is_suppressed(derived(sum(reached), *map(suppress_count, reached)))
    assert suppress_count(sum(reached)) == 68


def test_percent_respects_suppression():
    table = suppress_table(ALUMNI)
    share = percent(table.cell("Aomori", "United States"), table.row_totals["Aomori"])
    assert (
        is_suppressed(share) and share.reason is Reason.DERIVED and str(share) == "X"
    )
    assert is_suppressed(percent(40, SUPPRESSED))
    assert percent(table.cell("Akita", "Canada"), table.row_totals["Akita"]) == round(
        100 * 18 / 93, 1
    )
    assert percent(30, 120) == 25.0 and percent(10, 30, ndigits=None) == 100 * 10 / 30
    assert percent(0, 50) == 0.0
    assert percent(0, 0) is None
    assert is_suppressed(percent(3, 50)) and is_suppressed(percent(0, 5))
    with pytest.raises(ValueError):
        percent(60, 50)


def test_ensure_group_size():
    assert ensure_group_size(10) == 10
    assert ensure_group_size(0) == 0
    with pytest.raises(GroupTooSmall):
        ensure_group_size(0, allow_empty=False)
    messages = set()
    for n in range(1, 10):
        with pytest.raises(GroupTooSmall) as info:
            ensure_group_size(n)
        messages.add(str(info.value))
    assert len(messages) == 1  # the message never depends on (leaks) the size
    assert issubclass(GroupTooSmall, disclosure.DisclosureError)


# ---------------------------------------------------------------------------
# Input handling
# ---------------------------------------------------------------------------


def test_column_order_and_missing_cells():
    rows = {"A": {"Y": 12}, "B": {"X": 30, "Y": 0}}
    table = suppress_table(rows)
    assert table.col_keys == ("Y", "X") and table.cell("A", "X") == 0
    table = suppress_table(rows, columns=["X", "Y", "Z"])
    assert table.col_keys == ("X", "Y", "Z") and table.col_totals["Z"] == 0
    with pytest.raises(ValueError):
        suppress_table(rows, columns=["X"])


def test_invalid_counts_are_rejected():
    with pytest.raises(ValueError):
        suppress_table({"A": {"X": -1}})
    with pytest.raises(TypeError):
        suppress_table({"A": {"X": 1.5}})


def test_text_rows_follow_the_requested_totals():
    rows = {"A": {"X": 3, "Y": 40}, "B": {"X": 20, "Y": 50}}
    assert suppress_table(rows).as_text_rows() == [
        ["", "X", "Y", "Total"],
        ["A", "<10", "X", "43"],  # a count hidden to protect another is 10 or more: "X", not "<10"
        ["B", "X", "X", "70"],
        ["Total", "23", "90", "113"],
    ]
    assert suppress_table(
        rows, row_totals=False, col_totals=False, grand_total=False
    ).as_text_rows() == [
        ["", "X", "Y"],
        ["A", "<10", "40"],
        ["B", "20", "50"],
    ]
    assert suppress_table(rows, row_totals=False, col_totals=False).as_text_rows()[
        -1
    ] == ["Total", "", "", "113"]


def test_empty_tables():
    assert suppress_table({}).grand_total == 0
    t = suppress_table({"A": {}})
    assert t.row_totals == {"A": 0} and t.cells == {"A": {}}


def test_doctests():
    result = doctest.testmod(disclosure)
    assert result.attempted > 0 and result.failed == 0
