"""What the outbox tells the rooms above it (blinker, as crm/signals.py): `bounced.send(address,
hard=bool)` when a DSN about an address is read; `sent.send(row)` once a message has left (the
outbox row: id, batch, recipient_key, to_address … as on OutboxMessage);
`unsubscribe_requested.send(token)` when a mail to unsubscribe+<token>@<bounce domain> (the
List-Unsubscribe mailto) is read: a room that recognises the token unsubscribes and returns True."""
from blinker import Namespace

_signals = Namespace()

bounced = _signals.signal("mail-bounced")
sent = _signals.signal("mail-sent")
unsubscribe_requested = _signals.signal("mail-unsubscribe-requested")
