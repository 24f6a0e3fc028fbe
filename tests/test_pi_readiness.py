"""Ready for a Raspberry Pi 3, 4 or 5: the pins through lgpio under the hardened unit, and the
readers' and scanners' device permissions.

What is checked here, on a machine with no GPIO: the unit, the udev rules and the profiles
agree (each device class the rules or profiles name is allowed, each group they give is the
service user's, nothing else is allowed); lgpio is a dependency where the gate runs; the real
lgpio library, loaded by a real `gate run`, needs the writable working directory the unit gives
it and then goes as far as opening /dev/gpiochip0; the backend is chosen from the profile, the
environment or the tests, and a missing or refused one is said with what to do. Nothing here
ran on a Pi: docs/install.md says what was and was not tried on hardware.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from gate_rig import PINS, write_venue
from gpiozero.pins.mock import MockFactory
from packaging.requirements import Requirement

from gate.config import ConfigError
from gate.devices.gpio.backend import PinBackendError, chosen, open_pin_backend
from gate.devices.gpio.pins import GatePins
from gate.devices.nfc.udp_ports import free_udp_port
from gate.settings import PROFILES_DIR, load_gate_config

REPO = Path(__file__).resolve().parent.parent
UNIT = REPO / "systemd" / "gate.service"
RULES = REPO / "firmware_configs" / "udev" / "99-wristgate.rules"
HAS_LGPIO = importlib.util.find_spec("lgpio") is not None  # find_spec: no import, no pipe

# The Pi's own UARTs, which Raspberry Pi OS's rules give to dialout: ttyAMA (the turnstile's
# PN532, /dev/ttyAMA0), ttyS (a Pi 3 or 4's mini UART, /dev/serial0 while Bluetooth keeps the
# other).
PI_OS_UARTS = {"ttyAMA": "dialout", "ttyS": "dialout"}


def service() -> dict[str, list[str]]:
    """The unit's [Service] directives, each with every value it is given, in order."""
    values: dict[str, list[str]] = {}
    section = ""
    for raw in UNIT.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line
            continue
        key, _, value = line.partition("=")
        if section == "[Service]":
            values.setdefault(key.strip(), []).append(value.strip())
    return values


def device_allow() -> dict[str, str]:
    """DeviceAllow= of the unit: device class (`char-` dropped) -> access."""
    allowed = {}
    for value in service()["DeviceAllow"]:
        device, access = value.split()
        assert device.startswith("char-"), f"DeviceAllow={value}: a path, not a device class"
        allowed[device.removeprefix("char-")] = access
    return allowed


def user_groups() -> set[str]:
    s = service()
    return {*s["Group"], *" ".join(s.get("SupplementaryGroups", [])).split()}


def udev_rules() -> list[dict[str, str]]:
    """Each rule of 99-wristgate.rules as its matches and assignments, keys as written."""
    rules = []
    for raw in RULES.read_text().splitlines():
        if raw.strip() and not raw.lstrip().startswith("#"):
            pairs = re.findall(r'([A-Za-z_]+(?:\{[^}]+\})?)\s*[=!+:]?=\s*"([^"]*)"', raw)
            rules.append(dict(pairs))
    return rules


def device_class(rule: dict[str, str]) -> str:
    """The kernel's device class of the node a rule matches (what DeviceAllow= names)."""
    if rule["SUBSYSTEM"] == "usb":
        assert rule.get("ENV{DEVTYPE}") == "usb_device", f"{rule}: not the device node alone"
        return "usb_device"
    kernel = rule.get("KERNEL", "")
    assert kernel.endswith("*"), f"{rule}: names no kernel device (KERNEL==)"
    return kernel.removesuffix("*")


def test_each_device_the_udev_rules_name_is_allowed_to_the_unit_and_its_group_is_the_users():
    allowed, groups = device_allow(), user_groups()
    for rule in udev_rules():
        cls = device_class(rule)
        assert allowed.get(cls) == "rw", f"{rule}: the unit does not allow char-{cls} rw"
        assert rule["GROUP"] in groups, f"{rule}: group {rule['GROUP']} is not the service's"
        assert rule["MODE"] == "0660", f"{rule}: the owner and the group only"


def test_the_unit_allows_the_pins_through_gpiochip_and_nothing_the_rules_do_not_explain():
    allowed = set(device_allow())
    from_rules = {device_class(rule) for rule in udev_rules()}
    assert "gpiochip" in from_rules  # lgpio's one device: given to gpio by our rules
    assert allowed == from_rules | set(PI_OS_UARTS)
    assert not {c for c in allowed if "mem" in c}  # no /dev/gpiomem, /dev/mem: no other backend
    assert {"gpio", "dialout"} <= user_groups()
    assert service()["DevicePolicy"] == ["closed"]


def test_lgpio_gets_the_one_writable_directory_of_the_unit_as_its_working_directory():
    s = service()
    runtime = f"/run/{s['RuntimeDirectory'][0]}"
    assert s["WorkingDirectory"] == [runtime]
    assert f"LG_WD={runtime}" in s["Environment"]
    assert runtime in " ".join(s["ReadWritePaths"]).split()
    assert s["ProtectSystem"] == ["strict"]  # which is why / will not do


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze here")
def test_the_system_calls_lgpio_makes_pass_the_units_filter():
    # its notification pipe (mknodat), the chip's line requests and events (ioctl)
    s = service()
    allowed, removed = set(), set()
    for value in s["SystemCallFilter"]:
        target = removed if value.startswith("~") else allowed
        for name in value.removeprefix("~").split():
            target |= _syscalls(name)
    for call in ("mknodat", "ioctl", "openat", "chdir", "read", "poll"):
        assert call in allowed - removed, f"the unit's SystemCallFilter refuses {call}"


def _syscalls(name: str) -> set[str]:
    if not name.startswith("@"):
        return {name}
    listed = subprocess.run(
        ["systemd-analyze", "syscall-filter", name],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout
    calls: set[str] = set()
    for line in listed.splitlines()[1:]:
        item = line.strip()
        if item and not item.startswith("#"):
            calls |= _syscalls(item)
    return calls


def test_every_shipped_profile_drives_its_pins_with_lgpio_through_allowed_devices():
    allowed, groups = device_allow(), user_groups()
    rules = udev_rules()
    links = {f"/dev/{r['SYMLINK']}": r for r in rules if "SYMLINK" in r}
    for profile in sorted(PROFILES_DIR.glob("*.toml")):
        data = tomllib.loads(profile.read_text())
        assert data["pins"]["backend"] == "lgpio", profile.name
        reader = data.get("reader", {}).get("device", "")
        if reader.startswith("usb"):  # an ACR122U or another libusb reader
            assert "usb_device" in allowed
            assert any(device_class(r) == "usb_device" for r in rules), profile.name
        elif reader.startswith("tty:"):
            node = "tty" + reader.split(":")[1]  # nfcpy's tty:AMA0 is /dev/ttyAMA0
            cls = next(c for c in allowed if node.startswith(c) and node[len(c) :].isdigit())
            assert PI_OS_UARTS.get(cls, "dialout") in groups, profile.name
        if "scanner" in data:
            rule = links[data["scanner"]["port"]]
            assert device_class(rule) in allowed, profile.name


def test_lgpio_is_installed_where_the_gate_runs_and_not_needed_elsewhere():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    lgpio = next(Requirement(d) for d in project["dependencies"] if Requirement(d).name == "lgpio")
    assert lgpio.marker is not None
    for machine, wanted in (("aarch64", True), ("armv7l", True), ("x86_64", False)):
        env = {"platform_system": "Linux", "platform_machine": machine}
        assert lgpio.marker.evaluate(env) is wanted, machine


# --- choosing the backend --------------------------------------------------------------------


def test_a_pi_profile_chooses_lgpio_and_the_environment_or_gate_toml_chooses_mock():
    assert chosen(GatePins(), {})[0] == "lgpio"  # the default
    assert chosen(GatePins(backend="mock"), {})[0] == "mock"
    name, where = chosen(GatePins(backend="lgpio"), {"GPIOZERO_PIN_FACTORY": "mock"})
    assert (name, where) == ("mock", "GPIOZERO_PIN_FACTORY='mock'")
    assert isinstance(open_pin_backend(GatePins(backend="mock"), {}), MockFactory)


@pytest.mark.parametrize("backend", ["native", "rpigpio", "pigpio"])
def test_a_backend_the_unit_cannot_serve_is_refused_with_the_reason(backend):
    with pytest.raises(PinBackendError, match="/dev/gpiomem"):
        chosen(GatePins(), {"GPIOZERO_PIN_FACTORY": backend})


def test_a_profile_naming_another_backend_is_refused_naming_the_field(tmp_path):
    config = _gate_toml(tmp_path, pins='backend = "native"\n')
    with pytest.raises(ConfigError, match="backend"):
        load_gate_config(config)


def test_lgpio_missing_is_said_with_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "lgpio", None)  # as if not installed: import fails
    monkeypatch.delitem(sys.modules, "gpiozero.pins.lgpio", raising=False)
    with pytest.raises(PinBackendError) as missing:
        open_pin_backend(GatePins(backend="lgpio"), {})
    assert "lgpio package is not installed" in str(missing.value)
    assert "pip install lgpio" in str(missing.value)
    assert "./scripts/bootstrap" in str(missing.value)


# --- the real lgpio, loaded by a real `gate run` --------------------------------------------


def _gate_toml(root: Path, pins: str = "") -> Path:
    venue = write_venue(root / "venue")
    profile = root / "profile.toml"
    wired = "".join(f"{name} = {pin}\n" for name, pin in PINS.items())
    reader = f"udp:127.0.0.1:{free_udp_port()}"
    profile.write_text(f'[reader]\ndevice = "{reader}"\n\n[pins]\n{pins}{wired}')
    config = root / "gate.toml"
    config.write_text(
        f'[gate]\nid = "E1"\nrole = "entry"\nprofile = "{profile}"\n'
        f'state_dir = "{root / "state"}"\nsite_key = "{venue / "site.key"}"\n'
        f'policy = "{venue / "policy.toml"}"\nallowlist_csv = "{venue / "allowlist"}"\n'
        f'control_socket = "{root / "gate.sock"}"\n'
    )
    return config


def _gate_run(config: Path, cwd: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in ("GPIOZERO_PIN_FACTORY", "LG_WD")}
    clean["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), clean.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "gate", "run", "-c", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        env=clean | env,
    )


@pytest.mark.skipif(not HAS_LGPIO, reason="lgpio is not installed here")
def test_lgpio_in_a_read_only_working_directory_stops_the_gate_saying_where(tmp_path):
    # /proc takes no pipe even from root: as / under ProtectSystem=strict
    done = _gate_run(_gate_toml(tmp_path), cwd="/proc")
    assert done.returncode == 78, done.stderr
    assert "cannot make its notification pipe in /proc" in done.stderr
    assert "WorkingDirectory=" in done.stderr


@pytest.mark.skipif(not HAS_LGPIO, reason="lgpio is not installed here")
@pytest.mark.skipif(Path("/dev/gpiochip0").exists(), reason="a machine with GPIO: not this test")
def test_lgpio_given_its_directory_goes_as_far_as_the_gpiochip(tmp_path):
    work = tmp_path / "run"
    work.mkdir()
    done = _gate_run(_gate_toml(tmp_path, pins="chip = 0\n"), cwd="/proc", LG_WD=str(work))
    assert done.returncode == 78, done.stderr
    assert "pin backend lgpio: cannot open /dev/gpiochip0" in done.stderr
    assert "char-gpiochip" in done.stderr
    assert list(work.glob(".lgd-nfy*")), "lgpio made no pipe in LG_WD"
