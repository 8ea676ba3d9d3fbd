"""The account actions: signing in and out, changing one's password, and what an admin (or
the command line) does to a user: create, deactivate or reactivate, set a new password.

Each function is one user action: it opens `write()` and records its audit row
(docs/ARCHITECTURE.md#write-path). Passwords are hashed before the transaction, which must
stay short. The SQL is in `queries.py`, which `wardkit.security` also uses; these actions
use `security` (passwords, sessions), hence a module of their own.
"""
from dataclasses import dataclass

from .. import audit, security
from ..db import write
from . import queries
from .forms import PASSWORD_MESSAGES
from .users import ROLES, User


@dataclass(frozen=True)
class LoginOutcome:
    """What a login attempt gave: a signed-in `user`, or the seconds to wait when the
    account or address is locked (`retry_after`), or neither: wrong username or password."""

    user: User | None = None
    retry_after: int = 0


def log_in(db, username: str, password: str, *, client_addr: str) -> LoginOutcome:
    """Try to sign `username` in with `password`; every attempt is logged (for throttling)
    and audited. Return the outcome; on success the user has a new server-side session."""
    key = username.casefold()
    retry = security.login_retry_after(db, key, client_addr)
    if retry:
        # A locked account gets this same answer for right and wrong passwords.
        with write(db):
            queries.record_attempt(db, username=key, client_addr=client_addr, outcome="locked")
            audit.record(db, "login_locked", user_id=None, ward_code=None, entity="users",
                         detail={"retry_after": retry})
        return LoginOutcome(retry_after=retry)
    row = queries.get_user_by_username(db, username)
    # A kiosk is an enrolled device (wardkit/kiosk/devices.py): its old accounts never
    # sign in again.
    usable = row is not None and row["is_active"] and row["role"] != "kiosk"
    if not security.verify_password(row["password_hash"] if usable else None, password):
        with write(db):
            queries.record_attempt(db, username=key, client_addr=client_addr,
                                   outcome="failure")
            audit.record(db, "login_failed", user_id=row["id"] if row else None,
                         ward_code=row["ward_code"] if row else None, entity="users",
                         entity_id=row["id"] if row else None,
                         detail={"reason": "inactive" if row and not usable
                                 else "bad_credentials"})
        return LoginOutcome()
    with write(db):
        token = security.start_session(db, row)
        queries.record_attempt(db, username=key, client_addr=client_addr, outcome="success")
        audit.record(db, "login", user_id=row["id"], ward_code=row["ward_code"],
                     entity="users", entity_id=row["id"])
    return LoginOutcome(user=_signed_in(db, row, token))


def log_out(db, user: User) -> None:
    """End the user's current server-side session, so a replayed cookie is anonymous."""
    with write(db):
        queries.revoke_session(db, security.hash_token(user.session_token), "logout")
        audit.record(db, "logout", user_id=user.id, ward_code=user.ward_code,
                     entity="users", entity_id=user.id)


def change_password(db, user: dict, new_password: str) -> User:
    """Give `user` (a users row) the new password they chose, end every session of theirs
    and start a new one; return the signed-in User for that session."""
    new_hash = security.hash_password(new_password)
    with write(db):
        queries.set_password(db, user["id"], new_hash, by=user["id"])
        queries.revoke_user_sessions(db, user["id"], "password_changed")
        token = security.start_session(db, user)
        audit.record(db, "password_changed", user_id=user["id"], ward_code=user["ward_code"],
                     entity="users", entity_id=user["id"])
    return _signed_in(db, user, token)


def _signed_in(db, row: dict, token: str) -> User:
    ward = queries.get_ward(db, row["ward_code"]) if row["ward_code"] else None
    return User(id=row["id"], username=row["username"], display_name=row["display_name"],
                role=row["role"], ward_code=row["ward_code"],
                ward_name=ward["name"] if ward else None, session_token=token,
                scope=row.get("scope") or "ward")


def create_user_account(db, *, username: str, role: str, ward_code: str | None,
                        password: str, display_name: str | None = None,
                        is_demo: bool = False, scope: str = "ward", by: str | None,
                        via: str | None = None) -> dict:
    """Create a user after checking role, ward, username and password, audited as
    `user_created` by `by` (None from the command line, then `via` says so); return the
    row. `scope="city"` makes a viewer of the whole city: no ward (`ward_code` None).

    :raises ValueError: with a message for the operator when something is wrong.
    """
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; choose one of {', '.join(ROLES)}")
    if role == "kiosk":
        raise ValueError("a kiosk is a device, not an account: enrol it with "
                         "`flask kiosk enrol NAME --ward CODE` or on the Kiosks page")
    if scope == "city":
        if role != "viewer":
            raise ValueError(f"only a viewer may be scoped to the whole city, not {role!r}")
        if ward_code is not None:
            raise ValueError("a city-scoped viewer belongs to no ward: give no ward code")
        ward = None
    elif scope == "ward":
        ward = queries.get_ward(db, queries.normalise_ward_code(ward_code or ""))
        if ward is None:
            raise ValueError(f"no ward with code {ward_code!r} "
                             "(see wardkit/data/hanoi_wards.csv)")
    else:
        raise ValueError(f"unknown scope {scope!r}; choose ward or city")
    if queries.get_user_by_username(db, username):
        raise ValueError(f"username {username!r} is already taken")
    problem = security.password_problem(password)
    if problem:
        raise ValueError(str(PASSWORD_MESSAGES[problem]))
    password_hash = security.hash_password(password)
    with write(db):
        row = queries.create_user(db, username=username, password_hash=password_hash,
                                  display_name=display_name or username, role=role,
                                  ward_code=ward["code"] if ward else None, scope=scope,
                                  is_demo=is_demo, created_by=by)
        detail = {"role": role, "via": via} if via else {"role": role}
        if scope == "city":
            detail["scope"] = "city"
        audit.record(db, "user_created", user_id=by, ward_code=row["ward_code"],
                     entity="users", entity_id=row["id"], detail=detail)
    return row


def set_user_active(db, user: dict, active: bool, *, by: str) -> None:
    """Reactivate `user` (a users row), or deactivate them and end every session of theirs
    at once; audited as `user_activated` / `user_deactivated` by `by`."""
    with write(db):
        queries.set_active(db, user["id"], active, by=by)
        if not active:
            queries.revoke_user_sessions(db, user["id"], "deactivated")
        audit.record(db, "user_activated" if active else "user_deactivated", user_id=by,
                     ward_code=user["ward_code"], entity="users", entity_id=user["id"])


def reset_password(db, user: dict, password: str, *, by: str | None,
                   via: str | None = None) -> int:
    """Give `user` (a users row) a new password set by an admin and end every session of
    theirs, audited as `password_reset` by `by` (None from the command line, then `via`
    says so); return how many sessions ended."""
    password_hash = security.hash_password(password)
    with write(db):
        queries.set_password(db, user["id"], password_hash, by=by)
        ended = queries.revoke_user_sessions(db, user["id"], "password_reset")
        audit.record(db, "password_reset", user_id=by, ward_code=user["ward_code"],
                     entity="users", entity_id=user["id"],
                     detail={"via": via, "sessions_ended": ended} if via else None)
    return ended


def set_user_password(db, *, username: str, password: str) -> dict:
    """Give an existing user a new password from the command line, ending every session
    of theirs as an admin's reset does; return the user's row.

    :raises ValueError: with a message for the operator when the user is unknown or the
        password breaks the app's password rules.
    """
    row = queries.get_user_by_username(db, username)
    if row is None:
        raise ValueError(f"no user named {username!r} (the Users page lists them)")
    problem = security.password_problem(password)
    if problem:
        raise ValueError(str(PASSWORD_MESSAGES[problem]))
    reset_password(db, row, password, by=None, via="cli")
    return row
