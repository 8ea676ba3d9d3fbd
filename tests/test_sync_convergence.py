"""Convergence (docs/ARCHITECTURE.md#sync): random edits on random nodes of a hub and two
kits, with random sync rounds in between, end, after a final round everywhere, with the
same synced tables on all three and no acknowledged write missing."""
import pathlib
import shutil
import tempfile

from hypothesis import HealthCheck, settings, strategies as st
from hypothesis.stateful import (RuleBasedStateMachine, initialize, invariant, rule,
                                 run_state_machine_as_test)

from wardkit.residents import queries as resident_queries
from wardkit.sync import queries
from wardkit.visits import queries as visit_queries

from tests.conftest import FakeClock
from tests.factories import WARD_A, make_household, make_resident
from tests.sync_nodes import Ward

NAMES = ["Nguyễn Văn An", "Trần Thị Bình", "Lê Văn Cường", "Phạm Thị Dung"]
# A small pool, so two nodes often register the same CCCD or set the same phone.
CCCDS = [None, "001085001111", "001085002222", "001190003333"]
PHONES = ["0912000001", "0912000002", "0987000003", None]
NODES = ["hub", "K1", "K2"]

class _Patch:
    """A tiny monkeypatch for the state machine (it lives outside pytest's fixtures)."""

    def __init__(self):
        self.undo = []

    def setattr(self, target, name, value):
        self.undo.append((target, name, getattr(target, name)))
        setattr(target, name, value)

    def close(self):
        for target, name, value in reversed(self.undo):
            setattr(target, name, value)


class ThreeNodes(RuleBasedStateMachine):

    @initialize()
    def start(self):
        from wardkit import clock
        self.patch = _Patch()
        self.clock = FakeClock()
        self.patch.setattr(clock, "now", self.clock)
        self.tmp = pathlib.Path(tempfile.mkdtemp(prefix="wardkit-nodes-"))
        self.ward = Ward(self.tmp, self.template, self.patch)
        make_household(self.ward.hub.db)
        self.ward.join_by_file("K1")
        self.ward.join_by_file("K2")
        self.written: dict[str, set] = {name: set() for name in NODES}

    def teardown(self):
        if hasattr(self, "patch"):
            for node in [self.ward.hub, *self.ward.kits.values()]:
                node.db.close()
            self.patch.close()
            shutil.rmtree(self.tmp, ignore_errors=True)

    def node(self, name):
        return self.ward.hub if name == "hub" else self.ward.kits[name]

    def _officer(self, name):
        return (self.ward.officer1 if name == "K1" else self.ward.officer2)["id"]

    def _live_residents(self, db):
        return [r[0] for r in db.execute(
            "SELECT id FROM residents WHERE deleted_at IS NULL ORDER BY id")]

    @rule(where=st.sampled_from(NODES), name=st.sampled_from(NAMES),
          cccd=st.sampled_from(CCCDS))
    def register(self, where, name, cccd):
        self.clock.advance(seconds=7)
        db = self.node(where).db
        household = db.execute("SELECT id FROM households ORDER BY id LIMIT 1").fetchone()
        if cccd and resident_queries.find_by_cccd(db, WARD_A, cccd):
            cccd = None  # the form would refuse it on this node
        row = make_resident(db, {"id": household[0], "ward_code": WARD_A},
                            full_name=name, cccd=cccd)
        self.written[where].add(row["id"])

    @rule(where=st.sampled_from(NODES), pick=st.integers(0, 50),
          phone=st.sampled_from(PHONES))
    def change_phone(self, where, pick, phone):
        self.clock.advance(seconds=7)
        db = self.node(where).db
        live = self._live_residents(db)
        if live:
            resident_queries.update_resident(db, WARD_A, live[pick % len(live)],
                                             {"phone": phone}, by=None)

    @rule(where=st.sampled_from(NODES), pick=st.integers(0, 50),
          name=st.sampled_from(NAMES))
    def change_name(self, where, pick, name):
        self.clock.advance(seconds=7)
        db = self.node(where).db
        live = self._live_residents(db)
        if live:
            resident_queries.update_resident(db, WARD_A, live[pick % len(live)],
                                             {"full_name": name}, by=None)

    @rule(where=st.sampled_from(NODES), pick=st.integers(0, 50))
    def delete(self, where, pick):
        self.clock.advance(seconds=7)
        db = self.node(where).db
        live = self._live_residents(db)
        if live:
            resident_queries.soft_delete_resident(db, WARD_A, live[pick % len(live)], by=None)

    @rule(where=st.sampled_from(["K1", "K2"]),
          outcome=st.sampled_from(["done", "nobody_home"]))
    def visit(self, where, outcome):
        self.clock.advance(seconds=7)
        db = self.node(where).db
        household = db.execute("SELECT id FROM households ORDER BY id LIMIT 1").fetchone()[0]
        row = visit_queries.record_visit(db, ward_code=WARD_A, household_id=household,
                                         by=self._officer(where), outcome=outcome, notes=None,
                                         follow_up_at=None, onboarding=None, at=None)
        self.written[where].add(row["id"])

    @rule(kit=st.sampled_from(["K1", "K2"]), how=st.sampled_from(["round", "push", "pull"]))
    def sync(self, kit, how):
        self.clock.advance(seconds=30)
        if how in ("round", "push"):
            self.ward.usb_push(kit)
        if how in ("round", "pull"):
            self.ward.usb_pull(kit)

    @invariant()
    def nothing_acknowledged_is_missing_at_the_hub(self):
        if not hasattr(self, "ward"):
            return
        hub = self.ward.hub.db
        for name in ("K1", "K2"):
            kit = self.ward.kits[name].db
            acked = queries.kit(kit)["acked_seq"]
            me = queries.state(kit)["device_id"]
            for (row_id,) in kit.execute(
                    "SELECT row_id FROM sync_log WHERE origin_device = ? AND origin_seq <= ? "
                    "AND table_name IN ('residents', 'visits')", [me, acked]):
                found = hub.execute("SELECT 1 FROM residents WHERE id = ? UNION ALL "
                                    "SELECT 1 FROM visits WHERE id = ?",
                                    [row_id, row_id]).fetchone()
                assert found, f"{name}'s acknowledged change of {row_id} is not at the hub"

    def converge(self):
        self.ward.settle_everywhere()
        hub = self.ward.hub.synced_rows()
        for name in ("K1", "K2"):
            assert self.ward.kits[name].synced_rows() == hub, f"{name} differs from the hub"
        hub_ids = {r[0] for r in self.ward.hub.db.execute(
            "SELECT id FROM residents UNION ALL SELECT id FROM visits")}
        for name, ids in self.written.items():
            assert ids <= hub_ids, f"writes of {name} missing at the hub"


class Converging(ThreeNodes):
    """The machine, with the final round everywhere run at the end of every example."""

    def teardown(self):
        try:
            if hasattr(self, "ward"):
                self.converge()
        finally:
            super().teardown()


def test_three_nodes_converge(migrated_template):
    Converging.template = migrated_template   # conftest's migrated database, copied per node
    run_state_machine_as_test(Converging, settings=settings(
        max_examples=10, stateful_step_count=20, deadline=None,
        suppress_health_check=list(HealthCheck)))
