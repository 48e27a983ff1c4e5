"""Entry point for gunicorn: `gunicorn wsgi:app`."""
import gc

from crm import create_app

app = create_app()
# The ~160,000 objects built at start-up (modules, mappers, catalogues, country tables) live as long
# as the worker: keep the cyclic garbage collector from re-scanning them every few requests (about
# a tenth of a request's time otherwise).
gc.freeze()
