"""The Hanoi day, as visits and the progress report count it. Times are stored in UTC
(wardkit.clock); "today" is the Hanoi day."""
from datetime import date, datetime, time, timedelta

from .. import clock

ADULT_AGE = 15


def local_today(now: datetime | None = None) -> date:
    """Return the Hanoi date at `now` (the current time unless given)."""
    return (now or clock.now()).astimezone(clock.HANOI).date()


def day_bounds(day: date) -> tuple[str, str]:
    """Return the stored (UTC) text of the start of `day` in Hanoi and of the next day."""
    start = datetime.combine(day, time(0, 0), clock.HANOI)
    return clock.iso(start), clock.iso(start + timedelta(days=1))


def adult_cutoff(report_date: date) -> str:
    """Return the latest ISO date of birth of someone aged 15 or more on `report_date`.

    Compared as text with the stored ISO `dob`, so a 29 February cutoff needs no real date.
    """
    return f"{report_date.year - ADULT_AGE:04d}-{report_date.month:02d}-{report_date.day:02d}"
