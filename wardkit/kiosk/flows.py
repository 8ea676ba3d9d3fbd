"""What a resident answers at the kiosk, one question per screen, as data
(docs/ARCHITECTURE.md#kiosk). Each flow is a list of steps; a step asks for one field,
may be skipped when optional, and appears only when `show` says so given the answers
so far. Every answer is checked with the same checks as the officer's form
(wardkit/declarations; what differs: docs/DOMAIN-RULES.md#kiosk-declarations), and
stored in the form `declarations.queries.save_draft` takes,
so that a served request becomes a draft with every field the resident gave.

No request, no database: `check()` returns (value, error) and the views do the rest.
"""
from dataclasses import dataclass, field as dataclass_field
from typing import Callable

from flask_babel import lazy_gettext as _l

from .. import clock, names, validators
from ..declarations import licences, plates
from ..text import clean_line
from ..vocabulary import PLATE_COLOUR_LABELS, SITUATION_LABELS, VEHICLE_TYPE_LABELS

MAX_TEXT = 200

REASON_LABELS = {"ihanoi": _l("Help with iHanoi"), "declaration": _l("Help with a declaration"),
                 "other": _l("Something else")}
YES_NO = {"yes": _l("Yes"), "no": _l("No")}
LICENCE_FORM_LABELS = {"card": _l("A plastic card (PET)"), "paper": _l("An old paper licence")}
# The classes offered as buttons: every class a card may show, new table first.
CLASS_CHOICES = tuple(dict.fromkeys(licences.NEW_CLASSES + licences.OLD_CLASSES))


@dataclass(frozen=True)
class Step:
    """One screen: `name` (in the URL), the `field` it fills, how it asks (`kind`:
    choice, text, date, readback, review), its question and hint, whether it may be
    skipped, when it is shown, and the check of what was typed."""

    name: str
    kind: str
    question: object
    hint: object = None
    field: str | None = None
    choices: dict = dataclass_field(default_factory=dict)
    optional: bool = False
    inputmode: str = "text"
    show: Callable[[dict], bool] = lambda answers: True
    check: Callable[[str, dict], tuple] | None = None


def _text(raw, answers):
    return (clean_line(raw)[:MAX_TEXT] or None), None


def _checked(result):
    """Return (value, error) from a validators.Checked (warnings are the officer's)."""
    return (None, result.error) if result.error else (result.value, None)


def _plate(raw, answers):
    result = plates.check_plate(raw, vehicle_type=answers.get("vehicle_type"),
                                today=clock.today())
    return (None, result.error) if result.error else (
        result.value["plate"] if result.value else None, None)


def _chassis(raw, answers):
    value, error = _checked(plates.check_vin(raw, vehicle_type=answers.get("vehicle_type")))
    if not error and not value and not answers.get("plate"):
        return None, _l("A vehicle without a plate is known by its chassis number: type "
                        "it from the registration certificate or the frame.")
    return value, error


def _date(raw, answers, *, future_ok=False):
    """Return (ISO date or None, error) for a typed dd/mm/yyyy date; a date after today is
    refused unless `future_ok` (an expiry)."""
    parsed, ok = licences.parse_date(raw)
    if not ok:
        return None, _l("Type the date as day/month/year, e.g. 25/03/2019.")
    if parsed and parsed > clock.today() and not future_ok:
        return None, _l("This date is in the future. Read it again from the paper.")
    return (parsed.isoformat() if parsed else None), None


def _licence_dates(issued, expires, answers):
    """Return (the date just typed, error) once the class and dates are checked together,
    as on the officer's form (without the date of birth: the kiosk knows nobody)."""
    result = licences.check_licence(answers.get("licence_class"), issued, expires,
                                    today=clock.today())
    return (None, result.error) if result.error else (expires or issued, None)


def _issued(raw, answers):
    value, error = _date(raw, answers)
    return (None, error) if error else _licence_dates(value, None, answers)


def _expiry(raw, answers):
    value, error = _date(raw, answers, future_ok=True)
    return (None, error) if error else _licence_dates(answers.get("issued_on"), value,
                                                      answers)


def _licence_no(raw, answers):
    result = licences.check_licence_number(raw, paper=answers.get("licence_form") == "paper")
    if result.error:
        return None, result.error
    if not result.value:
        return None, _l("Type the licence number printed on the licence.")
    return result.value["number"], None


def _owner(raw, answers):
    return _checked(names.check_name(raw, required=False, max_length=MAX_TEXT,
                                     organisation_ok=True))


def _name(raw, answers):
    return _checked(names.check_name(raw, required=False, max_length=100))


def _phone(raw, answers):
    return _checked(validators.check_phone(raw))


def _has(name):
    return lambda answers: bool(answers.get(name))


def _papers(answers):
    return answers.get("papers") == "yes"


AGREE = Step("agree", "choice", _l("May the ward police record what you type here?"),
             _l("An officer will read it back to you and record it on your behalf. "
                "Nobody else sees it. If you say no, nothing is kept."),
             field="agree", choices={"yes": _l("Yes, I agree"), "no": _l("No")})
NAME = Step("name", "text", _l("Your full name"),
            _l("So the officer can find you in the ward's list. You may skip this."),
            field="name", optional=True, check=_name)
PHONE = Step("phone", "text", _l("Your phone number"),
             _l("Optional. Only the officer sees it."), field="phone", optional=True,
             inputmode="tel", check=_phone)
REVIEW = Step("review", "review", _l("Please check, then press Send"))

FLOWS = {
    "ticket": (
        Step("reason", "choice", _l("What do you need help with?"), field="reason",
             choices=REASON_LABELS),
        NAME, PHONE, REVIEW,
    ),
    "vehicle": (
        AGREE,
        Step("type", "choice", _l("What kind of vehicle?"), field="vehicle_type",
             choices=VEHICLE_TYPE_LABELS),
        Step("plate", "text", _l("The number plate"),
             _l("As printed on the plate, e.g. 29-X1 234.56. No plate yet? Press Skip."),
             field="plate", optional=True, check=_plate),
        Step("plate-check", "readback", _l("Is this your plate?"), field="plate",
             show=_has("plate")),
        Step("colour", "choice", _l("The colour of the plate"), field="plate_colour",
             choices=PLATE_COLOUR_LABELS, optional=True, show=_has("plate")),
        Step("situation", "choice", _l("What is the vehicle's situation?"), field="situation",
             choices=SITUATION_LABELS),
        Step("owner", "choice", _l("Is the vehicle registered in your name?"),
             field="owner_is_resident", choices=YES_NO),
        Step("owner-name", "text", _l("The owner's name on the registration certificate"),
             _l("A person's or a company's name. You may skip this."), field="owner_name",
             optional=True, show=lambda a: a.get("owner_is_resident") == "no", check=_owner),
        Step("papers", "choice", _l("Do you have the registration certificate with you?"),
             _l("The certificate (cà vẹt) has the chassis and engine numbers."),
             field="papers", choices=YES_NO),
        Step("chassis", "text", _l("Chassis number"), _l("On the certificate (Số khung)."),
             field="chassis_no", optional=True,
             show=lambda a: _papers(a) or not a.get("plate"), check=_chassis),
        Step("engine", "text", _l("Engine number"), _l("On the certificate (Số máy)."),
             field="engine_no", optional=True, show=_papers,
             check=lambda raw, a: _checked(plates.check_engine_no(raw))),
        Step("brand", "text", _l("Brand"), _l("e.g. Honda"), field="brand", optional=True,
             show=_papers, check=_text),
        Step("model", "text", _l("Model"), _l("e.g. Wave Alpha"), field="model",
             optional=True, show=_papers, check=_text),
        Step("vehicle-colour", "text", _l("Colour of the vehicle"), field="colour",
             optional=True, show=_papers, check=_text),
        Step("certificate", "text", _l("Registration certificate number"),
             field="reg_cert_no", optional=True, show=_papers, check=_text),
        Step("registered", "date", _l("First registered on"), _l("Day/month/year."),
             field="registered_on", optional=True, inputmode="numeric", show=_papers,
             check=_date),
        NAME, PHONE, REVIEW,
    ),
    "licence": (
        AGREE,
        Step("form", "choice", _l("What does your driving licence look like?"),
             field="licence_form", choices=LICENCE_FORM_LABELS),
        Step("number", "text", _l("The licence number"),
             _l("12 digits, printed on the card."), field="licence_no", inputmode="numeric",
             show=lambda a: a.get("licence_form") == "card", check=_licence_no),
        Step("paper-number", "text", _l("The licence number"),
             _l("Letters and digits, as printed on the paper licence."), field="licence_no",
             show=lambda a: a.get("licence_form") == "paper", check=_licence_no),
        Step("class", "choice", _l("The class printed on the licence"),
             field="licence_class", choices={c: c for c in CLASS_CHOICES}),
        Step("issued", "date", _l("Date of issue"), _l("Day/month/year, as printed."),
             field="issued_on", inputmode="numeric", check=_issued),
        Step("expires", "date", _l("Expiry date"),
             _l("Day/month/year. No expiry printed? Press Skip."), field="expires_on",
             optional=True, inputmode="numeric", check=_expiry),
        Step("authority", "text", _l("Issued by"), _l("You may skip this."),
             field="issuing_authority", optional=True, check=_text),
        NAME, PHONE, REVIEW,
    ),
}
# The answers that are the resident's own contact details, kept on the ticket; the rest of
# a declaration flow's answers become the kiosk request.
CONTACT_FIELDS = ("name", "phone")
TITLES = {"ticket": _l("Take a number"), "vehicle": _l("Declare a vehicle"),
          "licence": _l("Declare a driving licence")}


def steps(flow: str, answers: dict) -> list[Step]:
    """Return the steps of `flow` shown for these answers, in order."""
    return [s for s in FLOWS[flow] if s.show(answers)]


def find(flow: str, name: str) -> Step | None:
    """Return the step `name` of `flow`, or None."""
    return next((s for s in FLOWS.get(flow, ()) if s.name == name), None)


def after(flow: str, name: str, answers: dict) -> Step | None:
    """Return the step shown after `name` given the answers, or None at the end."""
    shown = steps(flow, answers)
    names_ = [s.name for s in shown]
    if name not in names_:
        return shown[0] if shown else None
    index = names_.index(name)
    return shown[index + 1] if index + 1 < len(shown) else None


def before(flow: str, name: str, answers: dict) -> Step | None:
    """Return the step shown before `name` given the answers, or None at the start."""
    shown = [s.name for s in steps(flow, answers)]
    if name not in shown or shown.index(name) == 0:
        return None
    return find(flow, shown[shown.index(name) - 1])


def first_unanswered(flow: str, answers: dict) -> Step | None:
    """Return the first screen shown for these answers that still needs one (a required
    question never answered, or the agreement not given), or None when all are in."""
    for s in steps(flow, answers):
        if s.check is _chassis and not answers.get("plate") and not answers.get("chassis_no"):
            return s  # a vehicle without a plate is known by its chassis number
        if s.kind in ("readback", "review") or s.optional:
            continue
        if s is AGREE and answers.get("agree") != "yes":
            return s
        if answers.get(s.field) in (None, ""):
            return s
    return None


def answer(step: Step, raw: str | None, answers: dict) -> tuple[object, object]:
    """Return (the value to keep, an error message or None) for what was given on `step`:
    a choice must be one of the step's; typed text goes through the step's check."""
    raw = (raw or "").strip()
    if step.kind == "choice":
        if raw not in step.choices:
            return None, _l("Press one of the buttons.")
        return raw, None
    if not raw:
        if step.optional:
            return (step.check("", answers) if step.check is _chassis else (None, None))
        return None, _l("Please fill this in, or ask an officer for help.")
    return step.check(raw, answers) if step.check else (clean_line(raw)[:MAX_TEXT], None)


def request_fields(flow: str, answers: dict) -> dict:
    """Return the fields of a declaration typed at the kiosk, in the form save_draft
    takes (the derived ones computed as the officer's form would), for the steps shown."""
    shown = {s.field for s in steps(flow, answers) if s.field}
    kept = {k: v for k, v in answers.items() if k in shown}
    for k in CONTACT_FIELDS + ("agree", "papers", "licence_form"):
        kept.pop(k, None)
    if flow == "vehicle":
        kept["owner_is_resident"] = answers.get("owner_is_resident") == "yes"
        plate = plates.check_plate(kept.get("plate") or "", vehicle_type=kept.get(
            "vehicle_type"), today=clock.today()).value
        kept["plate_compact"] = plate["compact"] if plate else None
    else:
        paper = answers.get("licence_form") == "paper"
        kept["is_paper_licence"] = paper
        number = licences.check_licence_number(kept.get("licence_no") or "", paper=paper)
        kept["needs_exchange"] = bool(number.value and number.value["needs_exchange"])
    return kept


def review_rows(flow: str, answers: dict) -> list[tuple]:
    """Return (question, answer as shown, field) for every answer given in `flow`, in
    order, for the screen that asks the resident to check before sending."""
    rows, seen = [], set()
    for s in steps(flow, answers):
        if not s.field or s.kind in ("readback", "review") or s is AGREE or s.field in seen:
            continue
        seen.add(s.field)
        value = answers.get(s.field)
        if value in (None, ""):
            continue
        if s.kind == "choice":
            shown = s.choices.get(value, value)
        elif s.kind == "date":
            shown = "/".join(reversed(str(value)[:10].split("-")))
        else:
            shown = value
        rows.append((s.question, shown, s.field))
    return rows
