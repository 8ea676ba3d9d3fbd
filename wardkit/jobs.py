"""Background jobs (a spreadsheet import, a batch of sheets): the work runs in a thread of
the server process that got the request, and the page polls its progress, which any
server process can answer. See docs/ARCHITECTURE.md#background-jobs.

A job is a few private files (wardkit/files.py: folder 0700, files 0600) named by a
256-bit random token, in the kind's folder under the instance:

* `<token>.json`: whose job it is (`user_id`, `ward_code`) and what the work needs;
* `<token>.status`: `{"state", "done", "total", ...}`, rewritten atomically as the work
  goes on (in a file, not in memory, so a poll answered by another process sees it);
* `<token>.lock`: held with an exclusive `flock` by the process running the job until
  its last status is written. The kernel drops the lock when that process dies however
  it dies (kill -9, power cut), so a poll knows at once that a job still "running" has
  no owner and reports it failed; a reused pid cannot fool it. Where `fcntl` is missing
  (Windows), a job whose status has not moved for STALE_AFTER counts as failed;
* whatever the work leaves (an upload, a PDF).

Everything a token left is deleted `ttl` seconds after its newest file changed, by
`Jobs.sweep`, which never raises.
"""
import json
import os
import pathlib
import re
import secrets
import threading
import time
from dataclasses import dataclass

try:
    import fcntl
except ImportError:  # Windows: the STALE_AFTER rule alone
    fcntl = None

from flask import abort, current_app
from flask_babel import force_locale

from .files import read_json, sweep_tokens, write_json, write_private

STALE_AFTER = 10 * 60    # a running job whose status did not move for this long died
TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{43}")   # secrets.token_urlsafe(32)


@dataclass(frozen=True)
class Jobs:
    """One kind of background job: where its files live and how long they are kept."""

    name: str                    # in thread names and log lines
    setting: str                 # the config key of its folder (None: instance/<folder>)
    folder: str
    ttl: float                   # seconds a job's files are kept after their last change
    running: tuple[str, ...]     # the states of a job still at work

    def directory(self, app=None, *, create: bool = True) -> pathlib.Path:
        """Return (creating it, mode 0700) the folder of this kind's job files."""
        app = app or current_app
        path = pathlib.Path(app.config.get(self.setting)
                            or pathlib.Path(app.instance_path) / self.folder)
        if create:
            path.mkdir(mode=0o700, parents=True, exist_ok=True)
        return path

    def path(self, token: str, suffix: str, app=None) -> pathlib.Path:
        """Return the path of the job's `<token>.<suffix>` file."""
        return self.directory(app) / f"{token}.{suffix}"

    def sweep(self, now: float | None = None, app=None) -> int:
        """Delete the files of jobs untouched for `ttl`; return how many went. Never
        raises (see files.sweep_tokens)."""
        return sweep_tokens(self.directory(app, create=False), self.ttl, now)

    def create(self, meta: dict, **files: bytes) -> str:
        """Store a new job's metadata (`meta` must hold `user_id` and `ward_code`) and
        `files` (suffix → bytes), each private; return its token."""
        token = secrets.token_urlsafe(32)
        for suffix, data in files.items():
            write_private(self.path(token, suffix), data)
        write_private(self.path(token, "json"), json.dumps(meta).encode())
        return token

    def own(self, token: str | None, user_id: str, ward_code: str) -> dict | None:
        """Return the job's metadata when `token` is well formed and the job belongs to
        this user in this ward; None when it is gone (swept). Aborts 404 otherwise:
        another user's job looks like an unknown one."""
        if not token or not TOKEN_RE.fullmatch(token):
            abort(404)
        meta = read_json(self.path(token, "json"))
        if meta is None:
            return None
        if meta.get("user_id") != user_id or meta.get("ward_code") != ward_code:
            abort(404)
        return meta

    def start(self, token: str, work, *args, locale: str, total: int = 0) -> bool:
        """Run `work(app, token, *args)` in a daemon thread of this process, in an app
        context with `locale`, holding the job's lock until it returns; return False
        (starting nothing) when the job was started already (a second click).

        The "queued" status is created exclusively: that is the claim. `work` reports
        its progress with `set_status` and must write a final state; if it raises, the
        job is marked failed."""
        try:
            write_private(self.path(token, "status"), json.dumps({
                "state": "queued", "done": 0, "total": total,
                "updated": time.time()}).encode())
        except FileExistsError:
            return False
        lock_fd = _hold_lock(self.path(token, "lock"))
        thread = threading.Thread(
            target=self._run, name=f"wardkit-{self.name}-{token[:6]}", daemon=True,
            args=(current_app._get_current_object(), token, lock_fd, locale, work, args))
        try:
            thread.start()
        except BaseException:
            if lock_fd is not None:
                os.close(lock_fd)
            raise
        return True

    def _run(self, app, token, lock_fd, locale, work, args) -> None:
        try:
            with app.app_context(), force_locale(locale):
                try:
                    work(app, token, *args)
                except Exception:
                    app.logger.exception("%s job %s failed", self.name, token[:6])
                    self.set_status(token, "failed", app=app)
        finally:
            if lock_fd is not None:
                os.close(lock_fd)   # after the last status: see `status`

    def set_status(self, token: str, state: str, app=None, **values) -> None:
        """Replace the job's status (atomically, stamped with the time)."""
        write_json(self.path(token, "status", app), {"state": state, **values})

    def status(self, token: str) -> dict:
        """Return the job's status: at least `state` ("missing" when it is gone). A job
        still running whose owner died, or whose status has not moved for STALE_AFTER,
        is `{"state": "failed"}`."""
        path = self.path(token, "status")
        job = read_json(path) or {"state": "missing"}
        if job["state"] not in self.running:
            return job
        if time.time() - job.get("updated", 0) > STALE_AFTER:
            return {"state": "failed"}
        if _owner_gone(self.path(token, "lock")):
            # The owner may have finished between the two reads (it writes the last
            # status, then lets go of the lock): read again before calling it dead.
            job = read_json(path) or {"state": "missing"}
            if job["state"] in self.running:
                return {"state": "failed"}
        return job


def _hold_lock(path: pathlib.Path) -> int | None:
    """Create the lock file at `path` already locked (exclusively; holding this
    process's pid, for whoever looks) and return its descriptor; None without fcntl."""
    if fcntl is None:
        return None
    # Locked under a temporary name, then renamed: no poll ever finds the lock file
    # unlocked while its owner lives.
    tmp = path.with_name(f"{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, f"{os.getpid()}\n".encode())
        os.replace(tmp, path)
    except BaseException:
        os.close(fd)
        tmp.unlink(missing_ok=True)
        raise
    return fd


def _owner_gone(path: pathlib.Path) -> bool:
    """Return True when the lock file at `path` exists and no process holds its lock:
    the process that ran the job died. False when it is held, or cannot be checked (no
    lock file, or no fcntl)."""
    if fcntl is None:
        return False
    try:
        fd = os.open(path, os.O_RDONLY)
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
