"""The declaration workflow as data: which role may move a declaration from which status to
which, and what must be filled before it leaves `draft`. No database, no request.

draft → recorded → submitted → verified | needs_fix; needs_fix goes back to the officer.
Refusals are raised as `DeclarationError` subclasses carrying a `code` (never a message:
the views translate codes into words).
"""

STATUSES = ("draft", "recorded", "submitted", "verified", "needs_fix")
KINDS = ("licence", "vehicle")
CHANNELS = ("home_visit", "kiosk", "office")
LAWFUL_BASES = ("consent", "official_duty")
CONSENT_METHODS = ("verbal", "written")
SITUATIONS = ("in_use", "sold_not_transferred", "bought_not_transferred", "lost_stolen",
              "scrapped")

# Statuses in which the form may still be edited (save_draft).
EDITABLE = frozenset({"draft", "needs_fix"})

FIELD_STAFF = frozenset({"officer", "leader", "admin"})
REVIEWERS = frozenset({"leader", "admin"})

# (from, to) -> roles allowed. Anything not listed is refused; `kiosk` and `viewer` never
# move a declaration (a kiosk is a shared device, not an accountable person).
TRANSITIONS: dict[tuple[str, str], frozenset[str]] = {
    # The officer (or a leader helping at the door) confirms the read-back summary.
    ("draft", "recorded"): FIELD_STAFF,
    # A mistake seen after recording, before anything left the ward: reopen the form.
    ("recorded", "draft"): FIELD_STAFF,
    # The resident submitted on iHanoi (with the time), or the officer notes why not.
    ("recorded", "submitted"): FIELD_STAFF,
    # The leader's review is of submitted items only: verifying skips no step, so every
    # verified row says whether and when it reached iHanoi.
    ("submitted", "verified"): REVIEWERS,
    ("submitted", "needs_fix"): REVIEWERS,
    # A leader who spots an error in a recorded item may send it back at once rather than
    # wait for the submission; but may not verify it (see above).
    ("recorded", "needs_fix"): REVIEWERS,
    # needs_fix is back on the officer's list: either reopen it as a draft, or (having
    # corrected the fields, which save_draft allows in needs_fix) record it again directly.
    ("needs_fix", "draft"): FIELD_STAFF,
    ("needs_fix", "recorded"): FIELD_STAFF,
    # verified is final: nothing leaves it (a new declaration replaces a wrong one).
}

# Target statuses that require the declaration to be complete (missing_for_record empty).
NEEDS_COMPLETE = frozenset({"recorded", "submitted", "verified"})


class DeclarationError(Exception):
    """A refused declaration operation. `code` says why; `fields` lists the field names
    concerned (for `incomplete`)."""

    def __init__(self, code: str, fields: list[str] | None = None):
        super().__init__(code)
        self.code = code
        self.fields = list(fields or [])


class NotEditable(DeclarationError):
    """save_draft on a declaration that is no longer draft or needs_fix (code
    `not_editable`), or that does not exist in the ward (code `not_found`)."""


class TransitionRefused(DeclarationError):
    """A refused transition. Codes: `not_found` (unknown id or another ward's),
    `not_allowed` (no such transition, or not for this role), `incomplete` (with `fields`),
    `reason_required` (needs_fix without a reason), `submission_missing` (submitted without
    a time or a reason it was not submitted)."""


def can_transition(role: str | None, from_status: str, to_status: str) -> bool:
    """Return True when `role` may move a declaration from `from_status` to `to_status`."""
    return role in TRANSITIONS.get((from_status, to_status), ())


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def missing_for_record(declaration: dict) -> list[str]:
    """Return the field names that must be filled before the declaration leaves draft
    (empty when complete).

    A lawful basis always (silence is not consent, docs/DOMAIN-RULES.md#lawful-basis-and-consent), and under consent how it
    was given. Licence: number, class as printed, issue date. Vehicle: type, plate or chassis
    number (an unplated or lost-plate vehicle is known by its chassis; when both are empty
    both names are returned), and the campaign situation.
    """
    missing = []
    basis = declaration.get("lawful_basis")
    if _blank(basis):
        missing.append("lawful_basis")
    elif basis == "consent" and _blank(declaration.get("consent_method")):
        missing.append("consent_method")
    kind = declaration.get("kind")
    if kind == "licence":
        missing += [f for f in ("licence_no", "licence_class", "issued_on")
                    if _blank(declaration.get(f))]
    elif kind == "vehicle":
        if _blank(declaration.get("vehicle_type")):
            missing.append("vehicle_type")
        if _blank(declaration.get("plate")) and _blank(declaration.get("chassis_no")):
            missing += ["plate", "chassis_no"]
        if _blank(declaration.get("situation")):
            missing.append("situation")
    else:
        missing.append("kind")
    return missing
