"""The lock relay of a turnstile (a pulse per grant) or a door (held open), and free exit, which
holds it open.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from functools import partial

from gpiozero import DigitalOutputDevice  # type: ignore[import-untyped]

from gate.devices.gpio.pins import GatePins
from gate.devices.gpio.signals import Indicators
from gate.devices.gpio.timers import after

log = logging.getLogger("gate.devices.gpio")  # one log for the gate I/O


class Relay:
    """The lock relay.

    pulse (turnstile): one pulse per grant; grants that come while a pulse is out are queued
    as separate pulses with a gap, so the turnstile counts each one.
    hold (door): held for `hold_s` after the latest grant, released early once no grant is
    waiting for its passage.
    Free exit holds it on and overrides both.
    """

    def __init__(self, device: DigitalOutputDevice, pins: GatePins) -> None:
        self.device = device
        self._mode = pins.relay_mode
        self._pulse_s = pins.pulse_s
        self._hold_s = pins.hold_s
        self._lock = threading.RLock()
        self._timer: threading.Timer | None = None
        self._generation = 0  # a timer that fires after being superseded does nothing
        self._owed = 0  # pulse mode: pulses still to send
        self._busy = False  # pulse mode: a pulse or its gap is under way
        self._free_exit = False
        self._testing = False

    @property
    def in_use(self) -> bool:
        with self._lock:
            return self._free_exit or self._busy or self._timer is not None

    def open_for_grant(self) -> None:
        with self._lock:
            self._testing = False
            if self._free_exit:
                return  # already open
            if self._mode == "hold":
                self.device.on()
                self._schedule(self._hold_s, self._release)
            else:
                self._owed += 1
                if not self._busy:
                    self._next_pulse()

    def no_grant_waiting(self) -> None:
        """Every grant has passed or timed out: a held door may lock again."""
        with self._lock:
            if self._mode == "hold" and self._timer is not None:
                self._release()

    def set_free_exit(self, on: bool) -> None:
        with self._lock:
            self._free_exit = on
            self._cancel()
            self._owed, self._busy, self._testing = 0, False, False
            self.device.value = on

    def begin_test(self) -> bool:
        """Switch on for a self-test unless in use; False when skipped."""
        with self._lock:
            if self.in_use:
                return False
            self._testing = True
            self.device.on()
            return True

    def end_test(self) -> None:
        with self._lock:
            if self._testing:  # a grant may have taken over meanwhile
                self._testing = False
                self.device.off()

    def selftest(self, step_s: float) -> str:
        """On for `step_s` unless in use: "ok", "skipped: ..." or "failed: ..."."""
        try:
            if not self.begin_test():
                return "skipped: in use (grant or free exit)"
            on = bool(self.device.value)
            time.sleep(step_s)
            self.end_test()
        except Exception as exc:
            return f"failed: {exc}"
        return "ok" if on else "failed: did not switch on"

    def close(self) -> None:
        with self._lock:
            self._cancel()

    def _next_pulse(self) -> None:
        self._owed -= 1
        self._busy = True
        self.device.on()
        self._schedule(self._pulse_s, self._pulse_off)

    def _pulse_off(self) -> None:
        self.device.off()
        self._schedule(self._pulse_s, self._gap_over)  # a gap the controller can see

    def _gap_over(self) -> None:
        self._busy = False
        if self._owed:
            self._next_pulse()

    def _release(self) -> None:
        self._cancel()
        self.device.off()

    def _schedule(self, delay: float, action: Callable[[], None]) -> None:
        self._cancel()
        self._timer = after(delay, partial(self._fire, self._generation, action), "relay")

    def _fire(self, generation: int, action: Callable[[], None]) -> None:
        with self._lock:
            if generation != self._generation:
                return
            self._timer = None
            action()

    def _cancel(self) -> None:
        self._generation += 1
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


class FreeExit:
    """Free exit (evacuation): the relay held open and green shown while any source asks for it,
    "manual" (the daemon) or "fire_alarm" (the input). Callers hold the gate I/O's lock."""

    def __init__(self, relay: Relay | None, indicators: Indicators) -> None:
        self._relay = relay
        self._indicators = indicators
        self._sources: set[str] = set()

    @property
    def on(self) -> bool:
        return bool(self._sources)

    def set(self, source: str, on: bool) -> None:
        was = bool(self._sources)
        if on:
            self._sources.add(source)
        else:
            self._sources.discard(source)
        now = bool(self._sources)
        if now != was:
            if self._relay is not None:
                self._relay.set_free_exit(now)
            self._indicators.set_free_exit(now)
            log.warning("gate I/O: free exit %s (%s)", "on" if now else "off", source)
