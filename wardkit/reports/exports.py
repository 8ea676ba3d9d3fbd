"""The daily report's files (docs/ARCHITECTURE.md#reports): the PDF the ward signs, the
XLSX and the city's JSON, built from a stored report, never recounted.

`report_context` gathers what the renderers need; `export_report` is the one action
behind a download and `flask reports export`: it reads the report, renders the file
(outside any transaction) and audits the export.
"""
from datetime import date

from .. import audit, clock
from ..db import write
from . import cityfile, present, queries

FORMATS = ("pdf", "xlsx", "json")
MIMETYPES = {
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "json": "application/json",
}
# How many report days the XLSX's "Theo ngày" sheet lists, up to the report's own day.
SERIES_DAYS = 366


def report_context(db, ward_code: str, report: dict, *, series: bool = True) -> dict:
    """Return everything the PDF and XLSX of `report` (a stored report of the ward, its
    figures decoded) show: `ward`, `units` (the letterhead), `rows` (groups then the
    ward total, whose name is "Toàn phường"/"Toàn xã" in every interface language: the
    files are Vietnamese documents), `groups`, `total`, `dates`, `series` (the day
    series up to the report's day, oldest first; empty unless `series`: only the XLSX
    shows it, and reading 60 stored reports is a tenth of a PDF's time), `previous`
    (the compared report's day and revision, or None), `draft`, `revision`, `reason`,
    `note`, `signer_title` and `signer_name` (None on a draft)."""
    ward = queries.ward(db, ward_code)
    units = present.unit_names(ward)
    rows = present.rows(report)
    rows[-1]["name"] = "Toàn phường" if ward["kind"] == "phuong" else "Toàn xã"
    previous = report["figures"].get("previous")
    return {
        "ward": ward, "units": units, "report": report,
        "rows": rows, "groups": rows[:-1], "total": rows[-1],
        "dates": present.dates(report),
        "series": present.day_series(db, ward_code, report["report_date"],
                                     days=SERIES_DAYS) if series else [],
        "previous": previous and dict(previous,
                                      day=date.fromisoformat(previous["report_date"])),
        "draft": report["locked_at"] is None,
        "revision": report["revision"],
        "reason": report.get("reason"),
        "note": report.get("note"),
        "signer_title": (report.get("signer_title") or units["signer_title"]).upper(),
        "signer_name": report.get("signer_name") if report["locked_at"] else None,
    }


def file_name(ward_code: str, report: dict, fmt: str) -> str:
    """Return the download name of a PDF or XLSX: bao-cao-<ward>-<day>-r<revision>.<fmt>
    (the JSON's name, with its hash, comes from cityfile.build)."""
    return f"bao-cao-{ward_code}-{report['report_date']}-r{report['revision']}.{fmt}"


def render(db, ward_code: str, report: dict, fmt: str, *,
           cached: bool = False) -> tuple[bytes, str]:
    """Return (the file's bytes, its name) of `report` in `fmt` ("pdf", "xlsx", "json").
    With `cached`, a PDF whose document was rendered a moment ago in this process comes
    from wardkit/reports/pdf.py's small cache (downloads); without it, it is rendered
    now (benchmarks, tests)."""
    if fmt == "json":
        document, name = cityfile.build(report, queries.ward(db, ward_code))
        return cityfile.dumps(document), name
    context = report_context(db, ward_code, report, series=fmt == "xlsx")
    if fmt == "pdf":
        from . import pdf  # WeasyPrint loads only when a PDF is asked for
        data = pdf.report_pdf(context) if cached else pdf.render_report_pdf(context)
        return data, file_name(ward_code, report, fmt)
    from .xlsx import render_report_xlsx
    return render_report_xlsx(context), file_name(ward_code, report, fmt)


def find_report(db, ward_code: str, day: date, revision: int | None = None) -> dict | None:
    """Return the ward's stored report for `day` (the newest revision unless `revision`
    is given), or None for a future day, a missing report or an unknown revision."""
    if day > clock.today():
        return None
    return queries.get_report(db, ward_code, day.isoformat(), revision)


def export_report(db, ward_code: str, day: date, fmt: str, *, revision: int | None = None,
                  by: str | None) -> tuple[bytes, str] | None:
    """Render the ward's report for `day` as `fmt` and audit the export
    (report_exported: format, day, revision); return (bytes, file name), or None
    without recording anything when there is no such report (see `find_report`).

    The file is rendered before the transaction opens: a PDF takes a good part of a
    second, and the write lock is held only for the audit row.

    :raises ValueError: for a format not in FORMATS.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown report format {fmt!r}")
    report = find_report(db, ward_code, day, revision)
    if report is None:
        return None
    data, name = render(db, ward_code, report, fmt, cached=True)
    record_export(db, ward_code, report, fmt, by=by)
    return data, name


def record_export(db, ward_code: str, report: dict, fmt: str, *, by: str | None) -> None:
    """Audit that `report` was downloaded or written out as `fmt`."""
    with write(db):
        audit.record(db, "report_exported", user_id=by, ward_code=ward_code,
                     entity="reports", entity_id=report["id"],
                     detail={"format": fmt, "day": report["report_date"],
                             "revision": report["revision"]})
