"""One vocabulary: the words every screen uses for stored codes (roles, relations,
statuses, outcomes, audit actions...). Forms build their choices from these dicts, and
`init_app` makes them template globals once, under the names templates use
(`relation_labels`, `declaration_status_labels`...). Nothing else injects labels.

Each dict maps a stored code to a lazy translation, so the words follow the reader's
language; keys are exactly the codes the schema's CHECK constraints allow.
"""
from flask_babel import lazy_gettext as _l

ROLE_LABELS = {
    "admin": _l("Administrator"),
    "leader": _l("Ward leader"),
    "officer": _l("Officer"),
    "kiosk": _l("Kiosk"),
    "viewer": _l("Viewer (aggregates only)"),
}

# --- the registry ------------------------------------------------------------------

RELATION_LABELS = {
    "head": _l("Head of household"),
    "spouse": _l("Spouse"),
    "child": _l("Child"),
    "parent": _l("Parent"),
    "grandchild": _l("Grandchild"),
    "grandparent": _l("Grandparent"),
    "sibling": _l("Sibling"),
    "relative": _l("Other relative"),
    "other": _l("Other (lives here)"),
}
GENDER_LABELS = {"male": _l("Male"), "female": _l("Female")}
SUPPORT_LABELS = {
    "": _l("— choose —"),
    "elderly_alone": _l("Elderly, living alone"),
    "bedridden": _l("Bedridden"),
    "disability": _l("Disability"),
    "hardship": _l("Difficult circumstances"),
}
# Why a resident's data may be recorded (residents.lawful_basis).
RESIDENT_BASIS_LABELS = {
    "official_duty": _l("Official duty (Plan 375, data cleaning)"),
    "consent_verbal": _l("The resident agreed, verbally"),
    "consent_written": _l("The resident agreed, in writing"),
}
IHANOI_LABELS = {
    "unknown": _l("Not asked yet"),
    "not_installed": _l("Not installed"),
    "installed": _l("Installed"),
    "activated": _l("Activated (VNeID)"),
}

# How the household's history names what happened (the audit log's action codes).
ACTION_LABELS = {
    "household_created": _l("Household registered"),
    "resident_created": _l("Person added"),
    "resident_updated": _l("Details corrected"),
    "resident_deleted": _l("Person removed"),
    "resident_restored": _l("Removal undone"),
    "reference_reissued": _l("New QR code issued"),
    "resident_imported": _l("Imported from a list"),
    "sheets_printed": _l("QR onboarding sheet printed"),
    "sheets_previewed": _l("QR onboarding sheet previewed"),
    "household_scanned": _l("Household QR code scanned"),
    "visit_recorded": _l("Visit recorded"),
    "resident_onboarding_updated": _l("iHanoi / Zalo OA status updated"),
}

# --- home visits -------------------------------------------------------------------

OUTCOME_LABELS = {
    "done": _l("Done"),
    "nobody_home": _l("Nobody home"),
    "come_back": _l("Come back"),
    "declined": _l("Declined"),
}
STATE_LABELS = {
    "to_visit": _l("To visit"),
    "come_back": _l("Come back"),
    "done": _l("Done"),
}
# The visit timeline's words for a declaration's steps ("declaration recorded (Vehicle)").
DECLARATION_ACTION_LABELS = {
    "declaration_created": _l("declaration started"),
    "declaration_recorded": _l("declaration recorded"),
    "declaration_submitted": _l("declaration submitted on iHanoi"),
    "declaration_verified": _l("declaration verified"),
    "declaration_needs_fix": _l("declaration sent back for a fix"),
}

# --- declarations ------------------------------------------------------------------

DECLARATION_KIND_LABELS = {"licence": _l("Driving licence"), "vehicle": _l("Vehicle")}
DECLARATION_STATUS_LABELS = {"draft": _l("Draft"), "recorded": _l("Recorded"),
                             "submitted": _l("Submitted"), "verified": _l("Verified"),
                             "needs_fix": _l("Needs fixing")}
LAWFUL_BASIS_LABELS = {
    "consent": _l("The resident agreed"),
    "official_duty": _l("Official duty (Plan 375, data cleaning)"),
}
CONSENT_METHOD_LABELS = {"verbal": _l("Verbally"), "written": _l("In writing")}
CHANNEL_LABELS = {"home_visit": _l("Home visit"), "kiosk": _l("At the kiosk"),
                  "office": _l("At the office")}
SITUATION_LABELS = {
    "in_use": _l("In use by the owner"),
    "sold_not_transferred": _l("Sold, not transferred"),
    "bought_not_transferred": _l("Bought, not transferred"),
    "lost_stolen": _l("Lost or stolen"),
    "scrapped": _l("Scrapped"),
}
VEHICLE_TYPE_LABELS = {
    "motorcycle": _l("Motorbike"), "moped": _l("Moped"),
    "electric_motorcycle": _l("Electric motorbike"), "electric_moped": _l("Electric moped"),
    "car": _l("Car"), "truck": _l("Truck"), "other": _l("Other vehicle"),
}
PLATE_COLOUR_LABELS = {"white": _l("White"), "yellow": _l("Yellow"), "blue": _l("Blue")}

# The names templates know them by.
TEMPLATE_GLOBALS = {
    "role_labels": ROLE_LABELS,
    "relation_labels": RELATION_LABELS,
    "gender_labels": GENDER_LABELS,
    "support_labels": SUPPORT_LABELS,
    "ihanoi_labels": IHANOI_LABELS,
    "action_labels": ACTION_LABELS,
    "outcome_labels": OUTCOME_LABELS,
    "state_labels": STATE_LABELS,
    "declaration_action_labels": DECLARATION_ACTION_LABELS,
    "declaration_kind_labels": DECLARATION_KIND_LABELS,
    "declaration_status_labels": DECLARATION_STATUS_LABELS,
}


def init_app(app) -> None:
    """Make the vocabulary's dicts template globals (once, for every template)."""
    app.jinja_env.globals.update(TEMPLATE_GLOBALS)

# --- sync (the /sync, /devices and /conflicts pages) ----------------------------------

ACTION_LABELS["residents_merged"] = _l("Two records of the same person merged")
SYNC_DEVICE_STATUS_LABELS = {
    "pending": _l("Waiting to join"),
    "active": _l("Active"),
    "revoked": _l("Revoked"),
}
# What a conflict's row is, by its table.
SYNC_TABLE_LABELS = {
    "residential_groups": _l("Residential group"),
    "households": _l("Household"),
    "residents": _l("Resident"),
    "visits": _l("Visit"),
    "follow_ups": _l("Follow-up"),
    "onboarding_changes": _l("iHanoi / Zalo OA change"),
    "declarations": _l("Declaration"),
    "declaration_flags": _l("Declaration check"),
    "assignments": _l("Assignment"),
}
# The fields a conflict names (any other column shows its own name).
SYNC_FIELD_LABELS = {
    "full_name": _l("Full name"), "dob": _l("Date of birth"), "gender": _l("Gender"),
    "cccd": _l("CCCD"), "phone": _l("Phone"), "relation": _l("Relation to the head"),
    "household_id": _l("Household"), "is_born_abroad": _l("Born abroad"),
    "needs_home_support": _l("Needs support at home"), "support_reason": _l("Why"),
    "ihanoi_status": _l("iHanoi"), "is_zalo_followed": _l("Follows the Zalo OA"),
    "lawful_basis": _l("Basis for recording"), "consent_at": _l("Agreed on"),
    "deleted_at": _l("Removed on"), "house_number": _l("House number"), "lane": _l("Lane"),
    "street": _l("Street"), "address": _l("Address"), "group_id": _l("Residential group"),
    "cluster": _l("Cluster"), "notes": _l("Notes"), "name": _l("Name"),
    "target_adults": _l("Target (adults)"), "outcome": _l("Outcome"),
    "visited_at": _l("Visited on"), "status": _l("Status"), "reference": _l("QR code"),
}
TEMPLATE_GLOBALS.update({
    "sync_device_status_labels": SYNC_DEVICE_STATUS_LABELS,
    "sync_table_labels": SYNC_TABLE_LABELS,
    "sync_field_labels": SYNC_FIELD_LABELS,
})

# --- the kiosk and the queue (/admin/kiosks, /queue) ------------------------------------

KIOSK_STATE_LABELS = {
    "pending": _l("Link made, not used yet"),
    "active": _l("Active"),
    "expired": _l("Expired: enrol again"),
    "revoked": _l("Revoked"),
}
TICKET_REASON_LABELS = {
    "ihanoi": _l("iHanoi help"),
    "declaration": _l("Declaration"),
    "other": _l("Other"),
}
TICKET_STATUS_LABELS = {
    "waiting": _l("Waiting"),
    "called": _l("Called"),
    "serving": _l("Being served"),
    "done": _l("Done"),
    "no_show": _l("No show"),
}
TEMPLATE_GLOBALS.update({
    "kiosk_state_labels": KIOSK_STATE_LABELS,
    "ticket_reason_labels": TICKET_REASON_LABELS,
    "ticket_status_labels": TICKET_STATUS_LABELS,
})
