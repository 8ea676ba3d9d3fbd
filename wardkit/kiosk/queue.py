"""The ward's queue (docs/ARCHITECTURE.md#kiosk): tickets taken at a kiosk, called and
served by officers; a declaration typed at the kiosk becomes the served resident's draft.

Each function is one action: it opens `write()` and records its audit row, which holds
numbers, statuses and ids, never what a resident typed.
"""
import json
from datetime import timedelta

from flask import current_app

from .. import audit, clock
from ..db import write
from ..declarations import queries as declaration_queries
from ..ids import new_id
from ..visits.days import local_today
from . import flows, queries, sessions

ENTITY = "queue_tickets"


class TooManyRequests(Exception):
    """The kiosk made KIOSK_MAX_REQUESTS_PER_MINUTE tickets in the last minute."""


class QueueRefused(Exception):
    """A queue action that does not apply (`code`: not_found, closed, nobody_waiting)."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


def take_ticket(db, device, flow: str, answers: dict) -> int:
    """Turn the resident's answers into a ticket of the ward's queue (and, for a
    declaration, a kiosk request attached to it, linked to no resident); keep only the
    ticket's number in the turn; return the number. Numbers restart every Hanoi day.

    :raises TooManyRequests: past the kiosk's limit per minute (nothing is saved).
    """
    limit = current_app.config["KIOSK_MAX_REQUESTS_PER_MINUTE"]
    now = clock.now()
    with write(db):
        since = clock.iso(now - timedelta(minutes=1))
        if queries.tickets_since(db, device.id, since) >= limit:
            raise TooManyRequests()
        day = local_today(now).isoformat()
        number = queries.next_number(db, device.ward_code, day)
        session = sessions.open_session(db, device.ward_code, now)
        reason = answers.get("reason") if flow == "ticket" else "declaration"
        ticket = {
            "id": new_id(), "ward_code": device.ward_code, "day": day, "number": number,
            "reason": reason, "name": answers.get("name"), "phone": answers.get("phone"),
            "device_id": device.id, "help_session_id": session["id"] if session else None,
            "status": "waiting", "created_at": clock.iso(now),
        }
        queries.insert_ticket(db, ticket)
        detail = {"number": number, "reason": reason}
        if flow in ("vehicle", "licence"):
            request_id = new_id()
            queries.insert_request(db, {
                "id": request_id, "ward_code": device.ward_code, "ticket_id": ticket["id"],
                "kind": flow, "created_at": clock.iso(now),
                "fields": json.dumps(flows.request_fields(flow, answers), ensure_ascii=False),
            })
            detail["request"] = flow
        queries.put_turn(db, device.id, flow="done", answers={}, ticket_number=number)
        audit.record(db, "kiosk_ticket_taken", user_id=None, ward_code=device.ward_code,
                     entity=ENTITY, entity_id=ticket["id"],
                     detail={**detail, "kiosk": device.id})
    return number


def _ticket(db, ward_code: str, ticket_id: str) -> dict:
    ticket = queries.get_ticket(db, ward_code, ticket_id)
    if ticket is None:
        raise QueueRefused("not_found")
    return ticket


def call_next(db, ward_code: str, *, by: str) -> dict:
    """Call the ward's oldest waiting ticket (its number goes on the display); return it.

    :raises QueueRefused: `nobody_waiting`."""
    with write(db):
        ticket = queries.oldest_waiting(db, ward_code)
        if ticket is None:
            raise QueueRefused("nobody_waiting")
        queries.update_ticket(db, ticket["id"], status="called", called_at=clock.now_iso(),
                              called_by=by)
        audit.record(db, "queue_called", user_id=by, ward_code=ward_code, entity=ENTITY,
                     entity_id=ticket["id"], detail={"number": ticket["number"]})
        return queries.get_ticket(db, ward_code, ticket["id"])


def serve(db, ward_code: str, ticket_id: str, *, by: str) -> dict:
    """Start serving the ticket (the resident is at the officer's desk); return it.

    :raises QueueRefused: `not_found` (also another ward's), `closed`."""
    with write(db):
        ticket = _ticket(db, ward_code, ticket_id)
        if ticket["status"] in ("done", "no_show"):
            raise QueueRefused("closed")
        if ticket["status"] != "serving":
            now = clock.now_iso()
            queries.update_ticket(db, ticket_id, status="serving", served_at=now,
                                  served_by=by, called_at=ticket["called_at"] or now,
                                  called_by=ticket["called_by"] or by)
            audit.record(db, "queue_serving", user_id=by, ward_code=ward_code,
                         entity=ENTITY, entity_id=ticket_id,
                         detail={"number": ticket["number"]})
        return queries.get_ticket(db, ward_code, ticket_id)


def attach_resident(db, ward_code: str, ticket_id: str, resident_id: str, *,
                    by: str) -> str | None:
    """Say who the ticket's resident is in the registry. A declaration typed at the kiosk
    becomes that resident's draft, channel `kiosk`, with every field the resident gave
    (what they typed leaves the request); return the draft's id, or None when the ticket
    has no declaration waiting.

    :raises QueueRefused: `not_found` (ticket or resident unknown or another ward's),
        `closed`.
    :raises DeclarationError: from the draft, as for an officer's own.
    """
    with write(db):
        ticket = _ticket(db, ward_code, ticket_id)
        if ticket["status"] in ("done", "no_show"):
            raise QueueRefused("closed")
        found = db.execute("SELECT 1 FROM residents WHERE id = ? AND ward_code = ? "
                           "AND deleted_at IS NULL", [resident_id, ward_code]).fetchone()
        if not found:
            raise QueueRefused("not_found")
        now = clock.now_iso()
        queries.update_ticket(db, ticket_id, resident_id=resident_id, status="serving",
                              served_at=ticket["served_at"] or now,
                              served_by=ticket["served_by"] or by)
        audit.record(db, "queue_resident_found", user_id=by, ward_code=ward_code,
                     entity=ENTITY, entity_id=ticket_id,
                     detail={"number": ticket["number"], "resident_id": resident_id})
        if not ticket["request_id"] or ticket["declaration_id"]:
            return ticket["declaration_id"]
        draft = declaration_queries.create_draft(
            db, ward_code=ward_code, resident_id=resident_id, kind=ticket["request_kind"],
            channel="kiosk", by=by)
        declaration_queries.save_draft(db, ward_code, draft["id"],
                                       ticket["request_fields"] or {}, by=by, reload=False)
        db.execute("""UPDATE kiosk_requests SET declaration_id = ?, fields = NULL,
                      converted_at = ?, converted_by = ? WHERE id = ?""",
                   [draft["id"], now, by, ticket["request_id"]])
        return draft["id"]


def close(db, ward_code: str, ticket_id: str, outcome: str, *, by: str) -> dict:
    """Close the ticket as `done` or `no_show`; the name and phone the resident typed are
    dropped with it. Return the ticket as it was.

    :raises QueueRefused: `not_found`, `closed`."""
    if outcome not in ("done", "no_show"):
        raise ValueError(outcome)
    with write(db):
        ticket = _ticket(db, ward_code, ticket_id)
        if ticket["status"] in ("done", "no_show"):
            raise QueueRefused("closed")
        queries.update_ticket(db, ticket_id, status=outcome, closed_at=clock.now_iso(),
                              closed_by=by, name=None, phone=None)
        audit.record(db, f"queue_{outcome}", user_id=by, ward_code=ward_code, entity=ENTITY,
                     entity_id=ticket_id, detail={"number": ticket["number"]})
        return ticket


def purge(db) -> dict:
    """Delete the tickets and kiosk requests never processed within KIOSK_PURGE_DAYS,
    and every idle turn; audited per ward with the counts. Return {ward: counts}."""
    days = current_app.config["KIOSK_PURGE_DAYS"]
    before = clock.iso(clock.now() - timedelta(days=days))
    idle_before = clock.iso(clock.now() - timedelta(
        seconds=current_app.config["KIOSK_IDLE_SECONDS"]))
    purged = {}
    with write(db):
        tickets, requests = queries.stale_ids(db, before)
        wards = {}
        for table, ids in (("kiosk_requests", requests), ("queue_tickets", tickets)):
            for ward, n in db.execute(
                    f"SELECT ward_code, count(*) FROM {table} WHERE id IN "
                    "(SELECT value FROM json_each(?)) GROUP BY ward_code", [json.dumps(ids)]):
                wards.setdefault(ward, {"tickets": 0, "requests": 0})[
                    "tickets" if table == "queue_tickets" else "requests"] = n
        queries.delete_rows(db, "kiosk_requests", requests)
        queries.delete_rows(db, "queue_tickets", tickets)
        queries.delete_turns(db, idle_before=idle_before)
        for ward, counts in sorted(wards.items()):
            audit.record(db, "kiosk_purged", user_id=None, ward_code=ward,
                         entity=ENTITY, detail={**counts, "days": days})
            purged[ward] = counts
    return purged
