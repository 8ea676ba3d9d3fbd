"""The hub's two device routes, `POST /sync/push` and `GET /sync/pull`
(docs/ARCHITECTURE.md#sync). They are authenticated by the kit's key (a push is sealed
under it; a pull request carries an HMAC made with it), never by a login cookie, so they
are the only routes exempt from CSRF. Failures are throttled like logins."""
from flask import Blueprint, Response, abort, current_app, jsonify, request

from ..db import get_db
from ..security import login_retry_after
from . import bundles, enrol, queries, rounds
from .apply import Refused

bp = Blueprint("sync", __name__)

THROTTLE_NAME = "sync-device"
OCTETS = "application/octet-stream"


def _throttled():
    wait = login_retry_after(get_db(), THROTTLE_NAME, request.remote_addr or "")
    if wait:
        response = jsonify(refused="too many failed attempts")
        response.status_code = 429
        response.headers["Retry-After"] = str(wait)
        return response
    return None


def _failed(reason: str, status: int = 403):
    rounds.count_failure(get_db(), THROTTLE_NAME, request.remote_addr or "")
    response = jsonify(refused=reason)
    response.status_code = status
    return response


@bp.post("/sync/push")
def push():
    """Apply a kit's push (answering its sealed ack) or a kit's join (answering the
    sealed welcome). 403 with the reason when refused; 429 when throttled."""
    if (blocked := _throttled()) is not None:
        return blocked
    db = get_db()
    if queries.is_kit(db):
        abort(404)
    data = request.get_data(cache=False)
    try:
        kind = bundles.read_header(data).get("kind")
    except bundles.BundleError as exc:
        return _failed(exc.reason)
    try:
        if kind == "join":
            return Response(enrol.receive_join(db, data), mimetype=OCTETS)
        device, result = rounds.receive_push(db, data)
    except (Refused, bundles.BundleError) as exc:
        current_app.logger.warning("sync push refused: %s", exc.reason)
        return _failed(exc.reason, 409 if "different body" in exc.reason else 403)
    return Response(rounds.ack_bundle(db, device, result), mimetype=OCTETS)


@bp.get("/sync/pull")
def pull():
    """Answer a kit's pull: the ward's rows changed after `since`, sealed for the kit."""
    if (blocked := _throttled()) is not None:
        return blocked
    db = get_db()
    if queries.is_kit(db):
        abort(404)
    device = queries.get_device(db, kit_id=request.args.get("kit", ""))
    try:
        since = int(request.args.get("since", "0"))
    except ValueError:
        since = -1
    if device is None or device["status"] != "active" or since < 0 or \
            not rounds.check_pull_mac(device, since, request.headers.get("X-WardKit-Proof")):
        return _failed("unknown kit or bad proof")
    return Response(rounds.pull_bundle(db, device, since), mimetype=OCTETS)


def init_app(app, csrf) -> None:
    """Register the device routes, exempt from CSRF (and only they)."""
    csrf.exempt(push)
    csrf.exempt(pull)
    app.register_blueprint(bp)
