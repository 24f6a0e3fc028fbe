"""The simulated venue's processes: Mosquitto, `hub run` and one `gate run` per gate.

Everything lives under one work directory (`var/demo/` by default), rewritten at each run:

    venue/            allowlist/ (tickets, wristbands, staff), policy.toml, site.key
    secrets/          broker passwords and the hub's API tokens (mode 0600)
    tls/              the venue CA and the broker's certificate, made as install-hub makes them
    broker/           mosquitto.conf, passwd, acl, data/, mosquitto.log   (deploy.broker.Broker)
    hub/              hub.toml, state/ (events.db, allowlist), hub.sock, hub.log
    D1/ E1/ ... H1/   profile.toml, gate.toml, state/ (journal.db ...), gate.sock, gate.log

Each gate is a real `gate run` process with gpiozero's mock pins (GPIOZERO_PIN_FACTORY=mock),
its reader on nfcpy's `udp:` driver, facing a `TagEmulator` in this process where the visitors
put their bands, and (at the desk) a barcode scanner on a pty this process writes to.

As on a venue, the gates reach the broker over TLS (its certificate signed by a venue CA made
for the run, checked with the host name by every gate) and the hub over plain MQTT on 127.0.0.1.

A harness fits the venue with what its faults need (`venue.faults.Fittings`; bench.chaos does):
a relay of its own between each gate and the broker, a gate on a wall clock it moves, a gate's
state on a small disk it fills.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import socket
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deploy.broker import LOOPBACK, Credentials, TlsListener
from deploy.broker_process import Broker, free_port
from gate.control.client import Unreachable
from gate.devices.nfc.emulator import TagEmulator
from venue.configs import (
    GATES,
    GateLink,
    GateSpec,
    HeadOfficeLink,
    HubLinks,
    gate_toml,
    hub_toml,
    profile_toml,
    write_secret,
    write_tls,
)
from venue.daemon import Daemon, DemoError
from venue.faults import Fittings
from venue.plan import Plan, write_venue

MARKER = ".wristgate-demo"  # a work directory the demo may wipe carries this file
# How long the venue waits for its daemons to start and agree: seconds on an idle machine; a
# loaded one (a Pi at a turnstile, a shared CI runner) is slow, never wrong.
START_TIMEOUT_S = 120.0


_print_lock = threading.Lock()


def say(line: str) -> None:
    """One line of the run's output (from any thread)."""
    with _print_lock:
        print(line, flush=True)


@dataclass
class Gate:
    """A gate process and what the visitors touch: its reader's field and its scanner's pty."""

    spec: GateSpec
    daemon: Daemon
    field: TagEmulator
    scanner_fd: int | None = None  # the pty's master side: write a code and CR
    _slave_fd: int | None = None

    @property
    def id(self) -> str:
        return self.spec.id

    def status(self, timeout: float = 5.0) -> dict[str, Any]:
        return self.daemon.ask("status", timeout=timeout)

    def close(self) -> None:
        self.field.stop()
        for fd in (self.scanner_fd, self._slave_fd):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self.scanner_fd = self._slave_fd = None


@dataclass
class Venue:
    """The venue's processes under `root`. `start()` brings it all up; `stop()` is safe to call
    at any point, more than once, and leaves no process behind."""

    root: Path
    plan: Plan
    http_port: int
    say: Callable[[str], None] = print
    fittings: Fittings = field(default_factory=Fittings)  # what a harness's faults need
    head_office: HeadOfficeLink | None = None  # the chain's head office, which the hub feeds
    broker: Broker | None = None
    hub: Daemon | None = None
    gates: dict[str, Gate] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    broker_lock: threading.Lock = field(default_factory=threading.Lock)
    stopping: threading.Event = field(default_factory=threading.Event)

    @property
    def files(self) -> Path:
        """The venue's allowlist directory, policy and site key."""
        return self.root / "venue"

    @property
    def secrets_dir(self) -> Path:
        """Broker passwords and API tokens."""
        return self.root / "secrets"

    # --- files --------------------------------------------------------------------------------

    def prepare(self) -> None:
        """Empty the work directory (only one the demo made) and write the venue's files."""
        self.fittings.prepare(self.root)
        clear_workdir(self.root)
        write_venue(self.plan, self.files)
        self.secrets_dir.mkdir(mode=0o700)
        self.tokens = {"desk": secrets.token_urlsafe(24), "staff": secrets.token_urlsafe(24)}

    def _secret(self, name: str, text: str) -> Path:
        return write_secret(self.secrets_dir / name, text)

    # --- start ---------------------------------------------------------------------------------

    def start(self) -> None:
        self.prepare()
        credentials = Credentials.generate([g.id for g in GATES])
        self.say("starting Mosquitto with the venue's configuration ...")
        tls = write_tls(self.root / "tls")
        self.broker = venue_broker(self.root / "broker", credentials, tls, self.head_office)
        self.broker.start()  # stop() sees it
        self.say(
            f"  broker: TLS on {LOOPBACK}:{tls.port} for the gates (venue CA {tls.cafile}), "
            f"plain {self.broker.url} for the hub; users hub, display, "
            f"{', '.join(credentials.gates)}"
        )
        self.hub = self._hub_daemon()
        self.hub.spawn()
        for spec in GATES:
            self.gates[spec.id] = self._gate(spec)
            self.gates[spec.id].daemon.spawn()
        self.say(f"starting the hub and {len(GATES)} gates ({', '.join(self.gates)}) ...")
        for daemon in [self.hub, *(g.daemon for g in self.gates.values())]:
            self._wait(daemon.answers, f"{daemon.name} answering on {daemon.socket}")
        desk = self.gates["D1"]
        self._wait(
            lambda: desk.status()["scanner"]["state"] == "open", "the desk's scanner port open"
        )
        self._wait(self._all_online, "every gate online at the hub")
        self._wait(self._same_allowlist, "every gate holding the hub's allowlist")

    def _hub_daemon(self) -> Daemon:
        d = self.root / "hub"
        d.mkdir()
        config = d / "hub.toml"
        links = HubLinks(
            self._broker.host,
            self._broker.port,
            self._secret("hub.password", self._password("hub")),
            self.http_port,
            self._secret("desk.token", self.tokens["desk"]),
            self._secret("staff.token", self.tokens["staff"]),
        )
        roster, name = {g.id: g.role for g in GATES}, "wristgate demo venue"
        toml = hub_toml(d, self.files, links, roster, name, head_office=self.head_office)
        config.write_text(f"# The simulated venue's hub (written by python -m venue).\n{toml}")
        argv = [sys.executable, "-m", "hub", "-c", str(config), "run"]
        return Daemon("hub", argv, d / "hub.log", d / "hub.sock")

    def _gate(self, spec: GateSpec) -> Gate:
        d = self.root / spec.id
        d.mkdir()
        field_ = TagEmulator("127.0.0.1", 0).start()
        master = slave = None
        if spec.scanner:
            master, slave = os.openpty()
        scanner = os.ttyname(slave) if slave is not None else None
        (d / "profile.toml").write_text(profile_toml(spec, field_.path, scanner))
        config = d / "gate.toml"
        password = self._secret(f"{spec.id}.password", self._password(spec.id))
        ca = self.root / "tls" / "ca.crt"
        link = GateLink(self._broker.host, self._link_port(spec), password, ca)
        config.write_text(gate_toml(spec.id, spec.role, d, self._state_dir(spec), self.files, link))
        argv = self.fittings.gate_argv(spec.id, config)
        daemon = Daemon(spec.id, argv, d / "gate.log", d / "gate.sock")
        return Gate(spec, daemon, field_, master, slave)

    def _state_dir(self, spec: GateSpec) -> Path:
        return self.fittings.state_dir(spec.id, self.root / spec.id / "state")

    def _link_port(self, spec: GateSpec) -> int:
        """The broker's TLS port, or what the harness put in front of it for this gate."""
        assert self._broker.tls is not None
        return self.fittings.link_port(spec.id, self._broker.tls.port)

    def daemons(self) -> dict[str, Daemon]:
        """Every gate's daemon by its id, and the hub's."""
        found = {gid: g.daemon for gid, g in self.gates.items()}
        if self.hub is not None:
            found["hub"] = self.hub
        return found

    @property
    def _broker(self) -> Broker:
        if self.broker is None:
            raise DemoError("the broker is not started")
        return self.broker

    def _password(self, user: str) -> str:
        return self._broker.credentials.password(user)

    def _wait(self, ready: Callable[[], Any], what: str, timeout: float = START_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout
        while not self.stopping.is_set():
            with contextlib.suppress(Unreachable, KeyError, TypeError):
                if ready():
                    return
            if time.monotonic() > deadline:
                raise DemoError(f"timed out after {timeout:.0f} s waiting for {what}")
            time.sleep(0.1)

    def _all_online(self) -> bool:
        gates = self.hub_status()["gates"]
        return all(gates.get(g, {}).get("online") for g in self.gates)

    def _same_allowlist(self) -> bool:
        version = self.hub_status()["allowlist_version"]
        return bool(version) and all(
            g.status()["allowlist_version"] == version for g in self.gates.values()
        )

    # --- the broker outage ---------------------------------------------------------------------

    def broker_down(self) -> None:
        with self.broker_lock:
            self._broker.stop()

    def broker_back(self) -> bool:
        """Start the broker again (same port, same data); False if the demo is stopping."""
        with self.broker_lock:
            if self.stopping.is_set():
                return False
            self._broker.start()
            return True

    # --- what the venue says --------------------------------------------------------------------

    @property
    def display_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}/"

    def api(self, path: str, staff: bool = False, timeout: float = 3.0) -> Any:
        request = urllib.request.Request(f"http://127.0.0.1:{self.http_port}{path}")
        if staff:
            request.add_header("Authorization", f"Bearer {self.tokens['staff']}")
        with urllib.request.urlopen(request, timeout=timeout) as reply:
            return json.loads(reply.read())

    def hub_headcount(self) -> dict[str, Any] | None:
        """The hub's `/api/headcount`, or None when it does not answer."""
        try:
            return dict(self.api("/api/headcount"))
        except (OSError, ValueError, urllib.error.URLError):
            return None

    def hub_status(self) -> dict[str, Any]:
        if self.hub is None:
            raise DemoError("the hub is not started")
        return self.hub.ask("status")

    def journals(self) -> dict[str, dict[str, int]]:
        """Each gate's journal as the gate tells it: last_seq, acked (by the hub), backlog."""
        return {gid: dict(g.status()["journal"]) for gid, g in self.gates.items()}

    def settled(self) -> bool:
        """Every gate's journal acknowledged by the hub, and the hub's state rebuilt."""
        if not (self.broker and self.broker.running):
            return False
        for journal in self.journals().values():
            if journal["acked"] != journal["last_seq"]:
                return False
        status = self.hub_status()
        return bool(status["connected"]) and not status["stale"]

    def wait_settled(self, timeout: float = 60.0) -> bool:
        """Wait until `settled()`; then long enough for the hub to refresh its headcount."""
        deadline = time.monotonic() + timeout
        while not self.stopping.is_set():
            with contextlib.suppress(Unreachable, KeyError):
                if self.settled():
                    time.sleep(1.5)  # the hub refreshes its state at most once a second
                    return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.2)
        return False

    def lookup(self, ticket: str) -> dict[str, Any] | None:
        """The hub's view of a family (`/api/lookup/TICKET`): members, states, its flag."""
        try:
            return dict(self.api(f"/api/lookup/{ticket}", staff=True))
        except (OSError, ValueError, urllib.error.URLError):
            return None

    def findings(self) -> list[dict[str, Any]]:
        try:
            return list(self.api("/api/findings", staff=True))
        except (OSError, ValueError, urllib.error.URLError):
            return []

    # --- stop ----------------------------------------------------------------------------------

    def stop(self) -> None:
        """Gates first (SIGTERM, all at once), then the hub, then the broker; readers' fields
        and the scanner's pty last, then what the harness fitted. Whatever does not stop in time
        is killed."""
        self.stopping.set()
        gates = [g.daemon for g in self.gates.values()]
        for daemon in gates:
            daemon.terminate()
        for daemon in gates:
            daemon.wait_stopped()
        if self.hub is not None:
            self.hub.terminate()
            self.hub.wait_stopped()
        with self.broker_lock:
            if self.broker is not None:
                self.broker.stop()
        for gate in self.gates.values():
            gate.close()
        self.fittings.stop()


def venue_broker(
    d: Path, credentials: Credentials, tls: TlsListener, head_office: HeadOfficeLink | None
) -> Broker:
    """The venue's Mosquitto in `d`: TLS for the gates, plain MQTT on 127.0.0.1 for the hub, and
    with `head_office` its bridge to the chain's head office."""
    roster = {g.id: g.role for g in GATES}  # the desk and handheld read guardian phones
    bridge = head_office.bridge() if head_office is not None else None
    return Broker(d, credentials=credentials, roster=roster, tls=tls, bridge=bridge)


def clear_workdir(root: Path) -> None:
    """Make `root` an empty work directory. Refuses to empty a directory the demo did not make."""
    if root.exists():
        if any(root.iterdir()) and not (root / MARKER).exists():
            raise DemoError(
                f"{root} is not empty and was not made by the demo: give another --workdir"
            )
        shutil.rmtree(root)
    root.mkdir(parents=True)
    (root / MARKER).write_text("made by python -m venue; emptied at each run\n")


def http_port(wanted: int) -> int:
    """`wanted` if nobody listens on it on 127.0.0.1, else a free port (0: a free port)."""
    if wanted:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s, contextlib.suppress(OSError):
            s.bind(("127.0.0.1", wanted))
            return wanted
    return free_port()
