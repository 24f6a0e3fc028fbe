"""A gate on the test bench: the real daemon with an emulated reader, a pty scanner, mock pins.

`GateRig` writes a venue (allowlist CSVs, policy, site key), a hardware profile pointing at an
`TagEmulator` (nfcpy's `udp:` driver) and a pty, and runs `gate.daemon.gate.Gate` on a thread with
gpiozero's `MockFactory`. Tests talk to it as a technician would, through the control socket.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from gpiozero.pins.mock import MockFactory
from processes import wait_for

from gate.control.client import ask
from gate.daemon.gate import Gate
from gate.devices.nfc.emulator import ORIGINALITY_KEY, TagEmulator
from gate.devices.nfc.t2t import read_ndef
from gate.devices.nfc.token import decode_token, load_keyring
from gate.settings import load_gate_config

TODAY = date.today()
# A ticket's "valid_from,valid_to" that holds now, whatever the machine's time zone and whether
# midnight passes during a test (the tests' venues keep UTC).
VALID_AROUND_NOW = f"{TODAY - timedelta(days=1)},{TODAY + timedelta(days=1)}"
SITE_KEY = "1 " + "5a" * 32 + "\n"
ADULT, CHILD = "04A10000000001", "04C10000000001"
ADULT_2, CHILD_2 = "04A10000000002", "04C10000000002"
SOLO_CHILD = "04C10000000009"
STAFF = "04EE0000000001"
DEBOUNCE_S = 0.3  # the bench reader's: a band back this soon after leaving is not read again
PINS = {"relay": 17, "green": 22, "red": 27, "amber": 23, "buzzer": 24}


def write_venue(root: Path) -> Path:
    """Allowlist, policy and site key of a small venue, open around the clock."""
    root.mkdir(parents=True, exist_ok=True)
    allowlist = root / "allowlist"
    allowlist.mkdir(exist_ok=True)
    (allowlist / "tickets.csv").write_text(
        "code,product,adults,children,valid_from,valid_to,guardian_phone\n"
        f"T1,family,1,1,{VALID_AROUND_NOW},\n"
        f"T2,family,1,1,{VALID_AROUND_NOW},\n"
        f"TSOLO,solo,0,1,{VALID_AROUND_NOW},13800138000\n"
    )
    (allowlist / "wristbands.csv").write_text(
        f"uid,role\n{ADULT},adult\n{CHILD},child\n{ADULT_2},adult\n{CHILD_2},child\n"
        f"{SOLO_CHILD},child\n"
    )
    (allowlist / "staff.csv").write_text(f"uid,name\n{STAFF},Duty Manager\n")
    (root / "policy.toml").write_text(
        'timezone = "UTC"\nopen = "00:00"\nclose = "00:00"\ncapacity = 100\npairing_window_s = 5\n'
    )
    key = root / "site.key"
    key.write_text(SITE_KEY)
    os.chmod(key, 0o600)
    return root


@dataclass
class GateRig:
    root: Path
    gate_id: str
    role: str
    pins: dict[str, Any] = field(default_factory=lambda: dict(PINS))
    scanner: bool = True
    extra: str = ""
    hardware: str = ""  # more sections for the profile (a [printer])
    test_scans_open_pairing: bool = True  # a bench gate: test scans stand for bands
    passage_timeout_s: float = 1.0  # a grant with no passage sensor edge within it: not passed
    factory: MockFactory = field(default_factory=MockFactory)

    def __post_init__(self) -> None:
        venue = self.root / "venue"
        if not venue.exists():
            write_venue(venue)
        self.dir = self.root / self.gate_id
        self.dir.mkdir(parents=True, exist_ok=True)
        self.field = TagEmulator("127.0.0.1", 0).start()
        self.master = self.pty_path = None
        if self.scanner:
            self.master, slave = os.openpty()
            self.pty_path = os.ttyname(slave)
            self._slave = slave
        self.socket = self.dir / "gate.sock"
        profile = self.dir / "profile.toml"
        lines = [
            f'[reader]\ndevice = "{self.field.path}"\ndebounce_s = {DEBOUNCE_S}\n'
            f'originality_key = "{ORIGINALITY_KEY}"\n'
        ]
        if self.pty_path:
            lines.append(f'[scanner]\nport = "{self.pty_path}"\nterminator = "CR"\n')
        lines.append(
            "[pins]\n" + "".join(f"{k} = {v!r}\n".replace("'", '"') for k, v in self.pins.items())
        )
        profile.write_text("".join(lines) + self.hardware)
        self.config = self.dir / "gate.toml"
        self.config.write_text(
            "[gate]\n"
            f'id = "{self.gate_id}"\nrole = "{self.role}"\nprofile = "{profile}"\n'
            f'state_dir = "{self.dir / "state"}"\nsite_key = "{venue / "site.key"}"\n'
            f'policy = "{venue / "policy.toml"}"\nallowlist_csv = "{venue / "allowlist"}"\n'
            f'control_socket = "{self.socket}"\npassage_timeout_s = {self.passage_timeout_s}\n'
            f"test_scans_open_pairing = {str(self.test_scans_open_pairing).lower()}\n{self.extra}"
        )
        self.keyring = load_keyring(venue / "site.key")
        self.gate: Gate | None = None
        self._left_at = 0.0  # when the reader last saw a band leave (monotonic)
        self.thread: threading.Thread | None = None

    # --- life cycle -----------------------------------------------------------------------------

    def start(self) -> GateRig:
        """Build and run the gate on its own thread: the journal belongs to the loop's thread."""
        built: queue.Queue[Gate | BaseException] = queue.Queue()

        def main() -> None:
            try:
                gate = Gate(load_gate_config(self.config), pin_factory=self.factory)
            except BaseException as exc:
                built.put(exc)
                return
            built.put(gate)
            gate.run()

        self.thread = threading.Thread(target=main, name=f"gate-{self.gate_id}")
        self.thread.start()
        result = built.get(timeout=15)
        if isinstance(result, BaseException):
            raise result
        self.gate = result
        wait_for(self.socket.exists, what="control socket")
        if self.scanner:  # bytes sent before the port is open would be lost
            wait_for(lambda: self.status()["scanner"]["state"] == "open", what="scanner open")
        return self

    def linked(self, timeout: float = 60) -> GateRig:
        """Wait until the broker granted every subscription: from then on the gate hears its
        peers (what a desk sends before that, a gate never started before does not)."""
        wait_for(
            lambda: self.status()["link"].get("subscribed"),
            timeout=timeout,
            what=f"{self.gate_id} subscribed",
            log=lambda: str(self.status()["link"]),
        )
        return self

    def stop(self) -> None:
        if self.gate is not None and self.thread is not None:
            self.gate.stop("test over")
            self.thread.join(timeout=10)
            assert not self.thread.is_alive(), "the gate did not stop"
        self.gate = self.thread = None

    def close(self) -> None:
        self.stop()
        self.field.stop()
        if self.master is not None:
            os.close(self.master)
            os.close(self._slave)

    # --- a technician's view ---------------------------------------------------------------------

    def ask(self, cmd: str, **args: Any) -> dict[str, Any]:
        return ask(str(self.socket), {"cmd": cmd, **args})

    def status(self) -> dict[str, Any]:
        return self.ask("status")

    def seq(self) -> int:
        return int(self.status()["journal"]["last_seq"])

    def last_decision(self) -> dict[str, Any]:
        return dict(self.status()["last"] or {})

    # --- visitors -------------------------------------------------------------------------------

    def tap(
        self, uid: str, memory: bytes | None = None, pulled_after_writes: int | None = None
    ) -> dict[str, Any]:
        """Put a band on the reader; wait for the gate's decision; take the band away.
        `pulled_after_writes`: the visitor pulls the band away after that many page writes."""
        self._past_debounce()
        before = self.seq()
        self.field.present(uid, memory)
        if pulled_after_writes is not None:
            self.field.pull_after_writes(pulled_after_writes)
        wait_for(lambda: self._decided_after(before), what=f"decision on {uid} at {self.gate_id}")
        decision = self.last_decision()
        kept = self.field.memory
        self.field.remove()
        wait_for(
            lambda: self.status()["reader"]["state"] == "searching",
            what=f"the reader at {self.gate_id} to see {uid} leave",
        )
        self._left_at = time.monotonic()  # the reader marked the band before this moment
        decision["memory"] = kept
        return decision

    def _past_debounce(self) -> None:
        """A band tapped again within the reader's debounce of leaving is not read: wait out
        what is left of it since the reader saw the last band leave (nothing, usually)."""
        left = DEBOUNCE_S + 0.05 - (time.monotonic() - self._left_at)
        if left > 0:
            time.sleep(left)

    def barcode(self, code: str) -> dict[str, Any]:
        assert self.master is not None
        before = self.seq()
        os.write(self.master, code.encode() + b"\r")
        wait_for(lambda: self._decided_after(before), what=f"decision on {code} at {self.gate_id}")
        return self.last_decision()

    def _decided_after(self, seq: int) -> bool:
        return int(self.last_decision().get("seq") or 0) > seq

    def token_on(self, memory: bytes, uid: str) -> Any:
        """The token a band's memory carries, verified as any gate would."""
        area = read_ndef(lambda page: (memory + bytes(64))[page * 4 : page * 4 + 16])
        return decode_token(area.message, uid, self.keyring)

    def relay_states(self) -> list[bool]:
        return [bool(s.state) for s in self.factory.pin(17).states]


@pytest.fixture
def rigs() -> Iterator[list[GateRig]]:
    """The gates a test starts (append them): each closed at the end."""
    made: list[GateRig] = []
    yield made
    for rig in made:
        rig.close()


def loop_status(rig: GateRig, within_s: float = 30.0) -> dict[str, Any]:
    """The gate's status, asked with its own deadline: a gate whose loop is not running fails
    here with that reason, not as the control socket's reply timeout."""
    from gate.control.client import Unreachable

    try:
        return ask(str(rig.socket), {"cmd": "status"}, timeout=within_s)
    except Unreachable as exc:
        raise AssertionError(f"gate {rig.gate_id}: its loop does not answer: {exc}") from exc


def link_section(
    broker: Any, gate_id: str, directory: Path, port: int | None = None, **settings: Any
) -> str:
    """A `[link]` section for gate.toml: the test broker (on `port` if given: its TLS listener),
    this gate's password in a file."""
    secret = directory / f"{gate_id}.password"
    directory.mkdir(parents=True, exist_ok=True)
    secret.write_text(broker.credentials.password(gate_id))
    os.chmod(secret, 0o600)
    lines = [
        f'host = "{broker.host}"',
        f"port = {port or broker.port}",
        f'password_file = "{secret}"',
    ]
    lines += [f"{k} = {v!r}" for k, v in settings.items()]
    return "\n[link]\n" + "\n".join(lines) + "\n"
