"""Crash safety of the gate daemon: `gate run` in its own process, killed with SIGKILL at random
moments while it decides a steady stream of scans, and restarted each time on the same state.

After every restart the daemon must come back up and answer, and its journal must:

- hold every decision a client was answered, in order, with at most one more: the scan that was
  in flight at the kill (committed, but its answer lost with the process);
- be numbered 1..N with no gap or repeat, each entry with its own nonce and a later hybrid
  timestamp than the one before, every entry seen before the kill still there unchanged;
- be what the daemon rebuilt its state from: the headcount and the members it reports are the
  fold of the journal's events, and so are its next decisions (the pure core, given only the
  folded journal, predicts every answer of the next run).

The gate is a desk for the first half of the kills (tickets open bindings, bands are bound to
them); then the same gate, on the same state directory, is reconfigured as an entry gate and
lets the bound members in, so that the headcount it rebuilds is not trivially zero. Some kills
land during start-up (allowlist import, journal creation, rebuild) rather than mid-stream.

A kill is a process crash, not a power cut: what the daemon wrote stays in the kernel's page
cache, so this checks that the answer follows the commit and that the restart folds what was
committed, not the syncs themselves.

The seed of a run is printed; WRISTGATE_CRASH_SEED=<seed> replays its kills and scans (by
default the same seed every run). A kill comes after a number of answered scans the seed draws,
not after a stretch of wall-clock time, so a slow machine gets the same kills and decisions.
"""

from __future__ import annotations

import itertools
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from gate_rig import PINS, TODAY, wait_for, write_venue
from processes import spawn

from gate.config import load_policy
from gate.control.client import Unreachable, ask
from gate.core import Intent, Kind, Mode, Policy, Scan, State, decide, fold, headcount
from gate.devices.nfc.udp_ports import free_udp_port
from gate.link.codec import decision_to_dict, event_from_dict
from gate.store.allowlist import load_csv_dir
from gate.store.journal import Entry, Journal

REPO = Path(__file__).resolve().parent.parent
GATE_ID = "G1"
KILLS = 25
SEED = 14  # WRISTGATE_CRASH_SEED overrides it
ANSWERS_BEFORE_KILL = (15, 40)  # the kill of a streaming run comes after this many answers
TICKETS = 2000  # more families than the desk can bind before the entry half starts
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0
# A time in a decision's message ("already inside (entered at G1 ...)"): the test predicts with
# its own clock, the daemon decides with its own a moment later, and the second may turn.
MESSAGE_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[^ )]*")
MODES = {"desk": Mode.BIND, "entry": Mode.ENTRY}


def ticket(i: int) -> str:
    return f"K{i:05d}"


def band(i: int, slot: int) -> str:
    """The 7-byte UID of the band of slot `slot` (adults first) of ticket `i`."""
    return f"04B{i:07X}{slot:02X}00"


# --- the venue and the gate's files ---------------------------------------------------------------


def write_gate(root: Path) -> tuple[Path, Path]:
    """`write_venue` with TICKETS more families of two adults and two children and room for all of
    them; returns (venue, gate directory)."""
    venue = write_venue(root / "venue")
    start, end = TODAY - timedelta(days=1), TODAY + timedelta(days=1)
    with (venue / "allowlist" / "tickets.csv").open("a") as tickets:
        tickets.writelines(f"{ticket(i)},family,2,2,{start},{end},\n" for i in range(TICKETS))
    with (venue / "allowlist" / "wristbands.csv").open("a") as stock:  # the desk binds only these
        stock.writelines(
            f"{band(i, slot)},{'adult' if slot < 2 else 'child'}\n"
            for i in range(TICKETS)
            for slot in range(4)
        )
    policy = venue / "policy.toml"
    policy.write_text(policy.read_text().replace("capacity = 100\n", "capacity = 100000\n"))
    gate_dir = root / GATE_ID
    gate_dir.mkdir()
    return venue, gate_dir


def write_config(gate_dir: Path, venue: Path, role: str, reader_port: int) -> Path:
    """`GateRig`'s layout: a profile (reader, pins) and a gate.toml naming the venue's files."""
    profile = gate_dir / "profile.toml"
    pins = "".join(f"{name} = {pin}\n" for name, pin in PINS.items())
    profile.write_text(
        f'[reader]\ndevice = "udp:127.0.0.1:{reader_port}"\ndebounce_s = 0.3\n\n'
        f"[pins]\n{pins}pulse_s = 0.005\n"
    )
    config = gate_dir / "gate.toml"
    config.write_text(
        "[gate]\n"
        f'id = "{GATE_ID}"\nrole = "{role}"\nprofile = "{profile}"\n'
        f'state_dir = "{gate_dir / "state"}"\nsite_key = "{venue / "site.key"}"\n'
        f'policy = "{venue / "policy.toml"}"\nallowlist_csv = "{venue / "allowlist"}"\n'
        f'control_socket = "{gate_dir / "gate.sock"}"\npassage_timeout_s = 1.0\n'
        "test_scans_open_pairing = true\n"  # the test's scans stand for bands, as in its model
    )
    return config


class GateProcess:
    """`python -m gate run -c gate.toml` on one gate directory, with gpiozero's mock pins."""

    def __init__(self, gate_dir: Path) -> None:
        self.config = gate_dir / "gate.toml"
        self.socket = gate_dir / "gate.sock"
        self.journal = gate_dir / "state" / "journal.db"
        self.log = gate_dir / "gate.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {**os.environ, "GPIOZERO_PIN_FACTORY": "mock"}
        command = [sys.executable, "-m", "gate", "run", "-c", str(self.config)]
        with self.log.open("ab") as log:  # a file, not a pipe nobody drains
            self.proc = spawn(
                [*command, "--log-level", "WARNING"],
                cwd=REPO,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def ready(self) -> dict[str, Any]:
        """The daemon's status, once it answers on its control socket."""
        assert self.proc is not None
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(f"gate exited with {self.proc.returncode}:\n{self.tail()}")
            try:
                status = self.ask({"cmd": "status"})
            except Unreachable:  # not listening yet, or the killed daemon's stale socket
                if time.monotonic() > deadline:
                    raise AssertionError(f"gate did not come back up:\n{self.tail()}") from None
                time.sleep(0.01)
                continue
            assert status["ok"], status
            return status

    def ask(self, request: dict[str, Any]) -> dict[str, Any]:
        return ask(str(self.socket), request, timeout=10.0)

    def kill(self) -> None:
        """SIGKILL: no handler runs, no close. (What the process wrote is in the kernel's hands:
        unlike a power cut, this does not test the syncs themselves.)"""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)

    def wait(self) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout=10)

    def tail(self, lines: int = 30) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


# --- what the client saw, and what the journal must say about it ----------------------------------


@dataclass
class Run:
    """One run of the daemon, as the client saw it."""

    answered: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (value, decision)
    in_flight: str | None = None  # the scan sent when the daemon died, unanswered


def read_journal(path: Path) -> list[Entry]:
    """Every entry, through a read-only view (the daemon may be writing)."""
    entries: list[Entry] = []
    with Journal.open_readonly(path) as journal:
        while page := journal.entries_after(entries[-1].seq if entries else 0, limit=5000):
            entries += page
    return entries


def fork(state: State) -> State:
    """A copy `fold` can change without touching `state` (fold replaces the frozen values)."""
    return replace(
        state,
        members=dict(state.members),
        groups=dict(state.groups),
        bindings=dict(state.bindings),
        pairings=dict(state.pairings),
        overrides=dict(state.overrides),
    )


class Witness:
    """The journal as verified so far, and the state folded from it (with the same allowlist)."""

    def __init__(self, venue: Path) -> None:
        allowlist, row_errors = load_csv_dir(venue / "allowlist")
        assert not row_errors
        self.state = State(allowlist=allowlist)
        self.entries: list[Entry] = []

    def journal(self, gate: GateProcess, run: Run) -> list[Entry]:
        """The journal on disk, checked: numbered 1..N, nonces unique, hybrid timestamps rising,
        the entries seen before unchanged, then the run's answered decisions in order, with at
        most the scan in flight at the kill besides."""
        entries = read_journal(gate.journal)
        assert [e.seq for e in entries] == list(range(1, len(entries) + 1)), "gap or repeat"
        assert len({e.nonce for e in entries}) == len(entries), "a nonce used twice"
        assert all(a.hlc < b.hlc for a, b in itertools.pairwise(entries)), "hybrid clock went back"
        seen = len(self.entries)
        assert entries[:seen] == self.entries, "an entry seen before the kill changed or vanished"
        decided = [
            (e.body["scan"]["value"], e.body["decision"])
            for e in entries[seen:]
            if e.kind == "decision"
        ]
        answered = len(run.answered)
        assert decided[:answered] == run.answered, "an answered decision is not in the journal"
        extra = decided[answered:]
        assert extra == [] or [value for value, _ in extra] == [run.in_flight], (
            f"decisions nobody asked for: {extra} (in flight: {run.in_flight})"
        )
        return entries

    def check(self, gate: GateProcess, status: dict[str, Any], run: Run) -> int:
        """After a restart: the journal against the run before it, and the daemon's rebuilt state
        against the journal. Returns 1 when the scan in flight at the kill was committed."""
        entries = self.journal(gate, run)
        new = entries[len(self.entries) :]
        committed_in_flight = sum(e.kind == "decision" for e in new) - len(run.answered)

        # The daemon's state at `last_seq` is the fold of the journal up to there.
        last_seq = status["journal"]["last_seq"]
        assert len(self.entries) <= last_seq <= len(entries)
        for entry in new:
            if entry.seq == last_seq + 1:
                assert status["headcount"] == headcount(self.state).as_dict()
            for data in entry.body.get("events", ()):
                fold(self.state, event_from_dict(data))
        if last_seq == len(entries):
            assert status["headcount"] == headcount(self.state).as_dict()
        self.entries = entries
        return committed_in_flight

    def check_members(self, gate: GateProcess, uids: list[str]) -> None:
        """Each band as the daemon knows it (group, role, state), or not at all, as folded here."""
        for uid in uids:
            found = gate.ask({"cmd": "allowlist", "lookup": uid})["lookup"]
            member = self.state.members.get(uid)
            if member is None:
                assert "member" not in found, f"{uid} is a member, though the journal never says so"
            else:
                assert "member" in found, f"{uid}: bound in the journal, unknown to the daemon"
                known = found["member"]
                expected = (member.group, member.role.value, member.state.value)
                assert (known["group"], known["role"], known["state"]) == expected, uid


# --- the scans ------------------------------------------------------------------------------------


class Flow:
    """Scans in the order they are presented. One is done only once answered: a scan with no
    answer (the daemon died) is presented again, as a clerk or a visitor would."""

    def __init__(self, scans: Iterator[tuple[str, str]]) -> None:
        self._scans = scans
        self.next = next(scans)

    def done(self) -> None:
        self.next = next(self._scans)


def desk_scans(rng: random.Random) -> Iterator[tuple[str, str]]:
    """Families at the desk: the ticket, then its four bands; now and then a band scanned too
    early or twice, a ticket scanned again once all its bands are bound, an unknown ticket."""
    for i in itertools.count():
        if i >= TICKETS:
            yield "barcode", f"NOPE{i}"
            continue
        if rng.random() < 0.05:
            yield "nfc", band(i, 0)  # no binding open
        yield "barcode", ticket(i)
        for slot in range(4):
            yield "nfc", band(i, slot)
            if slot and rng.random() < 0.05:
                yield "nfc", band(i, slot - 1)  # already bound
        if rng.random() < 0.03:
            yield "barcode", ticket(i)  # every band of it bound
        if rng.random() < 0.03:
            yield "barcode", f"NOPE{i}"  # not in the allowlist


def entry_scans(members: list[str], rng: random.Random) -> Iterator[tuple[str, str]]:
    """The bound members walking in, adults of a family first; now and then a band shown again
    (passback) or one the venue never bound; once all are in, only passbacks."""
    inside: list[str] = []
    for uid in members:
        yield "nfc", uid
        inside.append(uid)
        if rng.random() < 0.08:
            yield "nfc", rng.choice(inside)
        if rng.random() < 0.02:
            yield "nfc", f"04FF{rng.getrandbits(40):010X}"
    while True:
        yield "nfc", rng.choice(members) if members else f"04FF{rng.getrandbits(40):010X}"


def same_decision(answered: Any, expected: dict[str, Any]) -> bool:
    """The same decision, whatever second the times in their messages fell on."""
    if not isinstance(answered, dict):
        return False

    def timeless(d: dict[str, Any]) -> dict[str, Any]:
        return {**d, "message": MESSAGE_TIME.sub("<time>", str(d.get("message")))}

    return timeless(answered) == timeless(expected)


def stream(
    gate: GateProcess,
    flow: Flow,
    mode: Mode,
    predicted: State,
    policy: Policy,
    kill_after: int,
    kill_delay_s: float,
) -> Run:
    """Send the flow's scans one after another until the daemon is killed: `kill_delay_s` after
    the `kill_after`th answer, while the next scans go on (the kill lands mid-scan or between
    two). Each answer must be the decision the pure core takes on `predicted` (folded as we go)."""
    run = Run()
    killer: threading.Timer | None = None
    try:
        while True:
            if killer is None and len(run.answered) >= kill_after:
                killer = threading.Timer(kill_delay_s, gate.kill)
                killer.start()
            kind, value = flow.next
            scan = Scan(GATE_ID, mode, Kind(kind), value, Intent.FINAL)
            expected, events = decide(predicted, scan, datetime.now(UTC), policy)
            try:
                answer = gate.ask({"cmd": "scan", "kind": kind, "value": value})
            except Unreachable:
                run.in_flight = value
                return run
            assert same_decision(answer.get("decision"), decision_to_dict(expected)), (
                f"{kind} {value}: the daemon answered {answer}, the journal's fold gives {expected}"
            )
            for event in events:
                fold(predicted, event)
            run.answered.append((value, answer["decision"]))
            flow.done()
    finally:
        if killer is None:  # the run failed before its kill
            gate.kill()
        else:
            killer.join()
        gate.wait()


# --- the tests ------------------------------------------------------------------------------------


def test_sigkill_at_random_moments_loses_no_answered_decision(tmp_path: Path) -> None:
    seed = int(os.environ.get("WRISTGATE_CRASH_SEED", SEED))
    print(f"WRISTGATE_CRASH_SEED={seed}")
    rng = random.Random(seed)
    venue, gate_dir = write_gate(tmp_path)
    policy = load_policy(venue / "policy.toml")
    reader_port = free_udp_port()
    gate = GateProcess(gate_dir)
    witness = Witness(venue)
    flow = Flow(desk_scans(random.Random(rng.random())))
    role = "desk"
    write_config(gate_dir, venue, role, reader_port)
    run = Run()
    kills = in_flight = committed_in_flight = 0
    try:
        for n in range(KILLS):
            if n == KILLS // 2:  # the desk becomes an entry gate, on the same state
                role = "entry"
                write_config(gate_dir, venue, role, reader_port)
                members = [uid for group in witness.state.groups.values() for uid in group.members]
                flow = Flow(entry_scans(members, random.Random(rng.random())))
            gate.start()
            if n == 0 or n % 6 == 3:  # somewhere in start-up: import, journal, rebuild
                time.sleep(rng.uniform(0.0, 0.6))
                gate.kill()
                gate.wait()
                kills += 1
                continue
            status = gate.ready()
            committed_in_flight += witness.check(gate, status, run)
            touched = [value for value, _ in run.answered[-20:] if value.startswith("04")]
            if run.in_flight and run.in_flight.startswith("04"):
                touched.append(run.in_flight)
            sample = rng.sample(list(witness.state.members), min(10, len(witness.state.members)))
            witness.check_members(gate, touched + sample)
            assert status["mode"] == MODES[role].value
            kill_after, delay_s = rng.randint(*ANSWERS_BEFORE_KILL), rng.uniform(0.0, 0.02)
            run = stream(gate, flow, MODES[role], fork(witness.state), policy, kill_after, delay_s)
            witness.journal(gate, run)  # read by another process, the daemon dead: all there
            kills += 1
            in_flight += run.in_flight is not None

        # Up once more: the last run checked, then a clean stop after all those crashes.
        gate.start()
        status = gate.ready()
        committed_in_flight += witness.check(gate, status, run)
        assert gate.proc is not None
        gate.proc.send_signal(signal.SIGTERM)
        assert gate.wait() == 0, gate.tail()
    finally:
        gate.kill()
        if gate.proc is not None:
            gate.wait()

    decisions = sum(e.kind == "decision" for e in witness.entries)
    print(
        f"{kills} kills, {len(witness.entries)} entries, {decisions} decisions, "
        f"{in_flight} kills with a scan in flight, {committed_in_flight} of them committed, "
        f"{status['headcount']['inside']} inside"
    )
    assert kills == KILLS
    assert decisions >= 200, "too few decisions for the kills to have landed mid-stream"
    assert in_flight >= 5, "the kills did not land while scans were being decided"
    assert status["headcount"]["inside"] > 0


def test_sigterm_stops_the_daemon_cleanly_while_scans_arrive(tmp_path: Path) -> None:
    venue, gate_dir = write_gate(tmp_path)
    write_config(gate_dir, venue, "desk", free_udp_port())
    gate = GateProcess(gate_dir)
    gate.start()
    try:
        gate.ready()
        run = Run()
        flow = Flow(desk_scans(random.Random(1)))

        def clerk() -> None:
            while True:
                kind, value = flow.next
                try:
                    answer = gate.ask({"cmd": "scan", "kind": kind, "value": value})
                except Unreachable:
                    answer = {}
                if "decision" not in answer:  # the gate went away, or its loop stopped
                    run.in_flight = value
                    return
                run.answered.append((value, answer["decision"]))
                flow.done()

        scanning = threading.Thread(target=clerk)
        scanning.start()
        wait_for(lambda: len(run.answered) > 10, what="scans flowing")
        assert gate.proc is not None
        asked = time.monotonic()
        gate.proc.send_signal(signal.SIGTERM)
        code = gate.proc.wait(timeout=STOP_TIMEOUT_S)
        stopped_in = time.monotonic() - asked
        scanning.join(timeout=15)
    finally:
        gate.kill()
        if gate.proc is not None:
            gate.wait()

    assert code == 0, gate.tail()
    assert stopped_in < STOP_TIMEOUT_S
    assert not gate.socket.exists(), "control socket left behind"
    assert not scanning.is_alive()
    assert len(run.answered) > 10
    # Everything answered is journalled; the writer's lock is free for the next start.
    decided = [(e.body["scan"]["value"], e.body["decision"]) for e in read_journal(gate.journal)]
    assert decided[: len(run.answered)] == run.answered
    assert len(decided) - len(run.answered) <= 1
    Journal(gate.journal, GATE_ID).close()
