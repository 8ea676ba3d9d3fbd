"""Private files of background jobs (spreadsheet imports, sheet batches): created mode
0600, status files replaced atomically so a poll from any server process never reads
half of one."""
import json
import os
import pathlib
import secrets
import time


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


def sweep_tokens(directory: pathlib.Path, ttl: float, now: float | None = None) -> int:
    """Delete the files of every job token (`<token>.<suffix>`) in `directory` whose
    newest file is older than `ttl` seconds; return how many files went. A running job
    rewrites its status file, which keeps its token's files alive."""
    now = now or time.time()
    if not directory.is_dir():
        return 0
    by_token: dict[str, list] = {}
    for path in directory.iterdir():
        try:
            by_token.setdefault(path.name.split(".")[0], []).append(
                (path, path.stat().st_mtime))
        except FileNotFoundError:
            pass
    removed = 0
    for files in by_token.values():
        if now - max(mtime for _, mtime in files) > ttl:
            for path, _ in files:
                path.unlink(missing_ok=True)
                removed += 1
    return removed
