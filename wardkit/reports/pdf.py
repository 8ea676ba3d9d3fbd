"""The daily report as the PDF the ward signs and sends (docs/DOMAIN-RULES.md#the-reports-form):
an A4 Vietnamese administrative report, rendered by WeasyPrint from
templates/reports/document.html and static/report.css with the vendored Liberation Serif.

The text is Vietnamese whatever the interface language: the PDF is the official
document, not a page of the app. Like the QR sheets, it may load only files under
static/ and `data:` URIs (wardkit/sheets/pdf.py's fetcher), and its metadata names the
unit and the day, never a person.
"""
import functools
import threading
from datetime import date, datetime

from babel.numbers import format_decimal
from flask import render_template

from ..sheets import pdf as sheet_pdf

STYLESHEET = sheet_pdf.STATIC / "report.css"


@functools.cache
def _engine():
    """Return (weasyprint, font configuration, report stylesheet, fetcher), built once
    per process: loading the four font files costs more than rendering a page."""
    import weasyprint
    from weasyprint.text.fonts import FontConfiguration

    font_config = FontConfiguration()
    fetcher = sheet_pdf._fetcher_class()(allowed_protocols={"data", "file"})
    css = weasyprint.CSS(filename=str(STYLESHEET), font_config=font_config,
                         url_fetcher=fetcher)
    return weasyprint, font_config, css, fetcher


# One render at a time per process (WeasyPrint's font configuration is shared); the
# sheets' lock, so a report and a sheet never render at once either.
_RENDER_LOCK: threading.Lock = sheet_pdf._RENDER_LOCK


def num(value: int | None) -> str:
    """Return a count written the Vietnamese way ("1.234"), or "—" for None."""
    return "—" if value is None else format_decimal(value, locale="vi")


def pct(value: float | None) -> str:
    """Return a share in percent with one decimal the Vietnamese way ("12,5%"), or "—"
    when there is no target to measure against."""
    return "—" if value is None else format_decimal(value, format="#,##0.0",
                                                    locale="vi") + "%"


def signed(value: int | None) -> str:
    """Return a change as "+3", "-2" or "0"; "—" when there is nothing to compare."""
    if value is None:
        return "—"
    return ("+" if value > 0 else "") + num(value)


def trend(value: int) -> str:
    """Return a change in words: "tăng 3", "giảm 2" or "không đổi"."""
    if value > 0:
        return f"tăng {num(value)}"
    if value < 0:
        return f"giảm {num(-value)}"
    return "không đổi"


def dmy(day: date | datetime) -> str:
    """Return dd/mm/yyyy."""
    return day.strftime("%d/%m/%Y")


def date_line(place: str, day: date) -> str:
    """Return the place and date line, "Tây Hồ, ngày 07 tháng 12 năm 2026": a day below
    10 and the months 1 and 2 take a leading zero (Decree 30/2020, Annex I), so nothing
    can be written in front of them."""
    month = f"{day.month:02d}" if day.month <= 2 else str(day.month)
    return f"{place}, ngày {day.day:02d} tháng {month} năm {day.year}"


# The administrative levels that begin a unit's proper name, longest first ("THỊ XÃ"
# before "XÃ").
_LEVELS = ("THÀNH PHỐ ", "THỊ XÃ ", "TỈNH ", "QUẬN ", "HUYỆN ", "PHƯỜNG ", "XÃ ")


def proper_name(caps: str) -> str:
    """Return a unit's name as written inside a sentence (the recipients list): "CÔNG
    AN THÀNH PHỐ HÀ NỘI" becomes "Công an Thành phố Hà Nội"; a name with no
    administrative level in it stays as it is."""
    for level in _LEVELS:
        at = caps.find(level)
        if at >= 0:
            head = caps[:at].strip().capitalize()
            name = caps[at + len(level):].strip().title()
            return " ".join(p for p in (head, level.strip().capitalize(), name) if p)
    return caps


def metadata(context: dict) -> dict:
    """Return the PDF's title, author and subject: the unit and the day, never a name."""
    day = dmy(context["dates"]["day"])
    return {
        "title": f"Báo cáo ngày {day} — {context['units']['unit']}",
        "author": context["units"]["unit"],
        "subject": "Kết quả vận động cài đặt, kích hoạt iHanoi và kê khai dữ liệu "
                   f"ngày {day}",
    }


def render_html(context: dict) -> str:
    """Return the report document's HTML (needs an app context)."""
    return render_template("reports/document.html", **context, num=num, pct=pct,
                           signed=signed, trend=trend, dmy=dmy,
                           recipient=proper_name(context["units"]["parent"]),
                           date_line=date_line(context["units"]["place"],
                                               context["dates"]["day"]))


def render_report_pdf(context: dict) -> bytes:
    """Return the PDF of a report from its context (wardkit/reports/exports.py
    `report_context`), rendered now; needs an app context for the template."""
    return _render(render_html(context), tuple(metadata(context).items()))


def report_pdf(context: dict) -> bytes:
    """Return the same bytes as `render_report_pdf`, from a small cache of the last
    documents rendered in this process, keyed by their HTML (so any change to a figure,
    the note, the signer or the letterhead renders again): a locked report is downloaded
    by several people, and a PDF costs far more than its HTML."""
    return _cached(render_html(context), tuple(metadata(context).items()))


def _render(html: str, meta: tuple) -> bytes:
    meta = dict(meta)
    with _RENDER_LOCK:
        weasyprint, font_config, css, fetcher = _engine()
        document = weasyprint.HTML(string=html, base_url=sheet_pdf.STATIC.as_uri() + "/",
                                   url_fetcher=fetcher).render(
            stylesheets=[css], font_config=font_config)
        document.metadata.title = meta["title"]
        document.metadata.authors = [meta["author"]]
        document.metadata.description = meta["subject"]
        document.metadata.keywords = []
        document.metadata.generator = "WardKit"
        return document.write_pdf()


_cached = functools.lru_cache(maxsize=8)(_render)
