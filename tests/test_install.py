"""scripts/install-gate and scripts/install-hub, run into scratch roots that look like a fresh
Raspberry Pi OS: what they create and with which modes, the owners they record, that the gate and
the hub load what was written, and that a second run changes nothing at all.

The scripts run as subprocesses with fake useradd, groupadd, usermod, systemctl, udevadm and chown
first on PATH: any call to them would be logged, and the tests check none was made. One test
installs for real, without --root, inside a private mount namespace (as root; skipped elsewhere).
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import processes
import pytest

from deploy import install, install_broker
from deploy.broker import BrokerUnavailable, TlsListener, find_program, render_config, write_acl
from deploy.config_files import Keys, set_keys
from deploy.tls import new_ca
from gate.config import load_policy
from gate.devices.nfc.token import load_keyring
from gate.settings import load_gate_config
from gate.store.allowlist.csvdir import load_csv_dir
from hub.service.config import load_hub_config
from hub.views.web.server import read_token

REPO = Path(__file__).resolve().parent.parent
INSTALL_GATE = REPO / "scripts" / "install-gate"
INSTALL_HUB = REPO / "scripts" / "install-hub"
GATE_ARGS = ("--gate-id", "X1", "--role", "exit", "--profile", "turnstile-pn532")
GATES = ("E1", "E2", "X1", "X2", "D1", "H1")
HUB_ARGS = ("--gates", ",".join(GATES), "--bind-address", "192.168.50.1")
ROLES = {"E1": "entry", "E2": "entry", "X1": "exit", "X2": "exit", "D1": "desk", "H1": "handheld"}
HOST_TOOLS = ("useradd", "groupadd", "usermod", "gpasswd", "systemctl", "udevadm", "chown")

# What a fresh Raspberry Pi OS (bookworm) has, as far as the installers care.
STOCK = {
    "etc/passwd": (
        "root:x:0:0:root:/root:/bin/bash\n"
        "mosquitto:x:102:105::/var/lib/mosquitto:/usr/sbin/nologin\n"
        "pi:x:1000:1000:,,,:/home/pi:/bin/bash\n",
        0o644,
    ),
    "etc/group": (
        "root:x:0:\ndialout:x:20:pi\nmosquitto:x:105:\ngpio:x:997:pi\npi:x:1000:\n",
        0o644,
    ),
    "etc/shadow": ("root:*:19700:0:99999:7:::\npi:$y$j9T$x:19700:0:99999:7:::\n", 0o640),
    "etc/gshadow": ("root:*::\ndialout:*::pi\nmosquitto:!::\ngpio:!::pi\npi:!::\n", 0o640),
    "etc/mosquitto/mosquitto.conf": (
        "# Place your local configuration in /etc/mosquitto/conf.d/\n"
        "persistence true\npersistence_location /var/lib/mosquitto/\n"
        "log_dest file /var/log/mosquitto/mosquitto.log\ninclude_dir /etc/mosquitto/conf.d\n",
        0o644,
    ),
    "boot/firmware/config.txt": ("[all]\ndtparam=audio=on\n", 0o755),
    "boot/firmware/cmdline.txt": ("console=serial0,115200 console=tty1 root=PARTUUID=1\n", 0o755),
}


def stock_root(path: Path) -> Path:
    for name, (text, mode) in STOCK.items():
        f = path / name
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(text)
        f.chmod(mode)
    zoneinfo = path / "etc" / "localtime"
    zoneinfo.symlink_to("/usr/share/zoneinfo/Europe/Berlin")
    return path


@dataclass
class Run:
    code: int
    out: str
    err: str


class Host:
    """Runs the scripts with every host-changing tool replaced by a logger."""

    def __init__(self, workdir: Path) -> None:
        self.bin = workdir / "fake-bin"
        self.bin.mkdir(parents=True)
        self.log = workdir / "host-calls.log"
        for tool in HOST_TOOLS:
            fake = self.bin / tool
            fake.write_text(f'#!/bin/sh\necho "{tool} $*" >> "{self.log}"\nexit 1\n')
            fake.chmod(0o755)

    def run(self, script: Path, root: Path, *args: str) -> Run:
        env = {**os.environ, "PATH": f"{self.bin}:{os.environ['PATH']}"}
        done = subprocess.run(
            [str(script), "--root", str(root), *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )
        return Run(done.returncode, done.stdout, done.stderr)

    def ok(self, script: Path, root: Path, *args: str) -> Run:
        result = self.run(script, root, *args)
        assert result.code == 0, result.err + result.out
        return result

    def calls(self) -> str:
        return self.log.read_text() if self.log.exists() else ""


def snapshot(root: Path) -> dict[str, tuple[str, str]]:
    """Every path under root: its type and mode, and its content's checksum (or link target)."""
    found = {}
    for path in sorted(root.rglob("*")):
        st = path.lstat()
        if stat.S_ISLNK(st.st_mode):
            what = f"-> {os.readlink(path)}"
        elif stat.S_ISREG(st.st_mode):
            what = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            what = "dir"
        found[str(path.relative_to(root))] = (stat.filemode(st.st_mode), what)
    return found


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def db(root: Path, name: str) -> dict[str, list[str]]:
    rows = (root / "etc" / name).read_text().splitlines()
    return {r.split(":")[0]: r.split(":") for r in rows}


def unit(path: Path) -> dict[str, dict[str, list[str]]]:
    """A systemd unit: section -> key -> values, in order (keys may repeat)."""
    parsed: dict[str, dict[str, list[str]]] = {}
    section = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            parsed[section] = {}
            continue
        key, sep, value = line.partition("=")
        assert sep, f"{path}: not KEY=VALUE: {raw!r}"
        parsed[section].setdefault(key.strip(), []).append(value.strip())
    return parsed


def manifest(root: Path, name: str) -> dict[str, tuple[int, str]]:
    lines = (root / "etc/wristgate" / name).read_text().splitlines()
    entries = [line.split(" ", 2) for line in lines if not line.startswith("#")]
    return {path: (int(m, 8), owner) for m, owner, path in entries}


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Host]:
    h = Host(tmp_path_factory.mktemp("host"))
    yield h
    assert h.calls() == "", "an install into a root called a host tool"


@dataclass
class Installed:
    root: Path
    first: Run
    second: Run
    before: dict[str, tuple[str, str]]
    after: dict[str, tuple[str, str]]


def install_twice(host: Host, script: Path, root: Path, *args: str) -> Installed:
    first = host.ok(script, root, *args)
    before = snapshot(root)
    second = host.ok(script, root, *args)
    return Installed(root, first, second, before, snapshot(root))


@pytest.fixture(scope="module")
def venue_ca(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venue CA certificate, as install-hub makes it (its key thrown away)."""
    path = tmp_path_factory.mktemp("ca") / "ca.crt"
    path.write_bytes(new_ca("test venue")[0])
    return path


@pytest.fixture(scope="module")
def broker_args(venue_ca: Path) -> tuple[str, ...]:
    """The hub's broker across the network, over TLS with the venue CA (port 8883)."""
    return ("--broker", "192.168.50.1", "--ca", str(venue_ca))


@pytest.fixture(scope="module")
def gate(
    host: Host, tmp_path_factory: pytest.TempPathFactory, broker_args: tuple[str, ...]
) -> Installed:
    root = stock_root(tmp_path_factory.mktemp("gate") / "root")
    return install_twice(host, INSTALL_GATE, root, *GATE_ARGS, *broker_args)


@pytest.fixture(scope="module")
def hub(host: Host, tmp_path_factory: pytest.TempPathFactory) -> Installed:
    root = stock_root(tmp_path_factory.mktemp("hub") / "root")
    return install_twice(host, INSTALL_HUB, root, *HUB_ARGS)


HARDENING = {
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "ProtectKernelTunables": "yes",
    "ProtectKernelModules": "yes",
    "ProtectControlGroups": "yes",
    "RestrictNamespaces": "yes",
    "RestrictSUIDSGID": "yes",
    "LockPersonality": "yes",
    "MemoryDenyWriteExecute": "yes",
    "SystemCallArchitectures": "native",
    "CapabilityBoundingSet": "",
    "AmbientCapabilities": "",
}


def assert_hardened(service: dict[str, list[str]]) -> None:
    for key, value in HARDENING.items():
        assert service.get(key) == [value], key
    assert "@system-service" in service["SystemCallFilter"]


# --- the gate -------------------------------------------------------------------------------------


def test_gate_adds_a_system_user_in_gpio_and_dialout_to_the_root_files(gate: Installed):
    passwd, group = db(gate.root, "passwd"), db(gate.root, "group")
    _, _, uid, gid, _, home, shell = passwd["wristgate"]
    assert (home, shell) == ("/var/lib/wristgate", "/usr/sbin/nologin")
    assert 100 <= int(uid) <= 999 and group["wristgate"][2] == gid
    assert int(uid) not in {0, 102, 1000} and int(gid) not in {0, 20, 105, 997, 1000}
    assert group["dialout"][3] == "pi,wristgate" and group["gpio"][3] == "pi,wristgate"
    assert db(gate.root, "gshadow")["gpio"][3] == "pi,wristgate"
    assert db(gate.root, "shadow")["wristgate"][1] == "!"  # no password, no login
    assert db(gate.root, "passwd")["pi"] == STOCK["etc/passwd"][0].splitlines()[2].split(":")
    assert mode(gate.root / "etc/shadow") == 0o640  # a shadow file keeps its mode


def test_gate_files_have_their_modes_and_the_manifest_their_owners(gate: Installed):
    etc = gate.root / "etc/wristgate"
    expected = {
        "/etc/wristgate": (0o755, "root:root"),
        "/etc/wristgate/gate.toml": (0o640, "root:wristgate"),
        "/etc/wristgate/policy.toml": (0o640, "root:wristgate"),
        "/etc/wristgate/allowlist": (0o750, "root:wristgate"),
        "/etc/wristgate/allowlist/tickets.csv": (0o640, "root:wristgate"),
        "/etc/wristgate/site.key": (0o600, "wristgate:wristgate"),
        "/etc/wristgate/passwords": (0o750, "root:wristgate"),
        "/var/lib/wristgate": (0o750, "wristgate:wristgate"),
        "/etc/udev/rules.d/99-wristgate.rules": (0o644, "root:root"),
        "/etc/modprobe.d/blacklist-wristgate.conf": (0o644, "root:root"),
        "/etc/systemd/system/wristgate-gate.service": (0o644, "root:root"),
    }
    recorded = manifest(gate.root, "install-gate.manifest")
    for path, entry in expected.items():
        assert recorded[path] == entry, path
    for path, (wanted, _) in recorded.items():
        assert mode(gate.root / path.lstrip("/")) == wanted, path
    assert (etc / "site.key").stat().st_mode & 0o077 == 0
    udev = gate.root / "etc/udev/rules.d/99-wristgate.rules"
    assert udev.read_bytes() == (REPO / "firmware_configs/udev/99-wristgate.rules").read_bytes()
    blacklist = gate.root / "etc/modprobe.d/blacklist-wristgate.conf"
    assert (
        blacklist.read_bytes() == (REPO / "firmware_configs/udev/blacklist-pn533.conf").read_bytes()
    )
    assert os.readlink(gate.root / "usr/local/bin/gatectl") == f"{REPO}/.venv/bin/gatectl"


def test_gate_toml_loads_and_says_what_the_arguments_said(gate: Installed):
    config = load_gate_config(gate.root / "etc/wristgate/gate.toml")
    assert (config.gate.id, config.gate.role, config.gate.profile) == (
        "X1",
        "exit",
        "turnstile-pn532",
    )
    assert config.hardware.reader is not None and config.hardware.pins.relay == 17
    assert config.link is not None
    assert (config.link.host, config.link.port) == ("192.168.50.1", 8883)
    assert config.link.tls_ca == Path("/etc/wristgate/broker-ca.crt")
    assert (gate.root / "etc/wristgate/broker-ca.crt").read_bytes().startswith(b"-----BEGIN")
    assert config.link.password_file == Path("/etc/wristgate/passwords/X1.password")
    assert config.gate.site_key == Path("/etc/wristgate/site.key")
    assert config.gate.allowlist_csv is None  # a linked gate's allowlist comes from the hub
    example = (REPO / "firmware_configs/gate.toml.example").read_text().splitlines()
    text = (gate.root / "etc/wristgate/gate.toml").read_text().splitlines()
    off = [line for line in example if line.startswith("allowlist_csv =")]
    assert text[: len(example)] == [f"# {line}" if line in off else line for line in example]


def test_the_files_gate_toml_points_at_load_from_the_root(gate: Installed):
    etc = gate.root / "etc/wristgate"
    keyring = load_keyring(etc / "site.key")  # refuses a key others can read
    assert keyring.key_ids == (1,) and len(keyring.key(1) or b"") == 32
    policy = load_policy(etc / "policy.toml")
    assert policy.timezone == "Europe/Berlin"  # the machine's, from /etc/localtime
    allowlist, row_errors = load_csv_dir(etc / "allowlist")
    assert (allowlist.tickets, allowlist.bands, row_errors) == ({}, {}, [])


def test_gate_unit_runs_the_clone_as_wristgate_hardened(gate: Installed):
    parsed = unit(gate.root / "etc/systemd/system/wristgate-gate.service")
    service = parsed["Service"]
    assert service["ExecStart"] == [f"{REPO}/.venv/bin/gate run -c /etc/wristgate/gate.toml"]
    assert service["Type"] == ["notify"] and service["User"] == ["wristgate"]
    assert service["SupplementaryGroups"] == ["gpio dialout"]
    assert_hardened(service)
    assert parsed["Install"]["WantedBy"] == ["multi-user.target"]


def test_gate_install_says_what_the_pi_still_needs(gate: Installed):
    assert "passwords/X1.password is missing" in gate.first.out
    assert "enable_uart=1" in gate.first.out and "serial console" in gate.first.out
    assert "every gate of the venue needs the same" in gate.first.out


def test_gate_install_twice_changes_nothing(gate: Installed):
    assert gate.after == gate.before
    assert gate.second.out.rstrip().endswith("install-gate: nothing to change")


def test_gate_with_code_in_opt_gets_the_unit_of_the_repository(host: Host, tmp_path: Path):
    host.ok(INSTALL_GATE, tmp_path, *GATE_ARGS, "--code-dir", "/opt/wristgate")
    installed = tmp_path / "etc/systemd/system/wristgate-gate.service"
    assert installed.read_bytes() == (REPO / "systemd/gate.service").read_bytes()
    assert os.readlink(tmp_path / "usr/local/bin/gate") == "/opt/wristgate/.venv/bin/gate"
    alone = load_gate_config(tmp_path / "etc/wristgate/gate.toml")
    assert alone.link is None and alone.gate.allowlist_csv == Path("/etc/wristgate/allowlist")
    example = (REPO / "firmware_configs/gate.toml.example").read_text()
    assert (tmp_path / "etc/wristgate/gate.toml").read_text() == example  # X1, exit, turnstile


def test_gate_rerun_keeps_the_operators_files_and_takes_key_and_password(
    host: Host, gate: Installed, tmp_path: Path, broker_args: tuple[str, ...]
):
    root = tmp_path / "root"
    shutil.copytree(gate.root, root, symlinks=True)
    etc = root / "etc/wristgate"
    (etc / "policy.toml").write_text('timezone = "UTC"\nopen = "10:00"\nclose = "17:00"\n')
    (etc / "gate.toml").write_text((etc / "gate.toml").read_text() + "[pins]\npulse_s = 0.8\n")
    edited = {p: (etc / p).read_bytes() for p in ("policy.toml", "gate.toml", "site.key")}

    same = host.ok(INSTALL_GATE, root, *GATE_ARGS, *broker_args)  # operator's edits, same arguments
    assert {p: (etc / p).read_bytes() for p in edited} == edited
    assert not (etc / "gate.toml.new").exists() and "kept" not in same.out

    entry = ("--gate-id", "X1", "--role", "entry", "--profile", "turnstile-pn532")
    other = host.ok(INSTALL_GATE, root, *entry, *broker_args)
    assert (etc / "gate.toml").read_bytes() == edited["gate.toml"]
    assert 'role = "entry"' in (etc / "gate.toml.new").read_text()
    assert "gate.role is 'exit', this install writes 'entry'" in other.out

    venue_key = tmp_path / "venue.key"
    venue_key.write_text(f"2 {'ab' * 32}\n")
    password = tmp_path / "X1.password"
    password.write_text("from-the-hub\n")
    given = ("--site-key", str(venue_key), "--broker-password", str(password))
    host.ok(INSTALL_GATE, root, *GATE_ARGS, *broker_args, *given)
    assert (etc / "site.key").read_bytes() == venue_key.read_bytes()
    assert mode(etc / "site.key") == 0o600 and load_keyring(etc / "site.key").key_ids == (2,)
    assert (etc / "passwords/X1.password").read_text() == "from-the-hub\n"
    assert mode(etc / "passwords/X1.password") == 0o600
    assert not (etc / "gate.toml.new").exists()  # gate.toml says exit again: the draft is gone
    assert manifest(root, "install-gate.manifest")["/etc/wristgate/passwords/X1.password"] == (
        0o600,
        "wristgate:wristgate",
    )
    before = snapshot(root)
    assert "nothing to change" in host.ok(INSTALL_GATE, root, *GATE_ARGS, *broker_args).out
    assert snapshot(root) == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--gate-id", "hub", "--role", "exit", "--profile", "turnstile-pn532"), "reserved"),
        (("--gate-id", "X/1", "--role", "exit", "--profile", "turnstile-pn532"), "does not match"),
        (("--gate-id", "X1", "--role", "exit", "--profile", "nope"), "shipped: desk-usb-scanner"),
        (("--gate-id", "E1", "--role", "entry", "--profile", "handheld-usb"), "needs a relay pin"),
        ((*GATE_ARGS, "--broker", "hub:99999"), "not a TCP port"),
        ((*GATE_ARGS, "--broker-password", "/dev/null"), "goes with --broker"),
    ],
)
def test_gate_refuses_what_cannot_work_before_writing_anything(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: tuple[str, ...], message: str
):
    assert install.main(["gate", "--root", str(tmp_path), *args]) == install.EXIT_USAGE
    assert message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


# --- the hub --------------------------------------------------------------------------------------


def test_hub_files_have_their_modes_and_the_manifest_their_owners(hub: Installed):
    recorded = manifest(hub.root, "install-hub.manifest")
    secrets = [
        "/etc/wristgate/desk.token",
        "/etc/wristgate/staff.token",
        *(
            f"/etc/wristgate/passwords/{u}.password"
            for u in ("hub", "display", "homeassistant", *GATES)
        ),
    ]
    for path in secrets:
        assert recorded[path] == (0o600, "wristgate:wristgate"), path
    assert recorded["/etc/mosquitto/wristgate.passwd"] == (0o600, "mosquitto:mosquitto")
    assert recorded["/etc/mosquitto/wristgate.acl"] == (0o600, "mosquitto:mosquitto")
    assert recorded["/etc/wristgate/hub.toml"] == (0o640, "root:wristgate")
    assert recorded["/var/lib/wristgate-hub"] == (0o750, "wristgate:wristgate")
    for path, (wanted, _) in recorded.items():
        assert mode(hub.root / path.lstrip("/")) == wanted, path
    assert db(hub.root, "passwd")["wristgate"][5:] == ["/var/lib/wristgate", "/usr/sbin/nologin"]
    assert "wristgate" not in db(hub.root, "group")["gpio"][3]  # the hub needs no GPIO


def test_hub_toml_loads_and_its_files_are_in_the_root(hub: Installed):
    config = load_hub_config(hub.root / "etc/wristgate/hub.toml")
    assert (config.mqtt.host, config.mqtt.port, config.mqtt.username) == (
        "127.0.0.1",  # the plain listener, on loopback only; the gates use TLS
        1883,
        "hub",
    )
    assert config.hub.control_socket == Path("/run/wristgate-hub/hub.sock")
    assert config.hub.state_dir == Path("/var/lib/wristgate-hub")

    def inside(path: Path | None) -> Path:
        assert path is not None
        return hub.root / path.relative_to("/")

    desk = read_token(inside(config.http.desk_token_file))  # refuses a token others can read
    staff = read_token(inside(config.http.staff_token_file))
    assert desk and staff and desk != staff
    assert inside(config.mqtt.password_file).read_text().strip()
    load_policy(inside(config.hub.policy))
    assert inside(config.hub.allowlist_csv).is_dir()


def test_hub_broker_configuration_acl_and_users(hub: Installed):
    mosquitto = hub.root / "etc/mosquitto"
    config = load_hub_config(hub.root / "etc/wristgate/hub.toml")
    assert (mosquitto / "wristgate.acl").read_text() == write_acl(config.mqtt.prefix)
    assert (mosquitto / "mosquitto.conf").read_text() == render_config(
        data_dir="/var/lib/mosquitto",
        password_file="/etc/mosquitto/wristgate.passwd",
        acl_file="/etc/mosquitto/wristgate.acl",
        bind_address="127.0.0.1",
        port=1883,
        tls=TlsListener(
            "/etc/mosquitto/certs/hub.crt",
            "/etc/mosquitto/certs/hub.key",
            "/etc/mosquitto/certs/ca.crt",
            8883,
            "192.168.50.1",
        ),
    )
    assert (mosquitto / "mosquitto.conf.orig").read_text() == STOCK["etc/mosquitto/mosquitto.conf"][
        0
    ]
    hashes = dict(
        line.split(":", 1) for line in (mosquitto / "wristgate.passwd").read_text().split()
    )
    assert sorted(hashes) == sorted(["hub", "display", "homeassistant", *GATES])
    for user, hashed in hashes.items():
        password = (hub.root / f"etc/wristgate/passwords/{user}.password").read_text().strip()
        assert install_broker.password_matches(hashed, password) is True, user
        assert install_broker.password_matches(hashed, password + "x") is False, user


def test_hub_unit_is_simple_always_restarted_networked_and_hardened(hub: Installed):
    parsed = unit(hub.root / "etc/systemd/system/wristgate-hub.service")
    service = parsed["Service"]
    assert service["ExecStart"] == [f"{REPO}/.venv/bin/hub -c /etc/wristgate/hub.toml run"]
    assert service["Type"] == ["simple"] and service["Restart"] == ["always"]
    assert "WatchdogSec" not in service and "NotifyAccess" not in service
    assert (service["User"], service["Group"]) == (["wristgate"], ["wristgate"])
    assert service["StateDirectory"] == ["wristgate-hub"]
    assert service["RuntimeDirectory"] == ["wristgate-hub"]  # where hub.toml puts hub.sock
    assert {"AF_INET", "AF_INET6", "AF_UNIX"} <= set(service["RestrictAddressFamilies"][0].split())
    assert service["PrivateDevices"] == ["yes"]
    assert_hardened(service)
    assert "mosquitto.service" in parsed["Unit"]["After"][0]
    assert parsed["Install"]["WantedBy"] == ["multi-user.target"]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
def test_systemd_finds_nothing_wrong_in_either_unit(gate: Installed, hub: Installed):
    for installed in (
        gate.root / "etc/systemd/system/wristgate-gate.service",
        hub.root / "etc/systemd/system/wristgate-hub.service",
    ):
        done = subprocess.run(
            ["systemd-analyze", "verify", str(installed)], capture_output=True, text=True
        )
        assert (done.returncode, done.stderr.strip()) == (0, ""), installed


def test_hub_install_twice_changes_nothing(hub: Installed):
    assert hub.after == hub.before
    assert hub.second.out.rstrip().endswith("install-hub: nothing to change")


def test_hub_adding_a_gate_adds_only_its_user(host: Host, hub: Installed, tmp_path: Path):
    root = tmp_path / "root"
    shutil.copytree(hub.root, root, symlinks=True)
    before = snapshot(root)
    passwd = root / "etc/mosquitto/wristgate.passwd"
    lines = passwd.read_text().splitlines()

    host.ok(INSTALL_HUB, root, "--gates", "X3")  # the broker keeps its address
    after = snapshot(root)
    changed = {p for p in after if before.get(p) != after[p]}
    assert changed == {
        "etc/wristgate/passwords/X3.password",
        "etc/mosquitto/wristgate.passwd",
        "etc/wristgate/install-hub.manifest",
    }
    new_lines = passwd.read_text().splitlines()
    added = [line.split(":")[0] for line in new_lines[len(lines) :]]
    assert new_lines[: len(lines)] == lines and added == ["X3"]

    # A gate whose password was lost gets a new one; the others stay as they are.
    (root / "etc/wristgate/passwords/E2.password").unlink()
    host.ok(INSTALL_HUB, root, *HUB_ARGS)
    final = dict(line.split(":", 1) for line in passwd.read_text().split())
    e2 = (root / "etc/wristgate/passwords/E2.password").read_text().strip()
    assert install_broker.password_matches(final["E2"], e2) is True
    assert {u: h for u, h in final.items() if u != "E2"} == {
        u: h for u, h in (line.split(":", 1) for line in new_lines) if u != "E2"
    }


def test_hub_gates_with_roles_write_the_venue_roster_and_keep_it(host: Host, tmp_path: Path):
    root = stock_root(tmp_path / "root")
    host.ok(INSTALL_HUB, root, "--gates", "E1:entry,X1:exit,D1:desk,H1:handheld")
    hub_toml = root / "etc/wristgate/hub.toml"
    roster = {"D1": "desk", "E1": "entry", "H1": "handheld", "X1": "exit"}
    assert load_hub_config(hub_toml).gates == roster
    for gate in ("E1", "X1", "D1", "H1"):
        assert (root / f"etc/wristgate/passwords/{gate}.password").exists()
    host.ok(INSTALL_HUB, root, "--gates", "X2:exit")  # a gate added later: the roster grows
    assert load_hub_config(hub_toml).gates == {**roster, "X2": "exit"}  # [gates] edited in place


def test_hub_refuses_a_roster_that_leaves_out_gates_of_the_password_file(
    host: Host, hub: Installed, tmp_path: Path
):
    """A venue installed before rosters (six bare gates): a roster of X3 alone would make the hub
    refuse every entry of the six as unknown_gate. Refused, naming them and how to give roles."""
    root = tmp_path / "root"
    shutil.copytree(hub.root, root, symlinks=True)
    before = snapshot(root)
    refused = host.run(INSTALL_HUB, root, "--gates", "X3:exit")
    assert refused.code == install.EXIT_USAGE, refused.out
    assert "would leave out D1, E1, E2, H1, X1, X2" in refused.err
    assert "unknown_gate" in refused.err
    assert (
        "install-hub --gates X3:exit,D1:ROLE,E1:ROLE,E2:ROLE,H1:ROLE,X1:ROLE,X2:ROLE" in refused.err
    )
    assert snapshot(root) == before  # nothing written
    bare = host.run(
        INSTALL_HUB, root, "--gates", "X3:exit,E1:entry,E2:entry,X1:exit,X2:exit,D1:desk,H1"
    )
    assert bare.code == install.EXIT_USAGE and "would leave out H1:" in bare.err  # a bare id too
    roles = "X3:exit,E1:entry,E2:entry,X1:exit,X2:exit,D1:desk,H1:handheld"
    host.ok(INSTALL_HUB, root, "--gates", roles)
    assert load_hub_config(root / "etc/wristgate/hub.toml").gates == dict(
        item.split(":") for item in roles.split(",")
    )


def test_hub_adding_a_desk_lets_it_alone_of_the_gates_read_guardian_phones(
    host: Host, hub: Installed, tmp_path: Path
):
    root = tmp_path / "root"
    shutil.copytree(hub.root, root, symlinks=True)
    acl = root / "etc/mosquitto/wristgate.acl"
    assert "allowlist/full" not in acl.read_text().replace("# ", "#").split("user display")[0]
    roster = {**ROLES, "D7": "desk", "X7": "exit"}  # once a roster, every gate on it
    host.ok(INSTALL_HUB, root, "--gates", ",".join(f"{g}:{r}" for g, r in roster.items()))
    text = acl.read_text()
    assert "user D7\ntopic read wristgate/v1/hub/allowlist/full\n" in text
    assert "user X7" not in text
    assert load_hub_config(root / "etc/wristgate/hub.toml").gates == roster
    host.ok(INSTALL_HUB, root)  # run again without --gates: the roster in hub.toml keeps D7
    assert "user D7\n" in acl.read_text()


def test_hub_without_mosquitto_passwd_says_so_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
):
    def missing(name: str) -> str:
        raise BrokerUnavailable(f"{name} not found: install Debian package mosquitto")

    monkeypatch.setattr(install_broker, "find_program", missing)
    assert install.main(["hub", "--root", str(tmp_path)]) == install.EXIT_FAILED
    err = capsys.readouterr().err
    assert "mosquitto_passwd" in err and "install Debian package mosquitto" in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--gates", "E1,display"), "reserved"),
        (("--gates", "E1,E 2"), "does not match"),
        (("--gates", "E1:turnstile"), "role"),
        (("--gates", "E1:entry,E1:exit"), "two roles"),
        (("--bind-address", "hub.local"), "not an IP address"),
    ],
)
def test_hub_refuses_what_cannot_work_before_writing_anything(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: tuple[str, ...], message: str
):
    assert install.main(["hub", "--root", str(tmp_path), *args]) == install.EXIT_USAGE
    assert message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


HQ_SECTION = """
[hq]
venue = "BJ1"
url = "mqtt://10.8.0.1:1883,10.8.0.2:1883,10.8.0.3:1883"
username = "BJ1"
password_file = "/etc/wristgate/passwords/hq.password"
"""


def test_hub_with_hq_bridges_its_broker_to_head_office(host: Host, hub: Installed, tmp_path: Path):
    root = tmp_path / "root"
    shutil.copytree(hub.root, root, symlinks=True)
    hub_toml = root / "etc/wristgate/hub.toml"
    hub_toml.write_text(hub_toml.read_text() + HQ_SECTION)
    given = root / "etc/wristgate/passwords/hq.password"

    refused = host.run(INSTALL_HUB, root, *HUB_ARGS)  # no password for head office yet
    assert refused.code != 0 and "password_file" in refused.err
    given.write_text("venue-password-at-hq\n")
    host.ok(INSTALL_HUB, root, *HUB_ARGS)

    conf = root / "etc/mosquitto/mosquitto.conf"
    text = conf.read_text()
    assert "connection hq\naddresses 10.8.0.1:1883 10.8.0.2:1883 10.8.0.3:1883\n" in text
    assert "remote_username BJ1\nremote_password venue-password-at-hq\n" in text
    assert 'topic hq/venue/BJ1/# out 1 wristgate/v1/ ""' in text
    assert mode(conf) == 0o640  # it holds the venue's password at head office
    acl = (root / "etc/mosquitto/wristgate.acl").read_text()
    assert "user hq-bridge\n" in acl and "topic write wristgate/v1/hq/ack/BJ1\n" in acl
    hashes = dict(
        line.split(":", 1) for line in (root / "etc/mosquitto/wristgate.passwd").read_text().split()
    )
    local = (root / "etc/wristgate/passwords/hq-bridge.password").read_text().strip()
    assert install_broker.password_matches(hashes["hq-bridge"], local) is True
    before = snapshot(root)
    host.ok(INSTALL_HUB, root, *HUB_ARGS)  # again: nothing changes
    assert snapshot(root) == before


# --- both on one machine, and the pieces ----------------------------------------------------------


def test_gate_and_hub_on_one_machine_share_the_user_and_settle(host: Host, tmp_path: Path):
    root = stock_root(tmp_path / "root")
    host.ok(INSTALL_HUB, root, *HUB_ARGS)
    broker = ("--broker", "192.168.50.1", "--ca", str(root / "etc/wristgate/tls/ca.crt"))
    host.ok(INSTALL_GATE, root, *GATE_ARGS, *broker)  # X1's password is the hub's: in place
    settled = snapshot(root)
    assert "nothing to change" in host.ok(INSTALL_HUB, root, *HUB_ARGS).out
    assert "nothing to change" in host.ok(INSTALL_GATE, root, *GATE_ARGS, *broker).out
    assert snapshot(root) == settled
    users = [line.split(":")[0] for line in (root / "etc/passwd").read_text().splitlines()]
    assert users.count("wristgate") == 1
    assert db(root, "group")["gpio"][3] == "pi,wristgate"
    config = load_gate_config(root / "etc/wristgate/gate.toml")
    assert config.link is not None and config.link.password_file is not None
    assert (root / config.link.password_file.relative_to("/")).read_text().strip()


def test_set_keys_keeps_comments_in_their_column_and_adds_what_is_missing():
    text = '[a]\nid = "X1"        # the id\nother = 1\n\n# a comment\n[b]\nk = "v"\n'
    values: Keys = {
        "a": {"id": "E10", "new": 3, "other": None},
        "b": {"k": "w", "gone": None},
        "c": {"x": "y"},
    }
    assert set_keys(text, values) == (
        '[a]\nid = "E10"       # the id\n# other = 1\nnew = 3\n\n# a comment\n[b]\nk = "w"\n'
        '\n[c]\nx = "y"\n'
    )


def test_password_matches_reads_mosquitto_2_and_1_hashes(tmp_path: Path):
    passwd = tmp_path / "passwd"
    subprocess.run(
        [find_program("mosquitto_passwd"), "-c", "-b", str(passwd), "E1", "s3cret"],
        check=True,
        capture_output=True,
    )
    hashed = passwd.read_text().split(":", 1)[1].strip()
    assert hashed.startswith("$7$")
    assert install_broker.password_matches(hashed, "s3cret") is True
    assert install_broker.password_matches(hashed, "s3cre") is False
    old = "$6$c2FsdA==$" + base64.b64encode(hashlib.sha512(b"s3cret" + b"salt").digest()).decode()
    assert install_broker.password_matches(old, "s3cret") is True
    assert install_broker.password_matches("$argon$whatever", "s3cret") is None


def test_the_scripts_need_the_clones_venv(tmp_path: Path):
    clone = tmp_path / "clone"
    (clone / "scripts").mkdir(parents=True)
    for script in (INSTALL_GATE, INSTALL_HUB):
        shutil.copy(script, clone / "scripts")
        done = subprocess.run(
            [str(clone / "scripts" / script.name), "--root", str(tmp_path / "root")],
            capture_output=True,
            text=True,
        )
        assert done.returncode == 1 and "run " in done.stderr and "scripts/bootstrap" in done.stderr
    assert not (tmp_path / "root").exists()


# --- for real, in a private mount namespace -------------------------------------------------------

REAL_INSTALL = r"""
set -euo pipefail
scratch=$1 repo=$2 system_python=$3
mount -t tmpfs tmpfs "$scratch"
overlay() {  # the host's directory $1, with every write going to the scratch
    local changes=$scratch/overlay${1//\//_}
    mkdir -p "$changes/upper" "$changes/work"
    mount -t overlay overlay \
        -o "lowerdir=$1,upperdir=$changes/upper,workdir=$changes/work" "$1"
}
for d in /etc /var /usr/local; do overlay "$d"; done
mount -t tmpfs tmpfs /run
# A machine booted with systemd, as far as the install can tell, whose systemctl and udevadm
# only log what they are asked.
mkdir -p /run/systemd/system "$scratch/bin"
for tool in systemctl udevadm; do
    printf '#!/bin/sh\necho "%s $*" >> "%s"\n' "$tool" "$scratch/calls" >"$scratch/bin/$tool"
    chmod +x "$scratch/bin/$tool"
done
export PATH="$scratch/bin:$PATH"
if [ -n "$system_python" ]; then
    # A development venv made by a Python under /root or /home, which the service user cannot
    # reach: point it at Debian's python3 of the same version, as ./scripts/bootstrap makes it.
    overlay "$repo/.venv"
    ln -sfn "$system_python" "$repo/.venv/bin/python"
    sed -i "s#^home = .*#home = $(dirname "$system_python")#" "$repo/.venv/pyvenv.cfg"
fi
ip link set lo up
echo NAMESPACE-READY
# From here on, a failing step still shows the hub's log, if the hub got that far.
show_hub_log() { [ -s "$scratch/hub.log" ] && echo "--- the hub log:" && cat "$scratch/hub.log"; }
trap 'status=$?; show_hub_log >&2; exit $status' EXIT
# until SECONDS WHAT COMMAND...: poll COMMAND until it succeeds; after SECONDS, fail saying WHAT.
until_ok() {
    local seconds=$1 what=$2 deadline=$((SECONDS + $1))
    shift 2
    until "$@"; do
        if ((SECONDS > deadline)); then echo "gave up after $seconds s: $what" >&2; return 1; fi
        if [ -n "${watch_pid:-}" ] && ! kill -0 "$watch_pid" 2>/dev/null; then
            wait "$watch_pid" && status=0 || status=$?
            echo "waiting for $what: the process exited with status $status" >&2
            return 1
        fi
        sleep 0.1
    done
}
"$repo/scripts/install-hub" --gates E1,X1 --bind-address 127.0.0.1 >/dev/null
cp /etc/wristgate/passwords/X1.password "$scratch/X1.password"
gate=(--gate-id X1 --role exit --profile turnstile-pn532 --broker 127.0.0.1)
"$repo/scripts/install-gate" "${gate[@]}" --broker-password "$scratch/X1.password" >/dev/null
"$repo/scripts/install-hub" --gates E1,X1 --bind-address 127.0.0.1 | tail -n 1
"$repo/scripts/install-gate" "${gate[@]}" | tail -n 1
echo "groups: $(id -nG wristgate)"
echo "shell: $(getent passwd wristgate | cut -d: -f7)"
stat -c '%a %U:%G %n' /etc/wristgate/site.key /etc/wristgate/passwords/X1.password \
    /etc/wristgate/gate.toml /etc/mosquitto/wristgate.passwd /var/lib/wristgate-hub
mosquitto -c /etc/mosquitto/mosquitto.conf -d
listening() { (echo >/dev/tcp/127.0.0.1/1883) 2>/dev/null; }
until_ok 120 "mosquitto listening on 1883" listening
pub=(mosquitto_pub -h 127.0.0.1 -t wristgate/v1/gate/X1/status -m '{}' -u X1)
"${pub[@]}" -P "$(cat /etc/wristgate/passwords/X1.password)" && echo "login: X1 ok"
"${pub[@]}" -P wrong 2>/dev/null || echo "login: wrong password refused"
# The hub as its unit runs it: user wristgate, with what was installed.
cp "$repo"/examples/children-city/*.csv /etc/wristgate/allowlist/  # the day's allowlist
install -d -m 0750 -o wristgate -g wristgate /run/wristgate-hub  # RuntimeDirectory=
runuser -u wristgate -- "$repo/.venv/bin/hub" -c /etc/wristgate/hub.toml run 2>"$scratch/hub.log" &
watch_pid=$!
connected() { "$repo/.venv/bin/hub" --json status 2>/dev/null | grep -q '"connected": true'; }
until_ok 180 "the hub connected to the broker" connected
watch_pid=
"$repo/.venv/bin/hub" --json status | grep -E '"(connected|allowlist_version)"' | tr -d ' ,'
exec 3<>/dev/tcp/127.0.0.1/8080
printf 'GET /api/headcount HTTP/1.0\r\n\r\n' >&3
head -n 1 <&3 | cut -d ' ' -f 2- | tr -d '\r'
echo "--- systemctl and udevadm were asked:"
cat "$scratch/calls"
"""


def private_namespace_refused(tmp_path: Path) -> str:
    """Why the kernel refuses what the real install needs (a private mount, network and PID
    namespace, a tmpfs and an overlay in it), in its own words; empty when it does not. A
    container without CAP_SYS_ADMIN, or a kernel without overlayfs, says so here."""
    probe = tmp_path / "probe"
    for d in ("lower", "upper", "work", "merged"):
        (probe / d).mkdir(parents=True)
    done = processes.run(
        ["unshare", "--mount", "--net", "--pid", "--fork", "--mount-proc", "--kill-child",
         "sh", "-c", 'mount -t tmpfs tmpfs "$1/upper" && mkdir "$1/upper/u" "$1/upper/w" && '
         'mount -t overlay overlay -o "lowerdir=$1/lower,upperdir=$1/upper/u,workdir=$1/upper/w" '
         '"$1/merged" && ip link set lo up', "probe", str(probe)],
        timeout=120, text=True,
    )  # fmt: skip
    if done.returncode == 0:
        return ""
    return done.stderr.strip()[-300:] or f"status {done.returncode}"


def test_a_real_install_creates_the_user_owns_the_files_and_the_broker_takes_the_passwords(
    tmp_path: Path,
):
    """Without --root, in a mount namespace whose /etc, /var and /usr/local are overlays: the
    real useradd, usermod and chown, systemctl asked what it should be; then Mosquitto and the
    hub (as wristgate) started on what was installed, the hub logging in with its password and
    serving its API."""
    if os.geteuid() != 0:
        pytest.skip("installs for real: needs root (CI runs as root)")
    tools = ("unshare", "ip", "mosquitto", "mosquitto_pub", "runuser")
    missing = [t for t in tools if not shutil.which(t) and not os.access(f"/usr/sbin/{t}", os.X_OK)]
    assert not missing, f"missing {missing}: ./scripts/bootstrap installs them"
    kernel_says = private_namespace_refused(tmp_path)
    if kernel_says:
        pytest.skip(f"the kernel gives no private mount and network namespace here: {kernel_says}")
    script = tmp_path / "real-install.sh"
    script.write_text(REAL_INSTALL)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    system_python = ""
    if os.path.realpath(REPO / ".venv/bin/python").startswith(("/root/", "/home/")):
        system_python = f"/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}"
        if not os.access(system_python, os.X_OK):
            pytest.skip(f"the venv's Python is private and there is no {system_python}")
    done = processes.run(
        ["unshare", "--mount", "--net", "--pid", "--fork", "--mount-proc", "--kill-child",
         "bash", str(script), str(scratch), str(REPO), system_python],
        timeout=600, text=True,
    )  # fmt: skip
    assert "NAMESPACE-READY" in done.stdout, f"the namespace was not set up:\n{done.stderr}"
    assert done.returncode == 0, done.stderr + done.stdout
    output, calls = done.stdout.split("--- systemctl and udevadm were asked:\n")
    lines = output.splitlines()
    assert lines[1:3] == ["install-hub: nothing to change", "install-gate: nothing to change"]
    assert set(lines[3].split()[1:]) == {"wristgate", "gpio", "dialout"}
    assert lines[4] == "shell: /usr/sbin/nologin"
    assert lines[5:10] == [
        "600 wristgate:wristgate /etc/wristgate/site.key",
        "600 wristgate:wristgate /etc/wristgate/passwords/X1.password",
        "640 root:wristgate /etc/wristgate/gate.toml",
        "600 mosquitto:mosquitto /etc/mosquitto/wristgate.passwd",
        "750 wristgate:wristgate /var/lib/wristgate-hub",
    ]
    assert lines[10:] == [
        "login: X1 ok",
        "login: wrong password refused",
        '"connected":true',
        '"allowlist_version":1',
        "200 OK",
    ], done.stderr
    hub, gate = "wristgate-hub.service", "wristgate-gate.service"
    assert calls.splitlines() == [
        # install-hub: the broker restarted on its new configuration, the hub started and alive
        "systemctl enable --quiet mosquitto.service",
        "systemctl restart mosquitto.service",
        "systemctl daemon-reload",
        f"systemctl enable --quiet {hub}",
        f"systemctl is-active --quiet {hub}",
        f"systemctl restart {hub}",
        f"systemctl is-active --quiet {hub}",
        # install-gate: udev told of the rules, the gate started
        "udevadm control --reload",
        "udevadm trigger --subsystem-match=tty --subsystem-match=usb",
        "systemctl daemon-reload",
        f"systemctl enable --quiet {gate}",
        f"systemctl is-active --quiet {gate}",
        f"systemctl restart {gate}",
        # the second runs: nothing changed, nothing restarted
        "systemctl enable --quiet mosquitto.service",
        "systemctl start mosquitto.service",
        f"systemctl enable --quiet {hub}",
        f"systemctl is-active --quiet {hub}",
        f"systemctl enable --quiet {gate}",
        f"systemctl is-active --quiet {gate}",
    ]
