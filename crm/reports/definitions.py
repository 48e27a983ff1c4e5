"""What every reported figure means: the one place the return report, the national dashboard and the
association annual report read their definitions from (bilingual through the catalogue).

Each definition says what counts, from which data, and for money the basis of the amount. The
filter notes say what a filter changes — and what it does not: a position or country filter narrows
the alumni (the cohort) and everything counted over them, never the investment, which is recorded
per prefecture and 年度 for all its JET participants. The return ratio under such a filter is
therefore the narrowed group's return over the whole investment; the page says so beside it.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from crm.disclosure import Suppressed
from crm.reports.protection import HIDDEN

VERIFIED = _l("Verified: a prefecture staff member checked the activity against its evidence and marked it verified; "
              "activities awaiting review or rejected are not counted.")
ECONOMIC_BASIS = _l("Economic value is the alumnus's own estimate in yen with its stated basis (e.g. orders at a trade fair, "
                    "visitors' spending), checked for plausibility when the activity is verified; it is not an audited figure.")

# indicator → (what counts, from which data)
INDICATORS = {
    "tracked": _l("Alumni placed in the prefecture (first placement started in or before the fiscal year), not archived. "
                  "From the alumni registry's placements."),
    "reachable": _l("Tracked alumni who consented to be contacted and whose data use has not been stopped. "
                    "From consent recorded in the registry; the percentage is of alumni tracked."),
    "engaged": _l("Tracked alumni with a contact log entry of the prefecture or a non-rejected activity in the fiscal year. "
                  "From the contact log and activities."),
    "ambassadors": _l("Hometown ambassador appointments whose term overlaps the fiscal year. From the ambassador register."),
    "activities": _l("Verified activities done for the prefecture in the fiscal year, by alumni of its cohort. From the activity log."),
    "economic_value": _l("Sum of the estimated economic value in yen of verified activities in the fiscal year."),
    "funds_raised": _l("Sum of the funds in yen raised by verified activities in the fiscal year (donations, sponsorship)."),
    "people_reached": _l("Sum of the people each verified activity reached (audience, participants), as reported."),
    "visitors": _l("Sum of the visitors to the prefecture each verified activity reports having brought."),
    "media_items": _l("Sum of the articles, broadcasts and posts each verified activity reports."),
    "participants": _l("JET participants (ALT, CIR, SEA) the prefecture hosted in the fiscal year. From the investment record."),
    "investment_yen": _l("Hosting cost plus other alumni-programme spending of the prefecture in the fiscal year, "
                         "from the investment record. Not narrowed by any filter."),
    "return_yen": _l("Economic value plus funds raised of verified activities."),
    "return_ratio": _l("Return as a percentage of the investment: 100 × (economic value + funds raised) ÷ investment."),
    "economic_value_per_participant": _l("Economic value divided by the JET participants hosted in the same fiscal year."),
    "return_per_participant": _l("Return (economic value + funds raised) divided by the JET participants hosted."),
}

# The association annual report's figures.
ASSOCIATION = {
    "programs": _l("Programs marked held whose date falls in the fiscal year (planned and cancelled ones are not counted), by kind. From the association's program register."),
    "participants": _l("Japanese and foreign residents and volunteers: the attendance recorded on each program held."),
    "budget": _l("Budget and actual cost in yen as recorded on each program; actual cost is blank until entered."),
    "funding": _l("Funding recorded for the fiscal year by source; the share is of the fiscal year's total funding."),
    "self_raised": _l("Self-raised: membership fees, private foundation grants and sponsorship. Government: municipal grants and commissioned projects."),
    "fees": _l("Annual fees due from members in the fiscal year, and what was collected; the collection rate is collected ÷ due."),
    "trend": _l("The charts compare the fiscal year chosen with the four before it; each figure is counted as defined in its section, "
                "and the table under the charts holds the same figures. Charts of people share one scale, fees due and collected "
                "share one scale, and percentages are drawn against 100%."),
}


def indicator(key: str) -> str:
    """The definition of one return indicator."""
    return INDICATORS[key]


def filter_notes(filters) -> list[str]:
    """What the active filters change, in words, for the report's header."""
    notes = []
    if filters.narrows:
        notes.append(_l("The position or country filter narrows the alumni counted and the activities done by them. "
                        "The investment and JET participants hosted are the prefecture's whole figures, not narrowed: "
                        "the return ratio and the figures per participant compare the narrowed group's return with "
                        "the whole investment."))
    notes.append(_l("The fiscal year (April to March) chooses the year of every figure; the trend shows it and the four before."))
    return [str(note) for note in notes]


def per_participant(value, participants):
    """A figure per JET participant hosted (whole yen), under the same disclosure as its parts: a
    hidden numerator or participant count hides the quotient, none gives None."""
    if value is None or participants is None:
        return None
    if isinstance(value, Suppressed) or isinstance(participants, Suppressed):
        return HIDDEN
    if not participants:
        return None
    return round(value / participants)
