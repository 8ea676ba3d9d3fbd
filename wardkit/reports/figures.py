"""The ward's figures per residential group: the one counting code behind both the live
`/progress` table and the daily report's snapshot (docs/ARCHITECTURE.md#reports), so the
two can never disagree at the same moment.

Counting rules (docs/DOMAIN-RULES.md#daily-report):
- only live groups, live households and live residents of those households count;
- adults are residents aged 15 or more on the report date, by date of birth (a birthday
  on the report date counts). A row whose `dob` is not an ISO date (which the registry
  never writes) is not counted as an adult rather than guessed;
- iHanoi "installed" is the adults marked installed or activated (an activated account
  has the app), "activated" those marked activated, both as officers marked them at the
  door; "confirmed" is the adults the ward's latest iHanoi account list names as
  activated (wardkit/reports/accounts.py), whatever the officers marked;
- "activated today" is the adults whose status was set to activated on the report day
  (Hanoi time) and still is;
- visits are live visits up to the end of the report day, by outcome; a household is
  "visited" after at least one of them;
- follow-ups are the open ones; "due" by the end of the report day, "overdue" due before
  the report day began;
- residents needing support at home are "reached" when their household had a visit done;
- declarations are live declarations past draft (recorded, submitted, verified or
  needs_fix) of live residents, by kind and status; "today" are those whose recording was
  audited on the report day.
"""
import json
from datetime import date, datetime

from flask_babel import gettext as _

from .. import clock
from ..db import write
from ..groups.queries import natural_key
from ..visits.days import adult_cutoff, day_bounds, local_today

# Every count a group row carries, in the order reports list them. The city file's schema
# (wardkit/reports/cityfile.py) is built from this list.
COUNTS = (
    "target_adults", "adults", "installed", "activated", "activated_today", "confirmed",
    "households", "visited", "visited_today",
    "visits_done", "visits_nobody_home", "visits_come_back", "visits_declined",
    "follow_ups_open", "follow_ups_due", "follow_ups_overdue",
    "support_needed", "support_reached",
    "declarations", "declarations_today", "licences", "vehicles",
    "declarations_recorded", "declarations_submitted", "declarations_verified",
    "declarations_needs_fix",
)


def ward_figures(db, ward_code: str, *, now: datetime | None = None) -> dict:
    """Return {"rows": [...], "total": {...}, "report_date": date} for the ward's live
    groups in natural name order, counted as at `now` (the current time unless given).

    Each row: `id`, `name`, `cluster`, every name in COUNTS, and `percent` (activated /
    target, None when the target is 0). `total` sums the counts for the ward.

    The per-group counts come from progress_cache when nothing they count has been
    written since (`_generation`); otherwise they are counted again and cached, in a
    short write of their own. This is the only code that writes the cache: recording a
    visit just makes the next read count again.
    """
    now = now or clock.now()
    report_date = local_today(now)
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
    total = {"id": None, "name": _("Whole ward"), "cluster": None}
    for name in COUNTS:
        total[name] = sum(row[name] for row in rows)
    for row in rows + [total]:
        row["percent"] = percent(row["activated"], row["target_adults"])
    return {"rows": rows, "total": total, "report_date": report_date}


def percent(part: int, whole: int) -> float | None:
    """Return part / whole in percent, or None when `whole` is 0."""
    return 100.0 * part / whole if whole else None


def count_groups(db, ward_code: str, report_date: date) -> list[dict]:
    """Count, with no cache, each live group's numbers on `report_date` (see
    `ward_figures`); return the group rows in natural name order, without `percent`."""
    day_start, day_end = day_bounds(report_date)
    params = {"ward": ward_code, "cutoff": adult_cutoff(report_date),
              "day_start": day_start, "day_end": day_end}
    groups = {g["id"]: dict(g, **{name: 0 for name in COUNTS[1:]})
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
    add("""SELECT h.group_id, count(*), sum(r.ihanoi_status IN ('installed', 'activated')),
                  sum(r.ihanoi_status = 'activated')
           FROM households h INDEXED BY households_ward_live
           JOIN residents r INDEXED BY residents_household_progress
             ON r.household_id = h.id AND r.deleted_at IS NULL
            AND r.dob BETWEEN '1800-01-01' AND :cutoff
           WHERE h.ward_code = :ward AND h.deleted_at IS NULL
           GROUP BY h.group_id""", "adults", "installed", "activated")
    add("""SELECT h.group_id, count(*), sum(v.today), sum(v.done), sum(v.nobody_home),
                  sum(v.come_back), sum(v.declined)
           FROM (SELECT household_id, max(visited_at >= :day_start) AS today,
                        sum(outcome = 'done') AS done,
                        sum(outcome = 'nobody_home') AS nobody_home,
                        sum(outcome = 'come_back') AS come_back,
                        sum(outcome = 'declined') AS declined
                 FROM visits INDEXED BY visits_household_at
                 WHERE deleted_at IS NULL AND visited_at < :day_end
                 GROUP BY household_id) AS v
           CROSS JOIN households h ON h.id = v.household_id
           WHERE h.ward_code = :ward AND h.deleted_at IS NULL
           GROUP BY h.group_id""", "visited", "visited_today", "visits_done",
        "visits_nobody_home", "visits_come_back", "visits_declined")
    add("""SELECT h.group_id, count(*), sum(f.due_at < :day_end), sum(f.due_at < :day_start)
           FROM follow_ups f CROSS JOIN households h ON h.id = f.household_id
           WHERE f.ward_code = :ward AND f.closed_at IS NULL AND f.deleted_at IS NULL
             AND h.deleted_at IS NULL
           GROUP BY h.group_id""", "follow_ups_open", "follow_ups_due", "follow_ups_overdue")
    add("""SELECT h.group_id, count(*),
                  sum(EXISTS (SELECT 1 FROM visits v INDEXED BY visits_household_at
                              WHERE v.household_id = h.id AND v.visited_at < :day_end
                                AND v.outcome = 'done' AND v.deleted_at IS NULL))
           FROM residents r INDEXED BY residents_household_support
           CROSS JOIN households h ON h.id = r.household_id
           WHERE r.ward_code = :ward AND r.needs_home_support = 1 AND r.deleted_at IS NULL
             AND h.deleted_at IS NULL
           GROUP BY h.group_id""", "support_needed", "support_reached")
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
    add("""SELECT h.group_id, count(DISTINCT m.resident_id)
           FROM ihanoi_list_matches m
           CROSS JOIN residents r ON r.id = m.resident_id
           CROSS JOIN households h ON h.id = r.household_id
           WHERE m.list_id = (SELECT id FROM ihanoi_lists WHERE ward_code = :ward
                              ORDER BY list_date DESC, imported_at DESC LIMIT 1)
             AND m.account_status = 'activated'
             AND r.deleted_at IS NULL AND r.dob BETWEEN '1800-01-01' AND :cutoff
             AND h.deleted_at IS NULL
           GROUP BY h.group_id""", "confirmed")
    add("""SELECT h.group_id, count(*), sum(d.kind = 'licence'), sum(d.kind = 'vehicle'),
                  sum(d.status = 'recorded'), sum(d.status = 'submitted'),
                  sum(d.status = 'verified'), sum(d.status = 'needs_fix')
           FROM declarations d INDEXED BY declarations_ward_report
           CROSS JOIN residents r ON r.id = d.resident_id
           CROSS JOIN households h ON h.id = r.household_id
           WHERE d.ward_code = :ward AND d.deleted_at IS NULL
             AND d.status IN ('recorded', 'submitted', 'verified', 'needs_fix')
             AND r.deleted_at IS NULL AND h.deleted_at IS NULL
           GROUP BY h.group_id""", "declarations", "licences", "vehicles",
        "declarations_recorded", "declarations_submitted", "declarations_verified",
        "declarations_needs_fix")
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
# are never hard deleted), so they need no per-row trigger (schema 0010). A new iHanoi
# account list is a new ihanoi_lists row (its matches are written with it).
_INSERTED = ("households", "residents", "visits", "follow_ups", "onboarding_changes",
             "declarations", "ihanoi_lists")
_GENERATION_SQL = "SELECT " + ", ".join(
    ["(SELECT n FROM data_generations WHERE name = 'progress')"]
    + [f"(SELECT max(rowid) FROM {table})" for table in _INSERTED])


def _generation(db) -> str:
    """Return the version of the counted data: the generation that update and delete
    triggers bump, and the highest rowid of each counted table (inserts)."""
    return ".".join(str(v) for v in db.execute(_GENERATION_SQL).fetchone())
