"""Import wizard, background jobs, CLI and exports of alumni and the contact log."""
from __future__ import annotations

import csv
import datetime
import io
import re
import threading
import zipfile
from collections import Counter

import openpyxl
import pytest
from sqlalchemy import func, select

from crm import clock
from crm.alumni import operations as alumni_operations
from crm.alumni.models import Alumnus, ContactEntry, Placement
from crm.audit import AuditEntry
from crm.auth.models import Role
from crm.extensions import db
from crm.imports import operations, storage, writing
from crm.imports.models import ImportJob, ImportUndo, ImportUpload, JobState
from tests.conftest import HYOGO, TOTTORI, fragment

JAPANESE_HEADERS = ["氏名", "フリガナ", "メールアドレス", "国籍", "任用団体", "職種", "任用期間"]


def csv_bytes(rows, headers=JAPANESE_HEADERS, encoding="cp932") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(headers)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


GOOD_ROWS = [
    ["Smith, John", "ジョン・スミス", "john@example.com", "US", "鳥取市教育委員会", "ALT", "2015〜2018"],
    ["髙橋, Emma", "エマ・タカハシ", "emma@example.com", "GB", "㈱﨑山 ①", "CIR", "2019-2021"],
    ["Brown, Ｋａｔｅ", "ｹｲﾄ・ﾌﾞﾗｳﾝ", "kate@example.com", "AU", "米子市～境港市", "ALT", "2012-2014"],
]


def upload(client, data: bytes, name: str = "alumni.csv", **extra):
    return client.post("/imports", data={"csrf_token": client.csrf_token(), "target": "alumni",
                                         "file": (io.BytesIO(data), name), **extra}, content_type="multipart/form-data")


def latest_job(app) -> ImportJob:
    with app.app_context():
        return db.session.scalar(select(ImportJob).order_by(ImportJob.id.desc()))


def map_and_check(client, app, job_id: int, mapping: dict | None = None, **defaults):
    job = latest_job(app)
    data = {f"column-{index}": (mapping or {}).get(header, (job.mapping or {}).get(header, ""))
            for index, header in enumerate(job.headers)}
    data.update({f"default_{key}": value for key, value in defaults.items()})
    return client.submit(f"/imports/{job_id}/mapping", data, htmx=True)


def commit(client, job_id: int):
    return client.submit(f"/imports/{job_id}/commit", {}, htmx=True)


def import_file(client, app, data: bytes, name: str = "alumni.csv", **defaults) -> ImportJob:
    assert upload(client, data, name).status_code == 303
    job = latest_job(app)
    map_and_check(client, app, job.id, **defaults)
    job = latest_job(app)
    if operations.can_commit(job):
        commit(client, job.id)
    return latest_job(app)


def alumni(app, prefecture=None):
    with app.app_context():
        statement = select(Alumnus).order_by(Alumnus.id)
        if prefecture:
            statement = statement.where(Alumnus.placements.any(Placement.prefecture_id == prefecture))
        return [(a.family_name, a.given_name, a.name_katakana, a.email) for a in db.session.scalars(statement)]


def alumni_ids(app) -> list[int]:
    with app.app_context():
        return list(db.session.scalars(select(Alumnus.id)))


def test_cp932_file_with_japanese_headers_is_detected_mapped_previewed_and_imported(app, signed_in):
    client = signed_in()
    response = upload(client, csv_bytes(GOOD_ROWS))
    assert response.status_code == 303
    job = latest_job(app)
    assert (job.format, job.encoding, job.delimiter) == ("csv", "cp932", ",")
    assert job.mapping == {"氏名": "full_name", "フリガナ": "name_katakana", "メールアドレス": "email", "国籍": "citizenship",
                           "任用団体": "organisation", "職種": "position", "任用期間": "period"}
    page = client.get(f"/imports/{job.id}")
    assert "cp932" in page.text and "任用期間" in page.text
    map_and_check(client, app, job.id)
    job = latest_job(app)
    assert job.state == JobState.VALIDATED and job.errors == [] and job.row_count == 3
    assert [item["action"] for item in job.preview] == ["create", "create", "create"]
    # The preview shows how each 氏名 was split before anything is stored.
    assert [item["name"] for item in job.preview] == ["Smith, John", "髙橋, Emma", "Brown, Ｋａｔｅ"]
    assert "髙橋, Emma" in client.get(f"/imports/{job.id}").text
    commit(client, job.id)
    job = latest_job(app)
    assert job.state == JobState.DONE and job.created_count == 3
    assert alumni(app) == [("Smith", "John", "ジョン・スミス", "john@example.com"),
                           ("髙橋", "Emma", "エマ・タカハシ", "emma@example.com"),
                           ("Brown", "Ｋａｔｅ", "ケイト・ブラウン", "kate@example.com")]
    with app.app_context():
        placements = db.session.scalars(select(Placement).order_by(Placement.id)).all()
        assert {(p.prefecture_id, p.position.value, p.start_year, p.end_year) for p in placements} == {
            (TOTTORI, "alt", 2015, 2018), (TOTTORI, "cir", 2019, 2021), (TOTTORI, "alt", 2012, 2014)}
        assert "㈱﨑山 ①" in {p.organisation for p in placements}
        creates = db.session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "create",
                                                                                      AuditEntry.record_type == "alumni"))
        assert creates == 3
        assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "import")) == 1


def test_one_bad_row_in_the_middle_commits_nothing_and_every_bad_row_is_reported(app, signed_in):
    client = signed_in()
    rows = [GOOD_ROWS[0], ["Lee, Ann", "", "not-an-email", "US", "", "ALT", "2016-2017"], GOOD_ROWS[1],
            ["Kim, Bo", "", "bo@example.com", "KR", "", "XYZ", "2018-2016"], GOOD_ROWS[2]]
    job = import_file(client, app, csv_bytes(rows))
    assert job.state == JobState.VALIDATED and not operations.can_commit(job)
    assert sorted({error["row"] for error in job.errors}) == [3, 5]
    page = client.get(f"/imports/{job.id}").text
    assert "Invalid email address" in page or "無効" in page
    assert client.submit(f"/imports/{job.id}/commit", {}, htmx=True).status_code == 409
    assert alumni(app) == []


def test_a_file_changed_after_the_check_is_checked_again_at_commit_and_nothing_is_written(app, signed_in):
    client = signed_in()
    assert upload(client, csv_bytes(GOOD_ROWS)).status_code == 303
    job = latest_job(app)
    map_and_check(client, app, job.id)
    job = latest_job(app)
    assert operations.can_commit(job) and job.options["checked"]["fingerprint"]
    # The stored upload changes under the job (same size is not enough to be trusted): a bad email.
    with app.app_context():
        stored = db.session.get(ImportUpload, (job.stored_name, 0))
        stored.data = stored.data.replace(b"kate@example.com", b"kate-example.com")
        db.session.commit()
    commit(client, job.id)
    job = latest_job(app)
    assert job.state == JobState.VALIDATED and [error["row"] for error in job.errors] == [4]
    assert alumni(app) == []


def test_a_mapping_changed_after_the_check_gives_a_different_fingerprint(app, signed_in):
    client = signed_in()
    assert upload(client, csv_bytes(GOOD_ROWS)).status_code == 303
    job = latest_job(app)
    map_and_check(client, app, job.id)
    with app.app_context():
        job = db.session.get(ImportJob, job.id)
        before = storage.fingerprint(job)
        assert storage.checked_values(job, before) is not None
        job.mapping = {**job.mapping, "国籍": "residence_country", "居住国": ""}
        assert storage.fingerprint(job) != before
        assert storage.checked_values(job, storage.fingerprint(job)) is None


def test_reimporting_the_same_file_creates_no_duplicates_and_a_changed_row_is_audited(app, signed_in):
    client = signed_in()
    import_file(client, app, csv_bytes(GOOD_ROWS))
    again = import_file(client, app, csv_bytes(GOOD_ROWS))
    assert (again.created_count, again.updated_count, again.unchanged_count) == (0, 0, 3)
    changed = [list(row) for row in GOOD_ROWS]
    changed[0][4] = "倉吉市"
    changed[1][0] = "髙橋, Emily"  # matched by email: the given name changes
    third = import_file(client, app, csv_bytes(changed))
    assert (third.created_count, third.updated_count) == (0, 2)
    assert len(alumni(app)) == 3
    with app.app_context():
        updates = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "update")).all()
        changes = [entry.changes for entry in updates]
        assert {"given_name": {"old": "Emma", "new": "Emily"}} in [{k: v for k, v in c.items() if k == "given_name"} for c in changes]
        assert any(c.get("organisation") == {"old": "鳥取市教育委員会", "new": "倉吉市"} for c in changes)


def test_zip_renamed_csv_and_empty_file_are_refused_with_a_clear_message(app, signed_in):
    client = signed_in()
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("word/document.xml", "<w/>")
    response = upload(client, archive.getvalue(), "alumni.csv")
    assert response.status_code == 422 and "not a spreadsheet" in response.text
    response = upload(client, b"", "alumni.csv")
    assert response.status_code == 422 and "The file is empty." in response.text
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ImportJob)) == 0


def test_oversized_upload_is_refused_with_413(app, signed_in):
    client = signed_in()
    limit = app.config["MAX_CONTENT_LENGTH"]
    response = client.post("/imports", data=b"x" * (limit + 1), content_type="multipart/form-data; boundary=x")
    assert response.status_code == 413 and "File too large" in response.text and "files of up to 20 MB" in response.text
    app.config["IMPORT_MAX_BYTES"] = 256 * 1024
    try:
        response = upload(client, csv_bytes(GOOD_ROWS * 1200))  # over the limit, under the test client's spool size
        assert response.status_code == 413 and "files of up to 0.25 MB" in response.text
    finally:
        app.config["IMPORT_MAX_BYTES"] = limit
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ImportJob)) == 0


def test_duplicate_and_missing_required_headers_are_reported(app, signed_in):
    client = signed_in()
    response = upload(client, "氏名,氏名\r\nA,B\r\n".encode("utf-8"))
    job = latest_job(app)
    assert "appears more than once" in client.get(response.headers["Location"]).text
    response = upload(client, csv_bytes([["Smith, J", "x@example.com"]], headers=["氏名", "メールアドレス"]))
    job = latest_job(app)
    answer = map_and_check(client, app, job.id)
    assert answer.status_code == 422 and "Choose a column for" in answer.text
    # A default position and start year fill what the file does not say.
    answer = map_and_check(client, app, job.id, position="alt", start_year="2020")
    assert latest_job(app).errors == [] and latest_job(app).row_count == 1


def test_too_many_rows_are_refused(app, signed_in):
    client = signed_in()
    app.config["IMPORT_MAX_ROWS"] = 2
    try:
        job = import_file(client, app, csv_bytes(GOOD_ROWS))
    finally:
        app.config["IMPORT_MAX_ROWS"] = 100_000
    assert job.problem["code"] == "too_many_rows" and not operations.can_commit(job)
    assert "more than 2 rows" in client.get(f"/imports/{job.id}").text


def test_hyogo_alumnus_in_a_tottori_file_is_neither_exposed_nor_changed(app, signed_in, make_alumnus):
    hyogo_id = make_alumnus(HYOGO, family="Secret", given="Hyogo", email="shared@example.com", employer="Kobe Steel Secret")
    client = signed_in()
    rows = [["Smith, John", "", "shared@example.com", "US", "鳥取市", "ALT", "2015-2016"]]
    job = import_file(client, app, csv_bytes(rows))
    assert job.state == JobState.DONE and job.created_count == 1 and job.updated_count == 0
    page = client.get(f"/imports/{job.id}").text
    assert "Secret" not in page and "Kobe" not in page
    assert job.preview[0]["action"] == "create"
    with app.app_context():
        hyogo = db.session.get(Alumnus, hyogo_id)
        assert (hyogo.family_name, hyogo.version, [p.prefecture_id for p in hyogo.placements]) == ("Secret", 1, [HYOGO])
        tottori = db.session.scalar(select(Alumnus).where(Alumnus.id != hyogo_id))
        assert [p.prefecture_id for p in tottori.placements] == [TOTTORI]
    # Importing it again updates the Tottori record, still without touching Hyogo's.
    again = import_file(client, app, csv_bytes(rows))
    assert (again.created_count, again.unchanged_count) == (0, 1)


def distinct_names(count: int) -> list[str]:
    """Family names whose phonetic keys all differ (the name + start year match must not join them)."""
    from crm.alumni.names import latin_name_key

    consonants, found, keys = "bdfgklmnprstvz", [], set()
    for a in consonants:
        for b in consonants:
            for c in consonants:
                for vowel in "aeiou":
                    name = f"{a}{vowel}{b}o{c}er".capitalize()
                    key = latin_name_key(name, "Test")
                    if key not in keys:
                        keys.add(key)
                        found.append(name)
                        if len(found) == count:
                            return found
    raise AssertionError("not enough distinct names")


def undone_in_audit(app) -> int:
    """How many alumni undone import commits created; fails unless the audit trail records each
    such creation with its deletion by the undo, and nothing else about alumni was left over. (SQLite
    gives a new record the id after the highest: an id the undo freed is taken again.)"""
    with app.app_context():
        entries = db.session.execute(select(AuditEntry.action, AuditEntry.record_id, AuditEntry.details)
                                     .where(AuditEntry.record_type == "alumni")).all()
    balance = Counter(str(alumnus_id) for alumnus_id in alumni_ids(app))
    balance.subtract(record_id for action, record_id, _ in entries if action == "create")
    undone = [record_id for action, record_id, details in entries if action == "delete" and "import_job" in (details or {})]
    balance.update(undone)
    assert +balance == -balance == Counter()  # every living record created once, every other one undone
    assert all(action == "create" for action, _, details in entries if "import_job" not in (details or {}))
    return len(undone)


def test_a_failure_in_the_middle_of_the_commit_leaves_nothing_and_a_retry_succeeds(app, signed_in, monkeypatch):
    client = signed_in()
    rows = [[f"{name}, Test", "", f"p{i}-{year}@example.com", "US", "", "ALT", f"{year}-2020"]
            for i, name in enumerate(distinct_names(1250)) for year in (2015, 2016)]
    assert upload(client, csv_bytes(rows)).status_code == 303
    job = latest_job(app)
    map_and_check(client, app, job.id)
    original = operations.apply_job
    monkeypatch.setattr(operations, "apply_job", lambda job, fail_after_rows=None: original(job, fail_after_rows=2000))
    commit(client, job.id)
    job = latest_job(app)
    assert job.state == JobState.FAILED, (job.errors or [])[:3]
    assert alumni(app) == []
    # The batches written before the failure were undone: each record they created is in the audit
    # trail twice, created and then deleted by the undo (the trail is append-only).
    assert undone_in_audit(app) == 2000
    monkeypatch.setattr(operations, "apply_job", original)
    client.submit(f"/imports/{job.id}/restart", {}, htmx=True)
    commit(client, job.id)
    job = latest_job(app)
    assert job.state == JobState.DONE and job.created_count == 2500 and len(alumni(app)) == 2500


def test_an_undone_commit_puts_back_what_it_replaced_and_keeps_what_others_changed_meanwhile(app, signed_in, make_alumnus, monkeypatch):
    """Batches are written one transaction each, so other users can change an import's records while
    it runs: the undo of a failed commit never throws their work away."""
    client = signed_in()
    replaced = make_alumnus(TOTTORI, family="Okafor", given="Ada", email="ada@example.com", citizenship="GB")
    edited = make_alumnus(TOTTORI, family="Novak", given="Petr", email="petr@example.com", citizenship="GB")
    rows = [["Okafor, Ada", "", "ada@example.com", "US", "", "ALT", "2015-2018"],
            ["Novak, Petr", "", "petr@example.com", "US", "", "ALT", "2015-2018"]]
    rows += [[f"{name}, Test", "", f"new-{i}@example.com", "US", "", "ALT", "2016-2018"] for i, name in enumerate(distinct_names(28))]
    monkeypatch.setitem(app.config, "IMPORT_BATCH_ROWS", 10)  # the check keeps its rows in batches of this size
    assert upload(client, csv_bytes(rows)).status_code == 303
    job = latest_job(app)
    map_and_check(client, app, job.id)
    after_batches = []

    def others_edit_after_the_first_batch():
        after_batches.append(True)
        if len(after_batches) == 1:  # the worker's own thread, between two transactions
            by_email = {alumnus.email: alumnus for alumnus in db.session.scalars(select(Alumnus))}
            alumni_operations.set_fields(by_email["petr@example.com"], {"citizenship": "CA"})
            alumni_operations.set_fields(by_email["new-3@example.com"], {"city": "Leeds"})
            db.session.add(ContactEntry(alumnus_id=by_email["new-4@example.com"].id, prefecture_id=TOTTORI,
                                        contacted_on=datetime.date(2025, 6, 1), channel="email", direction="outgoing", summary="Welcome"))
            db.session.commit()

    monkeypatch.setattr(writing, "_pause_between_batches", others_edit_after_the_first_batch)
    original = operations.apply_job
    monkeypatch.setattr(operations, "apply_job", lambda job, fail_after_rows=None: original(job, fail_after_rows=20))
    commit(client, job.id)
    assert latest_job(app).state == JobState.FAILED and len(after_batches) == 2
    with app.app_context():
        ada, petr = db.session.get(Alumnus, replaced), db.session.get(Alumnus, edited)
        assert ada.citizenship == "GB" and [(p.start_year, p.end_year) for p in ada.placements] == [(2015, 2017)]
        assert petr.citizenship == "CA"  # changed by someone after the import: their value stays
        kept = db.session.scalars(select(Alumnus.email).where(Alumnus.email.like("new-%")).order_by(Alumnus.email)).all()
        assert kept == ["new-3@example.com", "new-4@example.com"]  # edited, and pointed at by a contact
        assert db.session.scalar(select(func.count()).select_from(ImportUndo)) == 0


def test_a_phase_that_cannot_start_marks_the_job_failed_and_is_logged(app, signed_in, monkeypatch, caplog):
    client = signed_in()
    assert upload(client, csv_bytes(GOOD_ROWS)).status_code == 303
    job = latest_job(app)

    def no_importer(*args, **kwargs):
        raise RuntimeError("no importer")

    monkeypatch.setattr(operations, "acting_for", no_importer)
    map_and_check(client, app, job.id)
    job = latest_job(app)
    assert job.state == JobState.FAILED and job.problem == {"code": "internal", "params": {}}
    assert "could not start" in caplog.text
    assert alumni(app) == []


def test_a_stale_running_job_can_be_started_again(app, signed_in):
    client = signed_in()
    assert upload(client, csv_bytes(GOOD_ROWS)).status_code == 303
    job = latest_job(app)
    map_and_check(client, app, job.id)
    with app.app_context():
        operations.begin(job.id, JobState.VALIDATED, JobState.APPLYING)  # a worker that then died
    app.config["IMPORT_STALE_SECONDS"] = 0
    try:
        page = client.get(f"/imports/{job.id}").text
        assert "stopped responding" in page
        client.submit(f"/imports/{job.id}/restart", {}, htmx=True)
    finally:
        app.config["IMPORT_STALE_SECONDS"] = 60
    assert latest_job(app).state == JobState.DONE and len(alumni(app)) == 3


def test_job_page_is_a_fragment_for_htmx_and_a_page_otherwise(app, signed_in):
    client = signed_in()
    upload(client, csv_bytes(GOOD_ROWS))
    job = latest_job(app)
    assert fragment(client.htmx_get(f"/imports/{job.id}").text)
    assert not fragment(client.get(f"/imports/{job.id}").text)


def test_settings_override_encoding_and_delimiter(app, signed_in):
    client = signed_in()
    upload(client, csv_bytes(GOOD_ROWS))
    job = latest_job(app)
    response = client.submit(f"/imports/{job.id}/settings", {"encoding": "utf-8", "delimiter": ";", "format": ""}, htmx=True)
    assert fragment(response.text)
    job = latest_job(app)
    assert job.problem["code"] == "decoding"
    response = client.submit(f"/imports/{job.id}/settings", {"encoding": "utf-16", "delimiter": "", "format": ""}, htmx=True)
    assert response.status_code != 500 and "not valid utf-16 text" in response.text
    client.submit(f"/imports/{job.id}/settings", {"encoding": "cp932", "delimiter": ",", "format": "csv"}, htmx=True)
    job = latest_job(app)
    assert job.problem is None and job.encoding == "cp932" and len(job.headers) == 7


def test_hyogo_staff_cannot_open_a_tottori_import(app, signed_in, client, make_user):
    signed_in()
    upload(client, csv_bytes(GOOD_ROWS))
    job = latest_job(app)
    other = app.test_client()
    _, email = make_user(Role.PREFECTURE_STAFF, prefecture=HYOGO)
    other.login(email)
    assert other.get(f"/imports/{job.id}").status_code == 404
    assert other.submit(f"/imports/{job.id}/commit", {}).status_code == 404


# --- Exports and round trips ---------------------------------------------------------------------

NAMES = [("髙橋", "Emma", "タカハシ・エマ"), ("﨑山", "José", "サキヤマ・ホセ"), ("Smith", "Zoë", None)]


def _seed_for_export(make_alumnus):
    ids = [make_alumnus(TOTTORI, family=family, given=given, kana=kana, email=f"{index}@example.com",
                        employer="=HYPERLINK(\"http://evil\")" if index == 0 else "Kobe ㈱①", start_year=2010 + index)
           for index, (family, given, kana) in enumerate(NAMES)]
    return ids


@pytest.mark.parametrize("fmt", ["csv", "csv-cp932", "xlsx", "vcard"])
def test_export_then_import_gives_the_same_records(app, signed_in, make_alumnus, fmt):
    _seed_for_export(make_alumnus)
    client = signed_in()
    response = client.get(f"/imports/export/alumni?format={fmt}&confirmed=1")
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    assert response.headers["Content-Type"] == {
        "csv": "text/csv; charset=utf-8", "csv-cp932": "text/csv; charset=shift_jis", "vcard": "text/vcard; charset=utf-8",
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}[fmt]  # one charset, the file's
    data = response.data
    before = alumni(app)
    with app.app_context():
        db.session.execute(Placement.__table__.delete())
        db.session.execute(Alumnus.__table__.delete())
        db.session.commit()
    name = {"csv": "a.csv", "csv-cp932": "a.csv", "xlsx": "a.xlsx", "vcard": "a.vcf"}[fmt]
    job = import_file(client, app, data, name)
    assert job.state == JobState.DONE, job.errors or job.problem
    after = sorted(alumni(app), key=lambda record: record[3])
    expected = before if fmt != "csv-cp932" else [(f, g.replace("ë", "?").replace("é", "?"), k, e) for f, g, k, e in before]
    assert after == sorted(expected, key=lambda record: record[3])
    with app.app_context():
        employers = {a.employer for a in db.session.scalars(select(Alumnus))}
        assert "=HYPERLINK(\"http://evil\")" in employers


def test_exports_neutralise_formulas(app, signed_in, make_alumnus):
    _seed_for_export(make_alumnus)
    client = signed_in()
    text = client.get("/imports/export/alumni?format=csv").data.decode("utf-8-sig")
    assert "'=HYPERLINK" in text and ",=HYPERLINK" not in text
    workbook = openpyxl.load_workbook(io.BytesIO(client.get("/imports/export/alumni?format=xlsx").data))
    values = [cell.value for row in workbook.active.iter_rows() for cell in row]
    assert "'=HYPERLINK(\"http://evil\")" in values and 2010 in values  # typed year cell


def test_cp932_export_lists_what_it_cannot_hold_before_writing(app, signed_in, make_alumnus):
    _seed_for_export(make_alumnus)
    client = signed_in()
    response = client.get("/imports/export/alumni?format=csv-cp932")
    assert response.status_code == 200 and "cp932-changes" in response.text
    assert "Zoë" in response.text and "Zo?" in response.text and "attachment" not in response.headers.get("Content-Disposition", "")
    data = client.get("/imports/export/alumni?format=csv-cp932&confirmed=1").data
    assert "髙橋".encode("cp932") not in data and b"\xfb\xfc" in data  # Windows' bytes for 髙


def test_the_cli_cp932_export_lists_what_it_cannot_hold(app, make_alumnus, tmp_path):
    _seed_for_export(make_alumnus)
    result = app.test_cli_runner().invoke(args=["export", "alumni", "--prefecture", "31", "--format", "csv-cp932",
                                                "-o", str(tmp_path / "alumni.csv")])
    assert result.exit_code == 0 and "CP932 cannot hold 'Zoë': written as 'Zo?'" in result.output
    assert b"Zo?" in (tmp_path / "alumni.csv").read_bytes()


def test_export_is_scoped_leaves_out_cease_use_people_and_is_audited(app, signed_in, make_alumnus, make_contact):
    mine = make_alumnus(TOTTORI, family="Mine", email="mine@example.com")
    make_alumnus(HYOGO, family="Theirs", email="theirs@example.com")
    make_alumnus(TOTTORI, family="Ceased", email="ceased@example.com", cease_use=True)
    shared = make_alumnus(TOTTORI, HYOGO, family="Shared", start_year=2001)
    make_contact(mine, TOTTORI, summary="Tottori talked to Mine")
    make_contact(shared, HYOGO, summary="Hyogo secret note")
    client = signed_in()
    text = client.get("/imports/export/alumni?format=csv&q=").data.decode("utf-8-sig")
    assert "Mine" in text and "Shared" in text and "Theirs" not in text and "Ceased" not in text
    assert "兵庫県" not in text  # only Tottori's own placements
    contacts = client.get("/imports/export/contacts?format=csv").data.decode("utf-8-sig")
    assert "Tottori talked to Mine" in contacts and "Hyogo secret note" not in contacts
    filtered = client.get("/imports/export/alumni?format=csv&q=Mine").data.decode("utf-8-sig")
    assert "Shared" not in filtered
    with app.app_context():
        entries = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "export").order_by(AuditEntry.id)).all()
        assert [(e.record_type, e.details["rows"]) for e in entries] == [("alumni", 2), ("contacts", 1), ("alumni", 1)]
        assert entries[-1].details["filter"] == {"q": "Mine"} and entries[-1].actor.startswith("prefecture_staff")


def test_export_page_offers_formats_and_keeps_the_filter(app, signed_in):
    client = signed_in()
    page = client.get("/imports/export/alumni?q=Smith").text
    assert "format=xlsx" in page and "q=Smith" in page
    assert client.get("/imports/export/nothing").status_code == 404


# --- CLI -------------------------------------------------------------------------------------------

def test_a_cli_dry_run_job_in_the_wizard_says_its_file_is_gone(app, tmp_path, signed_in):
    """The dry run discards its file but the job stays listed: its pages and actions say the file is
    no longer kept (they answered 500 with FileNotFoundError)."""
    path = tmp_path / "alumni.csv"
    path.write_bytes(csv_bytes(GOOD_ROWS))
    assert app.test_cli_runner().invoke(args=["import", "alumni", str(path), "--prefecture", "31", "--dry-run"]).exit_code == 0
    job = latest_job(app)
    client = signed_in()
    assert client.get("/imports").status_code == 200
    page = client.get(f"/imports/{job.id}")
    assert page.status_code == 200 and f"/imports/{job.id}/commit" not in page.get_data(as_text=True)
    response = client.submit(f"/imports/{job.id}/settings", {"format": "csv", "encoding": "cp932", "delimiter": ",", "sheet": ""})
    assert response.status_code < 500 and "no longer kept" in response.get_data(as_text=True)
    for action in ("commit", "restart"):
        assert client.submit(f"/imports/{job.id}/{action}").status_code < 500
    assert alumni(app) == []


def test_cli_import_dry_run_then_import_then_export(app, tmp_path):
    path = tmp_path / "alumni.csv"
    path.write_bytes(csv_bytes(GOOD_ROWS))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["import", "alumni", str(path), "--prefecture", "31", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert alumni(app) == []
    result = runner.invoke(args=["import", "alumni", str(path), "--prefecture", "31"])
    assert result.exit_code == 0 and "3 created" in result.output
    assert len(alumni(app, TOTTORI)) == 3
    bad = tmp_path / "bad.csv"
    bad.write_bytes(csv_bytes([*GOOD_ROWS, ["X, Y", "", "broken", "US", "", "ALT", "2015"]]))
    result = runner.invoke(args=["import", "alumni", str(bad), "--prefecture", "31"])
    assert result.exit_code == 1 and "row 5" in result.output
    out = tmp_path / "out.xlsx"
    result = runner.invoke(args=["export", "alumni", "--prefecture", "31", "--format", "xlsx", "-o", str(out)])
    assert result.exit_code == 0 and "3 rows" in result.output
    assert openpyxl.load_workbook(out).active.max_row == 4
    assert runner.invoke(args=["export", "alumni", "--prefecture", "28", "--format", "csv", "-o", str(out)]).output.startswith("0 rows")


def test_cli_checks_while_it_commits_and_a_bad_row_after_written_batches_rolls_everything_back(app, tmp_path):
    """The CLI checks and commits in one pass, its rows checked by a thread batches ahead of the
    commit: bad rows found after whole batches were written in the transaction still leave nothing,
    every bad row is reported, and a file problem raised in that thread (too many rows) too."""
    names = distinct_names(500)
    rows = [[f"{names[i % 500]}, Test", "", f"cli-{i}@example.com", "US", "", "ALT", "2015-2017"] for i in range(2500)]
    rows[1800][2] = "not an email"
    rows[2400][6] = "2019-2010"
    path = tmp_path / "late-errors.csv"
    path.write_bytes(csv_bytes(rows))
    runner = app.test_cli_runner()
    checked = runner.invoke(args=["import", "alumni", str(path), "--prefecture", "31", "--dry-run"])
    result = runner.invoke(args=["import", "alumni", str(path), "--prefecture", "31"])
    assert result.exit_code == 1
    assert "row 1802: メールアドレス:" in result.output and "row 2402: 任用終了年:" in result.output
    # The same report, in the same words, as a dry run (which only checks, in the calling thread).
    assert result.output == checked.output
    assert "2500 rows checked, 2 rejected" in result.output
    assert alumni(app) == []
    app.config["IMPORT_MAX_ROWS"] = 2000
    try:
        result = runner.invoke(args=["import", "alumni", str(path), "--prefecture", "31"])
    finally:
        app.config["IMPORT_MAX_ROWS"] = 100_000
    assert result.exit_code == 1 and "2000" in result.output
    assert alumni(app) == []
    undone_in_audit(app)  # PostgreSQL: the batches written before the check found a bad row were undone


def test_a_failure_in_the_cli_commit_stops_its_checking_thread_and_leaves_nothing(app, tmp_path, monkeypatch):
    path = tmp_path / "alumni.csv"
    path.write_bytes(csv_bytes([[f"{name}, Test", "", f"stop-{i}@example.com", "US", "", "ALT", "2015-2017"]
                                for i, name in enumerate(distinct_names(1000) * 3)]))
    original = operations.apply_job
    monkeypatch.setattr(operations, "apply_job", lambda job, fail_after_rows=None: original(job, fail_after_rows=1000))
    result = app.test_cli_runner().invoke(args=["import", "alumni", str(path), "--prefecture", "31"])
    assert isinstance(result.exception, RuntimeError) and "injected failure" in str(result.exception)
    assert not [thread for thread in threading.enumerate() if thread.name.endswith("-check")]
    assert alumni(app) == []
    assert latest_job(app).state == JobState.FAILED


def test_different_emails_are_different_people_even_with_the_same_name_key(app, signed_in, make_alumnus):
    make_alumnus(TOTTORI, family="髙橋", given="Emma", email="first@example.com", start_year=2015)
    client = signed_in()
    rows = [["髙橋, Emma", "", "second@example.com", "US", "", "ALT", "2015-2017"],
            ["髙橋, Emma", "", "third@example.com", "US", "", "ALT", "2015-2017"]]
    job = import_file(client, app, csv_bytes(rows))
    assert (job.state, job.created_count, job.updated_count) == (JobState.DONE, 2, 0)
    # Without an email, name + start year finds the existing record.
    job = import_file(client, app, csv_bytes([["Smith, John", "", "", "US", "倉吉市", "ALT", "2015-2017"]]))
    assert job.created_count == 1
    job = import_file(client, app, csv_bytes([["Smith, John", "", "", "US", "米子市", "ALT", "2015-2017"]]))
    assert (job.created_count, job.updated_count) == (0, 1)
    assert len(alumni(app)) == 4


def test_row_errors_are_written_in_the_language_of_the_person_who_checks_the_file(app, signed_in):
    client = signed_in()
    rows = [GOOD_ROWS[0], ["Lee, Ann", "", "not-an-email", "US", "", "ALT", "2016-2017"]]
    job = import_file(client, app, csv_bytes(rows))
    assert [(error["row"], error["column"], error["message"]) for error in job.errors] == [(3, "メールアドレス", "Invalid email address.")]
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "ja"
    map_and_check(client, app, job.id)
    assert [error["message"] for error in latest_job(app).errors] == ["無効なメールアドレスです。"]


def test_citizenship_in_the_japanese_forms_offices_write_is_recognised(app, signed_in):
    client = signed_in()
    rows = [["Smith, Ann", "", f"{code}@example.com", country, "", "ALT", "2016-2017"]
            for code, country in (("au", "オーストラリア"), ("au-long", "オーストラリア連邦"), ("us", "アメリカ合衆国"), ("nz", "ニュージーランド"))]
    job = import_file(client, app, csv_bytes(rows))
    assert job.state == JobState.DONE, job.errors
    with app.app_context():
        assert sorted(db.session.scalars(select(Alumnus.citizenship))) == ["AU", "AU", "NZ", "US"]


def test_recent_imports_show_the_upload_time_in_japan_and_a_finished_job_as_done(app, signed_in):
    client = signed_in()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "ja"
    job = import_file(client, app, csv_bytes(GOOD_ROWS))
    row = re.search(r"<tr><td><a href=\"/imports/%d\">.*?</tr>" % job.id, client.get("/imports").text, re.S).group()
    # Japanese short times have no leading zero on the hour (CLDR "H:mm"): 0:46, not 00:46.
    uploaded = job.created_at.astimezone(clock.TOKYO)
    assert f"{uploaded:%Y/%m/%d} {uploaded.hour}:{uploaded:%M}" in row
    assert "<td>完了</td>" in row


@pytest.mark.parametrize("cell, family, given", [
    ("Smith, John", "Smith", "John"), ("SMITH, John", "SMITH", "John"), ("John Smith", "Smith", "John"),
    ("Mary Ann Jones", "Jones", "Mary Ann"), ("髙橋 ジョン", "髙橋", "ジョン"), ("山﨑　花子", "山﨑", "花子"),
    ("SMITH John", "SMITH", "John"), ("SMITH JOHN", "JOHN", "SMITH"), ("J Smith", "Smith", "J"), ("Madonna", "Madonna", ""),
])
def test_a_full_name_is_split_in_the_order_it_is_written(cell, family, given):
    from crm.imports.targets import split_full_name

    assert split_full_name(cell) == (family, given)


def test_a_file_with_only_its_header_row_says_there_is_nothing_to_import(app, signed_in):
    client = signed_in()
    job = import_file(client, app, csv_bytes([]))
    assert job.state == JobState.VALIDATED and job.row_count == 0 and not operations.can_commit(job)
    page = client.get(f"/imports/{job.id}").text
    assert "no rows below its header row" in page and "Import 0 rows" not in page


@pytest.mark.parametrize("cell, code", [("豪州", "AU"), ("英国", "GB"), ("米国", "US"), ("加", "CA"), ("独", "DE"), ("仏国", "FR"),
                                        ("中国", "CN"), ("オーストラリア", "AU"), ("Australia", "AU"), ("nz", "NZ")])
def test_countries_are_read_from_the_names_japanese_offices_write(app, cell, code):
    from crm.imports.targets import country_code

    with app.app_context():
        assert country_code(cell) == code


def _reading_japanese(app):
    from crm.auth.models import User

    with app.app_context():
        db.session.execute(db.update(User).values(locale="ja"))
        db.session.commit()


def test_the_export_page_says_which_filter_applies_and_how_many_records(app, signed_in, make_alumnus):
    make_alumnus(TOTTORI, family="Able", residence_country="US", sector="education")
    make_alumnus(TOTTORI, family="Baker", residence_country="GB")
    client = signed_in()
    page = client.get("/imports/export/alumni?country=US").get_data(as_text=True)
    assert "Country of residence" in page and "United States" in page and "1 record." in page
    assert "2 records." in client.get("/imports/export/alumni").get_data(as_text=True)
    _reading_japanese(app)
    page = client.get("/imports/export/alumni?country=US&sector=education").get_data(as_text=True)
    assert "米国" in page and "教育" in page and "全1件" in page


def test_the_japanese_header_file_names_countries_and_sectors_the_english_one_keeps_codes(app, signed_in, make_alumnus):
    make_alumnus(TOTTORI, family="Able", residence_country="US", sector="education")
    client = signed_in()
    english = list(csv.DictReader(io.StringIO(client.get("/imports/export/alumni?format=csv").data.decode("utf-8-sig"))))
    assert english[0]["Country of residence"] == "US" and english[0]["Sector"] == "education"
    _reading_japanese(app)
    japanese = list(csv.DictReader(io.StringIO(client.get("/imports/export/alumni?format=csv").data.decode("utf-8-sig"))))
    assert japanese[0]["居住国"] == "米国" and japanese[0]["分野"] == "教育"
