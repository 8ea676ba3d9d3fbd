"""The form a leader plans a help session with: checked by hand like the assignment form
(wardkit/visits/forms.py), each error a message beside its field."""
import re

from flask_babel import lazy_gettext as _l

from .. import clock
from ..declarations.licences import parse_date
from ..text import clean_line

_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


class HelpSessionForm:
    """Parse and check a posted session: `day` (dd/mm/yyyy, today or later), `starts_at`
    and `ends_at` (HH:MM, the end after the start), `place` (1–200 characters) and
    `officer_ids` (at least one of the ward's officers given as `users`)."""

    def __init__(self, formdata=None, *, users: list[dict]):
        formdata = formdata or {}
        self.day = (formdata.get("day") or "").strip()
        self.starts_at = (formdata.get("starts_at") or "").strip()
        self.ends_at = (formdata.get("ends_at") or "").strip()
        self.place = clean_line(formdata.get("place"))
        self.officer_ids = formdata.getlist("officer_ids") if hasattr(
            formdata, "getlist") else list(formdata.get("officer_ids") or [])
        self.users = users
        self.errors: dict[str, object] = {}
        self.day_value = None

    def validate(self) -> bool:
        """Return True when every field is right; else `errors` maps field to message."""
        parsed, ok = parse_date(self.day)
        if not ok or parsed is None:
            self.errors["day"] = _l("Type the date as day/month/year, e.g. 25/12/2026.")
        elif parsed < clock.now().astimezone(clock.HANOI).date():
            self.errors["day"] = _l("This day is over: plan a session for today or later.")
        else:
            self.day_value = parsed
        for name in ("starts_at", "ends_at"):
            if not _TIME.match(getattr(self, name)):
                self.errors[name] = _l("Type the time as hours:minutes, e.g. 18:30.")
        if not self.errors.keys() & {"starts_at", "ends_at"} and self.ends_at <= self.starts_at:
            self.errors["ends_at"] = _l("The session must end after it starts.")
        if not self.place or len(self.place) > 200:
            self.errors["place"] = _l("Name the community house (up to 200 characters).")
        known = {u["id"] for u in self.users}
        if not self.officer_ids or not set(self.officer_ids) <= known:
            self.errors["officer_ids"] = _l("Choose at least one officer.")
        return not self.errors
