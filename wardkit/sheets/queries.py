"""SQL for the printed sheets: the ward's sheet settings (links, hotlines, police contact)
and what a household's sheet shows — its address, its residents' first names and, per
adult, what the registry knows of their onboarding. Never a CCCD, date of birth or phone:
those columns are not even selected.

Every function takes the caller's ward code; another ward's rows are simply not found.
The actions (saving the settings, printing or previewing sheets, scanning a household's
code) open their own `write()` and record their audit row (docs/ARCHITECTURE.md#write-path).
"""
import math
import re
from datetime import date, timedelta

from .. import audit, clock
from ..db import write
from ..ids import new_id
from ..residents import queries as resident_queries
from ..text import fold, split_name

ADULT_AGE = 15  # the campaign's target population is aged 15+ (residential_groups.target_adults)

# The settings an admin fills in (column names are the form's field names).
LINK_FIELDS = ("ihanoi_android_url", "ihanoi_ios_url", "vneid_url", "declare_guide_url",
               "zalo_oa_url")
TEXT_FIELDS = ("ihanoi_hotline", "traffic_hotline", "police_name", "police_phone",
               "police_address", "public_url")
SETTING_FIELDS = LINK_FIELDS + TEXT_FIELDS
# Without these a sheet cannot be handed out as it is: it prints as a sample.
REQUIRED_FIELDS = ("ihanoi_android_url", "ihanoi_ios_url", "vneid_url", "zalo_oa_url",
                   "police_name", "police_phone")

# Obvious placeholders (the reserved .example domain) used until the admin sets the real
# links, and by the demo ward.
SAMPLE_SETTINGS = {
    "ihanoi_android_url": "https://ihanoi-android.example/mau-sample",
    "ihanoi_ios_url": "https://ihanoi-ios.example/mau-sample",
    "vneid_url": "https://vneid.example/mau-sample",
    "declare_guide_url": None,
    "zalo_oa_url": "https://zalo-oa-csgt.example/mau-sample",
    "ihanoi_hotline": "1022",
    "traffic_hotline": "0243.942.4451",
    "police_name": "Công an phường (MẪU / SAMPLE)",
    "police_phone": "024.0000.0000",
    "police_address": None,
    "public_url": None,
}
DEFAULTS = {"ihanoi_hotline": "1022", "traffic_hotline": "0243.942.4451"}

DECLARED_STATUSES = ("recorded", "submitted", "verified")


# --- settings ------------------------------------------------------------------------

def get_settings(db, ward_code: str) -> dict | None:
    """Return the ward's stored sheet settings row, or None when never saved."""
    rows = list(db.query(
        "SELECT * FROM sheet_settings WHERE ward_code = :ward AND deleted_at IS NULL",
        {"ward": ward_code}))
    return rows[0] if rows else None


def effective_settings(db, ward_code: str) -> dict:
    """Return what the sheets print for the ward: the stored settings, with the sample
    placeholders for anything required that is missing, and `is_sample` True when any
    required setting is missing or the stored ones are the demo's samples (then every
    sheet carries the "MẪU / SAMPLE" watermark)."""
    stored = get_settings(db, ward_code) or {}
    merged = {field: stored.get(field) or DEFAULTS.get(field) for field in SETTING_FIELDS}
    missing = [field for field in REQUIRED_FIELDS if not merged.get(field)]
    for field in missing:
        merged[field] = SAMPLE_SETTINGS[field]
    merged["is_sample"] = bool(missing) or bool(stored.get("is_sample"))
    merged["missing"] = missing
    return merged


def save_settings(db, ward_code: str, fields: dict, *, by: str | None,
                  is_sample: bool = False) -> list[str]:
    """Create or update the ward's sheet settings from validated `fields` (empty values
    stored as NULL) and audit it; return the names of the fields that changed."""
    values = {field: (fields.get(field) or None) for field in SETTING_FIELDS}
    for field, default in DEFAULTS.items():
        values[field] = values[field] or default
    with write(db):
        now = clock.now_iso()
        old = get_settings(db, ward_code)
        if old is None:
            db.table("sheet_settings").insert({
                "id": new_id(), "ward_code": ward_code, **values,
                "is_sample": int(is_sample), "created_at": now, "updated_at": now,
                "updated_by": by, "deleted_at": None})
            changed = sorted(k for k, v in values.items() if v)
        else:
            db.table("sheet_settings").update(old["id"], {
                **values, "is_sample": int(is_sample), "updated_at": now, "updated_by": by})
            changed = sorted(k for k, v in values.items() if old.get(k) != v)
        audit.record(db, "sheet_settings_updated", user_id=by, ward_code=ward_code,
                     entity="sheet_settings", entity_id=ward_code,
                     detail={"fields": changed})
    return changed


def record_sheets_shown(db, ward_code: str, household_ids: list[str], *, by: str | None,
                        preview: bool, **detail) -> None:
    """Audit that these households' sheets were printed (a PDF) or, with `preview`,
    shown on screen; `detail` adds the layout and group."""
    with write(db):
        audit.record(db, "sheets_previewed" if preview else "sheets_printed",
                     user_id=by, ward_code=ward_code, entity="households",
                     entity_id=household_ids[0] if len(household_ids) == 1 else None,
                     detail={"household_ids": household_ids, **detail})


# --- the household QR ------------------------------------------------------------------

def scan_retry_after(db, user_id: str, *, limit: int) -> int:
    """Return seconds until this user may scan a household code again (0 when not
    throttled): at most `limit` lookups, found or not, per user per minute (counted in
    the audit log, so it holds across server processes)."""
    since = clock.iso(clock.now() - timedelta(seconds=60))
    times = [row[0] for row in db.execute(
        """SELECT at FROM audit_log WHERE at > ? AND user_id = ?
           AND action IN ('household_scanned', 'household_scan_unknown')
           ORDER BY at DESC LIMIT ?""", [since, user_id, limit])]
    if len(times) < limit:
        return 0
    release = clock.parse(times[-1]) + timedelta(seconds=60)
    return max(1, math.ceil((release - clock.now()).total_seconds()))


def scan_household(db, ward_code: str, reference: str, *, by: str | None) -> dict | None:
    """Look up the household whose code holds `reference` in the ward and audit the
    scan, found or not; return the household, or None (unknown, revoked or another
    ward's)."""
    with write(db):
        household = None
        if 16 <= len(reference) <= 64:
            household = resident_queries.get_household_by_reference(db, ward_code,
                                                                    reference)
        if household is None:
            audit.record(db, "household_scan_unknown", user_id=by, ward_code=ward_code)
        else:
            audit.record(db, "household_scanned", user_id=by, ward_code=ward_code,
                         entity="households", entity_id=household["id"])
    return household


# --- households on paper -------------------------------------------------------------

def _address_key(household: dict) -> tuple:
    """Order of a walk down the street: street, lane, then house number by value."""
    number = [int(p) if p.isdigit() else fold(p)
              for p in re.split(r"(\d+)", household["house_number"]) if p]
    return (fold(household["street"]), fold(household["lane"] or ""),
            [(0, p) if isinstance(p, int) else (1, p) for p in number])


def group_household_ids(db, ward_code: str, group_id: str) -> list[str]:
    """Return the ids of the group's live households, in walking order (street, lane,
    house number by value)."""
    rows = list(db.query(
        """
        SELECT id, house_number, lane, street FROM households
        WHERE ward_code = :ward AND group_id = :group AND deleted_at IS NULL
        """,
        {"ward": ward_code, "group": group_id}))
    return [row["id"] for row in sorted(rows, key=_address_key)]


def _age(dob: str, today: date) -> int:
    born = date.fromisoformat(dob[:10])
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def sheet_households(db, ward_code: str, household_ids: list[str], *,
                     today: date) -> list[dict]:
    """Return what the sheets of these households print, in the order of the ids given:
    dicts with `id`, `address`, `reference`, `group_name` and `people`, a list of
    `{"first_name", "is_adult", "installed", "activated", "declared", "zalo"}` (head of
    household first, then by age). Unknown ids and other wards' households are left out.
    No CCCD, date of birth or phone leaves this function."""
    if not household_ids:
        return []
    households = {}
    # SQLite binds at most 32,766 parameters; batches stay far below.
    for start in range(0, len(household_ids), 500):
        batch = household_ids[start:start + 500]
        marks = ",".join("?" * len(batch))
        for row in db.query(
                f"""SELECT h.id, h.address, h.reference, g.name AS group_name
                    FROM households h JOIN residential_groups g ON g.id = h.group_id
                    WHERE h.ward_code = ? AND h.deleted_at IS NULL AND h.id IN ({marks})""",
                [ward_code, *batch]):
            households[row["id"]] = {**row, "people": []}
        declared = ",".join("?" * len(DECLARED_STATUSES))
        for row in db.query(
                f"""SELECT r.household_id, r.full_name, r.dob, r.relation, r.ihanoi_status,
                           r.is_zalo_followed,
                           EXISTS (SELECT 1 FROM declarations d
                                   WHERE d.resident_id = r.id AND d.deleted_at IS NULL
                                     AND d.status IN ({declared})) AS declared
                    FROM residents r
                    WHERE r.ward_code = ? AND r.deleted_at IS NULL
                      AND r.household_id IN ({marks})
                    ORDER BY r.household_id, r.relation != 'head', r.dob, r.sort_key""",
                [*DECLARED_STATUSES, ward_code, *batch]):
            household = households.get(row["household_id"])
            if household is None:
                continue
            household["people"].append({
                "first_name": split_name(row["full_name"])[2],
                "is_adult": _age(row["dob"], today) >= ADULT_AGE,
                "installed": row["ihanoi_status"] in ("installed", "activated"),
                "activated": row["ihanoi_status"] == "activated",
                "declared": bool(row["declared"]),
                "zalo": bool(row["is_zalo_followed"]),
            })
    return [households[i] for i in household_ids if i in households]


def count_group_households(db, ward_code: str, group_id: str) -> int:
    """Return how many live households the group has."""
    return db.execute(
        """SELECT count(*) FROM households
           WHERE ward_code = ? AND group_id = ? AND deleted_at IS NULL""",
        [ward_code, group_id]).fetchone()[0]
