"""The kiosk's screens (docs/ARCHITECTURE.md#kiosk): large type, one question per screen,
for a resident at a community house. Only an enrolled kiosk device reaches them
(`security.check_access`); anyone else sees "this kiosk is not active".

The kiosk is write-only: a resident's answers go into their turn on the server and come
back only on the screen they were typed on; what is sent becomes a ticket, and the screen
answers with its number, nothing else. Every response is `no-store`; ending a turn
(idle for 2 minutes, or "Finish") is a full navigation to the start screen that also
clears the browser's cache and storage for the site.
"""
import functools

from flask import (Blueprint, abort, current_app, g, redirect, render_template, request,
                   session, url_for)
from flask_login import current_user

from ..db import get_db
from ..declarations import plates
from ..security import roles
from . import flows, queue, turns

bp = Blueprint("kiosk", __name__, url_prefix="/kiosk")

CLEAR_SITE_DATA = '"cache", "storage"'


def device_only(view):
    """Run the view for an active kiosk device; anyone else (a revoked, expired or
    unknown credential, or no credential) gets the "not active" screen, 403."""
    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if not (current_user.is_authenticated and current_user.role == "kiosk"):
            return inactive()
        return view(*args, **kwargs)
    return wrapped


def inactive():
    """Return the "this kiosk is not active" screen (403), clearing what the browser kept."""
    resp = current_app.make_response((render_template(
        "kiosk/inactive.html", reason=g.get("kiosk_refused")), 403))
    resp.headers["Clear-Site-Data"] = CLEAR_SITE_DATA
    return resp


def start_over():
    """Return the response that ends a turn: a 303 to the start screen that clears the
    browser's cache and storage for the site, with a fresh cookie session (the language
    and form token of the previous resident go with it)."""
    session.clear()
    resp = redirect(url_for("kiosk.start"), code=303)
    resp.headers["Clear-Site-Data"] = CLEAR_SITE_DATA
    return resp


@bp.route("")
@roles("kiosk")
@device_only
def start():
    """The start screen: what a resident can do here."""
    resp = current_app.make_response(render_template("kiosk/start.html"))
    resp.headers["Clear-Site-Data"] = CLEAR_SITE_DATA
    return resp


@bp.route("/start", methods=["POST"])
@roles("kiosk")
@device_only
def begin():
    """Begin a resident's turn on one of the flows; 303 to its first screen."""
    flow = request.form.get("flow", "")
    if flow not in flows.FLOWS:
        abort(400)
    turns.start(get_db(), current_user.id, flow)
    first = flows.steps(flow, {})[0]
    return redirect(url_for("kiosk.step", flow=flow, name=first.name), code=303)


@bp.route("/reset", methods=["POST"])
@roles("kiosk")
@device_only
def reset():
    """End the resident's turn (idle for 2 minutes, "Cancel" or "Finish"): the server
    forgets it and the browser is sent to the start screen with its storage cleared."""
    turns.forget(get_db(), current_user.id)
    return start_over()


def _turn_or_none(flow: str):
    turn = turns.current(get_db(), current_user.id)
    return turn if turn is not None and turn["flow"] == flow else None


def _render_step(flow, step, turn, *, value=None, error=None, status=200):
    answers = turn["answers"]
    shown = flows.steps(flow, answers)
    position = [s.name for s in shown].index(step.name) + 1 if step in shown else None
    plate = None
    if step.kind in ("readback", "review") and answers.get("plate"):
        checked = plates.check_plate(answers["plate"], vehicle_type=answers.get("vehicle_type"))
        plate = checked.value["display"] if checked.value else answers["plate"]
    return render_template(
        "kiosk/step.html", flow=flow, step=step, title=flows.TITLES[flow],
        value=answers.get(step.field, "") if value is None else value, error=error,
        position=position, count=len(shown), plate=plate,
        back=flows.before(flow, step.name, answers),
        review=flows.review_rows(flow, answers) if step.kind == "review" else None,
    ), status


@bp.route("/<flow>/<name>", methods=["GET"])
@roles("kiosk")
@device_only
def step(flow, name):
    """Show one question of the resident's turn, with what they answered before."""
    current = flows.find(flow, name)
    if current is None:
        abort(404)
    turn = _turn_or_none(flow)
    if turn is None or not current.show(turn["answers"]):
        return start_over()
    return _render_step(flow, current, turn)


@bp.route("/<flow>/<name>", methods=["POST"])
@roles("kiosk")
@device_only
def answer(flow, name):
    """Keep the answer to one question (checked as the officer's form checks it; a
    mistake is shown beside the field, 422) and go on to the next; on the last screen,
    send: the answers become a ticket (and a kiosk request) and the screen shows its
    number."""
    current = flows.find(flow, name)
    if current is None:
        abort(404)
    db = get_db()
    turn = _turn_or_none(flow)
    if turn is None:  # idle too long (or another flow's): forget it now
        turns.forget(db, current_user.id)
        return start_over()
    if current.kind == "review":
        missing = flows.first_unanswered(flow, turn["answers"])
        if missing is not None:  # a screen skipped by typing its address: ask it now
            return redirect(url_for("kiosk.step", flow=flow, name=missing.name), code=303)
        try:
            queue.take_ticket(db, current_user, flow, turn["answers"])
        except queue.TooManyRequests:
            return render_template("kiosk/busy.html"), 429
        return redirect(url_for("kiosk.ticket"), code=303)
    if current.kind == "readback":
        if request.form.get("value") != "yes":
            return redirect(url_for("kiosk.step", flow=flow, name="plate"), code=303)
        value = turn["answers"].get(current.field)
    else:
        raw = "" if "skip" in request.form and current.optional else request.form.get("value")
        value, error = flows.answer(current, raw, turn["answers"])
        if error:
            return _render_step(flow, current, turn, value=raw or "", error=error, status=422)
        if current is flows.AGREE and value != "yes":
            turns.forget(db, current_user.id)
            return start_over()
    if not turns.save_answer(db, current_user.id, flow, current.field, value):
        return start_over()
    answers = dict(turn["answers"], **{current.field: value})
    following = flows.after(flow, name, answers)
    return redirect(url_for("kiosk.step", flow=flow, name=following.name), code=303)


@bp.route("/ticket")
@roles("kiosk")
@device_only
def ticket():
    """Show the number of the ticket just taken: the kiosk shows nothing else of it."""
    turn = turns.current(get_db(), current_user.id)
    if turn is None or turn["ticket_number"] is None:
        return start_over()
    return render_template("kiosk/ticket.html", number=turn["ticket_number"])


@bp.app_template_global()
def kiosk_idle_seconds() -> int:
    """Return the seconds of inactivity after which a kiosk screen ends the turn."""
    return int(current_app.config["KIOSK_IDLE_SECONDS"])
