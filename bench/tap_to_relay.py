"""Tap to relay through the whole reader stack: a band presented on the reader at t0 until the
relay pin goes high, against nfcpy reading the same bands alone, measured in the same run.

    python -m bench.tap_to_relay [DIRECTORY] [--quick] [--cpus N]

The gate is the real daemon, `gate.daemon.gate.Gate`, an entry gate on gpiozero's mock pins
(as bench/scan_to_relay.py runs it), whose reader is the real `NfcReader` on nfcpy's ``udp:``
driver, facing the project's emulated NTAG213 (`gate.devices.nfc.emulator.TagEmulator`). Each
tap: a band of its own, carrying a token signed with the gate's site key, presented at t0 (after
a random pause, so taps fall anywhere in the reader's poll cycle); the reader senses it, selects
it (anticollision, GET_VERSION), reads the token's pages, checks its MAC and its originality
signature (READ_SIG, `require`), and hands it to the daemon, which decides, journals (the fsync
of the journal's WAL) and pulses the relay. Then the band is taken away and the reader waits for
it to leave before the next tap.

The figures split each tap at two moments:

- the band hears the reader (`TagEmulator.first_answer`): before it, the **sensing share**, the
  reader's wait for its next sense cycle (the pause `poll_s` between cycles, and the cycle
  itself);
- the reader hands the verified band to the daemon (`on_read` called): between the two, the
  **read stack** (anticollision, activation, the token's pages, the MAC, READ_SIG); after it,
  the daemon (decide, journal and its fsync, relay).

The **software share** is the tap minus the sensing share: what runs once the band is there.

The band's passage record: each tap of the variants reads it with the token, and each grant
writes the next one onto the band and reads it back before the relay moves
(`gate.daemon.passages`). One more run of the defaults hands the gate every other band without its
record's slots (as a band with no room for one: read, not written), the taps alternating, and
gives `passage write added p50`/`p99`: the software share of the taps that wrote against the
taps that did not, in the same run under the same load (`bench.passage_write` times the write
alone, without the daemon).

The baseline is nfcpy alone on the same emulator and the same bands: `clf.connect` with 106A
only, one iteration, no beep, polling back to back, reading the band's NDEF message
(`tag.ndef`). Its read is timed the same way, from the band hearing the reader until the
message is read.

The emulator answers a sense with nothing on it at once (`empty_answer`), as a PN532 does (one
passive activation try), where nfcpy's udp driver would wait a second: the poll cycle here is
`poll_s` plus a loopback exchange, as on a gate's reader. The variants show each tuning of the
reader, one added at a time: the band made an nfcpy tag with GET_VERSION first
(`gate.devices.nfc.activation`; nfcpy's own activation asks AUTHENTICATE first, which an NTAG
leaves unanswered: 10 ms of timeout and a second selection), the pause between sense cycles
(`[reader] poll_s`), and the token read with one FAST_READ (`[reader] fast_read`) instead of
four READs. The other tunings are in every variant and in the
baseline: 106 kbps Type A only (each other technology sensed costs a full timeout on the udp
driver), one sense per cycle, no beep, no pause after a sense but `poll_s`. "idle CPU" is the
process's CPU time per second with no band on the reader (the reader polling, the gate's loop
ticking, the emulator answering).
"""

from __future__ import annotations

import json
import os
import queue
import random
import resource
import tempfile
import threading
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import nfc
import nfc.tag
from gpiozero.pins.mock import MockFactory  # type: ignore[import-untyped]

from bench.common import Options, options, percentiles_ms, report
from bench.scan_to_relay import PINS, PULSE_S, RELAY, SITE_KEY, TimedPin
from gate.core import BandToken, Role
from gate.daemon.gate import Gate
from gate.devices.nfc import reader as reader_module
from gate.devices.nfc.emulated_tag import memory_with_ndef
from gate.devices.nfc.emulator import ORIGINALITY_KEY, TagEmulator
from gate.devices.nfc.reader import ReaderState, TagRead
from gate.devices.nfc.token import encode_token, load_keyring
from gate.settings import load_gate_config

TAPS, QUICK_TAPS = 60, 6
WAIT_S = 10.0


@dataclass(frozen=True)
class Variant:
    name: str
    poll_s: float
    fast_read: bool
    get_version_first: bool = True  # False: nfcpy's activation (AUTHENTICATE first)
    paired: bool = False  # every other band's passage record read but not written (baseline)


VARIANTS = (
    Variant("before: nfcpy's activation, READs, poll_s 0.1", 0.1, False, False),
    Variant("GET_VERSION first, READs, poll_s 0.1", 0.1, False),
    Variant("GET_VERSION first, READs, poll_s 0.02", 0.02, False),
    Variant("GET_VERSION first, FAST_READ, poll_s 0.02: the defaults", 0.02, True),
    Variant("GET_VERSION first, FAST_READ, poll_s 0.005", 0.005, True),
)
PAIRED = Variant("the defaults, every other band's record not written", 0.02, True, True, True)
PAIRED_TAPS, QUICK_PAIRED_TAPS = 200, 12


@dataclass
class Tap:
    sensing_s: float  # presented -> the band heard the reader
    read_s: float  # -> the verified band handed to the daemon
    daemon_s: float  # -> relay high
    written: bool = True  # the grant wrote the band's passage record

    @property
    def total_s(self) -> float:
        return self.sensing_s + self.read_s + self.daemon_s

    @property
    def software_s(self) -> float:
        return self.read_s + self.daemon_s


@dataclass
class Run:
    taps: list[Tap] = field(default_factory=list)
    idle_cpu: float = 0.0  # CPU seconds per second, nothing on the reader


# --- the bands ------------------------------------------------------------------------------------


def bands(root: Path, n: int) -> list[tuple[str, bytes]]:
    """`n` bands (UID, memory) of families of two adults and two children, adults first, each
    holding its token signed with the site key at `root`/site.key."""
    keyring = load_keyring(root / "site.key")
    today = datetime.now(UTC).date()
    start, end = today - timedelta(days=1), today + timedelta(days=1)
    out = []
    for i in range(n):
        role = Role.ADULT if i % 4 < 2 else Role.CHILD
        token = BandToken(f"F{i // 4:06d}", role, start, end, 2, 2)
        uid = f"04B{i:09X}00"[:14]
        out.append((uid, memory_with_ndef(uid, encode_token(token, uid, keyring))))
    return out


def write_gate(root: Path, device: str, variant: Variant) -> Path:
    """An entry gate's files, its reader on `device`; returns gate.toml."""
    (root / "policy.toml").write_text(
        'timezone = "UTC"\nopen = "00:00"\nclose = "00:00"\ncapacity = 100000\n'
        "pairing_window_s = 5\n"
    )
    key = root / "site.key"
    if not key.exists():
        key.write_text(SITE_KEY)
        os.chmod(key, 0o600)
    pins = "".join(f"{name} = {pin}\n" for name, pin in PINS.items())
    (root / "profile.toml").write_text(
        f'[reader]\ndevice = "{device}"\noriginality_key = "{ORIGINALITY_KEY}"\n'
        f"poll_s = {variant.poll_s}\nfast_read = {str(variant.fast_read).lower()}\n"
        f"\n[pins]\n{pins}pulse_s = {PULSE_S}\n"
    )
    state = root / f"state-{(*VARIANTS, PAIRED).index(variant)}"
    config = root / "gate.toml"
    config.write_text(
        "[gate]\n"
        f'id = "E1"\nrole = "entry"\nprofile = "{root / "profile.toml"}"\n'
        f'state_dir = "{state}"\nsite_key = "{key}"\npolicy = "{root / "policy.toml"}"\n'
        f'control_socket = "{root / "gate.sock"}"\n'
    )
    return config


def quick_field() -> TagEmulator:
    """An emulated field whose sense with nothing on it ends at once, as a PN532's does."""
    emulator = TagEmulator("127.0.0.1", 0)
    emulator.empty_answer = True
    return emulator


def _until(condition: Any, what: str, timeout: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.0005)


def _idle_cpu(seconds: float) -> float:
    before, started = resource.getrusage(resource.RUSAGE_SELF), time.monotonic()
    time.sleep(seconds)
    after = resource.getrusage(resource.RUSAGE_SELF)
    used = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return used / (time.monotonic() - started)


# --- through the gate -----------------------------------------------------------------------------


def through_gate(root: Path, variant: Variant, taps: list[tuple[str, bytes]], idle_s: float) -> Run:
    """The taps through the gate as `variant` sets its reader (nfcpy's activation: put back
    for the run, where the reader's own would be)."""
    own = reader_module.activate
    if not variant.get_version_first:
        reader_module.activate = nfc.tag.activate
    try:
        return _through_gate(root, variant, taps, idle_s)
    finally:
        reader_module.activate = own


def _through_gate(
    root: Path, variant: Variant, taps: list[tuple[str, bytes]], idle_s: float
) -> Run:
    rng = random.Random(5)
    run = Run()
    with quick_field() as field_:
        config = write_gate(root, field_.path, variant)
        factory = MockFactory(pin_class=TimedPin)
        built: queue.Queue[Gate | BaseException] = queue.Queue()
        go = threading.Event()
        verified: list[float] = []
        answered: list[str] = []

        def loop() -> None:
            try:
                gate = Gate(load_gate_config(config), pin_factory=factory)
            except BaseException as exc:
                built.put(exc)
                return
            built.put(gate)
            go.wait(WAIT_S)
            gate.run()

        thread = threading.Thread(target=loop, name="gate-loop")
        thread.start()
        gate = built.get(timeout=30)
        if isinstance(gate, BaseException):
            raise gate
        reader = gate.reader
        assert reader is not None
        handed = reader._on_read

        def on_read(read: TagRead) -> None:
            verified.append(time.perf_counter())
            if not written(variant, read.uid):  # read with its record, then "no room" for it
                read = replace(read, slots=None)
            handed(read)  # returns once the loop has decided
            answered.append(read.uid)

        reader._on_read = on_read
        relay: TimedPin = factory.pin(RELAY)
        go.set()
        try:
            _until(lambda: reader.health().state is ReaderState.SEARCHING, "the reader")
            run.idle_cpu = _idle_cpu(idle_s)
            for i, (uid, memory) in enumerate(taps):
                time.sleep(rng.uniform(0, 0.15))
                rises = len(relay.rises)
                t0 = time.perf_counter()
                field_.present(uid, memory)
                _until(lambda u=uid: answered and answered[-1] == u, f"the decision on {uid}")
                _until(lambda r=rises: len(relay.rises) > r, f"the relay for {uid}")
                if gate.scans.last is None or gate.scans.last.get("code") != "OK_ENTRY":
                    raise RuntimeError(f"{uid} was not let in: {gate.scans.last}")
                heard = field_.first_answer
                assert heard is not None
                up = relay.rises[-1] / 1e9
                if i:  # the first tap warms up (imports, the journal's first pages)
                    run.taps.append(
                        Tap(
                            heard - t0,
                            verified[-1] - heard,
                            up - verified[-1],
                            written(variant, uid),
                        )
                    )
                field_.remove()
                _until(lambda: reader.health().state is ReaderState.SEARCHING, "the band gone")
        finally:
            gate.stop("bench over")
            thread.join(timeout=10)
    return run


def written(variant: Variant, uid: str) -> bool:
    """Whether the gate writes the passage record of band `uid` (`bands`: every other UID's
    last hex digit before the 00 is odd) in `variant`."""
    return not variant.paired or int(uid[-3], 16) % 2 == 0


# --- nfcpy alone ----------------------------------------------------------------------------------


def nfcpy_alone(taps: list[tuple[str, bytes]]) -> list[Tap]:
    """nfcpy's connect (106A, one iteration, no beep) back to back, reading each band's NDEF
    message; `daemon_s` is 0: nothing after the read."""
    rng = random.Random(5)
    out: list[Tap] = []
    read_at: queue.Queue[tuple[float, int]] = queue.Queue()
    stop, gone = threading.Event(), threading.Event()
    with quick_field() as field_:
        clf = nfc.ContactlessFrontend(field_.path)

        def poll() -> None:
            rdwr = {
                "targets": ["106A"],
                "iterations": 1,
                "on-connect": lambda tag: False,
                "beep-on-connect": False,
            }
            while not stop.is_set():
                tag = clf.connect(rdwr=rdwr, terminate=stop.is_set)
                if not tag:
                    continue
                ndef = tag.ndef
                octets = len(ndef.octets) if ndef is not None else -1
                read_at.put((time.perf_counter(), octets))
                while not stop.is_set() and tag.is_present:
                    time.sleep(0.01)
                gone.set()

        thread = threading.Thread(target=poll, name="nfcpy-alone")
        thread.start()
        try:
            for i, (uid, memory) in enumerate(taps):
                time.sleep(rng.uniform(0, 0.15))
                t0 = time.perf_counter()
                field_.present(uid, memory)
                done, octets = read_at.get(timeout=WAIT_S)
                if octets <= 0:
                    raise RuntimeError(f"nfcpy read no NDEF message from {uid}")
                heard = field_.first_answer
                assert heard is not None
                if i:
                    out.append(Tap(heard - t0, done - heard, 0.0))
                gone.clear()
                field_.remove()
                if not gone.wait(WAIT_S):
                    raise RuntimeError("nfcpy did not see the band go")
        finally:
            stop.set()
            field_.remove()
            thread.join(timeout=10)
            clf.close()
    return out


# --- the run --------------------------------------------------------------------------------------


def main(opts: Options | None = None) -> None:
    opts = opts or Options()
    n = QUICK_TAPS if opts.quick else TAPS
    variants = VARIANTS[2:4] if opts.quick else VARIANTS
    opts.directory.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=opts.directory, prefix="bench-tap-") as tmp:
        root = Path(tmp)
        write_gate(root, "udp:127.0.0.1:50000", VARIANTS[0])  # the site key, for the tokens
        taps = bands(root, n + 1)  # the first of each run is not counted
        bare = nfcpy_alone(taps)
        runs = [(v, through_gate(root, v, taps, 0.5 if opts.quick else 3.0)) for v in variants]
        pairs = bands(root, (QUICK_PAIRED_TAPS if opts.quick else PAIRED_TAPS) + 1)
        paired = through_gate(root, PAIRED, pairs, 0.5 if opts.quick else 3.0)
    bare_read = percentiles_ms([t.read_s for t in bare])
    bare_tap = percentiles_ms([t.total_s for t in bare])
    bare_sensing = percentiles_ms([t.sensing_s for t in bare])
    for variant, run in runs:
        name = f"tap to relay ({variant.name}; {n} taps, emulated NTAG213, {opts.directory})"
        total = percentiles_ms([t.total_s for t in run.taps])
        sensing = percentiles_ms([t.sensing_s for t in run.taps])
        read = percentiles_ms([t.read_s for t in run.taps])
        daemon = percentiles_ms([t.daemon_s for t in run.taps])
        software = percentiles_ms([t.software_s for t in run.taps])
        report(name, "tap to relay p50", total[0], "ms", bare_tap[0])
        report(name, "tap to relay p95", total[1], "ms", bare_tap[1])
        report(name, "tap to relay p99", total[2], "ms", bare_tap[2])
        report(name, "sensing share p50", sensing[0], "ms", bare_sensing[0])
        report(name, "software share p99", software[2], "ms", bare_read[2], "<= 60 ms")
        report(name, "read stack p50", read[0], "ms", bare_read[0], "ratio <= 1.5")
        report(name, "read stack p95", read[1], "ms", bare_read[1], "ratio <= 1.5")
        check = {
            "bench": name,
            "check": {
                "sensing_share_ms": [round(x, 1) for x in sensing],
                "read_stack_ms": [round(x, 1) for x in read],
                "daemon_ms": [round(x, 1) for x in daemon],
                "idle_cpu_percent": round(run.idle_cpu * 100, 1),
                "nfcpy_alone_read_ms": [round(x, 1) for x in bare_read],
                "nfcpy_alone_tap_to_read_ms": [round(x, 1) for x in bare_tap],
                "p": [50, 95, 99],
            },
        }
        print(json.dumps(check), flush=True)
    passage_write_added(paired, opts)


def passage_write_added(paired: Run, opts: Options) -> None:
    """What writing the band's passage record adds to tap to relay: the defaults, every other
    band's record written and the others' read but not written, taps alternating in one run
    (the same gate, the same load). Taken on the software share (tap to relay less the wait for
    the reader's next sense, which the write does not touch and which varies by tens of
    milliseconds from tap to tap), and on the whole tap beside it."""
    with_record = [t for t in paired.taps if t.written]
    without = [t for t in paired.taps if not t.written]
    name = (
        f"passage write added (the defaults; {len(with_record)} taps writing against "
        f"{len(without)} reading only, alternating, emulated NTAG213, {opts.directory})"
    )
    software = percentiles_ms([t.software_s for t in with_record])
    software_read = percentiles_ms([t.software_s for t in without])
    total = percentiles_ms([t.total_s for t in with_record])
    total_read = percentiles_ms([t.total_s for t in without])
    daemon = percentiles_ms([t.daemon_s for t in with_record])
    daemon_read = percentiles_ms([t.daemon_s for t in without])
    report(name, "passage write added p50", software[0] - software_read[0], "ms", software_read[0])
    report(name, "passage write added p99", software[2] - software_read[2], "ms", software_read[2])
    report(name, "tap to relay p50, record written", total[0], "ms", total_read[0])
    report(name, "tap to relay p99, record written", total[2], "ms", total_read[2])
    report(name, "daemon share p50, record written", daemon[0], "ms", daemon_read[0])


if __name__ == "__main__":
    main(options(what=__doc__))
