"""The rules a resident's data must meet, for every way in: the inline form, the
new-household form and the spreadsheet import all call `check_resident`."""
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l

from .. import names, validators
from . import queries

GENDER_VALUES = ("male", "female")
RELATION_VALUES = ("head", "spouse", "child", "parent", "grandchild", "grandparent", "sibling",
                   "relative", "other")
SUPPORT_VALUES = ("elderly_alone", "bedridden", "disability", "hardship")
LAWFUL_BASIS_VALUES = ("official_duty", "consent_verbal", "consent_written")


@dataclass
class ResidentCheck:
    """What `check_resident` found: values to store, or why not."""

    cleaned: dict = field(default_factory=dict)
    errors: dict = field(default_factory=dict)     # field name -> [lazy message]
    warnings: list = field(default_factory=list)   # [(field name, lazy message)]
    duplicate: dict | None = None                  # the existing person it may repeat

    @property
    def ok(self) -> bool:
        return not self.errors

    def error(self, name: str, message) -> None:
        self.errors.setdefault(name, []).append(message)


def _truthy(value) -> bool:
    return str(value or "").strip().lower() in ("1", "y", "yes", "on", "true", "x", "có", "co")


def check_resident(raw: dict, *, db=None, ward_code: str | None = None,
                   except_id: str | None = None, today=None) -> ResidentCheck:
    """Check a resident's raw input (strings as typed, keyed by column name).

    Returns a ResidentCheck: hard errors per field (nothing may be saved), warnings the
    officer must confirm (CCCD digits that disagree with the date of birth or sex, an
    unusual phone, someone with the same folded name and date of birth), and the
    cleaned values. With `db` and `ward_code`, a CCCD already held by another live
    resident of the ward is an error and a same-name-and-birthday person a warning.
    """
    result = ResidentCheck()
    name = names.check_name(raw.get("full_name"))
    dob = validators.check_dob(raw.get("dob"), today=today)
    phone = validators.check_phone(raw.get("phone"))
    gender = raw.get("gender") if raw.get("gender") in GENDER_VALUES else None
    if gender is None:
        result.error("gender", _l("Choose the person's sex."))
    born_abroad = _truthy(raw.get("is_born_abroad"))
    cccd = validators.check_cccd(raw.get("cccd"), dob=dob.value if dob.ok else None,
                                 gender=gender, born_abroad=born_abroad, today=today)
    for name_, checked in (("full_name", name), ("dob", dob), ("phone", phone),
                           ("cccd", cccd)):
        if not checked.ok:
            result.error(name_, checked.error)
        for warning in checked.warnings:
            result.warnings.append((name_, warning))
    relation = raw.get("relation")
    if relation not in RELATION_VALUES:
        result.error("relation", _l("Choose the relation from the list."))
    needs_support = _truthy(raw.get("needs_home_support"))
    reason = raw.get("support_reason") or None
    if reason is not None and reason not in SUPPORT_VALUES:
        result.error("support_reason", _l("Choose a reason from the list."))
    basis = raw.get("lawful_basis")
    if basis not in LAWFUL_BASIS_VALUES:
        result.error("lawful_basis", _l(
            "Record why this data may be kept: official duty or the resident's consent. "
            "Silence is not consent."))
    if db is not None and cccd.ok and cccd.value:
        existing = queries.find_by_cccd(db, ward_code, cccd.value, except_id=except_id)
        if existing:
            result.duplicate = existing
            result.error("cccd", _l(
                "This CCCD already belongs to %(name)s in this ward. Open that person "
                "instead of adding them again.", name=existing["full_name"]))
    if db is not None and name.ok and dob.ok:
        twins = queries.find_by_name_dob(db, ward_code, name.value, dob.value,
                                         except_id=except_id)
        if twins:
            result.duplicate = result.duplicate or twins[0]
            result.warnings.append(("full_name", _l(
                "Someone with the same name and date of birth is already registered in "
                "this ward. Check it is not the same person.")))
    if result.ok:
        result.cleaned = {
            "full_name": name.value, "dob": dob.value, "gender": gender,
            "cccd": cccd.value, "is_born_abroad": int(born_abroad), "phone": phone.value,
            "relation": relation, "needs_home_support": int(needs_support),
            "support_reason": reason if needs_support else None, "lawful_basis": basis,
        }
    return result
