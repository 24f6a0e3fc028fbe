"""Scan-to-relay latency through the gate daemon, against the pure core's `decide` of the same
scans, measured in the same run.

    python -m bench.scan_to_relay [DIRECTORY]

The gate is the real daemon, `gate.daemon.gate.Gate`, with an entry role, its loop on a thread and
gpiozero's mock pins, as tests/gate_rig.py runs it; its reader searches a UDP port where no band
ever answers. Each scan enters where the reader thread hands a band over: `Gate._on_tag` with a
`TagRead` carrying a verified `BandToken`, as `NfcReader` delivers it (the RF exchange and the
token's MAC check happen on the reader thread before that and are not counted). The time runs
from that call to the relay pin going high (a mock pin that timestamps its changes).

What the time is made of: the inbox hand-over to the loop, `decide`, the journal append, the fold
and the relay command. Every decision is journalled, committed with an fsync of the journal's WAL,
before the relay moves (design §5), so the journal commit dominates: `decide` takes tens of
microseconds, the rest of the loop's work (the hand-over between threads, encoding the entry and
the decision) a few hundred, the sync a few hundred more on an SSD and milliseconds on an SD
card. The figure "journal append p50" is that commit as the daemon paid it during the run (on
the build machine's SSD about 0.6 of 1 ms at the median). The tail adds the sync's outliers and
the wait for the interpreter lock when another thread holds it (Python's switch interval is
5 ms). The state directory is on DIRECTORY (default: the repository's `var/`, like
bench/journal.py), not /tmp, which may be a tmpfs where a sync costs nothing.

Scans: distinct members of families of two adults and two children, adults first, each let in
once from its token (BandLearned, MemberMoved, and an adult's PairingOpened). Pairing windows
of 5 s close during the run, as at a busy gate: their expiry is journalled too, now and then on
a scan's path. Reads are paced so that each relay pulse (`pulse_s` 1 ms) and the gap after it
are over before the next read, so no pulse waits behind another. The daemon's log records are
not written anywhere (no handler), as in the tests.
"""

from __future__ import annotations

import os
import queue
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from gpiozero.pins.mock import MockFactory, MockPin  # type: ignore[import-untyped]

from bench.common import percentiles_us, report
from gate.config import load_policy
from gate.core import BandToken, Intent, Kind, Mode, Policy, Role, Scan, State, decide, fold
from gate.daemon.gate import Gate
from gate.devices.nfc.band import WriteOutcome
from gate.devices.nfc.reader import TagRead
from gate.devices.nfc.udp_ports import free_udp_port
from gate.settings import load_gate_config

SCANS = 3000
WARM_UP = 100  # scans not counted: first imports, first pages of the journal
GATE_ID = "E1"
RELAY = 17
PINS = {"relay": RELAY, "green": 22, "red": 27, "amber": 23, "buzzer": 24}
PULSE_S = 0.001
SITE_KEY = "1 " + "5a" * 32 + "\n"
DEFAULT_DIR = Path(__file__).resolve().parent.parent / "var"


class TimedPin(MockPin):  # type: ignore[misc]
    """A mock pin that keeps the `perf_counter_ns` of each rise."""

    def __init__(self, factory: Any, info: Any) -> None:
        self.rises: list[int] = []
        super().__init__(factory, info)

    def _change_state(self, value: bool) -> bool:
        changed: bool = super()._change_state(value)
        if changed and value:
            self.rises.append(time.perf_counter_ns())
        return changed


class ReadOnlyBand:
    """The writer of a band on an entry gate's reader: an entry gate never writes a token."""

    retry = False

    def write_token(self, ndef_bytes: bytes) -> WriteOutcome:
        return WriteOutcome(False, "an entry gate writes no token")


def write_gate(root: Path) -> Path:
    """An entry gate's files: policy, site key, hardware profile, gate.toml; returns gate.toml."""
    (root / "policy.toml").write_text(
        'timezone = "UTC"\nopen = "00:00"\nclose = "00:00"\ncapacity = 100000\n'
        "pairing_window_s = 5\n"
    )
    key = root / "site.key"
    key.write_text(SITE_KEY)
    os.chmod(key, 0o600)
    pins = "".join(f"{name} = {pin}\n" for name, pin in PINS.items())
    (root / "profile.toml").write_text(
        f'[reader]\ndevice = "udp:127.0.0.1:{free_udp_port()}"\n\n'
        f"[pins]\n{pins}pulse_s = {PULSE_S}\n"
    )
    config = root / "gate.toml"
    config.write_text(
        "[gate]\n"
        f'id = "{GATE_ID}"\nrole = "entry"\nprofile = "{root / "profile.toml"}"\n'
        f'state_dir = "{root / "state"}"\nsite_key = "{key}"\npolicy = "{root / "policy.toml"}"\n'
        f'control_socket = "{root / "gate.sock"}"\n'
    )
    return config


def families(n: int) -> list[TagRead]:
    """`n` band reads of families of two adults and two children, adults first, each band with
    its verified token."""
    today = datetime.now(UTC).date()
    start, end = today - timedelta(days=1), today + timedelta(days=1)
    reads = []
    for i in range(n):
        group, slot = f"F{i // 4:06d}", i % 4
        role = Role.ADULT if slot < 2 else Role.CHILD
        token = BandToken(group, role, start, end, 2, 2)
        reads.append(TagRead(f"04E{i:09X}00", token, None, "NXP NTAG213", ReadOnlyBand()))
    return reads


def start_gate(config: Path, factory: MockFactory) -> tuple[Gate, threading.Thread]:
    """The daemon's loop on its own thread, which builds the gate: the journal belongs to it."""
    built: queue.Queue[Gate | BaseException] = queue.Queue()

    def main() -> None:
        try:
            gate = Gate(load_gate_config(config), pin_factory=factory)
        except BaseException as exc:
            built.put(exc)
            return
        built.put(gate)
        gate.run()

    thread = threading.Thread(target=main, name="gate-loop")
    thread.start()
    result = built.get(timeout=30)
    if isinstance(result, BaseException):
        raise result
    return result, thread


def timed(samples: list[int], call: Any) -> Any:
    """`call`, keeping the duration (ns) of each of its calls in `samples`."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter_ns()
        try:
            return call(*args, **kwargs)
        finally:
            samples.append(time.perf_counter_ns() - start)

    return wrapper


def through_daemon(config: Path, reads: list[TagRead]) -> tuple[list[int], list[int]]:
    """(read-to-relay, journal append) durations in ns, of the reads after the warm-up."""
    factory = MockFactory(pin_class=TimedPin)
    gate, thread = start_gate(config, factory)
    appends: list[int] = []
    gate.journal.append = timed(appends, gate.journal.append)  # type: ignore[method-assign]
    relay: TimedPin = factory.pin(RELAY)
    latencies: list[int] = []
    counted_from = 0
    try:
        for n, read in enumerate(reads):
            if n == WARM_UP:
                counted_from = len(appends)
            rises = len(relay.rises)
            start = time.perf_counter_ns()
            gate._on_tag(read)  # as the reader thread: returns once the loop has decided
            if gate.scans.last is None or gate.scans.last.get("code") != "OK_ENTRY":
                raise RuntimeError(f"{read.uid} was not let in: {gate.scans.last}")
            if len(relay.rises) != rises + 1:
                raise RuntimeError(f"{read.uid}: {len(relay.rises) - rises} relay pulses")
            if n >= WARM_UP:
                latencies.append(relay.rises[-1] - start)
            pulsing = gate.io._relay  # the pulse and the gap after it: over before the next read
            while pulsing is not None and pulsing.in_use:
                time.sleep(PULSE_S / 4)
    finally:
        gate.stop("bench over")
        thread.join(timeout=10)
    return latencies, appends[counted_from:]


def core_only(reads: list[TagRead], policy: Policy) -> list[int]:
    """`decide` durations in ns for the same scans, on a state folded as the daemon's is."""
    state = State()
    samples = []
    clock = time.perf_counter_ns
    for n, read in enumerate(reads):
        scan = Scan(GATE_ID, Mode.ENTRY, Kind.NFC, read.uid, Intent.FINAL, read.token)
        now = datetime.now(UTC)
        start = clock()
        decision, events = decide(state, scan, now, policy)
        elapsed = clock() - start
        if not decision.granted:
            raise RuntimeError(f"{read.uid} was not let in: {decision}")
        for event in events:
            fold(state, event)
        if n >= WARM_UP:
            samples.append(elapsed)
    return samples


def main(directory: Path = DEFAULT_DIR, scans: int = SCANS) -> None:
    reads = families(WARM_UP + scans)
    directory.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=directory, prefix="bench-scan-to-relay-") as tmp:
        config = write_gate(Path(tmp))
        policy = load_policy(Path(tmp) / "policy.toml")
        latencies, appends = through_daemon(config, reads)
    decided = core_only(reads, policy)
    p50, p99 = (us / 1000 for us in percentiles_us(latencies))
    base50, base99 = (us / 1000 for us in percentiles_us(decided))
    append50 = percentiles_us(appends)[0] / 1000
    report("scan to relay", "p50", p50, "ms", base50)
    report("scan to relay", "p99", p99, "ms", base99, "p99 <= 50 ms")
    report("scan to relay", "journal append p50", append50, "ms", base50)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_DIR)
