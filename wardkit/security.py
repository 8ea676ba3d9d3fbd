"""What must hold on every request (docs/ARCHITECTURE.md#security): server-side sessions, deny-by-default
roles, same-origin checks for unsafe methods, login throttling, passwords, and headers."""
import functools
import hashlib
import math
import pathlib
import secrets
from datetime import timedelta

from flask import abort, current_app, redirect, request, url_for
from flask_login import current_user
from werkzeug.security import check_password_hash, generate_password_hash

from . import clock
from .auth import queries
from .auth.users import ROLES, User
from .db import write

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)

# Endpoints anyone may reach. Every other endpoint must declare its roles with @roles.
# The two sync routes authenticate the kit by its key themselves (wardkit/sync/views.py).
PUBLIC_ENDPOINTS = {"static", "auth.login", "home.healthz", "home.set_language",
                    "sync.push", "sync.pull"}
# The kiosk's enrolment link: opened on the device by anyone holding it (it works once,
# for minutes), kiosk or not.
KIOSK_PUBLIC = {"kiosk_devices.enrol"}

UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}

_COMMON_PASSWORDS_FILE = pathlib.Path(__file__).parent / "data" / "common_passwords.txt"


# --- roles -------------------------------------------------------------------------

# A viewer scoped to the whole city (users.scope = 'city', no ward) is declared as this
# role of its own: only the views that name it are open to such a user, whatever their
# other roles (docs/ARCHITECTURE.md#access-control).
CITY_VIEWER = "city_viewer"


def roles(*allowed: str):
    """Declare which roles may use a view (the ward roles, and CITY_VIEWER for the
    city-scoped viewer); the `check_access` hook enforces it."""
    unknown = set(allowed) - set(ROLES) - {CITY_VIEWER}
    if unknown or not allowed:
        raise ValueError(f"unknown roles {unknown}")

    def decorate(view):
        view.wardkit_roles = frozenset(allowed)
        return view

    return decorate


# The named role sets views declare (docs/ARCHITECTURE.md#access-control). One place, so
# "who may read people's data" is decided once.
ALL_ROLES = ROLES
# People at a desk (everyone but the shared kiosk device).
STAFF = ("admin", "leader", "officer", "viewer")
# People's data (the registry, visits, declarations, sheets): never the kiosk or the
# aggregates-only viewer.
FIELD_ROLES = ("admin", "leader", "officer")
# Who leads the ward: reviews declarations, assigns officers, manages groups.
MANAGER_ROLES = ("admin", "leader")
# Who reads the per-group numbers: aggregates only, so the ward's viewer too.
PROGRESS_ROLES = ("admin", "leader", "viewer")
# The city's roll-up of the wards' reports (/city): the city-scoped viewer, and the
# instance's admin (who sets the city's computer up); never a ward's other users.
CITY_ROLES = ("admin", CITY_VIEWER)


def view_roles(endpoint: str | None) -> frozenset | None:
    """Return the roles declared on `endpoint`'s view, or None when it declares none."""
    view = current_app.view_functions.get(endpoint) if endpoint else None
    return getattr(view, "wardkit_roles", None)


def check_access():
    """before_request: let public endpoints through, send anonymous users to log in,
    refuse undeclared endpoints and roles not on the view's list (deny by default).

    Refusals are 403, except where saying "forbidden" would tell what exists: a
    city-scoped viewer gets 404 on every view that does not name CITY_VIEWER, a ward user
    404 on the city's views, and a viewer 404 on the pages of people's data (any view not
    open to viewers): ids of households and people never leak to aggregates-only users.

    An enrolled kiosk device reaches only the views that name `kiosk` (and its enrolment
    link): 404 everywhere else, public pages included. Without an active kiosk
    credential, the kiosk-only views answer themselves ("this kiosk is not active")
    rather than send a resident to a login page (docs/ARCHITECTURE.md#kiosk)."""
    endpoint = request.endpoint
    if endpoint is None or endpoint == "static":  # no route matched: Flask answers 404/405
        return None
    allowed = view_roles(endpoint)
    if current_user.is_authenticated and current_user.role == "kiosk":
        if endpoint in KIOSK_PUBLIC or (allowed is not None and "kiosk" in allowed):
            return None
        abort(404)
    if endpoint in PUBLIC_ENDPOINTS or endpoint in KIOSK_PUBLIC:
        return None
    if allowed is None:
        current_app.logger.error("endpoint %s declares no roles: refused", endpoint)
        abort(403)
    if not current_user.is_authenticated:
        if allowed == {"kiosk"}:
            return None
        back = request.full_path.rstrip("?") if request.method == "GET" else None
        target = url_for("auth.login", next=back)
        if request.headers.get("HX-Request") == "true":
            # htmx would swap a login page into a fragment; make it navigate instead.
            resp = current_app.make_response(("", 401))
            resp.headers["HX-Redirect"] = target
            return resp
        return redirect(target)
    if current_user.scope == "city":
        if CITY_VIEWER not in allowed:
            abort(404)
        return None
    if current_user.role not in allowed:
        abort(404 if CITY_VIEWER in allowed or current_user.role == "viewer" else 403)
    return None


# --- same origin -----------------------------------------------------------------

def check_same_origin():
    """before_request: refuse unsafe requests that the browser says come from another
    site (second layer behind the CSRF token)."""
    if request.method not in UNSAFE_METHODS:
        return None
    if request.headers.get("Sec-Fetch-Site") == "cross-site":
        abort(403)
    origin = request.headers.get("Origin")
    if origin and origin != "null" and origin != request.host_url.rstrip("/"):
        abort(403)
    return None


# --- sessions ----------------------------------------------------------------------

def hash_token(token: str) -> str:
    """Return the stored form of a session token (SHA-256 hex)."""
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(db, user_row: dict) -> str:
    """Create a server-side session for the user and return its raw token (256 bits)."""
    token = secrets.token_urlsafe(32)
    now = clock.now()
    expires = now + timedelta(seconds=current_app.config["SESSION_ABSOLUTE_SECONDS"])
    queries.create_session(
        db, id_hash=hash_token(token), user_id=user_row["id"], created_at=clock.iso(now),
        expires_at=clock.iso(expires), client_addr=request.remote_addr,
    )
    return token


def load_session(db, token: str) -> User | None:
    """Return the User behind a live session token, or None (and revoke it) when the
    session is unknown, revoked, idle too long, past its absolute limit, or its user is
    deactivated."""
    if not token:
        return None
    id_hash = hash_token(token)
    row = queries.get_session(db, id_hash)
    if row is None or row["revoked_at"] is not None:
        return None
    now = clock.now()
    reason = None
    if not row["is_active"] or row["deleted_at"] is not None or row["role"] == "kiosk":
        # A kiosk is an enrolled device now (wardkit/kiosk/devices.py), never a login.
        reason = "deactivated"
    elif now >= clock.parse(row["expires_at"]):
        reason = "absolute_timeout"
    elif (now - clock.parse(row["last_seen_at"])).total_seconds() > current_app.config[
            "SESSION_IDLE_SECONDS"]:
        reason = "idle_timeout"
    if reason:
        with write(db):
            queries.revoke_session(db, id_hash, reason)
        return None
    if (now - clock.parse(row["last_seen_at"])).total_seconds() >= current_app.config[
            "SESSION_TOUCH_SECONDS"]:
        with write(db):
            queries.touch_session(db, id_hash, clock.iso(now))
    return User(
        id=row["user_id"], username=row["username"], display_name=row["display_name"],
        role=row["role"], ward_code=row["ward_code"], ward_name=row["ward_name"],
        session_token=token, scope=row["scope"],
    )


# --- throttling ----------------------------------------------------------------------

def login_retry_after(db, username: str, client_addr: str) -> int:
    """Return seconds until a login may be tried again for this username or address
    (0 when not throttled). Kept in SQLite so it holds across processes and restarts."""
    cfg = current_app.config
    window = cfg["LOGIN_WINDOW_SECONDS"]
    limit = cfg["LOGIN_MAX_FAILURES"]
    now = clock.now()
    since = clock.iso(now - timedelta(seconds=window))
    wait = 0.0
    for times in queries.failure_times(db, username=username, client_addr=client_addr,
                                       since=since).values():
        if len(times) >= limit:
            # Throttled until enough failures age out to fall below the limit.
            times = sorted(times)
            release = clock.parse(times[len(times) - limit]) + timedelta(seconds=window)
            wait = max(wait, (release - now).total_seconds())
    return max(1, math.ceil(wait)) if wait > 0 else 0


# --- passwords -----------------------------------------------------------------------

@functools.cache
def _common_passwords() -> frozenset:
    return frozenset(
        line.strip().casefold()
        for line in _COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    )


def password_problem(password: str) -> str | None:
    """Return why `password` is refused (a key of PASSWORD_MESSAGES), or None if it is ok.

    No composition rules (ASVS): length and a list of common passwords only.
    """
    cfg = current_app.config
    if len(password) < cfg["PASSWORD_MIN_LENGTH"]:
        return "too_short"
    if len(password) > cfg["PASSWORD_MAX_LENGTH"]:
        return "too_long"
    if password.casefold() in _common_passwords():
        return "common"
    return None


def hash_password(password: str) -> str:
    """Return the scrypt hash to store for `password`."""
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


# Verifying against this when the username is unknown keeps the timing the same.
_DUMMY_HASH = generate_password_hash("wardkit-dummy-password", method="scrypt:32768:8:1")


def verify_password(stored_hash: str | None, password: str) -> bool:
    """Return True when `password` matches; spends the same time when there is no user."""
    if stored_hash is None:
        check_password_hash(_DUMMY_HASH, password)
        return False
    return check_password_hash(stored_hash, password)


# --- headers -------------------------------------------------------------------------

def set_security_headers(response):
    """after_request: CSP and the other headers on every response; no-store on pages."""
    h = response.headers
    h["Content-Security-Policy"] = CSP
    h["X-Content-Type-Options"] = "nosniff"
    h["Referrer-Policy"] = "same-origin"
    h["Cross-Origin-Opener-Policy"] = "same-origin"
    h["X-Frame-Options"] = "DENY"
    if request.endpoint != "static":
        # Pages may carry personal data: never keep them in a shared tablet's cache.
        h["Cache-Control"] = "no-store"
    return response


def init_app(app) -> None:
    """Register the request hooks on `app`."""
    app.before_request(check_same_origin)
    app.before_request(check_access)
    app.after_request(set_security_headers)
