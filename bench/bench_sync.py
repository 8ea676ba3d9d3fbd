"""Sync between a hub and a field kit (issue 11): a day's round, a backlog applied at the
hub while a leader uses it, and the size of the sealed bundles.

Run from the repository root:

    .venv/bin/python bench/bench_sync.py [--households 2000] [--day 2000]
        [--backlog 10000] [--processes N] [--seed 11]

Setup (as tests/sync_nodes.py does it, on real files in a temporary directory): one
database migrated once (`wardkit.db.connect`, `apply_migrations`) is the template; the hub
is a copy of it with its own device id and epoch, seeded with the demo ward
(`wardkit.demo.seed_demo`: `flask seed-demo --households 2000`'s ward, its users and its
visit history); the kit is another copy with its own ids, enrolled by file
(`enrol.add_kit`, `enrol.enrolment_file` at the hub, `enrol.become_kit` on the kit: the
whole ward, no group). A first round (push, pull) settles the enrolment, so what is timed
below carries only the work.

Work on the kit, through the domain functions as tests/factories.py calls them, by the
demo officer, until the kit holds the wanted number of changes (rows captured in its
sync_log: a visit with its audit row is two changes, one that closes a follow-up or
updates iHanoi statuses more): 40 % visits (done, nobody home, declined, come back
tomorrow; a third of the done ones mark a resident's iHanoi status), 25 % resident edits
(phone or iHanoi status), 10 % residents added, 25 % licence declarations (draft and
autosave; two in three recorded too).

1. A day's round, `--day` changes: the kit seals its push (`rounds.push_bundle`), the hub
   verifies and applies it (`rounds.receive_push`), writes the kit's pull
   (`rounds.pull_bundle`, which carries the kit's rows back with their hub versions) and
   the kit applies it (`rounds.receive_pull`). Each step is timed, then the round trip.
   Goal: round trip <= 2 s.
2. A backlog, `--backlog` changes sealed in one push: the hub's apply
   (`rounds.receive_push`), goal <= 5 s, while the hub is served as `make run` serves it
   (`flask serve`: gunicorn, its own process group, on loopback) and a thread of this
   process, signed in as demo.leader on one keep-alive connection, asks for /progress and
   a household's page (/households/<id>, which audits the read: a write) in turn without
   pause. The same requests are first timed for a few seconds with the hub idle. Latency
   is from request to the end of the body; figures for requests started during the
   apply. Goal: p95 <= 1 s. The kit's pull of the backlog is timed afterwards.
3. Bundle size: bytes of each sealed bundle (gzip'd JSON lines under AES-GCM) per 1,000
   changes (pushes) or rows (pulls).
"""
import argparse
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench_mixed import (Browser, app_env, app_revision, cpu_model, free_port,  # noqa: E402
                         start_server, stop_server)

from wardkit import clock, create_app  # noqa: E402
from wardkit.auth.accounts import set_user_password  # noqa: E402
from wardkit.db import apply_migrations, connect, sqlite3, write  # noqa: E402
from wardkit.declarations import queries as declaration_queries  # noqa: E402
from wardkit.demo import DEMO_WARD, seed_demo  # noqa: E402
from wardkit.residents import queries as resident_queries  # noqa: E402
from wardkit.sync import enrol, queries, rounds  # noqa: E402
from wardkit.visits import queries as visit_queries  # noqa: E402

PASSWORD = "bench sync passphrase"
HASH_METHOD = "scrypt:1024:8:1"
KIT_NAME = "Tổ công tác 1"
GOAL_ROUND_S, GOAL_APPLY_S, GOAL_P95_S = 2.0, 5.0, 1.0
IDLE_SECONDS = 4.0
LICENCE_FIELDS = {"lawful_basis": "official_duty", "licence_class": "B2",
                  "licence_class_new": "B", "issued_on": "2019-05-20",
                  "expires_on": "2029-05-20", "issuing_authority": "Sở GTVT Hà Nội"}
FAMILY = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Ngô")
MIDDLE = ("Văn", "Thị", "Đức", "Minh", "Thu", "Quốc", "Thanh", "Ngọc")
GIVEN = ("An", "Bình", "Chi", "Dũng", "Hà", "Hoa", "Hùng", "Lan", "Mai", "Nam", "Phương",
         "Sơn", "Tâm", "Trang", "Tuấn", "Yến")


def percentile(sorted_values, pct):
    """Nearest-rank percentile of an ascending list (0.0 when empty)."""
    if not sorted_values:
        return 0.0
    rank = max(1, -(-pct * len(sorted_values) // 100))
    return sorted_values[int(rank) - 1]


# --- the nodes ------------------------------------------------------------------------

def node(template: Path, path: Path):
    """Copy the migrated template to `path` and give the copy its own device id and epoch
    (a copy shares the template's); return its connection."""
    shutil.copy(template, path)
    db = connect(str(path))
    with write(db):
        db.execute("UPDATE sync_state SET device_id = ?, epoch = ? WHERE id = 1",
                   [uuid.uuid4().hex, uuid.uuid4().hex])
    return db


def build(tmp: Path, households: int):
    """Return (hub db, kit db, hub path, kit id, timings): the seeded hub and a kit
    enrolled by file, after a first settling round."""
    template = tmp / "template.db"
    db = connect(str(template))
    apply_migrations(db)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    hub_path = tmp / "hub.db"
    hub = node(template, hub_path)
    app = create_app({"DATABASE": str(hub_path), "PASSWORD_HASH_METHOD": HASH_METHOD,
                      "SECRET_KEY": "bench-sync-" + "x" * 32})
    timings = {}
    t = time.perf_counter()
    with app.app_context():
        seed_demo(hub, households=households)
        set_user_password(hub, username="demo.leader", password=PASSWORD)
    timings["seed"] = time.perf_counter() - t
    admin = hub.execute("SELECT id FROM users WHERE username = 'demo.admin'").fetchone()[0]

    t = time.perf_counter()
    device, code = enrol.add_kit(hub, name=KIT_NAME, ward_code=DEMO_WARD, group_id=None,
                                 by=admin)
    data = enrol.enrolment_file(hub, device, code, by=admin)
    kit = node(template, tmp / "kit.db")
    enrol.become_kit(kit, enrol.open_welcome(data, code), None)
    timings["enrol"] = time.perf_counter() - t
    timings["enrol_bytes"] = len(data)
    # The first round: the kit's own enrolment rows go up, the hub names its device.
    push, _n = rounds.push_bundle(kit)
    device, _r = rounds.receive_push(hub, push)
    rounds.receive_pull(kit, rounds.pull_bundle(hub, device, device["pulled_seq"]))
    return hub, kit, hub_path, device["id"], timings


# --- a kit's work -----------------------------------------------------------------------

class Officer:
    """The demo officer at work on the kit, through the domain functions."""

    def __init__(self, kit, rng):
        self.db, self.rng = kit, rng
        self.me = queries.state(kit)["device_id"]
        self.officer = kit.execute(
            "SELECT id FROM users WHERE username = 'demo.officer'").fetchone()[0]
        self.households = [r[0] for r in kit.execute(
            "SELECT id FROM households WHERE ward_code = ? AND deleted_at IS NULL "
            "ORDER BY id", [DEMO_WARD])]
        self.residents = [tuple(r) for r in kit.execute(
            "SELECT id, household_id FROM residents WHERE ward_code = ? "
            "AND deleted_at IS NULL ORDER BY id", [DEMO_WARD])]
        self.by_household = {}
        for rid, hid in self.residents:
            self.by_household.setdefault(hid, []).append(rid)
        self.licences = 0
        self.ops = {"visit": 0, "resident edited": 0, "resident added": 0,
                    "declaration": 0}

    def waiting(self) -> int:
        """Return how many changes the kit holds that the hub has not acknowledged."""
        return queries.count_own_changes(self.db, self.me, queries.kit(self.db)["acked_seq"])

    def work(self, changes: int) -> int:
        """Work until at least `changes` more changes wait to be pushed; return how many
        wait now."""
        goal = self.waiting() + changes
        while (n := self.waiting()) < goal:
            pick = self.rng.random()
            if pick < 0.40:
                self.visit()
            elif pick < 0.65:
                self.edit_resident()
            elif pick < 0.75:
                self.add_resident()
            else:
                self.declaration()
        return n

    def visit(self):
        hid = self.rng.choice(self.households)
        outcome = self.rng.choice(("done", "done", "nobody_home", "declined", "come_back"))
        onboarding = None
        if outcome == "done" and self.by_household.get(hid) and self.rng.random() < 0.33:
            rid = self.rng.choice(self.by_household[hid])
            onboarding = {rid: {"ihanoi_status": self.rng.choice(("installed", "activated"))}}
        visit_queries.record_visit(
            self.db, ward_code=DEMO_WARD, household_id=hid, by=self.officer, outcome=outcome,
            follow_up_at=clock.now() + timedelta(days=1) if outcome == "come_back" else None,
            onboarding=onboarding)
        self.ops["visit"] += 1

    def edit_resident(self):
        rid, _hid = self.rng.choice(self.residents)
        if self.rng.random() < 0.5:
            fields = {"phone": "09" + "".join(self.rng.choice("0123456789") for _ in range(8))}
        else:
            fields = {"ihanoi_status": self.rng.choice(("not_installed", "installed",
                                                        "activated"))}
        resident_queries.update_resident(self.db, DEMO_WARD, rid, fields, by=self.officer)
        self.ops["resident edited"] += 1

    def add_resident(self):
        hid = self.rng.choice(self.households)
        name = " ".join((self.rng.choice(FAMILY), self.rng.choice(MIDDLE),
                         self.rng.choice(GIVEN)))
        row = resident_queries.create_resident(
            self.db, ward_code=DEMO_WARD, household_id=hid, by=self.officer,
            fields={"full_name": name,
                    "dob": date(self.rng.randint(1940, 2020), self.rng.randint(1, 12),
                                self.rng.randint(1, 28)),
                    "gender": self.rng.choice(("male", "female")), "relation": "other",
                    "lawful_basis": "official_duty"})
        self.residents.append((row["id"], hid))
        self.by_household.setdefault(hid, []).append(row["id"])
        self.ops["resident added"] += 1

    def declaration(self):
        rid, _hid = self.rng.choice(self.residents)
        self.licences += 1
        fields = {**LICENCE_FIELDS, "licence_no": f"{self.licences:012d}"}
        row = declaration_queries.create_draft(self.db, ward_code=DEMO_WARD, resident_id=rid,
                                               kind="licence", channel="home_visit",
                                               by=self.officer)
        declaration_queries.save_draft(self.db, DEMO_WARD, row["id"], fields, by=self.officer,
                                       reload=False)
        if self.rng.random() < 2 / 3:
            declaration_queries.record_declaration(self.db, DEMO_WARD, row["id"], {},
                                                   role="officer", by=self.officer)
        self.ops["declaration"] += 1


# --- the rounds -------------------------------------------------------------------------

def timed(fn, *args, **kwargs):
    t = time.perf_counter()
    value = fn(*args, **kwargs)
    return value, time.perf_counter() - t


def round_trip(hub, kit):
    """Push, apply at the hub, pull, apply on the kit; return the figures."""
    (push, sent), t_seal = timed(rounds.push_bundle, kit)
    (device, pushed), t_apply = timed(rounds.receive_push, hub, push)
    pull, t_pull = timed(rounds.pull_bundle, hub, device, device["pulled_seq"])
    pulled, t_kit = timed(rounds.receive_pull, kit, pull)
    rows = rounds.bundles.read_header(pull)["count"]
    return {"sent": sent, "seal": t_seal, "apply": t_apply, "pull": t_pull, "kit": t_kit,
            "total": t_seal + t_apply + t_pull + t_kit, "push_bytes": len(push),
            "pull_bytes": len(pull), "pull_rows": rows, "pushed": pushed.counts(),
            "pulled": pulled.counts()}


class Leader(threading.Thread):
    """demo.leader's browser: /progress and a household's page in turn, no pause."""

    def __init__(self, port, households, rng):
        super().__init__(daemon=True)
        self.browser = Browser(port)
        self.browser.login("demo.leader", PASSWORD)
        self.households, self.rng = households, rng
        self.samples = []           # (started, seconds, page, status)
        self.stop = threading.Event()

    def run(self):
        n = 0
        while not self.stop.is_set():
            page = "/progress" if n % 2 == 0 else \
                f"/households/{self.rng.choice(self.households)}"
            n += 1
            t = time.perf_counter()
            try:
                status, _h, _b = self.browser.request("GET", page)
            except Exception as exc:  # noqa: BLE001
                status = repr(exc)
                self.browser.conn.close()
            self.samples.append((t, time.perf_counter() - t, page.split("/")[1], status))

    def between(self, start, end):
        return [s for s in self.samples if start <= s[0] < end]


def latency_line(label, samples):
    ok = sorted(s[1] for s in samples if s[3] == 200)
    errors = sum(1 for s in samples if s[3] != 200)
    if not ok:
        return f"{label:<26} no answered requests, {errors} errors", 0.0
    p95 = percentile(ok, 95)
    return (f"{label:<26} {len(ok):>5} requests  p50 {1000 * statistics.median(ok):7.0f} ms"
            f"  p95 {1000 * p95:7.0f} ms  max {1000 * ok[-1]:7.0f} ms  errors {errors}"), p95


def per_k(nbytes, n):
    return nbytes * 1000 / n if n else 0.0


def met(ok):
    return "met" if ok else "NOT met"


# --- main ---------------------------------------------------------------------------------

def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--households", type=int, default=2000, help="default 2,000")
    parser.add_argument("--day", type=int, default=2000, help="changes (default 2,000)")
    parser.add_argument("--backlog", type=int, default=10000,
                        help="changes (default 10,000)")
    parser.add_argument("--processes", type=int, default=None,
                        help="passed to flask serve (default: what flask serve picks)")
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    started = time.perf_counter()
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"machine:  {os.cpu_count()} cpus, {cpu_model()}; load average {load}; "
          f"{platform.platform()}")
    print(f"python:   {platform.python_version()}; sqlite {sqlite3.sqlite_version}")
    print(f"app:      {app_revision(ROOT)}", flush=True)

    with tempfile.TemporaryDirectory(prefix="wardkit-bench-sync-") as tmp:
        tmp = Path(tmp)
        hub, kit, hub_path, kit_id, setup = build(tmp, args.households)
        counts = hub.execute("""SELECT (SELECT count(*) FROM households),
            (SELECT count(*) FROM residents), (SELECT count(*) FROM visits)""").fetchone()
        print(f"ward:     demo, {counts[0]:,} households, {counts[1]:,} residents, "
              f"{counts[2]:,} visits (seed {setup['seed']:.1f} s); kit enrolled by file "
              f"in {setup['enrol']:.1f} s ({setup['enrol_bytes']:,} bytes)", flush=True)
        officer = Officer(kit, rng)

        # 1. A day's round.
        _n, t_work = timed(officer.work, args.day)
        day = round_trip(hub, kit)
        ops = ", ".join(f"{v} {k}" for k, v in officer.ops.items())
        print(f"\n1. A day's round: {day['sent']:,} changes on the kit ({ops}; made in "
              f"{t_work:.1f} s)")
        print(f"   seal the push (kit)          {day['seal']:6.2f} s   "
              f"{day['push_bytes']:>10,} bytes")
        print(f"   apply the push (hub)         {day['apply']:6.2f} s   "
              f"applied {day['pushed'].get('applied')}, conflicts "
              f"{day['pushed'].get('conflicts')}, held back {day['pushed'].get('held_back')}")
        print(f"   build the pull (hub)         {day['pull']:6.2f} s   "
              f"{day['pull_bytes']:>10,} bytes, {day['pull_rows']:,} rows")
        print(f"   apply the pull (kit)         {day['kit']:6.2f} s   "
              f"applied {day['pulled'].get('applied')}")
        print(f"   round trip                   {day['total']:6.2f} s   "
              f"goal <= {GOAL_ROUND_S:.0f} s: {met(day['total'] <= GOAL_ROUND_S)}", flush=True)

        # 2. A backlog applied at the hub while the leader works.
        for k in officer.ops:
            officer.ops[k] = 0
        _n, t_work = timed(officer.work, args.backlog)
        (push, sent), t_seal = timed(rounds.push_bundle, kit)
        ops = ", ".join(f"{v} {k}" for k, v in officer.ops.items())
        print(f"\n2. A backlog: {sent:,} changes ({ops}; made in {t_work:.1f} s), sealed in "
              f"{t_seal:.2f} s, {len(push):,} bytes", flush=True)
        households = [r[0] for r in hub.execute(
            "SELECT id FROM households WHERE deleted_at IS NULL ORDER BY id")]
        port = free_port()
        env = app_env(ROOT, str(hub_path))
        env["WARDKIT_PASSWORD_HASH_METHOD"] = HASH_METHOD
        server = start_server(ROOT, env, port, args.processes, str(tmp / "serve.log"))
        try:
            leader = Leader(port, households, random.Random(args.seed + 1))
            leader.start()
            time.sleep(1.0)                  # warm-up: templates compiled, caches filled
            idle_from = time.perf_counter()
            time.sleep(IDLE_SECONDS)
            apply_from = time.perf_counter()
            (_device, pushed), t_apply = timed(rounds.receive_push, hub, push)
            apply_to = time.perf_counter()
            time.sleep(0.5)                  # the request in flight at the end finishes
            leader.stop.set()
            leader.join(timeout=60)
        finally:
            stop_server(server)
        device = queries.get_device(hub, kit_id=kit_id)
        pull, t_pull = timed(rounds.pull_bundle, hub, device, device["pulled_seq"])
        pulled, t_kit = timed(rounds.receive_pull, kit, pull)
        pull_rows = rounds.bundles.read_header(pull)["count"]
        c = pushed.counts()
        print(f"   apply the push (hub)         {t_apply:6.2f} s   applied "
              f"{c.get('applied')}, conflicts {c.get('conflicts')}, held back "
              f"{c.get('held_back')}   goal <= {GOAL_APPLY_S:.0f} s: "
              f"{met(t_apply <= GOAL_APPLY_S)}")
        print(f"   then the pull: built in {t_pull:.2f} s ({len(pull):,} bytes, "
              f"{pull_rows:,} rows), applied on the kit in {t_kit:.2f} s "
              f"(applied {pulled.counts().get('applied')})")
        print("   the leader's pages (flask serve, demo.leader, /progress and "
              "/households/<id> in turn):")
        idle = leader.between(idle_from, apply_from)
        during = leader.between(apply_from, apply_to)
        line, _p = latency_line(f"   hub idle ({IDLE_SECONDS:.0f} s)", idle)
        print(line)
        line, p95 = latency_line("   during the apply", during)
        print(line + f"   goal p95 <= {GOAL_P95_S:.0f} s: {met(during and p95 <= GOAL_P95_S)}")
        for page in ("progress", "households"):
            line, _p = latency_line(f"     /{page}", [s for s in during if s[2] == page])
            print(line)

        # 3. Bundle sizes.
        print("\n3. Sealed bundle size (gzip'd JSON lines, AES-GCM), bytes per 1,000 changes "
              "(push) or rows (pull):")
        for label, nbytes, n in (
                (f"push, day ({day['sent']:,} changes)", day["push_bytes"], day["sent"]),
                (f"push, backlog ({sent:,} changes)", len(push), sent),
                (f"pull, day ({day['pull_rows']:,} rows)", day["pull_bytes"], day["pull_rows"]),
                (f"pull, backlog ({pull_rows:,} rows)", len(pull), pull_rows)):
            print(f"   {label:<34} {per_k(nbytes, n):>9,.0f}")
        hub.close()
        kit.close()
    print(f"\nwhole run {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
