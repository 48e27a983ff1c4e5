"""Forms of the import wizard. The importer's prefecture comes from the account, never from a form."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import StringField
from wtforms.validators import Optional

from crm.formats.readers import FORMATS
from crm.forms import SelectField, choices
from crm.imports import targets_ambassadors, targets_associations  # noqa: F401  (they register their targets)
from crm.imports.targets import TARGETS

ENCODINGS = [("utf-8", "UTF-8"), ("utf-8-sig", _l("UTF-8 with BOM")),
             ("cp932", _l("Shift_JIS (CP932, Excel on Japanese Windows)")), ("utf-16", _l("UTF-16 (Excel Unicode text)"))]
DELIMITERS = [(",", _l("Comma")), ("\t", _l("Tab")), (";", _l("Semicolon"))]
FORMAT_LABELS = {"csv": "CSV", "tsv": "TSV", "xlsx": "Excel (.xlsx)", "linkedin": _l("LinkedIn connections"), "vcard": "vCard"}


class UploadForm(FlaskForm):
    target = SelectField(_l("Records"), choices=choices((name, target.label) for name, target in TARGETS.items() if target.importable and target.wizard))
    file = FileField(_l("File"), validators=[FileRequired(_l("Choose a file to import."))])


class SettingsForm(FlaskForm):
    format = SelectField(_l("Format"), choices=choices([("", _l("Detect automatically"))] + [(f, FORMAT_LABELS[f]) for f in FORMATS]),
                         validators=[Optional()])
    encoding = SelectField(_l("Character encoding"), choices=choices([("", _l("Detect automatically")), *ENCODINGS]), validators=[Optional()])
    delimiter = SelectField(_l("Delimiter"), choices=choices([("", _l("Detect automatically")), *DELIMITERS]), validators=[Optional()])
    sheet = StringField(_l("Sheet"), validators=[Optional()])


class MemberUploadForm(FlaskForm):
    """A member list for the association in the address (never chosen in the form)."""
    file = FileField(_l("File"), validators=[FileRequired(_l("Choose a file to import."))])
