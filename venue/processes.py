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
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
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
from gate.devices.nfc.emulator import ORIGINALITY_KEY, TagEmulator
from gate.tools.gatectl import Unreachable, ask
from venue.plan import Plan, write_venue

MARKER = ".wristgate-demo"  # a work directory the demo may wipe carries this file
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0
PINS = {
    "entry": "relay = 17\ngreen = 22\nred = 27\namber = 23\nbuzzer = 24\n",
    "exit": "relay = 17\ngreen = 22\nred = 27\namber = 23\nbuzzer = 24\n",
    "desk": "green = 22\nred = 27\nbuzzer = 24\n",
    "handheld": "green = 22\nred = 27\namber = 23\nbuzzer = 24\n",
}


_print_lock = threading.Lock()


def say(line: str) -> None:
    """One line of the run's output (from any thread)."""
    with _print_lock:
        print(line, flush=True)


class DemoError(Exception):
    """The venue cannot be set up or does not answer: the message says what and where to look."""


@dataclass(frozen=True)
class GateSpec:
    id: str
    role: str  # entry | exit | desk | handheld
    scanner: bool  # a barcode scanner (pty) besides the wristband reader
    what: str


GATES = (
    GateSpec("D1", "desk", True, "desk (ticket scanner; binds bands, writes their tokens)"),
    GateSpec("E1", "entry", False, "entry"),
    GateSpec("E2", "entry", False, "entry"),
    GateSpec("X1", "exit", False, "exit"),
    GateSpec("X2", "exit", False, "exit"),
    GateSpec("H1", "handheld", False, "handheld (check mode)"),
)


@dataclass
class Daemon:
    """A child process with a control socket (`gate run` or `hub run`), its output in a log."""

    name: str
    argv: list[str]
    log: Path
    socket: Path
    proc: subprocess.Popen[bytes] | None = None

    def spawn(self) -> None:
        env = {**os.environ, "GPIOZERO_PIN_FACTORY": "mock"}
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                self.argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out, env=env
            )

    def answers(self) -> bool:
        """True once the control socket answers; DemoError if the process has died."""
        if self.proc is not None and self.proc.poll() is not None:
            raise DemoError(
                f"{self.name} exited with status {self.proc.returncode}; "
                f"the end of {self.log}:\n{self.tail()}"
            )
        try:
            return bool(self.ask("status", timeout=2).get("ok"))
        except Unreachable:
            return False

    def ask(self, cmd: str, timeout: float = 5.0, **args: Any) -> dict[str, Any]:
        return ask(str(self.socket), {"cmd": cmd, **args}, timeout=timeout)

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def terminate(self) -> None:
        if self.running:
            assert self.proc is not None
            self.proc.send_signal(signal.SIGTERM)

    def wait_stopped(self, timeout: float = STOP_TIMEOUT_S) -> None:
        if self.proc is None:
            return
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def tail(self, lines: int = 15) -> str:
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])


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
class StoreRow:
    """One gate as the hub's event store holds it."""

    gate: str
    acked: int  # every seq 1..acked is stored
    stored: int  # rows in the store
    distinct: int  # distinct seqs among them
    resent: int  # copies the gate sent again that the store recognised and ignored
    conflicts: int


@dataclass
class Venue:
    """The venue's processes under `root`. `start()` brings it all up; `stop()` is safe to call
    at any point, more than once, and leaves no process behind."""

    root: Path
    plan: Plan
    http_port: int
    say: Callable[[str], None] = print
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
        clear_workdir(self.root)
        write_venue(self.plan, self.files)
        self.secrets_dir.mkdir(mode=0o700)
        self.tokens = {"desk": secrets.token_urlsafe(24), "staff": secrets.token_urlsafe(24)}

    def _secret(self, name: str, text: str) -> Path:
        path = self.secrets_dir / name
        path.touch(mode=0o600)
        os.chmod(path, 0o600)
        path.write_text(text)
        return path

    # --- start ---------------------------------------------------------------------------------

    def start(self) -> None:
        self.prepare()
        credentials = Credentials.generate([g.id for g in GATES])
        self.say("starting Mosquitto with the venue's configuration ...")
        roster = {g.id: g.role for g in GATES}  # the desk and handheld read guardian phones
        tls = self._tls()
        self.broker = Broker(self.root / "broker", credentials=credentials, roster=roster, tls=tls)
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

    def _tls(self) -> TlsListener:
        """A venue CA and the broker's certificate for 127.0.0.1, as install-hub makes them."""
        from deploy.tls import new_ca, new_server_cert

        d = self.root / "tls"
        d.mkdir(mode=0o700)
        ca_cert, ca_key = new_ca("wristgate demo venue")
        cert, key = new_server_cert(ca_cert, ca_key, ["localhost", LOOPBACK])
        for name, content in (("ca.crt", ca_cert), ("hub.crt", cert), ("hub.key", key)):
            (d / name).touch(mode=0o600)
            (d / name).write_bytes(content)
        return TlsListener(
            str(d / "hub.crt"), str(d / "hub.key"), str(d / "ca.crt"), free_port(), LOOPBACK
        )

    def _hub_daemon(self) -> Daemon:
        d = self.root / "hub"
        d.mkdir()
        config = d / "hub.toml"
        config.write_text(
            "# The simulated venue's hub (written by python -m venue).\n"
            '[hub]\nname = "wristgate demo venue"\n'
            f'state_dir = "{d / "state"}"\npolicy = "{self.files / "policy.toml"}"\n'
            f'control_socket = "{d / "hub.sock"}"\nallowlist_csv = "{self.files / "allowlist"}"\n'
            "[mqtt]\n"
            f'host = "{self._broker.host}"\nport = {self._broker.port}\n'
            f'password_file = "{self._secret("hub.password", self._password("hub"))}"\n'
            f'[http]\nbind = "127.0.0.1"\nport = {self.http_port}\n'
            f'desk_token_file = "{self._secret("desk.token", self.tokens["desk"])}"\n'
            f'staff_token_file = "{self._secret("staff.token", self.tokens["staff"])}"\n'
            "[gates]  # the venue's roster: what each gate may say\n"
            + "".join(f'{spec.id} = "{spec.role}"\n' for spec in GATES)
        )
        argv = [sys.executable, "-m", "hub", "-c", str(config), "run"]
        return Daemon("hub", argv, d / "hub.log", d / "hub.sock")

    def _gate(self, spec: GateSpec) -> Gate:
        d = self.root / spec.id
        d.mkdir()
        field_ = TagEmulator("127.0.0.1", 0).start()
        profile = [
            f"# {spec.id}: {spec.what}\n",
            f'[reader]\ndevice = "{field_.path}"\ndebounce_s = 0.3\n',
            f'originality_key = "{ORIGINALITY_KEY}"  # the emulated bands\' test key pair\n',
        ]
        master = slave = None
        if spec.scanner:
            master, slave = os.openpty()
            profile.append(f'[scanner]\nport = "{os.ttyname(slave)}"\nterminator = "CR"\n')
        profile.append(f"[pins]\n{PINS[spec.role]}")
        (d / "profile.toml").write_text("".join(profile))
        config = d / "gate.toml"
        config.write_text(
            "[gate]\n"
            f'id = "{spec.id}"\nrole = "{spec.role}"\nprofile = "{d / "profile.toml"}"\n'
            f'state_dir = "{self._state_dir(spec)}"\nsite_key = "{self.files / "site.key"}"\n'
            f'policy = "{self.files / "policy.toml"}"\n'
            f'allowlist_csv = "{self.files / "allowlist"}"\ncontrol_socket = "{d / "gate.sock"}"\n'
            "test_scans_open_pairing = true  # the visitors' test scans stand for their bands\n"
            "[link]\n"
            f'host = "{self._broker.host}"\nport = {self._link_port(spec)}\n'
            f'tls_ca = "{self.root / "tls" / "ca.crt"}"\n'
            f'password_file = "{self._secret(f"{spec.id}.password", self._password(spec.id))}"\n'
            "ack_timeout_s = 2.0\n"
        )
        daemon = Daemon(spec.id, self._gate_argv(spec, config), d / "gate.log", d / "gate.sock")
        return Gate(spec, daemon, field_, master, slave)

    # What a harness built on this venue may change per gate (bench.chaos does):

    def _state_dir(self, spec: GateSpec) -> Path:
        return self.root / spec.id / "state"

    def _link_port(self, spec: GateSpec) -> int:
        """The broker's TLS port."""
        assert self._broker.tls is not None
        return self._broker.tls.port

    def _gate_argv(self, spec: GateSpec, config: Path) -> list[str]:
        return [sys.executable, "-m", "gate", "run", "-c", str(config)]

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

    def store_rows(self) -> dict[str, StoreRow]:
        """Per gate, what the hub's event store holds (read only, beside the running hub)."""
        path = self.root / "hub" / "state" / "events.db"
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            counts = {
                gate: (rows, distinct)
                for gate, rows, distinct in db.execute(
                    # an entry the hub refused (quarantined, a stub kept) counts as lost
                    "SELECT gate, COUNT(*), COUNT(DISTINCT seq) FROM entries "
                    "WHERE kind != 'refused' GROUP BY gate"
                )
            }
            found = {}
            for gate, acked, duplicates, conflicts in db.execute(
                "SELECT gate, acked, duplicates, conflicts FROM gates"
            ):
                rows, distinct = counts.get(gate, (0, 0))
                found[gate] = StoreRow(gate, acked, rows, distinct, duplicates, conflicts)
            return found
        finally:
            db.close()

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
        and the scanner's pty last. Whatever does not stop in time is killed."""
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
