"""Honest liveness, against real processes: a hub and gates (`hub run`, `gate run`) and a real
Mosquitto that refuses a wrong password, or that is stopped under them.

A hub that cannot log in, or cannot reach its broker, says so: `/api/headcount` is not live and
says since when, `/api/alerts` names the cause (`hub_broker_refused`, `hub_broker_down`) and
puts one `gates_unreachable` line in place of each gate's, and `hub status` exits 1. A gate whose
login is refused says so in its log (once), in `gatectl status` and in `gatectl diag`.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from gate_rig import ADULT, CHILD, wait_for
from venue_rig import Venue

from gate.i18n import words
from hub.views.liveness import STALE_AFTER_S, liveness, since_words

REFUSED = "not authorised"


def kinds(alerts: list[dict[str, str]]) -> list[str]:
    return [a["kind"] for a in alerts]


def alert(v: Venue, kind: str) -> dict[str, str] | None:
    return next((a for a in v.api("/api/alerts", None) if a["kind"] == kind), None)


def hub_status(v: Venue) -> subprocess.CompletedProcess[str]:
    config = v.root / "hub" / "hub.toml"
    return subprocess.run(
        [sys.executable, "-m", "hub", "-c", str(config), "status"],
        capture_output=True,
        text=True,
        timeout=30,
    )


def gatectl(v: Venue, gate: str, *args: str) -> subprocess.CompletedProcess[str]:
    sock = v.gates[gate].socket
    return subprocess.run(
        [sys.executable, "-m", "gate.tools.gatectl", "-s", str(sock), *args],
        capture_output=True,
        text=True,
        timeout=30,
    )


def refusals_at_broker(v: Venue) -> int:
    """The logins the broker refused so far, as its own log counts them."""
    log = v.broker.log_file
    return log.read_text(errors="replace").count(REFUSED) if log.exists() else 0


def wait_alert(v: Venue, kind: str, timeout: float = 30) -> dict[str, str]:
    try:
        return wait_for(lambda: alert(v, kind), timeout=timeout, what=f"the {kind} alert")
    except AssertionError as exc:
        hub, alerts = v.hub.tail() if v.hub else "", v.api("/api/alerts", None)
        raise AssertionError(f"{exc}; alerts {alerts}; hub log: {hub}") from None


def family_inside(v: Venue) -> None:
    assert v.scan("D1", "T1", "barcode") == "OK_BIND"
    for band in (ADULT, CHILD):
        assert v.scan("D1", band) == "OK_BIND"
    v.wait_bound(("E1",), (ADULT, CHILD))
    for band in (ADULT, CHILD):
        assert v.scan("E1", band) == "OK_ENTRY"


def test_a_hub_whose_login_is_refused_is_not_live_and_says_why(
    tmp_path: Path, fresh_broker: Any
) -> None:
    venue = Venue(tmp_path, fresh_broker(), passwords={"hub": "not-the-hub-password"})
    try:
        venue.start_hub()
        venue.start_gate("E1")  # a gate that is fine: the hub cannot hear it all the same
        refused = wait_alert(venue, "hub_broker_refused")
        assert refused["level"] == "critical"
        password_file = venue.root / "secrets" / "hub.password"
        assert "login as hub" in refused["text"] and f": {REFUSED} — " in refused["text"]
        assert f"check {password_file}" in refused["text"]
        assert "not live" in refused["text"] and "since " in refused["text"]

        headcount = venue.api("/api/headcount", None)
        assert headcount["live"] is False and headcount["stale_since"]
        alerts = venue.api("/api/alerts", None)
        assert kinds(alerts).count("gates_unreachable") == 1
        assert "gate_offline" not in kinds(alerts) and "hub_broker_down" not in kinds(alerts)

        done = hub_status(venue)
        assert done.returncode == 1, done
        assert f"not connected to the broker: broker refused the login for hub: {REFUSED}" in (
            done.stderr
        )

        # said once in the hub's log, however often it tried again
        wait_for(lambda: refusals_at_broker(venue) >= 3, what="three refused logins")
        assert venue.hub is not None
        log = venue.hub.log.read_text()
        assert log.count(f"broker refused the login for hub: {REFUSED}") == 1, log
        assert "hub.password" in log and venue.broker.credentials.password("hub") not in log
    finally:
        venue.close()


def test_a_hub_whose_broker_stops_is_not_live_and_one_line_stands_for_the_gates(
    tmp_path: Path, fresh_broker: Any
) -> None:
    venue = Venue(tmp_path, fresh_broker())
    try:
        venue.start_hub()
        for gate in ("D1", "E1", "X1"):
            venue.start_gate(gate)
        family_inside(venue)
        wait_for(lambda: venue.api("/api/headcount", None)["inside"] == 2, 20, "two inside")
        live = venue.api("/api/headcount", None)
        assert live["live"] is True and live["stale_since"] is None, live
        assert hub_status(venue).returncode == 0

        venue.broker.stop()
        down = wait_alert(venue, "hub_broker_down")
        assert down["level"] == "critical" and "cannot reach the broker" in down["text"]
        assert f"{venue.broker.port}" in down["text"] and "since " in down["text"]
        headcount = venue.api("/api/headcount", None)
        assert headcount["live"] is False and headcount["stale_since"]
        assert headcount["inside"] == 2  # the last figures, kept, and said to be stale
        alerts = venue.api("/api/alerts", None)
        assert kinds(alerts).count("gates_unreachable") == 1, alerts
        assert "gate_offline" not in kinds(alerts), alerts
        assert "hub_broker_refused" not in kinds(alerts)
        unreachable = alert(venue, "gates_unreachable")
        assert unreachable is not None and "3 gates" in unreachable["text"]  # those it knew
        done = hub_status(venue)
        assert done.returncode == 1 and "not connected to the broker" in done.stderr, done

        venue.broker.restart()
        wait_for(
            lambda: venue.api("/api/headcount", None)["live"],
            timeout=40,
            what="live again once the broker is back",
        )
        assert not {"hub_broker_down", "gates_unreachable"} & set(
            kinds(venue.api("/api/alerts", None))
        )
        assert hub_status(venue).returncode == 0
    finally:
        venue.close()


def test_a_gate_whose_login_is_refused_says_so_in_its_log_status_and_diag(
    tmp_path: Path, fresh_broker: Any
) -> None:
    venue = Venue(tmp_path, fresh_broker(), passwords={"X1": "not-the-gate-password"})
    try:
        venue.start_gate("X1")
        password_file = venue.root / "secrets" / "X1.password"
        said = f"broker refused the login for X1: {REFUSED} — check {password_file}"
        gate = venue.gates["X1"]
        try:
            wait_for(lambda: said in gate.log.read_text(), what="the log line")
            wait_for(lambda: refusals_at_broker(venue) >= 3, what="three refusals")
        except AssertionError as exc:
            raise AssertionError(f"{exc}; X1's log: {gate.tail()}") from None
        log = gate.log.read_text()
        assert log.count("broker refused the login") == 1, log  # once, not at every retry
        assert "ERROR" in next(line for line in log.splitlines() if said in line)
        assert "unreachable" not in log and "connection lost" not in log, log

        status = gatectl(venue, "X1", "status")
        assert "broker     login refused" in status.stdout, status.stdout
        assert said in status.stdout
        diag = gatectl(venue, "X1", "diag")
        assert diag.returncode == 1
        line = next(row for row in diag.stdout.splitlines() if "link" in row)
        assert line.startswith("FAIL") and said in line, diag.stdout
        assert "unreachable" not in diag.stdout, diag.stdout
        answer = venue.gate_status("X1")["link"]
        assert answer["last_down_kind"] == "refused" and answer["lost"] == 0, answer
        counters = venue.gate_status("X1")["counters"]
        assert counters["link_refused"] >= 3 and "link_lost" not in counters, counters
    finally:
        venue.close()


@pytest.mark.parametrize("user", ["hub", "X1"])
def test_no_password_is_ever_in_what_a_refusal_says(user: str) -> None:
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.reasoncodes import ReasonCode

    from gate.link.health import refused_login

    reason = ReasonCode(PacketTypes.CONNACK, identifier=0x87)
    text = refused_login(user, reason, Path(f"/etc/wristgate/passwords/{user}.password"))
    assert text == (
        f"broker refused the login for {user}: not authorised — "
        f"check /etc/wristgate/passwords/{user}.password"
    )
    assert "no password_file" in refused_login(user, reason, None)


def test_a_connected_hub_is_live_only_once_a_gate_speaks(tmp_path: Path, fresh_broker: Any) -> None:
    venue = Venue(tmp_path, fresh_broker())
    try:
        venue.start_hub()
        quiet = wait_alert(venue, "gates_quiet")
        assert quiet["level"] == "warning" and "not live" in quiet["text"]
        headcount = venue.api("/api/headcount", None)
        assert headcount["live"] is False and headcount["stale_since"]  # since the hub started
        assert hub_status(venue).returncode == 0  # connected: the hub itself is well

        venue.start_gate("E1")
        wait_for(lambda: venue.api("/api/headcount", None)["live"], 20, "live with a gate")
        assert venue.api("/api/headcount", None)["stale_since"] is None
        assert "gates_quiet" not in kinds(venue.api("/api/alerts", None))
    finally:
        venue.close()


# --- the rule itself, on a clock the test holds ---------------------------------------------------

T0 = 1_800_000_000.0


@pytest.mark.parametrize(
    ("connected", "down_since", "heard_at", "now", "live", "stale_since"),
    [
        (True, None, T0, T0 + STALE_AFTER_S, True, None),  # heard just within
        (True, None, T0, T0 + STALE_AFTER_S + 1, False, T0),  # connected, gates quiet
        (True, None, None, T0 + 5, False, T0 - 100),  # no gate since the hub started
        (False, T0 + 3, T0, T0 + 4, False, T0),  # off the broker: as of the gates' last word
        (False, T0 - 50, None, T0, False, T0 - 50),  # never heard, down since then
    ],
)
def test_live_means_connected_and_a_gate_heard_within_the_threshold(
    connected: bool,
    down_since: float | None,
    heard_at: float | None,
    now: float,
    live: bool,
    stale_since: float | None,
) -> None:
    got = liveness(
        connected=connected, down_since=down_since, heard_at=heard_at, started=T0 - 100, now=now
    )
    assert (got.live, got.stale_since) == (live, stale_since)


def test_times_read_as_the_venue_reads_them() -> None:
    tz = ZoneInfo("Asia/Shanghai")
    at = datetime(2026, 7, 18, 14, 11, tzinfo=tz).timestamp()
    assert since_words(at, at + 185, tz) == "since 14:11, 3 min"
    assert since_words(at, at + 42, tz) == "since 14:11, 42 s"
    assert since_words(at, at + 3900, tz) == "since 14:11, 1 h 5 min"
    assert since_words(at, at + 86400, tz) == "since 18 Jul 14:11, 24 h 0 min"
    assert since_words(at, at + 185, tz, words("zh-CN")) == "自 14:11 起，已 3 分钟"  # noqa: RUF001
