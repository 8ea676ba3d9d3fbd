"""The leaders' per-group progress: adults, iHanoi activations against the target,
households visited, follow-ups due and declarations recorded, today and cumulative,
and the same table as CSV.

Counting rules (README "Home visits"):
- adults are live residents of the ward's live households aged 15 or more on the report
  date, by date of birth (a birthday on the report date counts). The registry requires
  a full date of birth, so every resident has one; a row whose `dob` is not an ISO date
  (which the registry never writes) is not counted as an adult rather than guessed;
- "activated today" is the adults whose iHanoi status was set to activated today (Hanoi
  time) and still is;
- declarations are live declarations past draft (recorded, submitted, verified or
  needs_fix) of live residents; "today" are those whose recording was audited today.
"""
import csv
import io
import json
from datetime import date, datetime

from flask_babel import gettext as _

from .. import audit, clock
from ..db import write
from ..declarations.export import neutralise
from ..groups.queries import natural_key
from .days import adult_cutoff, day_bounds, local_today

SORTS = ("name", "adults", "activated", "percent", "visited", "follow_ups",
         "declarations")
# The row field each plain-number sort reads (the URL says `follow_ups`, the row
# `follow_ups_due`); `name`, `visited` and `percent` have their own keys below.
SORT_FIELDS = {"adults": "adults", "activated": "activated", "follow_ups": "follow_ups_due",
               "declarations": "declarations"}


def progress(db, ward_code: str, *, report_date: date | None = None,
             now: datetime | None = None) -> dict:
    """Return {"rows": [...], "total": {...}, "report_date": date} for the ward's live
    groups in natural name order.

    Each row: `id`, `name`, `cluster`, `target_adults`, `adults`, `activated`,
    `activated_today`, `percent` (activated / target, None when the target is 0),
    `households`, `visited`, `visited_today`, `follow_ups_due` (open, due by the end of
    the report day), `declarations`, `declarations_today`. `total` sums them for the ward.

    The per-group counts come from progress_cache when nothing they count has been
    written since (`_generation`); otherwise they are counted again and cached, in a
    short write of their own. This is the only code that writes the cache: recording a
    visit just makes the next read count again.
    """
    now = now or clock.now()
    report_date = report_date or local_today(now)
    key = f"{report_date.isoformat()}#{_generation(db)}"
    cached = db.execute("SELECT cache_key, payload FROM progress_cache WHERE ward_code = ?",
                        [ward_code]).fetchone()
    if cached is not None and cached[0] == key:
        rows = json.loads(cached[1])
    else:
        rows = count_groups(db, ward_code, report_date)
        with write(db):
            db.execute(
                """INSERT INTO progress_cache (ward_code, cache_key, payload, computed_at)
                   VALUES (:ward, :key, :payload, :now)
                   ON CONFLICT (ward_code) DO UPDATE SET cache_key = :key,
                       payload = :payload, computed_at = :now""",
                {"ward": ward_code, "key": key, "payload": json.dumps(rows),
                 "now": clock.now_iso()})
    total = {"name": _("Whole ward"), "target_adults": 0}
    for key in ("target_adults", "adults", "activated", "activated_today", "households",
                "visited", "visited_today", "follow_ups_due", "declarations",
                "declarations_today"):
        total[key] = sum(row[key] for row in rows)
    for row in rows + [total]:
        row["percent"] = (100.0 * row["activated"] / row["target_adults"]
                          if row["target_adults"] else None)
    return {"rows": rows, "total": total, "report_date": report_date}


def count_groups(db, ward_code: str, report_date: date) -> list[dict]:
    """Count, with no cache, each live group's numbers on `report_date` (see `progress`);
    return the group rows in natural name order, without `percent`."""
    day_start, day_end = day_bounds(report_date)
    params = {"ward": ward_code, "cutoff": adult_cutoff(report_date),
              "day_start": day_start, "day_end": day_end}
    groups = {g["id"]: dict(g, adults=0, activated=0, activated_today=0, households=0,
                            visited=0, visited_today=0, follow_ups_due=0, declarations=0,
                            declarations_today=0)
              for g in db.query(
                  """SELECT id, name, cluster, target_adults FROM residential_groups
                     WHERE ward_code = :ward AND deleted_at IS NULL""", params)}

    def add(sql, *columns):
        for row in db.execute(sql, params).fetchall():
            group = groups.get(row[0])
            if group is not None:
                for column, value in zip(columns, row[1:]):
                    group[column] = value or 0

    # Each count walks the ward's live households in group order on the covering index
    # households_ward_live, so SQLite groups as it goes; the other tables are reached by
    # index seeks (residents_household_progress, visits_household_at, ...).
    add("""SELECT h.group_id, count(*) FROM households h INDEXED BY households_ward_live
           WHERE h.ward_code = :ward AND h.deleted_at IS NULL
           GROUP BY h.group_id""", "households")
    add("""SELECT h.group_id, count(*), sum(r.ihanoi_status = 'activated')
           FROM households h INDEXED BY households_ward_live
           JOIN residents r INDEXED BY residents_household_progress
             ON r.household_id = h.id AND r.deleted_at IS NULL
            AND r.dob BETWEEN '1800-01-01' AND :cutoff
           WHERE h.ward_code = :ward AND h.deleted_at IS NULL
           GROUP BY h.group_id""", "adults", "activated")
    add("""SELECT h.group_id, count(*), sum(v.today)
           FROM (SELECT household_id, max(visited_at >= :day_start) AS today
                 FROM visits INDEXED BY visits_household_at
                 WHERE deleted_at IS NULL AND visited_at < :day_end
                 GROUP BY household_id) AS v
           CROSS JOIN households h ON h.id = v.household_id
           WHERE h.ward_code = :ward AND h.deleted_at IS NULL
           GROUP BY h.group_id""", "visited", "visited_today")
    add("""SELECT h.group_id, count(*)
           FROM follow_ups f CROSS JOIN households h ON h.id = f.household_id
           WHERE f.ward_code = :ward AND f.closed_at IS NULL AND f.deleted_at IS NULL
             AND f.due_at < :day_end AND h.deleted_at IS NULL
           GROUP BY h.group_id""", "follow_ups_due")
    add("""SELECT h.group_id, count(DISTINCT c.resident_id)
           FROM onboarding_changes c
           CROSS JOIN residents r ON r.id = c.resident_id
           CROSS JOIN households h ON h.id = r.household_id
           WHERE c.ward_code = :ward AND c.field = 'ihanoi_status'
             AND c.new_value = 'activated'
             AND c.changed_at >= :day_start AND c.changed_at < :day_end
             AND r.ihanoi_status = 'activated' AND r.deleted_at IS NULL
             AND r.dob BETWEEN '1800-01-01' AND :cutoff AND h.deleted_at IS NULL
           GROUP BY h.group_id""", "activated_today")
    add("""SELECT h.group_id, count(*)
           FROM declarations d INDEXED BY declarations_ward_progress
           CROSS JOIN residents r ON r.id = d.resident_id
           CROSS JOIN households h ON h.id = r.household_id
           WHERE d.ward_code = :ward AND d.deleted_at IS NULL
             AND d.status IN ('recorded', 'submitted', 'verified', 'needs_fix')
             AND r.deleted_at IS NULL AND h.deleted_at IS NULL
           GROUP BY h.group_id""", "declarations")
    add("""SELECT h.group_id, count(DISTINCT d.id)
           FROM audit_log a
           CROSS JOIN declarations d ON d.id = a.entity_id
           CROSS JOIN residents r ON r.id = d.resident_id
           CROSS JOIN households h ON h.id = r.household_id
           WHERE a.at >= :day_start AND a.at < :day_end
             AND a.action = 'declaration_recorded' AND a.entity = 'declarations'
             AND d.ward_code = :ward AND d.status != 'draft' AND d.deleted_at IS NULL
             AND r.deleted_at IS NULL AND h.deleted_at IS NULL
           GROUP BY h.group_id""", "declarations_today")
    return sorted(groups.values(), key=lambda g: natural_key(g["name"]))


# Tables whose inserts can change a count; an insert shows as a higher max(rowid) (rows
# are never hard deleted), so they need no per-row trigger (schema 0010).
_INSERTED = ("households", "residents", "visits", "follow_ups", "onboarding_changes",
             "declarations")
_GENERATION_SQL = "SELECT " + ", ".join(
    ["(SELECT n FROM data_generations WHERE name = 'progress')"]
    + [f"(SELECT max(rowid) FROM {table})" for table in _INSERTED])


def _generation(db) -> str:
    """Return the version of the counted data: the generation that update and delete
    triggers bump, and the highest rowid of each counted table (inserts)."""
    return ".".join(str(v) for v in db.execute(_GENERATION_SQL).fetchone())


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
    report = progress(db, ward_code)
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
