"""What goes on a sheet: the QR codes of the configured links, the household's own code,
and the HTML of a printable document (whole, or in chunks for a batch PDF).

The same template (`templates/sheets/document.html`) makes the PDF and the on-screen
preview; only the stylesheet link differs. Runs in an app context (Jinja, Babel).
"""
import math

from flask import render_template

from . import qr

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
    only (SECURITY.md §6)."""
    return f"{base_url.rstrip('/')}/r/{reference}"


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
                  sheet_locale: str = "vi", part: str = "full", **preview) -> str:
    """Return the HTML of one printable document in `layout`: a sheet per household
    (`page`, `large`; households from `with_codes`) or `card_pages` pages of cards.
    `part` ("full", "base", "variable") splits a `page` sheet into the layer common to
    every household and each household's own (see `chunks`). `preview` adds the on-screen
    bar (`back_url`, `pdf_url`, `sheet_count`)."""
    if part == "base":
        households = [{"people": []}]
    return render_template(
        "sheets/document.html", layout=layout, settings=settings, ward_name=ward_name,
        group_name=group_name, households=households, card_pages=range(card_pages),
        codes=step_codes(settings), for_pdf=for_pdf, sheet_locale=sheet_locale, part=part,
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
