"""The gate's I/O through gpiozero: relay, LEDs, buzzer, passage sensor, staff button, fire alarm.

Pins come from the hardware profile (`GatePins.from_profile`), never from code, and every device
is optional: a handheld has LEDs and a buzzer only, a door has no turnstile contact. Devices
that are not fitted are skipped; `GateIO.fitted` and `selftest()` say what is there.

Signals hold until the next call (or for `show_s` when given, then back to idle); what each
shows is in `gate.devices.gpio.signals`.

Passage: `grant()` opens the gate and, when a passage sensor is fitted, returns a grant id;
exactly one `on_passage(grant_id, passed)` follows: ``True`` at the first passage edge (grants
are matched in order, so a family scanning three bands then walking through is three
passages), ``False`` when `passage_timeout_s` ends first. Without a sensor, or with
``open_gate=False`` (a desk or handheld check), `grant()` returns None and nothing is reported.
A passage with no grant waiting calls `on_unexpected_passage`.

Fire alarm: while the input is asserted the relay is held open (free exit) without waiting for
the daemon, and `on_fire_alarm(True)` / `on_fire_alarm(False)` report the change. A manual
`free_exit(False)` cannot close a gate the alarm holds open.

Callbacks run on gpiozero's or a timer's thread: they should only enqueue. An exception in one
is logged and swallowed. Wiring the relay fail-safe (open when unpowered) is the installer's job;
`close()` releases the pins.

Example, with gpiozero's mock pins::

    from gpiozero.pins.mock import MockFactory
    io = GateIO(GatePins(relay=17, green=27, passage=22), pin_factory=MockFactory(),
                on_passage=lambda grant_id, passed: inbox.put((grant_id, passed)))
    grant_id = io.grant()  # then on_passage(grant_id, True) or (grant_id, False)
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType

from gpiozero import DigitalOutputDevice  # type: ignore[import-untyped]

from gate.devices.gpio.inputs import ContactInput, InputEvents, contact_inputs
from gate.devices.gpio.pins import INPUTS, OUTPUTS, GatePins
from gate.devices.gpio.relay import FreeExit, Relay
from gate.devices.gpio.signals import Indicators, Signal, Sounds, indicator_devices

log = logging.getLogger("gate.devices.gpio")  # one log for the gate I/O


@dataclass(frozen=True)
class GateIOState:
    """A snapshot for diagnostics (`gatectl status`, `diag`)."""

    fitted: tuple[str, ...]
    signal: Signal
    free_exit: bool
    outputs: Mapping[str, bool]  # fitted outputs: on now
    inputs: Mapping[str, bool]  # fitted inputs: asserted now
    pending_grants: tuple[int, ...]  # waiting for a passage, oldest first
    counts: Mapping[str, int]

    def as_dict(self) -> dict[str, object]:
        return {
            "fitted": list(self.fitted),
            "signal": self.signal.value,
            "free_exit": self.free_exit,
            "outputs": dict(self.outputs),
            "inputs": dict(self.inputs),
            "pending_grants": list(self.pending_grants),
            "counts": dict(self.counts),
        }


@dataclass(frozen=True)
class SelftestReport:
    """What is fitted, how each output answered ("ok", "skipped: ...", "failed: ...")
    and what each input reads at rest."""

    fitted: tuple[str, ...]
    not_fitted: tuple[str, ...]
    outputs: Mapping[str, str]
    inputs: Mapping[str, bool]
    warnings: tuple[str, ...] = field(default=())

    @property
    def passed(self) -> bool:
        return not any(result.startswith("failed") for result in self.outputs.values())

    def as_dict(self) -> dict[str, object]:
        return {
            "passed": self.passed,
            "fitted": list(self.fitted),
            "not_fitted": list(self.not_fitted),
            "outputs": dict(self.outputs),
            "inputs": dict(self.inputs),
            "warnings": list(self.warnings),
        }


class GateIO:
    """Drives one gate's outputs and watches its inputs; see the module docstring."""

    def __init__(
        self,
        pins: GatePins,
        *,
        pin_factory: object | None = None,
        on_passage: Callable[[int, bool], None] | None = None,
        on_staff_button: Callable[[], None] | None = None,
        on_fire_alarm: Callable[[bool], None] | None = None,
        on_unexpected_passage: Callable[[], None] | None = None,
        passage_timeout_s: float = 8.0,
        sounds: Sounds | None = None,
    ) -> None:
        if passage_timeout_s <= 0:
            raise ValueError(f"passage_timeout_s must be positive, got {passage_timeout_s}")
        self.pins = pins
        self.passage_timeout_s = passage_timeout_s
        self._lock = threading.RLock()
        self._closed = False
        self._grants = 0
        self._outputs: dict[str, DigitalOutputDevice] = {}
        self._inputs: dict[str, ContactInput] = {}
        self._relay: Relay | None = None
        try:
            self._build(pin_factory)
        except Exception:
            self._close_devices()
            raise
        self._indicators = Indicators(self._outputs, sounds or Sounds(), self._lock)
        self._free_exit = FreeExit(self._relay, self._indicators)
        self._events = InputEvents(
            self._lock,
            self._relay,
            self._free_exit,
            passage_timeout_s,
            on_passage=on_passage,
            on_staff_button=on_staff_button,
            on_fire_alarm=on_fire_alarm,
            on_unexpected_passage=on_unexpected_passage,
        )
        self._events.watch(self._inputs)
        log.info("gate I/O: fitted %s", ", ".join(self.fitted) or "nothing")

    def _build(self, pin_factory: object | None) -> None:
        # Each device is kept as soon as it is open: if a later one fails, it is closed.
        p = self.pins
        if p.relay is not None:
            relay = DigitalOutputDevice(
                p.relay, active_high=p.relay_active_high, pin_factory=pin_factory
            )
            self._outputs["relay"] = relay
            self._relay = Relay(relay, p)
        for name, device in indicator_devices(p, pin_factory):
            self._outputs[name] = device
        for name, contact in contact_inputs(p, pin_factory):
            self._inputs[name] = contact

    @property
    def fitted(self) -> tuple[str, ...]:
        """Names of the fitted devices, outputs then inputs."""
        return (*self._outputs, *self._inputs)

    # Signals.

    def grant(self, *, open_gate: bool = True, show_s: float | None = None) -> int | None:
        """Green and the grant beep; with `open_gate`, a relay pulse or hold too.

        Returns the id a later `on_passage` will carry, or None when none will follow
        (no passage sensor, or `open_gate` False).
        """
        with self._lock:
            self._check_open()
            self._grants += 1
            grant_id = None
            if open_gate:
                if self._relay is not None:
                    self._relay.open_for_grant()
                if "passage" in self._inputs:
                    grant_id = self._events.expect_passage()
            self._indicators.show(Signal.GRANTED, show_s)
        return grant_id

    def deny(self, *, show_s: float | None = None) -> None:
        """Red and the deny buzz."""
        with self._lock:
            self._check_open()
            self._indicators.show(Signal.DENIED, show_s)

    def waiting_for_adult(self, *, show_s: float | None = None) -> None:
        """Amber blinking and the waiting beeps: a child's exit needs an adult of its group."""
        with self._lock:
            self._check_open()
            self._indicators.show(Signal.WAITING, show_s)

    def idle(self) -> None:
        """Indicators off and buzzer silent (green during free exit); the relay is untouched."""
        with self._lock:
            self._check_open()
            self._indicators.show(Signal.IDLE, None)

    def free_exit(self, on: bool) -> None:
        """Hold the relay open (evacuation) until `free_exit(False)`; the fire alarm input
        holds it independently."""
        with self._lock:
            self._check_open()
            self._free_exit.set("manual", on)

    # Diagnostics.

    def state(self) -> GateIOState:
        with self._lock:
            return GateIOState(
                fitted=self.fitted,
                signal=self._indicators.shown,
                free_exit=self._free_exit.on,
                outputs={name: bool(dev.value) for name, dev in self._outputs.items()},
                inputs={name: inp.asserted for name, inp in self._inputs.items()},
                pending_grants=self._events.pending_grants,
                counts={"grants": self._grants, **self._events.counts},
            )

    def selftest(self, step_s: float = 0.2) -> SelftestReport:
        """Cycle each fitted output for `step_s`, read the inputs, report.

        Meant for an idle gate: the relay is skipped while a grant or free exit holds it,
        and the current signal is shown again at the end.
        """
        self._check_open()
        outputs = self._indicators.selftest(step_s)
        if self._relay is not None:
            outputs["relay"] = self._relay.selftest(step_s)
        with self._lock:
            if not self._closed:
                self._indicators.light()
            inputs = {name: inp.asserted for name, inp in self._inputs.items()}
        fitted = self.fitted
        return SelftestReport(
            fitted=fitted,
            not_fitted=tuple(n for n in (*OUTPUTS, *INPUTS) if n not in fitted),
            outputs=outputs,
            inputs=inputs,
            warnings=_input_warnings(inputs),
        )

    # Closing.

    def close(self) -> None:
        """Stop timers and release the pins; pending grants are dropped unreported."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._events.close()
            self._indicators.close()
            if self._relay is not None:
                self._relay.close()
        self._close_devices()

    def _close_devices(self) -> None:
        for inp in self._inputs.values():  # inputs first: no callback into closed outputs
            inp.close()
        for device in self._outputs.values():
            device.close()

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("gate I/O is closed")

    def __enter__(self) -> GateIO:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _input_warnings(inputs: Mapping[str, bool]) -> tuple[str, ...]:
    notes = {
        "passage": "passage sensor asserted at rest (beam blocked or turnstile not home?)",
        "staff_button": "staff button held or stuck",
        "fire_alarm": "fire alarm asserted: free exit",
    }
    return tuple(notes[name] for name, asserted in inputs.items() if asserted)
