"""An import runs as its importer, also outside a request (the worker, the CLI): the scope rules and
the audit trail's actor are theirs."""
from __future__ import annotations

import contextlib
from types import SimpleNamespace

from flask import current_app, g

from crm.auth.models import Role


@contextlib.contextmanager
def acting_for(user):
    """Run with `user` as the current user (scope rules and audit actor), outside a request: the
    background worker acts as the importer, the CLI as a prefecture's office."""
    app = current_app._get_current_object()
    with app.test_request_context("/", environ_base={"REMOTE_ADDR": None}):
        g._login_user = user
        yield


def prefecture_office(prefecture_id: int, label: str):
    """A stand-in account for the CLI: prefecture staff of `prefecture_id`, named `label` in the trail."""
    return SimpleNamespace(id=None, email=label, role=Role.PREFECTURE_STAFF, prefecture_id=prefecture_id,
                           association_id=None, locale=None, display_name=label, is_authenticated=True, is_active=True, is_anonymous=False,
                           get_id=lambda: None)
