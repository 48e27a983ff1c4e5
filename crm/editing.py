"""Saving an edit form the same way on every page: the form carries the record's version, a stale
save is refused with 409 and the current values (nothing is overwritten silently), invalid input
gets 422 with the form again, and a save answers htmx with the record's fragment, a plain form post
with a redirect."""
from __future__ import annotations

from collections.abc import Callable

from flask import flash
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm.exc import StaleDataError

from crm import htmx
from crm.db import StaleRecord, check_version
from crm.extensions import db

SAVED_MESSAGE = _l("Saved.")
STALE_MESSAGE = _l("Someone else changed this record meanwhile. These are the current values; apply your change again.")


def save_edit(load: Callable, form_for: Callable, update: Callable, render: Callable, done_url: Callable, *,
              saved_message: Callable | None = None, refusals: tuple[type[Exception], ...] = (),
              stale_message=STALE_MESSAGE, validate: Callable | None = None):
    """Save one record from its submitted edit form.

    `load()` reads the record through the scope (404 outside it); `form_for(record, submitted=False)`
    is its form, with the request's values when submitted, else the record's own; `update(record,
    form)` applies the values (an operation); `render(record, form=None, status=200)` is the record's
    fragment, or its form when one is given; `done_url(record)` is where a plain post goes next, with
    `saved_message(record)` flashed; htmx gets it (else "Saved.") as a toast. `validate(form, record)`
    checks what the form alone cannot, and an exception of `refusals` from `update` is a rule the change broke, shown on the form (422).
    """
    record = load()
    form = form_for(record, submitted=True)
    status = 422
    if form.validate_on_submit() and (validate is None or validate(form, record)):
        try:
            check_version(record, form.version.data)
            update(record, form)
            db.session.commit()
        except (StaleRecord, StaleDataError):
            db.session.rollback()
            submitted = form
            record = load()
            form = form_for(record)
            keep_typed(form, submitted)
            form.form_errors.append(str(stale_message))
            status = 409
        except refusals as error:
            db.session.rollback()
            form.form_errors.append(str(error))
        else:
            message = saved_message(record) if saved_message is not None else SAVED_MESSAGE
            if htmx.is_htmx():
                return htmx.notify(render(record), message)
            if saved_message is not None:
                flash(message, "success")
            return htmx.redirect(done_url(record))
    return render(record, form, status)


def keep_typed(current, submitted) -> None:
    """A refused stale edit shows the current values and, beside each one the user changed, what they
    typed (the form macro shows a field's `typed`), so that nothing typed is lost."""
    for field in current:
        theirs = submitted._fields.get(field.short_name)
        if theirs is None or field.type in ("HiddenField", "CSRFTokenField", "BooleanField") or theirs.data == field.data:
            continue
        if theirs.data in (None, "") and field.data in (None, ""):
            continue
        shown = {str(choice[0]): choice[1] for choice in theirs.iter_choices()} if hasattr(theirs, "iter_choices") else {}
        field.typed = shown.get(str(theirs.data), theirs.data) if theirs.data not in (None, "") else "—"


def save_inline(load: Callable, form_for: Callable, update: Callable, done_url: Callable, *, name: str, shown: tuple[str, str],
                editing: tuple[str, str], context: dict | None = None, **options):
    """`save_edit` of a record edited in place, its `render` made from templates: `shown` and
    `editing` are the (page, fragment) of the record and of its form, which get the record as `name`,
    `form`, `editing` and `context`. The other options are save_edit's."""
    def render(record, form=None, status=200):
        page, fragment = shown if form is None else editing
        return htmx.render(page, fragment, status=status, form=form, editing=form is not None, **{name: record}, **(context or {}))

    return save_edit(load, form_for, update, render, done_url, **options)


def act_once(load: Callable, act: Callable, version, *, refusals: tuple[type[Exception], ...] = (),
             before: Callable | None = None):
    """One click on a record shown at `version` (a button, no form to fill): `act(record)` (an
    operation) and commit. Returns (record, error, status): (record, None, 200) when done; a record
    changed meanwhile is refused, (current record, STALE_MESSAGE, 409); an exception of `refusals`
    (from `before(record)`, checked first as it says more than "changed meanwhile", or from `act`) is
    (current record, its message, 422)."""
    record = load()
    try:
        if before is not None:
            before(record)
        check_version(record, version)
        act(record)
        db.session.commit()
    except (StaleRecord, StaleDataError):
        db.session.rollback()
        return load(), str(STALE_MESSAGE), 409
    except refusals as refused:
        db.session.rollback()
        return load(), str(refused), 422
    return record, None, 200
