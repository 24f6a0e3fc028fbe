"""Offline mode declared, faults by class, and drills, on a venue of real processes: Mosquitto,
`hub run`, `gate run` (tests/venue_rig.py), and the `hub` command as a technician runs it.

The venue's offline policy (离线模式启动 / 结束, recovery) and its fault plans (故障分类, 定期演练):
a 12 s broker outage is an incident with its start, end, the gates it cut off, the scans they
decided offline and the reconciliation's outcome, on the display while it lasts and in the daily
report after; a drill is marked as one everywhere and leaves a record of what staff saw.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from gate_rig import ADULT, ADULT_2, CHILD, CHILD_2, wait_for
from venue_rig import Venue

from hub.store.incidents import IncidentLog
from hub.store.schema import SCHEMA_VERSION, open_database


@pytest.fixture
def venue(tmp_path: Path, fresh_broker) -> Iterator[Venue]:
    v = Venue(tmp_path, fresh_broker())
    yield v
    v.close()


FAMILIES = (ADULT, CHILD, ADULT_2, CHILD_2)


def hub_command(v: Venue, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "hub", "-c", str(v.root / "hub" / "hub.toml"), *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)


def hub_json(v: Venue, *args: str, timeout: float = 60) -> Any:
    done = hub_command(v, *args, "--json", timeout=timeout)
    assert done.returncode == 0, f"hub {' '.join(args)}: {done.stderr}\n{v.hub.tail()}"
    return json.loads(done.stdout)


def start_venue(v: Venue, gates: tuple[str, ...]) -> None:
    v.start_hub()
    for gate in gates:
        v.start_gate(gate)
    for ticket, bands in (("T1", (ADULT, CHILD)), ("T2", (ADULT_2, CHILD_2))):
        assert v.scan("D1", ticket, "barcode") == "OK_BIND"
        for band in bands:
            assert v.scan("D1", band) == "OK_BIND"
    v.wait_bound(tuple(g for g in gates if g != "D1"), FAMILIES)


def waited(v: Venue, condition: Any, what: str, timeout: float = 30) -> Any:
    """`wait_for`, generous, with the hub's and the gates' logs when it fails."""
    try:
        return wait_for(condition, timeout=timeout, what=what)
    except AssertionError as exc:
        logs = "\n".join(f"--- {p.name}: {p.tail()}" for p in [v.hub, *v.gates.values()] if p)
        raise AssertionError(f"{exc}\n{logs}") from None


def incident(v: Venue, what: str) -> dict[str, Any] | None:
    found = [i for i in hub_json(v, "incidents")["incidents"] if i["what"] == what]
    return found[-1] if found else None


def test_a_12_s_broker_outage_is_declared_shown_provisional_and_reported(venue):
    start_venue(venue, ("D1", "E1", "X1"))
    assert venue.scan("E1", ADULT_2) == "OK_ENTRY"
    assert venue.scan("E1", CHILD_2) == "OK_ENTRY"
    venue.wait_settled()
    assert not venue.api("/api/display")["headcount"]["provisional"]

    stopped = time.time()
    venue.broker.stop()  # 离线模式: the gates work on alone
    shown = waited(
        venue,
        lambda: (d := venue.api("/api/display"))["offline"]["provisional"] and d,
        "the display in offline mode",
    )
    assert shown["headcount"]["provisional"] is True
    assert shown["offline"]["broker"] is True
    assert {"D1", "E1", "X1"} <= set(shown["offline"]["gates"])
    assert shown["alerts"][0]["kind"] == "offline_mode"
    for gate in ("E1", "X1"):  # each gate knows it is cut off: its scans are journalled so
        waited(venue, lambda g=gate: not venue.gate_status(g)["link"]["connected"], f"{gate} cut")
    assert venue.scan("E1", ADULT) == "OK_ENTRY"
    assert venue.scan("E1", CHILD) == "OK_ENTRY"
    assert venue.scan("X1", ADULT_2) == "OK_EXIT"
    assert venue.scan("X1", CHILD_2) == "OK_EXIT"
    time.sleep(max(0.0, stopped + 12 - time.time()))  # the outage lasts its 12 s
    venue.broker.restart()

    venue.wait_settled(timeout=60)
    waited(
        venue,
        lambda: (i := incident(venue, "broker_down")) and i["reconciled_ms"],
        "the outage reconciled",
        timeout=60,
    )
    outage = incident(venue, "broker_down")
    assert outage["class"] == "broker" and outage["offline"] is True
    assert 12 <= (outage["ended_ms"] - outage["started_ms"]) / 1000 < 40
    assert {"D1", "E1", "X1"} <= set(outage["gates"])
    assert outage["offline_scans"] == 4  # every scan of the outage, journalled as offline
    assert outage["conflicts"] == 0
    assert outage["drill"] is None
    assert not venue.api("/api/display")["headcount"]["provisional"]

    report = hub_json(venue, "report", "daily")
    outages = [i for i in report["incidents"] if i["what"] == "broker_down"]
    assert outages == [outage]
    text = hub_command(venue, "report", "daily").stdout
    assert "Outages (offline mode)" in text and "reconciled: no conflict" in text
    people = hub_command(venue, "incidents").stdout
    assert "broker" in people and "4 scans decided offline, 0 conflicts" in people

    venue.hub.stop()  # the store keeps it: `hub incidents` reads it with the hub stopped
    stored = hub_command(venue, "incidents", "--json")
    assert "read from its store" in stored.stderr
    assert outage in json.loads(stored.stdout)["incidents"]


def test_a_broker_cut_drill_is_marked_as_one_and_leaves_its_record(venue):
    start_venue(venue, ("D1", "E1"))
    started = hub_json(venue, "drill", "start", "broker-cut", "--gate", "E1", "--for", "8")
    n = started["drill"]["id"]
    waited(
        venue,
        lambda: (venue.gate_status("E1")["drill"] or {}).get("kind") == "broker-cut",
        "E1 playing the drill",
    )
    assert not venue.gate_status("E1")["link"]["connected"]
    shown = waited(
        venue,
        lambda: (d := venue.api("/api/display"))["offline"]["provisional"] and d,
        "the display in offline mode for the drill",
    )
    assert shown["offline"]["gates"] == ["E1"]
    assert shown["offline"]["drill"]["kind"] == "broker-cut"
    assert "drill" in {a["kind"] for a in shown["alerts"]}
    assert venue.scan("E1", ADULT) == "OK_ENTRY"  # decided cut off
    assert venue.scan("E1", CHILD) == "OK_ENTRY"
    socket = str(venue.gates["E1"].socket)
    gatectl = [sys.executable, "-m", "gate.tools.gatectl", "--socket", socket, "status"]
    shown_status = subprocess.run(gatectl, capture_output=True, text=True, check=False)
    assert "DRILL" in shown_status.stdout, shown_status.stdout + shown_status.stderr

    ended = hub_json(venue, "drill", "end", timeout=120)
    record = ended["drill"]["record"]
    assert record, ended
    kinds = {a["kind"] for a in record["alerts"]}
    assert "offline_mode" in kinds and "gate_offline" in kinds  # what staff saw
    assert 4 <= record["offline_s"] < 30
    assert record["offline_scans"] == 2
    assert record["all_at_hub"] is True and record["reconciled"] is True
    assert record["conflicts"] == 0
    assert venue.gate_status("E1")["drill"] is None
    cut = [i for i in hub_json(venue, "incidents")["incidents"] if i["what"] == "gate_offline"]
    assert [i["drill"] for i in cut] == [n]
    assert cut[0]["class"] == "network" and cut[0]["source"] == "E1"
    report = hub_json(venue, "report", "daily")
    assert [d["id"] for d in report["drills"]] == [n]
    assert venue.api("/api/headcount")["inside"] == 2


def test_a_reader_removed_drill_is_a_reader_fault_marked_as_the_drill(venue):
    start_venue(venue, ("D1", "E1"))
    n = hub_json(venue, "drill", "start", "reader-removed", "--gate", "E1", "--for", "120")[
        "drill"
    ]["id"]
    waited(
        venue,
        lambda: (venue.gate_status("E1")["drill"] or {}).get("kind") == "reader-removed",
        "E1 playing the drill",
    )
    shown = waited(
        venue,
        lambda: [a for a in venue.api("/api/display")["alerts"] if a["kind"] == "reader_removed"],
        "the reader's alert on the display",
    )
    assert "[drill]" in shown[0]["text"]
    ended = hub_json(venue, "drill", "end", timeout=120)
    record = ended["drill"]["record"]
    assert "reader_removed" in {a["kind"] for a in record["alerts"]}
    assert record["offline_s"] == 0 and record["all_at_hub"] is True
    # (a loaded machine may also slow the emulated reader into a real `reader_fault`: recorded
    # as such, never as the drill)
    incidents = hub_json(venue, "incidents")["incidents"]
    reader = [i for i in incidents if i["class"] == "reader" and i["what"] == "reader_removed"]
    assert [(i["what"], i["drill"]) for i in reader] == [("reader_removed", n)]
    assert all(i["drill"] is None for i in incidents if i["what"] == "reader_fault")
    assert reader[0]["ended_ms"] is not None
    assert venue.gate_status("E1")["drill"] is None


def test_a_drill_needs_a_gate_on_the_roster_that_hears_it(venue):
    venue.start_hub()
    done = hub_command(venue, "drill", "start", "broker-cut", "--gate", "E1")
    assert done.returncode == 1 and "not online" in done.stderr
    done = hub_command(venue, "drill", "start", "broker-cut", "--gate", "Z9")
    assert done.returncode == 1 and "[gates]" in done.stderr


def test_an_older_store_gets_the_incident_tables_and_keeps_its_entries(tmp_path):
    path = tmp_path / "events.db"
    db = open_database(path)
    db.execute("DROP TABLE incidents")
    db.execute("DROP TABLE drills")
    db.execute(
        "INSERT INTO entries VALUES ('E1', 1, 'n', '0001', 1000, 'decision', "
        '\'{"scan": {"offline": true}}\', 1000)'
    )
    db.execute("PRAGMA user_version = 2")
    db.close()
    with IncidentLog(path) as log:
        n = log.start("broker", "broker_down", "broker", ["E1"], 500, offline=True)
        log.end(n, 2000)
        assert log.offline_scans(["E1"], 500, 2000) == 1
        log.reconciled(n, offline_scans=1, conflicts=0, at_ms=3000)
        (found,) = log.between(0, 10_000)
        assert (found.started_ms, found.ended_ms, found.offline_scans) == (500, 2000, 1)
        assert log.unreconciled() == []
        with pytest.raises(ValueError, match="not one of"):
            log.start("weather", "rain", "hub", [], 0)
    check = sqlite3.connect(path)
    assert check.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 5
    assert check.execute("SELECT count(*) FROM entries").fetchone()[0] == 1


# --- the hub's watch, step by step on a clock of its own ----------------------------------------


def _view(
    gate: str, online: bool, status_ms: int | None, backlog: int = 0, skew: float = 0.0
) -> Any:
    from hub.ingest.gates import GateView

    return GateView(gate, online, status_ms, 10, 10, 10 + backlog, backlog, False, 1, skew, False,
                    status_ms=status_ms)  # fmt: skip


def test_the_watch_opens_ends_and_reconciles_outages_as_the_hub_sees_them(tmp_path):
    from gate.link.protocol import GateStatus
    from hub.service.incidents import IncidentWatch

    now = [1000.0]
    log = IncidentLog(tmp_path / "events.db")
    watch = IncidentWatch(
        log, roster={"E1": "entry", "X1": "exit"}, findings=list, stale=lambda: False,
        clock=lambda: now[0],
    )  # fmt: skip
    up = GateStatus(gate="E1", online=True, reader="removed")

    def tick(connected: bool, gates: dict[str, Any], statuses: dict[str, Any] | None = None):
        now[0] += 1.5
        watch.tick(connected=connected, down_since=now[0] - 1, gates=gates,
                   statuses=statuses or {})  # fmt: skip

    tick(False, {})  # just started, never connected: no outage yet
    assert log.open_incidents() == []
    gates = {"E1": _view("E1", True, 1_000_000), "X1": _view("X1", False, 1_000_000)}
    tick(True, gates, {"E1": up})
    opened = {(i.what, i.source) for i in log.open_incidents()}
    assert opened == {("reader_removed", "E1")}  # X1 may be only a moment away
    tick(True, gates, {"E1": up})
    tick(True, gates, {"E1": up})
    opened = {(i.what, i.source) for i in log.open_incidents()}
    assert opened == {("gate_offline", "X1"), ("reader_removed", "E1")}
    tick(False, gates)  # the hub loses the broker: X1's outage stands, one for the broker
    opened = {(i.what, i.source): i for i in log.open_incidents()}
    assert ("gate_offline", "X1") in opened and opened[("broker_down", "broker")].gates == ("E1",)
    back = {"E1": _view("E1", True, 2_000_000_000_000, backlog=3), "X1": gates["X1"]}
    tick(True, back, {"E1": up})
    (broker,) = [i for i in log.between(0, 1 << 62) if i.what == "broker_down"]
    assert broker.ended_ms is not None and broker.reconciled_ms is None  # E1 still sending
    back["E1"] = _view("E1", True, 2_000_000_000_000)
    tick(True, back, {"E1": up})
    assert log.get(broker.id).reconciled_ms is not None
    assert {i.what for i in log.open_incidents()} == {"gate_offline", "reader_removed"}
    log.close()


class _Steps:
    """The watch on a clock of its own, one tick a step, E1 on the roster."""

    def __init__(self, tmp_path: Path, findings: Any = list) -> None:
        from hub.service.incidents import IncidentWatch

        self.now = [1000.0]
        self.log = IncidentLog(tmp_path / "events.db")
        self.watch = IncidentWatch(self.log, roster={"E1": "entry"}, findings=findings,
                                   stale=lambda: False, clock=lambda: self.now[0])  # fmt: skip

    def tick(self, status: Any, *, online: bool = True, skew: float = 0.0) -> None:
        self.now[0] += 1.5
        view = _view("E1", online, int(self.now[0] * 1000), skew=skew)
        self.watch.tick(connected=True, down_since=None, gates={"E1": view},
                        statuses={"E1": status})  # fmt: skip

    def opened(self) -> dict[str, Any]:
        return {i.what: i for i in self.log.open_incidents()}

    def all(self, what: str) -> list[Any]:
        return [i for i in self.log.between(0, 1 << 62) if i.what == what]


def test_the_watch_opens_and_ends_each_fault_a_gate_status_shows(tmp_path):
    from gate.i18n import words
    from gate.link.protocol import GateClockStatus, GateStatus
    from hub.views.console.incidents import fault_words

    steps, zh = _Steps(tmp_path), words("zh_CN")
    well = GateStatus(gate="E1", online=True, reader="connected", boot="b1")
    steps.tick(well)
    assert steps.opened() == {}
    faulty = well.model_copy(update={"reader": "error", "scanner": "scanner closed",
                                     "disk": "only 150 MB free"})  # fmt: skip
    steps.tick(faulty)
    opened = steps.opened()
    assert {w: (i.cls, i.source, i.detail) for w, i in opened.items()} == {
        "reader_fault": ("reader", "E1", "reader error"),
        "scanner_fault": ("scanner", "E1", "scanner closed"),
        "disk_low": ("disk", "E1", "only 150 MB free"),
    }
    assert fault_words(opened["reader_fault"].as_dict(), zh) == "读卡器error"
    assert fault_words(opened["disk_low"].as_dict(), zh) == "only 150 MB free"  # the gate's words
    started = opened["reader_fault"].started_ms
    steps.tick(faulty.model_copy(update={"scanner": None}))  # the scanner is back, the rest not
    assert set(steps.opened()) == {"reader_fault", "disk_low"}
    (scanner,) = steps.all("scanner_fault")
    assert scanner.ended_ms == int(steps.now[0] * 1000)
    steps.tick(well)
    assert steps.opened() == {}
    (reader,) = steps.all("reader_fault")
    assert reader.started_ms == started and reader.ended_ms == int(steps.now[0] * 1000)
    assert len(steps.all("disk_low")) == 1

    # clock, by the gate's own report: it corrects its clock, so the hub measures no skew
    ahead = GateClockStatus(offset_ms=-45_000, corrected=True, ntp="unsynchronized")
    steps.tick(well.model_copy(update={"clock": ahead}))
    (clock,) = steps.opened().values()
    assert (clock.what, clock.cls, clock.source) == ("clock_off", "clock", "E1")
    assert clock.detail == "clock +45 s off the hub's, by the gate's own measure"
    assert fault_words(clock.as_dict(), zh) == "时钟与中心服务器相差 +45 秒(闸机自测)"
    beyond = GateClockStatus(offset_ms=3000, corrected=False, bound_ms=2000)
    steps.tick(well.model_copy(update={"clock": beyond}))  # not corrected, still beyond: on
    assert set(steps.opened()) == {"clock_off"}
    within = GateClockStatus(offset_ms=1500, corrected=False, bound_ms=2000)
    steps.tick(well.model_copy(update={"clock": within}))
    assert steps.opened() == {}
    assert steps.all("clock_off")[0].ended_ms == int(steps.now[0] * 1000)
    # and by the hub's own measure: a gate that does not say, its status's wall time 40 s behind
    steps.tick(well, skew=-40.0)
    (skew,) = steps.opened().values()
    assert (skew.what, skew.cls) == ("clock_skew", "clock")
    assert skew.detail == "clock -40 s off the hub's, by the hub's measure"
    steps.tick(well, skew=-20.0)
    assert steps.opened() == {} and steps.all("clock_skew")[0].ended_ms is not None
    steps.log.close()


def test_the_watch_tells_a_gate_that_booted_again_as_a_power_incident(tmp_path):
    from gate.i18n import words
    from gate.link.protocol import GateStatus
    from hub.views.console.incidents import impact

    steps = _Steps(tmp_path)
    before = GateStatus(gate="E1", online=True, boot="boot-1")
    steps.tick(GateStatus(gate="E1", online=True))  # an older gate says no boot id: nothing
    steps.tick(before)
    steps.tick(before)
    last_heard = int(steps.now[0] * 1000)
    assert steps.all("restarted") == []
    gone = GateStatus(gate="E1", online=False)  # its power cut: the broker sends its will
    for _ in range(4):
        steps.tick(gone, online=False)
    (outage,) = steps.all("gate_offline")
    assert outage.ended_ms is None and outage.detail.startswith("no word from the gate")
    steps.tick(before.model_copy(update={"boot": "boot-2"}))  # back, booted again
    back = int(steps.now[0] * 1000)
    (power,) = steps.all("restarted")
    assert (power.cls, power.source, power.gates) == ("power", "E1", ("E1",))
    assert (power.started_ms, power.ended_ms) == (last_heard, back)
    assert power.detail == "restarted: the gate's machine booted again (power lost or rebooted)"
    (outage,) = steps.all("gate_offline")
    assert outage.ended_ms == back
    restarted = "gate E1 restarted: its machine booted again (power lost or rebooted)"
    assert outage.detail.endswith("; " + restarted)
    said = impact(outage.as_dict(), words("zh_CN"))
    assert "闸机无响应" in said and "闸机 E1 已重启" in said, said
    steps.tick(before.model_copy(update={"boot": "boot-2"}))  # the same boot: nothing more
    assert len(steps.all("restarted")) == 1 and steps.opened() == {}
    steps.log.close()


def test_a_running_gate_says_its_boot_id_in_its_status(venue):
    """The live half of the power check: a real `gate run` carries its machine's boot id in its
    retained status (restarting it with another boot id is the watch's test above)."""
    from broker import MqttClient

    from gate.link.protocol import GateStatus, Topics, parse

    venue.start_hub()
    venue.start_gate("E1")
    probe = MqttClient(venue.broker, "D1", venue.broker.credentials.password("D1"))
    try:
        assert not probe.connect().is_failure
        probe.subscribe(Topics().status("E1"))
        said = waited(
            venue,
            lambda: [
                s
                for m in probe.received(Topics().status("E1"))
                if (s := parse(GateStatus, m.payload)).online
            ],
            "E1's status",
        )
    finally:
        probe.close()
    boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    assert said[-1].boot == boot


def test_a_voucher_used_twice_during_an_outage_counts_as_its_conflict(tmp_path):
    from datetime import UTC, datetime

    from hub.fold.findings import Finding
    from hub.service.incidents import conflicts_within

    with IncidentLog(tmp_path / "events.db") as log:
        n = log.start("broker", "broker_down", "broker", ["E1", "E2"], 1_000_000, offline=True)
        log.end(n, 1_060_000)
        outage = log.get(n)
    at = datetime.fromtimestamp(1030, UTC)
    reused = Finding("voucher_reused", ("E1", "E2"), at, "voucher V1 used at E1 and E2")
    elsewhere = Finding("voucher_reused", ("X9",), at, "another gate")
    later = Finding("voucher_reused", ("E1",), datetime.fromtimestamp(5000, UTC), "later")
    assert outage is not None
    assert conflicts_within([reused, elsewhere, later], outage) == 1


@pytest.mark.parametrize(
    "args",
    [
        {"from_ms": 1 << 70},
        {"to_ms": -1},
        {"from_ms": "yesterday"},
        {"to_ms": 1.5},
        {"from_ms": None},
    ],
)
def test_a_hostile_incidents_request_is_refused_with_a_reason(tmp_path, args):
    from hub.service.faults import incidents_answer

    with IncidentLog(tmp_path / "events.db") as log, pytest.raises(ValueError, match="epoch"):
        incidents_answer(log, args)
