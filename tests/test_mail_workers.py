"""Outbox workers as production runs them: `flask --app crm outbox run` in processes of their own, on
the test database (SQLite or PostgreSQL), sending to a real SMTP server. A worker SIGKILLed in the
middle of sending loses nothing and sends nothing twice but the one message in flight; two workers at
once send every message once."""
from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
import time

from sqlalchemy import func, select

from crm import mail
from crm.config import ROOT
from crm.extensions import db
from tests.test_imports_kill import until

MESSAGES = 120


def start_worker(app, *args, lease_seconds=2, claim_size=10) -> subprocess.Popen:
    env = {**os.environ, "CRM_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "CRM_SECRET_KEY": "mail-test",
           "CRM_SMTP_URL": app.config["SMTP_URL"], "CRM_MAIL_LEASE_SECONDS": str(lease_seconds),
           "CRM_MAIL_CLAIM_SIZE": str(claim_size), "CRM_MAIL_PER_MINUTE": "0", "CRM_QUEUE_URL": app.config["QUEUE_URL"]}
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "crm", "outbox", "run", *args, "--poll", "0.2"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def queue_newsletter(count: int) -> None:
    mail.queue(mail.Letter(f"reader{i}@example.org", f"News {i}", "Hello", batch="kill-test") for i in range(count))
    db.session.commit()


def received(sink) -> collections.Counter:
    return collections.Counter(message["To"].addresses[0].addr_spec for message in list(sink.messages))


def test_a_worker_killed_mid_send_loses_nothing_and_repeats_at_most_the_message_in_flight(app, app_context, smtp_sink):
    queue_newsletter(MESSAGES)
    smtp_sink.delay = 0.05  # each message is "in flight" for 50 ms: the kill most likely lands there
    worker = start_worker(app)
    try:
        until(lambda: len(smtp_sink.messages) >= 30, "30 messages sent", worker)
        worker.send_signal(signal.SIGKILL)
        worker.communicate(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.communicate()
    before = len(smtp_sink.messages)
    assert before < MESSAGES, "the worker finished before it was killed"
    db.session.rollback()
    assert db.session.scalar(select(func.count()).where(mail.OutboxMessage.status == "sending")) >= 1  # its leases

    smtp_sink.delay = 0
    time.sleep(2.1)  # the dead worker's leases (2 s) run out
    mail.deliver_due()

    counts = received(smtp_sink)
    assert set(counts) == {f"reader{i}@example.org" for i in range(MESSAGES)}  # nothing lost
    twice = [address for address, times in counts.items() if times > 1]
    assert len(twice) <= 1 and max(counts.values()) <= 2  # only the one in flight, if any
    assert mail.batch_progress("kill-test")["sent"] == MESSAGES
    if twice:  # the same message again: a receiving client can tell by its Message-ID
        ids = {message["Message-ID"] for message in smtp_sink.messages if message["To"].addresses[0].addr_spec == twice[0]}
        assert len(ids) == 1


def test_two_workers_at_once_send_each_message_once(app, app_context, smtp_sink):
    queue_newsletter(MESSAGES)
    smtp_sink.delay = 0.01
    workers = [start_worker(app, "--once", lease_seconds=300, claim_size=5) for _ in range(2)]
    outputs = []
    for worker in workers:
        out, err = worker.communicate(timeout=180)
        assert worker.returncode == 0, err
        outputs.append(out)
    counts = received(smtp_sink)
    assert len(counts) == MESSAGES and set(counts.values()) == {1}
    sent = [int(out.split("sent ")[1].split(",")[0]) for out in outputs]
    assert sum(sent) == MESSAGES and all(sent), f"both workers should have sent some: {sent}"
    db.session.rollback()
    assert mail.batch_progress("kill-test")["sent"] == MESSAGES


def test_the_worker_keeps_running_and_sends_what_is_queued_later(app, app_context, smtp_sink):
    worker = start_worker(app)
    try:
        time.sleep(1)
        queue_newsletter(3)
        until(lambda: len(smtp_sink.messages) == 3, "3 messages sent", worker)
        worker.send_signal(signal.SIGTERM)
        out, err = worker.communicate(timeout=30)
        assert worker.returncode == 0, err
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.communicate()
