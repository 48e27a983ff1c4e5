"""The tile-grid map of Japan, as accessible SVG data; the bar charts and the contrast arithmetic
are on the ground floor (crm/charts.py), shared with the association annual report.
"""
from __future__ import annotations

from crm.charts import ink, number
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
TILE = 56
GAP = 4
# Sequential palette (light → dark) for five classes; grey for hidden ("<10"), white for no data.
# Each fill carries its label in dark or white ink at ≥ 4.5:1 (WCAG AA): the middle blue is light
# enough for dark ink, the two dark ones dark enough for white (#3f86c4 with white was 3.9:1).
PALETTE = ("#e8f1fa", "#b9d3ec", "#7fb0db", "#2b6cb0", "#1b4f87")
SUPPRESSED_FILL = "#c8c8c8"
EMPTY_FILL = "#ffffff"

_SUFFIXES = ("県", "府")


def tile_label(name_ja: str, name_en: str, japanese: bool) -> str:
    """The name on a tile: in Japanese without 県/府 (東京都 → 東京; 北海道 keeps 道: its name), in English
    the whole name — never a cut that two prefectures share (福井・福岡・福島 were all "Fuk")."""
    if not japanese:
        return name_en
    if name_ja == "東京都":
        return "東京"
    return name_ja[:-1] if name_ja.endswith(_SUFFIXES) else name_ja



def classes(values: dict) -> tuple[dict, list]:
    """Colour class per key (0–4 by quintile of the shown values; "hidden"; "empty") and the legend
    bounds [(low, high)] of each class."""
    # Quintiles of the distinct shown values, so a map full of zeros still tells the others apart.
    shown = sorted({v for v in (number(v) for v in values.values()) if v is not None})
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
        background = fill(colour_classes.get(code, "empty"))
        tiles.append({"code": code, "x": column * (TILE + GAP), "y": row * (TILE + GAP), "size": TILE,
                      "class": colour_classes.get(code, "empty"), "fill": background, "ink": ink(background),
                      "value": values.get(code)})
    width = (max(c for c, _ in TILES.values()) + 1) * (TILE + GAP)
    height = (max(r for _, r in TILES.values()) + 1) * (TILE + GAP)
    legend = [{"fill": PALETTE[_shade(i, len(bounds))], "low": low, "high": high} for i, (low, high) in enumerate(bounds)]
    return {"tiles": tiles, "width": width, "height": height, "legend": legend, "hidden_fill": SUPPRESSED_FILL}
