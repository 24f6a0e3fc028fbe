"""Where an install puts things: the service user, the paths it writes on a gate and on the hub,
and the owner and mode each kind of file gets.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from deploy.broker import EXAMPLE_TLS

REPO = Path(__file__).resolve().parent.parent
FIRMWARE = REPO / "firmware_configs"
PROFILES = FIRMWARE / "profiles"

USER = GROUP = "wristgate"
HOME = "/var/lib/wristgate"  # the user's home and the gate's state directory
HUB_STATE = "/var/lib/wristgate-hub"
GATE_GROUPS = ("gpio", "dialout")  # GPIO chips; serial readers and scanners

ETC = "/etc/wristgate"
PASSWORDS = f"{ETC}/passwords"
POLICY = f"{ETC}/policy.toml"
ALLOWLIST = f"{ETC}/allowlist"
SITE_KEY = f"{ETC}/site.key"
GATE_TOML = f"{ETC}/gate.toml"
HUB_TOML = f"{ETC}/hub.toml"
DESK_TOKEN = f"{ETC}/desk.token"
STAFF_TOKEN = f"{ETC}/staff.token"
EXAMPLE_KEY = (FIRMWARE / "site.key.example").read_text().split()[-1].encode()
HUB_SOCKET = "/run/wristgate-hub/hub.sock"  # not /run/wristgate: the gate's unit owns that one

GATE_UNIT = "/etc/systemd/system/wristgate-gate.service"
HUB_UNIT = "/etc/systemd/system/wristgate-hub.service"
UDEV_RULES = "/etc/udev/rules.d/99-wristgate.rules"
BLACKLIST = "/etc/modprobe.d/blacklist-wristgate.conf"
BIN = "/usr/local/bin"
CODE_DIR_IN_UNITS = "/opt/wristgate"  # what systemd/*.service say; replaced by the clone's path

MOSQUITTO = "mosquitto"  # Debian's user and group for the broker
MOSQUITTO_CONF = "/etc/mosquitto/mosquitto.conf"
MOSQUITTO_DATA = "/var/lib/mosquitto"
MOSQUITTO_PASSWD = "/etc/mosquitto/wristgate.passwd"
MOSQUITTO_ACL = "/etc/mosquitto/wristgate.acl"
MOSQUITTO_MARK = "# Mosquitto 2.0 configuration for a wristgate venue broker."
BROKER_PORT = 1883
BROKER_TLS_PORT = 8883
TLS_DIR = f"{ETC}/tls"
VENUE_CA = f"{TLS_DIR}/ca.crt"  # given to every gate (install-gate --ca)
VENUE_CA_KEY = f"{TLS_DIR}/ca.key"  # root only, and only on the hub
BROKER_CERT, BROKER_KEY, BROKER_CA = EXAMPLE_TLS.certfile, EXAMPLE_TLS.keyfile, EXAMPLE_TLS.cafile
GATE_CA = f"{ETC}/broker-ca.crt"  # on a gate: the venue CA it checks the broker with


@dataclass(frozen=True)
class Owner:
    mode: int
    user: str = "root"
    group: str = "root"

    def line(self, path: str) -> str:
        return f"{self.mode:04o} {self.user}:{self.group} {path}"


ROOT_FILE = Owner(0o644)
ROOT_DIR = Owner(0o755)
CONFIG = Owner(0o640, "root", GROUP)  # read by the services, written by root
CONFIG_DIR = Owner(0o750, "root", GROUP)
SECRET = Owner(0o600, USER, GROUP)  # read by the services only
STATE_DIR = Owner(0o750, USER, GROUP)
