"""Today and group progress: p50/p95 of rendering `GET /today` for an officer with 3
residential groups and `GET /progress` for a leader, in a ward of 20,000 households and
60,000 residents with a month of visit history, against a bare `SELECT count(*)` over
residents in the same run.

    .venv/bin/python bench/bench_today.py [--households 20000] [--residents 60000]
                                          [--requests 200] [--seed 11]

Setup: 50 groups of 400 households (synthetic Vietnamese households from
wardkit.residents.fake, trimmed to the resident count); 60% of households visited 1-3
times over the last 30 days (done, nobody home, come back with a follow-up, declined),
30% of adults activated on iHanoi, a recorded declaration per 4 households (5,000) with
its audit row.
`GET /progress` is timed three ways: with nothing written since the last read (served
from progress_cache), right after a visit was recorded and right after a registry edit
(both a full recount: only the report's read writes the cache).
Goal (issue 6): p95 <= 100 ms for both pages.
"""
import argparse
import math
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from wardkit import clock, create_app  # noqa: E402
from wardkit.db import apply_migrations, connect, sqlite3, write  # noqa: E402
from wardkit.groups import queries as group_queries  # noqa: E402
from wardkit.ids import new_id  # noqa: E402
from wardkit.residents import fake  # noqa: E402
from wardkit.residents import queries as resident_queries  # noqa: E402
from wardkit.reports import figures  # noqa: E402
from wardkit.visits import queries as visit_queries  # noqa: E402
from wardkit.visits.days import adult_cutoff, local_today  # noqa: E402

WARD = "00103"
GROUPS = 50
PASSWORD = "bench password"


def percentile(values, p):
    values = sorted(values)
    k = max(0, min(len(values) - 1, round(p / 100 * (len(values) - 1))))
    return values[k]


def trimmed(items, households, residents):
    """Yield the generated households, trimming people so the ward holds `residents`."""
    used = 0
    for n, (household, people) in enumerate(items):
        left = households - n
        share = max(1, math.ceil((residents - used) / left))
        people = people[:share] if len(people) >= share else people
        used += len(people)
        yield household, people


def insert_many(db, table, rows):
    if rows:
        columns = list(rows[0])
        db.conn.executemany(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
            [[row[c] for c in columns] for row in rows])


def seed(db, households, residents, rng, days=30):
    """Fill the ward with `days` of history; return (officer id, leader id, the
    officer's 3 group ids, the number of visits)."""
    from werkzeug.security import generate_password_hash
    from wardkit.auth import queries as auth_queries
    now = clock.now()
    today = now.date()
    with write(db):
        groups = [group_queries.create_group(db, ward_code=WARD, name=f"Tổ dân phố số {k}",
                                             cluster=None, target_adults=900, by=None)
                  for k in range(1, GROUPS + 1)]
        resident_queries.bulk_create(
            db, ward_code=WARD, by=None,
            items=trimmed(fake.generate_ward(rng.randrange(10**6), groups, households,
                                             today=today), households, residents))
        pw = generate_password_hash(PASSWORD, method="scrypt:1024:8:1")
        officer = auth_queries.create_user(db, username="officer", display_name="Cán bộ",
                                           role="officer", ward_code=WARD, password_hash=pw)
        leader = auth_queries.create_user(db, username="leader", display_name="Lãnh đạo",
                                          role="leader", ward_code=WARD, password_hash=pw)
        mine = [g["id"] for g in groups[:3]]
        for group_id in mine:
            visit_queries.assign(db, WARD, group_id, officer["id"], by=None)

        visits, follow_ups, changes = [], [], []
        household_ids = [r[0] for r in db.execute("SELECT id FROM households")]
        for household_id in household_ids:
            if rng.random() > 0.6:
                continue
            for _ in range(rng.randint(1, 3)):
                at = now - timedelta(days=rng.uniform(0, days))
                outcome = rng.choice(("done", "done", "nobody_home", "come_back", "declined"))
                due = at + timedelta(days=rng.uniform(0.2, 6)) if outcome == "come_back" else None
                visit = {"id": new_id(), "ward_code": WARD, "household_id": household_id,
                         "officer_id": officer["id"], "visited_at": clock.iso(at),
                         "outcome": outcome, "notes": None,
                         "follow_up_on": clock.iso(due) if due else None,
                         "created_at": clock.iso(at), "updated_at": clock.iso(at),
                         "updated_by": officer["id"], "deleted_at": None}
                visits.append(visit)
                if due:
                    follow_ups.append({
                        "id": new_id(), "ward_code": WARD, "household_id": household_id,
                        "visit_id": visit["id"], "due_at": clock.iso(due),
                        "closed_at": None if rng.random() < 0.5 else clock.iso(due),
                        "closed_by_visit_id": None, "created_at": clock.iso(at),
                        "updated_at": clock.iso(at), "updated_by": None, "deleted_at": None})
        insert_many(db, "visits", visits)
        insert_many(db, "follow_ups", follow_ups)

        adults = [r for r in db.execute(
            "SELECT id, household_id FROM residents WHERE dob <= ?",
            [adult_cutoff(today)])]
        for resident_id, household_id in rng.sample(adults, int(len(adults) * 0.3)):
            at = clock.iso(now - timedelta(days=rng.uniform(0, days)))
            changes.append({"id": new_id(), "ward_code": WARD, "resident_id": resident_id,
                            "household_id": household_id, "visit_id": None,
                            "field": "ihanoi_status", "old_value": "unknown",
                            "new_value": "activated", "changed_at": at,
                            "changed_by": officer["id"]})
        insert_many(db, "onboarding_changes", changes)
        db.conn.executemany("UPDATE residents SET ihanoi_status = 'activated' WHERE id = ?",
                            [[c["resident_id"]] for c in changes])

        declarations, audits = [], []
        # One recorded declaration per 4 households (5,000 in the default ward).
        for resident_id, _h in rng.sample(adults, min(len(adults), households // 4)):
            at = clock.iso(now - timedelta(days=rng.uniform(0, days)))
            d = {"id": new_id(), "ward_code": WARD, "resident_id": resident_id,
                 "kind": "licence", "status": "recorded", "lawful_basis": "official_duty",
                 "recorded_by": officer["id"], "channel": "home_visit", "created_at": at,
                 "updated_at": at}
            declarations.append(d)
            audits.append({"id": new_id(), "at": at, "user_id": officer["id"],
                           "ward_code": WARD, "action": "declaration_recorded",
                           "entity": "declarations", "entity_id": d["id"], "detail": None,
                           "client_addr": None})
        insert_many(db, "declarations", declarations)
        insert_many(db, "audit_log", audits)
    db.execute("ANALYZE")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return officer["id"], leader["id"], mine, len(visits)


def timed(fn, n, before=None):
    times = []
    for _ in range(n):
        if before is not None:
            before()
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=20_000)
    parser.add_argument("--residents", type=int, default=60_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    rng = random.Random(args.seed)

    tmp = tempfile.mkdtemp(prefix="wardkit-bench-today-")
    path = os.path.join(tmp, "wardkit.db")
    db = connect(path)
    apply_migrations(db)
    t = time.perf_counter()
    officer_id, leader_id, mine, n_visits = seed(db, args.households, args.residents, rng)
    seeded = time.perf_counter() - t
    households = db.execute("SELECT count(*) FROM households").fetchone()[0]
    residents = db.execute("SELECT count(*) FROM residents").fetchone()[0]
    my_households = db.execute(
        "SELECT count(*) FROM households WHERE group_id IN (?, ?, ?)", mine).fetchone()[0]

    app = create_app({"DATABASE": path, "SECRET_KEY": "bench",
                      "PASSWORD_HASH_METHOD": "scrypt:1024:8:1", "WTF_CSRF_ENABLED": False})
    officer, leader = app.test_client(), app.test_client()
    for client, username in ((officer, "officer"), (leader, "leader")):
        r = client.post("/login", data={"username": username, "password": PASSWORD})
        assert r.status_code == 303, r.status_code

    def get(client, url):
        def run():
            r = client.get(url)
            assert r.status_code == 200, (url, r.status_code)
        return run

    def count_residents():
        db.execute("SELECT count(*) FROM residents").fetchone()

    def count_live_residents():
        db.execute("SELECT count(*) FROM residents WHERE deleted_at IS NULL").fetchone()

    def today_query():
        visit_queries.today(db, WARD, mine)

    def progress_query():
        with app.test_request_context():
            figures.ward_figures(db, WARD)

    visited = [r[0] for r in db.execute("SELECT id FROM households LIMIT 1000")]

    def record_a_visit():
        # Any write to a counted table makes the next progress read count again.
        visit_queries.record_visit(db, ward_code=WARD, household_id=rng.choice(visited),
                                   by=officer_id, outcome="nobody_home")

    people = [r[0] for r in db.execute("SELECT id FROM residents LIMIT 1000")]

    def edit_a_resident():
        # A registry edit (any write to a counted table) makes the next read recount.
        with write(db):
            db.execute("UPDATE residents SET dob = dob, updated_at = ? WHERE id = ?",
                       [clock.now_iso(), rng.choice(people)])

    def count_uncached():
        figures.count_groups(db, WARD, local_today())

    contenders = [
        ("SELECT count(*) FROM residents", count_residents),
        ("... WHERE deleted_at IS NULL", count_live_residents),
        ("visits.queries.today (3 groups)", today_query),
        ("GET /today (officer, 3 groups)", get(officer, "/today")),
        ("visits.progress.progress", progress_query),
        ("GET /progress (leader)", get(leader, "/progress")),
        ("visits.progress.count_groups", count_uncached),
        ("visits.queries.record_visit", record_a_visit),
        ("GET /progress after a visit", get(leader, "/progress")),
        ("GET /progress after a registry edit", get(leader, "/progress")),
    ]
    before = {"GET /progress after a visit": record_a_visit,
              "GET /progress after a registry edit": edit_a_resident}
    for _label, fn in contenders:  # warm the page cache the same way for each
        for _ in range(10):
            fn()
    results = [(label, timed(fn, args.requests, before.get(label)))
               for label, fn in contenders]

    print(f"platform: {platform.platform()}")
    print(f"cpus:     {os.cpu_count()}")
    print(f"python:   {platform.python_version()} ({platform.python_implementation()})")
    print(f"sqlite:   {sqlite3.sqlite_version}")
    print(f"ward:     {households:,} households, {residents:,} residents, {n_visits:,} visits "
          f"(seeded in {seeded:.1f} s); the officer's 3 groups hold {my_households:,} "
          f"households; {args.requests} timed runs each (seed {args.seed})")
    if os.environ.get("BENCH_KEEP"):
        print(f"database: {path}")
    print()
    print(f"{'path':<34} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'mean ms':>8}")
    print("-" * 72)
    for label, times in results:
        print(f"{label:<34} {percentile(times, 50):8.2f} {percentile(times, 95):8.2f} "
              f"{max(times):8.2f} {statistics.mean(times):8.2f}")
    print()
    by_label = dict(results)
    t95 = percentile(by_label["GET /today (officer, 3 groups)"], 95)
    p95 = percentile(by_label["GET /progress (leader)"], 95)
    v95 = percentile(by_label["GET /progress after a visit"], 95)
    m95 = percentile(by_label["GET /progress after a registry edit"], 95)
    met = max(t95, p95, v95) <= 100
    print(f"goal (p95 <= 100 ms for both pages): {'MET' if met else 'NOT MET'} "
          f"(Today {t95:.1f} ms; progress {p95:.1f} ms, {v95:.1f} ms after a visit; "
          f"recounted after a registry edit {m95:.1f} ms: "
          f"{'within' if m95 <= 100 else 'over'} the goal)")


if __name__ == "__main__":
    main()
