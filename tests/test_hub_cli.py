"""The `hub` command as an operator uses it, against real processes."""

from __future__ import annotations

import json
import os
import pwd
import re
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from gate_rig import VALID_AROUND_NOW, wait_for
from venue_rig import Venue

from hub.service.config import load_hub_config

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def venue(tmp_path: Path, fresh_broker):
    v = Venue(tmp_path, fresh_broker())
    yield v
    v.close()


def hub(
    config: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`hub -c CONFIG ARGS...`, in English unless `env` says otherwise."""
    return subprocess.run(
        [sys.executable, "-m", "hub", "-c", str(config), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=_env(env),
    )


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    gone = ("LC_ALL", "LC_MESSAGES", "LANG")
    env = {k: v for k, v in os.environ.items() if k not in gone} | {"LANG": "C.UTF-8"}
    return env | (extra or {})


def gatectl(sock: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gate.tools.gatectl", "-s", str(sock), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=_env(),
    )


def tickets_csv(path: Path, rows: str) -> Path:
    header = "code,product,adults,children,valid_from,valid_to,guardian_phone\n"
    path.write_text(header + rows)
    return path


def test_imported_tickets_reach_the_gates_through_the_running_hub(venue, tmp_path):
    venue.start_hub()
    venue.start_gate("D1")
    assert venue.scan("D1", "T7", "barcode") == "DENY_UNKNOWN"
    csv = tickets_csv(
        tmp_path / "day.csv", f"T7,family,1,1,{VALID_AROUND_NOW},\nT8,family,x,1,,,\n"
    )
    result = hub(venue.root / "hub" / "hub.toml", "import-tickets", str(csv))
    assert result.returncode == 1  # a row was skipped: said on stderr, the rest imported
    assert "day.csv:3:" in result.stderr
    assert "1 added" in result.stdout
    wait_for(lambda: venue.gate_status("D1")["allowlist_version"] >= 2, what="gate updated")
    assert venue.scan("D1", "T7", "barcode") == "OK_BIND"


def test_a_directory_is_sent_file_by_file_and_becomes_the_venues_allowlist(venue, tmp_path):
    venue.start_hub()
    venue.start_gate("D1")
    folder = tmp_path / "allowlist"
    shutil.copytree(venue.venue / "allowlist", folder)
    with (folder / "tickets.csv").open("a") as f:
        f.write(f"TDIR,family,1,0,{VALID_AROUND_NOW},\n")
    (folder / "notes.txt").write_text("not an allowlist file: never read, never sent\n")
    result = hub(venue.root / "hub" / "hub.toml", "import", str(folder))
    assert result.returncode == 0, result.stderr
    assert "1 added" in result.stdout
    wait_for(lambda: venue.scan("D1", "TDIR", "barcode") == "OK_BIND", what="TDIR at the desk")
    (folder / "staff.csv").unlink()
    missing = hub(venue.root / "hub" / "hub.toml", "import", str(folder))
    assert missing.returncode == 1
    assert f"staff.csv: missing (required in {folder})" in missing.stderr


def test_status_and_findings_answer_while_the_hub_runs_and_say_when_it_does_not(venue):
    venue.start_hub()
    config = venue.root / "hub" / "hub.toml"
    status = hub(config, "status", "--json")
    assert status.returncode == 0
    assert json.loads(status.stdout)["connected"] is True
    assert hub(config, "findings").returncode == 0
    venue.hub.stop()
    stopped = hub(config, "status")
    assert stopped.returncode == 3
    assert "not running" in stopped.stderr


def test_an_import_with_no_hub_running_is_stored_for_its_next_start(venue, tmp_path):
    venue.start_hub()
    venue.hub.stop()
    csv = tickets_csv(tmp_path / "late.csv", f"T9,family,2,0,{VALID_AROUND_NOW},\n")
    result = hub(venue.root / "hub" / "hub.toml", "import-tickets", str(csv))
    assert result.returncode == 0, result.stderr
    assert "stored only" in result.stdout
    venue.start_hub()
    venue.start_gate("D1")
    wait_for(lambda: venue.scan("D1", "T9", "barcode") == "OK_BIND", what="T9 at the desk")


def test_a_bad_hub_config_is_refused_naming_the_field(tmp_path):
    config = tmp_path / "hub.toml"
    config.write_text('[mqtt]\nport = "many"\n')
    result = hub(config, "run")
    assert result.returncode == 78  # EX_CONFIG: the unit does not restart it
    assert "mqtt.port" in result.stderr


def test_the_example_hub_config_parses():
    config = load_hub_config(ROOT / "firmware_configs" / "hub.toml.example")
    assert config.mqtt.username == "hub"


# --- for a person by default, JSON for scripts ---------------------------------------------------


def on_the_venues_clock(venue: Venue, zone: str = "Asia/Shanghai") -> None:
    policy = venue.venue / "policy.toml"
    policy.write_text(policy.read_text().replace('"UTC"', f'"{zone}"'))


def test_status_is_a_page_for_a_person_with_each_gate_once(venue):
    on_the_venues_clock(venue)
    venue.start_hub()
    venue.start_gate("D1")
    venue.start_gate("E1")
    config = venue.root / "hub" / "hub.toml"
    wait_for(
        lambda: {"D1", "E1"} <= json.loads(hub(config, "--json", "status").stdout)["gates"].keys(),
        timeout=20,
        what="both gates heard of",
    )
    done = hub(config, "status")
    assert done.returncode == 0, done.stderr
    text = done.stdout
    assert "{" not in text and "None" not in text and "True" not in text  # no JSON, no repr
    assert text.splitlines()[0].split()[:2] == ["broker", "connected"]
    as_of = next(line for line in text.splitlines() if line.startswith("as of"))
    assert as_of.endswith("(Asia/Shanghai)")
    shown = datetime.strptime(as_of.split()[2], "%H:%M:%S").time()
    now = datetime.now(UTC).astimezone(ZoneInfo("Asia/Shanghai"))
    apart = abs(now.hour * 60 + now.minute - (shown.hour * 60 + shown.minute))
    assert min(apart, 24 * 60 - apart) <= 1  # minutes apart on the dial: 23:59 and 00:00 are 1
    header = next(line for line in text.splitlines() if line.startswith("GATE"))
    rows = [line for line in text.splitlines() if line.split()[:1] in (["D1"], ["E1"])]
    assert [row.split()[0] for row in rows] == ["D1", "E1"]  # each gate once
    assert [row[header.index("ONLINE") :].split()[0] for row in rows] == ["yes", "yes"]
    for column in ("ONLINE", "LAST SEEN"):
        start = header.index(column)
        assert all(row[start - 2 : start] == "  " and row[start] != " " for row in rows), column


def test_json_before_or_after_the_command_is_the_same(venue):
    venue.start_hub()
    config = venue.root / "hub" / "hub.toml"
    for command in ("status", "findings"):
        before = json.loads(hub(config, "--json", command).stdout)
        after = json.loads(hub(config, command, "--json").stdout)
        assert before.keys() == after.keys()
        assert before["ok"] is after["ok"] is True
    assert "headcount" in before or "findings" in before


def test_findings_are_read_from_the_store_when_the_hub_is_stopped(venue):
    venue.start_hub()
    venue.start_gate("D1")
    assert venue.scan("D1", "T1", "barcode") == "OK_BIND"
    wait_for(lambda: venue.settled(), what="the hub has D1's journal")
    config = venue.root / "hub" / "hub.toml"
    running = json.loads(hub(config, "findings", "--json").stdout)
    venue.hub.stop()
    stopped = hub(config, "findings", "--json")
    assert stopped.returncode == 0, stopped.stderr
    assert json.loads(stopped.stdout) == running
    assert "not running: findings read from its store" in stopped.stderr
    text = hub(config, "findings")
    assert text.returncode == 0, text.stderr
    first = text.stdout.splitlines()[0]
    assert first == "no findings: every gate's journal folds cleanly" or re.fullmatch(
        r"\d+ findings, \d+ critical \(times in UTC\)", first
    ), first


def test_a_test_scan_shows_as_a_technicians_in_the_daily_report(venue):
    venue.start_hub()
    venue.start_gate("D1")
    sock = venue.gates["D1"].socket
    done = gatectl(sock, "scan", "--barcode", "NOPE")
    assert done.returncode == 1, done.stdout + done.stderr
    me = pwd.getpwuid(os.getuid()).pw_name
    assert f"technician's test scan by {me}" in done.stdout
    assert venue.scan("D1", "NOPE2", "barcode") == "DENY_UNKNOWN"  # also asked over the socket
    dry = gatectl(sock, "scan", "--barcode", "NOPE3", "--dry-run")
    assert "dry run" in dry.stdout
    wait_for(lambda: venue.settled(), what="the hub has D1's journal")
    config = venue.root / "hub" / "hub.toml"
    report = json.loads(hub(config, "report", "daily", "--json").stdout)
    tested = report["test_scans"]
    assert [(t["gate"], t["value"], t["code"]) for t in tested] == [
        ("D1", "NOPE", "DENY_UNKNOWN"),
        ("D1", "NOPE2", "DENY_UNKNOWN"),
    ]  # the dry run never reached the journal
    assert tested[0]["technician"] == f"{me} (uid {os.getuid()})"
    assert report["denials"] == {}  # a technician's denials are not a visitor's
    csv = hub(config, "report", "daily").stdout
    assert "Technician's test scans" in csv


def test_chinese_under_a_chinese_locale(venue):
    venue.start_hub()
    venue.start_gate("D1")
    config = venue.root / "hub" / "hub.toml"
    wait_for(
        lambda: "D1" in json.loads(hub(config, "--json", "status").stdout)["gates"],
        timeout=20,
        what="D1 heard of",
    )
    done = hub(config, "status", env={"LANG": "zh_CN.UTF-8"})
    assert done.returncode == 0, done.stderr
    labels = [line.split()[0] for line in done.stdout.splitlines() if line.strip()]
    assert labels[:4] == ["消息服务器", "在馆人数", "截至", "白名单"]
    assert any(line.split()[:2] == ["闸机", "在线"] for line in done.stdout.splitlines())
    english = hub(config, "--lang", "en", "status", env={"LANG": "zh_CN.UTF-8"})
    assert english.stdout.startswith("broker")
    findings = hub(config, "findings", env={"LC_ALL": "zh_CN.UTF-8"})
    assert findings.stdout.startswith("无核对问题")
