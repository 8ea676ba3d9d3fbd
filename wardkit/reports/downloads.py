"""The daily report's files (docs/ARCHITECTURE.md#reports): `/reports/<day>.pdf`,
`.xlsx` and `.json` (`?revision=N` for an earlier revision), and `flask reports export`.
Each calls the one action exports.export_report, which renders and audits."""
from datetime import date

import click
from flask import Blueprint, Response, abort, request
from flask.cli import with_appcontext
from flask_login import current_user

from ..auth import queries as auth_queries
from ..db import get_db
from ..security import roles
from . import exports, present, queries

bp = Blueprint("report_files", __name__)

# The files hold counts only, so everyone at a desk who reads the reports may take them.
READERS = ("admin", "leader", "officer", "viewer")


def _download(day: str, fmt: str) -> Response:
    """Return the ward's report file for the day in `fmt` as an attachment; 404 for a
    malformed, future or missing day, or an unknown revision."""
    report_day = present.past_day(day) or abort(404)
    revision = request.args.get("revision", type=int)
    ward_code = current_user.ward_code
    if ward_code is None:  # a city-level viewer has no ward of its own
        abort(404)
    found = exports.export_report(get_db(), ward_code, report_day, fmt,
                                  revision=revision, by=current_user.id)
    if found is None:
        abort(404)
    data, name = found
    response = Response(data, mimetype=exports.MIMETYPES[fmt])
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    # A draft's file changes when the note does: never serve one from a cache.
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/reports/<day>.pdf")
@roles(*READERS)
def pdf(day):
    """The report as the signed A4 PDF."""
    return _download(day, "pdf")


@bp.route("/reports/<day>.xlsx")
@roles(*READERS)
def xlsx(day):
    """The report as a workbook: every count per group, and the day series."""
    return _download(day, "xlsx")


@bp.route("/reports/<day>.json")
@roles(*READERS)
def json(day):
    """The city's file of the report (wardkit/reports/cityfile.py)."""
    return _download(day, "json")


@click.command("export")
@click.argument("day")
@click.option("--format", "fmt", type=click.Choice(exports.FORMATS), required=True,
              help="pdf, xlsx or json (the city's file).")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, writable=True),
              help="The file to write.")
@click.option("--ward", default=None, help="The ward's code (needed only when this "
              "database holds more than one ward).")
@click.option("--revision", type=int, default=None,
              help="An earlier revision (default the newest).")
@with_appcontext
def export_command(day, fmt, out, ward, revision):
    """Write the ward's report of DAY (YYYY-MM-DD) to a file."""
    try:
        report_day = date.fromisoformat(day)
    except ValueError:
        raise click.BadParameter(f"{day!r} is not a date (YYYY-MM-DD)",
                                 param_hint="DAY") from None
    db = get_db()
    if ward:
        ward_code = auth_queries.normalise_ward_code(ward)
        if queries.ward(db, ward_code) is None:
            raise click.ClickException(f"no ward with code {ward!r}")
    else:
        wards = queries.wards_with_data(db)
        if len(wards) != 1:
            raise click.ClickException(
                "give --ward: this database holds " + (f"{len(wards)} wards" if wards
                                                       else "no ward with data"))
        ward_code = wards[0]
    found = exports.export_report(db, ward_code, report_day, fmt, revision=revision,
                                  by=None)
    if found is None:
        which = f" revision {revision}" if revision else ""
        raise click.ClickException(f"no report{which} for {ward_code} on {report_day}")
    data, name = found
    with open(out, "wb") as f:
        f.write(data)
    click.echo(f"{out}: {fmt} of {ward_code} {report_day}, {len(data):,} bytes ({name})")
