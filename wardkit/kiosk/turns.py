"""A resident's turn at a kiosk (docs/ARCHITECTURE.md#kiosk): the answers typed so far,
one row per device, kept on the server so the device itself holds nothing. A turn idle for
KIOSK_IDLE_SECONDS (2 minutes) is over: it is never shown again, and it is deleted at the
device's next action, on reset, or by the clock's purge.

Turns are the resident's scratch pad, not records: they are not audited. What a turn
produces (a ticket, a kiosk request) is, in `queue.take_ticket`.
"""
from datetime import timedelta

from flask import current_app

from .. import clock
from ..db import write
from . import queries


def idle(turn: dict) -> bool:
    """Return True when the turn has been idle longer than the kiosk's idle limit."""
    limit = current_app.config["KIOSK_IDLE_SECONDS"]
    return (clock.now() - clock.parse(turn["last_seen_at"])).total_seconds() > limit


def current(db, device_id: str) -> dict | None:
    """Return the device's live turn (answers decoded), or None when there is none or it
    has been idle too long. Reads only: safe on GET."""
    turn = queries.get_turn(db, device_id)
    return None if turn is None or idle(turn) else turn


def start(db, device_id: str, flow: str) -> None:
    """Begin a new turn on the device for `flow`, forgetting any previous one."""
    with write(db):
        queries.put_turn(db, device_id, flow=flow, answers={})


def save_answer(db, device_id: str, flow: str, field: str, value) -> bool:
    """Keep `value` as the answer to `field` in the device's turn; return False (and
    forget the turn) when there is no live turn of this flow to keep it in."""
    with write(db):
        turn = queries.get_turn(db, device_id)
        if turn is None or turn["flow"] != flow or idle(turn):
            queries.delete_turns(db, device_id=device_id)
            return False
        answers = dict(turn["answers"], **{field: value})
        queries.put_turn(db, device_id, flow=flow, answers=answers,
                         started_at=turn["started_at"])
    return True


def forget(db, device_id: str) -> None:
    """End the resident's turn on the device: nothing they typed stays on the server."""
    with write(db):
        queries.delete_turns(db, device_id=device_id)


def forget_idle(db) -> int:
    """Delete every turn idle longer than the limit; return how many (the clock's job)."""
    limit = current_app.config["KIOSK_IDLE_SECONDS"]
    with write(db):
        return queries.delete_turns(
            db, idle_before=clock.iso(clock.now() - timedelta(seconds=limit)))
