"""The mail room (ground floor): letters go into an outbox in the database and a worker sends them.

Public API (README, "Mail"): `Letter`, `queue`, `is_deliverable`, `batch_progress`, `base_url`,
`deliver_due`, `unsubscribe_address`, the models `OutboxMessage` and `MailAddress`, and the signals
`bounced`, `sent` and `unsubscribe_requested`.
The web process never talks SMTP: `flask --app crm outbox run` (or the task queue's worker) does."""
from crm.mail.letters import Letter
from crm.mail.models import MailAddress, OutboxMessage
from crm.mail.outbox import base_url, batch_progress, deliver_due, is_deliverable, queue, unsubscribe_address
from crm.mail.signals import bounced, sent, unsubscribe_requested
from crm.mail import tasks as _tasks  # noqa: F401  (registers the periodic delivery with the task queue)

__all__ = ["Letter", "MailAddress", "OutboxMessage", "base_url", "batch_progress", "bounced", "deliver_due",
           "is_deliverable", "queue", "sent", "unsubscribe_address", "unsubscribe_requested"]
