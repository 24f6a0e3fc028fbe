"""Attacks on the control sockets and the units, against real `hub run` and `gate run` processes.

The daemons run as a service user and the commands as an operator of its group, as on a venue's
machine (the service user `wristgate`, technicians in the `wristgate` group): here uid 1000 and
nobody (65534) with group 1000. That takes root to arrange; without it the tests that need two
users are skipped and the rest run as this process's own user.

- An operator cannot make the hub or a gate read a file for them: `hub import-tickets` and
  `gatectl allowlist --import` read the files with the operator's rights and send their text,
  and no answer, output or log repeats a line of a file that is not an allowlist CSV.
- A control connection is bounded: a silent client is dropped, an oversize request refused,
  connections past the bound told "busy", journal pages capped.
- A test scan is journalled with who asked (SO_PEERCRED); an import says who made it.
- The units parse, carry the hardening, and a start-up error exits 78 (a usage error 2), which
  they do not restart.
"""

from __future__ import annotations

import configparser
import contextlib
import json
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from gate_rig import VALID_AROUND_NOW, wait_for
from venue_rig import Venue

from gate.control.client import ask
from gate.control.refusals import REASONS, is_internal_error, refusal_reason
from gate.control.socket import IDLE_TIMEOUT_S, MAX_CONNECTIONS, MAX_IMPORT_REQUEST
from gate.daemon.answers import MAX_JOURNAL_PAGE
from venue.daemon import Account, hand_over

REPO = Path(__file__).resolve().parent.parent
SERVICE = Account(1000, 1000)  # the daemons' user, as `wristgate`
OPERATOR = Account(65534, 65534, (1000,))  # a technician: another user, in the service's group
CAN_SWITCH = os.geteuid() == 0 and shutil.which("setpriv") is not None
TWO_USERS = pytest.mark.skipif(
    not CAN_SWITCH, reason="running the daemons and the commands as two users takes root"
)


@pytest.fixture
def venue(fresh_broker: Any) -> Iterator[Venue]:
    """A hub and a desk gate, run as the service user when this process may arrange it. The
    venue lives outside pytest's 0700 temporary tree, which other users cannot enter."""
    root = Path(tempfile.mkdtemp(prefix="wristgate-attacks-"))
    root.chmod(0o750)
    v = Venue(root, fresh_broker(), service=SERVICE if CAN_SWITCH else None)
    try:
        v.start_hub()
        v.start_gate("D1")
        yield v
    finally:
        v.close()
        shutil.rmtree(root, ignore_errors=True)


def as_operator(*argv: str) -> subprocess.CompletedProcess[str]:
    """A command as the operator types it (as themselves when this process is not root)."""
    command = [sys.executable, "-m", *argv]
    return subprocess.run(
        OPERATOR.command(command) if CAN_SWITCH else command,
        capture_output=True,
        text=True,
        timeout=60,
    )


def hub_cli(v: Venue, *args: str) -> subprocess.CompletedProcess[str]:
    return as_operator("hub", "-c", str(v.root / "hub" / "hub.toml"), *args)


def gatectl(v: Venue, *args: str) -> subprocess.CompletedProcess[str]:
    return as_operator("gate.tools.gatectl", "-s", str(v.gates["D1"].socket), *args)


def logs(v: Venue) -> str:
    return "".join(p.log.read_text(errors="replace") for p in [v.hub, *v.gates.values()] if p)


def raw_request(path: Path, payload: bytes, timeout: float = 20.0) -> dict[str, Any]:
    """`payload` sent as is on the socket at `path` (a client that is not ours); the answer."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(str(path))
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(payload)  # refused before it was all sent: the answer is there
        with sock.makefile("rb") as replies:
            line = replies.readline()
    answer: dict[str, Any] = json.loads(line)
    return answer


def secret_file(v: Venue) -> tuple[Path, str]:
    """The hub's broker password file: the service user's, mode 0600."""
    path = v.secrets / "hub.password"
    return path, path.read_text().strip()


def tickets_text(code: str) -> str:
    return (
        "code,product,adults,children,valid_from,valid_to,guardian_phone\n"
        f"{code},family,1,1,{VALID_AROUND_NOW},\n"
    )


# --- no file read for an operator, no file's line in a message --------------------------------


@TWO_USERS
def test_a_secret_the_operator_cannot_read_is_refused_by_the_cli_and_never_echoed(venue):
    path, secret = secret_file(venue)
    done = hub_cli(venue, "import-tickets", str(path))
    assert secret not in done.stdout + done.stderr
    assert secret not in logs(venue)
    assert done.returncode == 1
    assert f"{path}: cannot be read: Permission denied" in done.stderr, done.stderr


def test_a_secret_sent_over_the_hub_socket_as_a_path_or_as_tickets_is_never_echoed(venue):
    assert venue.hub is not None
    path, secret = secret_file(venue)
    by_path = raw_request(
        venue.hub.socket, json.dumps({"cmd": "import", "path": str(path)}).encode() + b"\n"
    )
    assert by_path["ok"] is False
    assert "not a path" in by_path["error"]
    as_tickets = {"cmd": "import", "tickets": {"name": "tickets.csv", "text": secret + "\n"}}
    answer = raw_request(venue.hub.socket, json.dumps(as_tickets).encode() + b"\n")
    assert answer["ok"] is False
    assert (
        "header lacks columns" in answer["error"] and "is this the right file?" in answer["error"]
    )
    for said in (json.dumps(by_path), json.dumps(answer), logs(venue)):
        assert secret not in said


def test_the_hub_refuses_with_a_reason_of_the_closed_list_never_a_bare_no(venue):
    """Like a gate's, the hub's socket answers done, refused with a reason an operator can act
    on, or an internal error: a harness can tell a refusal from a crash."""
    assert venue.hub is not None
    sock = str(venue.hub.socket)
    cases = {
        "unknown_command": {"cmd": "reboot"},
        "bad_request": {"cmd": "import", "path": "/etc/shadow"},
        "bad_import": {"cmd": "import", "tickets": {"name": "t.csv", "text": "code\nT-1\n"}},
    }
    for reason, request in cases.items():
        answer = ask(sock, request)
        assert answer["ok"] is False and answer.get("refused") == reason, (request, answer)
        assert refusal_reason(answer) in REASONS and not is_internal_error(answer)
        assert answer["error"]
    drill = ask(sock, {"cmd": "drill", "action": "start", "kind": "meteor"})
    assert drill.get("refused") == "bad_request", drill
    assert ask(sock, {"cmd": "status"})["ok"] is True


@TWO_USERS
def test_gatectl_cannot_make_the_gate_read_a_secret_for_it(venue):
    path, secret = secret_file(venue)
    folder = Path(tempfile.mkdtemp(prefix="wristgate-import-"))
    try:
        (folder / "tickets.csv").symlink_to(path)  # the folder is open: the gate may enter it
        (folder / "wristbands.csv").write_text("uid,role\n")
        (folder / "staff.csv").write_text("uid,name\n")
        folder.chmod(0o755)
        hand_over(folder, OPERATOR)
        done = gatectl(venue, "allowlist", "--import", str(folder))
    finally:
        shutil.rmtree(folder)
    assert secret not in done.stdout + done.stderr + logs(venue)
    assert done.returncode == 2
    assert "tickets.csv: cannot be read: Permission denied" in done.stderr, done.stderr


@TWO_USERS
def test_a_file_only_the_operator_can_read_imports_because_the_cli_reads_it(venue):
    folder = Path(tempfile.mkdtemp(prefix="wristgate-import-"))
    try:
        mine = folder / "day.csv"
        mine.write_text(tickets_text("TMINE"))
        mine.chmod(0o600)
        hand_over(folder, OPERATOR)  # the service user cannot open it, nor enter the folder
        done = hub_cli(venue, "import-tickets", str(mine))
    finally:
        shutil.rmtree(folder)
    assert done.returncode == 0, done.stderr + (venue.hub.tail() if venue.hub else "")
    assert "1 added" in done.stdout
    user = pwd.getpwuid(OPERATOR.uid).pw_name
    assert f"imported as {user} (uid {OPERATOR.uid})" in done.stdout
    assert venue.hub is not None
    wait_for(
        lambda: f"day.csv by uid {OPERATOR.uid} ({user})" in venue.hub.tail(),  # type: ignore[union-attr]
        what="the import logged with who made it",
    )
    wait_for(lambda: venue.scan("D1", "TMINE", "barcode") == "OK_BIND", what="TMINE at the desk")


# --- bounded connections ----------------------------------------------------------------------


def test_a_silent_connection_is_dropped_while_another_client_is_served(venue):
    sock_path = venue.gates["D1"].socket
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as silent:
        silent.settimeout(IDLE_TIMEOUT_S + 60)  # dropped, not kept: long before this
        silent.connect(str(sock_path))
        started = time.monotonic()
        assert ask(str(sock_path), {"cmd": "status"}, timeout=30)["ok"]  # served meanwhile
        said = silent.recv(4096)  # the server's farewell, then the end of the stream
        waited = time.monotonic() - started
    assert waited >= IDLE_TIMEOUT_S * 0.8, waited  # not before its idle time (later: load)
    assert json.loads(said)["error"] == f"refused: nothing received for {IDLE_TIMEOUT_S:.0f} s"
    counted = ask(str(sock_path), {"cmd": "status"})["control_refused"]
    assert counted.get("idle", 0) >= 1, counted


def test_connections_past_the_bound_are_told_busy_and_served_again_once_they_close(venue):
    sock_path = str(venue.gates["D1"].socket)
    silent = [socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) for _ in range(MAX_CONNECTIONS)]
    try:
        for s in silent:
            s.connect(sock_path)
        wait_for(
            lambda: "busy" in ask(sock_path, {"cmd": "status"}, timeout=5).get("error", ""),
            timeout=5,
            what="busy",
        )
    finally:
        for s in silent:
            s.close()
    wait_for(lambda: ask(sock_path, {"cmd": "status"}).get("ok"), what="served again")


def test_an_oversize_request_is_refused_and_the_daemon_goes_on(venue):
    assert venue.hub is not None
    huge = b'{"cmd": "status", "pad": "' + b"x" * MAX_IMPORT_REQUEST + b'"}\n'
    answer = raw_request(venue.hub.socket, huge)
    assert answer == {
        "ok": False,
        "refused": "too_big",
        "error": f"refused: a request is at most {MAX_IMPORT_REQUEST} bytes",
    }
    status = ask(str(venue.hub.socket), {"cmd": "status"})
    assert status["ok"] and status["control_refused"] == {"too_big": 1}


def test_a_journal_page_cannot_be_lifted_past_its_cap(venue):
    sock_path = str(venue.gates["D1"].socket)
    unlimited = ask(sock_path, {"cmd": "journal", "after": 0, "limit": -1})
    bad = {"ok": False, "refused": "bad_request"}
    assert unlimited == {**bad, "error": "limit must be at least 1, got -1"}
    backwards = ask(sock_path, {"cmd": "journal", "tail": -5})
    assert backwards == {**bad, "error": "tail must be at least 0, got -5"}
    assert ask(sock_path, {"cmd": "journal", "limit": "all"})["ok"] is False
    huge = ask(sock_path, {"cmd": "journal", "after": 0, "limit": 10**12})
    assert huge["ok"] is True
    assert huge["limit"] == MAX_JOURNAL_PAGE


# --- who asked --------------------------------------------------------------------------------


def test_a_test_scan_is_journalled_with_the_uid_of_who_asked(venue):
    operator = OPERATOR.uid if CAN_SWITCH else os.getuid()
    user = pwd.getpwuid(operator).pw_name
    done = gatectl(venue, "--json", "scan", "--barcode", "NOPE-1")
    scanned = json.loads(done.stdout)
    assert scanned["decision"]["code"] == "DENY_UNKNOWN", done.stderr
    page = json.loads(gatectl(venue, "--json", "journal", "--tail", "5").stdout)
    entry = next(e for e in page["entries"] if e["seq"] == scanned["seq"])
    asked = entry["body"]["asked_by"]
    assert (asked["uid"], asked["user"]) == (operator, user)
    assert isinstance(asked["pid"], int) and asked["pid"] > 0
    shown = gatectl(venue, "journal", "--tail", "5").stdout
    said = f"technician's test scan by {user} (uid {operator})"
    assert any(
        line.split()[3:5] == ["NOPE-1", "DENY_UNKNOWN"] and line.endswith(said)
        for line in shown.splitlines()
    ), shown


# --- the units --------------------------------------------------------------------------------


def unit(name: str) -> configparser.SectionProxy:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string((REPO / "systemd" / name).read_text())
    return parser["Service"]


HARDENING = {
    "ProtectProc": "invisible",
    "RemoveIPC": "yes",
    "PrivateMounts": "yes",
    "SystemCallArchitectures": "native",
    "SystemCallErrorNumber": "EPERM",
    "IPAddressDeny": "any",
    "CapabilityBoundingSet": "",
    "NoNewPrivileges": "yes",
    "RestartPreventExitStatus": "2 78",  # a bad configuration (78) or command line (2)
}


@pytest.mark.parametrize("name", ["gate.service", "hub.service"])
def test_the_units_are_hardened_and_do_not_restart_a_bad_configuration(name):
    service = unit(name)
    for directive, value in HARDENING.items():
        assert service.get(directive) == value, directive
    assert "~@privileged @resources" in (REPO / "systemd" / name).read_text()
    assert "localhost" in service["IPAddressAllow"].split()
    assert "PrivateUsers" not in service  # SO_PEERCRED would read every operator as 65534


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze here")
@pytest.mark.parametrize("name", ["gate.service", "hub.service"])
def test_systemd_analyze_verifies_the_units_without_a_word(tmp_path, name):
    from deploy.units import unit_text

    rendered = tmp_path / f"wristgate-{name}"
    rendered.write_bytes(unit_text(name, str(REPO)))  # as install-gate/install-hub write it
    done = subprocess.run(
        ["systemd-analyze", "verify", str(rendered)], capture_output=True, text=True, timeout=60
    )
    assert (done.returncode, done.stdout + done.stderr) == (0, "")


def test_gate_run_with_a_bad_config_exits_78_naming_the_file_and_field(tmp_path):
    config = tmp_path / "gate.toml"
    config.write_text('[gate]\nid = "E1"\nrole = "entrance"\nprofile = "turnstile-pn532"\n')
    done = subprocess.run(
        [sys.executable, "-m", "gate", "run", "-c", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 78, done.stderr
    assert f"gate run: {config} [gate]: role: Input should be 'entry'" in done.stderr


def test_hub_run_with_a_secret_in_the_wrong_field_exits_78_without_showing_it(tmp_path):
    config = tmp_path / "hub.toml"
    config.write_text('[mqtt]\npassword = "correct-horse-battery"\n')
    done = subprocess.run(
        [sys.executable, "-m", "hub", "-c", str(config), "run"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 78, done.stderr
    assert f"{config}: mqtt.password: not a known field: did you mean password_file?" in done.stderr
    assert "correct-horse" not in done.stderr
