"""No input gives a 500: every form and every GET filter the pages offer, as each role that reaches
them, filled by Hypothesis with hostile values (long strings, NUL, lone surrogates, RTL overrides,
huge and negative numbers, extreme dates, invalid choices, repeated keys). After each submission the
page the form came from (the record) and the page the answer sends to must still read.

The walk starts from the pages of the access matrix (tests/test_access_matrix.py) and a few edit
pages it does not list, finds the <form>s in their HTML as a browser would, and fuzzes each once per
role. CI runs a few examples per field, derandomized (the same inputs on every run); `make fuzz`
sets CRM_FUZZ_EXAMPLES for a longer, randomized run.
"""
from __future__ import annotations

import os
import re
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from hypothesis import HealthCheck, Phase, example, given, settings, strategies as st

from crm.auth.models import Role
from tests.test_access_matrix import (ANON, MATRIX, ROLES, _export_job_sample, _import_job_sample, _outcome, _outreach_sample,
                                      _privacy_request_sample)

# Examples per field of a form (and per parameter of a filter); the run of one form is capped.
PER_FIELD = int(os.environ.get("CRM_FUZZ_EXAMPLES", "1"))
MAX_PER_FORM = max(5, PER_FIELD * 10)
LONG_RUN = "CRM_FUZZ_EXAMPLES" in os.environ

# Pages whose forms the matrix does not reach (it lists one section and one edit page of each kind).
EXTRA_PAGES = [
    "/alumni/{alumnus}/sections/profile/edit",
    "/alumni/{alumnus}/sections/contact/edit",
    "/alumni/{alumnus}/sections/consent/edit",
    "/alumni/{alumnus}/merge?other={other}",
    "/associations/{association}/members?status=active&q=x",
]
# Forms left alone: signing out ends the session every later example needs; file uploads belong to
# the import tests (tests/test_import_formats.py fuzzes the readers).
SKIPPED_ACTIONS = ("/logout",)

NASTY_TEXT = [
    "", "   ", "\x00", "a\x00b", "\ud800", "x\udfff", "\u202eevil\u202c", "\u2028\u2029\x85", "\ufeff",
    "'; DROP TABLE alumni; --", "<script>alert(1)</script>", "%s%n{0}", "../../etc/passwd", "NULL", "None",
    "x" * 5000, "あ" * 3000, "🇯🇵" * 50, "\t\r\n", "\"*", "AND OR NOT", "NEAR(a b)", "^*:\"", "-1", "0",
]
NASTY_NUMBERS = [
    "0", "-1", "1", "2147483647", "2147483648", "-2147483649", "9223372036854775807", "9223372036854775808",
    "-9223372036854775809", str(2**64), str(-2**64), "1" + "0" * 40, "1e9", "1.5", "NaN", "inf", "0x10",
    " 7 ", "١٢", "７", "-0", "+5",
]
NASTY_DATES = [
    "0001-01-01", "9999-12-31", "0200-01-01", "1986-12-31", "1987-01-01", "2100-01-01", "2025-02-30",
    "2025-13-01", "20250101", "2025-1-1", "1900-01-01", "10000-01-01",
]
NASTY_DATETIMES = ["0001-01-01T00:00", "9999-12-31T23:59", "1900-01-01T00:00", "2025-06-01T25:61", "2025-06-01"]


def _strategy_for(kind: str, options: list[str]):
    """Values for one field, by the kind of control the page shows."""
    text = st.one_of(st.sampled_from(NASTY_TEXT), st.text(max_size=60))
    numbers = st.one_of(st.sampled_from(NASTY_NUMBERS), st.integers(min_value=-(2**70), max_value=2**70).map(str))
    if kind == "number":
        return st.one_of(numbers, text)
    if kind == "date":
        return st.one_of(st.sampled_from(NASTY_DATES), st.dates().map(lambda day: day.isoformat()), text)
    if kind == "datetime-local":
        return st.one_of(st.sampled_from(NASTY_DATETIMES),
                         st.datetimes().map(lambda moment: moment.strftime("%Y-%m-%dT%H:%M")), text)
    if kind == "select":
        padded = [f" {option} " for option in options if option]
        return st.one_of(st.sampled_from(options or [""]), st.sampled_from(padded or ["   "]), text, numbers)
    if kind == "checkbox":
        return st.sampled_from(["y", "", "on", "0", "\x00", "x" * 300])
    return st.one_of(text, numbers, st.sampled_from(NASTY_DATES))


class _Forms(HTMLParser):
    """The <form>s of a page: action, method and controls (name, kind, value, options)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[dict] = []
        self.by_id: dict[str, dict] = {}
        self.current: dict | None = None
        self.select: dict | None = None
        self.textarea: dict | None = None
        self.orphans: list[tuple[str, dict]] = []  # controls with form="id" outside their form

    def handle_starttag(self, tag, attrs):
        attrs = {key: value or "" for key, value in attrs}
        if tag == "form":
            action = attrs.get("hx-post") or attrs.get("action") or attrs.get("hx-get") or ""
            method = "post" if "hx-post" in attrs else (attrs.get("method") or "get").lower()
            self.current = {"action": action, "method": method, "fields": [], "multipart": "multipart" in attrs.get("enctype", "")}
            self.forms.append(self.current)
            if attrs.get("id"):
                self.by_id[attrs["id"]] = self.current
            return
        if tag not in ("input", "select", "textarea", "option", "button"):
            return
        if tag == "option" and self.select is not None:
            self.select["options"].append(attrs.get("value", ""))
            if "selected" in attrs:
                self.select["value"] = attrs.get("value", "")
            return
        name = attrs.get("name")
        if not name:
            return
        kind = {"select": "select", "textarea": "text"}.get(tag, attrs.get("type", "text").lower())
        if kind in ("submit", "button", "image", "reset") and tag != "button":
            return
        if tag == "button":
            kind = "button"
        field = {"name": name, "kind": kind, "value": attrs.get("value", ""), "options": [],
                 "checked": "checked" in attrs}
        if tag == "select":
            self.select = field
        if tag == "textarea":
            self.textarea = field
        if attrs.get("form"):
            self.orphans.append((attrs["form"], field))
        elif self.current is not None:
            self.current["fields"].append(field)

    def handle_data(self, data):
        if self.textarea is not None:
            self.textarea["value"] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self.current = None
        elif tag == "select":
            self.select = None
        elif tag == "textarea":
            self.textarea = None

    def parse(self, html: str) -> list[dict]:
        self.feed(html)
        for form_id, field in self.orphans:
            if form_id in self.by_id:
                self.by_id[form_id]["fields"].append(field)
        return self.forms


def _submitted(field) -> str | None:
    """What a browser sends for this control untouched (None: nothing)."""
    if field["kind"] in ("checkbox", "radio"):
        return field["value"] or "on" if field["checked"] else None
    if field["kind"] in ("button", "file"):
        return None
    if field["kind"] == "select" and field["options"] and field["value"] not in field["options"]:
        return field["options"][0]
    return field["value"]


def _shape(action: str) -> str:
    return re.sub(r"\d+", "N", urlsplit(action).path)


def _filters_from_links(html: str, path: str) -> set[str]:
    """Query parameters the page's own links send to `path` (its filters, pages and formats)."""
    names = set()
    for href in re.findall(r'href="([^"]+)"', html):
        href = href.replace("&amp;", "&")
        parts = urlsplit(href)
        if parts.path == path and parts.query:
            names.update(key for key, _ in parse_qsl(parts.query, keep_blank_values=True))
    return names


def _body(pairs: list[tuple[str, str]]) -> bytes:
    # A hostile client sends any bytes: lone surrogates go out as their (invalid) UTF-8 encoding.
    return urlencode(pairs, encoding="utf-8", errors="surrogatepass").encode("ascii")


def _check_reads(client, *urls):
    for url in urls:
        if url and url.startswith("/") and not url.startswith("//"):
            with client.get(url) as response:
                assert response.status_code < 500, f"GET {url} → {response.status_code} after the submission"


# The probes every field gets, by kind, one at a time with the rest of the form as the page filled it:
# each bug class found so far in one value (Hypothesis then mixes values across fields).
PROBES = {
    "text": ["\x00", "x" * 5000],
    "number": [str(2**64)],
    "date": ["0001-01-01", "9999-12-31"],
    "datetime-local": ["0001-01-01T00:00", "9999-12-31T23:59"],
    "select": ["   ", "not-a-choice"],
    "hidden": [],
    "checkbox": [],
}
FILTER_PROBES = ["9999-12-31", str(2**64), "   "]


def _kind(field) -> str:
    kind = field["kind"]
    return kind if kind in PROBES else "text"


def _run(test, examples: list[dict], count: int):
    for values in examples:
        test = example(**values)(test)
    settings(max_examples=count, derandomize=not LONG_RUN, database=None, deadline=None,
             phases=tuple(Phase) if LONG_RUN else (Phase.explicit, Phase.generate),
             suppress_health_check=list(HealthCheck), report_multiple_bugs=False)(test)()


def _current(client, page: str, form: dict) -> list[dict]:
    """The form's controls as the page shows them now (its record's version moves on with each save)."""
    with client.get(page) as response:
        html = response.get_data(as_text=True) if response.status_code == 200 else ""
    for candidate in _Forms().parse(html):
        if candidate["action"] == form["action"] and [f["name"] for f in candidate["fields"]] == [f["name"] for f in form["fields"]]:
            return [field for field in candidate["fields"] if field["kind"] not in ("button", "file")]
    return [field for field in form["fields"] if field["kind"] not in ("button", "file")]


def _fuzz_form(client, form: dict, page: str, probing: bool):
    """Submit the form with one probe per field and kind (when `probing`), then Hypothesis' mixes.
    After a submission the page accepted, the form is read again (its record's version moved on) and
    the record's page and the answer's redirect must read."""
    fields = [field for field in form["fields"] if field["kind"] not in ("button", "file")]
    fuzzable = {field["name"]: field for field in fields if field["name"] != "csrf_token"}
    if not fuzzable:
        return
    strategies = {name: _strategy_for(field["kind"], field["options"]) for name, field in fuzzable.items()}
    names = sorted(fuzzable)
    state = {"fields": fields, "changed": False}

    @given(changes=st.fixed_dictionaries({}, optional=strategies),
           repeats=st.lists(st.tuples(st.sampled_from(names), _strategy_for("any", [])), max_size=2),
           htmx=st.booleans())
    def submit(changes, repeats, htmx):
        if state["changed"]:
            state["fields"], state["changed"] = _current(client, page, form), False
        pairs = [(field["name"], changes.get(field["name"], _submitted(field))) for field in state["fields"]]
        pairs = [(name, value) for name, value in pairs if value is not None] + repeats
        if form["method"] == "get":
            url = f"{urlsplit(form['action'] or page).path}?{_body(pairs).decode()}"
            with client.get(url) as response:
                assert response.status_code < 500, f"GET {url} → {response.status_code}"
            return
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if htmx:
            headers.update({"HX-Request": "true", "X-CSRFToken": client.csrf_token()})
        with client.post(form["action"], data=_body(pairs), headers=headers) as response:
            status, location = response.status_code, response.headers.get("Location") or response.headers.get("HX-Redirect")
        assert status < 500, f"POST {form['action']} {pairs!r} → {status}"
        if status < 400:
            state["changed"] = True
            _check_reads(client, page, location)

    probes = [{"changes": {name: probe}, "repeats": [], "htmx": False}
              for name, field in fuzzable.items() for probe in PROBES[_kind(field)]] if probing else []
    probes.append({"changes": {}, "repeats": [(names[0], "1"), (names[-1], "2")], "htmx": True})
    _run(submit, probes, min(MAX_PER_FORM, PER_FIELD * len(names)) if probing else PER_FIELD * 3)
    _check_reads(client, page)


def _fuzz_filters(client, page: str, names: set[str]):
    """The page's query parameters that its own links send (its GET forms are fuzzed as forms)."""
    path = urlsplit(page).path
    names = sorted(names | {"page"})

    @given(pairs=st.lists(st.tuples(st.sampled_from(names), _strategy_for("any", [])), min_size=1, max_size=4))
    def query(pairs):
        url = f"{path}?{_body(pairs).decode()}"
        with client.get(url) as response:
            assert response.status_code < 500, f"GET {url} → {response.status_code}"

    _run(query, [{"pairs": [(name, probe)]} for name in names for probe in FILTER_PROBES],
         min(MAX_PER_FORM, PER_FIELD * len(names)))


# Forms already fuzzed in this run, by role, method, the action's shape and the fields.
_done: set = set()
PAGES = sorted({path for (_endpoint, method, path) in MATRIX if method == "GET"} | set(EXTRA_PAGES))


def _roles_reaching(path: str) -> list:
    for (endpoint, method, matrix_path), outcomes in MATRIX.items():
        if method == "GET" and matrix_path == path:
            return [role for role in ROLES if outcomes[role] == "ok"]
    return [Role.ADMIN, Role.PREFECTURE_STAFF]


@pytest.fixture
def samples(app, make_user, make_association, make_alumnus, make_contact, make_member, make_fee, make_program,
            make_activity, make_ambassador, make_investment):
    """One record of every kind the pages need, in Tottori (the staff's prefecture)."""
    from tests.test_access_matrix import _alumni_samples

    association = make_association()
    member = make_member(association)
    user, _ = make_user(Role.PREFECTURE_STAFF, prefecture=31)
    records = _alumni_samples(app, make_alumnus, make_contact)
    records.update(association=association, member=member, user=user, fee=make_fee(member),
                   program=make_program(association, funding=[("municipal_grant", "", 50000)]),
                   ambassador=make_ambassador(records["alumnus"]), activity=make_activity(records["alumnus"]),
                   investment=make_investment(), other=make_alumnus(31, family="Smyth"), **_import_job_sample(app),
                   **_privacy_request_sample(app, records["alumnus"]), **_outreach_sample(app, records["alumnus"]),
                   **_export_job_sample(app, user))
    return records


def _failure(where: str, error: Exception) -> str:
    # Hypothesis adds the falsifying example to the exception's notes.
    return "\n".join([f"{where}: {error!r}", *getattr(error, "__notes__", [])])


@pytest.mark.parametrize("role", ROLES, ids=str)
def test_no_input_gives_a_server_error(app, make_user, samples, role):
    """Walk every page the role reaches; fuzz its filters and every form on it. One walk per role
    (one sign-in, one set of records): failures are gathered, so one bug does not hide the next."""
    client = _signed_in(app, make_user, samples, role)
    failures = []
    for path in PAGES:
        if role not in _roles_reaching(path):
            continue
        url = path.format(**samples)
        if role != ANON and _outcome(client.get("/")) == "login":  # a fuzzed form ended the session
            client = _signed_in(app, make_user, samples, role)
        try:
            with client.get(url) as response:
                assert response.status_code < 500, f"GET {url} → {response.status_code}"
                html = response.get_data(as_text=True) if _outcome(response) == "ok" and response.mimetype == "text/html" else ""
            key = (role, "GET", _shape(url))
            if key not in _done:
                _done.add(key)
                in_forms = {field["name"] for form in _Forms().parse(html) if form["method"] == "get" for field in form["fields"]}
                _fuzz_filters(client, url, _filters_from_links(html, urlsplit(url).path) - in_forms)
        except Exception as error:  # the test app lets exceptions through: gather them all
            failures.append(_failure(f"GET {url}", error))
            continue
        for form in _Forms().parse(html):
            if form["multipart"] or not form["action"] or form["action"].startswith(SKIPPED_ACTIONS):
                continue
            shape = (form["method"], _shape(form["action"]), tuple(sorted(f["name"] for f in form["fields"])))
            if (role, *shape) in _done:
                continue
            # Every field is probed as the first role that reaches the form; the others get a few
            # mixed examples (what differs between roles is scope, not parsing).
            try:
                _fuzz_form(client, form, url, probing=shape not in _done)
            except Exception as error:
                failures.append(_failure(f"{form['method'].upper()} {form['action']} (form on {url})", error))
            _done.update({(role, *shape), shape})
    assert not failures, "\n\n".join(failures)


def _signed_in(app, make_user, samples, role):
    client = app.test_client()
    if role != ANON:
        binding = {Role.PREFECTURE_STAFF: {"prefecture": 31}, Role.ASSOCIATION_STAFF: {"association": samples["association"]}}
        _, email = make_user(role, **binding.get(role, {}))
        client.login(email)
    return client


def _enum_columns():
    from crm.db import StoredEnum
    from crm.extensions import db

    return [(table, column) for table in db.metadata.sorted_tables for column in table.columns
            if isinstance(column.type, StoredEnum)]


# A user's role is kept to the known ones by a CHECK constraint; an import job's state decides what
# may be done: it is read in test_an_odd_job_state_reads. The prefectures' regions are reference data the code writes
# (sync_prefectures), kept for the tests that follow.
SET_APART = {("users", "role"), ("import_jobs", "state"), ("prefectures", "region")}


@pytest.mark.parametrize("odd", ["   ", "", "retired", "<b>x</b>"])
def test_an_odd_stored_code_never_breaks_a_read(app, make_user, samples, odd, caplog):
    """Every enumeration column holds a code no member has (as a hand-written SQL UPDATE leaves it):
    every page and export that shows it still answers, showing the code as it is."""
    from sqlalchemy import update

    from crm.extensions import db

    clients = {role: _signed_in(app, make_user, samples, role) for role in ROLES}
    with app.app_context():
        for table, column in _enum_columns():
            if (table.name, column.name) not in SET_APART:
                db.session.execute(update(table).values({column.name: odd}))
        db.session.commit()
    failures = []
    for path in PAGES:
        url = path.format(**samples)
        for role in _roles_reaching(path):
            try:
                with clients[role].get(url) as response:
                    if response.status_code >= 500:
                        failures.append(f"{role} GET {url}: {response.status_code}")
            except Exception as error:  # the test app lets exceptions through: list them all
                failures.append(f"{role} GET {url}: {error!r}")
    assert not failures
    if odd.strip():
        assert any(odd in record.getMessage() for record in caplog.records), "an unknown code is logged"


def test_an_odd_job_state_reads(app, make_user, samples):
    """An import job whose state no version knows still shows in the wizard. (A role is kept to the
    known ones by the users table's own CHECK constraint.)"""
    from sqlalchemy import update

    from crm.extensions import db
    from crm.imports.models import ImportJob

    staff = _signed_in(app, make_user, samples, Role.PREFECTURE_STAFF)
    with app.app_context():
        db.session.execute(update(ImportJob).values(state="retired_state"))
        db.session.commit()
    for url in ("/imports", f"/imports/{samples['job']}"):
        with staff.get(url) as response:
            assert response.status_code < 500, url
