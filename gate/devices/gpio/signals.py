"""What the gate shows a visitor: the green, red and amber LEDs and the buzzer.

Signals hold until the next call (or for `show_s` when given, then back to idle):

========== ================ ==========================
signal     LEDs             buzzer
========== ================ ==========================
granted    green            one short beep
denied     red              three short buzzes
waiting    amber, blinking  two long beeps
idle       off              silent
free exit  green            silent
========== ================ ==========================
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import partial

from gpiozero import LED, Buzzer, DigitalOutputDevice  # type: ignore[import-untyped]

from gate.devices.gpio.pins import GatePins
from gate.devices.gpio.timers import after

INDICATORS = ("green", "red", "amber", "buzzer")
AMBER_BLINK_S = 0.25  # on and off time of the waiting signal


@dataclass(frozen=True)
class Beep:
    on_s: float
    off_s: float
    n: int


@dataclass(frozen=True)
class Sounds:
    """Buzzer patterns; None keeps the buzzer silent for that signal."""

    granted: Beep | None = Beep(0.1, 0.0, 1)
    denied: Beep | None = Beep(0.15, 0.1, 3)
    waiting: Beep | None = Beep(0.4, 0.2, 2)


class Signal(StrEnum):
    IDLE = "idle"
    GRANTED = "granted"
    DENIED = "denied"
    WAITING = "waiting"
    FREE_EXIT = "free_exit"


def indicator_devices(
    pins: GatePins, pin_factory: object | None
) -> Iterator[tuple[str, DigitalOutputDevice]]:
    """The fitted LEDs, then the buzzer, by name, each opened as it is asked for."""
    for name in ("green", "red", "amber"):
        pin = getattr(pins, name)
        if pin is not None:
            yield name, LED(pin, active_high=pins.leds_active_high, pin_factory=pin_factory)
    if pins.buzzer is not None:
        yield (
            "buzzer",
            Buzzer(pins.buzzer, active_high=pins.buzzer_active_high, pin_factory=pin_factory),
        )


class Indicators:
    """The LEDs and the buzzer, whichever of them are fitted, showing one signal at a time.

    `lock` is the gate I/O's: callers hold it, and the timer that ends a signal shown for
    `show_s` takes it.
    """

    def __init__(
        self,
        outputs: Mapping[str, DigitalOutputDevice],
        sounds: Sounds,
        lock: threading.RLock,
    ) -> None:
        self._outputs = {name: outputs[name] for name in INDICATORS if name in outputs}
        self._sounds = sounds
        self._lock = lock
        self._closed = False
        self._free_exit = False
        self._signal = Signal.IDLE
        self._signal_generation = 0
        self._idle_timer: threading.Timer | None = None

    def show(self, signal: Signal, show_s: float | None) -> None:
        self._signal = signal
        self._signal_generation += 1
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None
        self.light()
        self._sound(signal)
        if show_s is not None:
            back = partial(self._back_to_idle, self._signal_generation)
            self._idle_timer = after(show_s, back, "signal")

    def _back_to_idle(self, generation: int) -> None:
        with self._lock:
            if not self._closed and generation == self._signal_generation:
                self.show(Signal.IDLE, None)

    def set_free_exit(self, on: bool) -> None:
        """Free exit shows green while the signal is idle."""
        self._free_exit = on
        self.light()

    def light(self) -> None:
        shown = self.shown
        lit = {
            "green": shown in (Signal.GRANTED, Signal.FREE_EXIT),
            "red": shown is Signal.DENIED,
        }
        for name, on in lit.items():
            if led := self._outputs.get(name):
                led.value = on
        if amber := self._outputs.get("amber"):
            if shown is Signal.WAITING:
                amber.blink(AMBER_BLINK_S, AMBER_BLINK_S)
            else:
                amber.off()

    @property
    def shown(self) -> Signal:
        if self._signal is Signal.IDLE and self._free_exit:
            return Signal.FREE_EXIT
        return self._signal

    def _sound(self, signal: Signal) -> None:
        buzzer = self._outputs.get("buzzer")
        if buzzer is None:
            return
        beep = {
            Signal.GRANTED: self._sounds.granted,
            Signal.DENIED: self._sounds.denied,
            Signal.WAITING: self._sounds.waiting,
        }.get(signal)
        if beep is None:
            buzzer.off()
        else:
            buzzer.beep(beep.on_s, beep.off_s, beep.n)

    def selftest(self, step_s: float) -> dict[str, str]:
        """Cycle each fitted LED, then the buzzer; how each answered."""
        return {name: _cycle(device, step_s) for name, device in self._outputs.items()}

    def close(self) -> None:
        """Stop the timer of a signal shown for a while."""
        self._closed = True
        if self._idle_timer is not None:
            self._idle_timer.cancel()


def _cycle(device: DigitalOutputDevice, step_s: float) -> str:
    """On for `step_s`, then off; "ok" when the output followed both."""
    try:
        device.on()
        on = bool(device.value)
        time.sleep(step_s)
        device.off()
        off = not device.value
    except Exception as exc:
        return f"failed: {exc}"
    return "ok" if on and off else "failed: did not follow on/off"
