"""Self-service by personal link: a person (an alumnus) keeps their own record current, confirms it
and reports activities, with no account; staff see and undo what came in, and send the links."""
from flask import Blueprint

bp = Blueprint("selfservice", __name__)
