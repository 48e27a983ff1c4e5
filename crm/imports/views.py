"""Import wizard and exports: thin routes over crm.imports.operations and crm.imports.exports."""
from __future__ import annotations

from flask import abort, current_app, render_template, request, url_for
from flask_login import current_user

from crm import access, htmx
from crm.access import roles
from crm.alumni.models import Position
from crm.alumni.views import ALUMNI_ROLES, FILTER_KEYS
from crm.auth.models import Role
from crm.extensions import db
from crm.formats.problems import problem_message
from crm.imports import bp, checking, corrections, export_jobs, exports, headers, mappings, operations, progress, storage
from crm.imports.forms import FORMAT_LABELS, SettingsForm, UploadForm
from crm.imports.models import ExportJob, ExportState, ImportJob, JobState
from crm.imports.targets import TARGETS

# Imports write placements in the importer's prefecture: prefecture staff only (administrators use
# the CLI with --prefecture).
IMPORT_ROLES = (Role.PREFECTURE_STAFF,)
# A job's own steps: association staff also run the jobs of their association's member imports
# (crm.imports.transfer_views), each job reached only through access.load (its importer's scope).
JOB_ROLES = (Role.PREFECTURE_STAFF, Role.ASSOCIATION_STAFF)
# Uploads a job refuses to open at all (nothing to correct in the wizard).
# A file over a reading bound (crm.formats.limits) is refused too: nothing in the wizard makes it smaller.
REFUSED = {"empty", "not_spreadsheet", "legacy_excel", "binary", "cell_too_large", "field_too_large", "row_too_large", "text_too_large",
           "part_too_large", "packed_too_dense"}


def _jobs():
    return list(db.session.scalars(access.scoped(ImportJob).order_by(ImportJob.id.desc()).limit(20)))


@bp.get("")
@roles(*IMPORT_ROLES)
def index():
    return render_template("imports/index.html", form=UploadForm(), jobs=_jobs())


@bp.post("")
@roles(*IMPORT_ROLES)
def upload():
    form = UploadForm()
    if form.validate_on_submit() and (job := accept_upload(form, form.target.data)):
        db.session.commit()
        return htmx.redirect(url_for("imports.show_job", job_id=job.id))
    return render_template("imports/index.html", form=form, jobs=_jobs()), 422


def accept_upload(form, target: str) -> ImportJob | None:
    """The validated upload form's file stored as a new job of `target` (413 over the size limit), or
    None, with the reason on the form's file field, for a file the wizard cannot open at all. The
    caller commits the job."""
    upload_file = form.file.data
    try:
        job = operations.save_upload(upload_file.stream, upload_file.filename, TARGETS[target], current_user,
                                     current_app.config.get("IMPORT_MAX_BYTES", current_app.config["MAX_CONTENT_LENGTH"]))
    except storage.FileTooLarge:
        db.session.rollback()
        abort(413)
    finally:
        upload_file.close()
    if job.problem and job.problem["code"] in REFUSED:
        db.session.rollback()  # the job and its stored upload with it
        form.file.errors = [problem_message(job.problem)]
        return None
    return job


def _job_context(job: ImportJob, **extra) -> dict:
    target = TARGETS[job.target]
    settings = SettingsForm(formdata=None, data={"format": job.format or "", "encoding": job.encoding or "",
                                                 "delimiter": job.delimiter or "", "sheet": job.sheet or ""})
    return {"job": job, "target": target, "settings": settings, "progress": progress.progress(job),
            "can_commit": operations.committable(job), "problem": problem_message(job.problem) if job.problem else None,
            "columns": target.import_columns(), "positions": Position, "format_labels": FORMAT_LABELS,
            "defaults": (job.options or {}).get("defaults", {}), "JobState": JobState,
            "scores": (job.options or {}).get("scores") or {}, "not_kept": (job.options or {}).get("not_kept") or [],
            "unmapped": checking.unmapped(job), "correctable": corrections.correctable(job),
            "row_edits": (job.options or {}).get("row_edits") or {}, "sure": headers.SURE, "likely": headers.AFFIXED, **extra}


def _render_job(job: ImportJob, status: int = 200, **extra):
    return htmx.render("imports/job.html", "imports/_job.html", status=status, **_job_context(job, **extra))


@bp.get("/<int:job_id>")
@roles(*JOB_ROLES)
def show_job(job_id: int):
    return _render_job(access.load(ImportJob, job_id))


@bp.post("/<int:job_id>/settings")
@roles(*JOB_ROLES)
def change_settings(job_id: int):
    job = access.load(ImportJob, job_id)
    form = SettingsForm()
    if job.running or not form.validate_on_submit():
        return _render_job(job, 409 if job.running else 422)
    checking.inspect_file(job, form.format.data, form.encoding.data, form.delimiter.data, form.sheet.data)
    db.session.commit()
    return _render_job(job)


@bp.post("/<int:job_id>/mapping")
@roles(*JOB_ROLES)
def save_mapping(job_id: int):
    job = access.load(ImportJob, job_id)
    if job.running or job.state == JobState.DONE or job.problem and not job.headers:
        return _render_job(job, 409)
    keys = {column.key for column in TARGETS[job.target].import_columns()}
    mapping = {}
    for index, header in enumerate(job.headers or []):
        key = request.form.get(f"column-{index}", "")
        mapping[header] = key if key in keys else ""
    defaults = {"position": request.form.get("default_position", "") if request.form.get("default_position") in
                {p.value for p in Position} else "",
                "start_year": request.form.get("default_start_year", "").strip()[:4]}
    problems = checking.save_mapping(job, mapping, defaults)
    if problems:
        db.session.commit()
        return _render_job(job, 422, mapping_problems=problems)
    job.state = JobState.UPLOADED
    if job.prefecture_id is not None:
        mappings.remember(job, request.form.get("mapping_name"))
    db.session.commit()
    operations.start(job, JobState.VALIDATING, JobState.UPLOADED)
    db.session.expire_all()
    return _render_job(db.session.get(ImportJob, job_id))


@bp.post("/<int:job_id>/rows/<int:row>")
@roles(*JOB_ROLES)
def correct_row(job_id: int, row: int):
    job = access.load(ImportJob, job_id)
    header = request.form.get("header", "")
    if job.state != JobState.VALIDATED or not corrections.correctable(job) or header not in (job.headers or []):
        return _render_job(job, 409)
    if corrections.correct_cell(job, row, header, request.form.get("value", "")):
        # Every listed error is corrected: the whole file is checked again (duplicates, counts, preview).
        job.state = JobState.UPLOADED
        db.session.commit()
        operations.start(job, JobState.VALIDATING, JobState.UPLOADED)
        db.session.expire_all()
        job = db.session.get(ImportJob, job_id)
    else:
        db.session.commit()
    return _render_job(job)


@bp.post("/<int:job_id>/commit")
@roles(*JOB_ROLES)
def commit_job(job_id: int):
    job = access.load(ImportJob, job_id)
    if not operations.committable(job):
        return _render_job(job, 409)
    try:
        operations.start(job, JobState.APPLYING, JobState.VALIDATED)
    except operations.JobBusy:
        pass
    return _started(job_id)


@bp.post("/<int:job_id>/restart")
@roles(*JOB_ROLES)
def restart_job(job_id: int):
    job = access.load(ImportJob, job_id)
    try:
        operations.restart(job)
    except operations.JobBusy:
        return _render_job(job, 409)
    return _started(job_id)


def _started(job_id: int):
    """A step started: htmx gets the job's panel (which follows the progress); a plain form, such as
    the home page's button, goes to the job's page (303), so reloading it starts nothing again."""
    if not htmx.is_htmx():
        return htmx.redirect(url_for("imports.show_job", job_id=job_id))
    db.session.expire_all()
    return _render_job(db.session.get(ImportJob, job_id))


# --- Exports ---------------------------------------------------------------------------------------

@bp.get("/export/<target>")
@roles(*ALUMNI_ROLES)
def export(target: str):
    if target not in exports.FORMATS_OF:
        abort(404)
    filters = {key: request.args.get(key, "") for key in FILTER_KEYS} if target == "alumni" else \
        {"alumnus": request.args.get("alumnus", "")}
    return export_jobs.export_target(target, filters, endpoint="imports.export", url_args={"target": target, **filters},
                                     formats=exports.FORMATS_OF[target])


@bp.get("/exports/<int:export_id>")
@roles(*access.STAFF)
def show_export(export_id: int):
    """An export the worker writes: its progress (polled by htmx), then the download link."""
    job = access.load(ExportJob, export_id)
    return htmx.render("imports/export_job.html", "imports/_export_job.html", job=job, percent=export_jobs.progress(job),
                       expires_at=export_jobs.expires_at(job))


@bp.get("/exports/<int:export_id>/download")
@roles(*access.STAFF)
def download_export(export_id: int):
    job = access.load(ExportJob, export_id)
    if job.state != ExportState.DONE:
        abort(404)
    return export_jobs.download(job)
