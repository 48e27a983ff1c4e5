"""Figures read one way per language: thousands grouped, a real minus, percentages as computed."""
import pytest
from flask_babel import force_locale

from crm.numbers import count, percent, yen


@pytest.fixture(params=["en", "ja"])
def in_language(app, request):
    with app.test_request_context(), force_locale(request.param):
        yield request.param


def test_money_has_a_real_minus_before_the_yen_sign(in_language):
    assert yen(-1_083_000_000) == "\N{MINUS SIGN}¥1,083,000,000"
    assert yen(1_083_000_000) == "¥1,083,000,000"
    assert yen(5_000, signed=True) == "+¥5,000" and yen(0, signed=True) == "¥0"


def test_a_percentage_shows_the_one_decimal_it_was_computed_at(in_language):
    assert percent(round(100 * 55 / 83, 1)) == "66.3%"
    assert percent(50.0) == "50.0%" and percent(100) == "100.0%"
    assert percent(-1.5, signed=True) == "\N{MINUS SIGN}1.5%" and percent(2.0, signed=True) == "+2.0%"


def test_counts_are_grouped_by_thousands(in_language):
    assert count(110_000) == "110,000" and count(-12) == "\N{MINUS SIGN}12" and count(3, signed=True) == "+3"


def test_outside_a_request_figures_read_in_english(app):
    assert yen(-1) == "\N{MINUS SIGN}¥1"
