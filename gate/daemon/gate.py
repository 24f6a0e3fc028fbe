"""`gate run`: the edge daemon. One loop owns the state; everything else only enqueues.

    reader thread ──┐
    scanner thread ─┤                ┌─ journal (committed first)
    GPIO callbacks ─┼─► inbox ─► loop ┼─ fold into the state
    control socket ─┘                └─ relay, indicators, buzzer (after the commit)

Every decision is journalled before the relay moves. After a crash the state is rebuilt by
folding the journal's events again, in sequence order.

`Gate` builds the parts and owns the loop; each part runs on it: the scan path (`scans`), the
link's messages (`follower`), the allowlist swaps (`allowlist_keeper`), the journal and the
folded state (`ledger`), the chores between messages (`housekeeping`). The control socket's
answers (`gate.daemon.answers`) see the gate through its `RunningGate` protocol.
"""

from __future__ import annotations

import functools
import logging
import queue
import shutil
import signal
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gpiozero import GPIOZeroError  # type: ignore[import-untyped]

from gate.config import ConfigError, load_policy
from gate.control.metrics import serve_metrics
from gate.control.refusals import journal_refusal
from gate.control.sdnotify import Notifier
from gate.control.socket import MAX_IMPORT_REQUEST, ControlRequest, ControlServer
from gate.core import (
    Kind,
    Role,
    State,
    headcount,
)
from gate.daemon.allowlist_keeper import AllowlistKeeper, initial_allowlist
from gate.daemon.answers import answer
from gate.daemon.clock_watch import ClockWatch
from gate.daemon.desk_commands import DeskRunner
from gate.daemon.desk_prompts import BindingWatch
from gate.daemon.desk_requests import DeskRequests
from gate.daemon.follower import LinkFollower
from gate.daemon.guardian_actions import GuardianActions
from gate.daemon.guardian_phones import desk_books
from gate.daemon.housekeeping import Housekeeping
from gate.daemon.inbox import (
    BarcodeRead,
    BarcodeRejected,
    FireAlarm,
    PassageSeen,
    StaffButton,
    Stop,
    TagArrived,
)
from gate.daemon.ledger import Ledger
from gate.daemon.metrics import gate_metrics
from gate.daemon.pickups import Pickups
from gate.daemon.scans import ScanPath
from gate.daemon.vouchers import Vouchers
from gate.devices.gpio.backend import PinBackendError, open_pin_backend
from gate.devices.gpio.gate_io import GateIO
from gate.devices.nfc.reader import NfcReader, TagRead
from gate.devices.nfc.token import KeyFileError, Keyring, load_keyring
from gate.devices.scanner import BarcodeScanner
from gate.link.client import Link, LinkDown, LinkMessage, LinkSubscribed, LinkUp
from gate.link.peers import Peers
from gate.settings import GateConfig, Profile
from gate.store.allowlist import AllowlistError, AllowlistStore
from gate.store.journal import Journal
from gate.store.journal_file import JournalError
from gate.store.presence import PresenceLog

log = logging.getLogger("gate")

TICK_S = 0.25
TAG_REPLY_TIMEOUT_S = 3.0
LOW_DISK_MB = 200.0  # as gatectl diag says it (gate.daemon.answers)


class StartupError(Exception):
    """The gate cannot start: the message says what to fix (file, field, reason)."""


class Gate:
    """The gate daemon: its stores, devices, link and parts, built from the configuration, and
    the one loop that owns the state."""

    def __init__(
        self,
        config: GateConfig,
        *,
        pin_factory: Any = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        notifier: Notifier | None = None,
    ) -> None:
        self.settings = s = config.gate
        self.hardware = config.hardware
        self.notifier = notifier or Notifier()
        try:
            self.policy = load_policy(s.policy)
            self.keyring: Keyring = load_keyring(s.site_key)  # refuses a key others can read
            s.state_dir.mkdir(parents=True, exist_ok=True)
            self.clock_watch = ClockWatch(clock, s.state_dir / "clock.json", s.clock_max_offset_s)
            self.clock = clock = self.clock_watch.now
            self.store = AllowlistStore(s.state_dir / "allowlist.json")
            self.journal = Journal(s.state_dir / "journal.db", s.id, wall=self._wall_ms)
            self.presence = PresenceLog(s.state_dir / "presence.db", s.presence_max_mib << 20)
            self.peers = Peers(s.state_dir / "roster.json")
            self.ledger = Ledger(
                self.journal, self.presence, initial_allowlist(self.store, s.allowlist_csv)
            )
        except (ConfigError, KeyFileError, JournalError, AllowlistError, OSError) as exc:
            raise StartupError(str(exc)) from exc
        self.rebuilt, skipped = self.ledger.rebuild()
        self.inbox: queue.Queue[Any] = queue.Queue()
        self.counters: dict[str, int] = {}
        self.started = time.monotonic()
        self._stopping = threading.Event()

        self._own_pins: Any = None  # the factory opened here, closed with the gate
        try:
            if pin_factory is None:  # else the tests' own (gate.devices.gpio.backend)
                pin_factory = self._own_pins = open_pin_backend(config.hardware.pins)
        except PinBackendError as exc:
            raise StartupError(str(exc)) from exc
        try:
            self.io = GateIO(
                config.hardware.pins,
                pin_factory=pin_factory,
                on_passage=lambda grant, passed: self.inbox.put(PassageSeen(grant, passed)),
                on_staff_button=lambda: self.inbox.put(StaffButton()),
                on_fire_alarm=lambda on: self.inbox.put(FireAlarm(on)),
                passage_timeout_s=s.passage_timeout_s,
            )
        except (GPIOZeroError, ValueError) as exc:
            raise StartupError(f"{_pin_named_in(config, exc)}: {exc}") from exc
        self.reader = nfc_reader(config.hardware, self.keyring, self._on_tag)
        self.scanner = barcode_scanner(config.hardware, self.inbox)
        try:
            self.control = ControlServer(
                s.control_socket, self.inbox, max_request=MAX_IMPORT_REQUEST
            )
        except OSError as exc:
            raise StartupError(f"control_socket {s.control_socket}: {exc}") from exc
        try:
            self.link = Link(config.link, s.id, self.inbox, s.role) if config.link else None
        except OSError as exc:
            raise StartupError(f"[link] password_file or tls_ca: {exc}") from exc
        watch = self.clock_watch  # its own clock, or the hub's while its own is off
        self.metrics = gate_metrics(self.ledger, self.link, self.control, self.reader, watch)
        self.housekeeping = Housekeeping(s, self.ledger, self.notifier, clock)
        self.allowlists = AllowlistKeeper(self.store, self.ledger)
        self.follower = (
            LinkFollower(
                self.link,
                s,
                self.ledger,
                self.peers,
                self.allowlists,
                self.reader,
                self._wall_ms,
                self.counters,
                self._count,
                self.metrics,
                self.clock_watch,
            )
            if self.link
            else None
        )
        self.drill = self.follower.drill if self.follower is not None else None  # the hub's
        if self.follower is not None:  # what its status says of the scanner and the disk
            self.follower.problems = functools.partial(device_problems, self.scanner, s.state_dir)
        self.scans = ScanPath(
            s,
            self.policy,
            self.keyring,
            self.ledger,
            self.io,
            self.link,
            clock,
            self._count,
            self.metrics,
            Vouchers.of(s.voucher_valid_min, self.hardware.printer, self.keyring, self._count),
            Pickups.of(self.policy, self.hardware.printer, self.keyring, self._count),
        )
        if s.role in ("desk", "handheld"):  # walk-ins' guardian phones; codes to the guardian
            desk_books(self.scans, self.follower, self.link, clock, self._count)
        self.desk = DeskRunner(self.scans)  # desk actions by name (gate.daemon.desk_actions)
        self.guardians = GuardianActions(self.scans)  # walk-ins, lists, typed pickup codes
        if s.role in ("desk", "handheld"):  # who of a family is missing, when it goes quiet
            family_watch = BindingWatch(
                s.id, self.ledger, self.policy, clock, self.io, self._count, s.language
            )
            self.housekeeping.binding_watch = family_watch.tick
        if self.follower is not None and s.role in ("desk", "handheld"):  # the hub's console
            self.follower.desk = DeskRequests(
                s.id, self.desk, self.journal, self._wall_ms, self._count
            )
        self.metrics_server: Any = None
        if skipped:
            self._count("rebuild_skipped", skipped)

    # --- the reader thread's callback: enqueue, wait for the loop ---------------------------------

    def _on_tag(self, read: TagRead) -> None:
        arrived = TagArrived(read)
        self.inbox.put(arrived)
        if not arrived.done.wait(TAG_REPLY_TIMEOUT_S):  # keep the tag while the loop decides
            log.warning("loop did not answer a tag read in %.1f s", TAG_REPLY_TIMEOUT_S)

    # --- the loop -------------------------------------------------------------------------------

    def run(self) -> int:
        for part in (self.reader, self.scanner, self.control, self.link):
            if part is not None:
                part.start()
        if self.settings.metrics_port is not None:
            bind, port = self.settings.metrics_bind, self.settings.metrics_port
            self.metrics_server = serve_metrics(self.metrics, bind, port)
        self.io.idle()
        self.notifier.ready(self._status_line())
        log.info(
            "gate %s (%s) ready: %s", self.settings.id, self.settings.role, self._status_line()
        )
        self.housekeeping.start()
        try:
            while not self._stopping.is_set():
                try:
                    message = self.inbox.get(timeout=self._tick_s)
                except queue.Empty:
                    message = None
                try:
                    if message is not None:
                        self._handle(message)
                    self.scans.advance_time()
                    if self.follower is not None:
                        self.follower.tick()
                except JournalError as exc:  # disk full, card failing: move nothing unrecorded
                    self._count("journal_failed")
                    self.io.deny()
                    log.error("journal: %s: nothing was let through", exc)
                self.housekeeping.due()
        finally:
            self.close()
        return 0

    def _wall_ms(self) -> int:
        """The journal's wall clock: the one the gate decides with (its own, or the hub's while
        its own is off), so decisions and timestamps agree."""
        return int(self.clock().timestamp() * 1000)

    @property
    def state(self) -> State:
        """The state the loop folded: the ledger's (a late peer entry makes it fold anew)."""
        return self.ledger.state

    @property
    def _tick_s(self) -> float:
        """How long the loop waits for a message: short enough to ping systemd's watchdog."""
        return min(TICK_S, self.notifier.watchdog_interval_s or TICK_S)

    def stop(self, reason: str = "stop requested") -> None:
        self.inbox.put(Stop(reason))

    def close(self) -> None:
        self.notifier.stopping()
        for part in (self.reader, self.scanner, self.link):
            if part is not None:
                part.stop()
        self.control.stop()
        if self.metrics_server is not None:
            self.metrics_server.shutdown()
        self.io.close()
        if self._own_pins is not None:
            self._own_pins.close()
        self.journal.close()
        self.presence.close()
        self.store.close()
        log.info("gate %s stopped", self.settings.id)

    def _handle(self, message: Any) -> None:
        match message:
            case TagArrived(read=read):
                try:
                    drilled = self.drill is not None and self.drill.reader_removed  # "removed"
                    (self.drill.dropped if drilled and self.drill else self.scans.tag)(read)
                finally:
                    message.done.set()
            case BarcodeRead(code=code):
                self.scans.read(Kind.BARCODE, code)
            case BarcodeRejected(rejected=rejected):
                self._count("scanner_rejected")
                log.warning("scanner: %s", rejected)
                self.io.deny()
            case PassageSeen(grant=grant, passed=passed):
                self.scans.passage(grant, passed)
            case StaffButton():
                self.scans.staff_button()
            case FireAlarm(on=on):
                self.scans.fire_alarm_changed(on)
            case ControlRequest() if message.take():  # else its asker gave up: not done
                try:
                    message.reply.put(answer(self, message.command, message.args, message.peer))
                except JournalError as exc:  # disk full, or another write failure: not done
                    message.reply.put(journal_refusal(exc, exc.reason))
                    raise
            case LinkUp() | LinkDown() | LinkSubscribed() | LinkMessage():
                assert self.follower is not None
                self.follower.handle(message)
            case Stop(reason=reason):
                log.info("stopping: %s", reason)
                self._stopping.set()

    # --- reporting ------------------------------------------------------------------------------

    def _count(self, key: str, n: int = 1) -> None:
        self.counters[key] = self.counters.get(key, 0) + n
        self.metrics.count("events", n, kind=key)

    count = _count  # for the control handlers: what they refuse is counted alike

    def _status_line(self) -> str:
        count = headcount(self.ledger.state)
        return (
            f"{self.settings.role} {self.scans.mode.value if self.scans.mode else 'check'}, "
            f"allowlist v{self.ledger.state.allowlist.version}, "
            f"{count.inside} inside, journal seq {self.journal.last_seq}"
        )


def nfc_reader(
    hardware: Profile, keyring: Keyring, on_tag: Callable[[TagRead], None]
) -> NfcReader | None:
    """The profile's NFC reader, if it has one."""
    reader = hardware.reader
    if not reader:
        return None
    return NfcReader(
        reader.device,
        keyring,
        on_tag,
        debounce_s=reader.debounce_s,
        poll_s=reader.poll_s,
        fast_read=reader.fast_read,
        originality=reader.originality_check,
    )


def barcode_scanner(hardware: Profile, inbox: queue.Queue[Any]) -> BarcodeScanner | None:
    """The profile's barcode scanner, if it has one: its reads and rejects go to the loop."""
    scanner = hardware.scanner
    if not scanner:
        return None
    return BarcodeScanner(
        scanner.port,
        baudrate=scanner.baudrate,
        terminator=scanner.terminator_bytes,
        max_length=scanner.max_length,
        strip_aim=scanner.strip_aim,
        on_code=lambda code: inbox.put(BarcodeRead(code)),
        on_reject=lambda rejected: inbox.put(BarcodeRejected(rejected)),
    )


def _pin_named_in(config: GateConfig, exc: Exception) -> str:
    """Which `[pins]` field a GPIO error is about, for the technician's message."""
    text = str(exc)
    pins = config.hardware.pins
    for name in pins.fitted:
        value = getattr(pins, name)
        if str(value) in text:
            return f"pins.{name} = {value!r}"
    return "the profile's [pins]"


def device_problems(
    scanner: BarcodeScanner | None, state_dir: Path
) -> tuple[str | None, str | None]:
    """The scanner's problem and the disk's, for the gate's status (the hub's incidents)."""
    state = scanner.health().state if scanner else "open"
    free = disk_free_mb(state_dir)
    disk = f"only {free:.0f} MB free" if free < LOW_DISK_MB else None
    return (None if state == "open" else f"scanner {state}"), disk


def disk_free_mb(path: Path) -> float:
    return shutil.disk_usage(path).free / 1e6


def install_signal_handlers(gate: Gate) -> None:
    def on_signal(signum: int, _frame: object) -> None:
        gate.stop(signal.Signals(signum).name)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)


__all__ = ["Gate", "Role", "install_signal_handlers"]
