"""The daily report: p50/p95 of taking the morning snapshot, of rendering its PDF and its
XLSX, in a ward of 20,000 households and 60,000 residents with 60 days of visits and
declarations and 60 days of earlier reports; and the city's roll-up of 126 generated ward
files (received into the city's database with every check, then the table of all wards
and its XLSX; and the same files through `flask reports consolidate`'s code, which keeps
no database). A bare `SELECT count(*)` over residents, measured in the same run, is the
baseline the ratios are against.

    .venv/bin/python bench/bench_reports.py [--households 20000] [--residents 60000]
                                            [--runs 20] [--seed 11]

The snapshot is timed as it runs at 07:00: nothing cached (the progress cache's
generation moved, as after a night of kit syncs), the whole ward counted, the change
since the previous report worked out, the row inserted and audited.
Goals (issue 12): snapshot p95 <= 300 ms, PDF p95 <= 1 s, roll-up of 126 files <= 2 s.
"""
import argparse
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_today import WARD, percentile, seed  # noqa: E402
from wardkit import clock, create_app  # noqa: E402
from wardkit.db import apply_migrations, connect  # noqa: E402
from wardkit.reports import city, cityfile, exports, figures, queries, snapshots  # noqa: E402

DAYS = 60
TODAY = date(2026, 12, 7)


def at_cutoff(day: date) -> datetime:
    """07:01 Hanoi time on `day`, as the report clock would wake."""
    return datetime(day.year, day.month, day.day, 0, 1, tzinfo=timezone.utc)


def timed(fn, n):
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return times


def line(name, times, base):
    p50, p95 = statistics.median(times), percentile(times, 95)
    print(f"{name:<44} p50 {p50:8.1f} ms   p95 {p95:8.1f} ms   p95/baseline {p95 / base:7.1f}x")
    return p95


def vary_declarations(db, rng):
    """Make the seeded declarations (all recorded licences) a realistic mix: half
    vehicles, and statuses recorded / submitted / verified."""
    ids = [r[0] for r in db.execute("SELECT id FROM declarations")]
    db.execute("BEGIN IMMEDIATE")
    db.conn.executemany(
        "UPDATE declarations SET kind = ?, status = ? WHERE id = ?",
        [(rng.choice(("licence", "vehicle")),
          rng.choice(("recorded", "recorded", "submitted", "verified")), i) for i in ids])
    db.execute("COMMIT")


def ward_files(rng, wards, day):
    """Return (name, bytes) of a plausible city file for each ward: 20-60 groups each."""
    files = []
    for ward in wards:
        groups = []
        for k in range(rng.randint(20, 60)):
            target = rng.randint(300, 1200)
            adults = rng.randint(target // 2, target + 200)
            counts = {name: 0 for name in figures.COUNTS}
            counts.update(target_adults=target, adults=adults,
                          installed=rng.randint(0, adults // 2),
                          households=rng.randint(150, 500))
            counts["activated"] = rng.randint(0, counts["installed"])
            counts["visited"] = rng.randint(0, counts["households"])
            counts["declarations"] = rng.randint(0, 300)
            groups.append({"id": f"g{k}", "name": f"Tổ dân phố số {k + 1}",
                           "cluster": None, **counts})
        total = {name: sum(g[name] for g in groups) for name in figures.COUNTS}
        stamp = clock.iso(at_cutoff(day))
        report = {"report_date": day.isoformat(), "revision": 1, "cutoff_at": stamp,
                  "taken_at": stamp, "locked_at": stamp,
                  "figures": {"groups": groups, "total": total}}
        document, name = cityfile.build(report, {
            "code": ward["code"], "code_2025_10": ward["code_2025_10"],
            "name": ward["name"], "data_version": "bench"})
        files.append((name, cityfile.dumps(document)))
    return files


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=20_000)
    parser.add_argument("--residents", type=int, default=60_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    rng = random.Random(args.seed)

    # Everything happens on the morning of TODAY, whatever the machine's date.
    clock.now = lambda: at_cutoff(TODAY)
    tmp = tempfile.mkdtemp(prefix="wardkit-bench-reports-")
    path = os.path.join(tmp, "wardkit.db")
    db = connect(path)
    apply_migrations(db)
    t = time.perf_counter()
    _officer, _leader, _mine, n_visits = seed(db, args.households, args.residents, rng,
                                              days=DAYS)
    vary_declarations(db, rng)
    seeded = time.perf_counter() - t
    households = db.execute("SELECT count(*) FROM households").fetchone()[0]
    residents = db.execute("SELECT count(*) FROM residents").fetchone()[0]
    declarations = db.execute("SELECT count(*) FROM declarations").fetchone()[0]

    app = create_app({"DATABASE": path, "SECRET_KEY": "bench"})
    with app.test_request_context():
        # 60 days of earlier reports (the series the XLSX and the sparklines read).
        for n in range(DAYS, 0, -1):
            day = TODAY - timedelta(days=n)
            snapshots.take_snapshot(db, WARD, day, now=at_cutoff(day))

        base = timed(lambda: db.execute("SELECT count(*) FROM residents").fetchone(), 50)
        base_p95 = percentile(base, 95)

        counter = iter(range(10**6))

        def snapshot():
            # A fresh day each run, nothing cached: the 07:00 snapshot as it happens.
            day = TODAY + timedelta(days=next(counter))
            db.execute("UPDATE data_generations SET n = n + 1 WHERE name = 'progress'")
            snapshots.take_snapshot(db, WARD, day, now=at_cutoff(day))

        snap = timed(snapshot, args.runs)
        report = queries.get_report(db, WARD, TODAY.isoformat())
        groups = len(report["figures"]["groups"])
        # The first of each loads WeasyPrint and its fonts, or openpyxl: not timed.
        pdf_bytes = exports.render(db, WARD, report, "pdf")[0]
        xlsx_bytes = exports.render(db, WARD, report, "xlsx")[0]
        pdf = timed(lambda: exports.render(db, WARD, report, "pdf"), max(5, args.runs // 2))
        xlsx = timed(lambda: exports.render(db, WARD, report, "xlsx"), max(5, args.runs // 2))

    # The city: 126 ward files for the day.
    city_path = os.path.join(tmp, "city.db")
    city_db = connect(city_path)
    apply_migrations(city_db)
    city_app = create_app({"DATABASE": city_path, "SECRET_KEY": "bench"})
    wards = list(city.hanoi_wards())
    files = ward_files(rng, wards, TODAY)
    size = sum(len(data) for _name, data in files)
    with city_app.test_request_context():
        t = time.perf_counter()
        results = city.receive(city_db, files, by=None)
        received = (time.perf_counter() - t) * 1000
        t = time.perf_counter()
        table = city.rollup(city_db, TODAY)
        city.xlsx(table)
        rolled = (time.perf_counter() - t) * 1000
        t = time.perf_counter()
        again = city.receive(city_db, files, by=None)
        repeat = (time.perf_counter() - t) * 1000
        consolidated = timed(lambda: city.xlsx(city.consolidate(files, TODAY)[1]), 5)
    statuses = sorted({r.status for r in results})
    repeat_statuses = sorted({r.status for r in again})

    print(f"WardKit daily report benchmark — {platform.platform()}, "
          f"{os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(f"ward: {households:,} households, {residents:,} residents, {groups} groups, "
          f"{n_visits:,} visits and {declarations:,} declarations over {DAYS} days, "
          f"{DAYS} earlier reports (seeded in {seeded:.1f} s)")
    print(f"baseline SELECT count(*) FROM residents: p95 {base_p95:.2f} ms")
    p95_snap = line("snapshot at the cut-off (nothing cached)", snap, base_p95)
    p95_pdf = line(f"PDF ({len(pdf_bytes) / 1024:.0f} KB)", pdf, base_p95)
    line(f"XLSX ({len(xlsx_bytes) / 1024:.0f} KB)", xlsx, base_p95)
    print(f"city: {len(files)} ward files ({size / 1024:.0f} KB): received and checked "
          f"{received:.0f} ms ({', '.join(statuses)}); table of all wards + XLSX "
          f"{rolled:.0f} ms; the same files again {repeat:.0f} ms ({', '.join(repeat_statuses)})")
    p95_consolidate = line("consolidate 126 files to XLSX (no database)", consolidated,
                           base_p95)
    print(f"roll-up of 126 files at /city: {received + rolled:.0f} ms")
    print(json.dumps({"snapshot_p95_ms": round(p95_snap, 1), "pdf_p95_ms": round(p95_pdf, 1),
                      "rollup_ms": round(received + rolled), "consolidate_p95_ms":
                      round(p95_consolidate, 1)}))
    print("goals: snapshot <= 300 ms, PDF <= 1000 ms, roll-up <= 2000 ms:",
          "met" if p95_snap <= 300 and p95_pdf <= 1000 and received + rolled <= 2000
          else "NOT met")


if __name__ == "__main__":
    main()
