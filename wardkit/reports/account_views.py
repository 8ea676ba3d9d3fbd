"""The official iHanoi account list: upload, preview with the column mapping, confirm
(`/reports/accounts`), the discrepancy list (`/reports/accounts/discrepancies`), and
`flask import-ihanoi-accounts`. Leaders and admins only. The logic is in accounts.py.

The upload waits for the confirm as `<token>.list` in `IMPORT_DIR` (like the resident
import: mode 0700, files 0600, a 256-bit token sent only in form bodies, `<token>.json`
saying whose it is). It is deleted once the list is imported, on cancel, and by the sweep
an hour after it was stored. The command line reads the operator's own file and never
deletes it.
"""
import os
from datetime import date

import click
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.cli import with_appcontext
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user

from .. import clock
from ..db import get_db
from ..jobs import Jobs
from ..residents import import_files
from ..security import MANAGER_ROLES, roles
from . import accounts

bp = Blueprint("ihanoi_accounts", __name__, url_prefix="/reports/accounts")

UPLOAD_TTL = 60 * 60        # seconds an uploaded list is kept without a confirm
# Same folder and lifetime as the resident import's uploads; a different suffix, so
# neither flow can pick up the other's file.
UPLOADS = Jobs(name="ihanoi-list", setting="IMPORT_DIR", folder="imports", ttl=UPLOAD_TTL,
               running=())
KIND = "ihanoi_list"


# --- input -------------------------------------------------------------------------------

def _list_date(text: str | None) -> tuple[date | None, str | None]:
    """Return (the list date typed, or None; an error message, or None). Empty: today."""
    text = (text or "").strip()
    if not text:
        return clock.today(), None
    for parse in (date.fromisoformat, _dmy):
        try:
            day = parse(text)
        except ValueError:
            continue
        if day > clock.today():
            return None, _("The list date cannot be in the future.")
        return day, None
    return None, _("Enter the list date as dd/mm/yyyy, e.g. 03/12/2026.")


def _dmy(text: str) -> date:
    day, month, year = (int(part) for part in text.replace("-", "/").split("/"))
    return date(year, month, day)


def _mapping() -> dict:
    """Return the column mapping the preview's selects sent ({field: index or None})."""
    mapping = {}
    for name in accounts.FIELDS:
        value = request.form.get(f"map_{name}")
        if value is not None:
            mapping[name] = int(value) if value.strip().isdigit() else None
    return mapping


def _own(token: str | None) -> dict | None:
    """Return the stored upload's metadata when it is this user's list upload; None when
    swept or not a list's (404 for another user's token, as the resident import does)."""
    meta = UPLOADS.own(token, current_user.id, current_user.ward_code)
    if meta is None or meta.get("kind") != KIND or not UPLOADS.path(token, "list").exists():
        return None
    return meta


# --- pages -------------------------------------------------------------------------------

def _upload_page(errors: dict | None = None, status: int = 200, list_date: str = ""):
    return render_template("reports/accounts.html", errors=errors or {},
                           list_date=list_date or clock.today().isoformat(),
                           aliases=accounts.HEADER_ALIASES, labels=accounts.FIELD_LABELS,
                           today=clock.today().isoformat()), status


@bp.route("", methods=["GET"])
@roles(*MANAGER_ROLES)
def upload():
    """The upload form: the file and the list's date."""
    UPLOADS.sweep()
    return _upload_page()


@bp.route("", methods=["POST"])
@roles(*MANAGER_ROLES)
def preview():
    """Read the uploaded list, keep it for the confirm, and show the preview (nothing is
    written)."""
    UPLOADS.sweep()
    date_text = request.form.get("list_date", "")[:20]
    errors = {}
    list_day, date_error = _list_date(date_text)
    if date_error:
        errors["list_date"] = date_error
    upload_file = request.files.get("file")
    if upload_file is None or not upload_file.filename:
        errors["file"] = _("Choose the list: a CSV or Excel (.xlsx) file.")
    if errors:
        return _upload_page(errors, 422, date_text)
    data = upload_file.read(import_files.MAX_BYTES + 1)
    filename = os.path.basename(upload_file.filename.replace("\\", "/"))[:120]
    try:
        accounts.read_list(data, filename)
    except accounts.ColumnProblem:
        pass   # readable: the preview offers the columns to choose
    except accounts.ImportRefused as exc:
        return _upload_page({"file": exc.message}, exc.status, date_text)
    token = UPLOADS.create({"user_id": current_user.id, "ward_code": current_user.ward_code,
                            "kind": KIND, "filename": filename,
                            "created_at": clock.now_iso()}, list=data)
    return _preview(token, filename, list_day, None)


@bp.route("/preview", methods=["POST"])
@roles(*MANAGER_ROLES)
def remap():
    """Read the stored list again with the columns chosen on the preview."""
    UPLOADS.sweep()
    token = request.form.get("token")
    meta = _own(token)
    if meta is None:
        return _expired()
    list_day, date_error = _list_date(request.form.get("list_date"))
    return _preview(token, meta["filename"], list_day, _mapping(), date_error=date_error)


def _preview(token, filename, list_day, mapping, date_error=None):
    """Render the preview of the stored list with `mapping` (None: as detected): 200,
    or 422 with the problem beside its field when it cannot be imported as it is."""
    data = UPLOADS.path(token, "list").read_bytes()
    context = {"token": token, "filename": filename, "errors": {}, "plan": None,
               "list_date": (list_day or clock.today()).isoformat(),
               "today": clock.today().isoformat(), "fields": accounts.FIELDS,
               "labels": accounts.FIELD_LABELS}
    if date_error:
        context["errors"]["list_date"] = date_error
    try:
        table = accounts.read_list(data, filename, mapping)
    except accounts.ColumnProblem as exc:
        table = exc.table
        context["errors"]["mapping"] = exc.message
    except accounts.ImportRefused as exc:   # changed on disk? cannot happen: say so
        return _upload_page({"file": exc.message}, exc.status)
    context.update(table=table, sample=table.sample())
    if not context["errors"]:
        plan = accounts.plan_list(get_db(), current_user.ward_code, table,
                                  list_date=list_day, today=clock.today())
        context["plan"] = plan
        if not plan.matches:
            context["errors"]["matches"] = accounts.no_matches().message
    status = 422 if context["errors"] else 200
    return render_template("reports/accounts_preview.html", **context), status


@bp.route("/confirm", methods=["POST"])
@roles(*MANAGER_ROLES)
def confirm():
    """Import the previewed list with the columns shown, delete the upload, and show
    the counts."""
    UPLOADS.sweep()
    token = request.form.get("token")
    meta = _own(token)
    if meta is None:
        return _expired()
    list_day, date_error = _list_date(request.form.get("list_date"))
    mapping = _mapping()
    if date_error:
        return _preview(token, meta["filename"], list_day, mapping, date_error=date_error)
    data = UPLOADS.path(token, "list").read_bytes()
    try:
        table = accounts.read_list(data, meta["filename"], mapping)
        plan = accounts.plan_list(get_db(), current_user.ward_code, table,
                                  list_date=list_day, today=clock.today())
        result = accounts.import_list(get_db(), current_user.ward_code, plan,
                                      by=current_user.id, via="web")
    except accounts.ImportRefused:
        # The preview again, with the problem beside its field (kept for a new choice).
        return _preview(token, meta["filename"], list_day, mapping)
    _discard(token)
    return render_template("reports/accounts_result.html", plan=plan, result=result,
                           filename=meta["filename"])


@bp.route("/cancel", methods=["POST"])
@roles(*MANAGER_ROLES)
def cancel():
    """Discard a previewed list that was not imported."""
    token = request.form.get("token")
    if _own(token) is not None:
        _discard(token)
    flash(_("Import cancelled. The uploaded file was deleted."), "info")
    return redirect(url_for("ihanoi_accounts.upload"), code=303)


def _discard(token: str) -> None:
    for suffix in ("list", "json"):
        UPLOADS.path(token, suffix).unlink(missing_ok=True)


def _expired():
    return _upload_page({"file": _("This upload has expired: uploaded files are kept for "
                                   "one hour. Upload the file again.")}, 404)


@bp.route("/discrepancies", methods=["GET"])
@roles(*MANAGER_ROLES)
def discrepancies():
    """Where the latest list and the officers' marks disagree (people's names and
    addresses: audited as a read)."""
    found = accounts.view_discrepancies(get_db(), current_user.ward_code,
                                        by=current_user.id)
    return render_template("reports/accounts_discrepancies.html", found=found,
                           shown=accounts.SHOWN_PEOPLE)


# --- command line ------------------------------------------------------------------------

@click.command("import-ihanoi-accounts")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--ward", "ward", required=True, help="Ward code, e.g. 00103.")
@click.option("--dry-run", is_flag=True, help="Read and match the list; write nothing.")
@click.option("--list-date", "list_date", default=None,
              help="The list's date, YYYY-MM-DD (default: today in Hanoi).")
@click.option("--map", "maps", multiple=True, metavar="FIELD=COLUMN",
              help="Use COLUMN (its header, or its number counting from 1) for FIELD: "
                   "cccd, phone, status or activated_on; an empty COLUMN: not in the "
                   "file. Repeatable.")
@with_appcontext
def import_ihanoi_accounts_command(file, ward, dry_run, list_date, maps):
    """Import the official iHanoi account list FILE (CSV or XLSX) for a ward.

    Prints the counts. Exit status 1 when the list is refused: unreadable, columns not
    recognised or unknown, a date in the future, or no resident matched (then nothing
    is written, dry run or not). FILE itself is left where it is: deleting it is the
    operator's business.
    """
    from ..auth import queries as auth_queries

    with force_locale("en"):
        db = get_db()
        ward_code = auth_queries.normalise_ward_code(ward)
        if auth_queries.get_ward(db, ward_code) is None:
            raise click.ClickException(f"no ward with code {ward_code}")
        try:
            day = date.fromisoformat(list_date) if list_date else clock.today()
        except ValueError:
            raise click.ClickException("--list-date must be YYYY-MM-DD") from None
        mapping = {}
        for item in maps:
            name, sep, column = item.partition("=")
            if not sep:
                raise click.ClickException(f"--map {item!r}: write FIELD=COLUMN")
            column = column.strip()
            mapping[name.strip()] = int(column) - 1 if column.isdigit() else column
        if os.path.getsize(file) > import_files.MAX_BYTES:
            raise click.ClickException(str(import_files.too_large().message))
        with open(file, "rb") as f:
            data = f.read()
        try:
            table = accounts.read_list(data, file, mapping)
            plan = accounts.plan_list(db, ward_code, table, list_date=day,
                                      today=clock.today())
            click.echo(f"{file}: header on row {table.header_row}; columns: " + ", ".join(
                f"{name}={table.header[index]!r}" for name, index in table.columns.items()))
            _echo_counts(plan.counts())
            if dry_run:
                if not plan.matches:
                    raise accounts.no_matches()
                click.echo("Dry run: nothing was written.")
                return
            result = accounts.import_list(db, ward_code, plan, by=None, via="cli")
        except accounts.ImportRefused as exc:
            raise click.ClickException(str(exc.message)) from None
        click.echo(f"Imported the list of {day.isoformat()}: "
                   f"{result['matched_cccd'] + result['matched_phone']} rows matched.")


def _echo_counts(counts: dict) -> None:
    click.echo(f"rows {counts['rows']}; matched by CCCD {counts['matched_cccd']}; "
               f"matched by phone {counts['matched_phone']}; ambiguous phone "
               f"{counts['ambiguous_phone']}; not in the registry "
               f"{counts['not_in_registry']}; unreadable {counts['unreadable']}; "
               f"activated among the matched {counts['activated']}")


def init_app(app) -> None:
    """Register the account-list blueprint and `flask import-ihanoi-accounts` on `app`."""
    app.register_blueprint(bp)
    app.cli.add_command(import_ihanoi_accounts_command)
