"""A form's own fields and validators, run over many imported rows at the speed of plain functions.

An import checks every row with the same rules and messages as the form that edits the record (one
definition, the form's). Processing and validating a bound WTForms field costs tens of microseconds
(`Field.process`, a MultiDict, `check_validators`, the chain's bookkeeping), over a million times for
a 100,000-row file. `FormRules` binds the form once and keeps, per field, the callables the field
itself would run: its `process_formdata` conversion, its filters, `pre_validate` (choices), its
validators, the form's inline `validate_<field>` and `post_validate`. A filled cell goes through those
directly. A cell any of them refuses is run again through the field's own `process` + `validate`,
which gives exactly the errors the form shows (refusals are rare, so their cost does not matter).
An empty cell gives the same result in every row, so it is worked out once on the empty form; a
filled cell the field accepted is remembered by value (offices write the same organisation, country
and position thousands of times). That holds because a validator in a field's own list reads only
its field: a rule that compares fields is an inline `validate_<field>` method of the form (as
`PlacementFields.validate_end_year`) — or WTForms' `EqualTo`, whose fields are never remembered.
"""
from __future__ import annotations

import functools

from email_validator import EmailNotValidError, validate_email
from email_validator.rfc_constants import DOT_ATOM_TEXT, EMAIL_MAX_LENGTH
from werkzeug.datastructures import MultiDict
from wtforms.validators import Email, EqualTo, StopValidation, ValidationError

MEMO_SIZE = 4096  # values remembered per field; a column of distinct values (emails) soon stops adding
_UNSEEN = object()


class _Refused(Exception):
    """A cell the fast path does not accept: the field's own process + validate decides."""


class FormRules:
    """`rules(cells)` → (data, errors) exactly as `form.process(MultiDict(cells)); form.validate()`
    would give, for `cells` of non-empty strings (absent = empty). Not thread-safe: one per thread."""

    def __init__(self, form):
        self.form = form
        form.process(MultiDict())
        form.validate()
        self.empty_data = {name: field.data for name, field in form._fields.items()}
        self.empty_errors = {name: list(field.errors) for name, field in form._fields.items() if field.errors}
        self.inline = {name: (getattr(type(form), f"validate_{name}"),) for name in form._fields
                       if hasattr(type(form), f"validate_{name}")}
        self.chains = {name: [_quick(validator) for validator in (*field.validators, *self.inline.get(name, ()))]
                       for name, field in form._fields.items()}
        self.memos = {name: {} for name, field in form._fields.items()
                      if name not in self.inline and not any(isinstance(v, EqualTo) for v in field.validators)}
        self.filled: list[str] = []  # fields whose data the last row set (reset to empty for the next)

    def __call__(self, cells: dict[str, str]) -> tuple[dict, dict]:
        form, fields = self.form, self.form._fields
        for name in self.filled:
            fields[name].data = self.empty_data[name]
        data = dict(self.empty_data)
        errors = {name: list(messages) for name, messages in self.empty_errors.items() if not cells.get(name)}
        # Every field is processed before any inline validator runs, as Form.validate does: an inline
        # validator may read the other fields' data.
        self.filled = [name for name, value in cells.items() if value and name not in self.inline]
        for name in (*self.filled, *self.inline):
            field, value = fields[name], cells.get(name)
            if value:
                memo = self.memos.get(name)
                known = _UNSEEN if memo is None else memo.get(value, _UNSEEN)
                if known is not _UNSEEN:
                    data[name] = field.data = known
                    continue
                try:
                    data[name] = self._check(field, value, self.chains[name])
                    if memo is not None and len(memo) < MEMO_SIZE:
                        memo[value] = data[name]
                    continue
                except _Refused:
                    pass
            field.process(MultiDict({name: value} if value else {}))
            field.validate(form, self.inline.get(name, ()))
            data[name] = field.data
            errors.pop(name, None)
            if field.errors:
                errors[name] = list(field.errors)
        self.filled.extend(self.inline)
        return data, errors

    def _check(self, field, value: str, chain):
        """The field's own steps of `Field.process` and `Field.validate` for one filled cell."""
        form = self.form
        field.raw_data = [value]
        field.errors = []
        try:
            field.process_formdata(field.raw_data)
            for step in field.filters:
                field.data = step(field.data)
            field.pre_validate(form)
            stopped = False
            for validator in chain:
                try:
                    validator(form, field)
                except StopValidation as stop:
                    if stop.args and stop.args[0]:
                        raise _Refused() from None
                    stopped = True
                    break
            field.post_validate(form, stopped)
        except (ValueError, ValidationError, StopValidation):
            raise _Refused() from None
        if field.errors:
            raise _Refused()
        return field.data


def _quick(validator):
    """The validator itself, or for the email check (costly per address in email_validator) a
    shortcut that accepts the everyday address and asks the validator about anything else."""
    if type(validator) is not Email or validator.check_deliverability:
        return validator

    def check(form, field):
        if not _plain_address(field.data, validator):
            validator(form, field)

    return check


def _plain_address(address, validator: Email) -> bool:
    """True for an address email_validator surely accepts: an ASCII dot-atom before the @ (its own
    pattern, which it takes as it is), a domain it accepted before (asked once per domain, with a
    probe address) and the length it allows. False means "ask email_validator"."""
    if not isinstance(address, str) or len(address) > EMAIL_MAX_LENGTH or not address.isascii():
        return False
    local, at, domain = address.rpartition("@")
    return bool(at and DOT_ATOM_TEXT.match(local)) and _accepted_domain(domain, validator)


@functools.lru_cache(maxsize=4096)
def _accepted_domain(domain: str, validator: Email) -> bool:
    # Lower-case ASCII letters, digits, dots and single hyphens only (no IDNA "xn--" label): the
    # domain is then its own normalised form, so the probe's verdict holds for every local part.
    if domain != domain.lower() or "--" in domain or not all(char.isalnum() or char in ".-" for char in domain):
        return False
    try:
        validate_email(f"a@{domain}", check_deliverability=False, test_environment=validator.test_environment,
                       allow_smtputf8=validator.allow_smtputf8, allow_empty_local=validator.allow_empty_local)
    except EmailNotValidError:
        return False
    return True
