"""`gatectl status` in words: its clock line marked critical when the gate decides with the hub's
time, or when its clock was never measured against the hub's and NTP has not set it."""

from __future__ import annotations

from datetime import UTC
from typing import Any

import pytest

from gate.i18n import words
from gate.tools.show import show_status

OWN = {"offset_ms": 300, "age_s": 1, "ntp": "synchronized", "source": "hub", "corrected": False}
OFF = {
    "offset_ms": 3_600_000,
    "age_s": 2,
    "ntp": "unsynchronized",
    "source": "hub",
    "corrected": True,
}
KEPT = {**OFF, "source": "kept", "age_s": 300}
UNMEASURED_UNSYNCED = {"offset_ms": None, "ntp": "unsynchronized", "corrected": False}
UNMEASURED_SYNCED = {"offset_ms": None, "ntp": "synchronized", "corrected": False}


def status(clock: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "gate": "E1",
        "role": "entry",
        "mode": "nfc",
        "uptime_s": 65,
        "allowlist_version": 7,
        "headcount": {
            "inside": 2,
            "adults": 1,
            "children": 1,
            "unaccompanied_children": 0,
            "groups_inside": 1,
        },
        "journal": {"last_seq": 4, "acked": 4, "backlog": 0},
        "reader": {"state": "searching", "device": "udp:127.0.0.1:8888"},
        "scanner": None,
        "link": {"configured": True, "connected": True, "broker": "hub:8883", "tls": True},
        "clock": clock,
    }


def clock_of(clock: dict[str, Any] | None, language: str = "en") -> str:
    (line,) = [
        line
        for line in show_status(status(clock), words(language), UTC)
        if line.startswith(("clock", "CLOCK", "时钟"))
    ]
    return line


@pytest.mark.parametrize(
    ("clock", "said"),
    [
        (OFF, "OFF: 3600.0 s behind the hub's (measured 2 s ago; NTP not synchronised)"),
        (KEPT, "OFF: 3600.0 s behind the hub's (kept from before the restart, measured 5 min"),
        (UNMEASURED_UNSYNCED, "never measured against the hub's (NTP not synchronised)"),
    ],
)
def test_a_clock_that_cannot_be_trusted_is_a_critical_line(clock, said) -> None:
    line = clock_of(clock)
    assert line.startswith("CLOCK  ") and said in line, line


@pytest.mark.parametrize("clock", [OWN, UNMEASURED_SYNCED, None])
def test_a_clock_that_decides_rightly_is_an_ordinary_line(clock) -> None:
    line = clock_of(clock)
    assert line.startswith("clock ") and "PROBLEM" not in line, line


def test_the_critical_clock_line_in_chinese() -> None:
    assert clock_of(OFF, "zh-CN").startswith("时钟偏差")
    assert clock_of(OWN, "zh-CN").startswith("时钟 ")
