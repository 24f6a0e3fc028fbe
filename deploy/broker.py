"""The venue's Mosquitto broker: its configuration, its ACL and its users.

The configuration is rendered from `firmware_configs/mosquitto/mosquitto.conf.template`; the ACL is
written here from the topic tree of `gate.link.protocol.Topics`, so the two cannot drift apart.
Users:

- each gate logs in with its gate id as username (`E1`, `X2`, ...): the ACL's `%u` patterns then
  give it its own `{prefix}/gate/{id}/events` and `.../status` and nothing else to publish;
- the hub logs in as `hub`, the headcount display as `display`, the venue's Home Assistant as
  `homeassistant` (it reads the discovery configs, the headcount and the statuses, and publishes
  nothing). Those names are reserved and can never be gate ids (`check_gate_id` refuses them,
  in any case).

`deploy.broker_process.Broker` runs one for the tests and the demo. Mosquitto comes from Debian's
`mosquitto` package.
"""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
import shutil
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from string import Template
from types import MappingProxyType

from gate.link.guardian_phone import guardian_topic
from gate.link.pickup_notice import pickup_topic
from gate.link.protocol import (
    DEFAULT_PREFIX,
    GATE_ID,
    HA_DISCOVERY,
    MAX_PAYLOAD,
    PHONE_ROLES,
    Topics,
)

CONFIG_DIR = Path(__file__).resolve().parent.parent / "firmware_configs" / "mosquitto"
TEMPLATE = CONFIG_DIR / "mosquitto.conf.template"

EXAMPLE_ROSTER = {"E1": "entry", "X1": "exit", "D1": "desk", "H1": "handheld"}  # hub.toml.example
HUB_USER = "hub"
DISPLAY_USER = "display"
HA_USER = "homeassistant"
BRIDGE_USER = "hq-bridge"  # the bridge to the chain's head office (deploy.hq_bridge)
RESERVED_USERS = frozenset({HUB_USER, DISPLAY_USER, HA_USER, BRIDGE_USER})

LOOPBACK = "127.0.0.1"
PACKET_HEADROOM = 64 * 1024  # topic and properties on top of the largest payload
DEBIAN_PACKAGE = "mosquitto"  # ships mosquitto and mosquitto_passwd
SBIN_DIRS = ("/usr/sbin", "/usr/local/sbin", "/usr/bin")  # not always on a user's PATH

_GATE_ID = re.compile(GATE_ID)  # fullmatch: "E1\n" is no gate id
_CONFIG_VALUE = re.compile(r"\S+")


class BrokerError(Exception):
    """The broker cannot be configured or run; the message says what to fix."""


class BrokerConfigError(BrokerError, ValueError):
    """A value that would make a wrong or unsafe configuration (a reserved gate id, a bad path)."""


class BrokerUnavailable(BrokerError, FileNotFoundError):
    """Mosquitto or mosquitto_passwd is not installed."""


def check_gate_id(gate: str) -> str:
    """`gate`, if it can be a gate's username; else BrokerConfigError.

    A gate id matches `gate.link.protocol.GATE_ID` and is not one of the reserved usernames
    (`hub`, `display`, in any case): a gate named `hub` would log in as the hub, and the ACL's
    patterns give every user the rights of a gate named after it.
    """
    if not _GATE_ID.fullmatch(gate):
        raise BrokerConfigError(f"gate id {gate!r} does not match {GATE_ID}")
    if gate.lower() in RESERVED_USERS:
        raise BrokerConfigError(f"gate id {gate!r} is reserved for the broker's own users")
    return gate


def find_program(name: str) -> str:
    """The path of a Mosquitto program, from PATH or the usual sbin directories."""
    found = shutil.which(name) or next(
        (p for d in SBIN_DIRS if os.access(p := os.path.join(d, name), os.X_OK)), None
    )
    if found is None:
        raise BrokerUnavailable(
            f"{name} not found on PATH nor in {', '.join(SBIN_DIRS)}: "
            f"install Debian package {DEBIAN_PACKAGE} (apt-get install {DEBIAN_PACKAGE})"
        )
    return found


def _config_value(what: str, value: str | os.PathLike[str]) -> str:
    text = os.fspath(value)
    if not _CONFIG_VALUE.fullmatch(text):
        raise BrokerConfigError(f"{what} {text!r} is empty or holds white space")
    return text


def _address(what: str, value: str) -> str:
    try:
        return str(ipaddress.ip_address(value))
    except ValueError as exc:
        raise BrokerConfigError(f"{what} {value!r} is not an IP address") from exc


def check_port(what: str, value: int) -> int:
    if not 0 < value < 65536:
        raise BrokerConfigError(f"{what} {value} is not a TCP port")
    return value


def check_prefix(prefix: str) -> str:
    """The topic prefix without a trailing slash, if it is usable in an ACL."""
    clean = prefix.rstrip("/")
    if (
        not clean
        or clean.startswith(("/", "$"))
        or any(c in clean for c in "+#%")
        or (not _CONFIG_VALUE.fullmatch(clean))
    ):
        raise BrokerConfigError(
            f"topic prefix {prefix!r} must be non-empty, without white space, wildcards, '%', "
            "a leading '/' or '$'"
        )
    return clean


@dataclass(frozen=True)
class TlsListener:
    """Paths for the TLS listener: the broker's certificate and key, and the CA that signed it."""

    certfile: str
    keyfile: str
    cafile: str
    port: int = 8883
    bind_address: str = "0.0.0.0"


EXAMPLE_TLS = TlsListener(
    certfile="/etc/mosquitto/certs/hub.crt",
    keyfile="/etc/mosquitto/certs/hub.key",
    cafile="/etc/mosquitto/certs/ca.crt",
)


def render_config(
    *,
    data_dir: str | os.PathLike[str],
    password_file: str | os.PathLike[str],
    acl_file: str | os.PathLike[str],
    bind_address: str,
    port: int = 1883,
    tls: TlsListener | None = None,
    user: str = "mosquitto",
    log_file: str | os.PathLike[str] | None = None,
    prefix: str = DEFAULT_PREFIX,
) -> str:
    """mosquitto.conf for a venue broker.

    `log_file` None logs to standard error (the journal, under systemd). Without `tls` the TLS
    listener is rendered commented out, with example paths, so the file shows how to enable it.
    `prefix` is checked here (the ACL written for it by `write_acl` must match the clients').
    """
    check_prefix(prefix)
    data = _config_value("data_dir", data_dir).rstrip("/") + "/"  # Mosquitto wants the slash
    shown_tls = tls or EXAMPLE_TLS
    values = {
        "password_file": _config_value("password_file", password_file),
        "acl_file": _config_value("acl_file", acl_file),
        "data_dir": data,
        "message_size_limit": MAX_PAYLOAD,
        "max_packet_size": MAX_PAYLOAD + PACKET_HEADROOM,
        "user": _config_value("user", user),
        "log_dest": "stderr" if log_file is None else f"file {_config_value('log_file', log_file)}",
        "port": check_port("port", port),
        "bind_address": _address("bind_address", bind_address),
        "tls": "" if tls else "#",
        "tls_port": check_port("tls port", shown_tls.port),
        "tls_bind_address": _address("tls bind_address", shown_tls.bind_address),
        "certfile": _config_value("certfile", shown_tls.certfile),
        "keyfile": _config_value("keyfile", shown_tls.keyfile),
        "cafile": _config_value("cafile", shown_tls.cafile),
    }
    return Template(TEMPLATE.read_text()).substitute(values)


def render_example() -> str:
    """The rendering kept as firmware_configs/mosquitto/mosquitto.conf.example."""
    return render_config(
        data_dir="/var/lib/mosquitto/",
        password_file="/etc/mosquitto/wristgate.passwd",
        acl_file="/etc/mosquitto/wristgate.acl",
        bind_address=LOOPBACK,  # the hub's own clients; the gates come over TLS
        port=1883,
        tls=EXAMPLE_TLS,
    )


def write_examples() -> None:
    """Rewrite mosquitto.conf.example and acl (the default prefix) beside the template."""
    (CONFIG_DIR / "mosquitto.conf.example").write_text(render_example())
    (CONFIG_DIR / "acl").write_text(write_acl(DEFAULT_PREFIX, EXAMPLE_ROSTER))


def write_acl(prefix: str = DEFAULT_PREFIX, roster: Mapping[str, str] | None = None) -> str:
    """The ACL file for a venue prefix (Mosquitto's acl_file format) and roster (gate id -> role,
    hub.toml's `[gates]`).

    Gates get their rights from `pattern` lines with `%u`, so a new entry or exit gate needs a
    password entry and nothing here. Mosquitto applies pattern lines to every user, the hub and
    the display included; their `deny` lines, which Mosquitto checks first, take back what does
    not fit them. The desks and handhelds of the roster get a `user` block each: they alone of
    the gates read the allowlist with guardian phones.
    """
    t = Topics(check_prefix(prefix))
    return _base_acl(t) + _phone_readers(t, roster or {})


def _phone_readers(t: Topics, roster: Mapping[str, str]) -> str:
    """`user` blocks for the roster's desks and handhelds: the allowlist with guardian phones."""
    readers = sorted(check_gate_id(g) for g, role in roster.items() if role in PHONE_ROLES)
    lines = [
        "",
        "# The desks and handhelds of the venue's roster (hub.toml [gates]) also read the",
        "# allowlist with guardian phones; the other gates get it without (design §9).",
        "# Each reads the desk actions the hub's console asks of it, and no other desk's, and",
        "# sends the hub the pickup codes it gives (send_pickup_codes) and its walk-in children's",
        "# guardian phones in full (its events hold them masked), which no gate reads.",
    ]
    if not readers:
        lines.append("# (none in the roster)")
    for gate in readers:
        lines += [f"user {gate}", f"topic read {t.allowlist_full}"]
        lines += [f"topic read {t.allowlist_full_delta}"]
        lines += [f"topic read {t.desk(gate)}"]
        lines += [f"topic write {pickup_topic(t, gate)}"]  # its pickup codes, for the hub alone
        lines += [f"topic write {guardian_topic(t, gate)}"]  # its guardians' phones, the same
    return "\n".join(lines) + "\n"


def _base_acl(t: Topics) -> str:
    p = t.prefix
    return f"""\
# Mosquitto ACL for the wristgate topic tree under one prefix (written by deploy.broker.write_acl):
#   {p}/
# Subscribing is always allowed; each message is checked against the reader's rights when it is
# delivered, and a publish without rights is dropped (MQTT v5 publishers get PUBACK 0x87).
# Anything not granted here is refused: $SYS, other prefixes, anonymous clients.

# The hub reads every gate and owns the hub's topics. It is no gate: it takes back the rights
# the gate patterns below would give a gate named "{HUB_USER}".
user {HUB_USER}
topic deny {p}/gate/{HUB_USER}/#
topic read {p}/gate/#
topic readwrite {p}/hub/#
# ... sends the chain's head office its entries and summaries, and reads its acknowledgement
# (through the broker's bridge, when hub.toml has [hq]),
topic write {p}/hq/venue/#
topic read {p}/hq/ack/#
# ... and announces the venue to Home Assistant (MQTT discovery).
topic readwrite {HA_DISCOVERY}/#

# The headcount display reads the headcount and who is online, and publishes nothing. It takes
# back what the gate patterns would give it: the topics of a gate named "{DISPLAY_USER}", the gates'
# events (band UIDs), and the allowlist (band UIDs; its full form holds guardian phones).
user {DISPLAY_USER}
topic deny {p}/gate/{DISPLAY_USER}/#
topic deny {t.events("+")}
topic deny {t.allowlist}/#
topic read {t.headcount}
topic read {t.hub_status}
topic read {t.status("+")}

# Home Assistant reads what the hub announces to it (MQTT discovery), the headcount and who is
# online, and publishes nothing. It takes back what the gate patterns would give it, as the
# display does, and the gates' acknowledgements, replays and roster.
user {HA_USER}
topic deny {p}/gate/{HA_USER}/#
topic deny {t.events("+")}
topic deny {t.allowlist}/#
topic deny {t.ack("+")}
topic deny {t.replay("+")}
topic deny {t.roster}
topic read {HA_DISCOVERY}/#
topic read {t.headcount}
topic read {t.hub_status}
topic read {t.status("+")}

# Every other user is a gate whose username is its gate id (%u).
# It publishes its own journal and presence, and nothing else:
pattern write {t.events("%u")}
pattern write {t.status("%u")}
# it reads its own acknowledgements and replay requests,
pattern read {t.ack("%u")}
pattern read {t.replay("%u")}
# the drills the hub orders it (`hub drill start`),
pattern read {t.drill("%u")}
# what the hub broadcasts (the allowlist without guardian phones),
pattern read {t.allowlist}
pattern read {t.allowlist_delta}
pattern read {t.headcount}
pattern read {t.hub_status}
pattern read {t.roster}
pattern read {t.hub_time}
# and the other gates' events and presence (a family entering at one gate is known at the next).
pattern read {t.events("+")}
pattern read {t.status("+")}
"""


def _check_user(name: str, password: str) -> None:
    if not name or any(c in name for c in ":\n\r") or name != name.strip():
        raise BrokerConfigError(f"username {name!r}: empty, or holds ':', a newline or edge spaces")
    if not password or any(c in password for c in "\n\r\0"):
        raise BrokerConfigError(f"password for {name!r}: empty or holds a newline")


def add_user(password_file: str | os.PathLike[str], name: str, password: str) -> None:
    """Add or replace one user in a Mosquitto password file (created when missing, mode 0600).

    Runs `mosquitto_passwd -b`, so the password is on a command line for a moment: run it where
    no other user is logged in (the hub's install, a test). The file must then be readable by the
    user Mosquitto runs as (`chown mosquitto:` it when installing).
    """
    _check_user(name, password)
    path = Path(password_file)
    create = ["-c"] if not path.exists() else []
    done = subprocess.run(
        [find_program("mosquitto_passwd"), *create, "-b", str(path), name, password],
        capture_output=True,
        text=True,
        umask=0o077,
        check=False,
    )
    if done.returncode != 0:
        raise BrokerError(
            f"mosquitto_passwd could not add {name!r} to {path}: "
            f"{(done.stderr or done.stdout).strip()}"
        )
    os.chmod(path, 0o600)


@dataclass(frozen=True, repr=False)
class Credentials:
    """Passwords of the broker's users: the hub, the display, each gate (by gate id) and Home
    Assistant (a fresh one unless given).

    Its repr names the users only, so a password never lands in a log or a test report.
    """

    hub: str
    display: str
    gates: Mapping[str, str] = field(default_factory=dict)
    homeassistant: str = field(default_factory=lambda: secrets.token_urlsafe(32))

    def __post_init__(self) -> None:
        for gate in self.gates:
            check_gate_id(gate)
        object.__setattr__(self, "gates", MappingProxyType(dict(self.gates)))

    @classmethod
    def generate(cls, gates: Iterable[str] = ()) -> Credentials:
        """Fresh random passwords (32 bytes each, URL-safe) for the hub, the display and `gates`."""
        return cls(
            hub=secrets.token_urlsafe(32),
            display=secrets.token_urlsafe(32),
            gates={check_gate_id(g): secrets.token_urlsafe(32) for g in gates},
        )

    def __repr__(self) -> str:
        return f"Credentials(users={list(self.users())})"

    def users(self) -> dict[str, str]:
        """Username -> password, for every user."""
        return {
            HUB_USER: self.hub,
            DISPLAY_USER: self.display,
            HA_USER: self.homeassistant,
            **self.gates,
        }

    def password(self, user: str) -> str:
        try:
            return self.users()[user]
        except KeyError:
            raise KeyError(f"no broker user {user!r}; users: {sorted(self.users())}") from None

    def write_password_file(self, path: str | os.PathLike[str]) -> None:
        """A new password file at `path` holding exactly these users (mode 0600)."""
        Path(path).unlink(missing_ok=True)
        for name, password in self.users().items():
            add_user(path, name, password)


if __name__ == "__main__":  # python -m deploy.broker: after a change to the template or the ACL
    write_examples()
