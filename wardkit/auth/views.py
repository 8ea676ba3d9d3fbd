"""Login, logout, password change, user administration and the `create-user` and
`set-password` commands."""
from urllib.parse import urlsplit

import click
from flask.cli import with_appcontext
from flask import (Blueprint, abort, current_app, flash, redirect, render_template, request,
                   session, url_for)
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from .. import audit, security
from ..db import get_db, write
from . import queries
from .forms import (PASSWORD_MESSAGES, LoginForm, PasswordChangeForm, PasswordResetForm,
                    UserCreateForm)
from .users import ROLES, User

bp = Blueprint("auth", __name__)


def safe_next(target: str | None) -> str:
    """Return `target` when it is a path on this site, else the home page."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") \
                and not target.startswith("//") and "\\" not in target:
            return target
    return url_for("home.index")


def _restart_cookie_session() -> None:
    """Empty the cookie session (new CSRF token, nothing carried over) but keep the
    chosen language."""
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang


def _user_from_row(row: dict, token: str) -> User:
    ward = queries.get_ward(get_db(), row["ward_code"])
    return User(id=row["id"], username=row["username"], display_name=row["display_name"],
                role=row["role"], ward_code=row["ward_code"], ward_name=ward["name"],
                session_token=token)


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Show the login form; sign the user in, or explain why not."""
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = LoginForm()
    if request.method != "POST":
        return render_template("auth/login.html", form=form)
    if not form.validate():
        return render_template("auth/login.html", form=form), 422
    db = get_db()
    username = form.username.data.strip()
    key = username.casefold()
    addr = request.remote_addr or "-"
    retry = security.login_retry_after(db, key, addr)
    if retry:
        # A locked account gets this same answer for right and wrong passwords.
        with write(db):
            queries.record_attempt(db, username=key, client_addr=addr, outcome="locked")
            audit.record(db, "login_locked", entity="users",
                         detail={"retry_after": retry})
        resp = current_app.make_response(
            (render_template("auth/login.html", form=form, locked_minutes=-(-retry // 60)), 429))
        resp.headers["Retry-After"] = str(retry)
        return resp
    row = queries.get_user_by_username(db, username)
    usable = row is not None and row["is_active"]
    ok = security.verify_password(row["password_hash"] if usable else None, form.password.data)
    if not ok:
        with write(db):
            queries.record_attempt(db, username=key, client_addr=addr, outcome="failure")
            audit.record(db, "login_failed", entity="users",
                         entity_id=row["id"] if row else None,
                         user_id=row["id"] if row else None,
                         ward_code=row["ward_code"] if row else None,
                         detail={"reason": "inactive" if row and not usable else "bad_credentials"})
        form.password.errors.append(_("Wrong username or password."))
        return render_template("auth/login.html", form=form), 422
    next_url = safe_next(request.args.get("next"))
    _restart_cookie_session()
    with write(db):
        token = security.start_session(db, row)
        queries.record_attempt(db, username=key, client_addr=addr, outcome="success")
        audit.record(db, "login", entity="users", entity_id=row["id"], user_id=row["id"],
                     ward_code=row["ward_code"])
    login_user(_user_from_row(row, token))
    return redirect(next_url, code=303)


@bp.route("/logout", methods=["POST"])
@security.roles(*ROLES)
def logout():
    """End the server-side session, so a replayed cookie is anonymous."""
    db = get_db()
    with write(db):
        queries.revoke_session(db, security.hash_token(current_user.session_token), "logout")
        audit.record(db, "logout", entity="users", entity_id=current_user.id)
    logout_user()
    _restart_cookie_session()
    flash(_("You have signed out."), "info")
    return redirect(url_for("auth.login"), code=303)


@bp.route("/password", methods=["GET", "POST"])
@security.roles(*security.STAFF)
def change_password():
    """Let a user change their own password; every other session of theirs ends."""
    form = PasswordChangeForm()
    if request.method != "POST":
        return render_template("auth/password.html", form=form)
    valid = form.validate()
    db = get_db()
    row = queries.get_user(db, current_user.id)
    if valid and not security.verify_password(row["password_hash"], form.current_password.data):
        form.current_password.errors.append(_("The current password is not right."))
        valid = False
    problem = security.password_problem(form.new_password.data or "")
    if form.new_password.data and problem:
        form.new_password.errors.append(PASSWORD_MESSAGES[problem])
        valid = False
    if not valid:
        return render_template("auth/password.html", form=form), 422
    new_hash = security.hash_password(form.new_password.data)
    with write(db):
        queries.set_password(db, current_user.id, new_hash, by=current_user.id)
        queries.revoke_user_sessions(db, current_user.id, "password_changed")
        token = security.start_session(db, row)
        audit.record(db, "password_changed", entity="users", entity_id=current_user.id)
    login_user(_user_from_row(row, token))
    flash(_("Your password has been changed. Other devices have been signed out."), "success")
    return redirect(url_for("home.index"), code=303)


# --- administration ------------------------------------------------------------------

def _users_page(form, status=200):
    users = queries.list_users(get_db(), current_user.ward_code)
    return render_template("admin/users.html", users=users, form=form), status


@bp.route("/admin/users", methods=["GET"])
@security.roles("admin")
def users():
    """List the ward's users with a form to add one."""
    return _users_page(UserCreateForm())


@bp.route("/admin/users", methods=["POST"])
@security.roles("admin")
def create_user():
    """Create a user in the admin's ward."""
    form = UserCreateForm()
    valid = form.validate()
    db = get_db()
    if form.password.data:
        problem = security.password_problem(form.password.data)
        if problem:
            form.password.errors.append(PASSWORD_MESSAGES[problem])
            valid = False
    if valid and queries.get_user_by_username(db, form.username.data.strip()):
        form.username.errors.append(_("This username is already taken."))
        valid = False
    if not valid:
        return _users_page(form, 422)
    password_hash = security.hash_password(form.password.data)
    with write(db):
        row = queries.create_user(
            db, username=form.username.data.strip(), password_hash=password_hash,
            display_name=form.display_name.data.strip(), role=form.role.data,
            ward_code=current_user.ward_code, created_by=current_user.id)
        audit.record(db, "user_created", entity="users", entity_id=row["id"],
                     detail={"role": row["role"]})
    flash(_("User %(username)s created.", username=row["username"]), "success")
    return redirect(url_for("auth.users"), code=303)


def _ward_user_or_404(user_id: str) -> dict:
    row = queries.get_user(get_db(), user_id, ward_code=current_user.ward_code)
    if row is None:
        abort(404)
    return row


@bp.route("/admin/users/<user_id>/active", methods=["POST"])
@security.roles("admin")
def set_active(user_id):
    """Deactivate (ending every session at once) or reactivate a user of the ward."""
    row = _ward_user_or_404(user_id)
    active = request.form.get("active") == "1"
    if row["id"] == current_user.id and not active:
        flash(_("You cannot deactivate your own account."), "error")
        return redirect(url_for("auth.users"), code=303)
    db = get_db()
    with write(db):
        queries.set_active(db, row["id"], active, by=current_user.id)
        if not active:
            queries.revoke_user_sessions(db, row["id"], "deactivated")
        audit.record(db, "user_activated" if active else "user_deactivated",
                     entity="users", entity_id=row["id"])
    message = _("%(username)s can sign in again.", username=row["username"]) if active else \
        _("%(username)s has been deactivated and signed out.", username=row["username"])
    flash(message, "success")
    return redirect(url_for("auth.users"), code=303)


@bp.route("/admin/users/<user_id>/password", methods=["GET", "POST"])
@security.roles("admin")
def reset_password(user_id):
    """Set a new password for a user of the ward; their sessions end."""
    row = _ward_user_or_404(user_id)
    form = PasswordResetForm()
    if request.method != "POST":
        return render_template("admin/reset_password.html", form=form, user=row)
    valid = form.validate()
    problem = security.password_problem(form.password.data or "")
    if form.password.data and problem:
        form.password.errors.append(PASSWORD_MESSAGES[problem])
        valid = False
    if not valid:
        return render_template("admin/reset_password.html", form=form, user=row), 422
    new_hash = security.hash_password(form.password.data)  # slow: outside the transaction
    reset_password_to(get_db(), row, new_hash, by=current_user.id)
    flash(_("New password set for %(username)s. Give it to them in person.",
            username=row["username"]), "success")
    return redirect(url_for("auth.users"), code=303)


def reset_password_to(db, user: dict, password_hash: str, *, by: str | None,
                      via: str | None = None) -> int:
    """Give `user` the new `password_hash` and end every session of theirs, audited, in
    one transaction; return how many sessions ended. `by` is the admin (None from the
    command line, then `via` says so in the audit row)."""
    with write(db):
        queries.set_password(db, user["id"], password_hash, by=by)
        ended = queries.revoke_user_sessions(db, user["id"], "password_reset")
        detail = {"via": via, "sessions_ended": ended} if via else None
        audit.record(db, "password_reset", entity="users", entity_id=user["id"],
                     ward_code=user["ward_code"], detail=detail)
    return ended


# --- command line --------------------------------------------------------------------

def normalise_ward_code(code: str) -> str:
    """Return a ward code in its stored 5-digit form ("103" -> "00103")."""
    code = code.strip()
    return code.zfill(5) if code.isdigit() else code


def create_user_account(db, *, username: str, role: str, ward_code: str, password: str,
                        display_name: str | None = None, is_demo: bool = False) -> dict:
    """Create a user after checking role, ward, username and password; return the row.

    :raises ValueError: with a message for the operator when something is wrong.
    """
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; choose one of {', '.join(ROLES)}")
    ward = queries.get_ward(db, normalise_ward_code(ward_code))
    if ward is None:
        raise ValueError(f"no ward with code {ward_code!r} (see wardkit/data/hanoi_wards.csv)")
    if queries.get_user_by_username(db, username):
        raise ValueError(f"username {username!r} is already taken")
    problem = security.password_problem(password)
    if problem:
        raise ValueError(str(PASSWORD_MESSAGES[problem]))
    password_hash = security.hash_password(password)
    with write(db):
        row = queries.create_user(db, username=username, password_hash=password_hash,
                                  display_name=display_name or username, role=role,
                                  ward_code=ward["code"], is_demo=is_demo)
        audit.record(db, "user_created", entity="users", entity_id=row["id"],
                     ward_code=ward["code"], detail={"role": role, "via": "cli"})
    return row


@click.command("create-user")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--ward", "ward_code", required=True, help="Ward code, e.g. 103 for Phường Tây Hồ.")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="Prompted (hidden) when omitted.")
@click.option("--name", "display_name", help="Full name shown in the header.")
@with_appcontext
def create_user_command(username, role, ward_code, password, display_name):
    """Create a user of ROLE in a ward (the first admin is made this way)."""
    try:
        row = create_user_account(get_db(), username=username, role=role, ward_code=ward_code,
                                  password=password, display_name=display_name)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Created {row['role']} {row['username']} in ward {row['ward_code']}.")


def set_user_password(db, *, username: str, password: str) -> dict:
    """Give an existing user a new password from the command line, ending every session
    of theirs as a password change does; return the user's row.

    :raises ValueError: with a message for the operator when the user is unknown or the
        password breaks the app's password rules.
    """
    row = queries.get_user_by_username(db, username)
    if row is None:
        raise ValueError(f"no user named {username!r} (the Users page lists them)")
    problem = security.password_problem(password)
    if problem:
        raise ValueError(str(PASSWORD_MESSAGES[problem]))
    password_hash = security.hash_password(password)  # slow: outside the transaction
    reset_password_to(db, row, password_hash, by=None, via="cli")
    return row


@click.command("set-password")
@click.argument("username")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="Prompted twice (hidden) when omitted.")
@with_appcontext
def set_password_command(username, password):
    """Set a new password for USERNAME (e.g. a lost demo password); their sessions end."""
    try:
        row = set_user_password(get_db(), username=username, password=password)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"New password set for {row['username']}; their sessions have ended.")
    if not row["is_active"]:
        click.echo(f"Note: {row['username']} is deactivated; an admin can reactivate "
                   "them on the Users page.")


def init_app(app) -> None:
    """Register the auth commands."""
    app.cli.add_command(create_user_command)
    app.cli.add_command(set_password_command)
