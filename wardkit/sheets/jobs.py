"""Batch PDFs in the background, with progress the print page polls (a job of
wardkit/jobs.py; docs/ARCHITECTURE.md#background-jobs).

A batch's files are in `SHEETS_DIR` (default `instance/sheets/`): `<token>.json` (whose
job: user, ward, group, layout), `<token>.status` (parts done of total), `<token>.lock`
and, when done, `<token>.pdf`. The PDF holds residents' first names and addresses, so
everything a job left is deleted JOB_TTL after its last change (with any
`wardkit-sheets-*` folder of parts a killed server left).
"""
import os
import pathlib
import secrets

from .. import clock
from ..db import connect
from ..jobs import Jobs
from . import documents, pdf, queries

JOB_TTL = 30 * 60        # seconds a finished PDF (and its status) is kept
# States: queued, rendering (`done` parts of `total`), then done (with `pages`) or
# failed; "missing" once swept.
JOBS = Jobs(name="sheets", setting="SHEETS_DIR", folder="sheets", ttl=JOB_TTL,
            running=("queued", "rendering"))


def start(db, ward_code: str, *, group: dict, layout: str, household_ids: list[str],
          base_url: str, locale: str, ward_name: str, by: str,
          qr_warning: bool = False) -> str:
    """Start rendering the group's sheets in a background thread and audit the print
    (cards name no household: not audited); return the job token. `qr_warning` marks
    every sheet as a test copy (see documents.qr_base)."""
    JOBS.sweep()
    meta = {"user_id": by, "ward_code": ward_code, "group_id": group["id"],
            "group_name": group["name"], "layout": layout, "created_at": clock.now_iso()}
    token = JOBS.create(meta)
    # Parts to render (a household too big for the stamped block adds one; the bar
    # then just ends a little later than it promised).
    total = (1 if layout == "cards" else
             -(-len(household_ids) // documents.CHUNK_HOUSEHOLDS[layout]))
    JOBS.start(token, _run, meta, household_ids, total, base_url, ward_name, locale,
               qr_warning, locale=locale, total=total)
    if layout != "cards":
        queries.record_sheets_shown(db, ward_code, household_ids, by=by, preview=False,
                                    layout=layout, group_id=group["id"])
    return token


def pdf_path(token: str) -> pathlib.Path:
    """Return where a finished job's PDF is."""
    return JOBS.path(token, "pdf")


def _run(app, token: str, meta: dict, household_ids: list[str], total: int, base_url: str,
         ward_name: str, locale: str, qr_warning: bool) -> None:
    """Render the job's PDF with a connection of its own, writing progress to its
    status; the PDF appears (atomically) only when complete."""
    directory = JOBS.directory(app)
    target = directory / f"{token}.pdf"
    partial = directory / f"{token}.pdf.part"
    db = connect(app.config["DATABASE"])
    try:
        JOBS.set_status(token, "rendering", app, done=0, total=total)
        pages = render_group(
            db, meta["ward_code"], meta["layout"], household_ids, partial,
            base_url=base_url, ward_name=ward_name, group_name=meta["group_name"],
            sheet_locale=locale, qr_warning=qr_warning,
            workers=app.config.get("SHEETS_WORKERS"),
            progress=lambda done: JOBS.set_status(token, "rendering", app, done=done,
                                                  total=total),
            tmp_dir=str(directory))
        fd = os.open(partial, os.O_RDONLY)
        os.fchmod(fd, 0o600)
        os.close(fd)
        os.replace(partial, target)
        JOBS.set_status(token, "done", app, done=total, total=total, pages=pages)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise   # logged, and the job marked failed, by Jobs
    finally:
        db.close()


def render_group(db, ward_code: str, layout: str, household_ids: list[str], target, *,
                 base_url: str, ward_name: str, group_name: str, sheet_locale: str,
                 workers: int | None = None, progress=None, tmp_dir: str | None = None,
                 settings: dict | None = None, qr_warning: bool = False) -> int:
    """Write the PDF of a group's sheets in `layout` to `target` (a path); return the page
    count. Cards are one page rendered once and repeated (every card page is the same);
    the other layouts go through `pdf.render_batch` in chunks. `qr_warning` prints the
    test-copy watermark (the household codes hold no ward-network address)."""
    settings = settings or queries.effective_settings(db, ward_code)
    context = {"settings": settings, "ward_name": ward_name, "group_name": group_name,
               "sheet_locale": sheet_locale, "qr_warning": qr_warning}
    if layout == "cards":
        with_tmp = pathlib.Path(tmp_dir or "/tmp") / f"cards-{secrets.token_hex(8)}.pdf"
        try:
            pdf.render(documents.document_html("cards", card_pages=1, **context),
                       str(with_tmp))
            pages = pdf.join([(str(with_tmp), False)], target,
                             repeat=documents.card_page_count(len(household_ids)))
        finally:
            with_tmp.unlink(missing_ok=True)
        if progress:
            progress(1)
        return pages
    today = clock.today()

    def fetch(ids):
        return documents.with_codes(
            queries.sheet_households(db, ward_code, ids, today=today), base_url)

    base = documents.base_html(**context) if layout == "page" else None
    if len(household_ids) <= documents.CHUNK_HOUSEHOLDS[layout]:
        workers = 1  # one part: starting worker processes would cost more than it saves
    return pdf.render_batch(documents.chunks(layout, household_ids, fetch, **context),
                            target, base_html=base, workers=workers, progress=progress,
                            tmp_dir=tmp_dir)
