"""mail (issue 15): queueing a send to 20,000 recipients (target ≤ 5 s), and one outbox worker
delivering them to a local aiosmtpd sink (target ≥ 100 messages/s) with flat memory.

Queueing is timed in this process: building the 20,000 Letters (Japanese subject, a text and an
HTML part of ~2 KB, an unsubscribe link each) and `mail.queue()` with its commit. Delivery runs as
production does: `flask --app crm outbox run --once` in a process of its own (no throttle) and
`python -m aiosmtpd -c aiosmtpd.handlers.Sink` in another; the worker's anonymous resident memory
(RssAnon: its heap, not the pages of the database file SQLite maps in) is sampled from /proc every
0.1 s, and compared after the first tenth of the messages and at its peak."""
from __future__ import annotations

import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.harness import Figure, bench_app, database_label
from crm import mail
from crm.db import reading
from crm.extensions import db

RECIPIENTS = 20_000
ROOT = Path(__file__).resolve().parent.parent
TEXT = "こんにちは、{name}さん。\n鳥取県から冬のお便りをお届けします。砂丘、梨、温泉の話題です。\n" * 12
HTML = "<p>こんにちは、<b>{name}</b>さん。</p><p>鳥取県から冬のお便りをお届けします。</p>" * 12


def letters(count: int):
    for i in range(count):
        name = f"Reader {i}"
        yield mail.Letter(f"reader{i}@example.org", "鳥取だより 12月号 — News from Tottori", TEXT.format(name=name),
                          HTML.format(name=name), to_name=name, list_id="world-tottori-fan-club.pref-31.furusato",
                          unsubscribe_url=f"https://crm.example.jp/u/{i:08x}", batch="bench", recipient_key=f"alumnus:{i}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def rss_mb(pid: int) -> float | None:
    """The process's anonymous resident memory (its heap; not the database file SQLite maps in)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def deliver(app, database_url: str, count: int) -> tuple[float, float, float, float]:
    """Seconds the worker took for `count` messages, the CPU seconds it used (on a loaded machine the
    wall time says more about the neighbours), its RSS after the first tenth, its peak RSS."""
    port = free_port()
    sink = subprocess.Popen([sys.executable, "-m", "aiosmtpd", "-n", "-c", "aiosmtpd.handlers.Sink", "-l", f"127.0.0.1:{port}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        with tempfile.TemporaryDirectory(prefix="crm-bench-mail-") as folder:
            env = {**os.environ, "CRM_DATABASE_URL": database_url, "CRM_SECRET_KEY": "bench",
                   "CRM_SMTP_URL": f"smtp://127.0.0.1:{port}", "CRM_MAIL_PER_MINUTE": "0",
                   "CRM_QUEUE_URL": f"sqlite:///{folder}/queue.db"}
            started, cpu_before = time.perf_counter(), _children_cpu()
            worker = subprocess.Popen([sys.executable, "-m", "flask", "--app", "crm", "outbox", "run", "--once"],
                                      cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            early, peak = None, 0.0
            while worker.poll() is None:
                rss = rss_mb(worker.pid) or 0.0
                peak = max(peak, rss)
                if early is None and sent(app) >= count // 10:
                    early = rss
                time.sleep(0.1)
            seconds = time.perf_counter() - started
            out, err = worker.communicate()
            cpu = _children_cpu() - cpu_before
            if worker.returncode != 0 or f"sent {count}" not in out:
                raise RuntimeError(f"the worker failed: {out}\n{err[-2000:]}")
        return seconds, cpu, early or peak, peak
    finally:
        sink.terminate()
        sink.wait()


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def sent(app) -> int:
    with reading(), app.app_context():  # a deferred read: never in the worker's way for the write lock
        count = mail.batch_progress("bench")["sent"]
        db.session.remove()
    return count


def run(database_url: str, scale: float = 1.0, reuse: bool = False):
    count = max(100, int(RECIPIENTS * scale))
    app = bench_app(database_url)
    label = database_label(app)
    rounds, cpu_rounds = [], []
    for _ in range(3):
        with app.app_context():
            db.session.execute(mail.OutboxMessage.__table__.delete())
            db.session.commit()
            started, cpu_started = time.perf_counter(), time.process_time()
            queued = mail.queue(letters(count))
            db.session.commit()
            rounds.append((time.perf_counter() - started) * 1000)
            cpu_rounds.append(time.process_time() - cpu_started)
            db.session.remove()
        assert queued == count
    rounds.sort()
    load = os.getloadavg()[0]
    seconds, cpu, early_mb, peak_mb = deliver(app, database_url, count)
    rate = count / seconds
    print(f"{label}: queueing {count} letters {rounds[0] / 1000:.2f}–{rounds[-1] / 1000:.2f} s "
          f"({min(cpu_rounds):.2f}–{max(cpu_rounds):.2f} CPU s in this process); one worker sent {count} "
          f"in {seconds:.1f} s = {rate:.0f} messages/s (process start included), using {cpu:.1f} CPU s = "
          f"{count / cpu:.0f} messages per CPU second; heap (RssAnon) {early_mb:.0f} MB after a tenth, peak {peak_mb:.0f} MB; "
          f"load average {load:.1f} → {os.getloadavg()[0]:.1f}")
    return [Figure("mail", label, f"queue a send to {count} recipients (Letters built, queued, committed; "
                                  f"{min(cpu_rounds):.1f}–{max(cpu_rounds):.1f} CPU s)", len(rounds),
                   round(rounds[len(rounds) // 2], 1), round(rounds[-1], 1), round(rounds[-1], 1), None, 5000),
            Figure("mail", label, f"one worker delivers {count} to aiosmtpd: {rate:.0f} msg/s "
                                  f"({count / cpu:.0f} per CPU s); ms per message (heap {early_mb:.0f} MB after a tenth)",
                   count, round(1000 / rate, 2), round(1000 / rate, 2), round(1000 / rate, 2), None, 10, round(peak_mb, 1), 200)]
