"""Mixed load: an officer's requests from 32 connections for 20 s with `wrk` against a real
`flask serve` on a demo ward of 2,000 households, then `GET /healthz` on the same server
as the baseline (issue 10).

Run from the repository root:

    .venv/bin/python bench/bench_mixed.py [--connections 32] [--duration 20]
        [--threads 2] [--processes N] [--households 2000] [--app-dir DIR] [--json]

Needs Debian's `wrk` (`make wrk`; installed here with apt-get when missing and root).

Setup only through the app's command line and URLs, so `--app-dir` may be another
checkout (a git worktree of an older commit builds its own schema): in a temporary
directory, `flask init-db` and `flask seed-demo --households 2000` (5 groups of 400;
demo.officer has groups 1 and 2), then `flask serve --port P` (cwd and PYTHONPATH: the app
directory; this repository's .venv). demo.admin adds group 3 to the officer (POST
/assignments): a 3-group round of 1,200 households. The officer signs in and starts 64
licence drafts (POST /residents/<id>/declarations/new). Ids come from the database file.

The mix (bench/bench_mixed.lua), drawn at random on the officer's session with a
browser's headers (Accept-Encoding: gzip, deflate, br; htmx's on the POSTs): 40 % GET
/today (3 groups), 20 % POST /residents/search (the live box: names with and without
diacritics, given names, addresses), 20 % GET /households/<id> of the round, 10 % POST
/households/<id>/visits (done, nobody home, declined, come back tomorrow 17:00), 10 % POST
/declarations/<id>/draft (the autosave: the whole licence form, a new licence number).
Each kind is first sent once and checked (status; the visit and the autosave stored).
Errors: non-2xx/3xx responses (the Lua script's count and wrk's "Non-2xx or 3xx
responses") plus socket errors and timeouts (10 s).

Goal (issue 10): mixed/healthz requests/s >= 0.4, mixed p99 <= 150 ms, 0 errors.
"""
import argparse
import http.client
import http.cookies
import json
import os
import platform
import random
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.parse
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LUA = Path(__file__).resolve().parent / "bench_mixed.lua"
VENV_BIN = ROOT / ".venv" / "bin"
HASH_METHOD = "scrypt:1024:8:1"   # quick logins; nothing in the mix hashes a password
DRAFTS = 64
KINDS = ("today", "search", "household", "visit", "autosave")
GOAL_RATIO, GOAL_P99_MS = 0.4, 150.0
CSRF_INPUT = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"'
                        r'|value="([^"]+)"[^>]*name="csrf_token"')
DEMO_LINE = re.compile(r"^\s*(\w+)\s+(demo\.\w+)\s+(\S+)\s*$")
HANOI = timezone(timedelta(hours=7))


# --- wrk -----------------------------------------------------------------------------

def ensure_wrk() -> str:
    """Return the path of wrk, installing Debian's package first when missing and root."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("wrk is missing: apt-get install -y wrk", flush=True)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, env=env)
        found = shutil.which("wrk")
    if not found:
        raise SystemExit("wrk is missing: sudo apt-get install wrk (or: make wrk)")
    return found


# --- the app's command line -------------------------------------------------------------

def app_env(app_dir: Path, db_path: str) -> dict:
    """Return the environment every `flask` command of the run gets."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WARDKIT_")}
    return {**env, "PYTHONPATH": str(app_dir), "PYTHONUNBUFFERED": "1",
            "WARDKIT_DATABASE": db_path, "WARDKIT_SECRET_KEY": "bench-mixed-" + "x" * 32,
            "WARDKIT_PASSWORD_HASH_METHOD": HASH_METHOD,
            "WARDKIT_IMPORT_DIR": str(Path(db_path).parent / "imports"),
            "WARDKIT_SHEETS_DIR": str(Path(db_path).parent / "sheets")}


def flask(app_dir: Path, env: dict, *args) -> str:
    """Run `flask --app app.py ARGS` in the app directory; return its output."""
    done = subprocess.run([str(VENV_BIN / "flask"), "--app", "app.py", *args], cwd=app_dir,
                          env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"flask {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def seed(app_dir: Path, env: dict, households: int) -> dict:
    """Create the schema and the demo ward; return {username: password}."""
    flask(app_dir, env, "init-db")
    out = flask(app_dir, env, "seed-demo", "--households", str(households))
    passwords = {m.group(2): m.group(3) for m in map(DEMO_LINE.match, out.splitlines()) if m}
    if "demo.officer" not in passwords or "demo.admin" not in passwords:
        raise SystemExit(f"seed-demo printed no demo passwords:\n{out}")
    return passwords


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(app_dir: Path, env: dict, port: int, processes, log_path: str):
    """Start `flask serve --port PORT` in its own process group; return the Popen once
    /healthz answers 200."""
    cmd = [str(VENV_BIN / "flask"), "--app", "app.py", "serve", "--port", str(port)]
    if processes is not None:
        cmd += ["--processes", str(processes)]
    log = open(log_path, "w")
    proc = subprocess.Popen(cmd, cwd=app_dir, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    log.close()
    deadline = time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return proc
        except OSError:
            time.sleep(0.2)
    stop_server(proc)
    raise SystemExit(f"/healthz did not answer 200 within 60 s:\n{Path(log_path).read_text()}")


def stop_server(proc) -> None:
    """Stop the server we started and whatever it forked (its own process group)."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)   # any worker left behind
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()


# --- a browser of sorts ----------------------------------------------------------------

class Browser:
    """One keep-alive connection with a cookie jar, the CSRF token of the last page, and
    the headers a browser and htmx send."""

    def __init__(self, port: int):
        self.port = port
        self.origin = f"http://127.0.0.1:{port}"
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.cookies: dict[str, str] = {}
        self.csrf = None

    def cookie_header(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())

    def request(self, method, path, fields=None, htmx_target=None):
        """Return (status, headers, body text); POSTs carry Origin and the CSRF token."""
        hdrs = {"Accept-Encoding": "identity"}
        if self.cookies:
            hdrs["Cookie"] = self.cookie_header()
        body = None
        if method == "POST":
            hdrs["Origin"] = self.origin
            hdrs["Content-Type"] = "application/x-www-form-urlencoded"
            body = urllib.parse.urlencode({"csrf_token": self.csrf, **(fields or {})})
        if htmx_target:
            hdrs.update({"HX-Request": "true", "HX-Target": htmx_target,
                         "X-CSRFToken": self.csrf})
        self.conn.request(method, path, body=body, headers=hdrs)
        resp = self.conn.getresponse()
        text = resp.read().decode("utf-8", "replace")
        for value in resp.headers.get_all("Set-Cookie") or ():
            jar = http.cookies.SimpleCookie()
            jar.load(value)
            for name, morsel in jar.items():
                if morsel["max-age"] == "0" or not morsel.value:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        m = CSRF_INPUT.search(text)
        if m:
            self.csrf = m.group(1) or m.group(2)
        return resp.status, resp.headers, text

    def login(self, username: str, password: str) -> None:
        status, _h, _t = self.request("GET", "/login")
        must(status == 200, f"GET /login: {status}")
        status, _h, _t = self.request("POST", "/login",
                                      {"username": username, "password": password})
        must(status == 303, f"POST /login as {username}: {status}")
        status, _h, _t = self.request("GET", "/today")   # the new session's CSRF token
        must(status == 200 and self.csrf, f"GET /today after login: {status}")


def must(ok, message) -> None:
    if not ok:
        raise SystemExit(f"setup/check failed: {message}")


# --- the ward ----------------------------------------------------------------------------

def rows(db_path, sql, params=()):
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        return db.execute(sql, params).fetchall()
    finally:
        db.close()


def one(db_path, sql, params=()):
    return rows(db_path, sql, params)[0][0]


def prepare(port, db_path, passwords, rng):
    """Give the officer a 3-group round, sign in, start the drafts; return (officer
    Browser, {households, residents, drafts, group names})."""
    groups = rows(db_path, "SELECT id, name FROM residential_groups WHERE deleted_at IS NULL")
    groups.sort(key=lambda g: int(re.sub(r"\D", "", g[1]) or 0))
    officer_id = one(db_path, "SELECT id FROM users WHERE username = 'demo.officer'")
    admin = Browser(port)
    admin.login("demo.admin", passwords["demo.admin"])
    status, _h, _t = admin.request("GET", "/assignments")
    must(status == 200, f"GET /assignments: {status}")
    status, _h, _t = admin.request("POST", "/assignments",
                                   {"group_id": groups[2][0], "officer_id": officer_id})
    must(status == 303, f"POST /assignments: {status}")
    mine = [r[0] for r in rows(db_path, """SELECT group_id FROM assignments
        WHERE officer_id = ? AND deleted_at IS NULL""", [officer_id])]
    must(len(mine) == 3, f"the officer has {len(mine)} groups, not 3")
    marks = ",".join("?" * len(mine))
    households = [r[0] for r in rows(db_path, f"""SELECT id FROM households
        WHERE group_id IN ({marks}) AND deleted_at IS NULL ORDER BY id""", mine)]
    people = rows(db_path, f"""SELECT r.id, r.full_name, r.dob, h.house_number, h.street
        FROM residents r JOIN households h ON h.id = r.household_id
        WHERE h.group_id IN ({marks}) AND r.deleted_at IS NULL AND h.deleted_at IS NULL
        ORDER BY r.id""", mine)

    officer = Browser(port)
    officer.login("demo.officer", passwords["demo.officer"])
    adults = [p for p in people if p[2] <= f"{datetime.now().year - 18}-01-01"]
    drafts = []
    for resident_id, *_rest in rng.sample(adults, DRAFTS):
        status, headers, _t = officer.request(
            "POST", f"/residents/{resident_id}/declarations/new?kind=licence")
        must(status == 303, f"POST /residents/{resident_id}/declarations/new: {status}")
        drafts.append(headers["Location"].rstrip("/").rsplit("/", 1)[-1])
    status, _h, _t = officer.request("GET", f"/declarations/{drafts[0]}")
    must(status == 200, f"GET /declarations/<id>: {status}")
    return officer, {"households": households, "people": people, "drafts": drafts,
                     "group_names": [g[1] for g in groups[:3]]}


def fold(text: str) -> str:
    """Return `text` without Vietnamese diacritics, as typed on a phone without them."""
    import unicodedata
    text = text.replace("Đ", "D").replace("đ", "d")
    return "".join(c for c in unicodedata.normalize("NFD", text)
                   if unicodedata.category(c) != "Mn")


def search_terms(people, rng, n=60):
    """Return `n` realistic search box contents: full names, names without diacritics,
    family + given name, a given name, a house number and street."""
    terms = []
    for _rid, name, _dob, number, street in rng.sample(people, n):
        words = name.split()
        terms.append(rng.choice([
            name, fold(name).lower(), f"{words[0]} {words[-1]}", words[-1],
            f"{number} {street}", fold(street).lower()]))
    return terms


def visit_bodies():
    """Return the visit form bodies (without the token) the mix draws from."""
    tomorrow = (datetime.now(HANOI) + timedelta(days=1)).date().isoformat()
    return ["outcome=done", "outcome=done", "outcome=nobody_home", "outcome=declined",
            urllib.parse.urlencode({"outcome": "come_back", "come_back_day": tomorrow,
                                    "come_back_time": "17:00"})]


AUTOSAVE_REST = urllib.parse.urlencode({
    "licence_class": "A1", "issued_on": "12/03/2019", "expires_on": "",
    "issuing_authority": "Sở GTVT Hà Nội", "lawful_basis": "official_duty",
    "consent_method": "", "channel": "home_visit"})


# --- checking each kind once by hand ----------------------------------------------------

def check_each_kind(officer: Browser, db_path, ward):
    """Send each kind of request of the mix once, as the Lua script does, and check it
    answered and did its work; return a line per kind."""
    out = []
    status, _h, html = officer.request("GET", "/today")
    must(status == 200 and all(n in html for n in ward["group_names"]),
         f"GET /today: {status}")
    out.append(f"GET /today 200 ({len(html):,} bytes)")

    _rid, name, _dob, _n, _s = ward["people"][0]
    status, _h, html = officer.request("POST", "/residents/search", {"q": name},
                                       htmx_target="residents-results")
    must(status == 200 and "residents-results" in html and "<html" not in html,
         f"POST /residents/search: {status}")
    must(name in html, f"POST /residents/search: {name!r} not in the results")
    out.append(f"POST /residents/search 200, fragment with {name!r}")

    household = ward["households"][0]
    status, _h, html = officer.request("GET", f"/households/{household}")
    must(status == 200, f"GET /households/<id>: {status}")
    out.append(f"GET /households/<id> 200 ({len(html):,} bytes)")

    count = "SELECT count(*) FROM visits WHERE household_id = ? AND deleted_at IS NULL"
    before = one(db_path, count, [household])
    fields = dict(urllib.parse.parse_qsl(visit_bodies()[-1]))
    status, headers, html = officer.request("POST", f"/households/{household}/visits",
                                            fields, htmx_target="visit-form")
    after = one(db_path, count, [household])
    must(status == 200 and after == before + 1, f"POST visit: {status}, visits "
                                                f"{before} -> {after}")
    out.append("POST /households/<id>/visits 200, stored (come back tomorrow 17:00)")

    draft, number = ward["drafts"][0], "001234567890"
    body = dict(urllib.parse.parse_qsl(AUTOSAVE_REST, keep_blank_values=True))
    status, _h, html = officer.request("POST", f"/declarations/{draft}/draft",
                                       {"licence_no": number, **body},
                                       htmx_target="save-status")
    stored = one(db_path, "SELECT licence_no FROM declarations WHERE id = ?", [draft])
    must(status == 200 and stored == number, f"autosave: {status}, stored {stored!r}")
    out.append("POST /declarations/<id>/draft 200, licence_no stored")
    return out


# --- wrk ---------------------------------------------------------------------------------

def write_data(path, officer: Browser, ward, terms) -> None:
    """Write what bench_mixed.lua reads: a Lua table (JSON strings are Lua strings)."""
    data = {"cookie": officer.cookie_header(), "csrf": officer.csrf,
            "csrf_q": urllib.parse.quote(officer.csrf, safe=""), "origin": officer.origin,
            "accept_encoding": "gzip, deflate, br", "households": ward["households"],
            "drafts": ward["drafts"], "visits": visit_bodies(),
            "searches": [urllib.parse.urlencode({"q": t}) for t in terms],
            "autosave_rest": AUTOSAVE_REST}
    lua = {k: ("{" + ", ".join(map(json.dumps, v)) + "}") if isinstance(v, list)
           else json.dumps(v) for k, v in data.items()}
    Path(path).write_text("return {\n" + ",\n".join(f"  {k} = {v}" for k, v in lua.items())
                          + "\n}\n")


def run_wrk(wrk, port, data_path, mode, args, duration=None):
    """Run wrk in `mode` for `duration` s (default --duration); return the figures of
    its WARDKIT_RESULT line plus wrk's own "Non-2xx or 3xx responses" count and
    Requests/sec."""
    duration = duration or args.duration
    cmd = [wrk, "--threads", str(args.threads), "--connections", str(args.connections),
           "--duration", f"{duration}s", "--timeout", "10s", "--latency",
           "--script", str(LUA), f"http://127.0.0.1:{port}", "--", data_path, mode]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 120)
    m = re.search(r"^WARDKIT_RESULT (\{.*\})$", done.stdout, re.M)
    if done.returncode != 0 or not m:
        raise SystemExit(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    figures = json.loads(m.group(1))
    non = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", done.stdout)
    figures["wrk_non_2xx_3xx"] = int(non.group(1)) if non else 0
    rps = re.search(r"Requests/sec:\s*([\d.]+)", done.stdout)
    figures["wrk_rps"] = float(rps.group(1)) if rps else None
    figures["errors"] = (figures["n4xx"] + figures["n5xx"] + figures["nother"]
                         + figures["socket_errors"])
    return figures


def settle(db_path, quiet=1.0, limit=30.0) -> None:
    """Return once the audit log has not grown for `quiet` s (at most `limit` s): the
    requests a finished wrk left in flight are still served after it exits."""
    deadline, last = time.monotonic() + limit, None
    while time.monotonic() < deadline and last != (
            last := one(db_path, "SELECT count(*) FROM audit_log")):
        time.sleep(quiet)


# --- the machine -------------------------------------------------------------------------

def cpu_model() -> str:
    info = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    m = re.search(r"^model name\s*:\s*(.+)$", info, re.M)
    return m.group(1).strip() if m else platform.processor() or "?"


def app_revision(app_dir: Path) -> str:
    done = subprocess.run(["git", "-C", str(app_dir), "log", "-1", "--format=%h %s"],
                          capture_output=True, text=True)
    rev = done.stdout.strip()[:90] if done.returncode == 0 else "?"
    dirty = subprocess.run(["git", "-C", str(app_dir), "status", "--porcelain",
                            "--untracked-files=no"], capture_output=True, text=True)
    return rev + (" (+ uncommitted changes)" if dirty.stdout.strip() else "")


# --- main --------------------------------------------------------------------------------

def measure(args, app_dir, wrk, rng) -> dict:
    """Build the ward, serve it, check each kind of request, run the mix and the
    baseline; return the figures."""
    with tempfile.TemporaryDirectory(prefix="wardkit-bench-mixed-") as tmp:
        db_path, log_path = os.path.join(tmp, "wardkit.db"), os.path.join(tmp, "serve.log")
        env = app_env(app_dir, db_path)
        t = time.perf_counter()
        passwords = seed(app_dir, env, args.households)
        seeded = time.perf_counter() - t
        port = free_port()
        server = start_server(app_dir, env, port, args.processes, log_path)
        stored = ("SELECT (SELECT count(*) FROM visits), (SELECT count(*) FROM audit_log"
                  " WHERE action = 'declaration_saved')")
        try:
            t = time.perf_counter()
            officer, ward = prepare(port, db_path, passwords, rng)
            checks = check_each_kind(officer, db_path, ward)
            prepared = time.perf_counter() - t
            data_path = os.path.join(tmp, "data.lua")
            write_data(data_path, officer, ward, search_terms(ward["people"], rng))
            if args.warmup:   # every worker process imports and compiles its templates
                run_wrk(wrk, port, data_path, "mixed", args, duration=args.warmup)
                settle(db_path)   # the server finishes what wrk left in flight
            before = rows(db_path, stored)[0]
            mixed = run_wrk(wrk, port, data_path, "mixed", args)
            settle(db_path)
            after = rows(db_path, stored)[0]
            healthz = run_wrk(wrk, port, data_path, "healthz", args)
        finally:
            stop_server(server)
        log = Path(log_path).read_text().splitlines()
        started = [line for line in log
                   if re.search(r"WardKit on|Starting|Listening|worker", line)]
        failures = [line for line in log if re.search(r"ERROR|Error|Traceback|failed", line)]
        households, residents = rows(db_path, """SELECT
            (SELECT count(*) FROM households WHERE deleted_at IS NULL),
            (SELECT count(*) FROM residents WHERE deleted_at IS NULL)""")[0]
    ratio = mixed["rps"] / healthz["rps"] if healthz["rps"] else 0.0
    sent = {k: mixed[f"sent_{k}"] for k in KINDS}
    for figures in (mixed, healthz):
        for key in [k for k in figures if k.startswith("sent_")]:
            del figures[key]
    return {
        "app_dir": str(app_dir), "revision": app_revision(app_dir),
        "cpus": os.cpu_count(), "cpu_model": cpu_model(),
        "load": " ".join(f"{x:.2f}" for x in os.getloadavg()), "server": started[:4], "server_errors": failures[:20],
        "connections": args.connections, "threads": args.threads,
        "duration": args.duration, "warmup": args.warmup, "processes": args.processes,
        "households": households, "residents": residents, "seeded_s": round(seeded, 1),
        "round_households": len(ward["households"]), "prepared_s": round(prepared, 1),
        "checks": checks, "mixed": mixed, "healthz": healthz,
        "mix_sent": sent,
        "stored": {"visits": after[0] - before[0], "autosaves": after[1] - before[1]},
        "ratio": round(ratio, 3),
        "goal_met": ratio >= GOAL_RATIO and mixed["p99_ms"] <= GOAL_P99_MS
        and mixed["errors"] + healthz["errors"] == 0}


def report(r: dict) -> None:
    print(f"machine:  {r['cpus']} cpus, {r['cpu_model']}; load average {r['load']}; "
          f"{platform.platform()}; python {platform.python_version()}")
    print(f"app:      {r['app_dir']}  {r['revision']}")
    for n, line in enumerate(r["server"] or ["(printed nothing)"]):
        print(f"{'server:' if n == 0 else '':<9} {line}")
    print(f"ward:     {r['households']:,} households, {r['residents']:,} residents "
          f"(init-db + seed-demo {r['seeded_s']} s); the officer's round: 3 groups, "
          f"{r['round_households']:,} households; {DRAFTS} drafts "
          f"(prepared and checked in {r['prepared_s']} s)")
    for line in r["checks"]:
        print(f"checked:  {line}")
    print(f"wrk:      {r['connections']} connections, {r['threads']} threads, "
          f"{r['duration']} s each after {r['warmup']} s of warm-up, --latency, "
          f"browser-like Accept-Encoding")
    total = sum(r["mix_sent"].values()) or 1
    print("mix sent: " + ", ".join(f"{k} {v:,} ({100 * v / total:.0f} %)"
                                   for k, v in r["mix_sent"].items()))
    print(f"stored:   {r['stored']['visits']:,} visits, {r['stored']['autosaves']:,} "
          "autosaves (declaration_saved audit rows); the sent counts include the requests "
          "still unanswered when wrk stopped")
    print()
    header = (f"{'run':<8} {'requests':>9} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
              f"{'max ms':>8} {'errors':>7} {'non-2xx/3xx (wrk)':>18}")
    print(header + "\n" + "-" * len(header))
    for label in ("mixed", "healthz"):
        f = r[label]
        print(f"{label:<8} {f['requests']:>9,} {f['rps']:>8.1f} {f['p50_ms']:>8.1f} "
              f"{f['p99_ms']:>8.1f} {f['max_ms']:>8.0f} {f['errors']:>7} "
              f"{f['wrk_non_2xx_3xx']:>18}")
        if f["errors"]:
            print(f"{'':<8} errors: 4xx {f['n4xx']}, 5xx {f['n5xx']}, other {f['nother']}, "
                  f"socket {f['socket_errors']} (timeouts {f['timeouts']})")
    for line in r["server_errors"][:5]:
        print(f"server log: {line}")
    print(f"\nratio mixed/healthz req/s: {r['ratio']:.2f}")
    print(f"goal (ratio >= {GOAL_RATIO}, mixed p99 <= {GOAL_P99_MS:.0f} ms, 0 errors): "
          f"{'MET' if r['goal_met'] else 'NOT MET'}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=32, help="default 32")
    parser.add_argument("--duration", type=int, default=20, help="seconds (default 20)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--processes", type=int, default=None,
                        help="passed to flask serve (default: what flask serve picks)")
    parser.add_argument("--households", type=int, default=2000, help="default 2,000")
    parser.add_argument("--warmup", type=int, default=2,
                        help="seconds of the mix before measuring, not reported (default 2)")
    parser.add_argument("--app-dir", type=Path, default=ROOT,
                        help="checkout whose app.py and wardkit to serve (default: this one)")
    parser.add_argument("--seed", type=int, default=10)
    parser.add_argument("--json", action="store_true", help="also print one JSON line")
    args = parser.parse_args(argv)
    app_dir = args.app_dir.resolve()
    must((app_dir / "app.py").is_file() and (app_dir / "wardkit").is_dir(),
         f"{app_dir} has no app.py and wardkit/")
    result = measure(args, app_dir, ensure_wrk(), random.Random(args.seed))
    report(result)
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
