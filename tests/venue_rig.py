"""The simulated venue's processes as the tests drive them: Mosquitto, `hub run`, and `gate run`
per gate, each started when a test asks for it (`venue.daemon`, `venue.configs`).

Gates run with gpiozero's mock pins (GPIOZERO_PIN_FACTORY=mock) and a reader on nfcpy's `udp:`
driver with nothing on it; scans come through each gate's control socket, the same path as a
real read. The test keeps its own ground truth from the answers it gets (`venue.truth`).

With `service` (an `Account`), the daemons run as that user, as systemd runs them as
`wristgate`: the venue's files are handed to it before each start (the tests run as root).
"""

from __future__ import annotations

import json
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gate_rig import wait_for, write_venue
from processes import adopt

from deploy.broker_process import Broker, free_port
from gate.control.client import Unreachable, ask
from gate.devices.nfc.emulator import ORIGINALITY_KEY, TagEmulator
from gate.devices.nfc.udp_ports import free_udp_port
from gate.settings import ReaderSettings
from venue.configs import GateLink, HubLinks, gate_toml, hub_toml, write_secret
from venue.daemon import Account, Daemon, DemoError, hand_over
from venue.truth import MOVED_IN, moved_out

ROLES = {"D": "desk", "E": "entry", "X": "exit", "H": "handheld"}
# The venue's roster: the gates a test may start, by the role their first letter says.
ROSTER = {f"{letter}{n}": role for letter, role in ROLES.items() for n in (1, 2)}

START_WITHIN_S = 90  # a daemon answers on its control socket within this, or the test fails


@dataclass
class Process(Daemon):
    """A daemon as a test drives it: `start` returns once it answers, or fails with its log."""

    def start(self) -> Process:
        self.spawn()
        # Stopped by Venue.close; killed when pytest exits should it be stopped before that (a
        # venue may be a module's, its gates outliving the test that started them)
        adopt(self.proc, session=True)
        # a loaded 2-core machine can take a while to import and open everything: the deadline
        # is generous, and a timeout shows the log
        wait_for(self._answers, timeout=START_WITHIN_S, what=f"{self.name} up", log=self.tail)
        return self

    def _answers(self) -> bool:
        try:
            return self.answers()
        except DemoError:
            assert self.proc is not None
            raise AssertionError(
                f"{self.name} exited {self.proc.returncode}: {self.tail()}"
            ) from None

    def stop(self) -> None:
        self.terminate()
        self.wait_stopped(timeout=15)

    def tail(self, lines: int = 15) -> str:
        """The end of the log as a test shows it: its last 2000 characters, whatever `lines`."""
        return self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""


@dataclass
class Venue:
    root: Path
    broker: Broker
    gates: dict[str, Process] = field(default_factory=dict)
    hub: Process | None = None
    http_port: int = 0
    inside: dict[str, bool] = field(default_factory=dict)  # the test's own ground truth
    tokens: dict[str, str] = field(
        default_factory=lambda: {"desk": "desk-" + "d" * 24, "staff": "staff-" + "s" * 24}
    )
    forged: bool = False  # the test forges entries: refusals are expected, not a fault
    service: Account | None = None  # the daemons' user; None: this process's own
    passwords: dict[str, str] = field(default_factory=dict)  # a user's own (a wrong one) instead
    left: dict[tuple[str, str], float] = field(default_factory=dict)  # (gate, uid): when taken off

    def __post_init__(self) -> None:
        self.venue = write_venue(self.root / "venue")
        self.secrets = self.root / "secrets"
        self.secrets.mkdir(exist_ok=True)

    def _password_file(self, user: str) -> Path:
        password = self.passwords.get(user) or self.broker.credentials.password(user)
        return write_secret(self.secrets / f"{user}.password", password)

    def _token_file(self, who: str) -> Path:
        return write_secret(self.secrets / f"{who}.token", self.tokens[who])

    def start_hub(
        self, http: str = "", roster: dict[str, str] | None = None, sections: str = ""
    ) -> Process:
        """Start the hub; `http`: more lines for hub.toml's [http] section; `roster`: its
        [gates], by default every gate of ROSTER; `sections`: more sections of hub.toml."""
        roster = ROSTER if roster is None else roster
        d = self.root / "hub"
        d.mkdir(exist_ok=True)
        self.http_port = self.http_port or free_port()
        config = d / "hub.toml"
        links = HubLinks(
            self.broker.host,
            self.broker.port,
            self._password_file("hub"),
            self.http_port,
            self._token_file("desk"),
            self._token_file("staff"),
        )
        config.write_text(hub_toml(d, self.venue, links, roster, http=http) + sections)
        argv = [sys.executable, "-m", "hub", "-c", str(config), "run"]
        self.hub = Process("hub", argv, d / "hub.log", d / "hub.sock", account=self.service)
        self._hand_over()
        self.hub.start()
        return self.hub

    def start_gate(
        self,
        gate: str,
        broker_port: int | None = None,
        local_allowlist: bool = True,
        settings: str = "",
        hardware: str = "",
        clock_offset_s: float | None = None,
        reader: str | None = None,
    ) -> Process:
        """Start (or restart) a gate; `broker_port` elsewhere cuts it off from the venue;
        without `local_allowlist` it gets its allowlist from the hub alone; `settings`: more
        lines for gate.toml's [gate], `hardware`: more sections for its profile; with
        `clock_offset_s` its wall clock is that far off the system's (`venue.shifted_gate`);
        `reader`: the device of a `TagEmulator` the test holds bands (a staff badge) to."""
        d = self.root / gate
        d.mkdir(exist_ok=True)
        profile = d / "profile.toml"
        device = reader or f"udp:127.0.0.1:{free_udp_port()}"
        tapped = f'originality_key = "{ORIGINALITY_KEY}"\n' if reader else ""
        profile.write_text(
            f'[reader]\ndevice = "{device}"\n{tapped}[pins]\nrelay = 17\ngreen = 22\n' + hardware
        )
        config = d / "gate.toml"
        link = GateLink(
            self.broker.host, broker_port or self.broker.port, self._password_file(gate)
        )
        toml = gate_toml(gate, ROLES[gate[0]], d, d / "state", self.venue, link, local_allowlist)
        config.write_text(toml.replace("[gate]\n", f"[gate]\n{settings}", 1))
        argv = [sys.executable, "-m", "gate", "run", "-c", str(config)]
        if clock_offset_s is not None:
            offset = d / "clock-offset"
            offset.write_text(f"{clock_offset_s}\n")
            argv = [sys.executable, "-m", "venue.shifted_gate", str(config), str(offset)]
        process = self.gates.get(gate) or Process(
            gate, argv, d / "gate.log", d / "gate.sock", account=self.service
        )
        self._hand_over()
        self.gates[gate] = process.start()
        return process

    def _hand_over(self) -> None:
        if self.service is not None:
            hand_over(self.root, self.service)

    def scan(self, gate: str, value: str, kind: str = "nfc", intent: str = "final") -> str:
        request = {"cmd": "scan", "kind": kind, "value": value, "intent": intent}
        answer = ask(str(self.gates[gate].socket), request)
        assert answer.get("ok"), answer
        code = str(answer["decision"]["code"])
        if code in MOVED_IN:
            self.inside[value] = True
        elif moved_out(code, gate):
            self.inside[value] = False
        return code

    def knows(self, gate: str, uid: str) -> bool:
        """Whether `gate` holds the band's binding (it reaches other gates over the broker)."""
        answer = ask(str(self.gates[gate].socket), {"cmd": "allowlist", "lookup": uid})
        return "member" in answer["lookup"]

    def linked(self, *gates: str, timeout: float = 60) -> None:
        """Wait until the broker granted each gate's subscriptions: from then on it hears its
        peers (what a desk sends before that, a gate never started before does not)."""
        for gate in gates:
            wait_for(
                lambda g=gate: ask(str(self.gates[g].socket), {"cmd": "status"})["link"].get(
                    "subscribed"
                ),
                timeout=timeout,
                what=f"{gate} subscribed",
                log=self.gates[gate].log,
            )

    def wait_bound(self, gates: tuple[str, ...], bands: tuple[str, ...]) -> None:
        for gate in gates:
            for band in bands:
                wait_for(lambda g=gate, b=band: self.knows(g, b), what=f"{gate} knows {band}")

    def state_at(self, gate: str, uid: str) -> str | None:
        """The band's state as `gate` holds it; None when the band is not bound there."""
        answer = ask(str(self.gates[gate].socket), {"cmd": "allowlist", "lookup": uid})
        member = answer["lookup"].get("member")
        return str(member["state"]) if member else None

    def wait_state(self, gate: str, bands: tuple[str, ...], state: str = "inside") -> None:
        """Until `gate` holds every band in `state` (moves reach other gates over the broker)."""
        for band in bands:
            try:
                wait_for(
                    lambda b=band: self.state_at(gate, b) == state,
                    timeout=30,
                    what=f"{gate} holds {band} {state}",
                )
            except AssertionError as exc:
                raise AssertionError(f"{exc}; {gate}'s log: {self.gates[gate].tail()}") from None

    def gate_status(self, gate: str) -> dict[str, Any]:
        return ask(str(self.gates[gate].socket), {"cmd": "status"})

    def tap(self, gate: str, reader: TagEmulator, uid: str) -> dict[str, Any]:
        """A band (a staff badge) held to `gate`'s reader (started with `reader=`) until the gate
        decided, then taken away: the decision."""
        # A band back on a reader within its debounce is not read again: the hand waits it out.
        debounce_s = ReaderSettings.model_fields["debounce_s"].default
        away = time.monotonic() - self.left.get((gate, uid), float("-inf"))
        time.sleep(max(0.0, debounce_s + 0.2 - away))
        before = int(self.gate_status(gate)["journal"]["last_seq"])
        reader.present(uid, None)
        try:
            wait_for(
                lambda: int((self.gate_status(gate)["last"] or {}).get("seq") or 0) > before,
                what=f"{gate} decides on {uid}: {self.gates[gate].tail()}",
            )
        finally:
            reader.remove()
        searching = lambda: self.gate_status(gate)["reader"]["state"] == "searching"  # noqa: E731
        wait_for(searching, what="the band left the reader")
        self.left[(gate, uid)] = time.monotonic()
        time.sleep(0.5)  # the hand moving to the next band
        return dict(self.gate_status(gate)["last"])

    def api(self, path: str, who: str | None = "staff") -> Any:
        """GET the hub's API as `who` (a token holder: staff, desk; None: no token)."""
        request = urllib.request.Request(f"http://127.0.0.1:{self.http_port}{path}")
        if who is not None:
            request.add_header("Authorization", f"Bearer {self.tokens[who]}")
        with urllib.request.urlopen(request, timeout=5) as r:
            return json.loads(r.read())

    def truth(self) -> int:
        return sum(self.inside.values())

    def settled(self) -> bool:
        """Every gate's journal acknowledged by the hub, and the hub's state rebuilt."""
        for gate in self.gates:
            journal = self.gate_status(gate)["journal"]
            if journal["acked"] != journal["last_seq"]:
                return False
        assert self.hub is not None
        status = ask(str(self.hub.socket), {"cmd": "status"})
        return not status["stale"]

    def refusals(self) -> dict[str, dict[str, int]]:
        """Entries refused by the hub and by each running gate, by reason (gate.core.authority):
        in a venue of real gates alone, any is a false refusal."""
        found: dict[str, dict[str, int]] = {}
        for name, process in [*self.gates.items(), *([("hub", self.hub)] if self.hub else [])]:
            if process.proc is None or process.proc.poll() is not None:
                continue
            try:
                status = ask(str(process.socket), {"cmd": "status"}, timeout=5)
            except Unreachable:
                continue
            if name == "hub":
                refused = dict(status["refused"])
            else:
                counters = status["counters"].items()  # link_refused: a login, not an entry
                refused = {k: n for k, n in counters if "refused" in k and k != "link_refused"}
            if refused:
                found[name] = refused
        return found

    def close(self) -> None:
        refused = {} if self.forged else self.refusals()
        for process in [*self.gates.values(), *([self.hub] if self.hub else [])]:
            process.stop()
        assert not refused, f"entries of real gates refused (gate.core.authority): {refused}"

    def wait_settled(self, timeout: float = 40) -> None:
        wait_for(self.settled, timeout=timeout, what="every journal acknowledged by the hub")
        time.sleep(1.5)  # the hub refreshes its state at most once a second
