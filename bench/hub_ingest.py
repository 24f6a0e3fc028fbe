"""The hub's ingest rate through the real broker, against a bare paho subscriber that only
counts the entries, draining the same backlog from the same Mosquitto in the same run.

    python -m bench.hub_ingest [DIRECTORY]

The backlog: the journals of the 20 gates of `bench.reconcile`'s day (desks, entry and exit
gates, realistic bodies), about 50k entries, sent as `EventBatch` messages of 50 to 200 entries
by one paho client per gate, each logged in with its own credentials, to its own
`Topics().events(gate)` at QoS 1, as gate/link/client.py sends them (MQTT 3.1.1, persistent
session).
The broker is `deploy.broker.Broker` with the venue configuration, in a temporary directory.

Both consumers are away while the gates publish: each has a persistent session subscribed to
`gate/+/events` at QoS 1 beforehand, so the broker queues the whole backlog for each of them
(the configuration allows 100k messages, 64 MiB, per client), as it does for a hub that
restarts while the gates keep sending. Then each one connects and is timed from its connect
until it holds every entry, so the figure is the consumer's rate and not the publishers':

- the baseline is a paho v2 client (a user of its own, with a gate's rights) whose `on_message`
  does `json.loads` of the payload and adds the length of its `entries` list; nothing else. Two
  such sessions drain the same backlog, one before the hub and one after it, and the baseline is
  their mean time, so a change in the machine's speed during the run hits both sides alike;
- the hub is `hub.service.hub.Hub`, in this process, from a hub.toml written in the temporary
  directory (the day's allowlist imported from CSV, its policy): its paho thread, its inbox,
  its loop (what waits in the inbox, up to 4 MiB at once, to `Ingest.on_messages`: each batch
  read and checked, all of them stored in one synced SQLite transaction, then one retained ack
  per gate; the venue state fed and refreshed). Done when its `EventStore` counts every entry,
  polled every 10 ms.

The hub's store is in DIRECTORY (default: the repository's `var/`, on the disk the hub would use;
not a tmpfs, where a sync costs nothing), and so is the broker's directory. After the timed part,
the bench waits for the venue state to be rebuilt and checks its headcount against the day's
ground truth, with no message rejected and no entry stored twice (`venue_state_current_s`: the
gates' batches come interleaved, so nearly every entry is older than one already folded and
waits for the one rebuild after the drain, about 2 s for 50k entries after a 500 ms settle).

Where the hub's time goes (build machine, 2 cores): its loop is the bottleneck; paho's thread has
filled its inbox within 0.3 s. The loop takes what waits there, up to 4 MiB (about 70 batches, 8k
entries), and stores it in one transaction, with Python's garbage collector paused (else the entries
a drain holds set off full collections over the day's objects, 0.3 s each). The same steps on the
same payloads, offline, in drains of 70 batches, per entry: reading the batch (`read_events`: one
pass over the form gates send, each body decoded by `json` and kept as the text to store) 6.5-8 us,
of which decoding the bodies is 4.3 us, like the baseline's `json.loads`; the rows and the
`StoredEntry` 1.3 us; SQLite's inserts into the table and its two indexes 7.6 us; the synced commit
4.9 us (about 40 ms per commit of 8k entries: the WAL written and synced, then a checkpoint);
handing the entries on to the venue state 1.7 us. About 24 us in all, 1.2 s for the backlog (55 us
and 2.8 s with a synced commit per batch, pydantic's validation and each body encoded again). The
store alone, 0.63 s, takes longer than the baseline's whole drain (about 0.3 s), so the ratio stays
well under 0.5 while one loop reads and stores in turn: in the running hub, sharing the GIL with
paho's thread and the two cores with Mosquitto, it drains the backlog in 1.4 to 2 s (0.2 to 0.35 of
the baseline, with the machine otherwise busy or not).
"""

from __future__ import annotations

import csv
import gc
import json
import os
import random
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from bench.common import POLICY, report
from bench.reconcile import Day, make_day
from deploy.broker import HUB_USER, Credentials
from deploy.broker_process import Broker
from gate.core import Allowlist, headcount
from gate.link.protocol import MAX_BATCH, EventBatch, Topics, dump
from hub.service.config import load_hub_config
from hub.service.hub import Hub

FAMILIES = 2700  # about 50k journal entries from the day's 20 gates
BATCH_MIN = 50
DEFAULT_DIR = Path(__file__).resolve().parent.parent / "var"
# The broker takes each client's username as its client id (use_username_as_clientid): the hub's
# persistent session is user hub's, and each counter logs in as a user of its own, with a gate's
# rights (it reads every gate's events), so that no two sessions are one.
HUB_CLIENT_ID = HUB_USER
COUNTER_IDS = ("bench-counter-before", "bench-counter-after")  # they drain around the hub
TIMEOUT_S = 60.0
POLL_S = 0.01  # the polling thread takes the GIL: not too often


# --- the backlog ----------------------------------------------------------------------------------


def backlog(day: Day, rng: random.Random) -> dict[str, list[bytes]]:
    """Each gate's journal as EventBatch payloads of BATCH_MIN to MAX_BATCH entries, in order."""
    out: dict[str, list[bytes]] = {}
    for gate, sim in day.gates.items():
        payloads, i = [], 0
        while i < len(sim.entries):
            size = rng.randint(BATCH_MIN, MAX_BATCH)
            payloads.append(dump(EventBatch(gate=gate, entries=sim.entries[i : i + size])))
            i += size
        out[gate] = payloads
    return out


def _client(broker: Broker, user: str, client_id: str) -> mqtt.Client:
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=client_id,
        clean_session=False,
        protocol=MQTTProtocolVersion.MQTTv311,
        reconnect_on_failure=False,
    )
    client.username_pw_set(user, broker.credentials.password(user))
    return client


def _connect(client: mqtt.Client, broker: Broker, who: str) -> None:
    """Connect, start paho's thread and wait for a successful CONNACK."""
    up = threading.Event()
    failed: list[str] = []

    def on_connect(c: Any, u: Any, flags: Any, reason: Any, props: Any) -> None:
        if reason.is_failure:
            failed.append(str(reason))
        up.set()

    client.on_connect = on_connect
    client.connect(broker.host, broker.port, keepalive=30)
    client.loop_start()
    if not up.wait(TIMEOUT_S) or failed:
        raise RuntimeError(f"{who} could not connect: {failed or 'timeout'}")


def _disconnect(client: mqtt.Client) -> None:
    client.disconnect()
    client.loop_stop()


def subscribe_away(broker: Broker, client_id: str, topics: list[str]) -> None:
    """A persistent session for `client_id` (its own username), subscribed at QoS 1, then left:
    the broker queues what comes for it until it connects again."""
    client = _client(broker, client_id, client_id)
    _connect(client, broker, client_id)
    granted = threading.Event()
    client.on_subscribe = lambda *_: granted.set()
    client.subscribe([(t, 1) for t in topics])
    if not granted.wait(TIMEOUT_S):
        raise RuntimeError(f"no SUBACK for {client_id}")
    _disconnect(client)


def publish(broker: Broker, payloads: dict[str, list[bytes]]) -> float:
    """Every gate sends its batches over its own connection, all gates at once; returns the
    seconds until the broker acknowledged the last one (it has queued them by then)."""
    topics = Topics(broker.topics.prefix)
    clients = {}
    for gate in payloads:
        client = _client(broker, gate, f"bench-gate-{gate}")
        client.max_inflight_messages_set(20)  # gate/link/client.py's setting
        _connect(client, broker, gate)
        clients[gate] = client
    started = time.perf_counter()
    sent: list[mqtt.MQTTMessageInfo] = []
    rounds = max(len(p) for p in payloads.values())
    for i in range(rounds):  # gates interleave, each in its own order
        for gate, batches in payloads.items():
            if i < len(batches):
                sent.append(clients[gate].publish(topics.events(gate), batches[i], qos=1))
    for info in sent:
        info.wait_for_publish(TIMEOUT_S)
        if not info.is_published():
            raise RuntimeError(f"batch {info.mid} not acknowledged by the broker")
    elapsed = time.perf_counter() - started
    for client in clients.values():
        _disconnect(client)
    return elapsed


# --- the consumers --------------------------------------------------------------------------------


def baseline_drain(broker: Broker, client_id: str, expected: int) -> float:
    """Seconds from connect until a counting subscriber has seen `expected` entries."""
    client = _client(broker, client_id, client_id)
    done = threading.Event()
    seen = [0]

    def on_message(c: Any, u: Any, message: Any) -> None:
        seen[0] += len(json.loads(message.payload)["entries"])
        if seen[0] >= expected:
            done.set()

    client.on_message = on_message
    gc.collect()
    started = time.perf_counter()
    _connect(client, broker, client_id)
    if not done.wait(TIMEOUT_S):
        raise RuntimeError(f"the counter saw {seen[0]} of {expected} entries")
    elapsed = time.perf_counter() - started
    _disconnect(client)
    if seen[0] != expected:
        raise AssertionError(f"the counter saw {seen[0]} entries, {expected} sent")
    return elapsed


def write_hub_config(
    root: Path, broker: Broker, allowlist: Allowlist, roster: dict[str, str] | None = None
) -> Path:
    """hub.toml, the policy, the allowlist as CSV and the hub's password file, under `root`."""
    root.mkdir(parents=True, exist_ok=True)
    csv_dir = root / "allowlist"
    csv_dir.mkdir(exist_ok=True)
    with (csv_dir / "tickets.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(
            ("code", "product", "adults", "children", "valid_from", "valid_to", "guardian_phone")
        )
        for t in allowlist.tickets.values():
            w.writerow(
                (
                    t.code,
                    t.product,
                    t.adults,
                    t.children,
                    t.valid_from,
                    t.valid_to,
                    t.guardian_phone,
                )
            )
    with (csv_dir / "wristbands.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(("uid", "role"))
        w.writerows((uid, role.value) for uid, role in allowlist.bands.items())
    with (csv_dir / "staff.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(("uid", "name"))
        w.writerows(allowlist.staff.items())
    policy = root / "policy.toml"
    policy.write_text(
        f'timezone = "{POLICY.timezone}"\nopen = "{POLICY.open}"\nclose = "{POLICY.close}"\n'
        f"capacity = {POLICY.capacity}\npairing_window_s = {POLICY.pairing_window_s}\n"
    )
    return write_hub_toml(root, broker, policy, csv_dir, roster)


def write_hub_toml(
    root: Path,
    broker: Broker,
    policy: Path,
    allowlist_csv: Path,
    roster: dict[str, str] | None = None,
) -> Path:
    """hub.toml and the hub's password file under `root`: state there, API on a free port."""
    password = root / "hub.password"
    password.write_text(broker.credentials.password(HUB_USER))
    os.chmod(password, 0o600)
    config = root / "hub.toml"
    config.write_text(
        "[hub]\n"
        f'state_dir = "{root / "state"}"\npolicy = "{policy}"\n'
        f'control_socket = "{root / "hub.sock"}"\nallowlist_csv = "{allowlist_csv}"\n'
        "[mqtt]\n"
        f'host = "{broker.host}"\nport = {broker.port}\nusername = "{HUB_USER}"\n'
        f'password_file = "{password}"\nprefix = "{broker.topics.prefix}"\n'
        '[http]\nbind = "127.0.0.1"\nport = 0\n'
        "[gates]\n" + "".join(f'{gate} = "{role}"\n' for gate, role in (roster or {}).items())
    )
    return config


@dataclass
class HubRun:
    ingest_s: float  # connect until the store holds every entry
    current_s: float  # connect until the venue state has folded them all (debounce included)
    counters: dict[str, int]
    rejected: dict[str, int]
    refused: dict[str, int]  # entries taken for forged (gate.core.authority): none, here
    rebuilds: int
    last_rebuild_ms: int
    late: int
    headcount: tuple[int, int, int, int]


def _wait(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(POLL_S)


def hub_drain(config: Path, expected: int) -> HubRun:
    """Seconds from the hub's start (already built: allowlist imported, store open) until its
    store holds `expected` entries; then until its venue state has folded them."""
    hub = Hub(load_hub_config(config))
    thread = threading.Thread(target=hub.run, name="hub-loop")
    gc.collect()
    try:
        started = time.perf_counter()
        thread.start()
        _wait(lambda: hub.store.counts().entries >= expected, "the hub's store")
        ingested = time.perf_counter()
        _wait(lambda: not hub.venue.stale and hub.venue.folded >= expected, "the venue state")
        current = time.perf_counter()
        count = hub.venue.headcount()
        return HubRun(
            ingest_s=ingested - started,
            current_s=current - started,
            counters=dict(hub.ingest.counters),
            rejected=dict(hub.ingest.rejected),
            refused=dict(hub.ingest.refused),
            rebuilds=hub.venue.rebuilds,
            last_rebuild_ms=hub.venue.last_rebuild_ms,
            late=hub.venue.late,
            headcount=(count.inside, count.adults, count.children, count.groups_inside),
        )
    finally:
        hub.stop()
        thread.join(TIMEOUT_S)


# --- the run --------------------------------------------------------------------------------------


def main(directory: Path = DEFAULT_DIR, families: int = FAMILIES) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    day = make_day(families)
    payloads = backlog(day, random.Random(11))
    generated_s = time.perf_counter() - started
    n_entries = sum(len(g.entries) for g in day.gates.values())
    n_batches = sum(len(p) for p in payloads.values())
    n_bytes = sum(len(b) for p in payloads.values() for b in p)
    topics = Topics()
    with tempfile.TemporaryDirectory(dir=directory, prefix="bench-hub-ingest-") as tmp:
        root = Path(tmp)
        credentials = Credentials.generate([*day.gates, *COUNTER_IDS])
        with Broker(root / "broker", credentials=credentials, prefix=topics.prefix) as broker:
            roles = {"bind": "desk", "entry": "entry", "exit": "exit"}
            roster = {gate: roles[sim.mode.value] for gate, sim in day.gates.items()}
            config = write_hub_config(root / "hub", broker, day.allowlist, roster)
            for counter in COUNTER_IDS:
                subscribe_away(broker, counter, [topics.events()])
            subscribe_away(broker, HUB_CLIENT_ID, [topics.events(), topics.status()])
            publish_s = publish(broker, payloads)
            before_s = baseline_drain(broker, COUNTER_IDS[0], n_entries)
            hub = hub_drain(config, n_entries)
            after_s = baseline_drain(broker, COUNTER_IDS[1], n_entries)
    baseline_s = (before_s + after_s) / 2
    truth = headcount(day.truth)
    want = (truth.inside, truth.adults, truth.children, truth.groups_inside)
    if (
        hub.headcount != want
        or hub.counters.get("new") != n_entries
        or hub.counters.get("duplicates")
        or hub.rejected
        or hub.refused
    ):
        raise AssertionError(f"hub {hub}, truth {want} / {n_entries} entries")
    name = (
        f"hub ingest ({n_entries} entries in {n_batches} batches of {BATCH_MIN}-{MAX_BATCH} "
        f"from {len(payloads)} gates, queued in Mosquitto, {directory})"
    )
    report(
        name, "entries/s", n_entries / hub.ingest_s, "1/s", n_entries / baseline_s, "ratio >= 0.5"
    )
    check = {
        "bench": name,
        "check": {
            "hub_ingest_s": round(hub.ingest_s, 3),
            "baseline_s": [round(before_s, 3), round(after_s, 3)],
            "venue_state_current_s": round(hub.current_s, 3),
            "headcount_matches_ground_truth": True,
            "rebuilds": hub.rebuilds,
            "last_rebuild_ms": hub.last_rebuild_ms,
            "late_entries": hub.late,
            "batches": hub.counters.get("batches", 0),
            "acks": hub.counters.get("acks", 0),  # one per gate per transaction
            "replays": hub.counters.get("replays", 0),
            "payload_mb": round(n_bytes / 1e6, 1),
            "publish_entries_per_s": round(n_entries / publish_s),
            "generated_s": round(generated_s, 1),
        },
    }
    print(json.dumps(check), flush=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_DIR)
