"""Where a lower floor asks a higher one: the alumni domain stands below ambassadors and
associations, so it names what it needs from them here and they answer (Flask's blinker signals,
as Indico's `signals`). Each receiver connects when its domain's operations are imported, which
create_app does for every domain."""
from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

#: The ids of the alumni appointed ambassador in the user's scope, as a subquery: with a term
#: running on `on` (`current=True`), or with any term at all. Answered by the ambassadors domain.
ambassador_ids = _signals.signal("ambassador-ids")

#: The association programs the alumnus (the sender) took part in that the user reaches, newest
#: first. Answered by the associations domain.
programs_of_alumnus = _signals.signal("programs-of-alumnus")


def answer(signal, sender=None, **kwargs):
    """The one receiver's answer to `signal`; a question nobody (or more than one) answers is a
    wiring error, not an empty answer."""
    answers = signal.send(sender, **kwargs)
    if len(answers) != 1:
        raise RuntimeError(f"signal {signal.name!r} has {len(answers)} receivers, expected one")
    return answers[0][1]
