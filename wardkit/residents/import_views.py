"""Spreadsheet import: upload and preview (`GET|POST /import`), confirm with progress
(`POST /import/confirm`, `POST /import/status`), cancel, and `flask import-residents`.

The flow (importer.py holds the logic; import_files.py reads the file):

1. POST /import reads and checks the file outside any transaction and shows the preview:
   counts, households new/existing, unknown columns, every row error (the first 500 on
   screen; the CLI's --dry-run lists all). The upload is kept server-side for the confirm
   step as `<token>.upload` in `IMPORT_DIR` (default `instance/imports/`, mode 0700;
   files 0600). The token is 256 random bits and travels only in form bodies, never in a
   URL or the session cookie; `<token>.json` says whose it is (another user's token
   answers 404).
2. POST /import/confirm claims the token (creating `<token>.status` exclusively, so a
   double click imports once) and starts one background thread, which reads the stored
   file (and deletes it), plans it again against the register as it is now, and applies
   every valid row in one transaction — planning again if people were added in between
   (`importer.plan_and_apply`). The page polls POST /import/status every second (htmx
   `every 1s`) and shows rows checked, then people saved, out of the total.
3. Progress lives in `<token>.status`, rewritten every 1,000 rows (a job of
   wardkit/jobs.py, like a batch of sheets). The thread runs in the process that got
   the confirm; if that process dies, the transaction never commits and the next poll
   reports the import failed.

Everything a token left behind (an unconfirmed upload, metadata, status) is deleted an
hour after its last change, by the sweep that runs at start-up and on every request to
these pages.
"""
import os
import pathlib

import click
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.cli import with_appcontext
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from .. import clock
from ..db import connect, get_db, sqlite3
from ..groups import queries as group_queries
from ..htmx import page_or_fragment, wants_fragment
from ..jobs import Jobs
from ..security import FIELD_ROLES, roles
from . import addresses, import_files, importer

bp = Blueprint("imports", __name__, url_prefix="/import")

UPLOAD_TTL = 60 * 60        # seconds an uploaded file (and its job status) is kept
SHOWN_PROBLEMS = 500        # row errors (and warnings) listed on the preview page
# States: queued, checking then saving (`done` rows of `total`), then done (with `result`
# and `warnings`) or failed (with `message`); "missing" once swept.
JOBS = Jobs(name="import", setting="IMPORT_DIR", folder="imports", ttl=UPLOAD_TTL,
            running=("queued", "checking", "saving"))


# --- stored uploads --------------------------------------------------------------------

def _path(token: str, suffix: str) -> pathlib.Path:
    return JOBS.path(token, suffix)


def sweep(now: float | None = None, app=None) -> int:
    """Delete stored uploads, metadata and job statuses older than UPLOAD_TTL; return how
    many files went. Runs at start-up and on every request to the import pages."""
    return JOBS.sweep(now, app)


def _store_upload(data: bytes, meta: dict) -> str:
    return JOBS.create(meta, upload=data)


def _own_upload(token: str | None) -> dict | None:
    """Return the stored upload's metadata when `token` is well formed and belongs to the
    signed-in user (404 otherwise: another user's token looks like an unknown one).
    None when it belongs to nobody any more (expired and swept)."""
    return JOBS.own(token, current_user.id, current_user.ward_code)


# --- pages -------------------------------------------------------------------------------

def _upload_page(error=None, status: int = 200, group_id: str = ""):
    groups = group_queries.list_groups(get_db(), current_user.ward_code)
    return render_template("residents/import.html", groups=groups, error=error,
                           group_id=group_id, headers=import_files.HEADER_ALIASES,
                           labels=import_files.FIELD_LABELS,
                           max_rows=import_files.MAX_ROWS), status


@bp.route("", methods=["GET"])
@roles(*FIELD_ROLES)
def upload():
    """The upload form, with what the file must look like."""
    sweep()
    return _upload_page()


@bp.route("", methods=["POST"])
@roles(*FIELD_ROLES)
def preview():
    """Read and check the uploaded file and show the preview (nothing is written but
    the import_previewed audit row)."""
    sweep()
    group_id = request.form.get("group_id", "")[:64]
    upload_file = request.files.get("file")   # beyond MAX_CONTENT_LENGTH: 413 already
    if upload_file is None or not upload_file.filename:
        return _upload_page(_("Choose a CSV or Excel (.xlsx) file."), 422, group_id)
    data = upload_file.read(import_files.MAX_BYTES + 1)
    filename = os.path.basename(upload_file.filename.replace("\\", "/"))[:120]
    try:
        table, plan = importer.preview_import(
            get_db(), current_user.ward_code, data, filename, today=clock.today(),
            default_group_id=group_id or None, by=current_user.id)
    except importer.ImportRefused as exc:
        return _upload_page(exc.message, exc.status, group_id)
    token = None
    if plan.to_add:
        token = _store_upload(data, {
            "user_id": current_user.id, "ward_code": current_user.ward_code,
            "filename": filename, "group_id": group_id or None,
            "locale": str(get_locale() or "vi"), "created_at": clock.now_iso()})
    source = table.encoding if table.kind == "csv" else "Excel .xlsx"
    return render_template("residents/import_preview.html", plan=plan, table=table,
                           token=token, filename=filename, source=source,
                           errors=plan.errors[:SHOWN_PROBLEMS],
                           warnings=plan.warnings[:SHOWN_PROBLEMS], shown=SHOWN_PROBLEMS)


@bp.route("/confirm", methods=["POST"])
@roles(*FIELD_ROLES)
def confirm():
    """Start importing the previewed file (once, however often the button is pressed)
    and answer the progress block."""
    sweep()
    token = request.form.get("token")
    meta = _own_upload(token)
    if meta is None:
        return _expired()
    if not _path(token, "status").exists() and not _path(token, "upload").exists():
        return _expired()
    # A second click finds the job started: it shows its progress.
    JOBS.start(token, run_job, meta, locale=meta.get("locale") or "vi")
    return _progress(token)


@bp.route("/status", methods=["POST"])
@roles(*FIELD_ROLES)
def status():
    """Answer the progress block of an import (polled every second while it runs)."""
    sweep()
    token = request.form.get("token")
    if _own_upload(token) is None:
        return _expired()
    return _progress(token)


@bp.route("/cancel", methods=["POST"])
@roles(*FIELD_ROLES)
def cancel():
    """Discard a previewed upload that was not confirmed."""
    sweep()
    token = request.form.get("token")
    if _own_upload(token) is not None and not _path(token, "status").exists():
        for suffix in ("upload", "json"):
            _path(token, suffix).unlink(missing_ok=True)
    flash(_("Import cancelled. The uploaded file was deleted."), "info")
    return redirect(url_for("imports.upload"), code=303)


def _expired():
    return _upload_page(_("This upload has expired: uploaded files are kept for one hour. "
                          "Upload the file again."), 404)


def _job_status(token: str) -> dict:
    job = JOBS.status(token)
    if job["state"] == "failed" and not job.get("message"):   # its process died
        job = {"state": "failed", "message": _(
            "The import stopped before it finished (the server may have restarted). "
            "Nothing was saved from it. Upload the file again: people already registered "
            "are skipped.")}
    return job


def _progress(token: str):
    job = _job_status(token)
    context = {"token": token, "job": job, "running": job["state"] in JOBS.running}
    if wants_fragment("import-actions") or wants_fragment("import-progress"):
        return render_template("residents/_import_progress.html", **context)
    return page_or_fragment("residents/import_progress.html",
                            "residents/_import_progress.html", "import-progress", **context)


# --- the background job ------------------------------------------------------------------

def run_job(app, token: str, meta: dict) -> None:
    """Re-read the stored upload, re-plan it against the register as it is now, and apply
    it in one transaction, writing progress to the job's status. Runs in its own thread
    (see Jobs.start) with its own connection; the upload is deleted at the end, whatever
    happens."""
    upload_path = JOBS.path(token, "upload", app)
    db = None

    def progress(state, done, total):
        JOBS.set_status(token, state, app, done=done, total=total)

    try:
        data = upload_path.read_bytes()
        upload_path.unlink(missing_ok=True)
        db = connect(app.config["DATABASE"])
        table = importer.read_table(data, meta["filename"])
        del data
        progress("checking", 0, table.row_count)
        plan, counts = importer.plan_and_apply(
            db, meta["ward_code"], table, today=clock.today(), by=meta["user_id"],
            via="web", default_group_id=meta.get("group_id"), progress=progress)
        JOBS.set_status(token, "done", app, result=counts, warnings=plan.warning_count)
    except importer.ImportRefused as exc:
        JOBS.set_status(token, "failed", app, message=str(exc.message))
    except (importer.RegisterChanged, sqlite3.IntegrityError):
        JOBS.set_status(token, "failed", app, message=_(
            "The register kept changing while the import was running (someone else "
            "is adding people), so nothing was imported. Try again in a few minutes: "
            "people already registered are skipped."))
    except Exception:
        app.logger.exception("import %s failed", token[:6])
        JOBS.set_status(token, "failed", app, message=_(
            "Nothing was imported. Try again; if it happens again, tell the ward "
            "administrator."))
    finally:
        upload_path.unlink(missing_ok=True)
        if db is not None:
            db.close()


# --- command line ------------------------------------------------------------------------

@click.command("import-residents")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--ward", "ward", required=True, help="Ward code, e.g. 00103.")
@click.option("--dry-run", is_flag=True, help="Check the file and report; write nothing.")
@click.option("--group", "group_name", default=None,
              help="Residential group for rows that name none (its name or number).")
@with_appcontext
def import_residents_command(file, ward, dry_run, group_name):
    """Import residents from a CSV or XLSX FILE into a ward.

    Prints the counts and every row error (row numbers as in the spreadsheet). Rows with
    errors are skipped; all other rows are saved in one transaction. Exit status 0 when
    the import (or dry run) completes, 1 when the file is refused as a whole (unreadable,
    garbled encoding, missing columns, too large).
    """
    from ..auth import queries as auth_queries
    from ..auth.queries import normalise_ward_code

    db = get_db()
    ward_code = normalise_ward_code(ward)
    if auth_queries.get_ward(db, ward_code) is None:
        raise click.ClickException(f"no ward with code {ward_code}")
    if os.path.getsize(file) > import_files.MAX_BYTES:
        raise click.ClickException(str(import_files.too_large().message))
    with open(file, "rb") as f:
        data = f.read()
    group_id = None
    try:
        if group_name:
            group = addresses.GroupMatcher(
                group_queries.list_groups(db, ward_code)).match(group_name)
            if group is None:
                raise click.ClickException(f"no residential group {group_name!r} in ward "
                                           f"{ward_code}")
            group_id = group["id"]
        table = importer.read_table(data, file)
        plan = importer.plan_import(db, ward_code, table, today=clock.today(),
                                    default_group_id=group_id)
    except importer.ImportRefused as exc:
        raise click.ClickException(str(exc.message)) from None
    source = table.encoding if table.kind == "csv" else "xlsx"
    click.echo(f"{file}: {source}, header on row {table.header_row}")
    if plan.unknown_columns:
        click.echo("Ignored columns: " + ", ".join(plan.unknown_columns))
    for number, name, message in plan.errors:
        click.echo(f"row {number}, {plan.label(name)}: {message}")
    for number, name, message in plan.warnings:
        click.echo(f"row {number}, {plan.label(name)} (warning): {message}")
    if plan.warning_count > len(plan.warnings):
        click.echo(f"... {plan.warning_count - len(plan.warnings)} more warnings")
    click.echo(
        f"rows {plan.rows}; to add {plan.to_add}; already registered {plan.already}; "
        f"rows with errors {plan.error_rows} (skipped); households new "
        f"{plan.households_new}, existing {plan.households_existing}")
    if plan.basis_defaulted:
        click.echo(f"{plan.basis_defaulted} rows have no lawful basis: recorded as "
                   f"official duty (lists from the residence database).")
    if dry_run:
        click.echo("Dry run: nothing was written.")
        return
    try:
        counts = importer.apply_import(db, ward_code, plan, by=None, via="cli")
    except importer.RegisterChanged:
        click.echo("The register changed while the file was checked: checking again.")
        try:
            plan, counts = importer.plan_and_apply(db, ward_code, table,
                                                   today=clock.today(), by=None,
                                                   via="cli", default_group_id=group_id)
        except importer.RegisterChanged:
            raise click.ClickException("the register kept changing; nothing was imported. "
                                       "Try again later.") from None
    click.echo(f"Imported {counts['residents_added']} people "
               f"({counts['households_created']} new households).")


def init_app(app) -> None:
    """Register the import blueprint and `flask import-residents` on `app`, and delete
    uploads left over from before a restart."""
    app.register_blueprint(bp)
    app.cli.add_command(import_residents_command)
    try:
        sweep(app=app)
    except OSError:  # an unwritable instance folder: the import page will say so
        app.logger.warning("could not clean the import folder", exc_info=True)
