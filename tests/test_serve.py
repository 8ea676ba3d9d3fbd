"""`flask serve`: several forked waitress processes answer on one port, and stopping the
service stops all of them (no worker left holding the database)."""
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from wardkit.db import apply_migrations, connect
from wardkit.serve import worker_count

ROOT = Path(__file__).resolve().parent.parent


def test_worker_count_defaults_to_cores_capped():
    assert worker_count(3) == 3
    assert worker_count(0) == min(os.cpu_count() or 1, 4)
    assert worker_count(None) == min(os.cpu_count() or 1, 4)


def _children(pid):
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True,
                         text=True).stdout
    return [int(p) for p in out.split()]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_serve_with_two_processes_answers_and_stops_cleanly(tmp_path):
    path = str(tmp_path / "serve.db")
    db = connect(path)
    apply_migrations(db)
    db.close()
    env = {**os.environ, "WARDKIT_DATABASE": path, "WARDKIT_SECRET_KEY": "t" * 32,
           "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "app", "serve", "--port", "0",
         "--processes", "2"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True)
    try:
        line = proc.stdout.readline()
        assert "2 process(es)" in line, line
        url = line.split()[2]
        deadline = time.monotonic() + 20
        while len(_children(proc.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        workers = _children(proc.pid)
        assert len(workers) == 2
        for _ in range(10):
            with urllib.request.urlopen(url + "healthz", timeout=10) as resp:
                assert resp.status == 200
                assert json.load(resp)["status"] == "ok"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
        for pid in workers:   # gone, not orphaned
            assert not Path(f"/proc/{pid}").exists() or \
                "zombie" in Path(f"/proc/{pid}/status").read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
