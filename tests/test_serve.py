"""`flask serve`: gunicorn on Linux (workers of threads, a dead worker replaced, stopping
the service stops all of it, a killed master leaves no worker behind), waitress in one
process where fork() is missing, and no serving at all on a damaged database file."""
import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.processes import alive, wait_for
from tests.conftest import TEST_CONFIG
from wardkit import create_app, serve
from wardkit.db import connect
from wardkit.serve import worker_count

ROOT = Path(__file__).resolve().parent.parent
linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="runs gunicorn and reads /proc")


def test_worker_count_defaults_to_cores_capped():
    assert worker_count(3) == 3
    assert worker_count(0) == min(os.cpu_count() or 1, 4)
    assert worker_count(None) == min(os.cpu_count() or 1, 4)


def test_gunicorn_runs_threaded_workers_that_load_the_app_after_fork():
    from gunicorn.config import Config
    sock = serve.listen("127.0.0.1", 0)
    options = serve.gunicorn_options(sock, 3, 6)
    cfg = Config()
    for key, value in options.items():
        cfg.set(key, value)   # gunicorn validates each one
    assert cfg.worker_class_str == "gthread"
    assert (cfg.workers, cfg.threads) == (3, 6)
    assert cfg.preload_app is False   # every SQLite connection is opened in the worker
    assert 60 <= cfg.timeout <= 120
    assert cfg.address[0] == int(options["bind"][0].removeprefix("fd://"))
    os.close(cfg.address[0])


def test_without_fork_waitress_serves_in_this_process(app, monkeypatch):
    calls = []
    monkeypatch.delattr(os, "fork", raising=False)
    monkeypatch.setattr(serve, "run_gunicorn", lambda options: pytest.fail("gunicorn"))
    import waitress
    monkeypatch.setattr(waitress, "serve", lambda wsgi, **kw: calls.append((wsgi, kw)))
    r = app.test_cli_runner().invoke(args=["serve", "--port", "0", "--processes", "3"])
    assert r.exit_code == 0, r.output
    assert "(waitress, 1 process(es) x 8 threads" in r.output
    [(wsgi, kw)] = calls
    assert wsgi is app and kw["threads"] == 8
    kw["sockets"][0].close()


def _damage(path: Path) -> None:
    """Overwrite the root page of an index with zeros, as a bad disk sector would."""
    db = connect(str(path))
    db.execute("CREATE TABLE junk (n INTEGER, note TEXT)")
    db.execute("CREATE INDEX junk_note ON junk (note)")
    with db.conn:
        db.conn.executemany("INSERT INTO junk VALUES (?, ?)",
                            [(n, f"note {n:05d} " * 8) for n in range(3000)])
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    page_size = db.execute("PRAGMA page_size").fetchone()[0]
    root = db.execute("SELECT rootpage FROM sqlite_master WHERE name = 'junk_note'"
                      ).fetchone()[0]
    db.close()
    with open(path, "r+b") as f:
        f.seek((root - 1) * page_size)
        f.write(b"\0" * page_size)


@pytest.mark.parametrize("damage", ["page", "garbage"])
def test_refuses_to_serve_a_damaged_database_file(db_path, monkeypatch, damage):
    if damage == "page":
        _damage(db_path)
    else:
        db_path.write_bytes(b"not a database at all " * 500)
    monkeypatch.setattr(serve, "run_gunicorn", lambda options: pytest.fail("served"))
    app = create_app({**TEST_CONFIG, "DATABASE": str(db_path)})
    r = app.test_cli_runner().invoke(args=["serve", "--port", "0"])
    assert r.exit_code == 1
    assert "database check failed" in r.output and "Restore from a backup" in r.output
    assert "WardKit on" not in r.output


# --- the real server ---------------------------------------------------------------------

def _children(pid: int) -> set[int]:
    """Return the pids of the living processes whose parent is `pid`."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                state, ppid = (entry / "stat").read_text().rsplit(")", 1)[1].split()[:2]
            except OSError:
                continue
            if int(ppid) == pid and state != "Z":
                found.add(int(entry.name))
    return found


def _workers(pid: int, without: int | None = None) -> set[int] | None:
    """Return the master's two workers, or None while there are not two (or `without`
    is still among them)."""
    workers = _children(pid)
    return workers if len(workers) == 2 and without not in workers else None


def _holds(pid: int, path: Path) -> bool:
    """Return True when process `pid` has the database file (or its WAL) open."""
    names = {str(path), f"{path}-wal", f"{path}-shm"}
    fds = Path(f"/proc/{pid}/fd")
    for fd in fds.iterdir():
        try:
            if os.readlink(fd) in names:
                return True
        except OSError:
            continue
    return False


def _start(db_path: Path, processes: int):
    """Start `flask serve` on a free port; return (Popen, base URL, start line)."""
    env = {**os.environ, "WARDKIT_DATABASE": str(db_path), "WARDKIT_SECRET_KEY": "t" * 32,
           "WARDKIT_THREADS": "4", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "app", "serve", "--port", "0",
         "--processes", str(processes)], cwd=ROOT, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True)
    line = proc.stdout.readline()
    return proc, line.split()[2] if "WardKit on" in line else None, line


def _healthz(url: str) -> dict:
    with urllib.request.urlopen(url + "healthz", timeout=10) as resp:
        assert resp.status == 200
        return json.load(resp)


def _stop(proc) -> None:
    if proc.poll() is None:
        proc.kill()
        proc.wait()
    proc.stdout.close()


@linux_only
def test_gunicorn_replaces_a_dead_worker_and_stops_cleanly(db_path, latest_schema):
    proc, url, line = _start(db_path, 2)
    try:
        assert "(gunicorn, 2 process(es) x 4 threads" in line, line
        workers = wait_for(lambda: _workers(proc.pid), 30, "two workers")
        for _ in range(6):  # the workers read the file WARDKIT_DATABASE names
            body = _healthz(url)
            assert (body["status"], body["schema"]) == ("ok", latest_schema)
        # Connections are opened after fork(), in the workers: the master, which checked
        # the file before serving, holds none for them to inherit.
        assert not _holds(proc.pid, db_path)

        dead = min(workers)
        os.kill(dead, signal.SIGKILL)
        for _ in range(10):  # the other worker answers meanwhile
            assert _healthz(url)["status"] == "ok"
        now = wait_for(lambda: _workers(proc.pid, without=dead), 30,
                    "a new worker in place of the killed one")
        assert len(now - workers) == 1
        assert _healthz(url)["status"] == "ok"

        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        assert not [pid for pid in workers | now if alive(pid)], "no worker left behind"
    finally:
        _stop(proc)


@linux_only
def test_a_killed_master_leaves_no_worker_behind(db_path):
    proc, url, line = _start(db_path, 2)
    try:
        assert url, line
        workers = wait_for(lambda: _workers(proc.pid), 30, "two workers")
        assert _healthz(url)["status"] == "ok"
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        # Each worker notices its parent changed (it checks every second) and leaves.
        wait_for(lambda: not [pid for pid in workers if alive(pid)], 10, "the workers to end")
    finally:
        _stop(proc)
