"""Help sessions (docs/ARCHITECTURE.md#kiosk): the evenings and weekends officers spend at a
community house. A ticket or kiosk request made while a session of the ward is open
belongs to it."""
from datetime import datetime

from .. import clock


def open_session(db, ward_code: str, now: datetime) -> dict | None:
    """Return the ward's help session open at `now` (Hanoi day and time), or None; when
    two overlap, the one that started last."""
    local = now.astimezone(clock.HANOI)
    return next(iter(db.query(
        """SELECT * FROM help_sessions
           WHERE ward_code = :ward AND day = :day AND deleted_at IS NULL
             AND starts_at <= :time AND ends_at > :time
           ORDER BY starts_at DESC LIMIT 1""",
        {"ward": ward_code, "day": local.date().isoformat(),
         "time": local.strftime("%H:%M")})), None)
