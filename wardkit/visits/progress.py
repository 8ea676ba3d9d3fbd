"""The leaders' per-group progress table, sortable, and the same table as CSV. The
figures come from wardkit/reports/figures.py, the one counting code the daily report
uses too (its docstring gives the counting rules)."""
import csv
import io

from flask_babel import gettext as _

from .. import audit
from ..db import write
from ..declarations.export import neutralise
from ..groups.queries import natural_key
from ..reports.figures import ward_figures

SORTS = ("name", "adults", "activated", "percent", "visited", "follow_ups",
         "declarations")
# The row field each plain-number sort reads (the URL says `follow_ups`, the row
# `follow_ups_due`); `name`, `visited` and `percent` have their own keys below.
SORT_FIELDS = {"adults": "adults", "activated": "activated", "follow_ups": "follow_ups_due",
               "declarations": "declarations"}


def sort_rows(rows: list[dict], sort: str, descending: bool) -> list[dict]:
    """Return the rows sorted by an allow-listed column (`name` when unknown)."""
    if sort not in SORTS or sort == "name":
        ordered = sorted(rows, key=lambda r: natural_key(r["name"]))
        return list(reversed(ordered)) if descending else ordered
    if sort == "visited":
        def key(r):
            return r["visited"] / r["households"] if r["households"] else -1
    elif sort == "percent":
        def key(r):
            return -1 if r["percent"] is None else r["percent"]
    else:
        field = SORT_FIELDS[sort]

        def key(r):
            return r[field]
    # Ties keep the natural name order, whichever the direction.
    ordered = sorted(rows, key=lambda r: natural_key(r["name"]))
    return sorted(ordered, key=key, reverse=descending)


def csv_columns():
    """Return (header, function of a row) pairs for the CSV, in the reader's language."""
    def pct(row):
        return "" if row["percent"] is None else f"{row['percent']:.1f}"
    return (
        (_("Group"), lambda r: r["name"]),
        (_("Adults (15+)"), lambda r: r["adults"]),
        (_("Target adults"), lambda r: r["target_adults"]),
        (_("iHanoi activated"), lambda r: r["activated"]),
        (_("Activated today"), lambda r: r["activated_today"]),
        (_("Share of target"), pct),
        (_("Households"), lambda r: r["households"]),
        (_("Households visited"), lambda r: r["visited"]),
        (_("Visited today"), lambda r: r["visited_today"]),
        (_("Follow-ups due"), lambda r: r["follow_ups_due"]),
        (_("Declarations"), lambda r: r["declarations"]),
        (_("Declarations today"), lambda r: r["declarations_today"]),
    )


def export_progress(db, ward_code: str, *, sort: str, descending: bool,
                    by: str | None) -> tuple[dict, bytes]:
    """Export the ward's progress table sorted by `sort` (see `sort_rows`) and audit the
    download; return the report (rows sorted) and its CSV (see `to_csv`)."""
    report = ward_figures(db, ward_code)
    report["rows"] = sort_rows(report["rows"], sort, descending)
    with write(db):
        audit.record(db, "progress_exported", user_id=by, ward_code=ward_code,
                     entity="residential_groups", detail={"groups": len(report["rows"])})
    return report, to_csv(report)


def to_csv(report: dict) -> bytes:
    """Return the progress table (groups, then the ward total) as CSV, UTF-8 with a BOM
    for Excel; text cells that look like formulas are neutralised."""
    columns = csv_columns()
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([header for header, _f in columns])
    for row in report["rows"] + [report["total"]]:
        writer.writerow([neutralise(str(f(row))) for _h, f in columns])
    return out.getvalue().encode("utf-8-sig")
