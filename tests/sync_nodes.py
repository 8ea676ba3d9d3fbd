"""Three-node test harness for sync: a hub and kits, each its own database file and app
object, exchanging bundles as files (the USB stick) or through the hub's real routes
(the LAN, via the hub app's test client)."""
import pathlib
import shutil
import uuid

from wardkit import create_app
from wardkit.db import connect, write
from wardkit.sync import client, enrol, queries, rounds
from wardkit.sync.apply import Refused
from wardkit.sync.tables import BOTH, HUB_TO_KIT

from tests.conftest import TEST_CONFIG
from tests.factories import WARD_A, make_user

HUB_URL = "http://hub.test"


class Node:
    """One WardKit database with its app."""

    def __init__(self, directory: pathlib.Path, name: str, template: pathlib.Path):
        self.name = name
        self.path = directory / f"{name}.db"
        shutil.copy(template, self.path)
        self.db = connect(str(self.path))
        # A copied template shares its device id and epoch: give this node its own.
        with write(self.db):
            self.db.execute("UPDATE sync_state SET device_id = ?, epoch = ? WHERE id = 1",
                            [uuid.uuid4().hex, uuid.uuid4().hex])
        self.app = create_app({**TEST_CONFIG, "DATABASE": str(self.path)})
        self.client = self.app.test_client()

    def count(self, table: str) -> int:
        return self.db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]

    def counts(self) -> dict:
        return {t: self.count(t) for t in BOTH + HUB_TO_KIT + ("audit_log",)}

    def synced_rows(self) -> dict:
        """Return every synced-both-ways and hub-to-kit table's rows, local columns
        left out, sorted: what must agree on every node."""
        out = {}
        for table in BOTH + HUB_TO_KIT:
            cols = queries.synced_columns(self.db, table)
            out[table] = sorted(self.db.execute(
                f"SELECT {', '.join(cols)} FROM {table} ORDER BY id").fetchall())
        return out


def lan(hub: Node):
    """Return a `client._call` replacement that sends the kit's requests to `hub`'s app."""
    def call(url, data=None, headers=None):
        path = "/" + url.split("://", 1)[1].split("/", 1)[1]
        if data is not None:
            response = hub.client.post(path, data=data, headers=headers or {},
                                       content_type="application/octet-stream")
        else:
            response = hub.client.get(path, headers=headers or {})
        if response.status_code != 200:
            raise Refused(f"the hub refused: {response.get_json().get('refused')}")
        return response.data
    return call


class Ward:
    """A hub with an admin, a leader and two officers, and kits joined to it."""

    def __init__(self, tmp_path, template, monkeypatch):
        self.tmp = tmp_path
        self.template = template
        self.hub = Node(tmp_path, "hub", template)
        self.admin = make_user(self.hub.db, role="admin", username="admin")
        self.leader = make_user(self.hub.db, role="leader", username="leader")
        self.officer1 = make_user(self.hub.db, role="officer", username="officer1")
        self.officer2 = make_user(self.hub.db, role="officer", username="officer2")
        monkeypatch.setattr(client, "_call", lan(self.hub))
        self.kits: dict[str, Node] = {}
        self.devices: dict[str, dict] = {}

    def join_by_file(self, name: str) -> Node:
        device, code = enrol.add_kit(self.hub.db, name=name, ward_code=WARD_A, group_id=None,
                                     by=self.admin["id"])
        data = enrol.enrolment_file(self.hub.db, device, code, by=self.admin["id"])
        kit = Node(self.tmp, name, self.template)
        enrol.become_kit(kit.db, enrol.open_welcome(data, code), None)
        self.kits[name] = kit
        self.devices[name] = device
        return kit

    def join_by_lan(self, name: str) -> Node:
        device, code = enrol.add_kit(self.hub.db, name=name, ward_code=WARD_A, group_id=None,
                                     by=self.admin["id"])
        kit = Node(self.tmp, name, self.template)
        client.join(kit.db, HUB_URL, code)
        self.kits[name] = kit
        self.devices[name] = device
        return kit

    def device(self, name: str) -> dict:
        return queries.get_device(self.hub.db, name=name)

    def usb_push(self, name: str):
        """The kit exports its push, the hub imports it; return the hub's Result."""
        data, _ = rounds.push_bundle(self.kits[name].db)
        return rounds.receive_push(self.hub.db, data)[1]

    def usb_pull(self, name: str):
        """The hub exports the kit's pull, the kit imports it; return the kit's Result."""
        device = self.device(name)
        data = rounds.pull_bundle(self.hub.db, device, device["pulled_seq"])
        return rounds.receive_pull(self.kits[name].db, data)

    def usb_round(self, name: str):
        pushed = self.usb_push(name)
        return pushed, self.usb_pull(name)

    def lan_round(self, name: str) -> dict:
        kit = self.kits[name]
        with write(kit.db):
            kit.db.execute("UPDATE sync_kit SET hub_url = ? WHERE id = 1", [HUB_URL])
        return client.sync_now(kit.db)

    def settle_everywhere(self):
        """A final round everywhere: every kit syncs, then every kit again."""
        for _ in range(2):
            for name in self.kits:
                self.usb_round(name)
