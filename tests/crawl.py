"""Crawling the app: one of every record in a ward, and every GET route filled with real
ids (and the query strings that take a route down another path). Shared by the tests that
must see every page: nothing written on GET, every page translated."""
from datetime import date, datetime, timezone

from tests.factories import (make_declaration, make_group, make_household, make_kiosk,
                             make_resident, make_ticket)
from wardkit.visits import queries as visit_queries

ROLES = ("admin", "leader", "officer", "kiosk", "viewer")
# Query strings that take a route down another path (each also crawled bare).
VARIANTS = {
    "declaration_review.index": ["?status=draft", "?status=recorded", "?status=bogus"],
    "visits.progress": ["?sort=follow_ups&dir=desc", "?sort=percent"],
    "visits.progress_csv": ["?sort=follow_ups&dir=desc"],
    "sheets.group_sheets": ["?layout=page", "?layout=cards", "?layout=large",
                            "?layout=large&format=html"],
    "sheets.household_sheet": ["?format=html"],
    "sheets.group_print": ["?layout=cards"],
    "residents.new_household": ["?group_id={group_id}"],
    "declarations.new": ["?kind=licence", "?kind=vehicle"],
}


def seed_ward(db, ward, by, app=None):
    """Insert one of everything a page can show (with `app`, the day's report too);
    return {url argument: id}."""
    group = make_group(db, ward_code=ward, name="Tổ dân phố số 3", target_adults=40)
    household = make_household(db, group=group, ward_code=ward, house_number="81",
                               street="Hồng Hà")
    resident = make_resident(db, household, full_name="Nguyễn Thị Lan", cccd="001185012345",
                             phone="0912345678", dob=date(1985, 3, 2))
    make_resident(db, household, full_name="Trần Văn Bình", dob=date(1950, 1, 1),
                  gender="male")
    draft = make_declaration(db, resident, kind="vehicle", by=by)
    recorded = make_declaration(db, resident, status="recorded", by=by)
    visit_queries.assign(db, ward, group["id"], by, by=None)
    visit_queries.record_visit(
        db, ward_code=ward, household_id=household["id"], by=by, outcome="come_back",
        follow_up_at=datetime(2026, 12, 5, 1, 0, tzinfo=timezone.utc))
    reference = db.execute("SELECT reference FROM households WHERE id = ?",
                           [household["id"]]).fetchone()[0]
    kiosk, _credential = make_kiosk(db, ward_code=ward, name=f"Ki-ốt {ward}")
    ticket = make_ticket(db, kiosk, request={"vehicle_type": "motorcycle",
                                             "plate": "29X1 234.56"})
    from wardkit.kiosk import sessions
    session = sessions.plan(db, ward, day=date(2026, 12, 3), starts_at="09:00",
                            ends_at="21:00", place="Nhà văn hoá TDP 3", officer_ids=[by],
                            by=by)
    if app is not None:
        from wardkit.reports import snapshots
        with app.test_request_context():
            snapshots.take_snapshot(db, ward, date(2026, 12, 3))
    return {"day": "2026-12-03", "group_id": group["id"], "household_id": household["id"],
            "resident_id": resident["id"], "declaration_id": draft["id"],
            "recorded_id": recorded["id"], "reference": reference, "user_id": by,
            "kiosk_id": kiosk["id"], "ticket_id": ticket["id"], "flow": "vehicle",
            "name": "plate", "step": "2", "session_id": session["id"]}


def urls(app, ids: dict) -> list[tuple[str, str]]:
    """Return (endpoint, url) for every GET route, filled with `ids` (and variants)."""
    out = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if "GET" not in rule.methods:
            continue
        if rule.endpoint == "static":
            out.append((rule.endpoint, "/static/app.css"))
            continue
        values = {}
        for arg in rule.arguments:
            assert arg in ids, (f"{rule.rule}: no real value for <{arg}> — teach this test "
                                "the new route, so it is crawled too")
            values[arg] = ids[arg]
        path = rule.rule
        for arg, value in values.items():
            path = path.replace(f"<{arg}>", value).replace(f"<path:{arg}>", value)
        out.append((rule.endpoint, path))
        for query in VARIANTS.get(rule.endpoint, []):
            out.append((rule.endpoint, path + query.format(**ids)))
        if "declaration_id" in rule.arguments:  # a recorded one shows another page
            out.append((rule.endpoint, path.replace(ids["declaration_id"],
                                                    ids["recorded_id"])))
    return out
