"""Page weight on the wire: bytes of the main pages and static assets sent raw, gzip'd
and brotli'd (as the app sends them, Flask-Compress in wardkit/assets.py), and the CPU
time one compression of the Today page costs, in the demo ward of `flask seed-demo`.

    .venv/bin/python bench/bench_transfer.py [--households 2000] [--repeat 200]

Setup: a temporary database, migrated and seeded with the demo ward (the same seed as
`make run`); the demo users get a known password; pages are fetched with the Flask test
client, each three times (Accept-Encoding identity, gzip, br), and the compressed bodies
are checked to decompress to a page of the same length.
"""
import argparse
import gzip
import os
import platform
import re
import sys
import tempfile
import timeit
from pathlib import Path

import brotli

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from wardkit import create_app  # noqa: E402
from wardkit.auth.accounts import set_user_password  # noqa: E402
from wardkit.db import apply_migrations, connect, sqlite3  # noqa: E402
from wardkit.demo import seed_demo  # noqa: E402

PASSWORD = "bench transfer passphrase"
PAGES = {"demo.officer": ["/today", "/residents", "/households/{hid}"],
         "demo.leader": ["/today", "/progress", "/declarations"]}
ASSETS = ["app.css", "htmx-2.0.11.min.js", "favicon.svg"]


def login(client, username):
    page = client.get("/login").text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    r = client.post("/login", data={"username": username, "password": PASSWORD,
                                    "csrf_token": token})
    assert r.status_code == 303, r.status_code


def sizes(client, url):
    """Return (raw, gzip, br) byte counts of `url`, checking each body decodes back."""
    raw = client.get(url, headers={"Accept-Encoding": "identity"})
    gz = client.get(url, headers={"Accept-Encoding": "gzip, deflate"})
    br = client.get(url, headers={"Accept-Encoding": "br"})
    assert raw.status_code == 200, (url, raw.status_code)
    assert gz.headers.get("Content-Encoding") == "gzip", url
    assert br.headers.get("Content-Encoding") == "br", url
    # Pages differ only in their signed CSRF token, which has the same length.
    assert len(gzip.decompress(gz.data)) == len(raw.data), url
    assert len(brotli.decompress(br.data)) == len(raw.data), url
    return len(raw.data), len(gz.data), len(br.data)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="wardkit-transfer-")
    path = os.path.join(tmp, "demo.db")
    app = create_app({"DATABASE": path})
    with app.app_context():
        db = connect(path)
        apply_migrations(db)
        seed_demo(db, households=args.households)
        for username in PAGES:
            set_user_password(db, username=username, password=PASSWORD)
        hid = db.execute("SELECT id FROM households ORDER BY rowid LIMIT 1").fetchone()[0]
    print(f"platform: {platform.platform()}")
    print(f"python:   {platform.python_version()}; sqlite {sqlite3.sqlite_version}")
    print(f"ward:     demo, {args.households} households")
    print()
    print(f"{'user':13} {'page':20} {'raw':>8} {'gzip':>7} {'br':>7} {'gzip/raw':>8}")
    today_raw = None
    for username, urls in PAGES.items():
        client = app.test_client()
        login(client, username)
        for url in urls:
            url = url.format(hid=hid)
            raw, gz, br = sizes(client, url)
            label = url if len(url) <= 20 else url[:17] + "..."
            print(f"{username:13} {label:20} {raw:>8,} {gz:>7,} {br:>7,} {gz / raw:>8.2f}")
            if url == "/today" and username == "demo.officer":
                today_raw = client.get(url, headers={"Accept-Encoding": "identity"}).data
    client = app.test_client()
    for name in ASSETS:
        raw = (ROOT / "static" / name).read_bytes()
        r = client.get(f"/static/{name}", headers={"Accept-Encoding": "gzip"})
        gz = len(r.data) if r.headers.get("Content-Encoding") == "gzip" else len(raw)
        b = client.get(f"/static/{name}", headers={"Accept-Encoding": "br"})
        br = len(b.data) if b.headers.get("Content-Encoding") == "br" else len(raw)
        print(f"{'(static)':13} {name:20} {len(raw):>8,} {gz:>7,} {br:>7,} "
              f"{gz / len(raw):>8.2f}")
    n = args.repeat
    g_ms = timeit.timeit(lambda: gzip.compress(today_raw, 6), number=n) / n * 1000
    b_ms = timeit.timeit(lambda: brotli.compress(today_raw, quality=4, lgwin=22),
                         number=n) / n * 1000
    print()
    print(f"compressing the officer's Today page ({len(today_raw):,} bytes), mean of {n}: "
          f"gzip level 6 {g_ms:.2f} ms, brotli quality 4 {b_ms:.2f} ms")


if __name__ == "__main__":
    main()
