"""The gate's clock as it decides: its own, or the hub's when its own is off by more than the bound.

A Raspberry Pi has no real-time clock: after a power cut it boots with the time it saved last,
and keeps it until NTP (systemd-timesyncd) steps it. `ClockWatch` measures the system clock
against the hub's (`gate.link.hub_time`: the hub's `hub/time` every second) and reads the
kernel's NTP state (`adjtimex`: the same flag `timedatectl` shows as "System clock
synchronized"). While the measured offset is within `[gate] clock_max_offset_s` (2 s by
default) the gate's own clock decides; beyond it the gate decides, journals and stamps with the
hub-corrected time (system clock plus the offset), says so in its log, `gatectl status` and its
metrics, and the hub shows the gate's clock as a critical alert.

The last offset measured is kept in the state directory (`clock.json`: offset, the hub's time
when measured, the boot it was measured in), so a gate restarted with no broker goes on with it
and says how old it is. An offset measured before the machine last booted is not used: the
clock it corrected is gone (a Pi boots with whatever time it saved).

`now()` is what the loop passes to the rules core as `now`; the core stays pure.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import logging
import os
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from gate.link.hub_time import OffsetEstimate
from gate.link.protocol import GateClockStatus

log = logging.getLogger("gate")

NtpState = Literal["synchronized", "unsynchronized", "unknown"]
BOOT_ID = Path("/proc/sys/kernel/random/boot_id")
TIME_ERROR = 5  # adjtimex(2): the clock is not synchronised
NTP_EVERY_S = 60.0
KEEP_EVERY_S = 60.0
KEEP_CHANGE_MS = 100
STEP_MS = 500  # the system clock moved this much against the monotonic one: it was stepped


def ntp_state() -> NtpState:
    """The kernel's word on NTP: `adjtimex` read-only (modes 0); TIME_ERROR means unsynchronised
    (what systemd-timesyncd and `timedatectl` go by). "unknown" where it cannot be asked."""
    name = ctypes.util.find_library("c")
    if name is None:
        return "unknown"
    try:
        libc = ctypes.CDLL(name, use_errno=True)
        timex = ctypes.create_string_buffer(512)  # struct timex, zeroed: modes 0, nothing set
        state = int(libc.adjtimex(timex))
    except (OSError, AttributeError):
        return "unknown"
    if state < 0:
        return "unknown"
    return "unsynchronized" if state == TIME_ERROR else "synchronized"


def boot_id() -> str:
    try:
        return BOOT_ID.read_text().strip()
    except OSError:
        return ""


class ClockWatch:
    """The offset of this gate's system clock to the hub's, and the time the gate decides with.
    Owned by the loop."""

    def __init__(
        self,
        raw: Callable[[], datetime],
        path: Path,
        bound_s: float,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        ntp: Callable[[], NtpState] = ntp_state,
        boot: Callable[[], str] = boot_id,
    ) -> None:
        self.raw = raw
        self.path = path
        self.bound_ms = int(bound_s * 1000)
        self.monotonic = monotonic
        self._ntp_read = ntp
        self._boot = boot()
        self.estimate = OffsetEstimate()
        self.kept_ms: int | None = None  # the offset kept from before this start
        self.kept_at_hub_ms: int | None = None  # the hub's time when it was measured
        self.kept_note = ""
        self._ntp: NtpState = "unknown"
        self._ntp_at = -NTP_EVERY_S
        self._kept_at = -KEEP_EVERY_S
        self._kept_value: int | None = None
        self._base_ms: int | None = None  # system clock minus monotonic clock, last seen
        self.corrected = False
        self.good_through = 0  # the last seq journalled with a clock known right (or this run's)
        self.shift: tuple[int, int] | None = None  # (from_seq, ms) the hub is to be told of
        self._load()
        self.corrected = self._beyond(self.offset_ms)
        if self.corrected:
            log.warning("clock: %s", self.describe())

    # --- what the loop asks -----------------------------------------------------------------

    def now(self) -> datetime:
        """The time this gate decides with: its own clock, or the hub's while its own is off."""
        raw = self._read()
        offset = self.offset_ms
        return raw + timedelta(milliseconds=offset) if self.corrected and offset else raw

    @property
    def offset_ms(self) -> int | None:
        """Hub minus this gate's system clock: measured since the start, else the kept one."""
        measured = self.estimate.offset_ms
        return measured if measured is not None else self.kept_ms

    def heard(self, hub_ms: int, received_at_s: float, last_seq: int) -> bool:
        """A hub time message, received (on paho's thread) at `received_at_s` (monotonic), the
        journal's last seq `last_seq`. True when the gate switched between its own clock and the
        hub's. When the entries journalled since the clock was last known right were stamped
        more than the bound off the hub's time (a clock wrong from the start, or one that
        jumped), `shift` says from which seq and by how much: the gate journals it (kind
        `clock`) and the hub orders those entries with it (`hub.fold.clock_order`)."""
        before = self.offset_ms if self.corrected and self.offset_ms else 0  # what now() added
        lag_s = max(self.monotonic() - received_at_s, 0.0)
        gate_ms = int(self._read().timestamp() * 1000 - lag_s * 1000)
        self.estimate.sample(hub_ms, gate_ms, received_at_s)
        offset = self.offset_ms
        off = offset is not None and abs(offset - before) > self.bound_ms
        if off and offset is not None and last_seq > self.good_through:
            self.shift = (self.good_through + 1, offset - before)
        if self.shift is None:
            self.good_through = last_seq
        self._keep()
        return self._switch()

    def take_shift(self) -> tuple[int, int] | None:
        shift, self.shift = self.shift, None
        return shift

    def age_s(self) -> float | None:
        """Seconds since the offset in use was measured (None: never)."""
        if self.estimate.measured_at_s is not None:
            return max(self.monotonic() - self.estimate.measured_at_s, 0.0)
        if self.kept_at_hub_ms is None or self.kept_ms is None:
            return None
        hub_now = self.raw().timestamp() * 1000 + self.kept_ms
        return max((hub_now - self.kept_at_hub_ms) / 1000, 0.0)

    def ntp(self) -> NtpState:
        if self.monotonic() - self._ntp_at >= NTP_EVERY_S:
            self._ntp_at = self.monotonic()
            self._ntp = self._ntp_read()
        return self._ntp

    def status(self) -> GateClockStatus:
        age = self.age_s()
        return GateClockStatus(
            offset_ms=self.offset_ms,
            corrected=self.corrected,
            age_s=None if age is None else round(age, 1),
            ntp=self.ntp(),
            bound_ms=self.bound_ms,
        )

    def details(self) -> dict[str, Any]:
        """For `gatectl status`: the status, what it means in words, and the kept offset."""
        return {
            **self.status().model_dump(),
            "source": self.source(),
            "summary": self.describe(),
            "kept_note": self.kept_note,
        }

    def source(self) -> str:
        if self.estimate.offset_ms is not None:
            return "hub"
        return "kept" if self.kept_ms is not None else "none"

    def describe(self) -> str:
        """One line for the log (English: the technician's log)."""
        offset = self.offset_ms
        if offset is None:
            return "never measured against the hub's: the gate's own clock decides"
        way = "behind" if offset > 0 else "ahead of"
        size = f"{abs(offset) / 1000:.1f} s {way} the hub's"
        if not self.corrected:
            return f"within {self.bound_ms / 1000:g} s of the hub's ({size}): its own clock decides"
        age = self.age_s()
        old = "" if age is None else f", measured {age:.0f} s ago"
        return (
            f"this gate's clock is {size}{old}, more than {self.bound_ms / 1000:g} s: "
            "it decides with the hub's time"
        )

    # --- helpers ----------------------------------------------------------------------------

    def _read(self) -> datetime:
        """The system clock, watched against the monotonic one: a step (NTP putting it right,
        `date -s`) moves the offset with it at once, so the corrected time does not jump."""
        raw = self.raw()
        base = int(raw.timestamp() * 1000 - self.monotonic() * 1000)
        if self._base_ms is not None and abs(base - self._base_ms) > STEP_MS:
            step = base - self._base_ms
            self.estimate.stepped(step)
            if self.kept_ms is not None:
                self.kept_ms -= step
            log.warning("clock: the system clock was stepped %+.1f s", step / 1000)
            self._base_ms = base
            self._switch()
        self._base_ms = base  # a slow slew follows along; only a step moves the offset
        return raw

    def _beyond(self, offset: int | None) -> bool:
        return offset is not None and abs(offset) > self.bound_ms

    def _switch(self) -> bool:
        corrected = self._beyond(self.offset_ms)
        if corrected == self.corrected:
            return False
        self.corrected = corrected
        if corrected:
            log.warning("clock: %s", self.describe())
        else:
            log.info("clock: %s", self.describe())
        return True

    def _load(self) -> None:
        try:
            data = json.loads(self.path.read_text())
            offset, at, boot = int(data["offset_ms"]), int(data["hub_ms"]), str(data["boot"])
        except FileNotFoundError:
            return
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("clock: %s unreadable (%s): measuring again", self.path, exc)
            return
        if boot != self._boot:
            self.kept_note = "measured before the last boot: not used"
            log.info(
                "clock: the offset kept in %s is from before the last boot: not used", self.path
            )
            return
        self.kept_ms, self.kept_at_hub_ms = offset, at
        self._kept_value = offset

    def _keep(self) -> None:
        """Keep the offset for a restart: when it moved, and once a minute."""
        offset = self.estimate.offset_ms
        if offset is None:
            return
        moved = self._kept_value is None or abs(offset - self._kept_value) >= KEEP_CHANGE_MS
        if not moved and self.monotonic() - self._kept_at < KEEP_EVERY_S:
            return
        hub_ms = int(self.raw().timestamp() * 1000) + offset
        temp = self.path.with_suffix(".tmp")
        try:
            with temp.open("w") as f:
                json.dump({"offset_ms": offset, "hub_ms": hub_ms, "boot": self._boot}, f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(temp, self.path)
        except OSError as exc:  # measured again at the next start: said, not fatal
            log.error("clock: offset not kept in %s: %s", self.path, exc)
        self._kept_at, self._kept_value = self.monotonic(), offset
