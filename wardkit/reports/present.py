"""What a report page, its PDF and its XLSX show, prepared once from a stored report: the
ward's letterhead, the rows with their shares of target and changes, the day series."""
from datetime import date

from flask import current_app
from flask_babel import gettext as _

from .. import clock
from . import queries
from .figures import COUNTS, percent


def past_day(text: str | None) -> date | None:
    """Return the day a URL names (YYYY-MM-DD), or None when it is malformed or after
    today in Hanoi (there is no report of a day to come)."""
    try:
        day = date.fromisoformat(text or "")
    except ValueError:
        return None
    return day if day <= clock.today() else None


def unit_names(ward: dict) -> dict:
    """Return the letterhead of the ward's police: `parent` (the body above it),
    `unit` (e.g. "CÔNG AN PHƯỜNG TÂY HỒ", from the ward settings' police name when set),
    `place` (the ward's name without "Phường"/"Xã", for "Tây Hồ, ngày …") and
    `signer_title` (the default title of who signs)."""
    name = ward["name"]
    place = name.split(" ", 1)[1] if name.split(" ", 1)[0] in ("Phường", "Xã") else name
    police = (ward.get("police_name") or "").strip()
    if not police or "MẪU" in police or "SAMPLE" in police:
        police = f"Công an {name}"
    kind = "PHƯỜNG" if ward["kind"] == "phuong" else "XÃ"
    return {"parent": current_app.config["REPORT_PARENT_UNIT"], "unit": police.upper(),
            "place": place, "signer_title": f"TRƯỞNG CÔNG AN {kind}"}


def rows(report: dict) -> list[dict]:
    """Return the report's group rows then the ward total (`is_total`), each with
    `percent` of target activated and `change` (the counts' change since the previous
    report, None when there was none or the group is new)."""
    figures = report["figures"]
    change = figures.get("change") or {}
    out = []
    for group in figures["groups"]:
        out.append(dict(group, is_total=False,
                        percent=percent(group["activated"], group["target_adults"]),
                        change=(change.get("groups") or {}).get(group["id"])))
    total = dict(figures["total"], id=None, name=_("Whole ward"), cluster=None,
                 is_total=True,
                 percent=percent(figures["total"]["activated"],
                                 figures["total"]["target_adults"]),
                 change=change.get("total"))
    return out + [total]


def day_series(db, ward_code: str, until: str, *, days: int = 30) -> list[dict]:
    """Return the ward's last `days` reports up to `until`, oldest first: for each,
    `report_date` and, per group id and for the ward ("total"), the counts."""
    series = []
    for item in queries.series(db, ward_code, until, days=days):
        figures = item["figures"]
        counts = {g["id"]: {k: g.get(k, 0) for k in COUNTS} for g in figures["groups"]}
        counts["total"] = {k: figures["total"].get(k, 0) for k in COUNTS}
        series.append({"report_date": item["report_date"], "counts": counts,
                       "names": {g["id"]: g["name"] for g in figures["groups"]}})
    return series


def sparkline(series: list[dict], key: str, *, width: int = 120, height: int = 28) -> dict | None:
    """Return the drawing of one group's (or "total") cumulative activations against
    its target over the days: `points` (an SVG polyline), `target_y` (the target's line),
    `last`, `target`, `days`; None when fewer than two days have the group."""
    values = [(s["counts"][key]["activated"], s["counts"][key]["target_adults"])
              for s in series if key in s["counts"]]
    if len(values) < 2:
        return None
    target = values[-1][1]
    top = max([target] + [v for v, _t in values]) or 1
    step = (width - 4) / (len(values) - 1)

    def y(value):
        return round(height - 2 - (height - 4) * value / top, 1)

    points = " ".join(f"{round(2 + i * step, 1)},{y(v)}" for i, (v, _t) in enumerate(values))
    return {"points": points, "target_y": y(target) if target else None, "width": width,
            "height": height, "last": values[-1][0], "target": target,
            "days": len(values)}


def dates(report: dict) -> dict:
    """Return the report's day and times for display: `day` (a date), `cutoff`,
    `taken`, `locked` (aware Hanoi datetimes; `locked` None while a draft) and `late`
    (True when it was taken more than an hour after the cut-off)."""
    cutoff = clock.parse(report["cutoff_at"]).astimezone(clock.HANOI)
    taken = clock.parse(report["taken_at"]).astimezone(clock.HANOI)
    locked = (clock.parse(report["locked_at"]).astimezone(clock.HANOI)
              if report["locked_at"] else None)
    return {"day": date.fromisoformat(report["report_date"]), "cutoff": cutoff,
            "taken": taken, "locked": locked,
            "late": (taken - cutoff).total_seconds() > 3600}
