"""The gate's contact inputs (passage sensor, staff button, fire alarm), the grants waiting for
their passage, and what each edge means.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Mapping
from functools import partial

from gpiozero import DigitalInputDevice  # type: ignore[import-untyped]

from gate.devices.gpio.pins import INPUTS, GatePins, Pull
from gate.devices.gpio.relay import FreeExit, Relay
from gate.devices.gpio.timers import after

log = logging.getLogger("gate.devices.gpio")  # one log for the gate I/O


class ContactInput:
    """A contact input whose `asserted` follows the configured level, whatever the pull.

    gpiozero ties the active level to the pull (pull-up means active low); a contact that
    is asserted at the pulled level is read through the opposite gpiozero events.
    """

    def __init__(
        self,
        pin: int | str,
        *,
        active_high: bool,
        pull: Pull | None,
        bounce_s: float | None,
        pin_factory: object,
    ) -> None:
        pull = pull or ("down" if active_high else "up")
        if pull == "floating":
            self.device = DigitalInputDevice(
                pin,
                pull_up=None,
                active_state=active_high,
                bounce_time=bounce_s,
                pin_factory=pin_factory,
            )
            self._inverted = False
        else:
            pull_up = pull == "up"
            self.device = DigitalInputDevice(
                pin, pull_up=pull_up, bounce_time=bounce_s, pin_factory=pin_factory
            )
            self._inverted = active_high == pull_up

    @property
    def asserted(self) -> bool:
        return bool(self.device.is_active) != self._inverted

    def on_change(
        self, on_assert: Callable[[], None], on_release: Callable[[], None] | None = None
    ) -> None:
        rising, falling = (on_release, on_assert) if self._inverted else (on_assert, on_release)
        if rising is not None:
            self.device.when_activated = rising
        if falling is not None:
            self.device.when_deactivated = falling

    def close(self) -> None:
        self.device.close()


def contact_inputs(
    pins: GatePins, pin_factory: object | None
) -> Iterator[tuple[str, ContactInput]]:
    """The fitted inputs by name, each opened as it is asked for."""
    for name in INPUTS:
        pin = getattr(pins, name)
        if pin is not None:
            yield (
                name,
                ContactInput(
                    pin,
                    active_high=getattr(pins, f"{name}_active_high"),
                    pull=getattr(pins, f"{name}_pull"),
                    bounce_s=pins.bounce_s,
                    pin_factory=pin_factory,
                ),
            )


class PassageWatch:
    """The grants waiting for their passage, oldest first: a passage belongs to the oldest, and
    a grant still waiting after `timeout_s` calls `on_timeout(grant_id)` from a timer's thread.

    Callers hold the gate I/O's lock.
    """

    def __init__(self, timeout_s: float, on_timeout: Callable[[int], None]) -> None:
        self.timeout_s = timeout_s
        self._on_timeout = on_timeout
        self._pending: dict[int, threading.Timer] = {}  # grant id -> passage timeout, in order
        self._last_grant_id = 0

    @property
    def pending(self) -> tuple[int, ...]:
        return tuple(self._pending)

    def expect(self) -> int:
        """A new grant waits for its passage; its id."""
        self._last_grant_id += 1
        grant_id = self._last_grant_id
        timeout = partial(self._on_timeout, grant_id)
        self._pending[grant_id] = after(self.timeout_s, timeout, f"passage {grant_id}")
        return grant_id

    def passed(self) -> int | None:
        """A passage: the oldest grant waiting has passed (None when none waits)."""
        if not self._pending:
            return None
        grant_id = next(iter(self._pending))
        self._pending.pop(grant_id).cancel()
        return grant_id

    def timed_out(self, grant_id: int) -> bool:
        """The timeout of `grant_id` ended: False when it passed meanwhile."""
        return self._pending.pop(grant_id, None) is not None

    def drop_all(self) -> int:
        """Stop waiting for every grant; how many were waiting."""
        for timer in self._pending.values():
            timer.cancel()
        dropped = len(self._pending)
        self._pending.clear()
        return dropped


class InputEvents:
    """What the inputs' edges mean: the passage of the oldest grant waiting (with none waiting,
    an unexpected passage, unless free exit holds the gate open), a press of the staff button,
    the fire alarm on or off (free exit).

    Edges arrive on gpiozero's thread, passage timeouts on a timer's: each is counted under the
    gate I/O's `lock`, then called back outside it.
    """

    def __init__(
        self,
        lock: threading.RLock,
        relay: Relay | None,
        free_exit: FreeExit,
        passage_timeout_s: float,
        *,
        on_passage: Callable[[int, bool], None] | None,
        on_staff_button: Callable[[], None] | None,
        on_fire_alarm: Callable[[bool], None] | None,
        on_unexpected_passage: Callable[[], None] | None,
    ) -> None:
        self._lock = lock
        self._relay = relay
        self._free_exit = free_exit
        self._on_passage = on_passage
        self._on_staff_button = on_staff_button
        self._on_fire_alarm = on_fire_alarm
        self._on_unexpected_passage = on_unexpected_passage
        self._closed = False
        self._passages = PassageWatch(passage_timeout_s, self._passage_timed_out)
        self.counts = dict.fromkeys(
            ("passed", "not_passed", "unexpected_passages", "staff_presses"), 0
        )

    def expect_passage(self) -> int:
        """A grant opened the gate: the id its `on_passage` will carry."""
        return self._passages.expect()

    @property
    def pending_grants(self) -> tuple[int, ...]:
        return self._passages.pending

    def watch(self, contacts: Mapping[str, ContactInput]) -> None:
        # Attached last: an edge may only arrive once the outputs exist.
        if passage := contacts.get("passage"):
            passage.on_change(self._passage_edge)
        if button := contacts.get("staff_button"):
            button.on_change(self._staff_pressed)
        if alarm := contacts.get("fire_alarm"):
            alarm.on_change(partial(self._fire_alarm, True), partial(self._fire_alarm, False))
            if alarm.asserted:  # the alarm was already on when we started
                self._fire_alarm(True)

    # On gpiozero's thread (or a timer's).

    def _passage_edge(self) -> None:
        passed: int | None = None
        with self._lock:
            if self._closed:
                return
            passed = self._passages.passed()
            if passed is not None:
                self.counts["passed"] += 1
                if not self._passages.pending and self._relay is not None:
                    self._relay.no_grant_waiting()
            elif self._free_exit.on:
                return  # people leaving through an open gate
            else:
                self.counts["unexpected_passages"] += 1
        if passed is not None:
            self._notify(self._on_passage, passed, True)
        else:
            log.warning("gate I/O: passage with no grant waiting")
            self._notify(self._on_unexpected_passage)

    def _passage_timed_out(self, grant_id: int) -> None:
        with self._lock:
            if self._closed or not self._passages.timed_out(grant_id):
                return  # passed meanwhile
            self.counts["not_passed"] += 1
            if not self._passages.pending and self._relay is not None:
                self._relay.no_grant_waiting()
        log.info("gate I/O: grant %d: no passage within %s s", grant_id, self._passages.timeout_s)
        self._notify(self._on_passage, grant_id, False)

    def _staff_pressed(self) -> None:
        with self._lock:
            if self._closed:
                return
            self.counts["staff_presses"] += 1
        self._notify(self._on_staff_button)

    def _fire_alarm(self, active: bool) -> None:
        with self._lock:
            if self._closed:
                return
            self._free_exit.set("fire_alarm", active)
        log.warning("gate I/O: fire alarm %s", "on: free exit" if active else "cleared")
        self._notify(self._on_fire_alarm, active)

    def _notify(self, callback: Callable[..., None] | None, *args: object) -> None:
        if callback is None:
            return
        try:
            callback(*args)
        except Exception:
            log.exception("gate I/O: callback %r failed", callback)

    def close(self) -> None:
        """Edges and timeouts from now on are ignored; grants still waiting are dropped
        unreported."""
        self._closed = True
        if waiting := self._passages.drop_all():
            log.info("gate I/O: closing with %d grants waiting for passage", waiting)
