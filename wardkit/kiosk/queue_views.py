"""The officers' side of the kiosk (docs/ARCHITECTURE.md#kiosk): the ward's queue
(`/queue`), serving one ticket (find the resident, turn a kiosk declaration into their
draft), and the hall's display of the numbers called (`/queue/display`)."""
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from .. import clock
from ..db import get_db
from ..declarations.forms import readback_rows
from ..declarations.workflow import DeclarationError
from ..htmx import page_or_fragment, wants_fragment
from ..residents import search as resident_search
from ..security import FIELD_ROLES, roles
from ..visits.days import local_today
from . import queries, queue

bp = Blueprint("queue", __name__, url_prefix="/queue")

TICKETS_TARGET = "queue-tickets"
RESULTS_TARGET = "queue-results"


def _waiting_minutes(ticket: dict) -> int:
    return int((clock.now() - clock.parse(ticket["created_at"])).total_seconds() // 60)


@bp.route("")
@roles(*FIELD_ROLES)
def index():
    """The ward's queue: tickets waiting (oldest first, with their waiting time), then
    those called or being served. The list refreshes itself every few seconds."""
    tickets = queries.open_tickets(get_db(), current_user.ward_code)
    for t in tickets:
        t["waiting_minutes"] = _waiting_minutes(t)
    return page_or_fragment("queue/index.html", "queue/_tickets.html", TICKETS_TARGET,
                            tickets=tickets,
                            waiting=sum(t["status"] == "waiting" for t in tickets))


@bp.route("/call-next", methods=["POST"])
@roles(*FIELD_ROLES)
def call_next():
    """Call the oldest waiting ticket: its number goes on the hall's display."""
    try:
        ticket = queue.call_next(get_db(), current_user.ward_code, by=current_user.id)
    except queue.QueueRefused:
        flash(_("Nobody is waiting."), "info")
        return redirect(url_for("queue.index"), code=303)
    flash(_("Number %(n)s called.", n=ticket["number"]), "success")
    return redirect(url_for("queue.index"), code=303)


def _ticket_or_404(ticket_id: str) -> dict:
    ticket = queries.get_ticket(get_db(), current_user.ward_code, ticket_id)
    if ticket is None:
        abort(404)
    return ticket


def _search_term(ticket: dict) -> str:
    return ticket["name"] or ticket["phone"] or ""


@bp.route("/<ticket_id>")
@roles(*FIELD_ROLES)
def ticket(ticket_id):
    """One ticket at the officer's desk: what the resident typed at the kiosk (the
    declaration read back, the plate large), and the registry search to find them,
    prefilled with the name or phone they gave."""
    row = _ticket_or_404(ticket_id)
    q = _search_term(row)
    rows, more = resident_search.search(get_db(), current_user.ward_code, q) if q \
        else ([], False)
    readback = readback_rows({"kind": row["request_kind"]}, row["request_fields"]) \
        if row["request_fields"] else None
    return render_template("queue/ticket.html", ticket=row, q=q, rows=rows, more=more,
                           readback=readback,
                           closed=row["status"] in ("done", "no_show"))


@bp.route("/<ticket_id>/search", methods=["POST"])
@roles(*FIELD_ROLES)
def search(ticket_id):
    """Search the registry for the ticket's resident (the term in the body, never the
    URL): the results fragment to htmx, the ticket page otherwise."""
    row = _ticket_or_404(ticket_id)
    q = request.form.get("q", "")[:100]
    rows, more = resident_search.search(get_db(), current_user.ward_code, q)
    context = {"ticket": row, "q": q, "rows": rows, "more": more, "readback": None,
               "closed": row["status"] in ("done", "no_show")}
    if wants_fragment(RESULTS_TARGET):
        return render_template("queue/_results.html", **context)
    return render_template("queue/ticket.html", **context)


@bp.route("/<ticket_id>/serve", methods=["POST"])
@roles(*FIELD_ROLES)
def serve(ticket_id):
    """Start serving the ticket and open it."""
    try:
        queue.serve(get_db(), current_user.ward_code, ticket_id, by=current_user.id)
    except queue.QueueRefused as refused:
        if refused.code == "not_found":
            abort(404)
        flash(_("This ticket is closed already."), "info")
    return redirect(url_for("queue.ticket", ticket_id=ticket_id), code=303)


@bp.route("/<ticket_id>/resident", methods=["POST"])
@roles(*FIELD_ROLES)
def choose_resident(ticket_id):
    """This is the ticket's resident: a declaration typed at the kiosk becomes their
    draft (channel kiosk), opened to read back and record as usual."""
    try:
        draft_id = queue.attach_resident(get_db(), current_user.ward_code, ticket_id,
                                         request.form.get("resident_id", ""),
                                         by=current_user.id)
    except queue.QueueRefused as refused:
        if refused.code == "not_found":
            abort(404)
        flash(_("This ticket is closed already."), "info")
        return redirect(url_for("queue.ticket", ticket_id=ticket_id), code=303)
    except DeclarationError:
        abort(404)
    if draft_id:
        flash(_("The declaration typed at the kiosk is now this resident’s draft. Read it "
                "back to them and record it."), "success")
        return redirect(url_for("declarations.edit", declaration_id=draft_id), code=303)
    flash(_("Resident found."), "success")
    return redirect(url_for("queue.ticket", ticket_id=ticket_id), code=303)


@bp.route("/<ticket_id>/close", methods=["POST"])
@roles(*FIELD_ROLES)
def close(ticket_id):
    """Close the ticket: done, or the resident did not come when called."""
    outcome = request.form.get("outcome")
    if outcome not in ("done", "no_show"):
        abort(400)
    try:
        row = queue.close(get_db(), current_user.ward_code, ticket_id, outcome,
                          by=current_user.id)
    except queue.QueueRefused as refused:
        if refused.code == "not_found":
            abort(404)
        flash(_("This ticket is closed already."), "info")
        return redirect(url_for("queue.index"), code=303)
    flash(_("Number %(n)s closed.", n=row["number"]), "success")
    return redirect(url_for("queue.index"), code=303)


@bp.route("/display")
@roles("kiosk", *FIELD_ROLES)
def display():
    """The hall's display (a kiosk device on a TV): the numbers being called, big, and
    how many are waiting. Numbers only, never a name. It reloads itself every few
    seconds."""
    called, waiting = queries.display_numbers(get_db(), current_user.ward_code,
                                              local_today().isoformat())
    return render_template("queue/display.html", called=called, waiting=waiting)
