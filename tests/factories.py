"""Small factories: each inserts one row with sensible defaults and returns it."""
import itertools
from datetime import date

from werkzeug.security import generate_password_hash

from wardkit.auth import queries as auth_queries
from wardkit.groups import queries as group_queries

WARD_A = "00103"  # Phường Tây Hồ
WARD_B = "00070"  # Phường Hoàn Kiếm
PASSWORD = "correct horse battery"

_counter = itertools.count(1)
_HASH = generate_password_hash(PASSWORD, method="scrypt:1024:8:1")


# Usernames made with role "kiosk": `Auth.login` enrols a kiosk device by that name
# instead (a kiosk is a device, not a login: docs/ARCHITECTURE.md#kiosk).
KIOSK_NAMES: dict[str, str] = {}


def make_user(db, *, role="officer", ward_code=WARD_A, username=None, password=None,
              display_name=None, is_active=True) -> dict:
    """Insert a user (password PASSWORD unless given) and return the row. For role
    "kiosk" the row is an old kiosk account, which can no longer sign in: `Auth.login`
    with its username enrols a kiosk device of the same name and ward instead."""
    n = next(_counter)
    username = username or f"{role}{n}"
    if role == "kiosk":
        KIOSK_NAMES[username] = ward_code
    else:
        KIOSK_NAMES.pop(username, None)
    pw_hash = _HASH if password is None else generate_password_hash(
        password, method="scrypt:1024:8:1")
    row = auth_queries.create_user(
        db, username=username, password_hash=pw_hash,
        display_name=display_name or f"Người dùng {n}", role=role, ward_code=ward_code)
    if not is_active:
        auth_queries.set_active(db, row["id"], False, by=None)
        row["is_active"] = 0
    return row


def make_group(db, *, ward_code=WARD_A, name=None, cluster=None, target_adults=500) -> dict:
    """Insert a residential group and return the row."""
    n = next(_counter)
    return group_queries.create_group(db, ward_code=ward_code, name=name or f"Tổ dân phố số {n}",
                                      cluster=cluster, target_adults=target_adults, by=None)


def make_household(db, *, group=None, ward_code=WARD_A, house_number=None, lane="Ngõ 34",
                   street="Âu Cơ") -> dict:
    """Insert a household (in a new group unless given) and return the row."""
    from wardkit.residents import queries as resident_queries
    group = group or make_group(db, ward_code=ward_code)
    return resident_queries.create_household(
        db, ward_code=ward_code, group_id=group["id"],
        house_number=house_number or str(next(_counter)), lane=lane, street=street,
        cluster=group.get("cluster"), by=None)


def make_resident(db, household, *, ward_code=None, full_name="Phạm Thị Mai",
                  dob=date(1985, 6, 1), gender="female", cccd=None, phone=None,
                  relation="other", lawful_basis="official_duty", **extra) -> dict:
    """Insert a resident of `household` and return the row."""
    from wardkit.residents import queries as resident_queries
    fields = {"full_name": full_name, "dob": dob, "gender": gender, "cccd": cccd,
              "phone": phone, "relation": relation, "lawful_basis": lawful_basis, **extra}
    return resident_queries.create_resident(
        db, ward_code=ward_code or household["ward_code"], household_id=household["id"],
        fields=fields, by=None)


# What a complete declaration holds: make_declaration fills these in past `draft`.
LICENCE_FIELDS = {"lawful_basis": "official_duty", "licence_no": "001234567890",
                  "licence_class": "B2", "licence_class_new": "B", "issued_on": "2019-05-20",
                  "expires_on": "2029-05-20", "issuing_authority": "Sở GTVT Hà Nội"}
VEHICLE_FIELDS = {"lawful_basis": "consent", "consent_method": "verbal",
                  "vehicle_type": "motorcycle", "plate": "29-HA 002.33",
                  "plate_compact": "29HA00233", "plate_colour": "white",
                  "chassis_no": "RLHJC1234KY000001", "engine_no": "JC12E1234567",
                  "brand": "Honda", "model": "Wave", "situation": "in_use"}
_DECLARATION_STEPS = {"draft": (), "recorded": ("recorded",),
                      "submitted": ("recorded", "submitted"),
                      "verified": ("recorded", "submitted", "verified"),
                      "needs_fix": ("recorded", "submitted", "needs_fix")}


def make_declaration(db, resident, *, kind="licence", status="draft", by=None,
                     **fields) -> dict:
    """Create a `kind` declaration of `resident` through the domain's actions, move it to
    `status`, and return the row.

    A draft holds only `fields`; any later status is first completed with LICENCE_FIELDS or
    VEHICLE_FIELDS (`fields` override them). The officer's steps are taken as an officer,
    the review as a leader, all by `by` (a user id; a new officer of the resident's ward
    when None: a declaration always has its recorder). It is submitted on 23 Nov 2026, and
    sent back (needs_fix) with the reason "Sai biển số". Conflict flags are not computed
    (refresh_flags does that).
    """
    from wardkit.db import write
    from wardkit.declarations import queries as declaration_queries
    ward_code = resident["ward_code"]
    by = by or make_user(db, ward_code=ward_code)["id"]
    if status != "draft":
        fields = {**(LICENCE_FIELDS if kind == "licence" else VEHICLE_FIELDS), **fields}
    with write(db):  # one commit, not one per step
        row = declaration_queries.create_draft(db, ward_code=ward_code,
                                               resident_id=resident["id"], kind=kind,
                                               channel="home_visit", by=by)
        if fields:
            declaration_queries.save_draft(db, ward_code, row["id"], fields, by=by,
                                           reload=False)
        for step in _DECLARATION_STEPS[status]:
            declaration_queries.transition(
                db, ward_code, row["id"], step,
                role="leader" if step in ("verified", "needs_fix") else "officer", by=by,
                submitted_at="2026-11-23T09:00:00.000000Z" if step == "submitted" else None,
                reason="Sai biển số" if step == "needs_fix" else None)
        return declaration_queries.get_declaration(db, ward_code, row["id"])


def make_visit(db, household, *, outcome="done", by=None, at=None, follow_up_at=None,
               notes=None, onboarding=None) -> dict:
    """Record a visit to `household` through record_visit and return the visit row.

    `by` is the visiting officer's id (a new officer of the household's ward when None: a
    visit always has its officer); `at` when it happened (now unless given). A come back
    without `follow_up_at` is due the next day at the same time.
    """
    from datetime import timedelta

    from wardkit import clock
    from wardkit.visits import queries as visit_queries
    by = by or make_user(db, ward_code=household["ward_code"])["id"]
    if outcome == "come_back" and follow_up_at is None:
        follow_up_at = (at or clock.now()) + timedelta(days=1)
    return visit_queries.record_visit(
        db, ward_code=household["ward_code"], household_id=household["id"], by=by,
        outcome=outcome, notes=notes, follow_up_at=follow_up_at, onboarding=onboarding,
        at=at)


def make_kiosk(db, *, ward_code=WARD_A, name=None, days=30) -> tuple[dict, str]:
    """Insert an enrolled kiosk device (credential valid `days`) and return (the row, its
    raw credential, for the `wardkit-kiosk` cookie)."""
    import secrets
    from datetime import timedelta

    from wardkit import clock
    from wardkit.kiosk import devices, queries as kiosk_queries
    credential = secrets.token_urlsafe(32)
    row = kiosk_queries.insert_device(db, ward_code=ward_code,
                                      name=name or f"Ki-ốt {next(_counter)}", by=None)
    now = clock.now()
    kiosk_queries.update_device(
        db, row["id"], credential_hash=devices.hash_token(credential),
        enrolled_at=clock.iso(now), expires_at=clock.iso(now + timedelta(days=days)),
        last_seen_at=clock.iso(now))
    return kiosk_queries.get_device(db, row["id"]), credential


def make_ticket(db, kiosk: dict, *, reason="declaration", number=None, name=None,
                phone=None, request: dict | None = None, kind="vehicle",
                created_at=None) -> dict:
    """Insert a waiting ticket taken at `kiosk` (with a kiosk request holding `request`,
    when given) and return the ticket row."""
    import json

    from wardkit import clock
    from wardkit.ids import new_id
    from wardkit.kiosk import queries as kiosk_queries
    from wardkit.visits.days import local_today
    at = created_at or clock.now()
    day = local_today(at).isoformat()
    row = {"id": new_id(), "ward_code": kiosk["ward_code"], "day": day,
           "number": number or kiosk_queries.next_number(db, kiosk["ward_code"], day),
           "reason": reason, "name": name, "phone": phone, "device_id": kiosk["id"],
           "status": "waiting", "created_at": clock.iso(at)}
    kiosk_queries.insert_ticket(db, row)
    if request is not None:
        kiosk_queries.insert_request(db, {
            "id": new_id(), "ward_code": kiosk["ward_code"], "ticket_id": row["id"],
            "kind": kind, "fields": json.dumps(request, ensure_ascii=False),
            "created_at": clock.iso(at)})
    return row
