"""`gate run -c gate.toml` as systemd starts it: a real process, mock pins, an emulated reader.

A configuration, key file, journal or allowlist that cannot be used stops the gate at once with
exit status 78 (EX_CONFIG, which the unit does not restart) and a message naming the file and
the field. A good one starts, notifies systemd (READY, then WATCHDOG pings; STOPPING on SIGTERM)
and answers on its control socket. The shipped
configurations (profiles, gate.toml.example, site.key.example, the unit, the udev rules) are
loaded here too, so that they can never rot.
"""

from __future__ import annotations

import configparser
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import tomllib
from collections.abc import Callable, Iterator
from itertools import pairwise
from pathlib import Path

import processes
import pytest
from gate_rig import PINS, wait_for, write_venue

from gate.cli import EXIT_CONFIG, build_parser
from gate.control.client import ask
from gate.devices.nfc.emulator import TagEmulator
from gate.devices.nfc.token import load_keyring
from gate.settings import PROFILES_DIR, GateSettings, load_gate_config

REPO = Path(__file__).resolve().parent.parent
FIRMWARE = REPO / "firmware_configs"
EXAMPLE = FIRMWARE / "gate.toml.example"
UNIT = REPO / "systemd" / "gate.service"
# A bad configuration makes `gate run` give up as soon as it has read it: an interpreter start
# and the imports, seconds on a loaded machine; a gate that started instead runs on until killed.
FAILS_WITHIN_S = 30.0
WATCHDOG_USEC = 200_000


# --- a gate's files, and running it ------------------------------------------------------------


def write_gate(root: Path, reader: str, *, gate_lines: str = "", tail: str = "") -> Path:
    """A venue, an entry gate's profile (reader, relay and indicators) and its gate.toml.

    `gate_lines` are added to `[gate]`; `tail` (further sections) follows it.
    """
    venue = write_venue(root / "venue")
    gate_dir = root / "E1"
    gate_dir.mkdir()
    profile = gate_dir / "profile.toml"
    pins = "".join(f"{name} = {pin}\n" for name, pin in PINS.items())
    profile.write_text(f'[reader]\ndevice = "{reader}"\ndebounce_s = 0.3\n\n[pins]\n{pins}')
    config = gate_dir / "gate.toml"
    config.write_text(
        "[gate]\n"
        'id = "E1"\n'
        'role = "entry"\n'
        'profile = "profile.toml"\n'
        f'state_dir = "{gate_dir / "state"}"\n'
        f'site_key = "{venue / "site.key"}"\n'
        f'policy = "{venue / "policy.toml"}"\n'
        f'allowlist_csv = "{venue / "allowlist"}"\n'
        f'control_socket = "{gate_dir / "gate.sock"}"\n'
        f"{gate_lines}\n{tail}"
    )
    return config


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new))


def run_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NOTIFY_SOCKET", "WATCHDOG_USEC")}
    env["GPIOZERO_PIN_FACTORY"] = "mock"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env | (extra or {})


def gate_run_fails(config: Path) -> tuple[int, str]:
    """Run `gate run -c CONFIG`, which must give up at once: (exit status, stderr)."""
    started = time.monotonic()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "gate", "run", "-c", str(config)],
            capture_output=True,
            text=True,
            timeout=FAILS_WITHIN_S + 10,
            env=run_env(),
            cwd=config.parent,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"gate run -c {config} did not give up: it started")
    took = time.monotonic() - started
    assert took < FAILS_WITHIN_S, f"gate run took {took:.1f} s to give up"
    return done.returncode, done.stderr


def control_socket(config: Path) -> Path:
    return Path(tomllib.loads(config.read_text())["gate"]["control_socket"])


@pytest.fixture
def reader(tag_emulator: TagEmulator) -> str:
    """The nfcpy device path of an emulated band field (no band on it)."""
    return str(tag_emulator.path)


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[socket.socket]:
    """Where systemd would listen for the gate's notifications."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as listener:
        listener.bind(str(tmp_path / "notify"))
        listener.settimeout(60)  # generous: a loaded machine starts a gate slowly
        yield listener


@pytest.fixture
def gate_process(tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen[str]]]:
    """`gate_process(config, env)`: `gate run -c CONFIG` in the background; killed if still
    running after the test. Its stderr (the log) goes to a file in tmp_path."""
    started: list[subprocess.Popen[str]] = []

    def start(config: Path, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
        log = (tmp_path / f"gate-{len(started)}.log").open("w")
        process = processes.spawn(
            [sys.executable, "-m", "gate", "run", "-c", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=log,
            text=True,
            env=run_env(env),
            cwd=config.parent,
        )
        log.close()
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)


def notified(listener: socket.socket) -> str:
    try:
        return listener.recv(4096).decode()
    except TimeoutError:
        pytest.fail("no notification from the gate within 60 s")


def notify_env(listener: socket.socket) -> dict[str, str]:
    return {"NOTIFY_SOCKET": listener.getsockname(), "WATCHDOG_USEC": str(WATCHDOG_USEC)}


# --- configurations that cannot be used ----------------------------------------------------------


BAD_CONFIGS = {
    "unknown-role": (
        lambda config: edit(config, 'role = "entry"', 'role = "turnstile"'),
        ["{config} [gate]: role: ", "'turnstile'"],
    ),
    "unknown-gate-field": (
        lambda config: edit(config, 'id = "E1"', 'id = "E1"\nsite_keys = "/etc/keys"'),
        ["{config} [gate]: site_keys: "],
    ),
    "bad-pin-value": (
        lambda config: edit(config, "[gate]", "[pins]\nrelay = -1\n\n[gate]"),
        ["{profile} (+ overrides in {config}): pins.relay: ", "(got -1)"],
    ),
    "pin-given-twice": (
        lambda config: edit(config, "[gate]", "[pins]\ngreen = 17\n\n[gate]"),
        ["{profile} (+ overrides in {config}): ", "pin 17 is given for both relay and green"],
    ),
    "not-an-nfcpy-path": (
        lambda config: edit(config, "[gate]", '[reader]\ndevice = "/dev/ttyUSB0"\n\n[gate]'),
        ["{profile} (+ overrides in {config}): reader.device: ", "'/dev/ttyUSB0'"],
    ),
    "missing-profile": (
        lambda config: edit(config, 'profile = "profile.toml"', 'profile = "turnstile-pn53"'),
        [f"{PROFILES_DIR / 'turnstile-pn53.toml'}: no such file"],
    ),
    "unknown-section": (
        lambda config: edit(config, "[gate]", '[readers]\ndevice = "usb"\n\n[gate]'),
        ["{config}: [readers]: not a known section: did you mean reader?"],
    ),
    "not-toml": (
        lambda config: edit(config, 'id = "E1"', "id = E1"),
        ["{config}: not valid TOML"],
    ),
    "entry-gate-without-relay": (
        lambda config: edit(config.parent / "profile.toml", "relay = 17\n", ""),
        ["{config}: ", "gate needs a relay pin in its profile"],
    ),
}


@pytest.mark.parametrize("case", BAD_CONFIGS)
def test_a_bad_config_exits_78_at_once_naming_the_file_and_the_field(tmp_path, case):
    config = write_gate(tmp_path, "udp:127.0.0.1:50000")
    spoil, expected = BAD_CONFIGS[case]
    spoil(config)
    status, stderr = gate_run_fails(config)
    assert status == EXIT_CONFIG, stderr
    assert stderr.startswith("gate run: ")
    for text in expected:
        assert text.format(config=config, profile=config.parent / "profile.toml") in stderr
    assert "Traceback" not in stderr


def test_a_missing_profile_is_reported_with_the_gate_toml_field_naming_it(tmp_path):
    config = write_gate(tmp_path, "udp:127.0.0.1:50000")
    edit(config, 'profile = "profile.toml"', 'profile = "turnstile-pn53"')
    status, stderr = gate_run_fails(config)
    assert status == EXIT_CONFIG
    assert str(config) in stderr
    assert re.search(r"\bprofile\b", stderr), stderr  # the field, not the profiles/ dir


def test_a_pin_the_board_does_not_have_exits_78_naming_the_field(tmp_path):
    config = write_gate(tmp_path, "udp:127.0.0.1:50000")
    edit(config, "[gate]", "[pins]\nrelay = 99\n\n[gate]")
    status, stderr = gate_run_fails(config)
    assert (status, "Traceback" in stderr) == (EXIT_CONFIG, False), stderr
    assert "pins.relay" in stderr


def test_a_control_socket_that_cannot_be_made_exits_78_naming_it(tmp_path):
    config = write_gate(tmp_path, "udp:127.0.0.1:50000")
    (config.parent / "run").write_text("a file where the socket's directory should be\n")
    edit(config, '/E1/gate.sock"', '/E1/run/gate.sock"')
    status, stderr = gate_run_fails(config)
    assert (status, "Traceback" in stderr) == (EXIT_CONFIG, False), stderr
    assert str(config.parent / "run") in stderr


def test_a_key_file_others_can_read_is_refused_naming_it_and_its_mode(tmp_path):
    config = write_gate(tmp_path, "udp:127.0.0.1:50000")
    key = tmp_path / "venue" / "site.key"
    key.chmod(0o644)
    status, stderr = gate_run_fails(config)
    assert status == EXIT_CONFIG
    assert f"gate run: cannot start: {key}: mode 0644 " in stderr
    assert f"chmod 600 {key}" in stderr
    assert "5a5a" not in stderr.lower()  # never the key itself


def test_a_missing_policy_file_is_refused(tmp_path):
    config = write_gate(tmp_path, "udp:127.0.0.1:50000")
    policy = tmp_path / "venue" / "policy.toml"
    policy.unlink()
    status, stderr = gate_run_fails(config)
    assert status == EXIT_CONFIG
    assert f"gate run: cannot start: {policy}: no such file" in stderr


def test_a_missing_allowlist_directory_is_refused(tmp_path):
    config = write_gate(tmp_path, "udp:127.0.0.1:50000")
    shutil.rmtree(tmp_path / "venue" / "allowlist")
    status, stderr = gate_run_fails(config)
    assert status == EXIT_CONFIG
    assert f"gate run: cannot start: {tmp_path / 'venue' / 'allowlist'}" in stderr


def test_a_journal_that_is_not_a_database_is_refused(tmp_path):
    config = write_gate(tmp_path, "udp:127.0.0.1:50000")
    journal = config.parent / "state" / "journal.db"
    journal.parent.mkdir()
    journal.write_bytes(b"not a database\n" * 512)
    status, stderr = gate_run_fails(config)
    assert status == EXIT_CONFIG
    assert f"gate run: cannot start: journal {journal}: " in stderr


# --- a good configuration ----------------------------------------------------------------------


def test_a_good_config_starts_and_answers_status(tmp_path, reader, gate_process):
    config = write_gate(tmp_path, reader)
    process = gate_process(config)
    sock = control_socket(config)
    wait_for(lambda: sock.exists() or process.poll() is not None, what="socket")
    assert process.poll() is None, (tmp_path / "gate-0.log").read_text()
    status = wait_for(lambda: ask(str(sock), {"cmd": "status"}), what="status")
    assert (status["gate"], status["role"], status["allowlist_version"]) == ("E1", "entry", 1)


def test_once_ready_is_notified_status_answers(tmp_path, reader, gate_process, notify_socket):
    config = write_gate(tmp_path, reader)
    gate_process(config, notify_env(notify_socket))
    ready = notified(notify_socket)
    assert ready.splitlines()[0] == "READY=1"
    assert ready.splitlines()[1].startswith("STATUS=entry ")
    assert ask(str(control_socket(config)), {"cmd": "status"})["gate"] == "E1"


def test_after_ready_the_watchdog_is_pinged_again_and_again(
    tmp_path, reader, gate_process, notify_socket
):
    gate_process(write_gate(tmp_path, reader), notify_env(notify_socket))
    assert notified(notify_socket).startswith("READY=1\n")
    pings = [notified(notify_socket) for _ in range(5)]
    assert pings == ["WATCHDOG=1"] * 5


def test_watchdog_pings_come_within_the_watchdog_period(
    tmp_path, reader, gate_process, notify_socket
):
    gate_process(write_gate(tmp_path, reader), notify_env(notify_socket))
    assert notified(notify_socket).startswith("READY=1\n")
    notified(notify_socket)
    times = []
    for _ in range(8):
        assert notified(notify_socket) == "WATCHDOG=1"
        times.append(time.monotonic())
    gaps = [later - earlier for earlier, later in pairwise(times)]
    assert max(gaps) <= WATCHDOG_USEC / 1e6, [round(g, 3) for g in gaps]


def test_sigterm_notifies_stopping_exits_0_and_removes_the_socket(
    tmp_path, reader, gate_process, notify_socket
):
    config = write_gate(tmp_path, reader)
    process = gate_process(config, notify_env(notify_socket))
    assert notified(notify_socket).startswith("READY=1\n")
    sock = control_socket(config)
    assert sock.exists()
    process.send_signal(signal.SIGTERM)
    while (message := notified(notify_socket)) == "WATCHDOG=1":
        pass
    assert message == "STOPPING=1"
    assert process.wait(timeout=10) == 0
    assert not sock.exists()
    assert "stopping: SIGTERM" in (tmp_path / "gate-0.log").read_text()


# --- the shipped configurations ------------------------------------------------------------------


def roles_served(profile: Path) -> list[str]:
    """A profile with a relay runs an entry or exit lane; one without, a desk or a handheld."""
    has_relay = "relay" in tomllib.loads(profile.read_text()).get("pins", {})
    return ["entry", "exit"] if has_relay else ["desk", "handheld"]


@pytest.mark.parametrize("profile", sorted(PROFILES_DIR.glob("*.toml")), ids=lambda p: p.stem)
def test_every_shipped_profile_loads_for_the_roles_it_serves(tmp_path, profile):
    for role in roles_served(profile):
        config = tmp_path / f"{role}.toml"
        config.write_text(f'[gate]\nid = "G1"\nrole = "{role}"\nprofile = "{profile.stem}"\n')
        loaded = load_gate_config(config)
        assert loaded.gate.role == role
        assert loaded.hardware.description
        assert loaded.hardware.reader is not None


def example_in(directory: Path) -> Path:
    """gate.toml.example copied to `directory`, its paths pointed there."""
    text = EXAMPLE.read_text()
    for system_dir in ("/etc/wristgate", "/var/lib/wristgate", "/run/wristgate"):
        text = text.replace(f'"{system_dir}', f'"{directory}{system_dir}')
    config = directory / "gate.toml"
    config.write_text(text)
    return config


def test_gate_toml_example_loads_with_the_profile_it_names(tmp_path):
    loaded = load_gate_config(example_in(tmp_path))
    assert (loaded.gate.id, loaded.gate.role, loaded.gate.profile) == (
        "X1",
        "exit",
        "turnstile-pn532",
    )
    assert loaded.gate.site_key == tmp_path / "etc/wristgate/site.key"
    assert loaded.gate.control_socket == tmp_path / "run/wristgate/gate.sock"
    assert loaded.hardware.reader is not None
    assert loaded.hardware.reader.device == "tty:AMA0:pn532"
    assert loaded.hardware.pins.relay == 17


def test_the_overrides_shown_in_gate_toml_example_are_valid(tmp_path):
    config = example_in(tmp_path)
    text = config.read_text()
    shown = text[text.index("# Anything of the profile can be overridden") :]
    overrides = "".join(
        line.removeprefix("# ") + "\n"
        for line in shown.splitlines()[1:]
        if re.match(r"# (\[\w+\]|\w+ = )", line)
    )
    config.write_text(text + "\n" + overrides)
    loaded = load_gate_config(config)
    assert loaded.hardware.reader is not None and loaded.hardware.scanner is not None
    assert loaded.hardware.reader.device == "tty:USB0:pn532"
    assert loaded.hardware.scanner.port == "/dev/ttyUSB1"
    assert loaded.hardware.pins.pulse_s == 0.8


def test_gate_toml_example_shows_every_gate_field():
    example = tomllib.loads(EXAMPLE.read_text())["gate"]
    assert set(example) == set(GateSettings.model_fields)


def test_the_key_line_of_site_key_example_is_in_the_format_the_gate_reads(tmp_path):
    example = (FIRMWARE / "site.key.example").read_text(encoding="utf-8")
    key = tmp_path / "site.key"
    key.write_text("".join(line + "\n" for line in example.splitlines() if line[:1].isdigit()))
    key.chmod(0o600)
    assert repr(load_keyring(key)) == "Keyring(key ids 1; current 1)"


def test_site_key_example_copied_as_is_is_a_valid_key_file(tmp_path):
    key = tmp_path / "site.key"
    shutil.copyfile(FIRMWARE / "site.key.example", key)
    key.chmod(0o600)
    assert repr(load_keyring(key)) == "Keyring(key ids 1; current 1)"


def unit() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(UNIT.read_text())
    return parser


def test_the_unit_runs_gate_run_as_a_notify_service_with_a_watchdog():
    service = unit()["Service"]
    program, *argv = shlex.split(service["ExecStart"])
    assert Path(program).name == "gate"
    args = build_parser().parse_args(argv)
    assert (args.command, args.config) == ("run", Path("/etc/wristgate/gate.toml"))
    assert service["Type"] == "notify"
    assert int(service["WatchdogSec"]) > 0
    assert service["KillSignal"] == "SIGTERM"


def test_the_unit_provides_the_directories_of_the_default_paths():
    service = unit()["Service"]
    defaults = GateSettings(id="G1", role="exit", profile="turnstile-pn532")
    assert defaults.control_socket.parent == Path("/run") / service["RuntimeDirectory"]
    assert defaults.state_dir == Path("/var/lib") / service["StateDirectory"]
    assert defaults.site_key.parent == Path("/etc") / service["ConfigurationDirectory"]
    writable = service["ReadWritePaths"].split()
    assert str(defaults.state_dir) in writable
    assert str(defaults.control_socket.parent) in writable


def test_the_scanner_port_the_profiles_name_is_made_by_the_udev_rules():
    rules = (FIRMWARE / "udev" / "99-wristgate.rules").read_text()
    links = {f"/dev/{name}" for name in re.findall(r'SYMLINK\+="([^"]+)"', rules)}
    ports = {
        data["scanner"]["port"]
        for profile in PROFILES_DIR.glob("*.toml")
        if "scanner" in (data := tomllib.loads(profile.read_text()))
    }
    assert ports
    assert ports <= links
