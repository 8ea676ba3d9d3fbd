"""The one place WardKit reads the time, so tests can move it (monkeypatch `clock.now`)."""
from datetime import date, datetime, timedelta, timezone

# Viet Nam keeps no daylight saving time: Hanoi is always UTC+7.
HANOI = timezone(timedelta(hours=7))


def now() -> datetime:
    """Return the current time as an aware UTC datetime."""
    return datetime.now(timezone.utc)


def today() -> date:
    """Return today's date in Hanoi (what "today" means to a ward, not to UTC)."""
    return now().astimezone(HANOI).date()


def iso(dt: datetime) -> str:
    """Return `dt` as fixed-width UTC ISO-8601 text, which sorts as it compares."""
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def now_iso() -> str:
    """Return the current time as stored in every `*_at` column."""
    return iso(now())


def parse(text: str) -> datetime:
    """Return the aware datetime of a stored `*_at` value."""
    return datetime.fromisoformat(text)  # "...Z" is UTC (Python 3.11+)
