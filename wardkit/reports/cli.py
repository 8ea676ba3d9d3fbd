"""`flask reports …` (docs/ARCHITECTURE.md#reports): the ward's daily report from the
command line, for the ward's scripts and the tests."""
from datetime import date

import click
from flask.cli import AppGroup

from ..auth import queries as auth_queries
from ..db import get_db
from . import queries, snapshots

reports_cli = AppGroup("reports", help="The ward's daily report to the city police.")


def _day(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from None


@reports_cli.command("snapshot")
@click.option("--date", "day", default=None, help="The report day (YYYY-MM-DD; default "
              "today once its cut-off has passed).")
@click.option("--ward", default=None, help="One ward's code (default every ward with data).")
def snapshot_command(day, ward):
    """Take the day's report snapshot now, for each ward that has none yet."""
    db = get_db()
    wards = [auth_queries.normalise_ward_code(ward)] if ward else queries.wards_with_data(db)
    if ward and queries.ward(db, wards[0]) is None:
        raise click.ClickException(f"no ward with code {ward!r}")
    report_day = _day(day) or snapshots.due_day() or None
    if report_day is None:
        click.echo(f"Today's cut-off ({snapshots.cutoff_time():%H:%M}) has not passed: "
                   "nothing to take (give --date to take one now).")
        return
    for code in wards:
        try:
            report, taken = snapshots.take_snapshot(db, code, report_day)
        except snapshots.ReportRefused as exc:
            raise click.ClickException(f"{report_day}: {exc.code} (a future day)") from None
        total = report["figures"]["total"]
        click.echo(f"{code} {report_day}: {'taken' if taken else 'exists already'} "
                   f"(revision {report['revision']}, {total['adults']} adults, "
                   f"{total['activated']} activated, {total['declarations']} declarations)")


def init_app(app) -> None:
    """Register `flask reports`: `snapshot` (here), `export` (beside the download
    routes) and `consolidate` (beside the city's pages)."""
    from .city_views import consolidate_command
    from .downloads import export_command
    reports_cli.add_command(export_command)
    reports_cli.add_command(consolidate_command)
    app.cli.add_command(reports_cli)
