"""What the venue's daemons read: the gates it has, and the files each is started with (hub.toml,
gate.toml and the gate's profile, secrets, the venue's TLS), as an installer writes them."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from deploy.broker import LOOPBACK, TlsListener
from deploy.broker_process import free_port
from deploy.hq_bridge import HqBridge
from gate.devices.nfc.emulator import ORIGINALITY_KEY

PINS = {
    "entry": "relay = 17\ngreen = 22\nred = 27\namber = 23\nbuzzer = 24\n",
    "exit": "relay = 17\ngreen = 22\nred = 27\namber = 23\nbuzzer = 24\n",
    "desk": "green = 22\nred = 27\nbuzzer = 24\n",
    "handheld": "green = 22\nred = 27\namber = 23\nbuzzer = 24\n",
}


@dataclass(frozen=True)
class GateSpec:
    id: str
    role: str  # entry | exit | desk | handheld
    scanner: bool  # a barcode scanner (pty) besides the wristband reader
    what: str


GATES = (
    GateSpec("D1", "desk", True, "desk (ticket scanner; binds bands, writes their tokens)"),
    GateSpec("E1", "entry", False, "entry"),
    GateSpec("E2", "entry", False, "entry"),
    GateSpec("X1", "exit", False, "exit"),
    GateSpec("X2", "exit", False, "exit"),
    GateSpec("H1", "handheld", False, "handheld (check mode)"),
)


def write_secret(path: Path, text: str) -> Path:
    """A file only its owner reads (mode 0600 before anything is in it)."""
    path.touch(mode=0o600)
    os.chmod(path, 0o600)
    path.write_text(text)
    return path


def write_tls(d: Path) -> TlsListener:
    """A venue CA and the broker's certificate for 127.0.0.1, as install-hub makes them."""
    from deploy.tls import new_ca, new_server_cert

    d.mkdir(mode=0o700)
    ca_cert, ca_key = new_ca("wristgate demo venue")
    cert, key = new_server_cert(ca_cert, ca_key, ["localhost", LOOPBACK])
    for name, content in (("ca.crt", ca_cert), ("hub.crt", cert), ("hub.key", key)):
        (d / name).touch(mode=0o600)
        (d / name).write_bytes(content)
    return TlsListener(
        str(d / "hub.crt"), str(d / "hub.key"), str(d / "ca.crt"), free_port(), LOOPBACK
    )


@dataclass(frozen=True)
class HubLinks:
    """Where the hub finds the broker and serves its display and API, and its secrets."""

    host: str
    port: int
    password_file: Path
    http_port: int
    desk_token_file: Path
    staff_token_file: Path


def hub_toml(
    d: Path,
    files: Path,
    links: HubLinks,
    roster: Mapping[str, str],
    name: str | None = None,
    http: str = "",
    head_office: HeadOfficeLink | None = None,
) -> str:
    """hub.toml for a hub kept in `d` (state/, hub.sock), reading the venue's `files`;
    `http`: more lines for its [http] section; `roster`: its [gates]; `head_office`: its [hq]."""
    return (
        "[hub]\n"
        + (f'name = "{name}"\n' if name else "")
        + f'state_dir = "{d / "state"}"\npolicy = "{files / "policy.toml"}"\n'
        f'control_socket = "{d / "hub.sock"}"\nallowlist_csv = "{files / "allowlist"}"\n'
        "[mqtt]\n"
        f'host = "{links.host}"\nport = {links.port}\n'
        f'password_file = "{links.password_file}"\n'
        f'[http]\nbind = "127.0.0.1"\nport = {links.http_port}\n'
        f'desk_token_file = "{links.desk_token_file}"\n'
        f'staff_token_file = "{links.staff_token_file}"\n'
        + (f"{http}\n" if http else "")
        + (head_office.hub_section() if head_office is not None else "")
        + "[gates]  # the venue's roster: what each gate may say\n"
        + "".join(f'{gate} = "{role}"\n' for gate, role in roster.items())
    )


@dataclass(frozen=True)
class HeadOfficeLink:
    """How a venue reaches the chain's head office: its id there, `url` listing every cluster
    node's MQTT address (`mqtt://host:port,host:port`: its broker's bridge fails over between
    them), and the venue's user on the cluster with its password's file."""

    venue: str
    url: str
    user: str
    password_file: Path

    def bridge(self) -> HqBridge:
        """The venue broker's bridge to head office; its own local user's password made here."""
        return HqBridge.of(
            venue=self.venue,
            url=self.url,
            username=self.user,
            password=self.password_file.read_text().strip(),
            local_password=secrets.token_urlsafe(18),
        )

    def hub_section(self) -> str:
        """hub.toml's [hq] section: the hub forwards to head office through its broker."""
        return (
            f'[hq]\nurl = "{self.url}"\nvenue = "{self.venue}"\n'
            f'username = "{self.user}"\npassword_file = "{self.password_file}"\n'
        )


@dataclass(frozen=True)
class GateLink:
    """How a gate reaches the broker: host, port, the venue CA (None: plain MQTT), password."""

    host: str
    port: int
    password_file: Path
    tls_ca: Path | None = None


def gate_toml(
    gate: str, role: str, d: Path, state: Path, files: Path, link: GateLink, allowlist: bool = True
) -> str:
    """gate.toml for a gate kept in `d` (profile.toml, gate.sock), its state in `state`,
    reading the venue's `files` (without `allowlist`, it gets its allowlist from the hub alone)."""
    csv = f'allowlist_csv = "{files / "allowlist"}"\n' if allowlist else ""
    tls = f'tls_ca = "{link.tls_ca}"\n' if link.tls_ca is not None else ""
    return (
        "[gate]\n"
        f'id = "{gate}"\nrole = "{role}"\nprofile = "{d / "profile.toml"}"\n'
        f'state_dir = "{state}"\nsite_key = "{files / "site.key"}"\n'
        f'policy = "{files / "policy.toml"}"\n'
        f'{csv}control_socket = "{d / "gate.sock"}"\n'
        "test_scans_open_pairing = true  # the visitors' test scans stand for their bands\n"
        "[link]\n"
        f'host = "{link.host}"\nport = {link.port}\n{tls}'
        f'password_file = "{link.password_file}"\n'
        "ack_timeout_s = 2.0\n"
    )


def profile_toml(spec: GateSpec, reader: str, scanner: str | None) -> str:
    """The gate's hardware: its reader (nfcpy's `udp:` device facing an emulated field),
    the desk's scanner pty, its mock pins."""
    profile = [
        f"# {spec.id}: {spec.what}\n",
        f'[reader]\ndevice = "{reader}"\ndebounce_s = 0.3\n',
        f'originality_key = "{ORIGINALITY_KEY}"  # the emulated bands\' test key pair\n',
    ]
    if scanner is not None:
        profile.append(f'[scanner]\nport = "{scanner}"\nterminator = "CR"\n')
    profile.append(f"[pins]\n{PINS[spec.role]}")
    return "".join(profile)
