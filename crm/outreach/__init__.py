"""Outreach: mailing lists owned by a prefecture or an exchange association, consent per list,
bilingual newsletters sent through the mail room's outbox, unsubscribe, sign-up, archive and RSVP."""
from flask import Blueprint

bp = Blueprint("outreach", __name__)
