"""gunicorn reads this file when started from this folder (README: Production deployment).

It refuses to start several workers that would each count sign-in attempts on their own: with
RATELIMIT_STORAGE_URI `memory://` every worker keeps its own counters, so N workers allow N times the
failed attempts. The default storage (`database://`) and Redis are shared by every worker.
"""
import sys

from flask import Config

from crm import config as settings


def on_starting(server):
    config = Config(str(settings.INSTANCE))
    settings.load(config)
    storage = config["RATELIMIT_STORAGE_URI"]
    if server.cfg.workers > 1 and storage.startswith("memory://"):
        server.log.error(
            "Refusing to start %d workers with RATELIMIT_STORAGE_URI=%s: each would count sign-in attempts "
            "on its own. Use the default database:// or redis://…, or run one worker.", server.cfg.workers, storage
        )
        sys.exit(1)
