"""Which library drives the gate's pins: lgpio on a Raspberry Pi, gpiozero's mock pins in tests.

On a Pi 3, 4 or 5 the gate drives its pins with lgpio (gpiozero's `LGPIOFactory`), which talks
to the kernel's GPIO character device, `/dev/gpiochipN`, and nothing else: the hardened unit
allows exactly that device class (`DeviceAllow=char-gpiochip`), udev gives it to group `gpio`
(`firmware_configs/udev/99-wristgate.rules`), and the unit puts the service user in that group.
gpiozero's other backends are refused: RPi.GPIO and its native one open `/dev/gpiomem`, which the
unit does not allow, and do not drive a Pi 5; pigpio needs a daemon of its own.

lgpio makes a notification pipe (`.lgd-nfyN`) in its working directory when it is imported:
the unit runs the gate in `/run/wristgate` (`WorkingDirectory=`, `LG_WD=`), the one writable
directory it has; anywhere read-only the import fails, and is said so.

Which backend, first found wins:

1. a factory passed in (`Gate(config, pin_factory=MockFactory())`: the in-process tests);
2. `GPIOZERO_PIN_FACTORY` in the environment, gpiozero's own variable (`mock` for the simulated
   venue and the test rigs; the unit sets none);
3. `[pins] backend` of the profile or of gate.toml: `"lgpio"` (the default) or `"mock"`, with
   `[pins] chip` for the gpiochip number (default: gpiozero's choice, 0, or 4 on a Pi 5 whose
   kernel still numbers the header's chip 4).
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping
from typing import Any

from gpiozero import GPIOZeroError  # type: ignore[import-untyped]

from gate.devices.gpio.pins import BACKENDS, GatePins

log = logging.getLogger("gate.devices.gpio")

ENV = "GPIOZERO_PIN_FACTORY"
LG_WD = "LG_WD"  # where lgpio makes its notification pipe (else the working directory)


class PinBackendError(GPIOZeroError):  # type: ignore[misc]
    """The pins' backend cannot be used; the message says what to fix."""


def chosen(pins: GatePins, environ: Mapping[str, str] = os.environ) -> tuple[str, str]:
    """(backend, where it was chosen): the environment's GPIOZERO_PIN_FACTORY, else the
    profile's `[pins] backend`. Anything but lgpio or mock is refused with the reason."""
    if environ.get(ENV):
        name, where = environ[ENV].strip().lower(), f"{ENV}={environ[ENV]!r}"
    else:
        name, where = pins.backend, f"[pins] backend = {pins.backend!r}"
    if name not in BACKENDS:
        raise PinBackendError(
            f"{where}: the gate drives its pins with lgpio (Raspberry Pi 3, 4, 5, through "
            "/dev/gpiochip*) or mock (tests) only; RPi.GPIO and native need /dev/gpiomem, which "
            "the unit does not allow, and pigpio a daemon of its own"
        )
    return name, where


def open_pin_backend(pins: GatePins, environ: Mapping[str, str] = os.environ) -> object:
    """The gpiozero pin factory for this gate's pins; PinBackendError says why not."""
    name, where = chosen(pins, environ)
    if name == "mock":
        from gpiozero.pins.mock import MockFactory  # type: ignore[import-untyped]

        log.info("pins: gpiozero's mock pins (%s)", where)
        return MockFactory()
    factory = _lgpio(pins.chip, environ)
    log.info("pins: lgpio on /dev/gpiochip%s (%s)", factory.chip, where)
    return factory


def _lgpio(chip: int | None, environ: Mapping[str, str]) -> Any:
    try:
        from gpiozero.pins.lgpio import LGPIOFactory  # type: ignore[import-untyped]
    except ImportError as exc:
        raise PinBackendError(
            f"pin backend lgpio: the lgpio package is not installed in {sys.prefix} ({exc}). "
            f"On the gate run ./scripts/bootstrap, which installs it on a Raspberry Pi, or "
            f"{sys.prefix}/bin/pip install lgpio"
        ) from exc
    except OSError as exc:  # its notification pipe could not be made
        where = environ.get(LG_WD) or os.getcwd()
        raise PinBackendError(
            f"pin backend lgpio: cannot make its notification pipe in {where} "
            f"({exc.strerror or exc}): lgpio needs a writable working directory; the unit "
            f"gives it /run/wristgate (WorkingDirectory= and {LG_WD}=)"
        ) from exc
    device = f"/dev/gpiochip{chip}" if chip is not None else "/dev/gpiochip0 (4 on a Pi 5)"
    try:
        return LGPIOFactory(chip=chip)
    except Exception as exc:  # lgpio.error, gpiozero's PinUnknownPi, OSError
        raise PinBackendError(
            f"pin backend lgpio: cannot open {device}: {exc}. On a Raspberry Pi 3, 4 or 5: "
            "the device must exist, belong to group gpio (udev: 99-wristgate.rules) with the "
            "service user in that group, and the unit must allow char-gpiochip; on another "
            "board give its chip as [pins] chip"
        ) from exc
