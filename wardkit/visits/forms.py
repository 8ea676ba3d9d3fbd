"""The visit form (outcome, come-back time in two taps, notes, per-adult onboarding) and
the assignment form, parsed by hand: the per-resident fields are named after resident
ids, which a fixed WTForms class cannot declare. CSRF is checked by CSRFProtect."""
from datetime import date, datetime, time, timedelta

from flask_babel import format_date
from flask_babel import lazy_gettext as _l

from ..clock import HANOI
from .queries import IHANOI_CHOICES, OUTCOMES

# The come-back hours offered: morning, late morning, afternoon, after work, evening.
COME_BACK_TIMES = ("08:00", "10:00", "14:00", "17:00", "19:30")
NOTES_MAX = 1000


def come_back_days(today: date) -> list[tuple[str, str]]:
    """Return the come-back day choices (ISO value, label): today, tomorrow, and the
    first Saturday and Sunday after tomorrow (the weekend round)."""
    days = [(today, _l("Today")), (today + timedelta(days=1), _l("Tomorrow"))]
    for weekday, label in ((5, _l("Saturday")), (6, _l("Sunday"))):
        ahead = (weekday - today.weekday()) % 7
        if ahead < 2:
            ahead += 7
        days.append((today + timedelta(days=ahead), label))
    days.sort(key=lambda d: d[0])
    return [(d.isoformat(), f"{label} {format_date(d, 'dd/MM')}") for d, label in days]


class VisitForm:
    """Parse and check a posted visit. After `validate()`, `errors` maps field names to
    messages and, when it is empty, `outcome`, `notes`, `follow_up_at` (aware datetime
    or None) and `onboarding` ({resident_id: {...}}) are ready for record_visit."""

    def __init__(self, formdata, residents: list[dict], *, today: date, now: datetime):
        self.data = formdata
        self.residents = residents
        self.today = today
        self.now = now
        self.errors: dict[str, str] = {}
        self.outcome = formdata.get("outcome", "")
        self.notes = (formdata.get("notes") or "").strip()
        self.come_back_day = formdata.get("come_back_day", "")
        self.come_back_time = formdata.get("come_back_time", "")
        self.follow_up_at = None
        self.onboarding = {}

    @classmethod
    def blank(cls, residents: list[dict], *, today: date, now: datetime) -> "VisitForm":
        """Return an empty form showing the residents' current statuses."""
        return cls({}, residents, today=today, now=now)

    def status_of(self, resident: dict) -> str:
        """Return the iHanoi status to show checked for `resident` (posted or stored)."""
        return self.data.get(f"ihanoi-{resident['id']}", resident["ihanoi_status"])

    def zalo_of(self, resident: dict) -> bool:
        """Return whether the Zalo OA box shows ticked for `resident`."""
        if self.data:
            return self.data.get(f"zalo-{resident['id']}") == "1"
        return bool(resident["is_zalo_followed"])

    def validate(self) -> bool:
        """Check the posted values; return True when the visit can be recorded."""
        if self.outcome not in OUTCOMES:
            self.errors["outcome"] = _l("Choose what happened at the door.")
        if len(self.notes) > NOTES_MAX:
            self.errors["notes"] = _l("Notes can be at most %(max)d characters.",
                                      max=NOTES_MAX)
        if self.outcome == "come_back":
            self._check_come_back()
        for resident in self.residents:
            rid = resident["id"]
            status = self.data.get(f"ihanoi-{rid}")
            wanted = {}
            if status is not None and status != resident["ihanoi_status"]:
                if status not in IHANOI_CHOICES:
                    self.errors[f"ihanoi-{rid}"] = _l("Choose one of the iHanoi steps.")
                    continue
                wanted["ihanoi_status"] = status
            zalo = 1 if self.data.get(f"zalo-{rid}") == "1" else 0
            if zalo != resident["is_zalo_followed"]:
                wanted["is_zalo_followed"] = zalo
            if wanted:
                self.onboarding[rid] = wanted
        return not self.errors

    def _check_come_back(self):
        offered = dict(come_back_days(self.today))
        if self.come_back_day not in offered:
            self.errors["come_back_day"] = _l("Choose the day to come back.")
        if self.come_back_time not in COME_BACK_TIMES:
            self.errors["come_back_time"] = _l("Choose the time to come back.")
        if self.errors.get("come_back_day") or self.errors.get("come_back_time"):
            return
        hour, minute = (int(p) for p in self.come_back_time.split(":"))
        when = datetime.combine(date.fromisoformat(self.come_back_day),
                                time(hour, minute), HANOI)
        if when <= self.now:
            self.errors["come_back_time"] = _l("That time has passed. Choose a later one.")
            return
        self.follow_up_at = when


class AssignmentForm:
    """Parse and check a posted assignment: `group_id` and `officer_id`, both the
    ward's (checked against the lists given)."""

    def __init__(self, formdata=None, *, groups: list[dict], users: list[dict]):
        formdata = formdata or {}
        self.group_id = formdata.get("group_id", "")
        self.officer_id = formdata.get("officer_id", "")
        self.groups = groups
        self.users = users
        self.errors: dict[str, str] = {}

    def validate(self) -> bool:
        """Return True when both choices name one of the ward's groups and officers."""
        if self.group_id not in {g["id"] for g in self.groups}:
            self.errors["group_id"] = _l("Choose a residential group.")
        if self.officer_id not in {u["id"] for u in self.users}:
            self.errors["officer_id"] = _l("Choose an officer.")
        return not self.errors
