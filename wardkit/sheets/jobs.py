"""Batch PDFs in the background, with progress the print page polls (the import's
pattern, wardkit/residents/import_views.py).

A job is three files in `SHEETS_DIR` (default `instance/sheets/`, mode 0700; files 0600),
named by a 256-bit random token: `<token>.json` (whose job: user, ward, group, layout),
`<token>.status` (state, chunks done of total; rewritten as parts finish, so any server
process can answer a poll) and, when done, `<token>.pdf`. The PDF holds residents' first
names and addresses, so everything a job left is deleted JOB_TTL after its last change.
"""
import json
import os
import pathlib
import re
import secrets
import threading
import time

from flask import abort, current_app
from flask_babel import force_locale
from flask_login import current_user

from .. import clock
from ..files import read_json, sweep_tokens, write_json, write_private
from ..db import connect
from . import documents, pdf, queries

JOB_TTL = 30 * 60        # seconds a finished PDF (and its status) is kept
STALE_AFTER = 10 * 60    # a running job whose status did not move for this long died
TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{43}")
RUNNING = ("queued", "rendering", "joining")


def jobs_dir(app=None, *, create: bool = True) -> pathlib.Path:
    """Return (creating it, mode 0700) where batch jobs keep their files."""
    app = app or current_app
    path = pathlib.Path(app.config.get("SHEETS_DIR")
                        or pathlib.Path(app.instance_path) / "sheets")
    if create:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def sweep(now: float | None = None, app=None) -> int:
    """Delete the files of jobs untouched for JOB_TTL; return how many went."""
    return sweep_tokens(jobs_dir(app, create=False), JOB_TTL, now)


def start(*, group: dict, layout: str, household_ids: list[str], base_url: str,
          locale: str, ward_name: str) -> str:
    """Start rendering the group's sheets in a background thread; return the job token."""
    sweep()
    token = secrets.token_urlsafe(32)
    directory = jobs_dir()
    meta = {"user_id": current_user.id, "ward_code": current_user.ward_code,
            "group_id": group["id"], "group_name": group["name"], "layout": layout,
            "created_at": clock.now_iso()}
    write_private(directory / f"{token}.json", json.dumps(meta).encode())
    # Parts to render (a household too big for the stamped block adds one; the bar
    # then just ends a little later than it promised).
    total = (1 if layout == "cards" else
             -(-len(household_ids) // documents.CHUNK_HOUSEHOLDS[layout]))
    write_json(directory / f"{token}.status", {"state": "queued", "done": 0, "total": total})
    thread = threading.Thread(
        target=run, name=f"wardkit-sheets-{token[:6]}", daemon=True,
        args=(current_app._get_current_object(), token, meta, household_ids, base_url,
              locale, ward_name))
    thread.start()
    return token


def own(token: str | None) -> dict:
    """Return the job's metadata when `token` is well formed and belongs to the signed-in
    user; 404 otherwise (another user's job looks like an unknown one)."""
    if not token or not TOKEN_RE.fullmatch(token):
        abort(404)
    meta = read_json(jobs_dir() / f"{token}.json")
    if meta is None or meta.get("user_id") != current_user.id \
            or meta.get("ward_code") != current_user.ward_code:
        abort(404)
    return meta


def status(token: str) -> dict:
    """Return the job's status: `state` (queued, rendering, joining, done, failed,
    missing), `done` and `total` chunks, `pages` when done."""
    job = read_json(jobs_dir() / f"{token}.status") or {"state": "missing"}
    if job["state"] in RUNNING and time.time() - job.get("updated", 0) > STALE_AFTER:
        job = {"state": "failed"}
    return job


def pdf_path(token: str) -> pathlib.Path:
    """Return where a finished job's PDF is."""
    return jobs_dir() / f"{token}.pdf"


def run(app, token: str, meta: dict, household_ids: list[str], base_url: str,
        locale: str, ward_name: str) -> None:
    """Render the job's PDF, writing progress to `<token>.status`. Runs in its own
    thread with its own connection; the PDF appears (atomically) only when complete."""
    with app.app_context(), force_locale(locale):
        directory = jobs_dir(app)
        status_path = directory / f"{token}.status"
        target = directory / f"{token}.pdf"
        partial = directory / f"{token}.pdf.part"
        db = connect(app.config["DATABASE"])
        total = read_json(status_path)["total"]
        try:
            write_json(status_path, {"state": "rendering", "done": 0, "total": total})
            pages = render_group(
                db, meta["ward_code"], meta["layout"], household_ids, partial,
                base_url=base_url, ward_name=ward_name, group_name=meta["group_name"],
                sheet_locale=locale, workers=app.config.get("SHEETS_WORKERS"),
                progress=lambda done: write_json(
                    status_path, {"state": "rendering", "done": done, "total": total}),
                tmp_dir=str(directory))
            fd = os.open(partial, os.O_RDONLY)
            os.fchmod(fd, 0o600)
            os.close(fd)
            os.replace(partial, target)
            write_json(status_path, {"state": "done", "done": total, "total": total,
                                      "pages": pages})
        except Exception:
            app.logger.exception("sheets job %s failed", token[:6])
            partial.unlink(missing_ok=True)
            write_json(status_path, {"state": "failed"})
        finally:
            db.close()


def render_group(db, ward_code: str, layout: str, household_ids: list[str], target, *,
                 base_url: str, ward_name: str, group_name: str, sheet_locale: str,
                 workers: int | None = None, progress=None, tmp_dir: str | None = None,
                 settings: dict | None = None) -> int:
    """Write the PDF of a group's sheets in `layout` to `target` (a path); return the page
    count. Cards are one page rendered once and repeated (every card page is the same);
    the other layouts go through `pdf.render_batch` in chunks."""
    settings = settings or queries.effective_settings(db, ward_code)
    context = {"settings": settings, "ward_name": ward_name, "group_name": group_name,
               "sheet_locale": sheet_locale}
    if layout == "cards":
        with_tmp = pathlib.Path(tmp_dir or "/tmp") / f"cards-{secrets.token_hex(8)}.pdf"
        try:
            pdf.render(documents.document_html("cards", card_pages=1, **context),
                       str(with_tmp))
            pages = pdf.join([(str(with_tmp), False)], target,
                             repeat=documents.card_page_count(len(household_ids)))
        finally:
            with_tmp.unlink(missing_ok=True)
        if progress:
            progress(1)
        return pages
    today = clock.now().date()

    def fetch(ids):
        return documents.with_codes(
            queries.sheet_households(db, ward_code, ids, today=today), base_url)

    base = documents.base_html(**context) if layout == "page" else None
    if len(household_ids) <= documents.CHUNK_HOUSEHOLDS[layout]:
        workers = 1  # one part: starting worker processes would cost more than it saves
    return pdf.render_batch(documents.chunks(layout, household_ids, fetch, **context),
                            target, base_html=base, workers=workers, progress=progress,
                            tmp_dir=tmp_dir)
