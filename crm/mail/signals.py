"""What the outbox tells the rooms above it (blinker, as crm/signals.py): `bounced.send(address,
hard=bool)` when a DSN about an address is read; `sent.send(row)` once a message has left (the
outbox row: id, batch, recipient_key, to_address … as on OutboxMessage)."""
from blinker import Namespace

_signals = Namespace()

bounced = _signals.signal("mail-bounced")
sent = _signals.signal("mail-sent")
