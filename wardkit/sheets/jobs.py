"""Batch PDFs in the background, with progress the print page polls (the import's
pattern, wardkit/residents/import_views.py).

A job is four files in `SHEETS_DIR` (default `instance/sheets/`, mode 0700; files 0600),
named by a 256-bit random token: `<token>.json` (whose job: user, ward, group, layout),
`<token>.status` (state, chunks done of total; rewritten as parts finish, so any server
process can answer a poll), `<token>.lock` and, when done, `<token>.pdf`. The PDF holds
residents' first names and addresses, so everything a job left is deleted JOB_TTL after
its last change (with any `wardkit-sheets-*` folder of parts a killed server left).

The server process that runs a job holds an exclusive `flock` on `<token>.lock` until the
job ends. The kernel drops it when that process dies however it dies (kill -9, power
cut), so a poll answered by any process knows at once that a job still "rendering" has
no owner any more, and reports it failed; a reused pid cannot fool it. Where `fcntl` is
missing (Windows), a job whose status has not moved for STALE_AFTER counts as failed.
"""
import json
import os
import pathlib
import re
import secrets
import threading
import time

try:
    import fcntl
except ImportError:  # Windows: the STALE_AFTER rule alone
    fcntl = None

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
          locale: str, ward_name: str, qr_warning: bool = False) -> str:
    """Start rendering the group's sheets in a background thread; return the job token.
    `qr_warning` marks every sheet as a test copy (see documents.qr_base)."""
    sweep()
    token = secrets.token_urlsafe(32)
    directory = jobs_dir()
    meta = {"user_id": current_user.id, "ward_code": current_user.ward_code,
            "group_id": group["id"], "group_name": group["name"], "layout": layout,
            "created_at": clock.now_iso()}
    write_private(directory / f"{token}.json", json.dumps(meta).encode())
    # Held (by this process) before the status says "queued": no poll can find the job
    # running without an owner.
    lock_fd = _hold_lock(directory / f"{token}.lock")
    # Parts to render (a household too big for the stamped block adds one; the bar
    # then just ends a little later than it promised).
    total = (1 if layout == "cards" else
             -(-len(household_ids) // documents.CHUNK_HOUSEHOLDS[layout]))
    write_json(directory / f"{token}.status", {"state": "queued", "done": 0, "total": total})
    thread = threading.Thread(
        target=run, name=f"wardkit-sheets-{token[:6]}", daemon=True,
        args=(current_app._get_current_object(), token, meta, household_ids, base_url,
              locale, ward_name),
        kwargs={"lock_fd": lock_fd, "qr_warning": qr_warning})
    try:
        thread.start()
    except BaseException:
        if lock_fd is not None:
            os.close(lock_fd)
        raise
    return token


def _hold_lock(path: pathlib.Path) -> int | None:
    """Create the job's lock file (holding this process's pid, for whoever looks) and
    return its descriptor, locked exclusively; None without fcntl."""
    if fcntl is None:
        return None
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    os.write(fd, f"{os.getpid()}\n".encode())
    return fd


def _owner_gone(token: str) -> bool:
    """Return True when the job's lock file exists and no process holds its lock: the
    process that ran the job died. False when it is held, or cannot be checked (no lock
    file: swept, or no fcntl)."""
    if fcntl is None:
        return False
    try:
        fd = os.open(jobs_dir() / f"{token}.lock", os.O_RDONLY)
    except OSError:
        return False
    try:
        # A shared lock is refused while the owner holds its exclusive one; closing the
        # descriptor releases ours at once.
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


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
    path = jobs_dir() / f"{token}.status"
    job = read_json(path) or {"state": "missing"}
    if job["state"] in RUNNING and time.time() - job.get("updated", 0) > STALE_AFTER:
        return {"state": "failed"}
    if job["state"] in RUNNING and _owner_gone(token):
        # The owner may have finished between the two reads (it writes the last status,
        # then lets go of the lock): read again before calling it dead.
        job = read_json(path) or {"state": "missing"}
        if job["state"] in RUNNING:
            return {"state": "failed"}
    return job


def pdf_path(token: str) -> pathlib.Path:
    """Return where a finished job's PDF is."""
    return jobs_dir() / f"{token}.pdf"


def run(app, token: str, meta: dict, household_ids: list[str], base_url: str,
        locale: str, ward_name: str, *, lock_fd: int | None = None,
        qr_warning: bool = False) -> None:
    """Render the job's PDF, writing progress to `<token>.status`. Runs in its own
    thread with its own connection; the PDF appears (atomically) only when complete.
    `lock_fd` (the job's lock, see `start`) is closed, releasing it, once the final
    status is written."""
    try:
        with app.app_context(), force_locale(locale):
            _run(app, token, meta, household_ids, base_url, locale, ward_name, qr_warning)
    finally:
        if lock_fd is not None:
            os.close(lock_fd)


def _run(app, token, meta, household_ids, base_url, locale, ward_name, qr_warning):
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
            sheet_locale=locale, qr_warning=qr_warning,
            workers=app.config.get("SHEETS_WORKERS"),
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
                 settings: dict | None = None, qr_warning: bool = False) -> int:
    """Write the PDF of a group's sheets in `layout` to `target` (a path); return the page
    count. Cards are one page rendered once and repeated (every card page is the same);
    the other layouts go through `pdf.render_batch` in chunks. `qr_warning` prints the
    test-copy watermark (the household codes hold no ward-network address)."""
    settings = settings or queries.effective_settings(db, ward_code)
    context = {"settings": settings, "ward_name": ward_name, "group_name": group_name,
               "sheet_locale": sheet_locale, "qr_warning": qr_warning}
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
    today = clock.today()

    def fetch(ids):
        return documents.with_codes(
            queries.sheet_households(db, ward_code, ids, today=today), base_url)

    base = documents.base_html(**context) if layout == "page" else None
    if len(household_ids) <= documents.CHUNK_HOUSEHOLDS[layout]:
        workers = 1  # one part: starting worker processes would cost more than it saves
    return pdf.render_batch(documents.chunks(layout, household_ids, fetch, **context),
                            target, base_html=base, workers=workers, progress=progress,
                            tmp_dir=tmp_dir)
