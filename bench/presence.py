"""Presence across gates and tap to display, through a real Mosquitto, against a bare MQTT hop
through the same broker, measured in the same run.

    python -m bench.presence [DIRECTORY] [--quick] [--cpus N]

The venue: Mosquitto with the venue configuration (`deploy.broker_process.Broker`), `hub run`
and three `gate run` processes, a desk D1, an entry gate E1 and an exit gate X1, each a process
of its own with gpiozero's mock pins, as the venue's tests run them. Families of one adult and
one child are bound at D1 first. Then, one family at a time, after a random pause, the adult is
scanned at E1 through its control socket (the path of a read); from the moment E1 answers
`OK_ENTRY`:

- **presence**: until X1 holds the band inside (X1's control socket asked every 3 ms for the
  band, `allowlist lookup`): E1 journals the entry and sends it, Mosquitto forwards it, X1
  checks and folds it. Goal: a family let in at E1 is known at X1 before it can reach X1.
- **tap to display**: until the display's event stream (`/api/stream`, read as the wall display
  reads it) carries the new headcount: the hub ingests and stores the entry, folds it, and the
  stream sends the display object when it changed.

The baseline: one paho client publishing at QoS 1 to another subscribed through the same
broker, the time from `publish` to `on_message` (a gate's entry can reach nobody faster).
"""

from __future__ import annotations

import http.client
import json
import os
import random
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from bench.common import Options, options, percentiles_ms, report
from bench.scan_to_relay import SITE_KEY
from deploy.broker import Credentials
from deploy.broker_process import Broker, free_port
from gate.devices.nfc.udp_ports import free_udp_port
from gate.link.protocol import Topics
from venue.configs import GateLink, HubLinks, gate_toml, hub_toml, write_secret
from venue.daemon import Daemon

FAMILIES, QUICK_FAMILIES = 150, 8
ROSTER = {"D1": "desk", "E1": "entry", "X1": "exit"}
WAIT_S = 30.0
PING_USERS = ("bench-ping-a", "bench-ping-b")
POLL_S = 0.003  # X1 asked this often: the figures are that much coarse, X1 not much busier


@dataclass
class Display:
    """The display's event stream, read on a thread: (when, inside) of each event."""

    port: int
    events: list[tuple[float, int]] = field(default_factory=list)
    stopping: bool = False
    error: str | None = None

    def start(self) -> Display:
        threading.Thread(target=self._read, name="display-stream", daemon=True).start()
        return self

    def _read(self) -> None:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=WAIT_S)
            conn.request("GET", "/api/stream?lang=en")
            answer = conn.getresponse()
            while not self.stopping:
                line = answer.readline()
                if not line:
                    return
                if line.startswith(b"data: "):
                    inside = int(json.loads(line[6:])["headcount"]["inside"])
                    self.events.append((time.perf_counter(), inside))
        except Exception as exc:  # said when the bench waits for an event
            self.error = repr(exc)

    def shows(self, inside: int, since: float) -> float | None:
        for at, n in self.events:
            if at >= since and n >= inside:
                return at
        return None


def write_venue(root: Path, families: int) -> Path:
    """The venue's files: tickets of one adult and one child, their bands, policy, site key."""
    allowlist = root / "allowlist"
    allowlist.mkdir(parents=True)
    today = datetime.now(UTC).date()
    start, end = today - timedelta(days=1), today + timedelta(days=1)
    tickets = [f"T{f:06d},family,1,1,{start},{end},\n" for f in range(families)]
    (allowlist / "tickets.csv").write_text(
        "code,product,adults,children,valid_from,valid_to,guardian_phone\n" + "".join(tickets)
    )
    (allowlist / "wristbands.csv").write_text(
        "uid,role\n" + "".join(f"{adult(f)},adult\n{child(f)},child\n" for f in range(families))
    )
    (allowlist / "staff.csv").write_text("uid,name\n5A000001,Duty manager\n")
    (root / "policy.toml").write_text(
        'timezone = "UTC"\nopen = "00:00"\nclose = "00:00"\ncapacity = 100000\n'
        "pairing_window_s = 5\n"
    )
    key = root / "site.key"
    key.write_text(SITE_KEY)
    os.chmod(key, 0o600)
    return root


def adult(f: int) -> str:
    return f"04C{f:07X}A000"


def child(f: int) -> str:
    return f"04C{f:07X}C000"


def _until(condition: Callable[[], Any], what: str, timeout: float = WAIT_S) -> Any:
    """`condition()` once true, asked every `POLL_S`."""
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(POLL_S)
    return result


class Venue:
    """The hub and the gates as processes, stopped by `close`."""

    def __init__(self, root: Path, broker: Broker, files: Path) -> None:
        self.root, self.broker, self.files = root, broker, files
        self.daemons: dict[str, Daemon] = {}
        self.http_port = free_port()

    def _secret(self, name: str, text: str) -> Path:
        return write_secret(self.root / "secrets" / name, text)

    def start(self) -> None:
        (self.root / "secrets").mkdir()
        d = self.root / "hub"
        d.mkdir()
        links = HubLinks(
            self.broker.host,
            self.broker.port,
            self._secret("hub.password", self.broker.credentials.password("hub")),
            self.http_port,
            self._secret("desk.token", "desk-" + "d" * 24),
            self._secret("staff.token", "staff-" + "s" * 24),
        )
        (d / "hub.toml").write_text(hub_toml(d, self.files, links, ROSTER))
        argv = [sys.executable, "-m", "hub", "-c", str(d / "hub.toml"), "run"]
        self._spawn("hub", argv, d)
        for gate, role in ROSTER.items():
            g = self.root / gate
            g.mkdir()
            (g / "profile.toml").write_text(
                f'[reader]\ndevice = "udp:127.0.0.1:{free_udp_port()}"\n[pins]\nrelay = 17\n'
                "green = 22\n"
            )
            password = self._secret(f"{gate}.password", self.broker.credentials.password(gate))
            link = GateLink(self.broker.host, self.broker.port, password)
            (g / "gate.toml").write_text(gate_toml(gate, role, g, g / "state", self.files, link))
            self._spawn(gate, [sys.executable, "-m", "gate", "run", "-c", str(g / "gate.toml")], g)
        for name, daemon in self.daemons.items():
            _until(daemon.answers, f"{name} up")
        for gate in ROSTER:
            _until(lambda g=gate: self.gate(g).ask("status")["link"].get("subscribed"), gate)

    def _spawn(self, name: str, argv: list[str], d: Path) -> None:
        sock = d / ("hub.sock" if name == "hub" else "gate.sock")
        daemon = Daemon(name, argv, d / f"{name}.log", sock)
        daemon.spawn()
        self.daemons[name] = daemon

    def gate(self, name: str) -> Daemon:
        return self.daemons[name]

    def scan(self, gate: str, value: str, kind: str = "nfc") -> str:
        answer = self.gate(gate).ask("scan", kind=kind, value=value, intent="final")
        if not answer.get("ok"):
            raise RuntimeError(f"{gate} refused the scan of {value}: {answer}")
        return str(answer["decision"]["code"])

    def state_at(self, gate: str, uid: str) -> str | None:
        member = self.gate(gate).ask("allowlist", lookup=uid)["lookup"].get("member")
        return str(member["state"]) if member else None

    def close(self) -> None:
        for daemon in self.daemons.values():
            daemon.terminate()
        for daemon in self.daemons.values():
            daemon.wait_stopped()

    def logs(self) -> str:
        return "\n".join(f"--- {n}:\n{d.tail()}" for n, d in self.daemons.items())


def mqtt_hop(broker: Broker, n: int) -> list[float]:
    """Seconds from publish (QoS 1) to the subscriber's on_message, one message at a time."""
    got = threading.Event()
    clients = []
    for user in PING_USERS:
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=user, protocol=MQTTProtocolVersion.MQTTv311
        )
        client.username_pw_set(user, broker.credentials.password(user))
        up = threading.Event()
        client.on_connect = lambda *_a, up=up: up.set()
        client.connect(broker.host, broker.port, keepalive=30)
        client.loop_start()
        if not up.wait(WAIT_S):
            raise RuntimeError(f"{user} could not connect")
        clients.append(client)
    sender, receiver = clients
    topics = Topics(broker.topics.prefix)
    subscribed = threading.Event()
    receiver.on_subscribe = lambda *_a: subscribed.set()
    receiver.on_message = lambda *_a: got.set()
    receiver.subscribe(topics.events(PING_USERS[0]), qos=1)
    if not subscribed.wait(WAIT_S):
        raise RuntimeError("no SUBACK for the bare subscriber")
    out = []
    rng = random.Random(3)
    try:
        for _ in range(n):
            time.sleep(rng.uniform(0, 0.05))
            got.clear()
            start = time.perf_counter()
            sender.publish(topics.events(PING_USERS[0]), b'{"ping": true}', qos=1)
            if not got.wait(WAIT_S):
                raise RuntimeError("the bare subscriber got nothing")
            out.append(time.perf_counter() - start)
    finally:
        for client in clients:
            client.disconnect()
            client.loop_stop()
    return out


def main(opts: Options | None = None) -> None:
    opts = opts or Options()
    families = QUICK_FAMILIES if opts.quick else FAMILIES
    opts.directory.mkdir(parents=True, exist_ok=True)
    rng = random.Random(9)
    presence: list[float] = []
    display: list[float] = []
    with tempfile.TemporaryDirectory(dir=opts.directory, prefix="bench-presence-") as tmp:
        root = Path(tmp)
        files = write_venue(root / "venue", families)
        credentials = Credentials.generate([*ROSTER, *PING_USERS])
        with Broker(root / "broker", credentials=credentials) as broker:
            venue = Venue(root, broker, files)
            try:
                venue.start()
                for f in range(families):  # bind every family at the desk first
                    codes = [
                        venue.scan("D1", f"T{f:06d}", "barcode"),
                        venue.scan("D1", adult(f)),
                        venue.scan("D1", child(f)),
                    ]
                    if codes != ["OK_BIND"] * 3:
                        raise RuntimeError(f"family {f} not bound: {codes}")
                last = child(families - 1)
                for gate in ("E1", "X1"):
                    _until(lambda g=gate: venue.state_at(g, last) is not None, f"{gate} bound")
                stream = Display(venue.http_port).start()
                _until(lambda: stream.events or stream.error, "the display stream")
                for f in range(families):
                    time.sleep(rng.uniform(0, 0.3))
                    inside = stream.events[-1][1]
                    code = venue.scan("E1", adult(f))
                    granted = time.perf_counter()
                    if code != "OK_ENTRY":
                        raise RuntimeError(f"{adult(f)} at E1: {code}")
                    _until(lambda f=f: venue.state_at("X1", adult(f)) == "inside", "X1")
                    presence.append(time.perf_counter() - granted)
                    shown = _until(
                        lambda i=inside, g=granted: stream.shows(i + 1, g) or stream.error,
                        "the display",
                    )
                    if isinstance(shown, str):
                        raise RuntimeError(f"the display stream failed: {shown}")
                    display.append(shown - granted)
                stream.stopping = True
                hop = mqtt_hop(broker, families)
            except Exception:
                print(venue.logs(), file=sys.stderr)
                raise
            finally:
                venue.close()
    base = percentiles_ms(hop)
    seen = percentiles_ms(presence)
    shown = percentiles_ms(display)
    name = f"presence across gates ({families} entries at E1, known at X1, Mosquitto)"
    report(name, "presence p50", seen[0], "ms", base[0])
    report(name, "presence p95", seen[1], "ms", base[1], "<= 200 ms")
    name = f"tap to display ({families} entries at E1, the display's event stream)"
    report(name, "tap to display p50", shown[0], "ms", base[0])
    report(name, "tap to display p95", shown[1], "ms", base[1], "<= 500 ms")


if __name__ == "__main__":
    main(options(what=__doc__))
