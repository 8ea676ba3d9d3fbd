"""Error pages: every failure a user can reach answers a page in their language, never a
bare traceback. A write the database cannot take right now (locked past the busy timeout,
disk full, read-only) is a 503 "nothing was saved, try again" rather than a 500."""
from flask import Flask, current_app, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from .db import sqlite3

ERROR_CODES = {400, 403, 404, 405, 409, 413, 422, 429, 500, 503}  # titles: errors/error.html

# SQLite's primary result codes that mean "not now", not "your input is wrong".
_BUSY, _LOCKED, _IOERR, _FULL, _READONLY = 5, 6, 10, 13, 8
_UNAVAILABLE_MESSAGES = ("database is locked", "database table is locked", "disk is full",
                         "disk i/o error", "readonly database")


def error_response(code: int, detail: str | None = None, headers: dict | None = None):
    """Return the error page for `code` (with `detail` instead of the standard text)."""
    resp = current_app.make_response(
        (render_template("errors/error.html", code=code, detail=detail), code))
    resp.headers.update(headers or {})
    return resp


def storage_problem(exc: Exception) -> str | None:
    """Return "full" or "busy" when `exc` is SQLite refusing a write for now; else None."""
    if not isinstance(exc, sqlite3.OperationalError):
        return None
    code = (getattr(exc, "sqlite_errorcode", None) or 0) & 0xFF
    text = str(exc).lower()
    if code == _FULL or "disk is full" in text:
        return "full"
    if code in (_BUSY, _LOCKED, _IOERR, _READONLY) or any(m in text
                                                         for m in _UNAVAILABLE_MESSAGES):
        return "busy"
    return None


# What the capture triggers answer when a field kit is asked to change users or ward
# settings (migrations 0013): those change at the hub and reach the kit by sync.
HUB_ONLY_MESSAGE = "changed at the hub"


def hub_only(exc: Exception) -> bool:
    """Return True when `exc` is a field kit refusing a change that belongs to the hub."""
    return isinstance(exc, sqlite3.IntegrityError) and HUB_ONLY_MESSAGE in str(exc)


def init_app(app: Flask) -> None:
    """Register the error handlers."""

    @app.errorhandler(CSRFError)
    def csrf_error(exc):
        return error_response(400, _("The form has expired. Go back, reload the page and "
                                     "try again."))

    @app.errorhandler(HTTPException)
    def http_error(exc):
        if exc.code and exc.code < 400:  # redirects raised as exceptions
            return exc
        code = exc.code if exc.code in ERROR_CODES else 500
        headers = {}
        if code == 429 and exc.response is None and getattr(exc, "retry_after", None):
            headers["Retry-After"] = str(exc.retry_after)
        if code == 405 and exc.valid_methods:
            headers["Allow"] = ", ".join(exc.valid_methods)
        return error_response(code, headers=headers)

    @app.errorhandler(Exception)
    def server_error(exc):
        if isinstance(exc, HTTPException):
            return http_error(exc)
        if hub_only(exc):
            return error_response(409, _(
                "This is a field kit: users, passwords and ward settings are changed on "
                "the ward hub, and reach this kit at its next sync. Nothing was saved."))
        problem = storage_problem(exc)
        if problem is not None:
            # The transaction rolled back (write() does that), so nothing half-written.
            app.logger.warning("write refused on %s %s: %s", request.method, request.path,
                               exc)
            detail = (_("The ward computer's disk is full, so nothing was saved. Tell the "
                        "ward administrator to free some space, then try again.")
                      if problem == "full" else None)
            return error_response(503, detail,
                                  {"Retry-After": "60" if problem == "full" else "5"})
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500)
