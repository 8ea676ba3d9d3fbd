"""QR sheets: pages per second and peak memory of the group PDFs, against a naive baseline
measured in the same run.

    .venv/bin/python bench/bench_sheets.py [--page 500] [--cards 2000] [--big 2000]
                                           [--naive-cards-pages 125] [--workers 2]

Setup: a synthetic ward (wardkit.residents.fake: real name distribution, 1-6 people per
household) with one residential group per scenario; the links set (no watermark).
Scenarios, each in a fresh child process so its memory is its own:

- `naive page`: the whole group as ONE WeasyPrint document, every page drawn whole, with
  fresh QR codes on every page (SVG, encoded again per page) — the obvious way;
- `page`: what WardKit does (wardkit.sheets.jobs.render_group): chunks of 40 households
  rendered in worker processes, each page in two layers (the steps drawn once and stamped
  under every household's own block), parts joined with pypdf;
- `naive cards` and `cards`: four A6 cards per page; WardKit renders one page and repeats
  it (every card page is the same); the naive way renders every page
  (--naive-cards-pages of them: the naive way needs ~1.2 GB at 500 pages);
- `page --big`: the page layout for a 2,000-household group, to show memory stays flat.

Peak RSS is the largest sum of resident memory over the child and all its descendants
(the worker processes), sampled every 20 ms from /proc.

Goal (issue 5): >= 40 pages/s for `page`, >= 3x the naive rate for `cards`, peak RSS
<= 400 MB at any group size.
"""
import argparse
import base64
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

WARD = "00103"
TODAY = date(2026, 11, 23)


# --- memory of a process tree ---------------------------------------------------------------

def _tree(pid: int) -> list[int]:
    pids, stack = [], [pid]
    while stack:
        p = stack.pop()
        pids.append(p)
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    stack.extend(int(c) for c in f.read().split())
        except (FileNotFoundError, ProcessLookupError):
            pass
    return pids


def _rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


class PeakRSS:
    """Sample the summed RSS of this process and its descendants until stopped."""

    def __init__(self):
        self.peak_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        me = os.getpid()
        while not self._stop.is_set():
            self.peak_kb = max(self.peak_kb, sum(_rss_kb(p) for p in _tree(me)))
            self._stop.wait(0.02)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


# --- the child: one scenario -------------------------------------------------------------

LINKS = {
    "ihanoi_android_url": "https://play.google.com/store/apps/details?id=vn.bench.ihanoi",
    "ihanoi_ios_url": "https://apps.apple.com/vn/app/ihanoi-bench/id1234567890",
    "vneid_url": "https://vneid.gov.vn/bench-install",
    "declare_guide_url": "https://hanoi.gov.vn/bench-guide",
    "zalo_oa_url": "https://zalo.me/3499917305709217875",
    "police_name": "Công an phường Tây Hồ",
    "police_phone": "024.3823.0000",
}


def _seed(db_path: str, households: int):
    from wardkit.db import apply_migrations, connect, write
    from wardkit.groups import queries as group_queries
    from wardkit.residents import fake
    from wardkit.residents import queries as resident_queries
    from wardkit.sheets import queries as sheet_queries

    db = connect(db_path)
    apply_migrations(db)
    with write(db):
        group = group_queries.create_group(db, ward_code=WARD, name="Tổ dân phố số 7",
                                           cluster=None, target_adults=0, by=None)
        resident_queries.bulk_create(db, ward_code=WARD, by=None, items=fake.generate_ward(
            7, [group], households, today=TODAY))
        sheet_queries.save_settings(db, WARD, LINKS, by=None)
    return db, group


def run_scenario(name: str, households: int, workers: int, naive_cards_pages: int) -> dict:
    from wardkit import create_app
    from wardkit.sheets import documents, jobs, pdf, qr, queries

    tmp = tempfile.mkdtemp(prefix="bench-sheets-")
    db_path = os.path.join(tmp, "wardkit.db")
    db, group = _seed(db_path, households)
    app = create_app({"TESTING": True, "SECRET_KEY": "bench", "DATABASE": db_path})
    target = os.path.join(tmp, "out.pdf")
    ids = queries.group_household_ids(db, WARD, group["id"])
    context = {"ward_name": "Phường Tây Hồ", "group_name": group["name"], "sheet_locale": "vi"}
    with app.test_request_context(), PeakRSS() as rss:
        settings = queries.effective_settings(db, WARD)
        start = time.perf_counter()
        if name.startswith("naive"):
            # Fresh codes on every page: encoded again (uncached), as SVG, unique per page.
            def fresh(url, n):
                svg = qr.svg.__wrapped__(url) + f"<!-- {n} -->"
                return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()

            if name == "naive page":
                sheets = queries.sheet_households(db, WARD, ids, today=TODAY)
                html_parts = []
                for n, household in enumerate(sheets):
                    household["qr"] = fresh(documents.household_url("http://wardkit.lan/",
                                                                    household["reference"]), n)
                    codes = {k: (v and {**v, "src": fresh(v["link"], n)})
                             for k, v in documents.step_codes(settings).items()}
                    html_parts.append((household, codes))
                # One document: the template per household with that page's own codes.
                from flask import render_template
                body = "".join(render_template("sheets/_page.html", household=h, codes=c,
                                               settings=settings, part="full", **context)
                               for h, c in html_parts)
                html = documents.document_html("page", settings=settings, households=[],
                                               **context).replace("</body>", body + "</body>")
                pages = pdf.render(html, target)
            else:  # naive cards
                from flask import render_template
                body = []
                for n in range(naive_cards_pages):
                    codes = {k: (v and {**v, "src": fresh(v["link"], n)})
                             for k, v in documents.step_codes(settings).items()}
                    body.append(render_template("sheets/_cards_page.html", codes=codes,
                                                settings=settings, page=n, **context))
                html = documents.document_html("cards", settings=settings, card_pages=0,
                                               **context).replace("</body>",
                                                                  "".join(body) + "</body>")
                pages = pdf.render(html, target)
        else:
            layout = "cards" if name == "cards" else "page"
            pages = jobs.render_group(db, WARD, layout, ids, target, base_url="http://wardkit.lan/",
                                      settings=settings, workers=workers, tmp_dir=tmp, **context)
        seconds = time.perf_counter() - start
    size = os.path.getsize(target)
    return {"scenario": name, "households": households, "pages": pages,
            "seconds": round(seconds, 2), "pages_per_s": round(pages / seconds, 1),
            "peak_rss_mb": round(rss.peak_kb / 1024), "pdf_mb": round(size / 2**20, 1)}


# --- the parent --------------------------------------------------------------------------

def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--page", type=int, default=500, help="households, page layout")
    parser.add_argument("--cards", type=int, default=2000, help="households, cards layout")
    parser.add_argument("--big", type=int, default=2000,
                        help="households, page layout, memory check (0 to skip)")
    parser.add_argument("--naive-cards-pages", type=int, default=125)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--scenario", help=argparse.SUPPRESS)
    parser.add_argument("--households", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.scenario:
        print(json.dumps(run_scenario(args.scenario, args.households, args.workers,
                                      args.naive_cards_pages)))
        return
    plan = [("naive page", args.page), ("page", args.page),
            ("naive cards", args.naive_cards_pages * 4), ("cards", args.cards)]
    if args.big:
        plan.append(("page", args.big))
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}, workers {args.workers}")
    results = []
    for name, households in plan:
        out = subprocess.run(
            [sys.executable, __file__, "--scenario", name, "--households", str(households),
             "--workers", str(args.workers), "--naive-cards-pages",
             str(args.naive_cards_pages)], check=True, capture_output=True, text=True)
        result = json.loads(out.stdout.strip().splitlines()[-1])
        results.append(result)
        print(f"{result['scenario']:<12} {result['households']:>5} households "
              f"{result['pages']:>5} pages {result['seconds']:>7.2f} s "
              f"{result['pages_per_s']:>7.1f} pages/s  peak RSS {result['peak_rss_mb']:>5} MB"
              f"  PDF {result['pdf_mb']} MB", flush=True)
    naive_page, page, naive_cards, cards = results[:4]
    print(f"page: {page['pages_per_s'] / naive_page['pages_per_s']:.1f}x naive "
          f"(goal >= 40 pages/s: {'met' if page['pages_per_s'] >= 40 else 'NOT met'})")
    print(f"cards: {cards['pages_per_s'] / naive_cards['pages_per_s']:.0f}x naive "
          f"(goal >= 3x: {'met' if cards['pages_per_s'] >= 3 * naive_cards['pages_per_s'] else 'NOT met'})")
    worst = max(r["peak_rss_mb"] for r in results if not r["scenario"].startswith("naive"))
    print(f"peak RSS of WardKit's runs: {worst} MB (goal <= 400 MB: "
          f"{'met' if worst <= 400 else 'NOT met'})")


if __name__ == "__main__":
    main()
