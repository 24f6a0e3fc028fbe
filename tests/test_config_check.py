"""`gate check` and `hub check`, and configuration errors an operator can act on.

A check lists every problem of a configuration (the file, the field, the value, the fix) and
exits 2, or 0 when there is none; `gate run` and `hub run` refuse the same problems with exit 78
naming the field. Under journald (systemd's `JOURNAL_STREAM`) log lines carry syslog priority
prefixes; on a terminal they are plain.
"""

from __future__ import annotations

import logging
import os
import pty
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Iterator
from pathlib import Path

import processes
import pytest
from gate_rig import GateRig, wait_for, write_venue
from venue_rig import Venue

from deploy.broker_process import free_port
from deploy.install import main as install
from gate.config import ConfigError, load_policy
from gate.control.logs import prefixed, priority
from gate.devices.nfc.udp_ports import free_udp_port
from gate.settings import PROFILES_DIR, load_gate_config, shipped_profiles
from hub.service.config import load_hub_config

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "firmware_configs"
EXIT_CONFIG = 78
RUN_WITHIN_S = 60


def command(*argv: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("JOURNAL_STREAM", "NOTIFY_SOCKET")}
    env["GPIOZERO_PIN_FACTORY"] = "mock"
    return subprocess.run(
        [sys.executable, "-m", *argv],
        capture_output=True,
        text=True,
        timeout=RUN_WITHIN_S,
        env=env | dict(kwargs.pop("env", {})),  # type: ignore[call-overload]
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.fixture
def listening() -> Iterator[int]:
    """A port another program holds on 127.0.0.1."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


def gate_files(root: Path, gate: str = "", link: str = "", profile: str = "") -> Path:
    """A usable gate.toml of an entry gate in `root`, with lines added to its sections."""
    venue = write_venue(root / "venue")
    (root / "profile.toml").write_text(
        f'[reader]\ndevice = "udp:127.0.0.1:{free_udp_port()}"\n[pins]\nrelay = 17\n{profile}'
    )
    config = root / "gate.toml"
    config.write_text(
        f'[gate]\nid = "E1"\nrole = "entry"\nprofile = "profile.toml"\n'
        f'state_dir = "{root / "state"}"\nsite_key = "{venue / "site.key"}"\n'
        f'policy = "{venue / "policy.toml"}"\ncontrol_socket = "{root / "gate.sock"}"\n{gate}'
        + (f"[link]\n{link}" if link else "")
    )
    return config


def hub_files(root: Path, hub: str = "", mqtt: str = "", http: str = "") -> Path:
    venue = write_venue(root / "venue")
    config = root / "hub.toml"
    config.write_text(
        f'[hub]\nstate_dir = "{root / "state"}"\npolicy = "{venue / "policy.toml"}"\n'
        f'control_socket = "{root / "hub.sock"}"\n{hub}'
        f'[mqtt]\nhost = "127.0.0.1"\n{mqtt}'
        f'[http]\nbind = "127.0.0.1"\n{http or f"port = {free_port()}"}\n'
    )
    return config


# --- the shipped examples, on a machine the installer made ----------------------------------


@pytest.mark.parametrize("role", ["gate", "hub"])
def test_the_shipped_example_checks_clean_on_an_installed_machine(tmp_path, capsys, role):
    root = tmp_path / "root"
    args = ["--gate-id", "X1", "--role", "exit", "--profile", "turnstile-pn532"]
    assert (
        install([role, *(args if role == "gate" else ["--plain-mqtt"]), "--root", str(root)]) == 0
    )
    capsys.readouterr()
    installed = root / f"etc/wristgate/{role}.toml"
    for config in (installed, root / f"etc/wristgate/{role}.example.toml"):
        if config.name.endswith("example.toml"):
            shutil.copyfile(EXAMPLES / f"{role}.toml.example", config)
        done = command(role, "check", "-c", str(config), "--root", str(root))
        assert (done.returncode, done.stderr) == (0, ""), done.stdout
        assert "no problems: ready to start" in done.stdout
        assert "not asked (--root)" in done.stdout  # this machine's ports say nothing of the image


# --- every problem at once --------------------------------------------------------------------


def test_a_broken_gate_toml_lists_every_problem_and_exits_2(tmp_path):
    config = gate_files(
        tmp_path,
        gate="metrics_port = true\n[pin]\nrelay = 17\n",
        link=f'password_file = "{tmp_path / "X1.password"}"\n',
        profile='green = "GPIO40"\n',
    )
    policy = tmp_path / "venue" / "policy.toml"
    policy.write_text(policy.read_text().replace('open = "00:00"', 'open = "9:00"'))
    (tmp_path / "venue" / "site.key").unlink()
    done = command("gate", "check", "-c", str(config))
    assert done.returncode == 2, done.stdout + done.stderr
    for expected in (
        f"{config}: [pin]: not a known section: did you mean pins?",
        f"{config} [gate]: metrics_port: not a whole number (got True)",
        f"{tmp_path / 'profile.toml'} (+ overrides in {config}): pins.green: not a GPIO of the "
        "Raspberry Pi (got 'GPIO40'): use a GPIO of the 40-pin header: 0 to 27",
        f"{config} [gate] site_key = '{tmp_path / 'venue' / 'site.key'}': no such file",
        f"{config} [gate] policy: {policy}: open: not a time (got '9:00'): write HH:MM, like 09:00",
    ):
        assert expected in done.stdout, done.stdout
    assert "5 problems: fix them, then check again before restarting" in done.stdout


def test_a_broken_hub_toml_lists_every_problem_and_exits_2(tmp_path):
    config = tmp_path / "hub.toml"
    config.write_text(
        '[htpp]\nport = 8080\n[mqtt]\nport = "1883"\npassword = "hunter2-battery"\n'
        '[gates]\nE1 = "entrance"\n'
    )
    done = command("hub", "check", "-c", str(config))
    assert done.returncode == 2, done.stdout + done.stderr
    for expected in (
        f"{config}: [htpp]: not a known section: did you mean http?",
        f"{config}: mqtt.port: not a whole number (got '1883'): write digits without quotes",
        f"{config}: mqtt.password: not a known field: did you mean password_file?",
        f"{config}: gates.E1: Input should be 'entry', 'exit', 'desk' or 'handheld'",
    ):
        assert expected in done.stdout, done.stdout
    assert "hunter2" not in done.stdout  # a secret in the wrong field is never shown


def test_the_files_a_hub_toml_names_are_each_checked(tmp_path, listening):
    secret = tmp_path / "hub.password"
    config = hub_files(
        tmp_path,
        hub=f'allowlist_csv = "{tmp_path / "tickets"}"\n',
        mqtt=f'password_file = "{secret}"\n',
        http=f'port = {listening}\nstaff_token_file = "{tmp_path / "staff.token"}"\n',
    )
    done = command("hub", "check", "-c", str(config))
    assert done.returncode == 2, done.stdout + done.stderr
    for expected in (
        f"[hub] allowlist_csv = '{tmp_path / 'tickets'}': no such directory",
        f"[mqtt] password_file = '{secret}': no such file: create it, or correct the path",
        f"[http] staff_token_file = '{tmp_path / 'staff.token'}': no such file",
        f"[http] port = {listening}: port {listening} on 127.0.0.1 is in use by another program: "
        "stop it, or choose another [http] port",
    ):
        assert f"{config} {expected}" in done.stdout, done.stdout
    assert "4 problems" in done.stdout


def test_a_file_the_service_user_cannot_read_is_named_with_the_fix(tmp_path):
    where = Path(tempfile.mkdtemp(prefix="wristgate-check-"))
    try:
        where.chmod(0o755)
        secret = where / "E1.password"
        secret.write_text("not shown\n")
        secret.chmod(0o600)
        config = gate_files(where, link=f'password_file = "{secret}"\n')
        (where / "venue").chmod(0o755)
        (where / "venue" / "policy.toml").chmod(0o644)
        done = command("gate", "check", "-c", str(config), "--user", "nobody")
    finally:
        shutil.rmtree(where)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "checked as user nobody" in done.stdout
    assert (
        f"{config} [link] password_file = '{secret}': user nobody cannot read it (mode 0600 "
        in done.stdout
    ), done.stdout
    assert f"chown nobody:nobody {secret} && chmod 600 {secret}" in done.stdout
    assert "not shown" not in done.stdout
    assert f"{config} [gate] policy" not in done.stdout  # 0644: the user reads it


def test_a_running_hub_holds_its_port_and_the_check_says_so(tmp_path, fresh_broker):
    venue = Venue(tmp_path, fresh_broker())
    try:
        venue.start_hub()
        config = tmp_path / "hub" / "hub.toml"
        done = command("hub", "check", "-c", str(config))
    finally:
        venue.close()
    assert (done.returncode, done.stderr) == (0, ""), done.stdout
    assert f"port = {venue.http_port}: in use by the running hub (freed when it stops)" in (
        done.stdout
    )


# --- each message names the file, the field, the valid choices and the fix --------------------


def refused(load, path: Path) -> str:
    with pytest.raises(ConfigError) as error:
        load(path)
    return str(error.value)


def test_an_unknown_profile_lists_the_shipped_ones(tmp_path):
    config = gate_files(tmp_path)
    config.write_text(config.read_text().replace('"profile.toml"', '"turnstile-pn53"'))
    message = refused(load_gate_config, config)
    assert f"{config} [gate] profile = 'turnstile-pn53': " in message
    assert f"{PROFILES_DIR / 'turnstile-pn53.toml'}: no such file" in message
    assert "turnstile-pn532" in shipped_profiles()
    assert f"the shipped profiles are {', '.join(shipped_profiles())}" in message


@pytest.mark.parametrize("pin", ["99", "-1", "true", '"GPIO28"', '"BOARD1"', '"pin7"'])
def test_a_pin_the_board_does_not_have_names_the_profile_and_the_valid_range(tmp_path, pin):
    config = gate_files(tmp_path, profile=f"buzzer = {pin}\n")
    message = refused(load_gate_config, config)
    assert message.startswith(f"{tmp_path / 'profile.toml'} (+ overrides in {config}): ")
    shown = repr(tomllib.loads(f"v = {pin}")["v"])
    assert "pins.buzzer: " in message and f"(got {shown})" in message
    assert '0 to 27 (BCM numbers, like 17 or "GPIO17"), or "BOARD11"' in message


@pytest.mark.parametrize("pin", ["0", "27", '"GPIO4"', '"BCM27"', '"BOARD40"', '"J8:11"'])
def test_every_gpio_of_the_header_is_taken(tmp_path, pin):
    config = gate_files(tmp_path, profile=f"buzzer = {pin}\n")
    assert load_gate_config(config).hardware.pins.buzzer == pin.strip('"') or pin.isdigit()


def test_a_section_typo_names_the_section_meant_without_showing_what_it_holds(tmp_path):
    config = hub_files(tmp_path)
    config.write_text(config.read_text() + '[mqqt]\npassword = "hunter2-battery"\n')
    message = refused(load_hub_config, config)
    assert message == (
        f"{config}: [mqqt]: not a known section: did you mean mqtt? remove or rename it "
        "(sections: hub, mqtt, http, notify, gates, hq)"
    )


@pytest.mark.parametrize("value", ['"9:00"', '"9am"', "900", '"25:00"'])
def test_a_time_that_is_not_hh_mm_says_the_format(tmp_path, value):
    policy = tmp_path / "policy.toml"
    policy.write_text(f'timezone = "UTC"\nopen = {value}\nclose = "18:00"\ncapacity = 10\n')
    message = refused(load_policy, policy)
    assert message.startswith(f"{policy}: open: not a time (got ")
    assert "write HH:MM" in message and "09:00" in message


@pytest.mark.parametrize(
    ("section", "line", "expected"),
    [
        ("gate", 'id = "gate one"', "id: not a name (got 'gate one'): write 1 to 32 letters"),
        ("gate", "passage_timeout_s = true", "passage_timeout_s: not a number (got True)"),
        ("gate", 'state_dir = ["a"]', "state_dir: not a path (got ['a']): write the path in"),
        ("gate", "presence_max_mib = 1", "presence_max_mib: Input should be greater than or eq"),
        (
            "gate",
            "test_scans_open_pairing = 1",
            "test_scans_open_pairing: not true or false (got 1)",
        ),
        ("gate", "metrics_prot = 9101", "metrics_prot: not a known field: did you mean metric"),
    ],
)
def test_a_bad_gate_field_names_the_field_the_value_and_the_fix(tmp_path, section, line, expected):
    config = gate_files(tmp_path)
    key = line.split(" = ")[0]
    kept = [old for old in config.read_text().splitlines() if not old.startswith(f"{key} = ")]
    config.write_text("\n".join([*kept, line, ""]))
    assert f"{config} [{section}]: {expected}" in refused(load_gate_config, config)


# --- the daemons refuse the same, naming the field, with their config status ----------------


def test_gate_run_with_a_missing_password_file_exits_78_naming_the_field(tmp_path):
    secret = tmp_path / "passwords" / "E1.password"
    config = gate_files(tmp_path, link=f'host = "127.0.0.1"\npassword_file = "{secret}"\n')
    done = command("gate", "run", "-c", str(config))
    assert done.returncode == EXIT_CONFIG, done.stderr
    assert (
        f"gate run: {config} [link] password_file = '{secret}': no such file: create it, or "
        "correct the path" in done.stderr
    )
    assert "Traceback" not in done.stderr and "Errno" not in done.stderr


def test_gate_run_with_its_metrics_port_in_use_exits_78_naming_port_and_field(tmp_path, listening):
    config = gate_files(tmp_path, gate=f'metrics_bind = "127.0.0.1"\nmetrics_port = {listening}\n')
    done = command("gate", "run", "-c", str(config))
    assert done.returncode == EXIT_CONFIG, done.stderr
    assert (
        f"gate run: {config} [gate] metrics_port = {listening}: port {listening} on 127.0.0.1 "
        "is in use by another program: stop it, or choose another metrics_port" in done.stderr
    )


def test_hub_run_with_its_port_in_use_or_no_password_file_exits_78_naming_them(tmp_path, listening):
    secret = tmp_path / "hub.password"
    config = hub_files(tmp_path, mqtt=f'password_file = "{secret}"\n', http=f"port = {listening}")
    done = command("hub", "-c", str(config), "run")
    assert done.returncode == EXIT_CONFIG, done.stderr
    assert f"hub run: {config} [mqtt] password_file = '{secret}': no such file" in done.stderr
    assert (
        f"hub run: {config} [http] port = {listening}: port {listening} on 127.0.0.1 is in use"
        in (done.stderr)
    )
    assert "Traceback" not in done.stderr


def test_check_on_a_good_config_says_the_port_is_free_and_exits_0(tmp_path):
    config = gate_files(
        tmp_path, gate=f'metrics_bind = "127.0.0.1"\nmetrics_port = {free_port()}\n'
    )
    done = command("gate", "check", "-c", str(config))
    assert (done.returncode, done.stderr) == (0, ""), done.stdout
    assert ": free on 127.0.0.1" in done.stdout


# --- syslog priorities under journald, plain lines on a terminal ------------------------------


def test_the_priorities_are_syslogs():
    assert [priority(level) for level in (50, 40, 30, 20, 10)] == [2, 3, 4, 6, 7]
    assert prefixed("one\ntwo", logging.WARNING) == "<4>one\n<4>two"


def journal_stream(path: Path) -> tuple[object, dict[str, str]]:
    """A file standing for journald's stream, and the JOURNAL_STREAM systemd would set for it."""
    stream = path.open("w")
    st = os.fstat(stream.fileno())
    return stream, {"JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}"}


@pytest.mark.parametrize("daemon", ["gate", "hub"])
def test_a_config_error_under_journald_is_logged_as_an_error(tmp_path, daemon):
    config = tmp_path / f"{daemon}.toml"
    config.write_text("[gate]\nid = E1\n" if daemon == "gate" else "[htpp]\n")
    stream, env = journal_stream(tmp_path / "journal")
    argv = (
        ["gate", "run", "-c", str(config)]
        if daemon == "gate"
        else ["hub", "-c", str(config), "run"]
    )
    with stream:
        done = subprocess.run(
            [sys.executable, "-m", *argv], stderr=stream, timeout=RUN_WITHIN_S, env=os.environ | env
        )
    logged = (tmp_path / "journal").read_text()
    assert done.returncode == EXIT_CONFIG, logged
    assert logged.startswith(f"<3>{daemon} run: {config}"), logged


def test_a_running_gate_logs_with_priorities_under_journald_and_plain_on_a_terminal(tmp_path):
    rig = GateRig(tmp_path, "E1", "entry", scanner=False)
    logs = {}
    try:
        for where in ("journal", "terminal"):
            env = {k: v for k, v in os.environ.items() if k != "NOTIFY_SOCKET"}
            env["GPIOZERO_PIN_FACTORY"] = "mock"
            if where == "journal":
                stream, extra = journal_stream(tmp_path / "journal")
                env |= extra
                out = stream.fileno()
                master = -1
            else:  # a technician's terminal, in a shell systemd started (JOURNAL_STREAM inherited)
                env["JOURNAL_STREAM"] = "1:1"
                master, out = pty.openpty()
            seen = bytearray()

            def logged(where: str = where, master: int = master, seen: bytearray = seen) -> str:
                if where == "journal":
                    return (tmp_path / "journal").read_text()
                while select.select([master], [], [], 0)[0]:
                    seen.extend(os.read(master, 65536))
                return seen.decode(errors="replace").replace("\r\n", "\n")

            process = processes.spawn(
                [sys.executable, "-m", "gate", "run", "-c", str(rig.config)], stderr=out, env=env
            )
            try:
                wait_for(lambda: " ready: " in logged(), timeout=30, what="the gate ready")
                process.send_signal(signal.SIGTERM)
                assert process.wait(timeout=30) == 0, logged()
                wait_for(lambda: " stopped" in logged(), what="the gate stopped")
                logs[where] = logged()
            finally:
                if process.poll() is None:
                    process.kill()
                if where == "journal":
                    stream.close()
                else:
                    os.close(out)
                    os.close(master)
    finally:
        rig.close()
    journal = [line for line in logs["journal"].splitlines() if line]
    ready = "INFO gate: gate E1 (entry) ready"
    assert any(line.startswith(f"<6>{ready}") for line in journal), journal
    assert all(line[:3] in ("<2>", "<3>", "<4>", "<6>", "<7>") for line in journal), journal
    terminal = [line for line in logs["terminal"].splitlines() if line]
    assert any(line.startswith(ready) for line in terminal), terminal
    assert not any(line.startswith("<") for line in terminal), terminal


def test_a_running_hub_logs_with_priorities_under_journald(tmp_path):
    config = hub_files(tmp_path, mqtt=f"port = {free_port()}\n")  # no broker there: it warns
    stream, env = journal_stream(tmp_path / "journal")
    journal = tmp_path / "journal"
    with stream:
        process = processes.spawn(
            [sys.executable, "-m", "hub", "-c", str(config), "run"],
            stderr=stream,
            env={k: v for k, v in os.environ.items() if k != "NOTIFY_SOCKET"} | env,
        )
        try:
            wait_for(lambda: "hub running" in journal.read_text(), timeout=30, what="hub up")
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=30) == 0, journal.read_text()
        finally:
            if process.poll() is None:
                process.kill()
    lines = [line for line in journal.read_text().splitlines() if line]
    assert any(line.startswith("<6>INFO hub") and "hub running" in line for line in lines), lines
    assert any(line.startswith("<4>WARNING hub: ") for line in lines), lines  # -p warning finds it
    assert all(line[:3] in ("<2>", "<3>", "<4>", "<6>", "<7>") for line in lines), lines


def test_a_running_gate_holds_its_metrics_port_and_the_check_says_so(tmp_path):
    port = free_port()
    rig = GateRig(
        tmp_path, "E1", "entry", extra=f'metrics_bind = "127.0.0.1"\nmetrics_port = {port}\n'
    )
    try:
        rig.start()
        done = command("gate", "check", "-c", str(rig.config))
    finally:
        rig.close()
    assert (done.returncode, done.stderr) == (0, ""), done.stdout
    assert f"metrics_port = {port}: in use by the running gate (freed when it stops)" in done.stdout
