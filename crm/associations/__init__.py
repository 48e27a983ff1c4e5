"""International exchange associations (地域国際化協会 and municipal associations): the registry,
members and annual fees, programs with funding and partners, a calendar feed and reports.

Unlike other domains, this package does not import its views here: crm.access imports the models
(association staff are bound to an association), and the views import crm.access. The app factory
imports crm.associations.views when it registers the blueprint.
"""
from flask import Blueprint

bp = Blueprint("associations", __name__)
