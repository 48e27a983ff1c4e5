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


def test_a_report_figure_is_a_dash_a_number_in_its_unit_or_the_hidden_marker(app, in_language):
    """crm.numbers.figure (the report tables' `figure` and `value`): what the Jinja macro it replaced
    rendered, checked in a page too."""
    from markupsafe import escape

    from crm.disclosure import SUPPRESSED
    from crm.numbers import figure
    from crm.reports import indicator_value

    assert figure(None) == "\N{EM DASH}"
    assert figure(1234) == "1,234" and figure(-3, signed=True) == "\N{MINUS SIGN}3" and figure(3, signed=True) == "+3"
    assert figure(1_083_000, True) == "¥1,083,000" and figure(66.3, percent=True) == "66.3%"
    assert figure(SUPPRESSED) is SUPPRESSED and str(escape(figure(SUPPRESSED))) == "&lt;10"
    assert indicator_value("funds_raised", -5000) == "\N{MINUS SIGN}¥5,000"
    assert indicator_value("return_ratio", 12.5, signed=True) == "+12.5%"
    assert indicator_value("visitors", 120) == "120"
    html = app.jinja_env.from_string('{% from "reports/_macros.html" import figure, value %}'
                                     '{{ figure(none) }}|{{ value("economic_value", 10) }}|{{ value("visitors", hidden) }}').render(hidden=SUPPRESSED)
    assert html == "\N{EM DASH}|¥10|&lt;10"
