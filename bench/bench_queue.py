"""The kiosk and its queue under load (issue 13): 10 kiosks creating requests and 5
officers serving them over HTTP for 60 s, against a real `flask serve` (gunicorn) on a
demo ward of 2,000 households. Prints p50, p95, max and count of each kiosk step and of
each officer's action, the queue page (`GET /queue`) among them.

Run from the repository root (about 1.5 minutes with the defaults):

    .venv/bin/python bench/bench_queue.py [--duration 60] [--warmup 3] [--kiosks 10]
        [--officers 5] [--vehicle-share 0.5] [--processes N] [--households 2000]
        [--app-dir DIR] [--seed 13] [--json]

Setup only through the app's command line and URLs, in a temporary directory: `flask
init-db`, `flask seed-demo --households 2000`, `flask create-user` for 5 officers of ward
103, `flask kiosk enrol KIOSK-n --ward 103` for 10 kiosks, then `flask serve --port P`.
Each kiosk opens its printed one-time link (GET, POST) as a tablet does and keeps its
`wardkit-kiosk` cookie. Each bench kiosk takes a ticket every few seconds, so the rate
limit (KIOSK_MAX_REQUESTS_PER_MINUTE, default 4) is raised for the run with
WARDKIT_KIOSK_MAX_REQUESTS_PER_MINUTE; 429s are still counted, and must be 0.

The load: each kiosk (a thread with its own keep-alive connection and cookies) loops
over residents' turns: the start screen, "begin", every question (GET the screen, POST
the answer), the review, "send", the ticket page, "reset". A turn is "take a number"
(reason, name, phone or skip) or "declare a vehicle" (the answers of
tests/test_kiosk.py, with plate, chassis, engine, owner and papers varied), the name
always a resident of the seeded registry (read from the database file) so the officer
finds them. Each officer loops: call next, the queue page, serve, the ticket page, the
registry search (htmx), "this is the resident" (a declaration becomes a draft: its page
is opened), done, the queue page; when nobody waits, it polls the queue's list (the
page's htmx refresh: every 10 s in the page, every 1-2 s here) until someone does.
Before every POST a person thinks 0.2-0.5 s; a redirect is followed at once.

Errors: a status other than the expected one (200 for pages and fragments, 303 for
actions; never a 422: the answers are valid), a redirect off the flow, a connection
error; 429s apart. Timed from sending to reading the whole body, for requests started in
the measured window (after --warmup s). The client shares the machine: its CPU is shown.

Goal (issue 13): p95 <= 150 ms and 0 errors on 2 cores. Checked here on every step
measured: the kiosk's, the queue page and the officers' actions.
"""
import argparse
import html
import http.client
import json
import os
import platform
import random
import re
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_mixed import (ROOT, VENV_BIN, Browser, app_env, app_revision, cpu_model,  # noqa: E402
                         flask, free_port, must, one, rows, start_server, stop_server)

WARD = "103"
GOAL_P95_MS = 150.0
THINK = (0.2, 0.5)
RATE_LIMIT = 10_000  # per kiosk per minute for the run: none of the bench's turns hit it
LINK = re.compile(r"(/kiosk/enrol/\S+)")
FLASH_NUMBER = re.compile(r'class="flash flash-success">[^<]*?(\d+)')
TICKET_ID = re.compile(r'action="/queue/([^/"]+)/serve"')
RESIDENT_ID = re.compile(r'name="resident_id" value="([^"]+)"')
PREFILLED = re.compile(r'id="queue-q" name="q" value="([^"]*)"')
WAITING = re.compile(r'<p class="lead">\D*(\d+)')
TICKETS_TARGET = "queue-tickets"
TICKET_NUMBER = re.compile(r'id="ticket-number">(\d+)<')
RETRIED = (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError,
           http.client.CannotSendRequest, http.client.ResponseNotReady)


# --- what each request took -----------------------------------------------------------

class Stats:
    """Timings (ms) by label, errors and 429s, for requests started inside the window."""

    def __init__(self):
        self.lock = threading.Lock()
        self.times: dict[str, list[float]] = {}
        self.errors: dict[str, int] = {}
        self.error_samples: list[str] = []
        self.too_many = self.reconnects = 0
        self.window = (float("inf"), float("inf"))

    def inside(self, started: float) -> bool:
        return self.window[0] <= started < self.window[1]

    def add(self, label, started, ms, error=None, too_many=False) -> None:
        if not self.inside(started):
            return
        with self.lock:
            if ms is not None:  # None: a failure that was no request of its own
                self.times.setdefault(label, []).append(ms)
            if too_many:
                self.too_many += 1
            elif error:
                self.errors[label] = self.errors.get(label, 0) + 1
                if len(self.error_samples) < 20:
                    self.error_samples.append(f"{label}: {error}")


class Client(Browser):
    """A browser of sorts (bench_mixed.Browser) that times each request into `stats` and
    reconnects once when the server closed an idle keep-alive connection."""

    def __init__(self, port, stats: Stats):
        super().__init__(port)
        self.stats = stats

    def reconnect(self) -> None:
        self.conn.close()
        self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)

    def _send(self, method, path, fields, htmx_target):
        try:
            return self.request(method, path, fields, htmx_target)
        except RETRIED:  # the server closed the idle keep-alive connection: once more
            self.reconnect()
            with self.stats.lock:
                self.stats.reconnects += self.stats.inside(time.monotonic())
            return self.request(method, path, fields, htmx_target)

    def call(self, label, method, path, fields=None, *, expect=200, htmx_target=None):
        """Send the request, time it and record it; return (status, Location or None,
        body) (status 0 when the connection failed)."""
        started = time.monotonic()
        try:
            status, headers, text = self._send(method, path, fields, htmx_target)
        except (OSError, http.client.HTTPException) as exc:
            self.stats.add(label, started, (time.monotonic() - started) * 1000,
                           error=f"{method} {path}: {exc!r}")
            self.reconnect()
            return 0, None, ""
        ms = (time.monotonic() - started) * 1000
        error = None if status == expect else f"{method} {path}: {status} (expected {expect})"
        self.stats.add(label, started, ms, error=error, too_many=status == 429)
        return status, headers.get("Location"), text


def think(rng) -> None:
    time.sleep(rng.uniform(*THINK))


# --- the kiosks --------------------------------------------------------------------------

def vehicle_answers(rng, name) -> dict:
    """Return {step: form data} for a valid "declare a vehicle" turn (only the steps the
    answers show are asked)."""
    owner, papers = rng.choice(("yes", "no")), rng.choice(("yes", "yes", "no"))
    return {
        "agree": {"value": "yes"}, "type": {"value": "motorcycle"},
        "plate": {"value": f"29X{rng.randint(1, 9)} {rng.randint(100, 999)}."
                           f"{rng.randint(10, 99)}"},
        "plate-check": {"value": "yes"}, "colour": {"value": "white"},
        "situation": {"value": "in_use"}, "owner": {"value": owner},
        "owner-name": {"value": "Nguyễn Văn Hùng"}, "papers": {"value": papers},
        "chassis": {"value": f"RLHJC1234KY{rng.randint(0, 999_999):06d}"},
        "engine": {"value": f"JC12E{rng.randint(0, 9_999_999):07d}"},
        "brand": {"value": "Honda"}, "model": {"value": "Wave Alpha"},
        "vehicle-colour": {"value": "Đỏ"},
        "certificate": {"value": f"{rng.randint(0, 999_999):06d}"},
        "registered": {"value": f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/2019"},
        "name": {"value": name},
        "phone": {"value": f"09{rng.randint(0, 99_999_999):08d}"} if rng.random() < 0.5
        else {"skip": "1"},
    }


def ticket_answers(rng, name) -> dict:
    """Return {step: form data} for a valid "take a number" turn."""
    return {"reason": {"value": rng.choice(("ihanoi", "declaration", "other"))},
            "name": {"value": name},
            "phone": {"value": f"09{rng.randint(0, 99_999_999):08d}"} if rng.random() < 0.3
            else {"skip": "1"}}


def kiosk_turn(c: Client, rng, flow, answers, stop) -> int | None:
    """Walk one resident's turn from the start screen to the next start screen; return
    the ticket number, or None when stopped or the turn went wrong (recorded)."""
    think(rng)
    status, location, _ = c.call("kiosk: begin", "POST", "/kiosk/start", {"flow": flow},
                                 expect=303)
    review = f"/kiosk/{flow}/review"
    while status == 303 and location != review:
        step = location.rsplit("/", 1)[-1]
        if not location.startswith(f"/kiosk/{flow}/") or step not in answers:
            c.stats.add("kiosk: turn lost", time.monotonic(), None,
                        error=f"{flow}: redirected to {location}")
            status = 0
            break
        c.call(f"kiosk {flow}: GET {step}", "GET", location)
        if stop.is_set():
            return None
        think(rng)
        status, location, _ = c.call(f"kiosk {flow}: POST {step}", "POST", location,
                                     answers[step], expect=303)
    number = None
    if status == 303:
        c.call(f"kiosk {flow}: GET review", "GET", review)
        think(rng)
        status, _loc, _ = c.call("kiosk: send", "POST", review, expect=303)
        if status == 303:
            _s, _l, page = c.call("kiosk: ticket page", "GET", "/kiosk/ticket")
            m = TICKET_NUMBER.search(page)
            number = int(m.group(1)) if m else None
    think(rng)  # the resident reads the number, then "finish"
    c.call("kiosk: reset", "POST", "/kiosk/reset", expect=303)
    c.call("kiosk: start screen", "GET", "/kiosk")
    return number


def kiosk_loop(c: Client, rng, names, vehicle_share, stop, taken) -> None:
    c.call("kiosk: start screen", "GET", "/kiosk")
    while not stop.is_set():
        flow = "vehicle" if rng.random() < vehicle_share else "ticket"
        answers = (vehicle_answers if flow == "vehicle" else ticket_answers)(
            rng, rng.choice(names))
        number = kiosk_turn(c, rng, flow, answers, stop)
        if number is not None and c.stats.inside(time.monotonic()):
            taken.append(number)


# --- the officers -------------------------------------------------------------------------

def serve_one(c: Client, rng, served) -> bool:
    """Call the next ticket and serve it to the end; return False when nobody waited."""
    think(rng)
    c.call("officer: call next", "POST", "/queue/call-next", expect=303)
    _s, _l, page = c.call("queue page (GET /queue)", "GET", "/queue")
    m = FLASH_NUMBER.search(page)
    if not m:
        return False  # "Nobody is waiting."
    row = re.search(rf'<tr id="ticket-{m.group(1)}">(.*?)</tr>', page, re.S)
    ticket = TICKET_ID.search(row.group(1)).group(1) if row else None
    if ticket is None:
        c.stats.add("officer: ticket not listed", time.monotonic(), None,
                    error=f"number {m.group(1)} called but not on the queue page")
        return True
    think(rng)
    c.call("officer: serve", "POST", f"/queue/{ticket}/serve", expect=303)
    _s, _l, page = c.call("officer: ticket page", "GET", f"/queue/{ticket}")
    q = html.unescape(m.group(1)) if (m := PREFILLED.search(page)) else ""
    think(rng)
    _s, _l, results = c.call("officer: search (htmx)", "POST", f"/queue/{ticket}/search",
                             {"q": q}, htmx_target="queue-results")
    if found := RESIDENT_ID.search(results):
        think(rng)
        status, location, _ = c.call("officer: choose resident", "POST",
                                     f"/queue/{ticket}/resident",
                                     {"resident_id": found.group(1)}, expect=303)
        if status == 303:  # a declaration's draft, or back to the ticket
            c.call("officer: draft page" if location.startswith("/declarations/")
                   else "officer: ticket page", "GET", location)
    else:
        c.stats.add("officer: resident not found", time.monotonic(), None,
                    error=f"ticket {ticket}: no result for {q!r}")
    think(rng)
    c.call("officer: close (done)", "POST", f"/queue/{ticket}/close", {"outcome": "done"},
           expect=303)
    c.call("queue page (GET /queue)", "GET", "/queue")
    if c.stats.inside(time.monotonic()):
        served.append(ticket)
    return True


def wait_for_someone(c: Client, rng, stop) -> None:
    """Nobody was waiting: poll the queue's list as the page does (htmx; every 10 s in
    the page, every 1-2 s here to keep the officers busy) until someone waits."""
    while not stop.is_set():
        time.sleep(rng.uniform(1.0, 2.0))
        _s, _l, fragment = c.call("queue list (htmx refresh)", "GET", "/queue",
                                  htmx_target=TICKETS_TARGET)
        m = WAITING.search(fragment)
        if m and int(m.group(1)) > 0:
            return


def officer_loop(c: Client, rng, stop, served, idle) -> None:
    c.call("queue page (GET /queue)", "GET", "/queue")
    while not stop.is_set():
        if not serve_one(c, rng, served):
            idle.append(c.stats.inside(time.monotonic()))
            wait_for_someone(c, rng, stop)


# --- setup --------------------------------------------------------------------------------

def setup(app_dir, env, args, rng) -> dict:
    """Seed the ward, create the officers, enrol the kiosks; return {officers:
    {username: password}, links: [path], names: [resident names]}."""
    flask(app_dir, env, "init-db")
    flask(app_dir, env, "seed-demo", "--households", str(args.households))
    officers = {}
    for n in range(1, args.officers + 1):
        username, password = f"bench.officer{n}", f"bench-pass-{rng.getrandbits(64):x}"
        flask(app_dir, env, "create-user", username, "--role", "officer", "--ward", WARD,
              "--password", password, "--name", f"Cán bộ {n}")
        officers[username] = password
    links = []
    for n in range(1, args.kiosks + 1):
        out = flask(app_dir, env, "kiosk", "enrol", f"KIOSK-{n}", "--ward", WARD)
        links.append(LINK.search(out).group(1))
    db_path = env["WARDKIT_DATABASE"]
    names = [r[0] for r in rows(db_path, """SELECT full_name FROM residents
        WHERE deleted_at IS NULL AND dob <= date('now', '-18 years') ORDER BY id""")]
    must(len(names) > 100, f"only {len(names)} adult residents")
    return {"officers": officers, "links": links, "names": names}


def enrol(port, link, stats) -> Client:
    """Open the kiosk's one-time link as the device does; return the enrolled client."""
    c = Client(port, stats)
    status, _h, _t = c.request("GET", link)
    must(status == 200 and c.csrf, f"GET {link}: {status}")
    status, _h, _t = c.request("POST", link)
    must(status == 303 and "wardkit-kiosk" in c.cookies, f"POST {link}: {status}")
    status, _h, _t = c.request("GET", "/kiosk")
    must(status == 200, f"GET /kiosk on an enrolled kiosk: {status}")
    return c


def check_once(kiosk: Client, officer: Client, db_path, names, rng) -> list[str]:
    """Walk one vehicle turn and serve it by hand, checking the draft it becomes; return
    what was checked. Nothing is recorded: the stats window is not open."""
    stop = threading.Event()
    number = kiosk_turn(kiosk, rng, "vehicle", vehicle_answers(rng, names[0]), stop)
    must(number is not None, "the check's vehicle turn got no ticket number")
    must(serve_one(officer, rng, []), "the officer found nobody waiting")
    row = rows(db_path, """SELECT t.status, d.channel, d.status, d.plate FROM queue_tickets t
        JOIN kiosk_requests r ON r.ticket_id = t.id JOIN declarations d
        ON d.id = r.declaration_id WHERE t.number = ?""", [number])
    must(row and row[0][:3] == ("done", "kiosk", "draft") and row[0][3],
         f"ticket {number}: {row}")
    return [f"a vehicle turn on KIOSK-1 got number {number}; an officer called, served and "
            f"closed it; its draft has channel kiosk and plate {row[0][3]}"]


def process_cpu(pgid) -> float:
    """Return the CPU seconds used so far by the processes of group `pgid` (the server)."""
    total, tick = 0.0, os.sysconf("SC_CLK_TCK")
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended meanwhile
            continue
        if int(fields[2]) == pgid:  # pgrp, then utime and stime in clock ticks
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


# --- main -----------------------------------------------------------------------------------

def percentile(values, p):
    return sorted(values)[max(0, min(len(values) - 1, round(p / 100 * (len(values) - 1))))]


def measure(args, app_dir, rng) -> dict:
    """Build the ward, serve it, check one turn by hand, run the load; return figures."""
    with tempfile.TemporaryDirectory(prefix="wardkit-bench-queue-") as tmp:
        db_path, log_path = os.path.join(tmp, "wardkit.db"), os.path.join(tmp, "serve.log")
        env = {**app_env(app_dir, db_path),
               "WARDKIT_KIOSK_MAX_REQUESTS_PER_MINUTE": str(RATE_LIMIT)}
        t = time.perf_counter()
        ward = setup(app_dir, env, args, rng)
        prepared = time.perf_counter() - t
        port = free_port()
        server = start_server(app_dir, env, port, args.processes, log_path)
        stats = Stats()
        try:
            kiosks = [enrol(port, link, stats) for link in ward["links"]]
            officers = [Client(port, stats) for _ in ward["officers"]]
            for c, (username, password) in zip(officers, ward["officers"].items()):
                c.login(username, password)
            checks = check_once(kiosks[0], officers[0], db_path, ward["names"], rng)
            stop, taken, served, idle = threading.Event(), [], [], []
            threads = [threading.Thread(target=kiosk_loop, args=(
                c, random.Random(rng.random()), ward["names"], args.vehicle_share, stop,
                taken)) for c in kiosks]
            threads += [threading.Thread(target=officer_loop, args=(
                c, random.Random(rng.random()), stop, served, idle)) for c in officers]
            started = time.monotonic()
            stats.window = (started + args.warmup, started + args.warmup + args.duration)
            for th in threads:
                th.start()
            time.sleep(args.warmup)
            cpu0, server0 = time.process_time(), process_cpu(server.pid)
            time.sleep(args.duration)
            client_cpu, server_cpu = (time.process_time() - cpu0,
                                      process_cpu(server.pid) - server0)
            stop.set()
            for th in threads:
                th.join(timeout=60)
        finally:
            stop_server(server)
        log = Path(log_path).read_text().splitlines()
        failures = [line for line in log if re.search(r"ERROR|Error|Traceback|failed", line)]
        left = rows(db_path, "SELECT status, count(*) FROM queue_tickets GROUP BY status")
        drafts = one(db_path, "SELECT count(*) FROM declarations WHERE channel = 'kiosk'")
    table = {}
    for label, times in sorted(stats.times.items()):
        table[label] = {"count": len(times), "p50_ms": round(percentile(times, 50), 1),
                        "p95_ms": round(percentile(times, 95), 1),
                        "max_ms": round(max(times), 1), "errors": stats.errors.get(label, 0)}
    requests = sum(f["count"] for f in table.values())
    errors = sum(stats.errors.values())
    worst = max((f["p95_ms"] for f in table.values()), default=0.0)
    return {
        "app_dir": str(app_dir), "revision": app_revision(app_dir),
        "cpus": os.cpu_count(), "cpu_model": cpu_model(),
        "load": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "platform": platform.platform(), "python": platform.python_version(),
        "server": [line for line in log if "WardKit on" in line][:1],
        "server_errors": failures[:20], "households": args.households,
        "kiosks": args.kiosks, "officers": args.officers, "duration": args.duration,
        "warmup": args.warmup, "vehicle_share": args.vehicle_share,
        "rate_limit_per_minute": RATE_LIMIT, "prepared_s": round(prepared, 1),
        "checks": checks, "steps": table, "requests": requests,
        "requests_per_s": round(requests / args.duration, 1),
        "kiosk_requests": sum(f["count"] for k, f in table.items() if k.startswith("kiosk")),
        "officer_requests": sum(f["count"] for k, f in table.items()
                                if not k.startswith("kiosk")),
        "tickets_taken": len(taken), "tickets_served": len(served),
        "nobody_waiting": sum(idle), "tickets_by_status_at_end": dict(left),
        "kiosk_drafts": drafts, "errors": errors, "error_samples": stats.error_samples,
        "too_many_requests_429": stats.too_many, "reconnects": stats.reconnects,
        "client_cpu_cores": round(client_cpu / args.duration, 2),
        "server_cpu_cores": round(server_cpu / args.duration, 2),
        "worst_p95_ms": worst,
        "goal_met": worst <= GOAL_P95_MS and errors == 0 and stats.too_many == 0}


def report(r: dict) -> None:
    print(f"machine:  {r['cpus']} cpus, {r['cpu_model']}; load average {r['load']}; "
          f"{r['platform']}; python {r['python']}")
    print(f"app:      {r['app_dir']}  {r['revision']}")
    print(f"server:   {(r['server'] or ['(printed nothing)'])[0]}")
    print(f"ward:     {r['households']:,} households (seed-demo), {r['officers']} officers, "
          f"{r['kiosks']} kiosks enrolled through their links (prepared in "
          f"{r['prepared_s']} s); WARDKIT_KIOSK_MAX_REQUESTS_PER_MINUTE="
          f"{r['rate_limit_per_minute']} for the run (default 4)")
    for line in r["checks"]:
        print(f"checked:  {line}")
    d = r["duration"]
    print(f"load:     {r['duration']} s after {r['warmup']} s of warm-up; think "
          f"{THINK[0]}-{THINK[1]} s before each POST; {r['vehicle_share']:.0%} of turns "
          f"declare a vehicle")
    print(f"achieved: {r['requests']:,} requests ({r['requests_per_s']} /s: kiosks "
          f"{r['kiosk_requests'] / d:.1f} /s, officers {r['officer_requests'] / d:.1f} /s); "
          f"{r['tickets_taken']} tickets taken ({60 * r['tickets_taken'] / d:.0f} /min), "
          f"{r['tickets_served']} served ({60 * r['tickets_served'] / d:.0f} /min); "
          f"call-next found nobody waiting {r['nobody_waiting']} times")
    print(f"at end:   tickets {r['tickets_by_status_at_end']}, {r['kiosk_drafts']} kiosk "
          f"drafts; cpu: server {r['server_cpu_cores']} cores, this client "
          f"{r['client_cpu_cores']} cores (of {r['cpus']})")
    print()
    header = f"{'step':<40} {'count':>6} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'errors':>7}"
    print(header + "\n" + "-" * len(header))
    for label, f in r["steps"].items():  # sorted: the kiosk's, the officers', the queue's
        print(f"{label:<40} {f['count']:>6} {f['p50_ms']:>8.1f} {f['p95_ms']:>8.1f} "
              f"{f['max_ms']:>8.1f} {f['errors']:>7}")
    print()
    print(f"errors {r['errors']}, 429s {r['too_many_requests_429']}, keep-alive reconnects "
          f"{r['reconnects']}")
    for line in r["error_samples"][:10] + [f"server log: {x}" for x in r["server_errors"][:5]]:
        print(f"  {line}")
    print(f"goal (every p95 <= {GOAL_P95_MS:.0f} ms, 0 errors, 0 429s): "
          f"{'MET' if r['goal_met'] else 'NOT MET'} (worst p95 {r['worst_p95_ms']} ms)")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=60, help="seconds (default 60)")
    parser.add_argument("--warmup", type=int, default=3,
                        help="seconds of load before measuring, not reported (default 3)")
    parser.add_argument("--kiosks", type=int, default=10, help="default 10")
    parser.add_argument("--officers", type=int, default=5, help="default 5")
    parser.add_argument("--vehicle-share", type=float, default=0.5,
                        help="share of turns that declare a vehicle (default 0.5)")
    parser.add_argument("--processes", type=int, default=None,
                        help="passed to flask serve (default: what flask serve picks)")
    parser.add_argument("--households", type=int, default=2000, help="default 2,000")
    parser.add_argument("--app-dir", type=Path, default=ROOT,
                        help="checkout whose app.py and wardkit to serve (default: this one)")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--json", action="store_true", help="also print one JSON line")
    args = parser.parse_args(argv)
    app_dir = args.app_dir.resolve()
    must((app_dir / "app.py").is_file() and (VENV_BIN / "flask").is_file(), "no app.py or flask")
    result = measure(args, app_dir, random.Random(args.seed))
    report(result)
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
