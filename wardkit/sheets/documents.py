"""What goes on a sheet: the QR codes of the configured links, the household's own code,
and the HTML of a printable document (whole, or in chunks for a batch PDF).

The same template (`templates/sheets/document.html`) makes the PDF and the on-screen
preview; only the stylesheet link differs. Runs in an app context (Jinja, Babel).
"""
import ipaddress
import logging
import math
from urllib.parse import urlsplit

from flask import current_app, render_template, request

from . import qr

log = logging.getLogger(__name__)

LAYOUTS = ("page", "cards", "large")
HOUSEHOLD_LAYOUTS = ("page", "large")   # cards carry no household data
CARDS_PER_PAGE = 4
# Households per PDF part: big enough that WeasyPrint's per-document start-up is small
# beside the layout work, small enough that a part's layout stays well under 100 MB.
CHUNK_HOUSEHOLDS = {"page": 40, "large": 15}
# A household's block (address, names, checklist) has a fixed height on the one-page
# sheet; this many adults fit in it. Bigger households get a page drawn whole.
MAX_STAMPED_ADULTS = 7


def _code(url: str | None) -> dict | None:
    return {"src": qr.png_data_uri(url), "link": qr.display_link(url)} if url else None


def step_codes(settings: dict) -> dict:
    """Return the QR codes of the steps' links (`android`, `ios`, `vneid`, `guide` — None
    when no guide link is set — and `zalo`), each `{"src": data URI, "link": printed}`."""
    return {
        "android": _code(settings["ihanoi_android_url"]),
        "ios": _code(settings["ihanoi_ios_url"]),
        "vneid": _code(settings["vneid_url"]),
        "guide": _code(settings.get("declare_guide_url")),
        "zalo": _code(settings["zalo_oa_url"]),
    }


def household_url(base_url: str, reference: str) -> str:
    """Return what a household's QR code holds: `<base>/r/<reference>`, the opaque token
    only (docs/ARCHITECTURE.md#personal-data)."""
    return f"{base_url.rstrip('/')}/r/{reference}"


def is_loopback_url(url: str) -> bool:
    """Return True when `url`'s host is this computer only (localhost, 127.0.0.0/8, ::1,
    0.0.0.0): a tablet that scans it opens itself, not WardKit."""
    try:
        host = (urlsplit(url).hostname or "").rstrip(".").lower()
    except ValueError:
        return False
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


def qr_base(setting: str | None, configured: str | None, request_root: str) -> tuple[str, bool]:
    """Return `(base, warn)`: the address household codes hold and whether the sheets
    must say their codes will not work.

    The ward's setting (settings page) wins, then the server's PUBLIC_URL
    (WARDKIT_PUBLIC_URL). With neither, the codes hold the address this page was opened
    with (right if a tablet opened it over the ward network, useless if it was
    http://127.0.0.1), and `warn` is True either way: nobody has said which address the
    tablets reach. A loopback address warns wherever it came from."""
    base = (setting or "").strip() or _http_url(configured)
    if not base:
        return request_root, True
    return base, is_loopback_url(base)


def _http_url(value) -> str:
    """Return `value` when it is an http(s) address with a host, else "" (a mistyped
    WARDKIT_PUBLIC_URL such as "192.168.1.20:5000" must not be printed as a code that a
    phone reads as plain text)."""
    value = str(value or "").strip()
    try:
        parts = urlsplit(value)
        ok = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:
        ok = False
    if value and not ok and value not in _reported:
        _reported.add(value)  # once per process, not on every page that checks it
        log.warning("PUBLIC_URL %r is not an http(s) address; ignored", value[:100])
    return value if ok else ""


_reported: set[str] = set()


def codes_lead_nowhere(settings: dict) -> bool:
    """Return True when household codes printed now, in this request, would lead nowhere
    (the ward's `settings` and the server name no ward-network address, or a loopback
    one; see `qr_base`): the print pages and the settings page then warn."""
    return qr_base(settings.get("public_url"), current_app.config.get("PUBLIC_URL"),
                   request.url_root)[1]


def with_codes(households: list[dict], base_url: str) -> list[dict]:
    """Return the households with `qr` (the data URI of their household code) added."""
    return [{**h, "qr": qr.png_data_uri(household_url(base_url, h["reference"]),
                                         best_mask=False)}
            for h in households]


def card_page_count(households: int) -> int:
    """Return how many A4 pages of four cards a group of `households` needs (at least
    one: cards for a community evening need no registered household)."""
    return max(1, math.ceil(households / CARDS_PER_PAGE))


def document_html(layout: str, *, settings: dict, ward_name: str, group_name: str = "",
                  households: list[dict] = (), card_pages: int = 1, for_pdf: bool = True,
                  sheet_locale: str = "vi", part: str = "full", qr_warning: bool = False,
                  **preview) -> str:
    """Return the HTML of one printable document in `layout`: a sheet per household
    (`page`, `large`; households from `with_codes`) or `card_pages` pages of cards.
    `part` ("full", "base", "variable") splits a `page` sheet into the layer common to
    every household and each household's own (see `chunks`). `preview` adds the on-screen
    bar (`back_url`, `pdf_url`, `sheet_count`). `qr_warning` adds the test-copy
    watermark of sheets whose household codes lead nowhere (see `qr_base`)."""
    if part == "base":
        households = [{"people": []}]
    return render_template(
        "sheets/document.html", layout=layout, settings=settings, ward_name=ward_name,
        group_name=group_name, households=households, card_pages=range(card_pages),
        codes=step_codes(settings), for_pdf=for_pdf, sheet_locale=sheet_locale, part=part,
        qr_warning=qr_warning,
        back_url=preview.get("back_url"), pdf_url=preview.get("pdf_url"),
        sheet_count=preview.get("sheet_count", len(households) or card_pages))


def stampable(household: dict) -> bool:
    """Return True when the household's block fits the fixed space of a stamped page."""
    return sum(1 for p in household["people"] if p["is_adult"]) <= MAX_STAMPED_ADULTS


def chunks(layout: str, household_ids: list[str], fetch, **context):
    """Yield `(html, stamped)` for successive chunk documents of a household batch:
    `fetch(ids)` returns the sheet households of those ids (queries.sheet_households +
    with_codes); `context` is what `document_html` needs besides them.

    In the `page` layout the steps, contacts and watermark are the same on every page, so
    a chunk holds only the households' own blocks (`stamped` True: the base page, see
    `base_html`, is stamped under each of its pages); a household too big for the block
    gets a document of its own drawn whole (`stamped` False). Order is kept."""
    size = CHUNK_HOUSEHOLDS[layout]
    for start in range(0, len(household_ids), size):
        households = fetch(household_ids[start:start + size])
        if layout != "page":
            yield document_html(layout, households=households, **context), False
            continue
        run: list[dict] = []
        for household in households:
            if stampable(household):
                run.append(household)
                continue
            if run:
                yield document_html(layout, households=run, part="variable", **context), True
                run = []
            yield document_html(layout, households=[household], **context), False
        if run:
            yield document_html(layout, households=run, part="variable", **context), True


def base_html(**context) -> str:
    """Return the HTML of the `page` layout's base layer: one page with the steps, the
    contacts and (for samples) the watermark, and the household block left empty."""
    return document_html("page", part="base", **context)
