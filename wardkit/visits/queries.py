"""SQL for home visits: assignments of officers to residential groups, the Today list, the
visit with its per-resident onboarding changes, follow-ups, and the household timeline.

Every function takes the caller's ward code: another ward's rows are simply not found.
Each user action (`record_visit`, `assign`, `unassign`) opens its own `write()` (joining
a caller's, if any) and records its audit row; the rest are reads.
Times are stored in UTC; "today" is the Hanoi day (days.py).
"""
import json
from datetime import date, datetime

from .. import audit, clock
from ..db import write
from ..groups.queries import natural_key
from ..ids import new_id
from .days import adult_cutoff, day_bounds, local_today

OUTCOMES = ("done", "nobody_home", "come_back", "declined")
# Outcomes after which the household needs no further visit (unless asked to come back).
FINISHED = ("done", "declined")
# A later visit with one of these outcomes closes the household's open follow-ups
# ("come back" closes the old appointment and makes a new one).
CLOSES_FOLLOW_UPS = ("done", "declined", "come_back")
IHANOI_CHOICES = ("not_installed", "installed", "activated")
# This many "nobody home" in a row flag the household for an evening or weekend round.
NOBODY_HOME_FLAG = 3
TODAY_PAGE = 50


class VisitError(Exception):
    """A visit that cannot be recorded: `code` is `not_found` or `bad_resident`."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


# --- assignments ---------------------------------------------------------------------

def assignable_users(db, ward_code: str) -> list[dict]:
    """Return the ward's active officers and leaders (who can walk a round), by name."""
    return list(db.query(
        """SELECT id, display_name, username, role FROM users
           WHERE ward_code = :ward AND role IN ('officer', 'leader') AND is_active = 1
             AND deleted_at IS NULL
           ORDER BY display_name, username""", {"ward": ward_code}))


def get_assignable_user(db, ward_code: str, user_id: str) -> dict | None:
    """Return the ward's active officer or leader with `user_id`, or None."""
    return next((u for u in assignable_users(db, ward_code) if u["id"] == user_id), None)


def list_assignments(db, ward_code: str) -> list[dict]:
    """Return the ward's live assignments with `group_name` and `officer_name`, by group
    (natural order) then officer name."""
    rows = list(db.query(
        """SELECT a.id, a.group_id, a.officer_id, a.created_at, g.name AS group_name,
                  u.display_name AS officer_name
           FROM assignments a
           JOIN residential_groups g ON g.id = a.group_id AND g.deleted_at IS NULL
           JOIN users u ON u.id = a.officer_id
           WHERE a.ward_code = :ward AND a.deleted_at IS NULL""", {"ward": ward_code}))
    return sorted(rows, key=lambda r: (natural_key(r["group_name"]), r["officer_name"]))


def assigned_group_ids(db, ward_code: str, officer_id: str) -> list[str]:
    """Return the ids of the live groups assigned to the officer in the ward."""
    return [r[0] for r in db.execute(
        """SELECT a.group_id FROM assignments a
           JOIN residential_groups g ON g.id = a.group_id AND g.deleted_at IS NULL
           WHERE a.officer_id = ? AND a.ward_code = ? AND a.deleted_at IS NULL""",
        [officer_id, ward_code])]


def unassigned_groups(db, ward_code: str) -> list[dict]:
    """Return the ward's live groups nobody is assigned to, in natural name order."""
    rows = list(db.query(
        """SELECT g.id, g.name FROM residential_groups g
           WHERE g.ward_code = :ward AND g.deleted_at IS NULL
             AND NOT EXISTS (SELECT 1 FROM assignments a JOIN users u ON u.id = a.officer_id
                             WHERE a.group_id = g.id AND a.deleted_at IS NULL
                               AND u.is_active = 1 AND u.deleted_at IS NULL)""",
        {"ward": ward_code}))
    return sorted(rows, key=lambda r: natural_key(r["name"]))


def assign(db, ward_code: str, group_id: str, officer_id: str, *, by: str | None) -> dict:
    """Assign the officer to the group (both already checked to be the ward's); return
    the live assignment, the existing one when it is already there (then nothing is
    written or audited)."""
    with write(db):
        existing = list(db.query(
            """SELECT * FROM assignments WHERE group_id = :g AND officer_id = :o
               AND ward_code = :ward AND deleted_at IS NULL""",
            {"g": group_id, "o": officer_id, "ward": ward_code}))
        if existing:
            return existing[0]
        now = clock.now_iso()
        row = {"id": new_id(), "ward_code": ward_code, "group_id": group_id,
               "officer_id": officer_id, "created_at": now, "updated_at": now,
               "updated_by": by, "deleted_at": None}
        db.table("assignments").insert(row)
        audit.record(db, "assignment_created", user_id=by, ward_code=ward_code,
                     entity="assignments", entity_id=row["id"],
                     detail={"group_id": group_id, "officer_id": officer_id})
    return row


def unassign(db, ward_code: str, assignment_id: str, *, by: str | None) -> bool:
    """End a live assignment of the ward (soft delete); return False when there is none."""
    with write(db):
        now = clock.now_iso()
        ended = db.execute(
            """UPDATE assignments SET deleted_at = :now, updated_at = :now, updated_by = :by
               WHERE id = :id AND ward_code = :ward AND deleted_at IS NULL""",
            {"now": now, "by": by, "id": assignment_id, "ward": ward_code}).rowcount
        if ended:
            audit.record(db, "assignment_ended", user_id=by, ward_code=ward_code,
                         entity="assignments", entity_id=assignment_id)
    return bool(ended)


# --- Today ---------------------------------------------------------------------------

# Every live household of the chosen groups in round order, with just what ranks and
# counts it (the page's rows are filled in by _TODAY_PAGE_SQL). Each sub-select is one
# index seek (visits_household_at, follow_ups_open_household, residents_household_support),
# so the cost grows with the officer's households only; `last_visit` is
# "<visited_at> <outcome>" (visited_at is 27 characters wide).
_TODAY_SQL = """
WITH hh AS MATERIALIZED (
    SELECT h.id, h.address_folded,
        (SELECT v.visited_at || ' ' || v.outcome FROM visits v INDEXED BY visits_household_at
            WHERE v.household_id = h.id AND v.deleted_at IS NULL
            ORDER BY v.visited_at DESC, v.rowid DESC LIMIT 1) AS last_visit,
        (SELECT min(f.due_at) FROM follow_ups f WHERE f.household_id = h.id
            AND f.closed_at IS NULL AND f.deleted_at IS NULL) AS due_at,
        EXISTS (SELECT 1 FROM residents r INDEXED BY residents_household_support
            WHERE r.household_id = h.id
            AND r.needs_home_support = 1 AND r.deleted_at IS NULL) AS needs_support
    FROM households h
    WHERE h.ward_code = :ward AND h.deleted_at IS NULL
      AND h.group_id IN (SELECT value FROM json_each(:groups))
)
SELECT id, last_visit, due_at, needs_support,
    CASE
        WHEN due_at >= :day_start AND due_at < :day_end THEN 0
        WHEN due_at < :day_start THEN 1
        WHEN due_at IS NOT NULL THEN 4
        WHEN last_visit IS NULL THEN 2
        WHEN substr(last_visit, 29) IN ('done', 'declined') THEN 5
        WHEN needs_support THEN 3
        ELSE 4
    END AS rank
FROM hh
ORDER BY rank, CASE WHEN rank IN (0, 1) THEN due_at END, needs_support DESC,
         address_folded, id
"""

# The shown page's households: address, group name, and, for those whose latest visit
# found nobody home (:nobody), how many visits in a row did.
_TODAY_PAGE_SQL = """
SELECT h.id, h.address, h.group_id, coalesce(g.name, '') AS group_name,
    CASE WHEN h.id IN (SELECT value FROM json_each(:nobody)) THEN
        (SELECT count(*) FROM visits v WHERE v.household_id = h.id
            AND v.deleted_at IS NULL AND v.outcome = 'nobody_home'
            AND v.visited_at > coalesce((SELECT max(w.visited_at) FROM visits w
                WHERE w.household_id = h.id AND w.deleted_at IS NULL
                  AND w.outcome != 'nobody_home'), ''))
    ELSE 0 END AS nobody_home_streak
FROM households h LEFT JOIN residential_groups g ON g.id = h.group_id
WHERE h.id IN (SELECT value FROM json_each(:ids)) AND h.ward_code = :ward
"""


def today(db, ward_code: str, group_ids: list[str], *, page: int = 0,
          now: datetime | None = None) -> dict:
    """Return page `page` (TODAY_PAGE rows from 0) of the Today list for households of
    `group_ids` (all already the ward's), with counts over the whole list.

    Return {"rows": [...], "counts": {...}, "more": bool}. Rows come in round order:
    follow-ups due today (by time), overdue follow-ups, never visited, visited but
    vulnerable (someone needs support at home), the rest by address, and finished
    households last; within a rank vulnerable households first, then by address. Each
    row has `id`, `address`, `group_id`, `group_name`, `last_visit_at`, `last_outcome`,
    `due_at`, `needs_support`, `rank`, `state` (to_visit, come_back or done), `overdue`,
    `nobody_home_streak` and `evening_round` (nobody home NOBODY_HOME_FLAG times in a
    row). Counts: to_visit, come_back, done, visited_today. `more` is whether a later
    page has rows.
    """
    now = now or clock.now()
    day_start, day_end = day_bounds(local_today(now))
    now_iso = clock.iso(now)
    ranked = db.execute(_TODAY_SQL, {"ward": ward_code, "groups": json.dumps(group_ids),
                                     "day_start": day_start, "day_end": day_end}).fetchall()
    counts = {"to_visit": 0, "come_back": 0, "done": 0, "visited_today": 0}
    for _id, last_visit, due_at, _support, _rank in ranked:
        counts[_state(due_at, last_visit)] += 1
        if last_visit is not None and last_visit[:27] >= day_start:
            counts["visited_today"] += 1
    start = page * TODAY_PAGE
    shown = ranked[start:start + TODAY_PAGE]
    nobody = [r[0] for r in shown if r[1] is not None and r[1][28:] == "nobody_home"]
    details = {row["id"]: row for row in db.query(_TODAY_PAGE_SQL, {
        "ids": json.dumps([r[0] for r in shown]), "nobody": json.dumps(nobody),
        "ward": ward_code})}
    rows = []
    for household_id, last_visit, due_at, needs_support, rank in shown:
        row = details[household_id]
        row.update(
            last_visit_at=last_visit[:27] if last_visit else None,
            last_outcome=last_visit[28:] if last_visit else None,
            due_at=due_at, needs_support=bool(needs_support), rank=rank,
            state=_state(due_at, last_visit),
            overdue=due_at is not None and due_at < now_iso,
            evening_round=row["nobody_home_streak"] >= NOBODY_HOME_FLAG)
        rows.append(row)
    return {"rows": rows, "counts": counts, "more": len(ranked) > start + TODAY_PAGE}


def _state(due_at: str | None, last_visit: str | None) -> str:
    """Return a Today row's state from its earliest open follow-up and its last visit."""
    if due_at is not None:
        return "come_back"
    if last_visit is not None and last_visit[28:] in FINISHED:
        return "done"
    return "to_visit"


# --- a household's state, residents and visits ---------------------------------------

def household_state(db, household_id: str, *, now: datetime | None = None) -> dict:
    """Return what the visit screen shows about the household: `visit_count`,
    `last_visit` (row or None), `open_follow_up` (earliest open one or None),
    `overdue`, `nobody_home_streak` and `evening_round`."""
    now_iso = clock.iso(now or clock.now())
    visits = list(db.query(
        """SELECT outcome, visited_at FROM visits WHERE household_id = :h
           AND deleted_at IS NULL ORDER BY visited_at DESC, rowid DESC""", {"h": household_id}))
    streak = 0
    for visit in visits:
        if visit["outcome"] != "nobody_home":
            break
        streak += 1
    follow_ups = list(db.query(
        """SELECT * FROM follow_ups WHERE household_id = :h AND closed_at IS NULL
           AND deleted_at IS NULL ORDER BY due_at LIMIT 1""", {"h": household_id}))
    follow_up = follow_ups[0] if follow_ups else None
    return {
        "visit_count": len(visits), "last_visit": visits[0] if visits else None,
        "open_follow_up": follow_up,
        "overdue": follow_up is not None and follow_up["due_at"] < now_iso,
        "nobody_home_streak": streak, "evening_round": streak >= NOBODY_HOME_FLAG,
    }


def adult_residents(db, household_id: str, report_date: date) -> list[dict]:
    """Return the household's live residents aged 15+ on `report_date` (head first, then
    by date of birth), with their iHanoi status and Zalo OA flag."""
    return list(db.query(
        """SELECT id, full_name, dob, relation, ihanoi_status, is_zalo_followed,
                  needs_home_support
           FROM residents
           WHERE household_id = :h AND deleted_at IS NULL
             AND dob BETWEEN '1800-01-01' AND :cutoff
           ORDER BY relation != 'head', dob, sort_key""",
        {"h": household_id, "cutoff": adult_cutoff(report_date)}))


def get_visit(db, ward_code: str, visit_id: str) -> dict | None:
    """Return the ward's visit with `visit_id`, or None."""
    rows = list(db.query("SELECT * FROM visits WHERE id = :id AND ward_code = :ward",
                         {"id": visit_id, "ward": ward_code}))
    return rows[0] if rows else None


def list_follow_ups(db, household_id: str) -> list[dict]:
    """Return all follow-ups of the household, oldest due first."""
    return list(db.query("SELECT * FROM follow_ups WHERE household_id = :h ORDER BY due_at",
                         {"h": household_id}))


def record_visit(db, *, ward_code: str, household_id: str, by: str, outcome: str,
                 notes: str | None = None, follow_up_at: datetime | None = None,
                 onboarding: dict | None = None, at: datetime | None = None) -> dict:
    """Record a visit by the officer `by` and its onboarding changes in one write
    transaction; return the visit row. `at` is when the visit happened (now unless
    given: the demo seed writes a history).

    `onboarding` maps resident ids of the household to {"ihanoi_status": ...,
    "is_zalo_followed": 0/1} (either key may be missing: unchanged). A visit that ends
    done, declined or come back closes the household's open follow-ups; come back opens
    a new one due at `follow_up_at`. Everything is audited (ids and codes only). The
    progress report sees the new rows by itself (its cache key moves on: progress.py).

    :raises VisitError: `not_found` (household not a live one of the ward),
        `bad_resident` (an onboarding id not a live resident of the household).
    :raises ValueError: a bad outcome, or come back without `follow_up_at`.
    """
    if outcome not in OUTCOMES:
        raise ValueError(f"bad outcome {outcome!r}")
    if (outcome == "come_back") != (follow_up_at is not None):
        raise ValueError("come_back needs follow_up_at, other outcomes none")
    with write(db):
        found = db.execute(
            "SELECT 1 FROM households WHERE id = ? AND ward_code = ? AND deleted_at IS NULL",
            [household_id, ward_code]).fetchone()
        if not found:
            raise VisitError("not_found")
        now = clock.iso(at) if at is not None else clock.now_iso()
        visit = {
            "id": new_id(), "ward_code": ward_code, "household_id": household_id,
            "officer_id": by, "visited_at": now, "outcome": outcome,
            "notes": notes or None,
            "follow_up_on": clock.iso(follow_up_at) if follow_up_at else None,
            "created_at": now, "updated_at": now, "updated_by": by, "deleted_at": None,
        }
        db.table("visits").insert(visit)
        closed = 0
        if outcome in CLOSES_FOLLOW_UPS:
            closed = db.execute(
                """UPDATE follow_ups SET closed_at = :now, closed_by_visit_id = :visit,
                       updated_at = :now, updated_by = :by
                   WHERE household_id = :h AND closed_at IS NULL AND deleted_at IS NULL""",
                {"now": now, "visit": visit["id"], "by": by, "h": household_id},
            ).rowcount
        if outcome == "come_back":
            db.table("follow_ups").insert({
                "id": new_id(), "ward_code": ward_code, "household_id": household_id,
                "visit_id": visit["id"], "due_at": visit["follow_up_on"], "closed_at": None,
                "closed_by_visit_id": None, "created_at": now, "updated_at": now,
                "updated_by": by, "deleted_at": None,
            })
        audit.record(db, "visit_recorded", user_id=by, ward_code=ward_code,
                     entity="households", entity_id=household_id,
                     detail={"visit_id": visit["id"], "outcome": outcome,
                             "follow_ups_closed": closed})
        apply_onboarding(db, ward_code=ward_code, household_id=household_id,
                         changes=onboarding or {}, by=by, visit_id=visit["id"], now=now)
    return visit


def apply_onboarding(db, *, ward_code: str, household_id: str, changes: dict,
                     by: str | None, visit_id: str | None, now: str) -> int:
    """Save per-resident iHanoi status and Zalo OA changes; return how many values
    changed. Each change gets an onboarding_changes row and an audit entry. Part of
    `record_visit`, inside its transaction.

    :raises VisitError: `bad_resident` for an id that is not a live resident of the
        household.
    """
    if not changes:
        return 0
    current = {r["id"]: r for r in db.query(
        """SELECT id, ihanoi_status, is_zalo_followed FROM residents
           WHERE household_id = :h AND ward_code = :ward AND deleted_at IS NULL""",
        {"h": household_id, "ward": ward_code})}
    changed_count = 0
    for resident_id, wanted in changes.items():
        old = current.get(resident_id)
        if old is None:
            raise VisitError("bad_resident")
        updates = {}
        for field in ("ihanoi_status", "is_zalo_followed"):
            if field in wanted and wanted[field] is not None and wanted[field] != old[field]:
                updates[field] = wanted[field]
        if not updates:
            continue
        db.execute(
            f"""UPDATE residents SET {', '.join(f'{k} = :{k}' for k in updates)},
                    updated_at = :now, updated_by = :by WHERE id = :id""",
            {**updates, "now": now, "by": by, "id": resident_id})
        for field, value in updates.items():
            db.table("onboarding_changes").insert({
                "id": new_id(), "ward_code": ward_code, "resident_id": resident_id,
                "household_id": household_id, "visit_id": visit_id, "field": field,
                "old_value": str(old[field]), "new_value": str(value), "changed_at": now,
                "changed_by": by,
            })
        audit.record(db, "resident_onboarding_updated", user_id=by, ward_code=ward_code,
                     entity="residents", entity_id=resident_id,
                     detail={"fields": sorted(updates), "visit_id": visit_id,
                             **{k: v for k, v in updates.items() if k == "ihanoi_status"}})
        changed_count += len(updates)
    return changed_count


# --- the household timeline ----------------------------------------------------------

_DECLARATION_ACTIONS = ("declaration_created", "declaration_recorded",
                        "declaration_submitted", "declaration_verified",
                        "declaration_needs_fix")


def timeline(db, ward_code: str, household_id: str, *, limit: int = 50) -> list[dict]:
    """Return the household's visits, onboarding changes and declaration steps, newest
    first, each {"kind": "visit"|"change"|"declaration", "at", "user_name", ...}:
    visits carry `outcome`, `notes`, `follow_up_on`; changes `resident_name`, `field`,
    `old_value`, `new_value`; declarations `resident_name`, `action`, `declaration_kind`.
    """
    params = {"h": household_id, "ward": ward_code, "limit": limit}
    items = [dict(row, kind="visit") for row in db.query(
        """SELECT v.id, v.visited_at AS at, v.outcome, v.notes, v.follow_up_on,
                  u.display_name AS user_name
           FROM visits v LEFT JOIN users u ON u.id = v.officer_id
           WHERE v.household_id = :h AND v.ward_code = :ward AND v.deleted_at IS NULL
           ORDER BY v.visited_at DESC LIMIT :limit""", params)]
    items += [dict(row, kind="change") for row in db.query(
        """SELECT c.id, c.changed_at AS at, c.field, c.old_value, c.new_value,
                  r.full_name AS resident_name, u.display_name AS user_name
           FROM onboarding_changes c
           JOIN residents r ON r.id = c.resident_id
           LEFT JOIN users u ON u.id = c.changed_by
           WHERE c.household_id = :h AND c.ward_code = :ward
           ORDER BY c.changed_at DESC LIMIT :limit""", params)]
    actions = ", ".join(f"'{a}'" for a in _DECLARATION_ACTIONS)  # constants, not input
    items += [dict(row, kind="declaration") for row in db.query(
        f"""SELECT a.id, a.at, a.action, d.kind AS declaration_kind,
                   r.full_name AS resident_name, u.display_name AS user_name
            FROM residents r
            JOIN declarations d ON d.resident_id = r.id AND d.deleted_at IS NULL
            JOIN audit_log a ON a.entity = 'declarations' AND a.entity_id = d.id
            LEFT JOIN users u ON u.id = a.user_id
            WHERE r.household_id = :h AND r.ward_code = :ward
              AND a.action IN ({actions})
            ORDER BY a.at DESC LIMIT :limit""", params)]
    items.sort(key=lambda item: (item["at"], item["kind"] == "visit"), reverse=True)
    return items[:limit]
