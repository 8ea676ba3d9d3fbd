"""Durable single-record commits per second through `wardkit.db.write()`.

Run from the repository root:

    .venv/bin/python bench/bench_commits.py [--seconds 3] [--count N] [--dir PATH]

Every scenario gets its own freshly created database file in a temporary directory.
Every thread opens its own connection (connections are never shared between threads),
waits on a barrier, then commits one record per transaction until the time is up (or
until it has made `--count` commits; a run is always capped at `--seconds` x 10 + 10 s).

Scenarios:

* wardkit write(), 1 and 8 threads: `connect()` (WAL, synchronous=FULL, busy_timeout,
  foreign_keys, secure_delete) on a migrated database; each commit is
  `with write(db):` SELECT the ward, check the group name is free, insert one
  residential group (the app's own read-then-write path, `groups.queries`).
* raw IMMEDIATE, 1 and 8 threads (the baseline): `pysqlite3.dbapi2` on a plain table with
  the same journal/sync pragmas, `BEGIN IMMEDIATE; INSERT; COMMIT`.
* raw DEFERRED read-then-write, 8 threads (informative): `BEGIN; SELECT; INSERT; COMMIT`.
  A deferred transaction that has read cannot upgrade to a writer once another
  connection has committed, and SQLite fails it at once with "database is locked"
  (busy_timeout does not help). Those failures are counted, rolled back, not retried.

Columns: commits made and commits/s (successful ones only), latency per commit (p50, p95,
p99, max, in ms, from BEGIN to the end of COMMIT, lock waits included), "database is
locked" errors, WardKit's rate over the raw IMMEDIATE rate with the same thread count, and
the fewest-most commits made by a single thread (how fairly the write lock was shared).

Goal: >= 1,000 commits/s with 8 threads and 0 "database is locked" through write().
"""
import argparse
import os
import pathlib
import platform
import sys
import tempfile
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import pysqlite3.dbapi2 as sqlite3  # noqa: E402

from wardkit.db import apply_migrations, connect, write  # noqa: E402
from wardkit.groups import queries  # noqa: E402

WARD = "00103"
GOAL_RATE = 1000.0
GOAL_THREADS = 8


# --- one commit per scenario -------------------------------------------------------------

def wardkit_setup(path):
    db = connect(path)
    apply_migrations(db)
    db.close()


def wardkit_open(path):
    return connect(path)


def wardkit_commit(db, tid, i):
    name = f"bench {tid}-{i}"
    with write(db):
        ward = db.execute("SELECT name FROM wards WHERE code = ?", [WARD]).fetchone()
        assert ward is not None
        if queries.name_taken(db, WARD, name):
            raise AssertionError(f"name {name} already taken")
        queries.insert_group(db, ward_code=WARD, name=name, cluster=None,
                             target_adults=0, by=None)


def wardkit_count(path):
    db = connect(path)
    try:
        return db.execute("SELECT count(*) FROM residential_groups").fetchone()[0]
    finally:
        db.close()


def raw_connect(path):
    conn = sqlite3.connect(path, isolation_level=None, timeout=5.0, check_same_thread=False)
    conn.execute("PRAGMA busy_timeout=5000")
    mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
    assert mode.lower() == "wal", mode
    conn.execute("PRAGMA synchronous=FULL")
    return conn


def raw_setup(path):
    conn = raw_connect(path)
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, thread INTEGER NOT NULL, "
                 "seq INTEGER NOT NULL, payload TEXT NOT NULL)")
    conn.close()


PAYLOAD = "x" * 200  # about the size of one residential group row


def raw_immediate_commit(conn, tid, i):
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute("INSERT INTO t (thread, seq, payload) VALUES (?, ?, ?)", (tid, i, PAYLOAD))
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def raw_deferred_commit(conn, tid, i):
    conn.execute("BEGIN")  # DEFERRED: the read below takes a snapshot, not the write lock
    try:
        conn.execute("SELECT max(id) FROM t").fetchone()
        conn.execute("INSERT INTO t (thread, seq, payload) VALUES (?, ?, ?)", (tid, i, PAYLOAD))
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def raw_count(path):
    conn = raw_connect(path)
    try:
        return conn.execute("SELECT count(*) FROM t").fetchone()[0]
    finally:
        conn.close()


SCENARIOS = {
    # key: (label, setup, open, commit, count)
    "raw": ("raw IMMEDIATE", raw_setup, raw_connect, raw_immediate_commit, raw_count),
    "raw_deferred": ("raw DEFERRED r-then-w", raw_setup, raw_connect, raw_deferred_commit,
                     raw_count),
    "wardkit": ("wardkit write()", wardkit_setup, wardkit_open, wardkit_commit, wardkit_count),
}


# --- running -----------------------------------------------------------------------------

def is_locked(exc):
    return isinstance(exc, sqlite3.OperationalError) and "database is locked" in str(exc)


def run_scenario(key, threads, seconds, count, parent):
    label, setup, open_conn, commit, count_rows = SCENARIOS[key]
    with tempfile.TemporaryDirectory(prefix=f"bench-{key}-{threads}-", dir=parent) as tmp:
        path = os.path.join(tmp, "bench.db")
        setup(path)
        start_box = [0.0]  # set by the barrier's action, just as every thread is released
        barrier = threading.Barrier(
            threads + 1, action=lambda: start_box.__setitem__(0, time.perf_counter()))
        results = [None] * threads
        cap = seconds * 10 + 10 if count else seconds

        def worker(tid):
            latencies, locked, other = [], 0, []
            try:
                conn = open_conn(path)
            except BaseException:
                barrier.abort()  # release the others instead of leaving them waiting
                results[tid] = (latencies, locked, ["could not open a connection"])
                raise
            try:
                barrier.wait()
                deadline = start_box[0] + cap
                i = 0
                while True:
                    if count and i >= count:
                        break
                    t0 = time.perf_counter()
                    if t0 >= deadline:
                        break
                    try:
                        commit(conn, tid, i)
                    except Exception as exc:  # noqa: BLE001 - counted, never retried
                        if is_locked(exc):
                            locked += 1
                        else:
                            other.append(repr(exc))
                            break
                    else:
                        latencies.append(time.perf_counter() - t0)
                    i += 1
            finally:
                conn.close()
                results[tid] = (latencies, locked, other)

        pool = [threading.Thread(target=worker, args=(t,)) for t in range(threads)]
        for t in pool:
            t.start()
        barrier.wait()
        for t in pool:
            t.join()
        elapsed = time.perf_counter() - start_box[0]

        latencies = sorted(x for r in results for x in r[0])
        locked = sum(r[1] for r in results)
        per_thread = [len(r[0]) for r in results]
        other = [e for r in results for e in r[2]]
        rows = count_rows(path)
    commits = len(latencies)
    if rows != commits:
        other.append(f"row count {rows} != commits {commits}")
    return {
        "key": key, "label": label, "threads": threads, "commits": commits,
        "elapsed": elapsed, "rate": commits / elapsed if elapsed else 0.0,
        "p50": percentile(latencies, 50) * 1000, "p95": percentile(latencies, 95) * 1000,
        "p99": percentile(latencies, 99) * 1000,
        "max": (latencies[-1] * 1000) if latencies else 0.0,
        "locked": locked, "other": other,
        "fair": f"{min(per_thread)}-{max(per_thread)}",  # fewest-most commits by one thread
    }


def percentile(sorted_values, pct):
    """Nearest-rank percentile of an ascending list (0.0 when empty)."""
    if not sorted_values:
        return 0.0
    rank = max(1, -(-pct * len(sorted_values) // 100))  # ceil
    return sorted_values[int(rank) - 1]


# --- machine -----------------------------------------------------------------------------

def filesystem_of(path):
    """Return 'type (device on mountpoint)' of the mount holding `path` (Linux), or '?'."""
    path = os.path.realpath(path)
    best = None
    try:
        with open("/proc/mounts", encoding="utf-8") as f:
            for line in f:
                dev, mnt, fstype = line.split()[:3]
                mnt = mnt.replace("\\040", " ")
                if path == mnt or path.startswith(mnt.rstrip("/") + "/"):
                    if best is None or len(mnt) >= len(best[1]):
                        best = (dev, mnt, fstype)
    except OSError:
        return "?"
    return f"{best[2]} ({best[0]} on {best[1]})" if best else "?"


def machine(parent):
    tmp = parent or tempfile.gettempdir()
    return [
        f"platform: {platform.platform()}",
        f"cpus:     {os.cpu_count()}",
        f"python:   {platform.python_version()} ({platform.python_implementation()})",
        f"sqlite:   {sqlite3.sqlite_version} (pysqlite3.dbapi2)",
        f"temp dir: {tmp} on {filesystem_of(tmp)}",
    ]


# --- main --------------------------------------------------------------------------------

def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0,
                        help="duration of each scenario (default 3)")
    parser.add_argument("--count", type=int, default=0,
                        help="commits per thread instead of a duration (capped in time)")
    parser.add_argument("--dir", default=None,
                        help="parent directory of the temporary databases (default: TMPDIR)")
    args = parser.parse_args(argv)

    for line in machine(args.dir):
        print(line)
    mode = (f"{args.count} commits per thread" if args.count
            else f"{args.seconds:g} s per scenario")
    print(f"run:      {mode}, fresh database file per scenario, one connection per thread")
    print()

    plan = [("raw", 1), ("wardkit", 1), ("raw", 8), ("wardkit", 8), ("raw_deferred", 8)]
    results = [run_scenario(k, n, args.seconds, args.count, args.dir) for k, n in plan]
    raw_rate = {r["threads"]: r["rate"] for r in results if r["key"] == "raw"}

    header = (f"{'scenario':<22} {'threads':>7} {'commits':>8} {'commits/s':>10} "
              f"{'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'max ms':>7} {'locked':>7} "
              f"{'vs raw':>7} {'per thread':>11}")
    print(header)
    print("-" * len(header))
    for r in results:
        ratio = (f"{r['rate'] / raw_rate[r['threads']]:.2f}"
                 if r["key"] == "wardkit" and raw_rate.get(r["threads"]) else "-")
        print(f"{r['label']:<22} {r['threads']:>7} {r['commits']:>8} {r['rate']:>10.0f} "
              f"{r['p50']:>7.2f} {r['p95']:>7.2f} {r['p99']:>7.1f} {r['max']:>7.0f} "
              f"{r['locked']:>7} {ratio:>7} {r['fair']:>11}")
    print()

    failed = False
    for r in results:
        for err in r["other"]:
            failed = True
            print(f"ERROR in {r['label']} x{r['threads']}: {err}")
    target = next(r for r in results if r["key"] == "wardkit" and r["threads"] == GOAL_THREADS)
    met = target["rate"] >= GOAL_RATE and target["locked"] == 0 and not target["other"]
    print(f"goal (>= {GOAL_RATE:,.0f} commits/s with {GOAL_THREADS} threads and 0 "
          f"'database is locked' through write()): {'MET' if met else 'NOT MET'} "
          f"({target['rate']:,.0f} commits/s, {target['locked']} locked)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
