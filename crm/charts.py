"""Server-drawn bar charts and the colour arithmetic that keeps their text readable (WCAG AA).

No chart library: templates draw `<svg role="img">` with a `<title>`, a `<desc>` and the data table
beside it (templates/_charts.html), from the geometry computed here. Used by the return report and
the national dashboard (crm/reports) and by the association annual report (crm/associations).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from crm.disclosure import Suppressed
from crm.numbers import figure

DARK_INK, LIGHT_INK = "#1a1a1a", "#ffffff"
BAR_FILL = "#2b6cb0"
AA = 4.5


def luminance(colour: str) -> float:
    """Relative luminance of a #rrggbb colour (WCAG 2.x)."""
    channels = [int(colour.lstrip("#")[i:i + 2], 16) / 255 for i in (0, 2, 4)]
    r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(foreground: str, background: str) -> float:
    """The WCAG contrast ratio of two #rrggbb colours (1 to 21)."""
    high, low = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def ink(background: str) -> str:
    """Dark or white text, whichever reads better on `background`."""
    return max((DARK_INK, LIGHT_INK), key=lambda colour: contrast(colour, background))


def number(value):
    """The value a bar is drawn to: none for a hidden ("<10", crm.disclosure) or missing figure."""
    return None if value is None or isinstance(value, Suppressed) else value


def _top(series: dict, top) -> float:
    """The value drawn full height: `top` when charts share a scale, else the series' largest."""
    return top or max([n for n in (number(v) for v in series.values()) if n is not None] + [0]) or 1


# Objects rather than dicts: a template reads a chart's attributes by name, which on a dict first
# fails as an attribute (Jinja tries getattr, then the key); a report draws about seventy bars.
@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    value: object
    text: object  # the figure as the table beside the chart writes it
    y: float
    width: float
    height: float
    x: float = 0
    middle: float = 0  # the x of the bar's centre, where its labels go


@dataclass(frozen=True, slots=True)
class Chart:
    bars: list[Bar]
    width: float
    height: float
    baseline: float = 0
    key: str = ""  # the indicator it draws, for a page of several
    fill: str = BAR_FILL
    ink: str = DARK_INK


def bars(series: dict, height: int = 160, bar_width: int = 56, gap: int = 24, top=None, text: Callable = figure) -> Chart:
    """Bar geometry for {label: value}; hidden or missing values get no bar, only their label.
    `top` gives several charts one scale, so that their bars compare (e.g. fees due and collected);
    `text(value)` writes the figure above a bar, as the table beside the chart writes it."""
    top = _top(series, top)
    result = []
    for index, (label, value) in enumerate(series.items()):
        drawn = number(value)
        bar_height = 0 if drawn is None else round(height * drawn / top)
        x = 40 + index * (bar_width + gap)
        result.append(Bar(label, value, text(value), x=x, middle=x + bar_width / 2, width=bar_width, height=bar_height,
                          y=10 + height - bar_height))
    return Chart(result, width=40 + len(series) * (bar_width + gap), height=height + 40, baseline=10 + height)


def small_multiples(years: list, trend: dict, keys, label, tops: dict | None = None,
                    text: Callable = lambda key, value: figure(value)) -> list[Chart]:
    """One small bar chart per indicator over the trend years ({year: {indicator: value}}), each
    with the key it draws: comparing years is reading five bars side by side. `tops` gives the
    value drawn full height per key (a scale shared with other charts, 100 for a percentage);
    the others scale to their own largest value. `text(key, value)` writes a bar's figure."""
    return [replace(bars({label(year): trend[year].get(key) for year in years}, height=70, bar_width=44, gap=12,
                         top=(tops or {}).get(key), text=lambda value, key=key: text(key, value)), key=key)
            for key in keys]


def hbars(series: dict, width: int = 260, row: int = 22, text: Callable = figure) -> Chart:
    """Horizontal bars for {label: value} (labels beside them in the table, not in the SVG): for
    many categories with long names, such as the eleven activity kinds."""
    top = _top(series, None)
    result = []
    for index, (label, value) in enumerate(series.items()):
        drawn = number(value)
        result.append(Bar(label, value, text(value), y=index * row, height=row - 6,
                          width=0 if drawn is None else round(width * drawn / top)))
    return Chart(result, width=width + 90, height=len(series) * row)
