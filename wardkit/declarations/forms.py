"""The tablet form for licence and vehicle declarations. Field names are the column names.

Two ways in: `draft_fields()` turns whatever was typed into values `queries.save_draft` can
store (nothing blocks a draft; only unreadable dates are left empty and reported), and
`DeclarationForm.check()` runs the full checks of `plates` and `licences` before
`recorded`.
"""
from datetime import date

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, SelectChoice, SelectField, StringField

from .. import clock, names
from ..text import clean_line
from ..vocabulary import (CHANNEL_LABELS, CONSENT_METHOD_LABELS, LAWFUL_BASIS_LABELS,
                          PLATE_COLOUR_LABELS, SITUATION_LABELS, VEHICLE_TYPE_LABELS)
from . import licences, plates
from .workflow import CHANNELS, CONSENT_METHODS, LAWFUL_BASES, SITUATIONS, missing_for_record

# Offered under the class field (a datalist): what may be printed on a card, old or new.
CLASS_SUGGESTIONS = tuple(dict.fromkeys(licences.NEW_CLASSES + licences.OLD_CLASSES
                                        + (licences.OLD_B1_AUTOMATIC,)))

DATE_FIELDS = ("issued_on", "expires_on", "registered_on")
_ENUMS = {"lawful_basis": LAWFUL_BASES, "consent_method": CONSENT_METHODS,
          "channel": CHANNELS, "situation": SITUATIONS,
          "vehicle_type": plates.VEHICLE_TYPES, "plate_colour": tuple(PLATE_COLOUR_LABELS)}
_BOOLS = ("is_paper_licence", "owner_is_resident")
COMMON_FIELDS = ("lawful_basis", "consent_method", "channel")
LICENCE_FIELDS = ("licence_no", "is_paper_licence", "licence_class", "issued_on",
                  "expires_on", "issuing_authority")
VEHICLE_FIELDS = ("vehicle_type", "plate", "plate_colour", "chassis_no", "engine_no",
                  "brand", "model", "colour", "reg_cert_no", "registered_on", "owner_name",
                  "owner_is_resident", "situation")
KIND_FIELDS = {"licence": LICENCE_FIELDS, "vehicle": VEHICLE_FIELDS}
MAX_TEXT = 200

def _choices(labels: dict, blank=False) -> list:
    head = [SelectChoice("", _l("— choose —"))] if blank else []
    return head + [SelectChoice(k, v) for k, v in labels.items()]


def _text(value) -> str | None:
    return (clean_line(value or "")[:MAX_TEXT]) or None


def draft_fields(form_data, kind: str) -> tuple[dict, list[str]]:
    """Return (fields for save_draft, names of dates that could not be read) from a posted
    form: text as typed (one line, trimmed), choices outside their list dropped, dates as
    ISO when readable and else empty. Only the fields of this kind (and the common ones)."""
    fields, bad_dates = {}, []
    for name in COMMON_FIELDS + KIND_FIELDS.get(kind, ()):
        if name in _BOOLS:
            fields[name] = form_data.get(name) in ("y", "1", "on", "true")
        elif name in DATE_FIELDS:
            parsed, ok = licences.parse_date(form_data.get(name))
            fields[name] = parsed.isoformat() if parsed else None
            if not ok:
                bad_dates.append(name)
        elif name in _ENUMS:
            value = form_data.get(name) or None
            if value in _ENUMS[name]:
                fields[name] = value
            elif name != "channel":   # a declaration always has a channel
                fields[name] = None
        else:
            fields[name] = _text(form_data.get(name))
    return fields, bad_dates


class DeclarationForm(FlaskForm):
    # Common
    lawful_basis = RadioField(_l("Basis for recording"), choices=_choices(LAWFUL_BASIS_LABELS),
                              validate_choice=False)
    consent_method = RadioField(_l("How the resident agreed"),
                                choices=_choices(CONSENT_METHOD_LABELS), validate_choice=False)
    channel = RadioField(_l("Where"), choices=_choices(CHANNEL_LABELS), validate_choice=False)
    # Licence
    licence_no = StringField(_l("Licence number (12 digits on a PET card)"))
    is_paper_licence = BooleanField(_l("Old paper licence"))
    licence_class = StringField(_l("Class as printed on the licence"))
    issued_on = StringField(_l("Date of issue (dd/mm/yyyy)"))
    expires_on = StringField(_l("Expiry date (dd/mm/yyyy), if printed"))
    issuing_authority = StringField(_l("Issued by"))
    # Vehicle
    vehicle_type = SelectField(_l("Type of vehicle"), choices=_choices(VEHICLE_TYPE_LABELS, True),
                               validate_choice=False)
    plate = StringField(_l("Plate number, as printed"))
    plate_colour = SelectField(_l("Plate colour"), choices=_choices(PLATE_COLOUR_LABELS, True),
                               validate_choice=False)
    chassis_no = StringField(_l("Chassis number"))
    engine_no = StringField(_l("Engine number"))
    brand = StringField(_l("Brand"))
    model = StringField(_l("Model"))
    colour = StringField(_l("Colour"))
    reg_cert_no = StringField(_l("Registration certificate number"))
    registered_on = StringField(_l("First registered on (dd/mm/yyyy)"))
    owner_name = StringField(_l("Registered owner (as on the certificate)"))
    owner_is_resident = BooleanField(_l("The registered owner is this resident"))
    situation = RadioField(_l("Situation"), choices=_choices(SITUATION_LABELS),
                           validate_choice=False)
    confirm_warnings = BooleanField(_l("I have checked the warnings above; record anyway"))

    # Filled by check(): values to store, warnings the officer must confirm, and a
    # summary of what will be read back to the resident.
    cleaned: dict = {}
    warnings: list = []

    @classmethod
    def from_row(cls, row: dict) -> "DeclarationForm":
        """Return the form filled from a stored declaration (dates shown dd/mm/yyyy)."""
        data = {}
        for name in COMMON_FIELDS + KIND_FIELDS.get(row["kind"], ()):
            value = row.get(name)
            if name in DATE_FIELDS and value:
                y, m, d = value[:10].split("-")
                value = f"{d}/{m}/{y}"
            elif name in _BOOLS:
                value = bool(value)
            data[name] = value if value is not None else ""
        return cls(formdata=None, data=data)

    def _error(self, name: str, message) -> None:
        field = self[name]
        field.errors = list(field.errors) + [message]

    def check(self, declaration: dict, resident: dict | None) -> bool:
        """Validate everything for `recorded`; return True when it may be read back.

        Hard errors go on their field; warnings block until `confirm_warnings` is ticked.
        Afterwards `cleaned` holds the values to store (with plate_compact,
        licence_class_new, expires_on, needs_exchange computed) and `warnings` the
        (field, message) pairs.
        """
        self.validate()   # CSRF and WTForms' own checks
        kind = declaration["kind"]
        fields, bad_dates = draft_fields(self._raw(), kind)
        cleaned, warnings = dict(fields), []
        for name in bad_dates:
            self._error(name, _l("Type the date as day/month/year, e.g. 25/03/2019."))
        basis = self.lawful_basis.data
        if basis not in LAWFUL_BASES:
            self._error("lawful_basis", _l(
                "Choose the basis for recording: the resident's agreement or official duty. "
                "Silence is not agreement."))
        elif basis == "consent" and self.consent_method.data not in CONSENT_METHODS:
            self._error("consent_method", _l("Say how the resident agreed: verbally or in "
                                             "writing."))
        if basis != "consent":
            cleaned["consent_method"] = None
        if self.channel.data not in CHANNELS:
            cleaned["channel"] = declaration["channel"]
        if kind == "licence":
            warnings += self._check_licence(cleaned, resident, bad_dates)
        else:
            warnings += self._check_vehicle(cleaned, bad_dates)
        for name in missing_for_record({**cleaned, "kind": kind}):
            if name in ("lawful_basis", "consent_method") or self[name].errors:
                continue   # explained above
            if name in ("plate", "chassis_no"):
                self._error(name, _l("Enter the plate number or, if the vehicle has no "
                                     "plate, the chassis number."))
            else:
                self._error(name, _l("This is needed before the declaration can be "
                                     "recorded."))
        self.cleaned, self.warnings = cleaned, warnings
        if self.has_errors:
            return False
        return not warnings or bool(self.confirm_warnings.data)

    @property
    def has_errors(self) -> bool:
        return any(f.errors for f in self)

    @property
    def needs_confirmation(self) -> bool:
        """Return True when only unconfirmed warnings stand in the way."""
        return bool(self.warnings) and not self.has_errors

    def _raw(self) -> dict:
        raw = {f.name: f.data for f in self}
        for name in _BOOLS:
            raw[name] = "y" if raw.get(name) else ""
        return raw

    def _check_licence(self, cleaned: dict, resident: dict | None, bad_dates) -> list:
        warnings = []
        paper = bool(self.is_paper_licence.data)
        number = licences.check_licence_number(self.licence_no.data or "", paper=paper)
        if number.error:
            self._error("licence_no", number.error)
        elif number.value:
            cleaned["licence_no"] = number.value["number"]
            cleaned["needs_exchange"] = number.value["needs_exchange"]
            warnings += [("licence_no", w) for w in number.warnings]
        if bad_dates or not (self.licence_class.data or "").strip():
            return warnings
        if not cleaned.get("issued_on"):
            return warnings   # reported as missing
        dob = date.fromisoformat(resident["dob"][:10]) if resident and resident.get("dob") \
            else None
        result = licences.check_licence(
            self.licence_class.data, cleaned["issued_on"], cleaned.get("expires_on"),
            dob=dob, gender=resident.get("gender") if resident else None,
            today=clock.today())
        if result.error:
            issued = date.fromisoformat(cleaned["issued_on"])
            expires = cleaned.get("expires_on")
            if issued > clock.today() or (dob and issued < dob):
                self._error("issued_on", result.error)
            elif expires and date.fromisoformat(expires) < issued:
                self._error("expires_on", result.error)
            else:
                self._error("licence_class", result.error)
            return warnings
        value = result.value
        cleaned["licence_class"] = value["licence_class"]
        cleaned["licence_class_new"] = value["licence_class_new"]
        cleaned["expires_on"] = value["expires_on"].isoformat() if value["expires_on"] \
            else None
        self.licence_note = value["note"]
        warnings += [("licence_class", w) for w in result.warnings]
        return warnings

    def _check_vehicle(self, cleaned: dict, bad_dates) -> list:
        warnings = []
        vtype = self.vehicle_type.data if self.vehicle_type.data in plates.VEHICLE_TYPES \
            else None
        plate = plates.check_plate(self.plate.data or "", vehicle_type=vtype,
                                     today=clock.today())
        if plate.error:
            self._error("plate", plate.error)
        elif plate.value:
            cleaned["plate"] = plate.value["plate"]
            cleaned["plate_compact"] = plate.value["compact"]
            self.plate_display = plate.value["display"]
            warnings += [("plate", w) for w in plate.warnings]
        else:
            cleaned["plate_compact"] = None
        for name, checked in (
                ("chassis_no", plates.check_vin(self.chassis_no.data or "",
                                                  vehicle_type=vtype)),
                ("engine_no", plates.check_engine_no(self.engine_no.data or ""))):
            if checked.error:
                self._error(name, checked.error)
            else:
                cleaned[name] = checked.value
                warnings += [(name, w) for w in checked.warnings]
        # The registered owner is a person's name (the resident's own rules) unless it is
        # an organisation's ("Công ty …"): docs/DOMAIN-RULES.md, "Names".
        owner = names.check_name(self.owner_name.data, required=False,
                                 max_length=MAX_TEXT, organisation_ok=True)
        if owner.error:
            self._error("owner_name", owner.error)
        else:
            cleaned["owner_name"] = owner.value
            warnings += [("owner_name", w) for w in owner.warnings]
        if self.situation.data not in SITUATIONS:
            cleaned["situation"] = None
        return warnings


def readback_rows(declaration: dict, values: dict) -> list[tuple]:
    """Return (label, value) pairs to read back to the resident, in form order."""
    form = DeclarationForm(formdata=None)
    labels = {"lawful_basis": LAWFUL_BASIS_LABELS, "consent_method": CONSENT_METHOD_LABELS,
              "channel": CHANNEL_LABELS, "situation": SITUATION_LABELS,
              "vehicle_type": VEHICLE_TYPE_LABELS, "plate_colour": PLATE_COLOUR_LABELS}
    rows = []
    for name in KIND_FIELDS[declaration["kind"]] + COMMON_FIELDS:
        value = values.get(name)
        if name in _BOOLS:
            shown = _l("Yes") if value else _l("No")
        elif value is None or value == "":
            continue
        elif name in labels:
            shown = labels[name].get(value, value)
        elif name in DATE_FIELDS:
            y, m, d = str(value)[:10].split("-")
            shown = f"{d}/{m}/{y}"
        else:
            shown = value
        rows.append((form[name].label.text, shown))
        if name == "licence_class" and values.get("licence_class_new"):
            rows.append((_l("Class under the 2024 law"), values["licence_class_new"]))
    return rows
