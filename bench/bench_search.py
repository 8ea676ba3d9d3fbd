"""Resident search: p50/p95 of the FTS5 query function and of `POST /residents/search`
over a realistic 100,000-resident ward, against a `LIKE '%…%'` scan in the same run, and
of address terms ("81 Hồng Hà", "Số 96, Đặng Thai Mai") through the query function.

    .venv/bin/python bench/bench_search.py [--residents 100000] [--queries 1000] [--seed 7]

Goal (issue 3): p95 <= 20 ms for the query function, <= 50 ms over HTTP.
"""
import argparse
import os
import platform
import random
import re
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from wardkit import create_app  # noqa: E402
from wardkit.db import apply_migrations, connect, sqlite3, write  # noqa: E402
from wardkit.groups import queries as group_queries  # noqa: E402
from wardkit.residents import fake, queries  # noqa: E402
from wardkit.residents.search import search  # noqa: E402
from wardkit.text import fold  # noqa: E402

WARD = "00103"
TODAY = date(2026, 11, 23)


def percentile(values, p):
    values = sorted(values)
    k = max(0, min(len(values) - 1, round(p / 100 * (len(values) - 1))))
    return values[k]


def seed(db, residents_wanted, rng_seed):
    """Fill the ward with about `residents_wanted` residents; return the resident count."""
    households = int(residents_wanted / 3.32) + 1
    with write(db):
        groups = [group_queries.create_group(db, ward_code=WARD, name=f"Tổ dân phố số {k}",
                                             cluster=None, target_adults=0, by=None)
                  for k in range(1, households // 400 + 2)]
        queries.bulk_create(db, ward_code=WARD, by=None,
                            items=fake.generate_ward(rng_seed, groups, households, today=TODAY))
    return db.execute("SELECT count(*) FROM residents").fetchone()[0]


def make_queries(db, n, rng):
    """Return `n` search terms as officers type them: folded prefixes of 1-3 words of a
    real name (e.g. "ng van hun", "tran t"), and 10% last-4-digits of a CCCD or phone."""
    names = [r[0] for r in db.execute("SELECT name_folded FROM residents")]
    numbers = [r[0] for r in db.execute(
        "SELECT coalesce(cccd, phone) FROM residents WHERE coalesce(cccd, phone) IS NOT NULL")]
    terms = []
    for _ in range(n):
        if rng.random() < 0.1:
            terms.append(rng.choice(numbers)[-4:])
            continue
        words = rng.choice(names).split()
        start = rng.randrange(len(words))
        chosen = words[start:start + rng.randint(1, 3)]
        terms.append(" ".join(w[:rng.randint(min(2, len(w)), len(w))] for w in chosen))
    return terms


def make_address_queries(db, n, rng):
    """Return `n` address terms of real households, written the ways officers type them:
    "81 hong ha", "Số 81, Hồng Hà", "81 ngõ 34 hồng hà", "ngõ 34 ngách 5" (the lane)."""
    households = list(db.execute("SELECT house_number, lane, street FROM households"))
    terms = []
    for number, lane, street in rng.sample(households, n):
        form = rng.choice(["{n} {s}", "Số {n}, {s}", "{n} {l} {s}", "{l}"])
        if not lane:
            form = form.replace(" {l}", "").replace("{l}", "{n} {s}")
        term = form.format(n=number, l=lane, s=street)
        terms.append(fold(term) if rng.random() < 0.5 else term)
    return terms


def like_scan(db, term):
    """The naive baseline: a substring scan of folded names (and digits) in the ward."""
    tokens = re.findall(r"\w+", fold(term))
    pattern = "%" + "%".join(tokens) + "%"
    return list(db.query(
        """SELECT id, full_name FROM residents
           WHERE ward_code = :ward AND deleted_at IS NULL
             AND (name_folded LIKE :p OR cccd LIKE :p OR phone LIKE :p)
           ORDER BY sort_key LIMIT 51""",
        {"ward": WARD, "p": pattern}))


def timed(fn, terms):
    times, hits = [], 0
    for term in terms:
        t = time.perf_counter()
        result = fn(term)
        times.append((time.perf_counter() - t) * 1000)
        hits += bool(result)
    return times, hits


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--residents", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    tmp = tempfile.mkdtemp(prefix="wardkit-bench-search-")
    path = os.path.join(tmp, "wardkit.db")
    db = connect(path)
    apply_migrations(db)
    t = time.perf_counter()
    count = seed(db, args.residents, args.seed)
    seeded = time.perf_counter() - t
    terms = make_queries(db, args.queries, random.Random(args.seed))
    address_terms = make_address_queries(db, args.queries // 5, random.Random(args.seed))

    # Warm the page cache the same way for every contender.
    for term in terms[:50]:
        search(db, WARD, term)
        like_scan(db, term)

    fts_times, fts_hits = timed(lambda q: search(db, WARD, q)[0], terms)
    address_times, address_hits = timed(lambda q: search(db, WARD, q)[0],
                                        address_terms)
    like_times, like_hits = timed(lambda q: like_scan(db, q), terms)

    app = create_app({"DATABASE": path, "SECRET_KEY": "bench",
                      "PASSWORD_HASH_METHOD": "scrypt:1024:8:1", "WTF_CSRF_ENABLED": False})
    from werkzeug.security import generate_password_hash
    from wardkit.auth import queries as auth_queries
    auth_queries.create_user(db, username="bench", display_name="Bench", role="officer",
                             ward_code=WARD, password_hash=generate_password_hash(
                                 "bench password", method="scrypt:1024:8:1"))
    client = app.test_client()
    client.post("/login", data={"username": "bench", "password": "bench password"})
    headers = {"HX-Request": "true", "HX-Target": "residents-results"}

    def http(term):
        r = client.post("/residents/search", data={"q": term}, headers=headers)
        assert r.status_code == 200, r.status_code
        return 'class="result"' in r.text

    for term in terms[:20]:
        http(term)
    http_times, http_hits = timed(http, terms)

    print(f"platform: {platform.platform()}")
    print(f"cpus:     {os.cpu_count()}")
    print(f"python:   {platform.python_version()} ({platform.python_implementation()})")
    print(f"sqlite:   {sqlite3.sqlite_version}")
    print(f"ward:     {count:,} residents (seeded in {seeded:.1f} s), {len(terms):,} queries "
          f"(seed {args.seed})")
    print()
    print(f"{'path':<34} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'mean ms':>8} "
          f"{'hits':>6}")
    print("-" * 78)
    rows = [("search (FTS5, folded)", fts_times, fts_hits),
            ("LIKE '%…%' scan (baseline)", like_times, like_hits),
            ("POST /residents/search (HTTP)", http_times, http_hits),
            (f"search, {len(address_terms)} addresses", address_times, address_hits)]
    for label, times, hits in rows:
        print(f"{label:<34} {percentile(times, 50):8.2f} {percentile(times, 95):8.2f} "
              f"{max(times):8.2f} {statistics.mean(times):8.2f} {hits:6d}")
    print()
    ratio = percentile(like_times, 95) / percentile(fts_times, 95)
    print(f"FTS p95 is {ratio:.1f}x faster than the LIKE scan's p95")
    q95, h95 = percentile(fts_times, 95), percentile(http_times, 95)
    met = q95 <= 20 and h95 <= 50
    print(f"goal (p95 <= 20 ms query, <= 50 ms HTTP): {'MET' if met else 'NOT MET'} "
          f"({q95:.1f} ms, {h95:.1f} ms)")


if __name__ == "__main__":
    main()
