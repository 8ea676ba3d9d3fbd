"""Declaration saves under load: 8 officers' tablets autosaving and recording vehicle
declarations through the real HTTP app (`flask serve` on loopback), then a check that every
acknowledged save is in the database (issue 4).

Run from the repository root:

    .venv/bin/python bench/bench_declarations.py [--seconds 20] [--clients 8]
        [--households 2000] [--seed 4] [--processes N] [--dir PATH]

Setup: a fresh migrated database file in a temporary directory (`wardkit.db.connect`,
`apply_migrations`), ward 00103 with `--clients` officers (scrypt:1024:8:1 hashes) and
`--households` households of demo residents (`wardkit.residents.fake`, `bulk_create`).
The app is served the way `make run` serves it: `flask serve` (gunicorn, 8 threads a
process, `--processes` forked workers, default one per core) on 127.0.0.1 on a free port,
in its own process group, so the clients below do not share its Python interpreter.

Each client is a thread with its own keep-alive `http.client` connection and cookie jar
(no `requests`). It logs in like a browser (GET /login for the CSRF token, POST /login),
then, until the time is up, for a random live resident of the ward:

1. `POST /residents/<id>/declarations/new?kind=vehicle` (creates the draft; 303), then
   `GET /declarations/<id>` (the form, as the browser follows the redirect; 200);
2. three autosaves, `POST /declarations/<id>/draft` with the `X-CSRFToken` header, each
   with more fields than the last (200);
3. `POST /declarations/<id>/record` (read-back, 200), then again with `confirm=1` (200
   with `HX-Redirect`).

The POSTs carry the headers htmx sends from the form (`HX-Request`, `HX-Target`:
`save-status` for autosaves, `declaration` for the record steps), so the server answers
the same fragments it answers a tablet.

Plates are valid 2023+ Hanoi motorbike plates (`29-<two S20 letters> nnn.nn`), chassis
and engine numbers are unique per declaration, so nothing is flagged as a conflict.
A save is the five POSTs (3 drafts + 2 record steps); each acknowledged one (the expected
status) is timed from request to the end of the response body. Errors: any other status,
or an exception. Afterwards the database is opened again and, for every declaration,
every acknowledged save is checked: the last acknowledged value of every field, one
`declaration_saved` audit row per acknowledged draft save, and status `recorded` (with its
audit row) when the confirm was acknowledged. Lost = acknowledged but not found.

Goal: >= 200 saves/s, p99 <= 250 ms, 0 errors, 0 lost.
"""
import argparse
import http.client
import http.cookies
import os
import platform
import random
import re
import sys
import tempfile
import threading
import time
import urllib.parse
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import signal  # noqa: E402
import subprocess  # noqa: E402
from werkzeug.security import generate_password_hash  # noqa: E402

from wardkit.auth import queries as auth_queries  # noqa: E402
from wardkit.db import apply_migrations, connect, sqlite3, write  # noqa: E402
from wardkit.declarations.plates import S20, check_plate  # noqa: E402
from wardkit.groups import queries as group_queries  # noqa: E402
from wardkit.residents import fake, queries as resident_queries  # noqa: E402

WARD = "00103"
TODAY = date(2026, 11, 23)
PASSWORD = "bench password"
HASH_METHOD = "scrypt:1024:8:1"
GOAL_RATE, GOAL_P99_MS = 200.0, 250.0
CSRF_INPUT = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"'
                        r'|value="([^"]+)"[^>]*name="csrf_token"')
SAVE_STEPS = ("draft 1", "draft 2", "draft 3", "record", "confirm")


def percentile(sorted_values, pct):
    """Nearest-rank percentile of an ascending list (0.0 when empty)."""
    if not sorted_values:
        return 0.0
    rank = max(1, -(-pct * len(sorted_values) // 100))
    return sorted_values[int(rank) - 1]


# --- setup -------------------------------------------------------------------------------

def seed(path, households, clients, rng_seed):
    db = connect(path)
    try:
        apply_migrations(db)
        with write(db):
            groups = [group_queries.create_group(db, ward_code=WARD,
                                                 name=f"Tổ dân phố số {k}",
                                                 cluster=None, target_adults=0, by=None)
                      for k in range(1, households // 400 + 2)]
            resident_queries.bulk_create(db, ward_code=WARD, by=None, items=fake.generate_ward(
                rng_seed, groups, households, today=TODAY))
            pw_hash = generate_password_hash(PASSWORD, method=HASH_METHOD)
            for k in range(clients):
                auth_queries.create_user(db, username=f"officer{k}", display_name=f"Officer {k}",
                                         role="officer", ward_code=WARD, password_hash=pw_hash)
        residents = [r[0] for r in db.execute(
            "SELECT id FROM residents WHERE ward_code = ? AND deleted_at IS NULL", [WARD])]
    finally:
        db.close()
    return residents


def make_plates(n):
    """Return `n` distinct valid 2023+ Hanoi motorbike plates, checked by check_plate."""
    plates = []
    series = [a + b for a in S20 for b in S20]
    number = 1
    while len(plates) < n:
        for s in series:
            plate = f"29-{s} {number // 100:03d}.{number % 100:02d}"
            checked = check_plate(plate, vehicle_type="motorcycle", today=TODAY)
            if checked.error is None and not checked.warnings and checked.value["plate"] == plate:
                plates.append(plate)
                if len(plates) == n:
                    break
        number += 1
    return plates


# --- one tablet --------------------------------------------------------------------------

class Tablet:
    """A browser of sorts: one keep-alive connection, a cookie jar, no redirects."""

    def __init__(self, port):
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.cookies = {}
        self.csrf = None

    def request(self, method, path, fields=None, headers=None):
        hdrs = {"Host": f"127.0.0.1:{self.port}", **(headers or {})}
        if self.cookies:
            hdrs["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if fields is not None:
            body = urllib.parse.urlencode(fields).encode()
            hdrs["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            self.conn.request(method, path, body=body, headers=hdrs)
            resp = self.conn.getresponse()
            data = resp.read()
        except Exception:
            self.conn.close()   # reconnect on the next request
            raise
        for value in resp.headers.get_all("Set-Cookie") or ():
            jar = http.cookies.SimpleCookie()
            jar.load(value)
            for name, morsel in jar.items():
                if morsel["max-age"] == "0" or (morsel["expires"] and not morsel.value):
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        return resp.status, resp.headers, data.decode("utf-8", "replace")

    def read_csrf(self, html):
        m = CSRF_INPUT.search(html)
        if m:
            self.csrf = m.group(1) or m.group(2)

    def login(self, username):
        status, _h, html = self.request("GET", "/login")
        assert status == 200, f"GET /login: {status}"
        self.read_csrf(html)
        status, _h, _b = self.request("POST", "/login", {
            "csrf_token": self.csrf, "username": username, "password": PASSWORD})
        assert status == 303, f"POST /login: {status}"
        status, _h, html = self.request("GET", "/")   # a page with the new session's token
        assert status == 200, f"GET / after login: {status}"
        self.read_csrf(html)

    def close(self):
        self.conn.close()


def payloads(plate, tag):
    """The three growing autosaves and the full record payload of one motorbike."""
    d1 = {"vehicle_type": "motorcycle", "plate": plate, "colour": "Đỏ"}
    d2 = {**d1, "brand": "Honda", "model": "Wave Alpha", "chassis_no": f"RLHBN{tag}",
          "colour": "Đen"}
    d3 = {**d2, "engine_no": f"JC52E{tag}", "plate_colour": "white", "situation": "in_use",
          "owner_name": "Chủ xe", "registered_on": "12/03/2024", "colour": "Xanh"}
    full = {**d3, "lawful_basis": "official_duty", "channel": "home_visit"}
    return [d1, d2, d3, full, {**full, "confirm": "1"}]


def client_loop(tid, port, residents, plates, deadline_box, seconds, barrier, out):
    rng = random.Random(1000 + tid)
    tab = Tablet(port)
    rec = {"latencies": [], "step_latencies": {s: [] for s in SAVE_STEPS}, "errors": [],
           "decls": [], "starts": 0, "forms": 0}
    out[tid] = rec
    try:
        try:
            tab.login(f"officer{tid}")
        except Exception as exc:  # noqa: BLE001
            rec["errors"].append(f"login: {exc!r}")
            barrier.abort()
            return
        barrier.wait()
        deadline = deadline_box[0] + seconds
        hard_stop = deadline + 60   # a bounded loop even if the server stalls
        n = 0
        while time.perf_counter() < deadline and n < len(plates):
            plate = plates[n]
            tag = f"{tid:02d}{n:07d}"
            n += 1
            resident = rng.choice(residents)
            try:
                status, headers, _b = tab.request(
                    "POST", f"/residents/{resident}/declarations/new?kind=vehicle",
                    {"csrf_token": tab.csrf})
            except Exception as exc:  # noqa: BLE001
                rec["errors"].append(f"new: {exc!r}")
                continue
            if status != 303:
                rec["errors"].append(f"new: HTTP {status}")
                continue
            rec["starts"] += 1
            location = headers["Location"]
            decl_id = location.rstrip("/").rsplit("/", 1)[-1]
            decl = {"id": decl_id, "resident": resident, "acked": [], "drafts_acked": 0,
                    "recorded": False}
            rec["decls"].append(decl)
            try:
                status, _h, html = tab.request("GET", urllib.parse.urlsplit(location).path)
            except Exception as exc:  # noqa: BLE001
                rec["errors"].append(f"form: {exc!r}")
                continue
            if status != 200:
                rec["errors"].append(f"form: HTTP {status}")
                continue
            rec["forms"] += 1
            steps = payloads(plate, tag)
            urls = [f"/declarations/{decl_id}/draft"] * 3 + [f"/declarations/{decl_id}/record"] * 2
            targets = ("save-status",) * 3 + ("declaration",) * 2
            expected = (200, 200, 200, 200, 200)
            for step, (fields, url, want, target) in enumerate(
                    zip(steps, urls, expected, targets)):
                if step > 0 and time.perf_counter() >= hard_stop:
                    break
                t0 = time.perf_counter()
                try:
                    status, hdrs, body = tab.request(
                        "POST", url, fields, {"X-CSRFToken": tab.csrf, "HX-Request": "true",
                                              "HX-Target": target})
                except Exception as exc:  # noqa: BLE001
                    rec["errors"].append(f"{SAVE_STEPS[step]}: {exc!r}")
                    break
                elapsed = time.perf_counter() - t0
                if status != want or (step == 4 and not hdrs.get("HX-Redirect")):
                    rec["errors"].append(f"{SAVE_STEPS[step]}: HTTP {status}")
                    break
                rec["latencies"].append(elapsed)
                rec["step_latencies"][SAVE_STEPS[step]].append(elapsed)
                decl["acked"].append(fields)
                if step < 3:
                    decl["drafts_acked"] += 1
                if step == 4:
                    decl["recorded"] = True
    finally:
        tab.close()


# --- verification ------------------------------------------------------------------------

EXPECT = {   # form field -> (column, stored value from what was typed)
    "vehicle_type": ("vehicle_type", lambda v: v), "plate": ("plate", lambda v: v),
    "colour": ("colour", lambda v: v), "brand": ("brand", lambda v: v),
    "model": ("model", lambda v: v), "chassis_no": ("chassis_no", lambda v: v),
    "engine_no": ("engine_no", lambda v: v), "plate_colour": ("plate_colour", lambda v: v),
    "situation": ("situation", lambda v: v), "owner_name": ("owner_name", lambda v: v),
    "registered_on": ("registered_on", lambda v: "-".join(reversed(v.split("/")))),
    "lawful_basis": ("lawful_basis", lambda v: v), "channel": ("channel", lambda v: v),
}


def verify(path, decls):
    """Return (lost saves, lost starts, details) for the acknowledged work in `decls`."""
    db = connect(path)
    lost_saves, lost_starts, details = 0, 0, []
    try:
        for d in decls:
            row = db.execute("SELECT * FROM declarations WHERE id = ? AND ward_code = ?",
                             [d["id"], WARD]).fetchone()
            if row is None:
                lost_starts += 1
                lost_saves += len(d["acked"])
                details.append(f"{d['id']}: declaration missing")
                continue
            row = dict(zip([c[0] for c in db.execute(
                "SELECT * FROM declarations LIMIT 0").description], row))
            expected = {}
            for fields in d["acked"]:
                for name, value in fields.items():
                    if name in EXPECT:
                        expected[EXPECT[name][0]] = EXPECT[name][1](value)
            wrong = [k for k, v in expected.items() if row.get(k) != v]
            saved = db.execute(
                "SELECT count(*) FROM audit_log WHERE entity = 'declarations' AND entity_id = ?"
                " AND action = 'declaration_saved'", [d["id"]]).fetchone()[0]
            recorded_audit = db.execute(
                "SELECT count(*) FROM audit_log WHERE entity = 'declarations' AND entity_id = ?"
                " AND action = 'declaration_recorded'", [d["id"]]).fetchone()[0]
            missing = 0
            if wrong:
                missing = len(d["acked"])   # cannot tell which save was lost: count them all
                details.append(f"{d['id']}: fields differ: {wrong}")
            else:
                if saved < d["drafts_acked"]:
                    missing += d["drafts_acked"] - saved
                    details.append(f"{d['id']}: {saved} saved audit rows < "
                                   f"{d['drafts_acked']} acknowledged drafts")
                if d["recorded"] and (row["status"] != "recorded" or recorded_audit != 1):
                    missing += 1
                    details.append(f"{d['id']}: status {row['status']}, "
                                   f"{recorded_audit} recorded audit rows")
            lost_saves += missing
        flagged = db.execute("SELECT count(*) FROM declarations WHERE ward_code = ? AND "
                             "is_flagged = 1", [WARD]).fetchone()[0]
        totals = dict(db.execute("SELECT status, count(*) FROM declarations GROUP BY status"))
    finally:
        db.close()
    return lost_saves, lost_starts, details, flagged, totals


# --- the server --------------------------------------------------------------------------

def start_server(path, processes):
    """Start `flask serve` on a free port; return (Popen, port) once it answers."""
    env = {**os.environ, "WARDKIT_DATABASE": path, "WARDKIT_SECRET_KEY": "bench" * 8,
           "WARDKIT_PASSWORD_HASH_METHOD": HASH_METHOD, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "app", "serve", "--port", "0",
         "--processes", str(processes)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        start_new_session=True)
    line = proc.stdout.readline()   # "WardKit on http://127.0.0.1:PORT/  (...)"
    m = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
    if not m:
        proc.kill()
        raise SystemExit(f"server did not start: {line!r}")
    port = int(m.group(1))
    deadline = time.monotonic() + 30
    while True:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                conn.close()
                return proc, port
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def stop_server(proc):
    """Stop the server and its workers (SIGTERM to the parent, which stops them)."""
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


# --- machine -----------------------------------------------------------------------------

def machine(tmp):
    load = " ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    return [
        f"platform: {platform.platform()}",
        f"cpus:     {os.cpu_count()}   load average: {load}",
        f"python:   {platform.python_version()} ({platform.python_implementation()})",
        f"sqlite:   {sqlite3.sqlite_version}",
        f"waitress: {_dist('waitress')}"
        f"; database in {tmp}",
    ]


def _dist(name):
    from importlib.metadata import version
    return version(name)


# --- main --------------------------------------------------------------------------------

def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="duration (default 20)")
    parser.add_argument("--clients", type=int, default=8, help="tablets (default 8)")
    parser.add_argument("--households", type=int, default=2000,
                        help="households of demo residents (default 2,000)")
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--processes", type=int, default=0,
                        help="server processes (default 0 = one per core, as `make run`)")
    parser.add_argument("--dir", default=None, help="parent of the temporary database")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="wardkit-bench-decl-", dir=args.dir) as tmp:
        path = os.path.join(tmp, "wardkit.db")
        t = time.perf_counter()
        residents = seed(path, args.households, args.clients, args.seed)
        seeded = time.perf_counter() - t
        per_client = int(args.seconds * 200) + 100   # far more than one tablet can use
        plates = make_plates(per_client * args.clients)
        for line in machine(tmp):
            print(line)
        print(f"ward:     {len(residents):,} residents in {args.households:,} households, "
              f"{args.clients} officers (seeded in {seeded:.1f} s)")
        print(f"run:      {args.clients} clients x {args.seconds:g} s; per declaration: "
              f"new (GET, 303) + form (GET) + 3 autosaves + record + confirm")
        print()

        server, port = start_server(path, args.processes)
        print(f"server:   flask serve, pid {server.pid}, {args.processes or 'auto'} "
              f"process(es) x 8 threads, port {port}")
        print()

        start_box = [0.0]
        barrier = threading.Barrier(args.clients + 1,
                                    action=lambda: start_box.__setitem__(0, time.perf_counter()))
        results = [None] * args.clients
        pool = [threading.Thread(target=client_loop,
                                 args=(k, port, residents,
                                       plates[k * per_client:(k + 1) * per_client],
                                       start_box, args.seconds, barrier, results))
                for k in range(args.clients)]
        for th in pool:
            th.start()
        try:
            barrier.wait()
        except threading.BrokenBarrierError:
            pass
        for th in pool:
            th.join(timeout=args.seconds + 120)
        elapsed = time.perf_counter() - start_box[0]
        stop_server(server)

        recs = [r for r in results if r is not None]
        decls = [d for r in recs for d in r["decls"]]
        lat = sorted(x for r in recs for x in r["latencies"])
        errors = [e for r in recs for e in r["errors"]]
        lost, lost_starts, details, flagged, totals = verify(path, decls)

    saves = len(lat)
    rate = saves / elapsed if elapsed else 0.0
    starts = sum(r["starts"] for r in recs)
    recorded = sum(d["recorded"] for d in decls)
    ms = lambda v: v * 1000  # noqa: E731

    header = (f"{'save':<22} {'count':>7} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} "
              f"{'max ms':>7}")
    print(header)
    print("-" * len(header))
    names = {"draft 1": "POST draft (1st)", "draft 2": "POST draft (2nd)",
             "draft 3": "POST draft (3rd)", "record": "POST record (read-back)",
             "confirm": "POST record confirm=1"}
    for step in SAVE_STEPS:
        vals = sorted(x for r in recs for x in r["step_latencies"][step])
        print(f"{names[step]:<22} {len(vals):>7} {ms(percentile(vals, 50)):>7.1f} "
              f"{ms(percentile(vals, 95)):>7.1f} {ms(percentile(vals, 99)):>7.1f} "
              f"{ms(vals[-1] if vals else 0):>7.0f}")
    print(f"{'all saves':<22} {saves:>7} {ms(percentile(lat, 50)):>7.1f} "
          f"{ms(percentile(lat, 95)):>7.1f} {ms(percentile(lat, 99)):>7.1f} "
          f"{ms(lat[-1] if lat else 0):>7.0f}")
    print()
    per_client = [len(r["latencies"]) for r in recs]
    print(f"elapsed:  {elapsed:.1f} s; declarations started {starts:,}, recorded {recorded:,}; "
          f"saves per client {min(per_client, default=0)}-{max(per_client, default=0)}")
    print(f"saves/s:  {rate:,.0f}  (drafts + record steps acknowledged, all clients)")
    print(f"database: {', '.join(f'{k} {v:,}' for k, v in sorted(totals.items()))}; "
          f"flagged {flagged}")
    print(f"errors:   {len(errors)}")
    for e in errors[:10]:
        print(f"  {e}")
    print(f"lost:     {lost} acknowledged saves, {lost_starts} acknowledged starts "
          f"(checked {len(decls):,} declarations)")
    for d in details[:10]:
        print(f"  {d}")
    print()
    p99 = ms(percentile(lat, 99))
    met = rate >= GOAL_RATE and p99 <= GOAL_P99_MS and not errors and lost == 0 \
        and lost_starts == 0
    print(f"goal (>= {GOAL_RATE:.0f} saves/s, p99 <= {GOAL_P99_MS:.0f} ms, 0 errors, 0 lost): "
          f"{'MET' if met else 'NOT MET'} ({rate:,.0f} saves/s, p99 {p99:.0f} ms, "
          f"{len(errors)} errors, {lost} lost)")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
