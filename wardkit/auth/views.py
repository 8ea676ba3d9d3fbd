"""Login, logout, password change, user administration and the `create-user` and
`set-password` commands."""
from urllib.parse import urlsplit

import click
from flask.cli import with_appcontext
from flask import (Blueprint, abort, current_app, flash, redirect, render_template, request,
                   session, url_for)
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from .. import security
from ..db import get_db
from . import accounts, queries
from .forms import (PASSWORD_MESSAGES, LoginForm, PasswordChangeForm, PasswordResetForm,
                    UserCreateForm)
from .users import ROLES

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
    outcome = accounts.log_in(get_db(), form.username.data.strip(), form.password.data,
                              client_addr=request.remote_addr or "-")
    if outcome.retry_after:
        resp = current_app.make_response((render_template(
            "auth/login.html", form=form, locked_minutes=-(-outcome.retry_after // 60)), 429))
        resp.headers["Retry-After"] = str(outcome.retry_after)
        return resp
    if outcome.user is None:
        form.password.errors.append(_("Wrong username or password."))
        return render_template("auth/login.html", form=form), 422
    next_url = safe_next(request.args.get("next"))
    _restart_cookie_session()
    login_user(outcome.user)
    return redirect(next_url, code=303)


@bp.route("/logout", methods=["POST"])
@security.roles(*ROLES, security.CITY_VIEWER)
def logout():
    """End the server-side session, so a replayed cookie is anonymous."""
    accounts.log_out(get_db(), current_user)
    logout_user()
    _restart_cookie_session()
    flash(_("You have signed out."), "info")
    return redirect(url_for("auth.login"), code=303)


@bp.route("/password", methods=["GET", "POST"])
@security.roles(*security.STAFF, security.CITY_VIEWER)
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
    login_user(accounts.change_password(db, row, form.new_password.data))
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
    row = accounts.create_user_account(
        db, username=form.username.data.strip(), role=form.role.data,
        ward_code=current_user.ward_code, password=form.password.data,
        display_name=form.display_name.data.strip(), by=current_user.id)
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
    accounts.set_user_active(get_db(), row, active, by=current_user.id)
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
    accounts.reset_password(get_db(), row, form.password.data, by=current_user.id)
    flash(_("New password set for %(username)s. Give it to them in person.",
            username=row["username"]), "success")
    return redirect(url_for("auth.users"), code=303)


# --- command line: the same actions as the pages -------------------------------------

def _check_scope(ctx, _param, city):
    """Refuse --city with a role other than viewer, or with --ward, and neither given,
    before the password prompt."""
    role, ward_code = ctx.params.get("role"), ctx.params.get("ward_code")
    if city and role != "viewer":
        raise click.UsageError(f"--city makes a viewer of the whole city: use --role viewer "
                               f"(not {role}).")
    if city and ward_code:
        raise click.UsageError("Give either --ward CODE or --city, not both.")
    if not city and not ward_code:
        raise click.UsageError("Give the user's ward with --ward CODE (or --city for a "
                               "viewer of the whole city).")
    return city


@click.command("create-user")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice(ROLES), is_eager=True)
@click.option("--ward", "ward_code", is_eager=True,
              help="Ward code, e.g. 103 for Phường Tây Hồ.")
@click.option("--city", is_flag=True, callback=_check_scope,
              help="A viewer of the whole city (--role viewer, no --ward): sees only the "
                   "city's roll-up of the wards' reports (/city), no ward's data.")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="Prompted (hidden) when omitted.")
@click.option("--name", "display_name", help="Full name shown in the header.")
@with_appcontext
def create_user_command(username, role, ward_code, city, password, display_name):
    """Create a user of ROLE in a ward (the first admin is made this way), or with --city
    a viewer of the whole city."""
    try:
        row = accounts.create_user_account(
            get_db(), username=username, role=role, ward_code=ward_code, password=password,
            display_name=display_name, scope="city" if city else "ward", by=None, via="cli")
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    if city:
        click.echo(f"Created {row['role']} {row['username']} for the whole city.")
    else:
        click.echo(f"Created {row['role']} {row['username']} in ward {row['ward_code']}.")


@click.command("set-password")
@click.argument("username")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="Prompted twice (hidden) when omitted.")
@with_appcontext
def set_password_command(username, password):
    """Set a new password for USERNAME (e.g. a lost demo password); their sessions end."""
    try:
        row = accounts.set_user_password(get_db(), username=username, password=password)
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
