"""The gate's contact inputs (passage sensor, staff button, fire alarm) and the grants waiting
for their passage.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from functools import partial

from gpiozero import DigitalInputDevice  # type: ignore[import-untyped]

from gate.devices.gpio.pins import INPUTS, GatePins, Pull
from gate.devices.gpio.timers import after


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
