"""The city's roll-up (docs/ARCHITECTURE.md#reports): `/city` (the wards' report files
dropped on one page, and the table of all 126 wards for a day), `/city.xlsx`, and
`flask reports consolidate` for a city clerk's folder of files.

Open to the city-scoped viewer and to the instance's admin only (security.CITY_ROLES); a
ward's other users get 404. Counts only: nothing here reads a ward's people."""
import pathlib
from datetime import date

import click
from flask import Blueprint, abort, make_response, render_template, request
from flask.cli import with_appcontext
from flask_babel import gettext as _
from flask_login import current_user

from .. import clock
from ..db import get_db
from ..htmx import wants_fragment
from ..security import CITY_ROLES, roles
from . import city, present

bp = Blueprint("city", __name__)

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _day(text: str | None) -> date:
    """Return the day asked for (`?date=YYYY-MM-DD`, today in Hanoi when absent); 404 for
    a malformed or future one."""
    if not text:
        return clock.today()
    return present.past_day(text) or abort(404)


def _page(day: date, *, results=None, problem: str | None = None, status: int = 200):
    data = city.rollup(get_db(), day)
    return render_template("reports/city.html", data=data, day=day, results=results,
                           problem=problem, status_label=city.status_label), status


@bp.route("/city")
@roles(*CITY_ROLES)
def index():
    """The roll-up of every ward for a day: figures, % of target, rank, the wards not
    reported (late after the deadline), and the form to drop the wards' files."""
    return _page(_day(request.args.get("date")))


@bp.route("/city", methods=["POST"])
@roles(*CITY_ROLES)
def upload():
    """Receive the wards' report files (`files`, several at once): the results per file
    (the `city-results` fragment for htmx, with the table swapped out of band), else the
    whole page. 422 when no file was given or every file was refused."""
    day = _day(request.form.get("date"))
    files = [(f.filename or "?", f.read()) for f in request.files.getlist("files")
             if f.filename]
    if not files:
        problem = _("Choose one or more ward report files (.json).")
        if wants_fragment("city-results"):
            return render_template("reports/_city_results.html", results=None,
                                   problem=problem), 422
        return _page(day, problem=problem, status=422)
    results = city.receive(get_db(), files, by=current_user.id)
    status = 422 if all(r.status == "refused" for r in results) else 200
    if wants_fragment("city-results"):
        data = city.rollup(get_db(), day)
        return render_template("reports/_city_results.html", results=results, problem=None,
                               data=data, day=day, status_label=city.status_label,
                               oob=True), status
    return _page(day, results=results, status=status)


@bp.route("/city.xlsx")
@roles(*CITY_ROLES)
def xlsx():
    """The day's roll-up as an XLSX workbook (`?date=`, default today)."""
    day = _day(request.args.get("date"))
    resp = make_response(city.xlsx(city.rollup(get_db(), day)))
    resp.headers["Content-Type"] = XLSX_TYPE
    resp.headers["Content-Disposition"] = \
        f'attachment; filename="tong-hop-bao-cao-{day.isoformat()}.xlsx"'
    return resp


# --- command line -------------------------------------------------------------------------

def _files(paths) -> list[tuple[str, bytes]]:
    """Return (name, bytes) of the files named, a directory standing for its *.json."""
    found = []
    for path in paths:
        members = sorted(path.glob("*.json")) if path.is_dir() else [path]
        found.extend((str(member), member.read_bytes()) for member in members)
    return found


@click.command("consolidate")
@click.argument("paths", nargs=-1, required=True,
                type=click.Path(exists=True, path_type=pathlib.Path))
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=pathlib.Path),
              help="The XLSX file to write.")
@click.option("--date", "day", default=None,
              help="The report day (YYYY-MM-DD; default the newest day among the files).")
@with_appcontext
def consolidate_command(paths, out, day):
    """The city roll-up of ward report files: FILE_OR_DIR... (a directory means its *.json)
    checked as /city checks them, one line per file, and an XLSX of all 126 wards (those
    without a report listed). Reads files only: the database is not opened or changed.
    Exits 1 when any file was refused; the XLSX is still written from the good ones."""
    report_date = None
    if day:
        try:
            report_date = date.fromisoformat(day)
        except ValueError:
            raise click.BadParameter(f"{day!r} is not a date (YYYY-MM-DD)") from None
    files = _files(paths)
    results, data = city.consolidate(files, report_date)
    for result in results:
        word = "refused" if result.status == "refused" else "ok"
        where = f" [{result.ward}]" if result.ward else ""
        click.echo(f"{word:8}{result.name}{where}: {result.message}")
    out.write_bytes(city.xlsx(data))
    refused = sum(r.status == "refused" for r in results)
    click.echo(f"{out}: {data['report_date']}, {data['reported']} of {data['wards']} wards "
               f"reported, {len(data['missing'])} missing; {len(files)} files, "
               f"{refused} refused.")
    if refused:
        click.get_current_context().exit(1)
