"""Help sessions (docs/ARCHITECTURE.md#kiosk): the evenings and weekends officers spend at
a community house. A leader plans one (day, hours, place, officers); a ticket or kiosk
request made while a session of the ward is open belongs to it.

What a session did is counted, never typed in (docs/DOMAIN-RULES.md#help-sessions):
- people served: its tickets that an officer served (being served or done);
- declarations recorded: declarations its officers recorded during its hours;
- iHanoi accounts activated: residents its officers marked activated during its hours.
The same counts, summed over a day's sessions, are in the daily figures and /progress.
"""
import json
from datetime import date, datetime, time

from .. import audit, clock
from ..db import insert_row, write
from ..ids import new_id

ENTITY = "help_sessions"


class SessionRefused(Exception):
    """A session that cannot be planned or cancelled (`code`: not_found, bad_officer)."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


def open_session(db, ward_code: str, now: datetime) -> dict | None:
    """Return the ward's help session open at `now` (Hanoi day and time), or None; when
    two overlap, the one that started last."""
    local = now.astimezone(clock.HANOI)
    return next(iter(db.query(
        """SELECT * FROM help_sessions
           WHERE ward_code = :ward AND day = :day AND deleted_at IS NULL
             AND starts_at <= :time AND ends_at > :time
           ORDER BY starts_at DESC LIMIT 1""",
        {"ward": ward_code, "day": local.date().isoformat(),
         "time": local.strftime("%H:%M")})), None)


def plan(db, ward_code: str, *, day: date, starts_at: str, ends_at: str, place: str,
         officer_ids: list[str], by: str) -> dict:
    """Plan a help session of the ward (values already checked by the form); return it.

    :raises SessionRefused: `bad_officer` when an officer is not an active officer,
        leader or admin of the ward.
    """
    with write(db):
        found = {r[0] for r in db.execute(
            """SELECT id FROM users WHERE ward_code = ? AND is_active = 1
               AND deleted_at IS NULL AND role IN ('admin', 'leader', 'officer')
               AND id IN (SELECT value FROM json_each(?))""",
            [ward_code, json.dumps(officer_ids)])}
        if not officer_ids or found != set(officer_ids):
            raise SessionRefused("bad_officer")
        now = clock.now_iso()
        row = {"id": new_id(), "ward_code": ward_code, "day": day.isoformat(),
               "starts_at": starts_at, "ends_at": ends_at, "place": place,
               "created_at": now, "created_by": by, "updated_at": now, "updated_by": by}
        insert_row(db, "help_sessions", row)
        for officer_id in sorted(found):
            insert_row(db, "help_session_officers",
                       {"session_id": row["id"], "officer_id": officer_id})
        audit.record(db, "help_session_planned", user_id=by, ward_code=ward_code,
                     entity=ENTITY, entity_id=row["id"],
                     detail={"day": row["day"], "officers": len(found)})
    return get_session(db, ward_code, row["id"])


def cancel(db, ward_code: str, session_id: str, *, by: str) -> None:
    """Cancel a planned session (its tickets stay, without a session).

    :raises SessionRefused: `not_found` (also another ward's)."""
    with write(db):
        if get_session(db, ward_code, session_id) is None:
            raise SessionRefused("not_found")
        now = clock.now_iso()
        db.execute("UPDATE help_sessions SET deleted_at = ?, updated_at = ?, updated_by = ? "
                   "WHERE id = ?", [now, now, by, session_id])
        db.execute("UPDATE queue_tickets SET help_session_id = NULL "
                   "WHERE help_session_id = ?", [session_id])
        audit.record(db, "help_session_cancelled", user_id=by, ward_code=ward_code,
                     entity=ENTITY, entity_id=session_id)


def get_session(db, ward_code: str, session_id: str) -> dict | None:
    """Return the ward's live session with `officers` (id, display_name), or None."""
    row = next(iter(db.query(
        "SELECT * FROM help_sessions WHERE id = ? AND ward_code = ? AND deleted_at IS NULL",
        [session_id, ward_code])), None)
    if row is not None:
        row["officers"] = list(db.query(
            """SELECT u.id, u.display_name FROM help_session_officers o
               JOIN users u ON u.id = o.officer_id WHERE o.session_id = ?
               ORDER BY u.display_name""", [session_id]))
    return row


def list_sessions(db, ward_code: str, *, limit: int = 60) -> list[dict]:
    """Return the ward's live sessions, latest day first, with their figures."""
    rows = list(db.query(
        """SELECT * FROM help_sessions WHERE ward_code = ? AND deleted_at IS NULL
           ORDER BY day DESC, starts_at DESC LIMIT ?""", [ward_code, limit]))
    return [dict(row, **figures(db, row)) for row in rows]


def bounds(session: dict) -> tuple[str, str]:
    """Return the stored (UTC) text of the session's start and end."""
    day = date.fromisoformat(session["day"])

    def at(hhmm):
        hour, minute = map(int, hhmm.split(":"))
        return clock.iso(datetime.combine(day, time(hour, minute), clock.HANOI))
    return at(session["starts_at"]), at(session["ends_at"])


def figures(db, session: dict) -> dict:
    """Return what the session did: `tickets` taken, `served`, `no_show`,
    `declarations` recorded and `activated` iHanoi accounts (see the module's rules)."""
    start, end = bounds(session)
    counted = db.execute(
        """SELECT count(*), coalesce(sum(status IN ('serving', 'done')), 0),
                  coalesce(sum(status = 'no_show'), 0)
           FROM queue_tickets WHERE help_session_id = ?""", [session["id"]]).fetchone()
    tickets = dict(zip(("tickets", "served", "no_show"), counted))
    params = {"session": session["id"], "start": start, "end": end,
              "ward": session["ward_code"]}
    tickets["declarations"] = db.execute(
        """SELECT count(DISTINCT d.id) FROM audit_log a
           JOIN declarations d ON d.id = a.entity_id
           WHERE a.action = 'declaration_recorded' AND a.entity = 'declarations'
             AND a.at >= :start AND a.at < :end AND d.ward_code = :ward
             AND d.status != 'draft' AND d.deleted_at IS NULL
             AND a.user_id IN (SELECT officer_id FROM help_session_officers
                               WHERE session_id = :session)""", params).fetchone()[0]
    tickets["activated"] = db.execute(
        """SELECT count(DISTINCT c.resident_id) FROM onboarding_changes c
           WHERE c.ward_code = :ward AND c.field = 'ihanoi_status'
             AND c.new_value = 'activated' AND c.changed_at >= :start AND c.changed_at < :end
             AND c.changed_by IN (SELECT officer_id FROM help_session_officers
                                  WHERE session_id = :session)""", params).fetchone()[0]
    return tickets


# The daily figures' help-session counts, in the order pages list them.
DAY_COUNTS = ("sessions", "tickets", "served", "declarations", "activated")


def day_figures(db, ward_code: str, day: date) -> dict:
    """Return the ward's help sessions of `day` summed: every name in DAY_COUNTS."""
    total = dict.fromkeys(DAY_COUNTS, 0)
    for session in db.query("SELECT * FROM help_sessions WHERE ward_code = ? AND day = ? "
                            "AND deleted_at IS NULL", [ward_code, day.isoformat()]):
        total["sessions"] += 1
        for name, value in figures(db, session).items():
            if name in total:
                total[name] += value
    return total
