"""A batch PDF whose server process is killed mid-render (kill -9, power cut): its render
workers go with it, the next server reports the job failed at once (not "rendering" for
ten minutes), and the parts it left are swept without breaking the next batch.

Runs the real app (`flask serve`: gunicorn with one worker process) on a loopback port
with its own database and jobs folder, signs in through the login form and kills the
server (gunicorn's master) with SIGKILL: its worker notices its parent is gone and leaves,
and the render workers go with it.
"""
import http.cookiejar
import io
import os
import re
import signal
import subprocess
import sys
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from pypdf import PdfReader

from tests.processes import alive, wait_for
from tests.conftest import csrf_from
from wardkit.files import file_clock
from tests.factories import PASSWORD, make_group, make_household, make_resident, make_user
from tests.test_sheets import configure
from wardkit.db import apply_migrations, connect

ROOT = Path(__file__).resolve().parent.parent
BIG = 240     # households: several 40-household parts, long enough to kill mid-render
SMALL = 45    # two parts: the next batch still goes through the worker pool

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="reads /proc to find the render workers")


def _seed(path: str) -> dict:
    db = connect(path)
    apply_migrations(db)
    make_user(db, username="an", role="officer")
    configure(db, public_url="http://192.168.1.20:5000")
    groups = {}
    for name, size in (("big", BIG), ("small", SMALL)):
        group = make_group(db, name=f"Tổ {name}")
        for n in range(size):
            household = make_household(db, group=group, house_number=str(n + 1))
            make_resident(db, household, full_name=f"Nguyễn Văn {n}", relation="head")
        groups[name] = group["id"]
    db.close()
    return groups


def _descendants(pid: int) -> list[int]:
    """Return the pids of every process below `pid` (from /proc)."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents.setdefault(int(stat.rsplit(")", 1)[1].split()[1]), []).append(
                int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _threads(pid: int) -> int:
    try:
        return len(list(Path(f"/proc/{pid}/task").iterdir()))
    except OSError:
        return 0


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


class Server:
    """`flask serve` with one worker process on a free loopback port, with a signed-in
    browser."""

    def __init__(self, env: dict, jar: http.cookiejar.CookieJar):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "app", "serve", "--host", "127.0.0.1",
             "--port", "0", "--processes", "1"], cwd=ROOT, env=env,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        line = self.proc.stdout.readline()
        assert "WardKit on http://" in line, line
        self.url = line.split()[2].rstrip("/")
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))

    def get(self, path: str) -> str:
        with self.opener.open(self.url + path, timeout=60) as resp:
            return resp.read().decode()

    def post(self, path: str, data: dict, token_from: str = "/",
             htmx: bool = True) -> tuple[int, str]:
        data = {"csrf_token": csrf_from(self.get(token_from)), **data}
        request = urllib.request.Request(
            self.url + path, data=urllib.parse.urlencode(data).encode(),
            headers={"HX-Request": "true", "HX-Target": "sheets-job"} if htmx else {})
        try:
            with self.opener.open(request, timeout=60) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def login(self) -> None:
        status, _ = self.post("/login", {"username": "an", "password": PASSWORD},
                              token_from="/login", htmx=False)
        assert status == 200
        assert "/logout" in self.get("/")

    def start_batch(self, group_id: str) -> str:
        status, html = self.post(f"/groups/{group_id}/sheets/jobs", {"layout": "page"},
                                 token_from=f"/groups/{group_id}/sheets")
        assert status == 200, html[:2000]
        return re.search(r"token&#34;: &#34;([\w-]{43})", html).group(1)

    def job(self, token: str) -> str:
        status, html = self.post("/sheets/jobs/status", {"token": token})
        assert status == 200
        return html

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()


def test_killed_server_mid_batch_leaves_no_workers_and_no_broken_batches(tmp_path):
    pytest.importorskip("weasyprint")
    database = str(tmp_path / "wardkit.db")
    groups = _seed(database)
    sheets_dir = tmp_path / "sheets"
    env = {**os.environ, "WARDKIT_DATABASE": database, "WARDKIT_SECRET_KEY": "k" * 32,
           "WARDKIT_SHEETS_DIR": str(sheets_dir), "WARDKIT_SHEETS_WORKERS": "2",
           "PYTHONUNBUFFERED": "1"}
    jar = http.cookiejar.CookieJar()
    servers = []
    try:
        first = Server(env, jar)
        servers.append(first)
        first.login()
        token = first.start_batch(groups["big"])

        def workers():
            # Up, not still importing: each has started its lifeline thread. (One killed
            # while booting ends when its boot finishes, which under load takes longer
            # than the limit below.)
            found = [pid for pid in _descendants(first.proc.pid)
                     if "multiprocessing" in _cmdline(pid) and "spawn_main" in _cmdline(pid)
                     and _threads(pid) >= 2]
            return found if len(found) == 2 else None

        wait_for(workers, 60, "two render workers")
        # Mid-render: the workers are up and the job is not finished.
        assert 'id="sheets-stage"' in first.job(token)
        below = _descendants(first.proc.pid)
        first.proc.send_signal(signal.SIGKILL)
        first.proc.wait()
        # The workers (and multiprocessing's helper) end within seconds, not never.
        wait_for(lambda: not [pid for pid in below if alive(pid)], 5,
              f"the killed server's children to end: {below}")
        assert list(sheets_dir.glob("wardkit-sheets-*")), "the killed batch left its parts"

        second = Server(env, jar)
        servers.append(second)
        page = second.job(token)
        assert 'id="sheets-failed"' in page, page   # at once, not after ten minutes
        assert 'id="sheets-stage"' not in page

        # Half an hour later the sweep meets the leftover folder: the next batch works.
        old = file_clock(sheets_dir) - 31 * 60
        for path in sheets_dir.rglob("*"):
            os.utime(path, (old, old))
        token2 = second.start_batch(groups["small"])
        assert not list(p for p in sheets_dir.glob("wardkit-sheets-*")
                        if p.stat().st_mtime < file_clock(sheets_dir) - 60)
        assert not list(sheets_dir.glob(f"{token}.*")), "the dead job's files are gone"
        wait_for(lambda: 'id="sheets-download"' in second.job(token2), 120, "the next batch")
        with second.opener.open(f"{second.url}/sheets/jobs/{token2}/sheets.pdf",
                                timeout=60) as resp:
            pdf = resp.read()
        assert pdf.startswith(b"%PDF")
        assert len(PdfReader(io.BytesIO(pdf)).pages) == SMALL
    finally:
        for server in servers:
            server.stop()
