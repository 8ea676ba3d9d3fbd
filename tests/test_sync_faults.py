"""Faults during sync (docs/ARCHITECTURE.md#sync): the hub's process killed with SIGKILL
in the middle of applying a push leaves a consistent database, and the next round
completes with every change applied exactly once."""
import os
import pathlib
import signal
import subprocess
import sys

from wardkit.db import write
from wardkit.residents.queries import bulk_create
from wardkit.sync import queries, rounds

from tests.factories import WARD_A
from tests.processes import wait_for
from tests.test_sync import ward  # noqa: F401 - the fixture

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _households(group_id: str, n: int):
    for i in range(n):
        yield ({"group_id": group_id, "house_number": str(i + 1), "lane": "Ngõ 12",
                "street": "Âu Cơ"},
               [{"full_name": f"Nguyễn Văn Số {i}", "dob": "1980-01-01", "gender": "male",
                 "relation": "head", "lawful_basis": "official_duty"},
                {"full_name": f"Lê Thị Số {i}", "dob": "1982-02-02", "gender": "female",
                 "relation": "spouse", "lawful_basis": "official_duty"}])


def test_kill_9_of_the_hub_during_an_apply_then_a_completing_round(ward, tmp_path):  # noqa: F811
    kit = ward.join_by_file("K1")
    group = kit.db.execute("SELECT id FROM residential_groups").fetchone()
    if group is None:
        from tests.factories import make_group
        group = [make_group(ward.hub.db)["id"]]
        ward.usb_pull("K1")
    with write(kit.db):
        bulk_create(kit.db, ward_code=WARD_A, items=_households(group[0], 1500), by=None)
    data, sent = rounds.push_bundle(kit.db)
    assert sent >= 4500
    stick = tmp_path / "push.bundle"
    stick.write_bytes(data)

    env = {**os.environ, "WARDKIT_DATABASE": str(ward.hub.path),
           "WARDKIT_SECRET_KEY": "kill-9-test", "PYTHONPATH": str(ROOT)}
    hub = subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "sync", "import",
                            str(stick)], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    try:
        def acked():
            return ward.hub.db.execute("SELECT acked_seq FROM sync_devices WHERE name = 'K1'"
                                       ).fetchone()[0]
        wait_for(lambda: acked() >= 500, 60, "the hub to commit its first batch", every=0.005)
        os.kill(hub.pid, signal.SIGKILL)
    finally:
        hub.wait(10)
    assert hub.returncode == -signal.SIGKILL
    mark = acked()
    assert 0 < mark < sent, "the kill must land in the middle of the apply"

    # Consistent: whole batches only, the mark matching what was applied and logged.
    db = ward.hub.db
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    assert queries.state(db)["applying"] == 0
    device_id = queries.get_device(db, name="K1")["device_id"]
    assert db.execute("SELECT count(*), max(origin_seq) FROM sync_log WHERE origin_device = ?",
                      [device_id]).fetchone() == (mark, mark)
    assert mark % 500 == 0
    applied = db.execute("SELECT count(*) FROM residents").fetchone()[0] + \
        db.execute("SELECT count(*) FROM households").fetchone()[0]
    assert 0 < applied <= mark

    # The next round (the same stick again) completes: nothing twice, nothing missing.
    _, result = rounds.receive_push(db, data)
    assert (result.duplicates, result.applied) == (mark, sent - mark)
    assert db.execute("SELECT count(*) FROM residents").fetchone()[0] == 3000
    assert db.execute("SELECT count(*) FROM residents_fts WHERE residents_fts MATCH ?",
                      ['name : "so"']).fetchone()[0] == 3000
    ward.usb_pull("K1")
    assert kit.synced_rows() == ward.hub.synced_rows()
