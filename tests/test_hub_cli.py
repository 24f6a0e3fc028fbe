"""The `hub` command as an operator uses it, against real processes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from gate_rig import wait_for
from venue_rig import Venue

from hub.service.config import load_hub_config

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def venue(tmp_path: Path, fresh_broker):
    v = Venue(tmp_path, fresh_broker())
    yield v
    v.close()


def hub(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hub", "-c", str(config), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def tickets_csv(path: Path, rows: str) -> Path:
    header = "code,product,adults,children,valid_from,valid_to,guardian_phone\n"
    path.write_text(header + rows)
    return path


def test_imported_tickets_reach_the_gates_through_the_running_hub(venue, tmp_path):
    venue.start_hub()
    venue.start_gate("D1")
    assert venue.scan("D1", "T7", "barcode") == "DENY_UNKNOWN"
    today = date.today().isoformat()
    csv = tickets_csv(tmp_path / "day.csv", f"T7,family,1,1,{today},{today},\nT8,family,x,1,,,\n")
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
    today = date.today().isoformat()
    with (folder / "tickets.csv").open("a") as f:
        f.write(f"TDIR,family,1,0,{today},{today},\n")
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
    status = hub(config, "status")
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
    today = date.today().isoformat()
    csv = tickets_csv(tmp_path / "late.csv", f"T9,family,2,0,{today},{today},\n")
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
