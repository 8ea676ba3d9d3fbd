"""The report clock: a thread in each server process that takes the day's report once the
cut-off has passed, so a report exists for every day the ward's computer was on — even
if nobody opened WardKit (docs/ARCHITECTURE.md#reports). No cron needed. The same minute
also purges the kiosk's queue (docs/ARCHITECTURE.md#kiosk).

Several server processes each run one; the report's (ward, day, revision) key lets only
the first insert, so there is still one report per day.
"""
import logging
import threading

from .. import connections
from . import snapshots

log = logging.getLogger(__name__)

# How often the clock looks: a minute late at worst, and a clock set forward or back
# (a laptop waking up, a corrected time) is noticed within a minute.
INTERVAL_SECONDS = 60


def tick(app) -> list[str]:
    """Take today's report for each ward that is due and has none, and purge the kiosk's
    queue of what nobody processed in time and of idle turns (wardkit/kiosk/queue.py);
    return the ward codes a report was taken for. Uses a connection of its own (the
    thread has no request)."""
    from ..kiosk import queue
    with app.app_context():
        db = connections.connect(app.config["DATABASE"])
        try:
            taken = snapshots.ensure_due_snapshots(db)
            queue.purge(db)
            return taken
        finally:
            db.conn.close()


def start(app, *, interval: float = INTERVAL_SECONDS) -> threading.Event:
    """Start the report clock for `app` in a daemon thread (first look at once); return
    the event that stops it."""
    stop = threading.Event()

    def run():
        while True:
            try:
                taken = tick(app)
                if taken:
                    log.info("daily report taken for %s", ", ".join(taken))
            except Exception:  # keep the clock alive: the next minute tries again
                log.exception("the report clock could not take the daily report")
            if stop.wait(interval):
                return

    threading.Thread(target=run, name="wardkit-report-clock", daemon=True).start()
    return stop
