"""What is wired where on a gate: the pin map of the hardware profile and its validation.

Every pin is optional; a pin may be given once only. Nothing here touches the pins themselves.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Literal

from pydantic import (
    ConfigDict,
    Field,
    PlainValidator,
    TypeAdapter,
    ValidationError,
    model_validator,
)
from pydantic.dataclasses import dataclass as pydantic_dataclass

from gate.config import ConfigError, describe

OUTPUTS = ("relay", "green", "red", "amber", "buzzer")
INPUTS = ("passage", "staff_button", "fire_alarm")
BACKENDS = ("lgpio", "mock")  # gate.devices.gpio.backend: the Pi's /dev/gpiochip*, or tests


def _pin_id(value: object) -> int | str:
    # bool is an int to Python but never a pin
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str) and value.strip():
        return value.strip()
    raise ValueError("a pin is a GPIO number or a name such as 'GPIO17' or 'BOARD11'")


PinId = Annotated[int | str, PlainValidator(_pin_id)]
Pull = Literal["up", "down", "floating"]
Seconds = Annotated[float, Field(gt=0)]


@pydantic_dataclass(frozen=True, config=ConfigDict(extra="forbid"))
class GatePins:
    """What is wired where on this gate; every pin is optional.

    Inputs are contacts. `*_active_high` says which level means asserted (beam broken,
    turnstile rotating, button pressed, alarm on); `*_pull` defaults to the internal pull
    towards the other level. A normally-closed alarm contact to ground is
    ``fire_alarm_active_high = true`` with ``fire_alarm_pull = "up"``.
    """

    relay: PinId | None = None
    relay_active_high: bool = True  # many relay boards switch on a low input
    relay_mode: Literal["pulse", "hold"] = "pulse"  # pulse: turnstile; hold: door
    pulse_s: Seconds = 0.5
    hold_s: Seconds = 5.0

    green: PinId | None = None
    red: PinId | None = None
    amber: PinId | None = None
    leds_active_high: bool = True
    buzzer: PinId | None = None
    buzzer_active_high: bool = True

    passage: PinId | None = None  # turnstile rotation contact or break-beam
    passage_active_high: bool = False
    passage_pull: Pull | None = None
    staff_button: PinId | None = None
    staff_button_active_high: bool = False
    staff_button_pull: Pull | None = None
    fire_alarm: PinId | None = None
    fire_alarm_active_high: bool = False
    fire_alarm_pull: Pull | None = None
    bounce_s: Annotated[float, Field(ge=0)] | None = None  # debounce for all inputs

    # What drives the pins (gate.devices.gpio.backend): lgpio on a Pi, mock in tests; the
    # gpiochip number, when gpiozero's choice (0; 4 on a Pi 5 with an older kernel) is wrong.
    backend: Literal["lgpio", "mock"] = "lgpio"
    chip: Annotated[int, Field(ge=0, le=63)] | None = None

    @model_validator(mode="after")
    def _each_pin_once(self) -> GatePins:
        seen: dict[int | str, str] = {}
        for name in (*OUTPUTS, *INPUTS):
            pin = getattr(self, name)
            if pin is None:
                continue
            if pin in seen:
                raise ValueError(f"pin {pin!r} is given for both {seen[pin]} and {name}")
            seen[pin] = name
        return self

    @classmethod
    def from_profile(cls, data: Mapping[str, object], source: str = "pins") -> GatePins:
        """Read the pin map of a hardware profile; errors name the source and the field."""
        try:
            return TypeAdapter(cls).validate_python(dict(data))
        except ValidationError as exc:
            raise ConfigError(describe(exc, source)) from exc

    @property
    def fitted(self) -> frozenset[str]:
        return frozenset(name for name in (*OUTPUTS, *INPUTS) if getattr(self, name) is not None)
