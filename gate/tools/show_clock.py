"""`gatectl status` and `diag`: the gate's clock against the hub's, in words
(`gate.daemon.clock_watch`)."""

from __future__ import annotations

from typing import Any

from gate.i18n import N_, Words
from gate.i18n.terminal import duration

NTP = {
    "synchronized": N_("NTP synchronised"),
    "unsynchronized": N_("NTP not synchronised"),
    "unknown": N_("NTP state unknown"),
}


def clock_critical(clock: dict[str, Any] | None) -> bool:
    """Whether the clock line is a problem to act on: the gate decides with the hub's time (its
    own is off), or its clock was never measured against the hub's and NTP has not set it."""
    if not clock:
        return False
    if clock.get("corrected"):
        return True
    return clock.get("offset_ms") is None and clock.get("ntp") == "unsynchronized"


def clock_label(clock: dict[str, Any] | None, _: Words) -> str:
    """The line's label: in capitals when critical, as `FIRE ALARM` and `DRILL` are."""
    return _("CLOCK") if clock_critical(clock) else _("clock")


def clock_line(clock: dict[str, Any] | None, _: Words) -> str:
    """Which clock decides, how far this gate's is from the hub's, how old that measure is."""
    if not clock:
        return _("not measured")
    ntp = _(NTP.get(str(clock.get("ntp")), NTP["unknown"]))
    offset = clock.get("offset_ms")
    if offset is None:
        return _("never measured against the hub's ({ntp}): its own clock decides", ntp=ntp)
    size = f"{abs(offset) / 1000:.1f}"
    way = _("behind") if offset > 0 else _("ahead of")
    age = clock.get("age_s")
    measured = duration(age) if age is not None else "?"
    if clock.get("source") == "kept":
        when = _("kept from before the restart, measured {age} ago", age=measured)
    else:
        when = _("measured {age} ago", age=measured)
    if clock.get("corrected"):
        return _(
            "OFF: {s} s {way} the hub's ({when}; {ntp}): decides with the hub's time",
            s=size,
            way=way,
            when=when,
            ntp=ntp,
        )
    return _(
        "own clock, {s} s {way} the hub's ({when}; {ntp})", s=size, way=way, when=when, ntp=ntp
    )
