"""Resident import, end to end: a 100,000-row CSV through the real path
(`import_files.read_table` → `plan_import` → `apply_import`) into a fresh migrated database,
against a raw sqlite-utils `insert_all` of the same rows into a plain table.

    .venv/bin/python bench/bench_import.py [--rows 100000] [--seed 2025] [--dir PATH]
                                           [--profile] [--breakdown]

The file looks like a group head's Excel export ("CSV UTF-8"): BOM, CRLF, Vietnamese
headers (STT, Họ và tên, Ngày sinh, Giới tính, Số CCCD, Số điện thoại, Địa chỉ, Tổ dân
phố, Quan hệ với chủ hộ, Cần hỗ trợ tại nhà, Ghi chú), dd/mm/yyyy dates, the address in one
column ("Số 12, Ngõ 34, ngách 5, Âu Cơ"). People come from `wardkit.residents.fake`
(realistic names, CCCDs, phones, households of 1-7 people, ~400 households per group).

Each measured run happens in a child process of its own, so its peak RSS
(`ru_maxrss`) is the import's and not the generator's:

* wardkit import: `connect()` + `apply_migrations()` on a new file, the ward's groups,
  then the three stages, timed separately; rows/s = data rows / time of the stage.
* raw insert_all: the same rows as dicts of the CSV's text cells into a plain table
  (`db["plain"].insert_all(rows)`) in one `BEGIN IMMEDIATE` transaction, same pragmas.

`--breakdown` times, on the same rows, `rules.check_resident` and the validators it calls
(µs per row), to show what the planning stage spends outside the importer.
`--profile` prints the top of a cProfile of the import child.

Goal (issue): >= 10,000 rows/s end to end and peak RSS <= 300 MB.
"""
import argparse
import csv
import io
import json
import math
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

WARD = "00103"
HOUSEHOLDS_PER_GROUP = 400
GOAL_RATE = 10_000
GOAL_RSS_MB = 300
HEADER = ["STT", "Họ và tên", "Ngày sinh", "Giới tính", "Số CCCD", "Số điện thoại",
          "Địa chỉ", "Tổ dân phố", "Quan hệ với chủ hộ", "Cần hỗ trợ tại nhà", "Ghi chú"]
RELATION_WORDS = {"head": "Chủ hộ", "spouse": ("Chồng", "Vợ"), "child": "Con",
                  "parent": ("Bố", "Mẹ"), "grandchild": "Cháu",
                  "grandparent": ("Ông", "Bà"), "sibling": ("Anh", "Chị"),
                  "relative": "Họ hàng", "other": "Người ở nhờ"}


def group_names(n_groups: int) -> list[str]:
    return [f"Tổ dân phố số {k}" for k in range(1, n_groups + 1)]


def write_csv(path: Path, rows_wanted: int, seed: int, today: date) -> int:
    """Write the group head's export; return the number of groups it uses."""
    from wardkit.residents import fake, queries

    households = math.ceil(rows_wanted / 3.2)
    n_groups = max(5, math.ceil(households / HOUSEHOLDS_PER_GROUP))
    groups = [{"id": name, "name": name, "cluster": None} for name in group_names(n_groups)]
    written = 0
    with open(path, "w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f, lineterminator="\r\n")
        writer.writerow(HEADER)
        for household, people in fake.generate_ward(seed, groups, households, today=today):
            address = queries.format_address(household["house_number"], household["lane"],
                                             household["street"])
            for p in people:
                if written == rows_wanted:
                    return n_groups
                relation = RELATION_WORDS[p["relation"]]
                if isinstance(relation, tuple):
                    relation = relation[p["gender"] == "female"]
                written += 1
                writer.writerow([
                    written, p["full_name"], p["dob"].strftime("%d/%m/%Y"),
                    "Nam" if p["gender"] == "male" else "Nữ", p["cccd"] or "",
                    p["phone"] or "", address, household["group_id"], relation,
                    "x" if p["needs_home_support"] else "", ""])
    if written < rows_wanted:
        raise SystemExit(f"generated only {written} rows")
    return n_groups


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


# --- children ------------------------------------------------------------------------------

class _TimedConnection:
    """Wraps a connection to time `executemany` per table (how bulk_create writes)."""

    def __init__(self, conn):
        self._conn, self.seconds = conn, {}

    def __getattr__(self, name):
        return getattr(self._conn, name)

    def executemany(self, sql, rows):
        t = time.perf_counter()
        try:
            return self._conn.executemany(sql, rows)
        finally:
            table = sql.split()[2]
            self.seconds[table] = self.seconds.get(table, 0.0) + time.perf_counter() - t


def child_import(csv_path: str, db_path: str, n_groups: int, profile: bool,
                 timed_sql: bool = False) -> dict:
    from wardkit import create_app
    from wardkit.db import apply_migrations, connect
    from wardkit.groups import queries as group_queries
    from wardkit.residents import import_files, importer

    app = create_app({"DATABASE": db_path, "SECRET_KEY": "bench", "TESTING": True})
    db = connect(db_path)
    apply_migrations(db)
    for name in group_names(n_groups):
        group_queries.create_group(db, ward_code=WARD, name=name, cluster=None,
                                   target_adults=0, by=None)
    today = date.today()
    if timed_sql:
        db.conn = _TimedConnection(db.conn)
    rss_before = peak_rss_mb()
    times = {}
    with app.app_context():
        profiler = None
        if profile:
            import cProfile
            profiler = cProfile.Profile()
            profiler.enable()
        t0 = time.perf_counter()
        data = Path(csv_path).read_bytes()
        table = import_files.read_table(data, csv_path)
        t1 = time.perf_counter()
        rss_read = peak_rss_mb()
        plan = importer.plan_import(db, WARD, table, today=today)
        t2 = time.perf_counter()
        rss_plan = peak_rss_mb()
        counts = importer.apply_import(db, WARD, plan, by=None, via="bench")
        t3 = time.perf_counter()
        if profiler:
            profiler.disable()
    times = {"read": t1 - t0, "plan": t2 - t1, "apply": t3 - t2, "total": t3 - t0}
    stored = db.execute("SELECT count(*) FROM residents").fetchone()[0]
    result = {"times": times, "rows": plan.rows, "errors": plan.error_rows,
              "warnings": plan.warning_count, "to_add": plan.to_add, "stored": stored,
              "households": counts["households_created"], "rss_before": rss_before,
              "rss_read": rss_read, "rss_plan": rss_plan,
              "rss": peak_rss_mb(), "encoding": table.encoding,
              "sql": db.conn.seconds if timed_sql else None}
    if profiler:
        import pstats
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(25)
        result["profile"] = out.getvalue()
    return result


def child_raw(csv_path: str, db_path: str) -> dict:
    from wardkit.db import connect

    db = connect(db_path)
    t0 = time.perf_counter()
    with open(csv_path, encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    t1 = time.perf_counter()
    db.execute("BEGIN IMMEDIATE")
    db["plain"].insert_all(rows)
    db.execute("COMMIT")
    t2 = time.perf_counter()
    return {"times": {"read": t1 - t0, "insert": t2 - t1, "total": t2 - t0},
            "rows": len(rows), "rss": peak_rss_mb()}


def child_breakdown(csv_path: str) -> dict:
    """µs per row of check_resident and of each validator it calls, on the file's rows."""
    from wardkit import names, text, validators
    from wardkit.residents import rules

    with open(csv_path, encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    today = date.today()
    raws = [{"full_name": r["Họ và tên"], "dob": r["Ngày sinh"],
             "gender": "male" if r["Giới tính"] == "Nam" else "female",
             "cccd": r["Số CCCD"], "phone": r["Số điện thoại"], "relation": "head",
             "needs_home_support": r["Cần hỗ trợ tại nhà"], "lawful_basis": "official_duty"}
            for r in rows]
    dobs = [validators.check_dob(r["dob"], today=today).value for r in raws]
    cases = {
        "rules.check_resident": lambda: [rules.check_resident(r, today=today) for r in raws],
        "validators.check_phone": lambda: [validators.check_phone(r["phone"]) for r in raws],
        "validators.check_dob": lambda: [validators.check_dob(r["dob"], today=today)
                                         for r in raws],
        "validators.check_cccd": lambda: [
            validators.check_cccd(r["cccd"], dob=d, gender=r["gender"], today=today)
            for r, d in zip(raws, dobs)],
        "names.check_name": lambda: [names.check_name(r["full_name"]) for r in raws],
        "text.fold (lru_cache cleared)": lambda: (text.fold.cache_clear(),
                                                  [text.fold(r["full_name"]) for r in raws]),
    }
    out = {}
    for name, run in cases.items():
        best = math.inf
        for _ in range(2):
            t = time.perf_counter()
            run()
            best = min(best, time.perf_counter() - t)
        out[name] = best / len(raws) * 1e6
    phones = sum(1 for r in raws if r["phone"])
    out["_rows"], out["_phones"] = len(raws), phones
    return out


# --- main --------------------------------------------------------------------------------

def run_child(*args) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--child", *map(str, args)],
                          capture_output=True, text=True, cwd=ROOT)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"child {args[0]} failed")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def machine() -> list[str]:
    from wardkit.db import sqlite3

    load = os.getloadavg()
    return [f"platform: {platform.platform()}",
            f"cpus:     {os.cpu_count()}   load average: {load[0]:.2f} {load[1]:.2f} "
            f"{load[2]:.2f}",
            f"python:   {platform.python_version()} ({platform.python_implementation()})",
            f"sqlite:   {sqlite3.sqlite_version} ({sqlite3.__name__})"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--dir", default=None, help="where the CSV and databases go")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--breakdown", action="store_true")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        kind, *rest = args.child
        if kind == "import":
            result = child_import(rest[0], rest[1], int(rest[2]), rest[3] == "1",
                                  rest[4] == "1")
        elif kind == "raw":
            result = child_raw(rest[0], rest[1])
        else:
            result = child_breakdown(rest[0])
        print(json.dumps(result))
        return 0

    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        tmp = Path(tmp)
        csv_path = tmp / "danh_sach_nhan_khau.csv"
        t = time.perf_counter()
        n_groups = write_csv(csv_path, args.rows, args.seed, date.today())
        generated = time.perf_counter() - t
        size_mb = csv_path.stat().st_size / 1e6
        for line in machine():
            print(line)
        print(f"file:     {csv_path.name}, {args.rows:,} rows, {size_mb:.1f} MB, "
              f"{n_groups} groups, UTF-8 with BOM, CRLF (generated in {generated:.1f} s)")
        print()
        imp = run_child("import", csv_path, tmp / "wardkit.db", n_groups,
                        int(args.profile), int(args.breakdown))
        raw = run_child("raw", csv_path, tmp / "raw.db")
        rows = imp["rows"]
        ti, tr = imp["times"], raw["times"]
        print(f"{'stage':<34} {'seconds':>8} {'rows/s':>9}")
        print("-" * 53)
        for label, seconds in (
                ("read_table (decode, header, count)", ti["read"]),
                ("plan_import (parse, check, plan)", ti["plan"]),
                ("apply_import (one transaction)", ti["apply"]),
                ("wardkit import, end to end", ti["total"]),
                ("raw: csv.DictReader", tr["read"]),
                ("raw: insert_all, one transaction", tr["insert"]),
                ("raw insert_all, end to end", tr["total"])):
            print(f"{label:<34} {seconds:8.2f} {rows / seconds:9,.0f}")
        print()
        print(f"stored: {imp['stored']:,} residents in {imp['households']:,} households; "
              f"{imp['errors']} rows with errors, {imp['warnings']} warnings")
        print(f"peak RSS: wardkit import {imp['rss']:.0f} MB (app and empty database "
              f"{imp['rss_before']:.0f} MB, after read_table {imp['rss_read']:.0f} MB, "
              f"after plan_import {imp['rss_plan']:.0f} MB); raw insert_all "
              f"{raw['rss']:.0f} MB")
        print(f"wardkit end to end / raw insert_all end to end: "
              f"{tr['total'] / ti['total']:.2f}")
        rate = rows / ti["total"]
        ok = rate >= GOAL_RATE and imp["rss"] <= GOAL_RSS_MB and imp["stored"] == imp["to_add"]
        print(f"\ngoal (>= {GOAL_RATE:,} rows/s end to end, peak RSS <= {GOAL_RSS_MB} MB): "
              f"{'MET' if ok else 'NOT MET'} ({rate:,.0f} rows/s, {imp['rss']:.0f} MB)")
        if args.breakdown:
            br = run_child("breakdown", csv_path)
            sql = imp["sql"]
            print(f"\napply_import: {ti['apply']:.2f} s, of which SQLite executemany "
                  f"{sum(sql.values()):.2f} s ("
                  + ", ".join(f"{t} {s:.2f}" for t, s in sql.items())
                  + f"); Python (bulk_create row building, plan tuples to dicts, audit) "
                  f"{ti['apply'] - sum(sql.values()):.2f} s")
            print(f"\nper-row cost outside the importer ({br['_rows']:,} rows, "
                  f"{br['_phones']:,} with a phone; best of 2):")
            for name, us in br.items():
                if not name.startswith("_"):
                    print(f"  {name:<32} {us:6.1f} µs/row")
        if args.profile:
            print("\n(--profile: the timings above include cProfile's overhead)\n"
                  + imp["profile"])
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
