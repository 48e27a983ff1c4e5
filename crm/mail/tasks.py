"""The outbox as a task of the task queue: `flask --app crm worker` sends what is due every minute,
as `flask --app crm outbox run` would (leases keep the two from sending anything twice)."""
from flask import current_app

from crm import tasks
from crm.mail.outbox import deliver_due


@tasks.task("mail.deliver", minute="*")
def deliver() -> None:
    if current_app.config.get("SMTP_URL"):
        deliver_due(current_app._get_current_object())
