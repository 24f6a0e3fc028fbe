"""Wrong pickup codes through the real daemons (docs/desk.md, "Wrong codes"): a desk, an entry
gate and two exit gates (`gate.daemon.gate.Gate` with the emulated reader, a pty scanner and mock
pins) on a real Mosquitto, and `hub run` on the same broker.

A walk-in child is inside; at exit gate X1 its band is refused for want of its guardian's code,
then three wrong codes are typed: the guardian's own printed code is refused after them
(`DENY_PICKUP_LOCKED`), also once X1 is restarted, and at X2, which heard of them; the hub
raises `pickup_codes_locked` naming the child's group and X1, with an alert on the display; a
staff override at X2 still lets the child out, and the hub lists it as an unverified pickup.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from gate_rig import SOLO_CHILD, STAFF, GateRig, rigs, wait_for
from test_guardians_live import child_inside, findings, knows, start
from venue_rig import Venue

__all__ = ["rigs"]

# the bench venue's policy, with a pairing window a busy machine types three codes within
POLICY = (
    'timezone = "UTC"\nopen = "00:00"\nclose = "00:00"\ncapacity = 100\n'
    "pairing_window_s = 60\npickup_code_tries = 3\npickup_code_lockout_s = 600\n"
)


@pytest.fixture
def venue(tmp_path: Path, fresh_broker) -> Iterator[Venue]:
    v = Venue(tmp_path, fresh_broker())
    (v.venue / "policy.toml").write_text(POLICY)  # before any gate or the hub reads it
    yield v
    v.close()


@pytest.fixture
def lanes(rigs: list[GateRig], tmp_path: Path, venue: Venue) -> dict[str, GateRig]:
    return {
        "D1": start(rigs, tmp_path, "D1", "desk", venue.broker, scanner=False),
        "E1": start(rigs, tmp_path, "E1", "entry", venue.broker, scanner=False),
        "X1": start(rigs, tmp_path, "X1", "exit", venue.broker),
        "X2": start(rigs, tmp_path, "X2", "exit", venue.broker),
    }


def holds_lock(rig: GateRig, group: str) -> bool:
    """The gate folded three wrong codes for `group` (from its journal, or a peer's)."""
    assert rig.gate is not None
    return len(rig.gate.state.wrong_codes.get(group, ())) >= 3


def test_three_wrong_codes_lock_a_childs_codes_at_every_exit_and_the_hub_says_so(
    venue: Venue, lanes: dict[str, GateRig]
) -> None:
    venue.start_hub()
    group, code, band = child_inside(lanes)
    x1, x2 = lanes["X1"], lanes["X2"]
    assert x1.tap(SOLO_CHILD, band)["code"] == "DENY_GUARDIAN_PICKUP"  # the child waits at X1
    others = [f"{(int(code) + n) % 1_000_000:06d}" for n in (1, 2, 3)]
    for wrong in others:  # typed by someone at the lane: `gatectl pickup`
        tried: dict[str, Any] = x1.ask("pickup", code=wrong)["decision"]
        assert (tried["code"], tried["group"]) == ("DENY_PICKUP_MISMATCH", group), tried
    refused = x1.barcode(f"WP{code}")  # the guardian's own printed code, now
    assert refused["code"] == "DENY_PICKUP_LOCKED", refused
    assert "3 wrong pickup codes" in refused["message"] and "badge" in refused["message"]
    journal = str(x1.ask("journal", tail=20))
    assert all(f"'{c}'" not in journal for c in (code, *others))  # no code, wrong or right

    wait_for(lambda: findings(venue, "pickup_codes_locked"), timeout=60, what="the hub's finding")
    (found,) = findings(venue, "pickup_codes_locked")
    assert (found["severity"], found["group"], found["gates"]) == ("critical", group, ["X1"])
    assert "pickup_codes_locked" in [a["kind"] for a in venue.api("/api/alerts")]

    x1.stop()  # the lock is in the journal: a restarted gate keeps it
    x1.start().linked()
    assert x1.tap(SOLO_CHILD, band)["code"] == "DENY_PICKUP_LOCKED"

    knows(x2, SOLO_CHILD, state="inside")
    wait_for(lambda: holds_lock(x2, group), timeout=30, what="X2 hears of the wrong codes")
    assert x2.tap(SOLO_CHILD, band)["code"] == "DENY_PICKUP_LOCKED"
    assert x2.ask("pickup", code=code)["decision"]["code"] == "DENY_PICKUP_LOCKED"
    assert x2.tap(STAFF)["code"] == "OK_STAFF"  # staff check the guardian, then badge
    out = x2.tap(SOLO_CHILD, band)
    assert (out["code"], out["overrode"], out["forced"]) == (
        "OK_OVERRIDE",
        "DENY_PICKUP_LOCKED",
        True,
    )
    wait_for(lambda: findings(venue, "unverified_pickup"), timeout=60, what="unverified_pickup")
    assert len(findings(venue, "pickup_codes_locked")) == 1
