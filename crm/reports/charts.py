"""Server-drawn charts: the tile-grid map of Japan and the trend bars, as accessible SVG data.

No chart library: templates draw `<svg role="img">` with a `<title>`, a `<desc>` and a data table
beside it, from the geometry computed here.
"""
from __future__ import annotations

from crm.disclosure import Suppressed

# One square per prefecture (JIS code → column, row), roughly where it lies: Hokkaido top right,
# Okinawa bottom left. A fixed layout, so the map reads the same every year.
TILES = {
    1: (12, 0), 2: (11, 1), 3: (11, 2), 5: (10, 2), 4: (11, 3), 6: (10, 3),
    17: (8, 4), 16: (9, 4), 15: (10, 4), 7: (11, 4),
    32: (3, 5), 31: (4, 5), 28: (5, 5), 26: (6, 5), 18: (7, 5), 21: (8, 5), 20: (9, 5), 10: (10, 5), 9: (11, 5), 8: (12, 5),
    35: (2, 6), 34: (3, 6), 33: (4, 6), 27: (5, 6), 29: (6, 6), 25: (7, 6), 23: (8, 6), 19: (9, 6), 11: (10, 6), 12: (11, 6),
    41: (0, 7), 40: (1, 7), 44: (2, 7), 38: (3, 7), 37: (4, 7), 36: (5, 7), 30: (6, 7), 24: (7, 7), 22: (8, 7), 14: (9, 7), 13: (10, 7),
    42: (0, 8), 43: (1, 8), 45: (2, 8), 39: (4, 8),
    46: (1, 9),
    47: (0, 10),
}
TILE = 44
GAP = 4
# Sequential palette (light → dark) for five classes; grey for hidden ("<10"), white for no data.
PALETTE = ("#e8f1fa", "#b9d3ec", "#7fb0db", "#3f86c4", "#1b5a99")
SUPPRESSED_FILL = "#c8c8c8"
EMPTY_FILL = "#ffffff"


def _number(value):
    return None if value is None or isinstance(value, Suppressed) else value


def classes(values: dict) -> tuple[dict, list]:
    """Colour class per key (0–4 by quintile of the shown values; "hidden"; "empty") and the legend
    bounds [(low, high)] of each class."""
    # Quintiles of the distinct shown values, so a map full of zeros still tells the others apart.
    shown = sorted({v for v in (_number(v) for v in values.values()) if v is not None})
    bounds = []
    for index in range(min(len(PALETTE), len(shown))):
        low = shown[index * len(shown) // min(len(PALETTE), len(shown))]
        high = shown[(index + 1) * len(shown) // min(len(PALETTE), len(shown)) - 1]
        bounds.append((low, high))
    result = {}
    for key, value in values.items():
        if isinstance(value, Suppressed):
            result[key] = "hidden"
        elif value is None:
            result[key] = "empty"
        else:
            result[key] = _shade(next(i for i, (_low, high) in enumerate(bounds) if value <= high), len(bounds))
    return result, bounds


def _shade(index: int, classes_used: int) -> int:
    """Spread the classes in use over the whole palette (two classes: lightest and darkest)."""
    return index * (len(PALETTE) - 1) // max(1, classes_used - 1)


def fill(css_class) -> str:
    if css_class == "hidden":
        return SUPPRESSED_FILL
    if css_class == "empty":
        return EMPTY_FILL
    return PALETTE[css_class]


def tile_map(values: dict) -> dict:
    """Geometry and colours of the 47 tiles for `values` {prefecture id: published value}."""
    colour_classes, bounds = classes(values)
    tiles = []
    for code, (column, row) in sorted(TILES.items()):
        tiles.append({"code": code, "x": column * (TILE + GAP), "y": row * (TILE + GAP), "size": TILE,
                      "class": colour_classes.get(code, "empty"), "fill": fill(colour_classes.get(code, "empty")),
                      "value": values.get(code)})
    width = (max(c for c, _ in TILES.values()) + 1) * (TILE + GAP)
    height = (max(r for _, r in TILES.values()) + 1) * (TILE + GAP)
    legend = [{"fill": PALETTE[_shade(i, len(bounds))], "low": low, "high": high} for i, (low, high) in enumerate(bounds)]
    return {"tiles": tiles, "width": width, "height": height, "legend": legend, "hidden_fill": SUPPRESSED_FILL}


def bars(series: dict, height: int = 160, bar_width: int = 56, gap: int = 24) -> dict:
    """Bar geometry for {label: value}; hidden or missing values get no bar, only their label."""
    numbers = [_number(v) for v in series.values()]
    top = max([n for n in numbers if n is not None] + [0]) or 1
    result = []
    for index, (label, value) in enumerate(series.items()):
        number = _number(value)
        bar_height = 0 if number is None else round(height * number / top)
        result.append({"label": label, "value": value, "x": 40 + index * (bar_width + gap), "width": bar_width,
                       "height": bar_height, "y": 10 + height - bar_height})
    return {"bars": result, "width": 40 + len(series) * (bar_width + gap), "height": height + 40, "baseline": 10 + height}
