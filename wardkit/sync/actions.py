"""What the /sync page does on a kit: export its push bundle, import the hub's pull, and
"sync now" as a background job the page polls (wardkit/jobs.py;
docs/ARCHITECTURE.md#background-jobs).

A job's files are in `SYNC_JOBS_DIR` (default `instance/sync-jobs/`): `<token>.json`
(whose job), `<token>.status` (the step: push, push again, pull; then the counts or the
error) and `<token>.lock`.
"""
from .. import audit, clock
from ..db import connect, write
from ..jobs import Jobs
from . import client, queries, rounds
from .apply import Refused, Result

JOB_TTL = 30 * 60
# States: queued, running (`step`), then done (`push`, `pull` counts) or error
# (`error`: "unreachable" or "refused", `reason`); failed when the worker died.
JOBS = Jobs(name="sync", setting="SYNC_JOBS_DIR", folder="sync-jobs", ttl=JOB_TTL,
            running=("queued", "running"))
STEPS = ("push", "push again", "pull")


def export_push(db, *, by: str | None) -> tuple[bytes, int, str]:
    """Return (this kit's sealed push bundle, its change count, the kit's name) and audit
    the export (a bundle leaves the machine on a USB stick)."""
    kit = queries.kit(db)
    data, count = rounds.push_bundle(db)
    with write(db):
        audit.record(db, "sync_bundle_exported", user_id=by, ward_code=kit["ward_code"],
                     entity="sync_kit", entity_id=kit["kit_id"], detail={"changes": count})
    return data, count, kit["name"]


def import_pull(db, data: bytes, *, by: str | None) -> Result:
    """Verify and apply the hub's pull bundle on this kit, audited with who imported it.

    :raises Refused: not a pull sealed for this kit by its hub (nothing written).
    """
    result = rounds.receive_pull(db, data)
    kit = queries.kit(db)
    with write(db):
        audit.record(db, "sync_bundle_imported", user_id=by, ward_code=kit["ward_code"],
                     entity="sync_kit", entity_id=kit["kit_id"], detail=result.counts())
    return result


def start_sync(ward_code: str, *, by: str, locale: str) -> str:
    """Start one round with the hub (push, then pull) in a background thread; return the
    job token."""
    JOBS.sweep()
    token = JOBS.create({"user_id": by, "ward_code": ward_code,
                         "created_at": clock.now_iso()})
    JOBS.start(token, _run, locale=locale, total=len(STEPS))
    return token


def _run(app, token: str) -> None:
    """Run `client.sync_now` with a connection of its own, writing each step and the
    outcome to the job's status."""
    db = connect(app.config["DATABASE"])
    try:
        def progress(step):
            JOBS.set_status(token, "running", app, step=step,
                            done=STEPS.index(step) if step in STEPS else 0, total=len(STEPS))
        try:
            done = client.sync_now(db, progress=progress)
        except client.HubUnreachable as exc:
            JOBS.set_status(token, "error", app, error="unreachable", reason=str(exc))
        except Refused as exc:
            JOBS.set_status(token, "error", app, error="refused", reason=exc.reason)
        else:
            JOBS.set_status(token, "done", app, done=len(STEPS), total=len(STEPS),
                            push=done["push"], pull=done["pull"])
    finally:
        db.close()
