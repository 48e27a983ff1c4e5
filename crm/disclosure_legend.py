"""What the markers of hidden figures mean, in the reader's language: one legend for every page and
download under disclosure control (crm.disclosure renders the markers themselves)."""
from __future__ import annotations

from flask_babel import gettext as _

from crm.disclosure import SUPPRESSED_LABEL, THRESHOLD, WITHHELD_LABEL


def legend() -> list[str]:
    """One line per marker, as shown under a table and written at the end of an export."""
    return [_("%(marker)s: a count of 1 to %(most)s people, hidden.", marker=SUPPRESSED_LABEL, most=THRESHOLD - 1),
            _("%(marker)s: withheld (秘匿): a count hidden so that another cannot be worked out from the totals, or a "
              "sum, ratio or percentage about fewer than %(threshold)s people.", marker=WITHHELD_LABEL, threshold=THRESHOLD),
            _("—: no data.")]
