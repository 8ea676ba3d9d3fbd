"""A kit talking to its hub over the LAN: `sync now` (push, then pull) and the join.

Plain HTTP with the standard library: the bundles are sealed, so the ward LAN needs no
TLS for them to stay private and unaltered.
"""
import json
import urllib.error
import urllib.parse
import urllib.request

from . import enrol, queries, rounds
from .apply import Refused

TIMEOUT = 120


class HubUnreachable(RuntimeError):
    """The hub did not answer (wrong address, no network, hub stopped)."""


def _call(url: str, data: bytes | None = None, headers: dict | None = None) -> bytes:
    request = urllib.request.Request(url, data=data, headers=headers or {},
                                     method="POST" if data is not None else "GET")
    if data is not None:
        request.add_header("Content-Type", "application/octet-stream")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            return response.read()
    except urllib.error.HTTPError as exc:
        try:
            reason = json.loads(exc.read()).get("refused") or exc.reason
        except ValueError:
            reason = exc.reason
        raise Refused(f"the hub refused: {reason}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise HubUnreachable(f"cannot reach the hub at {url}: {exc}") from None


def push_now(db, hub_url: str) -> dict:
    """Push this kit's waiting changes to the hub; return the hub's counts (with "sent")."""
    data, sent = rounds.push_bundle(db, live=True)
    counts = rounds.receive_ack(db, _call(hub_url.rstrip("/") + "/sync/push", data))
    counts["sent"] = sent
    return counts


def pull_now(db, hub_url: str):
    """Pull what the hub has after this kit's mark and apply it; return the Result."""
    kit = queries.kit(db)
    since = kit["pulled_seq"]
    query = urllib.parse.urlencode({"kit": kit["kit_id"], "since": since})
    proof = rounds.pull_mac(kit["key"], kit["kit_id"], since)
    data = _call(f"{hub_url.rstrip('/')}/sync/pull?{query}", headers={"X-WardKit-Proof": proof})
    return rounds.receive_pull(db, data)


def sync_now(db, progress=lambda step: None) -> dict:
    """One round with the hub: push, then pull. Return the figures of both halves.

    A hub restored from a backup answers the push with a new epoch and an older mark:
    the kit pushes again from there (the hub lost those changes), then pulls everything.

    :raises HubUnreachable, Refused:
    """
    kit = queries.kit(db)
    if kit is None or not kit["hub_url"]:
        raise Refused("this kit has no hub address (flask kit join HUB_URL CODE)")
    progress("push")
    pushed = push_now(db, kit["hub_url"])
    if pushed.get("epoch_changed") or pushed.get("held_back"):
        progress("push again")
        again = push_now(db, kit["hub_url"])
        pushed = {**again, "sent": pushed["sent"] + again["sent"], "epoch_changed":
                  pushed.get("epoch_changed", False)}
    progress("pull")
    pulled = pull_now(db, kit["hub_url"])
    return {"push": pushed, "pull": pulled.counts()}


def join(db, hub_url: str, code: str) -> dict:
    """Join the hub at `hub_url` with a one-time code, then pull the ward; return the
    kit row and the pull's figures.

    :raises enrol.EnrolError, Refused, HubUnreachable:
    """
    if not enrol.is_fresh(db):
        raise enrol.EnrolError("this database already holds data: a kit joins on a fresh "
                               "one (flask init-db on an empty file)")
    answer = _call(hub_url.rstrip("/") + "/sync/push", enrol.join_request(db, code))
    welcome = enrol.open_welcome(answer, code)
    kit = enrol.become_kit(db, welcome, hub_url.rstrip("/"))
    pulled = pull_now(db, kit["hub_url"])
    return {"kit": queries.kit(db), "pull": pulled.counts()}
