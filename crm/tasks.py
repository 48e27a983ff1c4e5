"""The task queue: work that outlasts a request runs in `flask --app crm worker`, not in a web process.

An import's check and commit and the reports' nightly warm-up are tasks: plain functions a room
registers with `task(name)` (whatever else must not die with a recycled web worker, such as an
outbox of mail, registers the same way), started with `enqueue(name, …)` with arguments that pickle
(ids, not objects), each run by the worker in an app context of its own. Any web server can start, watch and restart
the work, since nothing of it lives in a server's memory or instance folder.

Huey keeps the queue: by default in a SQLite file in the instance folder (one server, its worker
beside it); in Redis when QUEUE_URL names one, which every server and worker then shares. With
QUEUE_IMMEDIATE (tests) a task runs at once, inside the call that enqueues it.

The queue's store also keeps what a running task reports (`report`/`reported`: an import's progress
and heartbeat): it is written while an import's commit holds SQLite's only write lock, which a
table in the same database would wait for.
"""
from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from pathlib import Path

from flask import Flask, current_app
from huey import Huey, RedisHuey, SqliteHuey, crontab

_TASKS: dict[str, Callable] = {}
_PERIODIC: dict[str, dict] = {}


def task(name: str, **schedule):
    """Register `function` as the task `name`; with crontab fields (`hour="3"`), the worker also runs
    it on that schedule."""

    def register(function: Callable) -> Callable:
        _TASKS[name] = function
        if schedule:
            _PERIODIC[name] = schedule
        return function

    return register


class Queue:
    """The app's Huey, created when first used (a `db upgrade` opens no queue)."""

    def __init__(self, app: Flask):
        self.app = app
        self.tasks: dict[str, Callable] = {}

    @functools.cached_property
    def huey(self) -> Huey:
        config = self.app.config
        url = config.get("QUEUE_URL") or f"sqlite:///{Path(self.app.instance_path) / 'queue.db'}"
        options = {"results": False, "immediate": bool(config.get("QUEUE_IMMEDIATE")),
                   # immediate or not, the store is the configured one: the CLI's imports report progress there
                   "immediate_use_memory": False}
        if url.startswith(("redis://", "rediss://", "unix://")):
            return RedisHuey("crm", url=url, **options)
        if url.startswith("sqlite:///"):
            path = Path(url.removeprefix("sqlite:///"))
            path.parent.mkdir(parents=True, exist_ok=True)
            return SqliteHuey("crm", filename=str(path), **options)
        raise ValueError(f"QUEUE_URL must be redis://… or sqlite:///…, not {url!r}")

    def task(self, name: str):
        """The Huey task of `name`, running the registered function in an app context."""
        if name not in self.tasks:
            function, app = _TASKS[name], self.app

            @functools.wraps(function)
            def in_app_context(*args, **kwargs):
                with app.app_context():
                    return function(*args, **kwargs)

            if name in _PERIODIC:
                self.tasks[name] = self.huey.periodic_task(crontab(**_PERIODIC[name]), name=name)(in_app_context)
            else:
                self.tasks[name] = self.huey.task(name=name)(in_app_context)
        return self.tasks[name]

    def consume(self, workers: int) -> None:
        """Run every registered task as it comes, and the scheduled ones on time, until stopped."""
        for name in _TASKS:
            self.task(name)
        self.huey.create_consumer(workers=workers, worker_type="thread").run()


def init_app(app: Flask) -> None:
    app.extensions["queue"] = Queue(app)


def _queue() -> Queue:
    return current_app.extensions["queue"]


def enqueue(name: str, *args) -> None:
    """Have the worker run the task `name` with `args` (at once, in this call, with QUEUE_IMMEDIATE)."""
    _queue().task(name)(*args)


def report(key: str, value) -> None:
    """Keep what a running task reports under `key` (the last value wins)."""
    _queue().huey.put(key, value)


def reported(key: str):
    """What a task last reported under `key`, or None."""
    return _queue().huey.get(key, peek=True)


def forget(key: str) -> None:
    _queue().huey.delete(key)


def consume(workers: int) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    _queue().consume(workers)
