"""Private files of background jobs (spreadsheet imports, sheet batches): created mode
0600, status files replaced atomically so a poll from any server process never reads
half of one."""
import json
import logging
import os
import pathlib
import secrets
import shutil
import tempfile
import time

log = logging.getLogger(__name__)


def write_private(path: pathlib.Path, data: bytes) -> None:
    """Create `path` (mode 0600, refusing to overwrite) holding `data`."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def write_json(path: pathlib.Path, value: dict) -> None:
    """Replace the small JSON file at `path` atomically, stamping it with `updated`."""
    tmp = path.with_name(f"{path.name}.{secrets.token_hex(4)}.tmp")
    write_private(tmp, json.dumps({**value, "updated": time.time()}).encode())
    os.replace(tmp, path)


def read_json(path: pathlib.Path) -> dict | None:
    """Return the JSON object at `path`, or None when it is missing or unreadable."""
    try:
        return json.loads(path.read_bytes())
    except (FileNotFoundError, ValueError):
        return None


def file_clock(directory: pathlib.Path) -> float:
    """Return the current time as the file system under `directory` stamps files (a new
    probe file's mtime), or `time.time()` when no file can be made there.

    File ages are measured against this clock, not the process's: the stamps come from
    the kernel or the medium (a FAT stick keeps local time), and a process clock moved
    by a tool such as faketime would make every fresh upload look a year old."""
    try:
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".clock-") as probe:
            return os.fstat(probe.fileno()).st_mtime
    except OSError:
        return time.time()


def _log_undeletable(function, path, exc_info) -> None:
    # shutil.rmtree's onerror: a file inside a leftover directory that cannot go (or went
    # already) must not stop the rest of the sweep.
    if not issubclass(exc_info[0], FileNotFoundError):
        log.warning("cannot delete %s; will try again", path, exc_info=exc_info)


def sweep_tokens(directory: pathlib.Path, ttl: float, now: float | None = None) -> int:
    """Delete every job token's files (`<token>.<suffix>`, and directories such as a
    batch's `wardkit-sheets-*` parts left by a killed server) in `directory` whose newest
    entry is older than `ttl` seconds; return how many entries went. A running job
    rewrites its status file, which keeps its token's files alive.

    Never raises: an entry that vanishes, cannot be read or cannot be deleted is logged
    and skipped, so a leftover never fails the request that swept (and the rest, which
    may hold residents' names, is still deleted). `now` is on the file system's clock
    (`file_clock`), which is the default."""
    try:
        entries = [p for p in directory.iterdir() if not p.name.startswith(".clock-")]
    except FileNotFoundError:
        return 0
    except OSError:
        log.warning("cannot list %s to delete old job files", directory, exc_info=True)
        return 0
    now = now if now is not None else file_clock(directory)
    by_token: dict[str, list] = {}
    for path in entries:
        try:
            mtime = path.lstat().st_mtime
        except FileNotFoundError:
            pass
        except OSError:
            log.warning("cannot read %s; left in place", path, exc_info=True)
        else:
            by_token.setdefault(path.name.split(".")[0], []).append((path, mtime))
    removed = 0
    for files in by_token.values():
        if now - max(mtime for _, mtime in files) <= ttl:
            continue
        for path, _ in files:
            try:
                if path.is_dir() and not path.is_symlink():
                    shutil.rmtree(path, onerror=_log_undeletable)
                    if path.exists():
                        continue
                else:
                    path.unlink()
                removed += 1
            except FileNotFoundError:
                pass
            except OSError:
                log.warning("cannot delete %s; will try again", path, exc_info=True)
    return removed
