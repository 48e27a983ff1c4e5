"""Exports of size as jobs of the task queue (crm/imports/export_jobs.py): more records than
EXPORT_INLINE_ROWS and the worker writes the file into the database; its requester alone downloads
it, from the job's page, while in the same scope and until it expires. Small exports still stream.

The queue runs each task at once here (QUEUE_IMMEDIATE); tests/test_queue.py runs one with a real
worker process and two app servers."""
from __future__ import annotations

import datetime

import pytest
from sqlalchemy import func, select, update

from crm.audit import AuditEntry
from crm.auth.models import Role, User
from crm.extensions import db
from crm.imports import export_jobs
from crm.imports.models import ExportJob, ExportState, ImportUpload
from tests.conftest import HYOGO, TOTTORI, fragment


@pytest.fixture
def low_threshold(app, monkeypatch):
    monkeypatch.setitem(app.config, "EXPORT_INLINE_ROWS", 2)


@pytest.fixture
def three_alumni(make_alumnus):
    return sorted(make_alumnus(TOTTORI, family=family, email=f"{family.lower()}@example.com")
                  for family in ("Smith", "Jones", "Brown"))


def the_job(app) -> ExportJob:
    with app.app_context():
        job = db.session.scalar(select(ExportJob))
        db.session.expunge_all()
        return job


def export_entries(app) -> list[AuditEntry]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == "export").order_by(AuditEntry.id)))


def test_a_small_export_still_streams_from_the_web_process(app, signed_in, three_alumni):
    client = signed_in()
    response = client.get("/imports/export/alumni?format=csv")
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    assert "smith@example.com" in response.data.decode("utf-8-sig")
    assert the_job(app) is None


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "vcard"])
def test_a_large_export_is_written_by_the_worker_and_downloaded_by_its_requester(app, signed_in, three_alumni, monkeypatch, fmt):
    client = signed_in()
    inline = client.get(f"/imports/export/alumni?format={fmt}")
    inline_data = inline.data  # read to its end (the streamed export's audit entry is written then)
    monkeypatch.setitem(app.config, "EXPORT_INLINE_ROWS", 2)

    response = client.get(f"/imports/export/alumni?format={fmt}")
    assert response.status_code == 303
    job = the_job(app)
    assert response.headers["Location"] == f"/imports/exports/{job.id}"
    assert job.state == ExportState.DONE and job.record_count == 3 and job.row_count == 3 and job.people == three_alumni
    with app.app_context():  # the file is in the database every server shares, not in an instance folder
        assert db.session.scalar(select(func.count()).select_from(ImportUpload).where(ImportUpload.stored_name == job.stored_name)) == 1
    assert len(export_entries(app)) == 1  # the streamed one: asking for a job is not exporting, nothing left yet

    page = client.get(response.headers["Location"]).data.decode()
    assert not fragment(page) and f'/imports/exports/{job.id}/download' in page and 'hx-trigger="every 1s"' not in page
    download = client.get(f"/imports/exports/{job.id}/download")
    assert download.status_code == 200 and "attachment" in download.headers["Content-Disposition"]
    assert download.headers["Content-Type"] == inline.headers["Content-Type"]
    if fmt == "xlsx":  # a workbook's zip entries carry their time of writing
        assert download.data[:2] == b"PK" and abs(len(download.data) - len(inline_data)) < 64
    else:
        assert download.data == inline_data
    entry = export_entries(app)[-1]
    assert entry.record_type == "alumni" and entry.details["rows"] == 3 and entry.details["people"] == three_alumni
    assert entry.details["export_job"] == job.id and entry.details["format"] == fmt


def test_the_page_polls_while_the_worker_writes(app, signed_in, three_alumni, low_threshold):
    client = signed_in()
    client.get("/imports/export/alumni?format=csv")
    job = the_job(app)
    with app.app_context():
        db.session.execute(update(ExportJob).values(state=ExportState.RUNNING))
        db.session.commit()
        from crm import tasks
        tasks.report(export_jobs._progress_key(job.id), 2)
    panel = client.htmx_get(f"/imports/exports/{job.id}").data.decode()
    assert fragment(panel) and 'hx-trigger="every 1s"' in panel and '<progress max="100" value="66">' in panel
    assert "/download" not in panel
    assert client.get(f"/imports/exports/{job.id}/download").status_code == 404  # nothing to download yet


def test_only_the_requester_downloads_while_in_the_same_scope(app, signed_in, make_user, three_alumni, low_threshold):
    owner = signed_in()
    owner.get("/imports/export/alumni?format=csv")
    job = the_job(app)
    urls = (f"/imports/exports/{job.id}", f"/imports/exports/{job.id}/download")
    for role, binding in ((Role.PREFECTURE_STAFF, {"prefecture": TOTTORI}), (Role.PREFECTURE_STAFF, {"prefecture": HYOGO}),
                          (Role.ADMIN, {})):
        other = app.test_client()
        other.login(make_user(role, **binding)[1])
        assert [other.get(url).status_code for url in urls] == [404, 404]
    with app.app_context():  # the requester moved to Hyogo: Tottori's file is no longer theirs to take
        db.session.execute(update(User).where(User.id == job.created_by_id).values(prefecture_id=HYOGO))
        db.session.commit()
    assert [owner.get(url).status_code for url in urls] == [404, 404]
    assert not any(entry.details.get("export_job") for entry in export_entries(app))


def test_an_expired_export_is_gone(app, signed_in, three_alumni, low_threshold):
    client = signed_in()
    client.get("/imports/export/alumni?format=csv")
    job = the_job(app)
    with app.app_context():
        db.session.execute(update(ExportJob).values(created_at=datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=8)))
        db.session.commit()
    assert client.get(f"/imports/exports/{job.id}/download").status_code == 404  # before the clean-up runs
    with app.app_context():
        assert export_jobs.expire_exports() == 1
        assert db.session.scalar(select(func.count()).select_from(ExportJob)) == 0
        assert db.session.scalar(select(func.count()).select_from(ImportUpload)) == 0


def test_a_recent_export_is_kept_by_the_clean_up(app, signed_in, three_alumni, low_threshold):
    client = signed_in()
    client.get("/imports/export/alumni?format=csv")
    with app.app_context():
        assert export_jobs.expire_exports() == 0
    assert client.get(f"/imports/exports/{the_job(app).id}/download").status_code == 200


def test_a_failing_export_says_so_and_keeps_nothing(app, signed_in, three_alumni, low_threshold, monkeypatch):
    def broken(*args):
        yield b"half a file"
        raise RuntimeError("the database went away")

    monkeypatch.setattr(export_jobs, "body", broken)
    client = signed_in()
    client.get("/imports/export/alumni?format=csv")
    job = the_job(app)
    assert job.state == ExportState.FAILED and job.stored_name is None
    page = client.get(f"/imports/exports/{job.id}").data.decode()
    assert 'role="alert"' in page and "/download" not in page
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ImportUpload)) == 0


def test_a_large_membership_list_is_queued_for_its_association_only(app, signed_in, make_user, make_association, make_member,
                                                                   low_threshold):
    association, elsewhere = make_association(), make_association(name="倉吉市国際交流協会")
    for name in ("山本 由美", "田中 花子", "佐藤 一郎"):
        make_member(association, name=name)
    client = signed_in(Role.ASSOCIATION_STAFF, association=association)
    response = client.get(f"/imports/associations/{association}/members/export?format=csv")
    assert response.status_code == 303
    job = the_job(app)
    assert job.target == "members" and job.row_count == 3 and job.association_id == association
    assert "佐藤 一郎" in client.get(f"/imports/exports/{job.id}/download").data.decode("utf-8-sig")
    other = app.test_client()
    other.login(make_user(Role.ASSOCIATION_STAFF, association=elsewhere)[1])
    assert other.get(f"/imports/exports/{job.id}/download").status_code == 404


def test_a_large_contact_log_is_queued_counted_in_sql(app, signed_in, make_contact, three_alumni, low_threshold):
    for alumnus in three_alumni:
        make_contact(alumnus, TOTTORI)
    make_contact(three_alumni[0], HYOGO)  # Hyogo's log: neither counted nor exported for Tottori
    client = signed_in()
    assert client.get("/imports/export/contacts?format=csv").status_code == 303
    job = the_job(app)
    assert (job.target, job.record_count, job.row_count) == ("contacts", 3, 3)
    assert client.get(f"/imports/exports/{job.id}/download").data.decode("utf-8-sig").count("Met at the reception") == 3
