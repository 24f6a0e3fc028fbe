"""`gatectl` as a technician runs it: a real subprocess talking to a running gate's control socket.

Each gate is a `GateRig` (the real daemon, an emulated reader, a pty scanner, mock pins); every
command goes through `python -m gate.tools.gatectl -s SOCKET ...` and is judged by what a technician
sees: the printed lines, `--json`, and the exit status (0 done or granted, 1 no, denied or a
problem, 2 usage, 3 the gate cannot be reached).
"""

from __future__ import annotations

import json
import os
import pwd
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import processes
import pytest
from gate_rig import ADULT, CHILD, SOLO_CHILD, STAFF, GateRig, link_section, loop_status, wait_for

from gate.daemon.answers import LINKED_IMPORT_REFUSED
from gate.i18n.reasons import reason_text
from gate.i18n.terminal import cells, terminal_language
from gate.link.protocol import AllowlistChange, AllowlistSnapshot, TicketRow, Topics, dump

REPO = Path(__file__).resolve().parent.parent
SOLO_PHONE, SOLO_PHONE_MASKED = "13800138000", "*******8000"
DESK_PINS = {"green": 22, "red": 27}
HANDHELD_PINS = {"green": 22, "red": 27, "amber": 23, "buzzer": 24}
NEVER_SEEN = "04DEAD00000001"

Gates = Callable[..., GateRig]


def gatectl(
    sock: Path | str, *args: str, cwd: Path = REPO, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`gatectl -s SOCK ARGS...` as a subprocess, as a technician would type it."""
    return subprocess.run(
        [sys.executable, "-m", "gate.tools.gatectl", "-s", str(sock), *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        env=_env(env),
    )


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """This environment in English (`LANG=C.UTF-8`, no other language variable), plus `extra`."""
    gone = ("WRISTGATE_SOCKET", "WRISTGATE_LANG", "LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")
    env = {k: v for k, v in os.environ.items() if k not in gone} | {"LANG": "C.UTF-8"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env | (extra or {})


def answer(sock: Path | str, *args: str) -> dict[str, Any]:
    """`gatectl --json ...`, parsed."""
    done = gatectl(sock, "--json", *args)
    parsed: dict[str, Any] = json.loads(done.stdout)
    return parsed


@pytest.fixture(scope="module")
def close_later() -> Iterator[Callable[[GateRig], None]]:
    """Closes gates in the background (an emulated reader takes about a second to stop); all are
    joined, and any failure to stop raised, once the module's tests are done."""
    closing: list[Future[None]] = []
    with ThreadPoolExecutor(max_workers=8, thread_name_prefix="close") as pool:
        yield lambda rig: closing.append(pool.submit(rig.close))
    for done in closing:
        done.result()


@pytest.fixture
def gates(tmp_path: Path, close_later: Callable[[GateRig], None]) -> Iterator[Gates]:
    """`gates(gate_id, role, **rig_options)`: a running gate whose loop answers; closed after."""
    made: list[GateRig] = []

    def start(gate_id: str, role: str, **options: Any) -> GateRig:
        rig = GateRig(tmp_path, gate_id, role, **options)
        made.append(rig)
        rig.start()
        loop_status(rig)  # with gates closing in the background: a slow answer is no fault
        return rig

    yield start
    for rig in made:
        close_later(rig)


@pytest.fixture
def desk(gates: Gates) -> GateRig:
    return gates("D1", "desk", pins=DESK_PINS)


@pytest.fixture
def entry(gates: Gates) -> GateRig:
    """An entry lane with relay, indicators and buzzer (`gate_rig.PINS`), no scanner."""
    return gates("E1", "entry", scanner=False)


@pytest.fixture
def exit_lane(gates: Gates) -> GateRig:
    """An exit lane with family T1 (one adult, one child) inside.

    The bands are bound at the desk (tokens written), let in at lane L1 while it runs as an entry,
    then the lane is turned round: the same gate, its journal and state, now an exit.
    """
    desk = gates("D1", "desk", pins=DESK_PINS)
    assert desk.barcode("T1")["code"] == "OK_BIND"
    adult_band, child_band = desk.tap(ADULT)["memory"], desk.tap(CHILD)["memory"]
    lane = gates("L1", "entry", scanner=False)
    assert lane.tap(ADULT, adult_band)["code"] == "OK_ENTRY"
    assert lane.tap(CHILD, child_band)["code"] == "OK_ENTRY"
    lane.stop()
    return gates("L1", "exit", scanner=False)


@pytest.fixture
def handheld(gates: Gates) -> GateRig:
    """A handheld: reader, indicators and buzzer; no relay, no scanner."""
    return gates("H1", "handheld", pins=HANDHELD_PINS, scanner=False)


def bind_solo_child(sock: Path | str) -> None:
    """Through gatectl alone: ticket TSOLO (guardian phone on file), then its band."""
    assert gatectl(sock, "scan", "--barcode", "TSOLO").returncode == 0
    assert gatectl(sock, "scan", "--nfc", SOLO_CHILD).returncode == 0


def write_allowlist(directory: Path, extra_ticket: str) -> Path:
    """An allowlist CSV directory: the venue's three tickets plus `extra_ticket`."""
    venue = directory.parent / "venue" / "allowlist"
    directory.mkdir()
    for name in ("wristbands.csv", "staff.csv"):
        (directory / name).write_text((venue / name).read_text())
    tickets = (venue / "tickets.csv").read_text()
    valid = tickets.splitlines()[1].split(",")[4:6]
    (directory / "tickets.csv").write_text(
        tickets + f"{extra_ticket},family,1,1,{valid[0]},{valid[1]},\n"
    )
    return directory


def lines_starting(text: str, prefix: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith(prefix)]


# --- status -----------------------------------------------------------------------------------


def test_status_names_the_gate_its_allowlist_version_and_the_count_inside(exit_lane):
    done = gatectl(exit_lane.socket, "status")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Gate L1 (exit, mode exit), up ")
    # the labels' column is as wide as the widest label shown
    assert [line.split() for line in lines_starting(done.stdout, "allowlist")] == [
        ["allowlist", "version", "1"]
    ]
    inside = lines_starting(done.stdout, "inside")[0].split(maxsplit=1)
    assert inside[0] == "inside" and inside[1].startswith("2 (1 adults, 1 children")


def test_status_json_parses_and_has_the_fields(desk):
    status = answer(desk.socket, "status")
    assert status["ok"] is True
    assert (status["gate"], status["role"], status["mode"]) == ("D1", "desk", "bind")
    assert status["allowlist_version"] == 1
    assert status["headcount"]["inside"] == 0
    assert status["journal"]["last_seq"] == 0
    assert status["reader"]["device"].startswith("udp:")
    assert status["scanner"]["state"] == "open"
    assert {"uptime_s", "fire_alarm", "counters", "last", "awaiting_passage"} <= status.keys()


def test_the_socket_defaults_to_WRISTGATE_SOCKET(desk):
    done = subprocess.run(
        [sys.executable, "-m", "gate.tools.gatectl", "status"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
        env=_env({"WRISTGATE_SOCKET": str(desk.socket)}),
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Gate D1 ")


# --- test scans -------------------------------------------------------------------------------


def test_a_granted_nfc_test_scan_exits_0(desk):
    gatectl(desk.socket, "scan", "--barcode", "T1")
    done = gatectl(desk.socket, "scan", "--nfc", ADULT)
    assert done.returncode == 0, done.stderr
    me = pwd.getpwuid(os.getuid()).pw_name
    assert done.stdout.splitlines() == [
        "OK_BIND: bound as adult: 1/1 adults, 0/1 children",
        "  Band bound to its ticket's group",
        "  group T1, adult",
        f"  technician's test scan by {me} (uid {os.getuid()}): journal seq 2",
    ]


def test_a_test_scan_says_its_reason_in_the_technicians_language(entry):
    done = gatectl(entry.socket, "scan", "--nfc", NEVER_SEEN, env={"LANG": "zh_CN.UTF-8"})
    assert done.returncode == 1
    first, reason = done.stdout.splitlines()[:2]
    assert first.startswith("DENY_UNKNOWN: ")  # the code and the rules' detail stay as they are
    assert reason == "  " + reason_text("DENY_UNKNOWN", "zh-CN")
    assert "不在白名单中" in reason
    journal = gatectl(entry.socket, "journal", env={"WRISTGATE_LANG": "zh-CN"})
    assert "DENY_UNKNOWN 不在白名单中" in journal.stdout


def test_a_denied_nfc_test_scan_exits_1_and_prints_the_reason_code(entry):
    done = gatectl(entry.socket, "scan", "--nfc", NEVER_SEEN)
    assert done.returncode == 1
    assert done.stdout.startswith("DENY_UNKNOWN: ")
    assert entry.last_decision()["code"] == "DENY_UNKNOWN"  # journalled like a real read
    assert True not in entry.relay_states()


def test_a_ticket_barcode_at_the_desk_opens_its_binding(desk):
    done = gatectl(desk.socket, "scan", "--barcode", "T1")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("OK_BIND: ")
    assert "group T1" in done.stdout


def test_a_temporary_intent_scan_lets_an_adult_out_for_a_while(exit_lane):
    done = gatectl(exit_lane.socket, "scan", "--nfc", ADULT, "--intent", "temporary")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("OK_TEMP_EXIT: temporary exit")
    member = answer(exit_lane.socket, "allowlist", "--lookup", ADULT)["lookup"]["member"]
    assert member["state"] == "temp_out"


def test_a_temporary_intent_scan_of_a_child_is_refused(exit_lane):
    done = gatectl(exit_lane.socket, "scan", "--nfc", CHILD, "--intent", "temporary")
    assert done.returncode == 1
    assert done.stdout.startswith("DENY_CHILD_TEMP_EXIT: ")


def test_a_test_scan_of_a_staff_badge_arms_no_override_and_the_relay_stays_shut(exit_lane):
    """A badge's UID typed at gatectl proves no badge is at the lane: it arms nothing, so the
    child's test scan that follows is denied, not forced through."""
    armed = gatectl(exit_lane.socket, "scan", "--nfc", STAFF)
    assert armed.returncode == 1, armed.stdout
    assert armed.stdout.startswith("DENY_BAD_TOKEN: ")
    assert "hold the badge to the reader" in armed.stdout
    child = gatectl(exit_lane.socket, "scan", "--nfc", CHILD)
    assert child.returncode == 1, child.stdout
    assert child.stdout.startswith("DENY_CHILD_NEEDS_ADULT: ")
    assert exit_lane.last_decision()["forced"] is False
    assert True not in exit_lane.relay_states()


# --- allowlist --------------------------------------------------------------------------------


def test_allowlist_shows_its_version_and_counts(desk):
    done = gatectl(desk.socket, "allowlist")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "version       1",
        "tickets       3",
        "bands         5",
        "staff badges  1",
        "revoked       0",
    ]


def test_allowlist_lookup_shows_a_band_as_a_member_once_bound(desk):
    before = answer(desk.socket, "allowlist", "--lookup", SOLO_CHILD)["lookup"]
    assert before == {"value": SOLO_CHILD, "stock_role": "child"}
    bind_solo_child(desk.socket)
    member = answer(desk.socket, "allowlist", "--lookup", SOLO_CHILD)["lookup"]["member"]
    assert (member["group"], member["role"], member["state"]) == ("TSOLO", "solo_child", "bound")
    assert member["guardian_phone"] == SOLO_PHONE_MASKED


def test_allowlist_lookup_shows_only_the_last_four_digits_of_the_guardian_phone(desk):
    bind_solo_child(desk.socket)
    for value in (SOLO_CHILD, "TSOLO"):
        done = gatectl(desk.socket, "allowlist", "--lookup", value)
        assert done.returncode == 0, done.stderr
        assert SOLO_PHONE_MASKED in done.stdout
        assert SOLO_PHONE not in done.stdout
        assert (
            SOLO_PHONE not in gatectl(desk.socket, "--json", "allowlist", "--lookup", value).stdout
        )


def test_allowlist_import_raises_the_version_and_a_new_ticket_becomes_bindable(desk, tmp_path):
    assert gatectl(desk.socket, "scan", "--barcode", "T9").returncode == 1  # not on the list yet
    new_list = write_allowlist(tmp_path / "new-list", "T9")
    done = gatectl(desk.socket, "allowlist", "--import", str(new_list))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("allowlist version 2 imported, as ")
    listed = gatectl(desk.socket, "allowlist").stdout.splitlines()
    assert [line.split() for line in listed[:2]] == [["version", "2"], ["tickets", "4"]]
    bound = gatectl(desk.socket, "scan", "--barcode", "T9")
    assert bound.returncode == 0, bound.stdout
    assert bound.stdout.startswith("OK_BIND: ")


def test_allowlist_import_takes_a_relative_directory_from_where_gatectl_runs(desk, tmp_path):
    write_allowlist(tmp_path / "new-list", "T9")
    done = gatectl(desk.socket, "allowlist", "--import", "new-list", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert answer(desk.socket, "allowlist")["tickets"] == 4


def test_an_imported_allowlist_survives_a_restart(desk, tmp_path):
    new_list = write_allowlist(tmp_path / "new-list", "T9")
    assert gatectl(desk.socket, "allowlist", "--import", str(new_list)).returncode == 0
    desk.stop()
    desk.start()
    assert answer(desk.socket, "status")["allowlist_version"] == 2
    assert gatectl(desk.socket, "scan", "--barcode", "T9").returncode == 0


def test_allowlist_import_of_an_incomplete_directory_is_refused_and_the_list_kept(desk, tmp_path):
    broken = write_allowlist(tmp_path / "broken", "T9")
    (broken / "wristbands.csv").unlink()
    done = gatectl(desk.socket, "allowlist", "--import", str(broken))
    assert done.returncode == 1
    assert "wristbands.csv" in done.stderr
    assert answer(desk.socket, "allowlist")["version"] == 1
    assert gatectl(desk.socket, "scan", "--barcode", "T9").returncode == 1


def test_a_linked_gate_refuses_a_local_allowlist_import_and_names_the_hubs_command(
    gates, broker, tmp_path
):
    """An import on a linked gate would take the hub's next version number and hide it (its
    revocations with it): refused, with where to import instead, and counted."""
    extra = link_section(broker, "D1", tmp_path / "secrets")
    desk = gates("D1", "desk", pins=DESK_PINS, extra=extra)
    new_list = write_allowlist(tmp_path / "new-list", "T9")
    done = gatectl(desk.socket, "allowlist", "--import", str(new_list))
    assert done.returncode == 1, done.stdout
    assert LINKED_IMPORT_REFUSED in done.stderr
    assert "hub import-tickets" in done.stderr
    assert answer(desk.socket, "allowlist")["version"] == 1
    assert gatectl(desk.socket, "scan", "--barcode", "T9").returncode == 1
    assert answer(desk.socket, "status")["counters"]["allowlist_import_refused"] == 1


def test_the_hubs_snapshot_replaces_a_locally_imported_allowlist_of_the_same_version(
    gates, broker, mqtt_client, tmp_path
):
    """A gate that ran alone and imported CSVs (version 2), then linked: the hub's version 2 is
    another list, and its revocation must arrive; the hub's deltas then apply on top."""
    desk = gates("D1", "desk", pins=DESK_PINS)
    imported = gatectl(
        desk.socket, "allowlist", "--import", str(write_allowlist(tmp_path / "l", "T9"))
    )
    assert imported.returncode == 0, imported.stderr
    desk.stop()
    with desk.config.open("a") as config:
        config.write(link_section(broker, "D1", tmp_path / "secrets"))
    desk.start()
    assert answer(desk.socket, "allowlist")["version"] == 2
    topics, hub = Topics(), mqtt_client("hub")
    tickets = [
        TicketRow(
            code=code, adults=1, children=1, valid_from=date(2020, 1, 1), valid_to=date(2099, 1, 1)
        )
        for code in ("T1", "T2")
    ]
    snapshot = AllowlistSnapshot(version=2, tickets=tickets, revoked={"T1": "refunded"})
    try:
        hub.publish(topics.allowlist_full, dump(snapshot), retain=True)
        wait_for(
            lambda: answer(desk.socket, "allowlist")["revoked"] == 1,
            timeout=10,
            what="the hub's revocation applied",
        )
        listed = answer(desk.socket, "allowlist")
        assert (listed["version"], listed["tickets"]) == (2, 2)  # the hub's list, not the CSVs'
        assert gatectl(desk.socket, "scan", "--barcode", "T1").stdout.startswith("DENY_")
        change = AllowlistChange(base_version=2, version=3, revoked={"T2": "refunded"})
        hub.publish(topics.allowlist_full_delta, dump(change))
        wait_for(
            lambda: answer(desk.socket, "allowlist")["version"] == 3,
            timeout=10,
            what="the hub's delta applied",
        )
        assert answer(desk.socket, "allowlist")["revoked"] == 2
    finally:
        hub.publish(topics.allowlist_full, b"", retain=True)  # the session broker: for others


# --- journal ----------------------------------------------------------------------------------


def test_journal_tail_shows_the_last_entries(desk):
    for n in range(7):
        gatectl(desk.socket, "scan", "--barcode", f"NOPE{n}")
    done = gatectl(desk.socket, "journal", "--tail", "5")
    assert done.returncode == 0, done.stderr
    header, *entries, summary = done.stdout.splitlines()
    assert header.split() == ["SEQ", "TIME", "KIND", "VALUE", "WHAT"]
    assert [int(line.split()[0]) for line in entries] == [3, 4, 5, 6, 7]
    assert entries[-1].split()[2:5] == ["decision", "NOPE6", "DENY_UNKNOWN"]
    me = pwd.getpwuid(os.getuid()).pw_name
    assert entries[-1].endswith(f"technician's test scan by {me} (uid {os.getuid()})")
    assert summary == "(last seq 7, hub acked 0; times in UTC)"


def test_journal_export_writes_every_entry_as_a_json_line_in_sequence(desk, tmp_path):
    bind_solo_child(desk.socket)
    gatectl(desk.socket, "scan", "--barcode", "NOPE")
    target = tmp_path / "journal.jsonl"
    done = gatectl(desk.socket, "journal", "--export", str(target))
    assert done.returncode == 0, done.stderr
    entries = [json.loads(line) for line in target.read_text().splitlines()]
    assert [e["seq"] for e in entries] == [1, 2, 3]
    assert [e["body"]["decision"]["code"] for e in entries] == [
        "OK_BIND",
        "OK_BIND",
        "DENY_UNKNOWN",
    ]
    assert {e["gate"] for e in entries} == {"D1"}
    assert "3 entries exported" in done.stderr


def test_journal_export_pages_through_more_entries_than_one_answer_holds(entry, tmp_path):
    for n in range(1005):  # one answer carries at most 1000 entries
        entry.ask("scan", kind="nfc", value=f"04DE{n:010X}")
    target = tmp_path / "journal.jsonl"
    done = gatectl(entry.socket, "journal", "--export", str(target))
    assert done.returncode == 0, done.stderr
    seqs = [json.loads(line)["seq"] for line in target.read_text().splitlines()]
    assert seqs == list(range(1, 1006))


def test_journal_export_to_dash_writes_to_stdout(desk):
    gatectl(desk.socket, "scan", "--barcode", "T1")
    done = gatectl(desk.socket, "journal", "--export", "-")
    assert done.returncode == 0, done.stderr
    assert [json.loads(line)["seq"] for line in done.stdout.splitlines()] == [1]


def test_journal_export_writes_the_hybrid_timestamp_as_the_journal_does(desk, tmp_path):
    gatectl(desk.socket, "scan", "--barcode", "T1")
    target = tmp_path / "journal.jsonl"
    gatectl(desk.socket, "journal", "--export", str(target))
    entry = json.loads(target.read_text().splitlines()[0])
    assert isinstance(entry["hlc"], str)
    assert len(entry["hlc"]) == 16
    int(entry["hlc"], 16)


# --- diag and selftest ------------------------------------------------------------------------


def test_diag_checks_reader_scanner_gpio_disk_clock_and_key_file(desk):
    checks = answer(desk.socket, "diag")["checks"]
    assert list(checks) == ["reader", "scanner", "gpio", "disk", "clock", "key_file", "link"]
    header, *shown, _blank, verdict = gatectl(desk.socket, "diag").stdout.splitlines()
    assert header.split() == ["RESULT", "CHECK", "DETAIL"]
    assert [line.split()[1] for line in shown] == list(checks)
    assert verdict == "all checks passed"


def test_diag_of_a_healthy_gate_passes(desk):
    done = gatectl(desk.socket, "diag")
    assert [line.split()[0] for line in done.stdout.splitlines()[1:8]] == ["ok"] * 7
    assert "=None" not in done.stdout and "last_error" not in done.stdout  # no Python reprs
    assert done.returncode == 0


def test_diag_fails_naming_the_key_file_when_others_can_read_it(desk):
    key = desk.root / "venue" / "site.key"
    assert lines_starting(gatectl(desk.socket, "diag").stdout, "ok      key_file")
    key.chmod(0o644)  # while the gate runs
    done = gatectl(desk.socket, "diag")
    assert done.returncode == 1
    [line] = lines_starting(done.stdout, "FAIL    key_file")
    assert "mode 0644: must be 0600" in line
    problems = answer(desk.socket, "diag")["problems"]
    assert "key_file: mode 0644: must be 0600" in problems
    assert answer(desk.socket, "diag")["checks"]["key_file"]["path"] == str(key)


def test_selftest_cycles_the_fitted_outputs_and_lists_them(entry):
    done = gatectl(entry.socket, "selftest")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[:6] == [
        "OUTPUT  RESULT",
        "green   ok",
        "red     ok",
        "amber   ok",
        "buzzer  ok",
        "relay   ok",
    ]
    assert "not fitted: passage, staff_button, fire_alarm" in lines
    assert lines[-1] == "selftest passed"
    assert "{" not in done.stdout and "True" not in done.stdout  # no JSON blob, no repr
    report = answer(entry.socket, "selftest")["selftest"]
    assert report["fitted"] == ["relay", "green", "red", "amber", "buzzer"]
    assert report["outputs"] == dict.fromkeys(["green", "red", "amber", "buzzer", "relay"], "ok")
    assert True in entry.relay_states()  # the relay really switched
    assert entry.relay_states()[-1] is False


# --- a handheld's modes -----------------------------------------------------------------------


def test_a_handheld_starts_in_check_mode_without_a_relay(handheld):
    status = answer(handheld.socket, "status")
    assert (status["role"], status["mode"]) == ("handheld", "check")
    assert "relay" not in answer(handheld.socket, "diag")["checks"]["gpio"]["fitted"]


def test_mode_bind_makes_a_handheld_bind_a_ticket_and_its_band(handheld):
    done = gatectl(handheld.socket, "mode", "bind")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["mode: bind"]
    assert gatectl(handheld.socket, "scan", "--barcode", "TSOLO").stdout.startswith("OK_BIND")
    bound = gatectl(handheld.socket, "scan", "--nfc", SOLO_CHILD)
    assert bound.returncode == 0
    assert bound.stdout.startswith("OK_BIND: bound as solo_child")


def test_a_handheld_in_check_mode_shows_group_role_state_and_a_masked_phone(handheld):
    gatectl(handheld.socket, "mode", "bind")
    bind_solo_child(handheld.socket)
    assert gatectl(handheld.socket, "mode", "check").returncode == 0
    done = gatectl(handheld.socket, "scan", "--nfc", SOLO_CHILD)
    assert done.returncode == 0, done.stderr
    first, second, *members = done.stdout.splitlines()
    assert first == f"{SOLO_CHILD}: solo_child of group TSOLO, bound"
    assert second.startswith("  last seen at H1 ")
    assert second.endswith(f"guardian {SOLO_PHONE_MASKED}")
    assert members == [f"  {SOLO_CHILD}  solo_child  bound"]
    assert SOLO_PHONE not in done.stdout
    assert answer(handheld.socket, "status")["headcount"]["inside"] == 0  # a check moves nobody


def test_a_handheld_check_of_a_band_it_does_not_know_exits_1(handheld):
    done = gatectl(handheld.socket, "scan", "--nfc", NEVER_SEEN)
    assert done.returncode == 1
    assert done.stdout.splitlines() == [f"{NEVER_SEEN}: not bound here"]


def test_mode_on_an_entry_gate_is_refused(entry):
    done = gatectl(entry.socket, "mode", "check")
    assert done.returncode == 1
    assert "fixed mode" in done.stderr
    assert answer(entry.socket, "status")["mode"] == "entry"


# --- for a person or for a script: --json anywhere, times, columns, language ------------------


@pytest.mark.parametrize("command", [["allowlist"], ["journal", "--tail", "3"], ["diag"]])
def test_json_before_or_after_the_command_is_the_same_answer(desk, command):
    gatectl(desk.socket, "scan", "--barcode", "T1")
    before = gatectl(desk.socket, "--json", *command)
    after = gatectl(desk.socket, *command, "--json")
    assert before.returncode == after.returncode == 0, before.stderr + after.stderr
    first, second = json.loads(before.stdout), json.loads(after.stdout)
    if command == ["diag"]:  # the clock, the free space and the link's traffic move between
        for answer_ in (first, second):  # the two: of those, the same fields
            for moving in ("clock", "disk", "link"):
                answer_["checks"][moving] = sorted(answer_["checks"][moving])
    assert first == second
    assert first["ok"] is True and first["timezone"] == "UTC"


def test_status_json_after_the_command_keeps_the_fields_scripts_read(desk):
    status = json.loads(gatectl(desk.socket, "status", "--json").stdout)
    assert (status["gate"], status["role"], status["journal"]["last_seq"]) == ("D1", "desk", 0)
    assert {"headcount", "reader", "scanner", "link", "counters", "last"} <= status.keys()


def test_journal_times_are_on_the_venues_clock_in_lined_up_columns(gates, tmp_path):
    from gate_rig import write_venue

    venue = write_venue(tmp_path / "venue")
    policy = venue / "policy.toml"
    policy.write_text(policy.read_text().replace('"UTC"', '"Asia/Shanghai"'))
    entry = gates("E1", "entry", scanner=False)
    for n in range(3):
        gatectl(entry.socket, "scan", "--nfc", f"04DEAD0000000{n}")
    done = gatectl(entry.socket, "journal")
    assert done.returncode == 0, done.stderr
    header, *rows, summary = done.stdout.splitlines()
    assert summary.endswith("times in Asia/Shanghai)")
    exported = [
        json.loads(line)
        for line in gatectl(entry.socket, "journal", "--export", "-").stdout.splitlines()
    ]
    shanghai = ZoneInfo("Asia/Shanghai")
    for row, entry_ in zip(rows, exported, strict=True):
        local = datetime.fromtimestamp(entry_["wall_ms"] / 1000, UTC).astimezone(shanghai)
        assert row.split()[1] == f"{local:%H:%M:%S}"  # today, on the venue's clock
    for column in ("TIME", "KIND", "VALUE", "WHAT"):
        start = header.index(column)
        assert all(row[start - 2 : start] == "  " and row[start] != " " for row in rows), column
    status = gatectl(entry.socket, "diag").stdout
    assert "(Asia/Shanghai)" in status


def test_a_dry_run_scan_decides_but_journals_nothing_and_the_relay_stays_still(exit_lane):
    def decisions() -> list[dict[str, Any]]:  # time passing journals expiries meanwhile
        return [
            e for e in answer(exit_lane.socket, "journal")["entries"] if e["kind"] == "decision"
        ]

    journal_before = decisions()
    done = gatectl(exit_lane.socket, "scan", "--nfc", ADULT, "--dry-run")
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("OK_EXIT: ")  # the rules would let the adult out
    assert lines[-1] == "  dry run: decided only, nothing journalled, the relay did not move"
    assert "technician's test scan" not in done.stdout
    dry = answer(exit_lane.socket, "scan", "--nfc", ADULT, "--dry-run")
    assert (dry["dry_run"], dry["seq"], dry["decision"]["code"]) == (True, None, "OK_EXIT")
    assert decisions() == journal_before
    assert True not in exit_lane.relay_states()
    member = answer(exit_lane.socket, "allowlist", "--lookup", ADULT)["lookup"]["member"]
    assert member["state"] == "inside"
    assert answer(exit_lane.socket, "status")["counters"]["dry_run_scans"] == 2


def test_a_real_test_scan_is_journalled_as_the_technicians_and_says_so(exit_lane):
    done = gatectl(exit_lane.socket, "scan", "--nfc", ADULT)
    assert done.returncode == 0, done.stderr
    me = pwd.getpwuid(os.getuid()).pw_name
    said = f"  technician's test scan by {me} (uid {os.getuid()}): journal seq "
    assert done.stdout.splitlines()[-1].startswith(said), done.stdout
    seq = done.stdout.splitlines()[-1].removeprefix(said)
    wait_for(lambda: True in exit_lane.relay_states(), what="the relay opened")
    # the passage (or its timeout) may be journalled after it: find the scan's own row
    journal = gatectl(exit_lane.socket, "journal").stdout.splitlines()
    rows = [row for row in journal if "technician's test scan" in row]
    assert len(rows) == 1, journal
    assert rows[0].split()[0] == seq
    assert f"OK_EXIT Exit allowed  technician's test scan by {me}" in rows[0]


def test_chinese_under_a_chinese_locale_and_english_on_request(exit_lane):
    env = {"LANG": "zh_CN.UTF-8"}
    status = gatectl(exit_lane.socket, "status", env=env)
    assert status.returncode == 0, status.stderr
    assert status.stdout.startswith("闸机 L1（exit，模式 exit），已运行 ")  # noqa: RUF001
    assert "在馆" in status.stdout and "成人 1，儿童 1" in status.stdout  # noqa: RUF001
    labels = [line.split()[0] for line in status.stdout.splitlines()[1:4]]
    assert labels == ["白名单", "在馆", "日志"]
    values = [line[cells_to_index(line, 12) :] for line in status.stdout.splitlines()[1:4]]
    assert all(v and v[0] != " " for v in values)  # the texts start in one column
    diag = gatectl(exit_lane.socket, "diag", env=env)
    assert diag.stdout.splitlines()[0].split() == ["结果", "检查项", "详情"]
    assert diag.stdout.splitlines()[-1] == "全部检查通过"
    english = gatectl(exit_lane.socket, "--lang", "en", "status", env=env)
    assert english.stdout.startswith("Gate L1 ")
    chinese = gatectl(exit_lane.socket, "journal", "--lang", "zh-CN")
    assert chinese.stdout.splitlines()[0].split() == ["序号", "时间", "类型", "值", "内容"]
    assert json.loads(gatectl(exit_lane.socket, "status", "--json", env=env).stdout)["gate"] == "L1"


def cells_to_index(line: str, width: int) -> int:
    """The index in `line` where `width` terminal cells end (a Chinese character takes two)."""
    taken = 0
    for index, char in enumerate(line):
        if taken >= width:
            return index
        taken += cells(char)
    return len(line)


@pytest.mark.parametrize(
    ("option", "environ", "language"),
    [
        (None, {"LANG": "zh_CN.UTF-8"}, "zh-CN"),
        (None, {"LANG": "zh_TW.UTF-8"}, "zh-CN"),
        (None, {"LC_ALL": "C", "LANG": "zh_CN.UTF-8"}, "en"),
        (None, {"LC_MESSAGES": "zh_CN.UTF-8", "LANG": "en_GB.UTF-8"}, "zh-CN"),
        (None, {"LC_ALL": "", "LANG": "zh_CN.UTF-8"}, "zh-CN"),
        (None, {}, "en"),
        ("en", {"LANG": "zh_CN.UTF-8"}, "en"),
        ("zh", {}, "zh-CN"),
    ],
)
def test_the_language_is_the_option_else_the_locale_else_english(option, environ, language):
    assert terminal_language(option, environ) == language


def test_an_unknown_language_is_a_usage_error(tmp_path):
    done = gatectl(tmp_path / "gate.sock", "status", "--lang", "fr")
    assert done.returncode == 2
    assert "unknown language 'fr'" in done.stderr


# --- no gate, bad usage -----------------------------------------------------------------------


def test_a_socket_path_with_no_file_is_unreachable(tmp_path):
    path = tmp_path / "gate.sock"
    done = gatectl(path, "status")
    assert done.returncode == 3
    assert done.stderr.strip() == f"gatectl: no control socket at {path}: is the gate running?"


def test_a_socket_file_with_nothing_listening_is_unreachable(tmp_path):
    path = tmp_path / "gate.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as stale:
        stale.bind(str(path))  # left behind by a killed gate: a file, and nobody listening
    done = gatectl(path, "status")
    assert done.returncode == 3
    assert done.stderr.startswith(f"gatectl: {path}: ")
    assert done.stdout == ""


@pytest.mark.parametrize(
    "argv",
    [
        ["frobnicate"],
        [],
        ["scan"],
        ["scan", "--nfc", ADULT, "--barcode", "T1"],
        ["scan", "--nfc", ADULT, "--intent", "forever"],
        ["mode", "sideways"],
        ["journal", "--tail", "many"],
    ],
    ids=[
        "unknown-command",
        "no-command",
        "scan-nothing",
        "scan-both",
        "bad-intent",
        "bad-mode",
        "bad-tail",
    ],
)
def test_unknown_usage_exits_2(tmp_path, argv):
    done = gatectl(tmp_path / "gate.sock", *argv)
    assert done.returncode == 2
    assert done.stderr.startswith("usage: gatectl")


def test_a_reader_that_closes_the_pipe_early_ends_no_traceback(exit_lane):
    """`gatectl status | head -1`: the pipe is closed before gatectl writes; it exits quietly."""
    proc = processes.spawn(
        [sys.executable, "-m", "gate.tools.gatectl", "-s", str(exit_lane.socket), "status"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=REPO,
        env=_env(),
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader is gone before the answer is printed
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 0, err
    assert "Traceback" not in err, err
