"""Installing wristgate on a Raspberry Pi: a gate (`scripts/install-gate`) or the hub
(`scripts/install-hub`), from the clone the script runs in. docs/install.md is the technician's
page.

    install-gate --gate-id X1 --role exit --profile turnstile-pn532 [--broker HOST[:PORT]]
                 [--ca FILE | --plain-mqtt] [--broker-password FILE] [--site-key FILE] [--root DIR]
    install-hub  [--gates E1:entry,X1:exit,D1:desk] [--bind-address ADDR] [--broker-names NAME,...]
                 [--ca-cert FILE [--ca-key FILE]] [--broker-cert FILE --broker-key FILE]
                 [--plain-mqtt] [--root DIR]

The broker speaks TLS to the gates (port 8883) with a venue CA the hub makes (deploy/tls.py) or is
given; its plain port 1883 serves the hub's own clients on 127.0.0.1 only. A gate gets the CA
(--ca) and checks the broker's certificate and name; plain MQTT across the network only with
--plain-mqtt on both.

Both are idempotent: run again with the same arguments, they change nothing (same bytes, same
modes, same secrets). Secrets (the site key, tokens, broker passwords) are generated once and kept.
Files an operator edits are created only when absent (policy.toml, the allowlist CSVs); gate.toml
and hub.toml are kept as long as they say what the arguments say, otherwise the new rendering is
written beside them as `gate.toml.new` / `hub.toml.new` for the operator to merge. Files the
project ships (units, udev rules, the broker's configuration and ACL) are rewritten when they
differ from the clone's.

With `--root DIR` everything lands under DIR and nothing outside it is touched: the service user
and groups are written into DIR/etc/passwd and DIR/etc/group (and DIR/etc/shadow, DIR/etc/gshadow
when DIR has them), no file is chowned, and neither useradd nor systemctl nor udevadm runs. Every
run writes a manifest, /etc/wristgate/install-gate.manifest or install-hub.manifest, with the mode
and owner each path has on a real install (`MODE OWNER:GROUP PATH` per line).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import grp
import hashlib
import hmac
import os
import pwd
import re
import secrets
import stat
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from deploy.broker import (
    DISPLAY_USER,
    EXAMPLE_TLS,
    HUB_USER,
    LOOPBACK,
    BrokerError,
    BrokerUnavailable,
    Credentials,
    TlsListener,
    add_user,
    check_gate_id,
    find_program,
    render_config,
    write_acl,
)
from deploy.tls import BrokerTls, TlsError, broker_tls, check_ca_file, hub_names, this_hostname
from deploy.unit_network import GATE_DROPIN, broker_dropin
from gate.config import ConfigError
from gate.core.authority import GATE_ROLES
from gate.devices.nfc.token import KeyFileError, load_keyring
from gate.link.client import is_loopback
from gate.link.protocol import DEFAULT_PREFIX
from gate.settings import load_gate_config
from gate.store.allowlist.csvdir import COLUMNS
from hub.config import load_hub_config

REPO = Path(__file__).resolve().parent.parent
FIRMWARE = REPO / "firmware_configs"
PROFILES = FIRMWARE / "profiles"

USER = GROUP = "wristgate"
HOME = "/var/lib/wristgate"  # the user's home and the gate's state directory
HUB_STATE = "/var/lib/wristgate-hub"
GATE_GROUPS = ("gpio", "dialout")  # GPIO chips; serial readers and scanners
NOLOGIN = "/usr/sbin/nologin"
SYSTEM_IDS = range(999, 99, -1)  # Debian's system range, taken from the top as useradd does

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
HUB_SETTLE_S = 3.0  # after starting the hub, how long it must stay up to count as running

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class InstallError(Exception):
    """The install cannot go on; the message says what to do. Exit status 1."""


class UsageError(InstallError):
    """Arguments that cannot be installed (a bad gate id, an unknown profile). Exit status 2."""


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


class Target:
    """The machine being installed: `/` for real, or a directory (`--root`) to fill.

    Every write goes through here: files are written only when their content changes (atomically,
    synced), modes always enforced, owners set on a real install only, and each change is
    printed. `manifest` collects the mode and owner of every path it manages.
    """

    def __init__(self, root: Path | None, prog: str, out: Any = None) -> None:
        self.live = root is None
        self.root = Path("/") if root is None else root.resolve()
        self.prog = prog
        self.out = out or sys.stdout
        self.changes: list[str] = []
        self.notes: list[str] = []
        self.manifest: dict[str, Owner] = {}

    def at(self, path: str) -> Path:
        return self.root / path.lstrip("/")

    def changed(self, what: str, path: str) -> None:
        self.changes.append(path)
        print(f"  {what:<9} {path}", file=self.out)

    def note(self, text: str) -> None:
        self.notes.append(text)

    # --- owners and modes -----------------------------------------------------------------------

    def own(self, path: str, owner: Owner, *, fresh: bool = False) -> None:
        """Mode (and, on a real install, owner) of `path`; said unless `fresh`ly written."""
        real = self.at(path)
        self.manifest[path] = owner
        st = real.lstat()
        if stat.S_IMODE(st.st_mode) != owner.mode:
            os.chmod(real, owner.mode)
            if not fresh:
                self.changed(f"mode {owner.mode:04o}", path)
        if self.live:
            uid, gid = pwd.getpwnam(owner.user).pw_uid, grp.getgrnam(owner.group).gr_gid
            if (st.st_uid, st.st_gid) != (uid, gid):
                os.chown(real, uid, gid)
                if not fresh:
                    self.changed("owner", f"{path} ({owner.user}:{owner.group})")

    # --- directories, files, links --------------------------------------------------------------

    def directory(self, path: str, owner: Owner = ROOT_DIR) -> None:
        real = self.at(path)
        if real.is_symlink() or (real.exists() and not real.is_dir()):
            raise InstallError(f"{path} exists and is not a directory: move it away")
        fresh = not real.exists()
        if fresh:
            real.parent.mkdir(parents=True, exist_ok=True)
            real.mkdir(owner.mode)
            self.changed("created", path)
        self.own(path, owner, fresh=fresh)

    def read(self, path: str) -> bytes | None:
        real = self.at(path)
        if real.is_symlink() or (real.exists() and not real.is_file()):
            raise InstallError(f"{path} exists and is not a regular file: move it away")
        return real.read_bytes() if real.exists() else None

    def file(
        self, path: str, content: bytes, owner: Owner = ROOT_FILE, *, keep: bool = False
    ) -> None:
        """`path` holding `content`; with `keep`, an existing file is left as it is (its mode and
        owner still enforced)."""
        current = self.read(path)
        fresh = current is None or (current != content and not keep)
        if fresh:
            self._write(path, content, owner.mode)
            self.changed("wrote" if current is None else "updated", path)
        self.own(path, owner, fresh=fresh)

    def secret(self, path: str, make: Callable[[], str], owner: Owner = SECRET) -> str:
        """The secret in `path`, generated by `make` when the file is absent or empty; kept else."""
        current = self.read(path)
        value = current.decode(errors="replace").strip() if current is not None else ""
        fresh = not value
        if fresh:
            value = make()
            self._write(path, f"{value}\n".encode(), owner.mode)
            self.changed("generated", path)
        self.own(path, owner, fresh=fresh)
        return value

    def remove(self, path: str) -> None:
        real = self.at(path)
        if real.is_file() and not real.is_symlink():
            real.unlink()
            self.changed("removed", path)

    def symlink(self, path: str, target: str) -> None:
        real = self.at(path)
        if real.is_symlink() and os.readlink(real) == target:
            return
        if real.exists() and not real.is_symlink():
            self.note(f"{path} exists and is not a link: left alone (wanted a link to {target})")
            return
        real.parent.mkdir(parents=True, exist_ok=True)
        tmp = real.with_name(f".{real.name}.tmp{os.getpid()}")
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(target)
        tmp.replace(real)
        self.changed("linked", f"{path} -> {target}")

    def _write(self, path: str, content: bytes, mode: int) -> None:
        real = self.at(path)
        real.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{real.name}.", dir=real.parent)
        try:
            os.fchmod(fd, mode)  # before the content: a secret is never readable by others
            with os.fdopen(fd, "wb") as f:
                f.write(content)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, real)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        dir_fd = os.open(real.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)  # an SD card and a power cut right after the install
        finally:
            os.close(dir_fd)

    def write_manifest(self, path: str) -> None:
        self.manifest[path] = ROOT_FILE
        lines = [
            f"# Written by {self.prog}: every path it manages, with its mode and owner.",
            "# On a real install these are applied; with --root they are only recorded here.",
            "# MODE OWNER:GROUP PATH",
            *(self.manifest[p].line(p) for p in sorted(self.manifest)),
        ]
        self.file(path, ("\n".join(lines) + "\n").encode(), ROOT_FILE)

    # --- running programs -----------------------------------------------------------------------

    @property
    def systemd(self) -> bool:
        """systemctl is used on a real install of a machine booted with systemd only."""
        return self.live and Path("/run/systemd/system").is_dir()

    def run(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        if not self.live:
            raise AssertionError(f"{argv[0]} with --root")  # never touch the host from a root
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
        if check and done.returncode != 0:
            output = (done.stderr or done.stdout).strip()
            raise InstallError(f"{' '.join(argv)} failed ({done.returncode}): {output}")
        return done


# --- users and groups -----------------------------------------------------------------------------


def _read_db(path: Path) -> list[list[str]]:
    if not path.exists():
        return []
    return [line.split(":") for line in path.read_text().splitlines() if line.strip()]


def _write_db(t: Target, path: str, rows: list[list[str]], mode: int) -> None:
    real = t.at(path)
    existed = real.exists()
    if existed:
        mode = stat.S_IMODE(real.stat().st_mode)  # shadow files keep theirs
    t._write(path, ("".join(":".join(r) + "\n" for r in rows)).encode(), mode)
    t.changed("updated" if existed else "wrote", path)


def _free_id(taken: Iterable[str], prefer: int | None = None) -> int:
    used = {int(i) for i in taken if i.isdigit()}
    if prefer is not None and prefer not in used:
        return prefer
    for candidate in SYSTEM_IDS:
        if candidate not in used:
            return candidate
    raise InstallError("no free system id left (100-999)")


def ensure_group(t: Target, name: str) -> None:
    """A system group `name` (created when absent)."""
    if t.live:
        try:
            grp.getgrnam(name)
        except KeyError:
            t.run("groupadd", "--system", name)
            t.changed("group", name)
        return
    rows = _read_db(t.at("/etc/group"))
    if any(r[0] == name for r in rows):
        return
    gid = _free_id(r[2] for r in rows if len(r) > 2)
    _write_db(t, "/etc/group", [*rows, [name, "x", str(gid), ""]], 0o644)
    gshadow = t.at("/etc/gshadow")
    if gshadow.exists():
        _write_db(t, "/etc/gshadow", [*_read_db(gshadow), [name, "!", "", ""]], 0o640)


def ensure_user(t: Target, groups: Sequence[str]) -> None:
    """The system user `wristgate` (no login, home /var/lib/wristgate, group wristgate), in
    `groups` too. An existing user is kept; only missing group memberships are added."""
    ensure_group(t, GROUP)
    for g in groups:
        ensure_group(t, g)
    if t.live:
        try:
            pwd.getpwnam(USER)
        except KeyError:
            t.run(
                "useradd", "--system", "--gid", GROUP, "--home-dir", HOME, "--no-create-home",
                "--shell", NOLOGIN, "--comment", "wristgate", USER,
            )  # fmt: skip
            t.changed("user", USER)
        for g in groups:
            if USER not in grp.getgrnam(g).gr_mem:
                t.run("usermod", "--append", "--groups", g, USER)
                t.changed("member", f"{USER} in {g}")
        return
    passwd = _read_db(t.at("/etc/passwd"))
    if not any(r[0] == USER for r in passwd):
        gid = next(r[2] for r in _read_db(t.at("/etc/group")) if r[0] == GROUP)
        uid = _free_id((r[2] for r in passwd if len(r) > 2), prefer=int(gid))
        row = [USER, "x", str(uid), gid, "wristgate", HOME, NOLOGIN]
        _write_db(t, "/etc/passwd", [*passwd, row], 0o644)
        shadow = t.at("/etc/shadow")
        if shadow.exists() and not any(r[0] == USER for r in _read_db(shadow)):
            _write_db(t, "/etc/shadow", [*_read_db(shadow), [USER, "!", *[""] * 7]], 0o640)
    for db, members_at in (("/etc/group", 3), ("/etc/gshadow", 3)):
        if not t.at(db).exists():
            continue
        rows = _read_db(t.at(db))
        touched = False
        for r in rows:
            if r[0] in groups and len(r) > members_at:
                members = [m for m in r[members_at].split(",") if m]
                if USER not in members:
                    r[members_at] = ",".join([*members, USER])
                    touched = True
        if touched:
            _write_db(t, db, rows, 0o644)


# --- TOML rendering -------------------------------------------------------------------------------

Keys = dict[str, dict[str, str | int | None]]  # section -> key -> value; None: the key is off

_SECTION = re.compile(r"^\[(?P<name>[A-Za-z0-9_.-]+)\]")
_KEY = re.compile(r'^(?P<key>[A-Za-z0-9_-]+)\s*=\s*(?P<value>"[^"]*"|[^#\s]+)\s*(?P<note>#.*)?$')


def toml_value(value: str | int | None) -> str:
    if value is None:
        raise ValueError("no TOML for an unset key")
    if isinstance(value, int):
        return str(value)
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    if any(ord(c) < 0x20 for c in escaped):
        raise UsageError(f"{value!r}: control characters are not allowed")
    return f'"{escaped}"'


def set_keys(text: str, values: Keys) -> str:
    """`text` (TOML with comments) with `values` set, section by section: an existing line
    `key = ...` gets the new value (its comment kept in its column); a missing key goes after
    the last key of its section; a missing section is appended."""
    pending = {section: dict(keys) for section, keys in values.items()}
    lines = text.splitlines()
    out: list[str] = []
    section = ""
    last_key: dict[str, int] = {}  # section -> index in `out` of its last key line

    for line in lines:
        if m := _SECTION.match(line):
            section = m["name"]
            last_key[section] = len(out)
        elif (m := _KEY.match(line)) and m["key"] in pending.get(section, {}):
            value = pending[section].pop(m["key"])
            last_key[section] = len(out)
            if value is None:
                line = f"# {line}"  # switched off, still shown
            else:
                new = f"{m['key']} = {toml_value(value)}"
                if m["note"]:
                    column = len(line) - len(m["note"])
                    new = new.ljust(column) if len(new) < column else f"{new} "
                    new += m["note"]
                line = new
        elif _KEY.match(line):
            last_key[section] = len(out)
        out.append(line)

    def assignments(keys: dict[str, str | int | None]) -> list[str]:
        return [f"{k} = {toml_value(v)}" for k, v in keys.items() if v is not None]

    for name in sorted((s for s in pending if s in last_key), key=lambda s: -last_key[s]):
        at = last_key[name] + 1
        out[at:at] = assignments(pending.pop(name))
    for name, keys in pending.items():
        if assignments(keys):
            out += ["", f"[{name}]", *assignments(keys)]
    return "\n".join(out) + "\n"


def differences(path: Path, wanted: Keys) -> list[str]:
    """What an existing TOML file says otherwise than `wanted` (section.key: has, wants)."""
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except tomllib.TOMLDecodeError as exc:
        return [f"not valid TOML: {exc}"]
    found = []
    for section, keys in wanted.items():
        has = data.get(section, {})
        has = has if isinstance(has, dict) else {}
        for key, value in keys.items():
            if has.get(key) != value:
                got = "not set" if key not in has else repr(has[key])
                wants = "leaves it unset" if value is None else f"writes {value!r}"
                found.append(f"{section}.{key} is {got}, this install {wants}")
    return found


def install_config(t: Target, path: str, rendered: str, wanted: Keys) -> None:
    """gate.toml / hub.toml: written when absent; kept when it says what `wanted` says (the
    operator's other edits stay); otherwise kept too, with the new rendering beside it (.new)."""
    newer = f"{path}.new"
    if t.read(path) is None:
        t.file(path, rendered.encode(), CONFIG)
        t.remove(newer)
        return
    found = differences(t.at(path), wanted)
    t.own(path, CONFIG)
    if not found:
        t.remove(newer)
        return
    t.file(newer, rendered.encode(), CONFIG)
    t.note(
        f"{path} kept: {'; '.join(found)}. The rendering for these arguments is {newer}: "
        f"merge it, or `mv {newer} {path}`, and run the install again."
    )


def check_config(rendered: str, load: Callable[[Path], Any], name: str) -> Any:
    """Load a rendering the way the service will (a wrong id/role/profile stops here)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_text(rendered)
        try:
            return load(path)
        except ConfigError as exc:
            raise UsageError(str(exc).replace(str(path), name)) from None


# --- shared by both roles -------------------------------------------------------------------------


def _timezone(t: Target) -> str:
    """The machine's IANA timezone, for the policy's first draft; UTC when unknown."""
    candidates = []
    localtime = t.at("/etc/localtime")
    if localtime.is_symlink():
        target = os.readlink(localtime)
        if "zoneinfo/" in target:
            candidates.append(target.split("zoneinfo/", 1)[1])
    with contextlib.suppress(OSError):
        candidates.append(t.at("/etc/timezone").read_text().strip())
    for name in candidates:
        with contextlib.suppress(ZoneInfoNotFoundError, ValueError):
            ZoneInfo(name)
            return name
    return "UTC"


def policy_example(timezone: str) -> str:
    return f"""\
# {POLICY} - the venue's day; the same file on every gate and on the hub.
# Written once by the installer with placeholder hours: set the venue's own before opening.
timezone = {toml_value(timezone):<14} # IANA name (this machine's timezone when installed)
open = "09:00"            # local time, HH:MM
close = "18:00"           # a close before open spans midnight; equal means around the clock
capacity = 1000           # people inside at most
pairing_window_s = 60     # seconds a child's exit may follow its adult's at the same gate
"""


def install_common(t: Target) -> None:
    """/etc/wristgate, the policy and the allowlist directory (examples, never overwritten)."""
    t.directory(ETC, ROOT_DIR)  # the gate unit's ConfigurationDirectory= has mode 0755
    t.directory(HOME, STATE_DIR)
    t.file(POLICY, policy_example(_timezone(t)).encode(), CONFIG, keep=True)
    t.directory(ALLOWLIST, CONFIG_DIR)
    for name, columns in COLUMNS.items():  # headers only: a gate starts with an empty allowlist
        t.file(f"{ALLOWLIST}/{name}", (",".join(columns) + "\n").encode(), CONFIG, keep=True)


def code_dir(explicit: str | None, t: Target) -> str:
    """Where the code lives on the target: --code-dir, or this clone (less the root it is in)."""
    if explicit:
        if not explicit.startswith("/"):
            raise UsageError(f"--code-dir {explicit}: give an absolute path")
        return explicit.rstrip("/") or "/"
    if not t.live:
        with contextlib.suppress(ValueError):
            return "/" + str(REPO.relative_to(t.root))
    return str(REPO)


def check_code_dir(t: Target, code: str, program: str) -> None:
    if code == "/home" or code.startswith(("/home/", "/root/", "/root")):
        message = (
            f"the code is in {code}, which the service cannot see (ProtectHome=yes): "
            f"clone it to {CODE_DIR_IN_UNITS} (docs/install.md)"
        )
        if t.live:
            raise InstallError(message)
        t.note(message)
    if not t.live:
        return
    if not os.access(f"{code}/.venv/bin/{program}", os.X_OK):
        raise InstallError(f"{code}/.venv/bin/{program} is missing: run {code}/scripts/bootstrap")
    python = os.path.realpath(f"{code}/.venv/bin/python")
    if python.startswith(("/home/", "/root/")):
        raise InstallError(
            f"{code}/.venv runs {python}, which the wristgate user cannot reach: make the venv "
            f"with Debian's python3 (rm -r {code}/.venv; {code}/scripts/bootstrap)"
        )


def unit_text(name: str, code: str) -> bytes:
    return (REPO / "systemd" / name).read_text().replace(CODE_DIR_IN_UNITS, code).encode()


def _secret_token() -> str:
    return secrets.token_urlsafe(32)


# --- the gate -------------------------------------------------------------------------------------


def parse_broker(value: str, default_port: int = BROKER_TLS_PORT) -> tuple[str, int]:
    """HOST, HOST:PORT, [V6ADDR] or [V6ADDR]:PORT."""
    host, port = value, str(default_port)
    if value.startswith("["):
        host, _, rest = value[1:].partition("]")
        if rest:
            if not rest.startswith(":"):
                raise UsageError(f"--broker {value}: expected [ADDRESS]:PORT")
            port = rest[1:]
    elif value.count(":") == 1:
        host, port = value.split(":")
    if not re.fullmatch(r"[A-Za-z0-9.:-]+", host) or not port.isdigit():
        raise UsageError(f"--broker {value}: expected HOST or HOST:PORT")
    if not 0 < int(port) < 65536:
        raise UsageError(f"--broker {value}: {port} is not a TCP port")
    return host, int(port)


def gate_password_file(gate_id: str) -> str:
    return f"{PASSWORDS}/{gate_id}.password"


def render_gate_toml(
    gate_id: str,
    role: str,
    profile: str,
    broker: tuple[str, int] | None,
    tls_ca: str | None = None,
    plain: bool = False,
) -> tuple[str, Keys]:
    """gate.toml from the example, and the keys the arguments decide.

    A linked gate takes its allowlist from the hub only: it imports no local CSVs at first start,
    whose version 1 would make it ignore the hub's own first version."""
    gate: dict[str, str | int | None] = {"id": gate_id, "role": role, "profile": profile}
    if broker is not None:
        gate["allowlist_csv"] = None
    wanted: Keys = {"gate": gate}
    text = set_keys((FIRMWARE / "gate.toml.example").read_text(), wanted)
    if broker is not None:
        host, port = broker
        link: dict[str, str | int | None] = {
            "host": host,
            "port": port,
            "password_file": gate_password_file(gate_id),
            "tls_ca": tls_ca,
        }
        wanted["link"] = link
        text += (
            "\n[link]                                   # the venue's broker, on the hub\n"
            "# The allowlist comes from the hub: allowlist_csv above is off.\n"
            f"host = {toml_value(host)}\n"
            f"port = {port}\n"
            f"password_file = {toml_value(gate_password_file(gate_id))}"
            "  # from the hub; mode 0600, owner wristgate\n"
        )
        if tls_ca is not None:
            text += f"tls_ca = {toml_value(tls_ca)}  # the venue CA: checks the broker\n"
        if plain:
            link["tls"] = False
            text += "tls = false  # plain MQTT on purpose (--plain-mqtt): no TLS\n"
    return text, wanted


def site_key_example() -> str:
    return (
        f"# {SITE_KEY} - chmod 600, owner wristgate. One key per line: KEY_ID HEX, current first.\n"
        "# Generated by scripts/install-gate. Every gate of a venue must hold the same key: copy\n"
        "# this file to the others (scripts/install-gate ... --site-key FILE).\n"
        f"1 {secrets.token_hex(32)}\n"
    )


def _checked_key(source: Path) -> bytes:
    """A site key file given with --site-key, refused if it is not one."""
    try:
        content = source.read_bytes()
    except OSError as exc:
        raise UsageError(f"--site-key {source}: {exc.strerror}") from None
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "site.key"
        copy.write_bytes(content)
        copy.chmod(0o600)
        try:
            load_keyring(copy)
        except KeyFileError as exc:
            raise UsageError(f"--site-key {source}: {str(exc).replace(str(copy), 'key')}") from None
    return content


def _check_site_key(t: Target) -> None:
    """A kept site key the gate would refuse, or the example's, is said (never replaced)."""
    try:
        load_keyring(t.at(SITE_KEY))
    except KeyFileError as exc:
        t.note(f"{SITE_KEY} kept, but the gate will refuse it: {exc}")
        return
    if EXAMPLE_KEY in (t.read(SITE_KEY) or b""):
        t.note(f"{SITE_KEY} holds the example key: NEVER use it on a site (--site-key FILE)")


def _checked_password(source: Path) -> bytes:
    try:
        content = source.read_bytes()
    except OSError as exc:
        raise UsageError(f"--broker-password {source}: {exc.strerror}") from None
    text = content.decode(errors="replace").strip()
    if not text or "\n" in text:
        raise UsageError(f"--broker-password {source}: expected one line, the gate's password")
    return content


def _gate_ca(args: argparse.Namespace, broker: tuple[str, int] | None) -> bytes | None:
    """The venue CA given with --ca, checked; refuses a remote broker with neither --ca nor
    --plain-mqtt, since its password would cross the network in clear text."""
    if args.ca and args.plain_mqtt:
        raise UsageError("--ca and --plain-mqtt: say one or the other")
    if (args.ca or args.plain_mqtt) and broker is None:
        raise UsageError(f"{'--ca' if args.ca else '--plain-mqtt'} goes with --broker")
    if args.ca:
        try:
            content = Path(args.ca).read_bytes()
            check_ca_file(content, f"--ca {args.ca}")
        except OSError as exc:
            raise UsageError(f"--ca {args.ca}: {exc.strerror}") from None
        except TlsError as exc:
            raise UsageError(str(exc)) from None
        return content
    if broker is not None and not args.plain_mqtt and not is_loopback(broker[0]):
        raise UsageError(
            f"--broker {broker[0]} is another machine: give --ca FILE (the hub's {VENUE_CA}) so "
            "the gate talks TLS and checks the broker, or --plain-mqtt for plain MQTT on an "
            "isolated gate network (the gate's password then crosses it in clear text)"
        )
    return None


def _uart_notes(t: Target, device: str) -> None:
    """A PN532 on the Pi's UART needs it enabled and the serial console off (warned only)."""
    if not re.match(r"tty:(AMA|S)\d", device):
        return
    boot = next((d for d in ("/boot/firmware", "/boot") if t.at(f"{d}/config.txt").exists()), None)
    if boot is None:
        return
    config = t.at(f"{boot}/config.txt").read_text(errors="replace")
    if not re.search(r"^\s*enable_uart\s*=\s*1\s*$", config, re.M):
        t.note(f"{boot}/config.txt lacks enable_uart=1: the reader on {device} cannot work")
    cmdline = t.at(f"{boot}/cmdline.txt")
    if cmdline.exists() and re.search(r"console=(serial0|ttyAMA0|ttyS0)", cmdline.read_text()):
        t.note(f"{boot}/cmdline.txt has a serial console: raspi-config nonint do_serial_cons 1")


def install_gate(args: argparse.Namespace, t: Target) -> None:
    try:
        gate_id = check_gate_id(args.gate_id)
    except BrokerError as exc:
        raise UsageError(f"--gate-id: {exc}") from None
    if not (PROFILES / f"{args.profile}.toml").is_file():
        shipped = ", ".join(sorted(p.stem for p in PROFILES.glob("*.toml")))
        raise UsageError(f"--profile {args.profile}: no such profile; shipped: {shipped}")
    port = BROKER_TLS_PORT if args.ca else BROKER_PORT
    broker = parse_broker(args.broker, port) if args.broker else None
    if args.broker_password and broker is None:
        raise UsageError("--broker-password goes with --broker")
    ca = _gate_ca(args, broker)
    rendered, wanted = render_gate_toml(
        gate_id, args.role, args.profile, broker, GATE_CA if ca else None, args.plain_mqtt
    )
    config = check_config(rendered, load_gate_config, "gate.toml")
    site_key = _checked_key(Path(args.site_key)) if args.site_key else None
    password = _checked_password(Path(args.broker_password)) if args.broker_password else None
    code = code_dir(args.code_dir, t)
    check_code_dir(t, code, "gate")

    ensure_user(t, GATE_GROUPS)
    install_common(t)
    if site_key is None:
        t.secret(SITE_KEY, lambda: site_key_example().rstrip("\n"))
    else:
        t.file(SITE_KEY, site_key, SECRET)
    _check_site_key(t)
    install_config(t, GATE_TOML, rendered, wanted)
    if ca is not None:
        t.file(GATE_CA, ca, ROOT_FILE)
    ready = True
    if broker is not None:
        t.directory(PASSWORDS, CONFIG_DIR)
        pw = gate_password_file(gate_id)
        if password is not None:
            t.file(pw, password, SECRET)
        elif t.read(pw) is not None:
            t.own(pw, SECRET)
        else:
            ready = False
            t.note(
                f"{pw} is missing: copy it from the hub (install-hub generated it there), "
                "e.g. run this again with --broker-password FILE; the gate starts once it is there"
            )
    t.file(UDEV_RULES, (FIRMWARE / "udev" / "99-wristgate.rules").read_bytes())
    t.file(BLACKLIST, (FIRMWARE / "udev" / "blacklist-pn533.conf").read_bytes())
    t.file(GATE_UNIT, unit_text("gate.service", code))
    _broker_dropin(t, broker)
    for program in ("gate", "gatectl"):
        t.symlink(f"{BIN}/{program}", f"{code}/.venv/bin/{program}")
    if config.hardware.reader is not None:
        _uart_notes(t, config.hardware.reader.device)
    if site_key is None and SITE_KEY in t.changes:
        t.note(
            f"{SITE_KEY} is a new key of this gate's own: every gate of the venue needs the same "
            "one (bands written at the desk are checked with it). Copy the venue's key here with "
            "--site-key FILE, or this one to the other gates."
        )
    t.write_manifest(f"{ETC}/install-gate.manifest")
    if t.systemd:
        _systemd_gate(t, ready)


def _broker_dropin(t: Target, broker: tuple[str, int] | None) -> None:
    """The unit lets the gate reach the LAN only: a broker elsewhere gets a drop-in."""
    dropin, note = broker_dropin(broker[0]) if broker is not None else (None, None)
    if dropin is not None:
        t.directory(str(Path(GATE_DROPIN).parent))
        t.file(GATE_DROPIN, dropin)
    else:
        t.remove(GATE_DROPIN)
    if note:
        t.note(note)


def _systemd_gate(t: Target, ready: bool) -> None:
    unit = Path(GATE_UNIT).name
    if UDEV_RULES in t.changes:
        t.run("udevadm", "control", "--reload")
        t.run("udevadm", "trigger", "--subsystem-match=tty", "--subsystem-match=usb")
    if BLACKLIST in t.changes:
        t.note("the pn533 blacklist takes effect at the next boot (or: modprobe -r pn533_usb)")
    if GATE_UNIT in t.changes or GATE_DROPIN in t.changes:
        t.run("systemctl", "daemon-reload")
    t.run("systemctl", "enable", "--quiet", unit)
    if not ready:
        return
    active = t.run("systemctl", "is-active", "--quiet", unit, check=False).returncode == 0
    if active and not t.changes:
        return
    try:
        t.run("systemctl", "restart" if active else "start", unit)
    except InstallError as exc:
        raise InstallError(f"{exc}\nsee: journalctl -u {unit} -e") from None


# --- the hub --------------------------------------------------------------------------------------


def parse_gates(value: str | None) -> tuple[list[str], dict[str, str]]:
    """`--gates E1:entry,X1:exit,H2`: the gate ids (each gets a broker user) and the roles
    given (the venue's roster, `[gates]` of hub.toml). A bare id only gets its user."""
    gates: list[str] = []
    roles: dict[str, str] = {}
    for item in (value or "").split(","):
        gate, _, role = (part.strip() for part in item.partition(":"))
        if not gate:
            continue
        try:
            check_gate_id(gate)
        except BrokerError as exc:
            raise UsageError(f"--gates: {exc}") from None
        if role and role not in GATE_ROLES:
            raise UsageError(f"--gates: {gate}: role {role!r} is none of {', '.join(GATE_ROLES)}")
        if role and roles.get(gate, role) != role:
            raise UsageError(f"--gates: {gate} given two roles")
        if gate not in gates:
            gates.append(gate)
        if role:
            roles[gate] = role
    return gates, roles


def check_roster_covers(
    roster: dict[str, str], given: dict[str, str], users: Iterable[str]
) -> None:
    """Once the venue has a roster, every gate needs a role on it: the hub refuses all entries of
    a gate the roster leaves out (`unknown_gate`). `users`: --gates and the password file's
    users. A venue with no roster yet may add bare gates (the hub warns `no_roster`)."""
    if not roster:
        return
    left_out = sorted({u for u in users if _gate_id(u)} - set(roster))  # hub, display: no
    if left_out:
        example = ",".join(
            [*(f"{g}:{r}" for g, r in given.items()), *(f"{g}:ROLE" for g in left_out)]
        )
        raise UsageError(
            f"--gates: the roster ([gates] of hub.toml) would leave out {', '.join(left_out)}: "
            "the hub would refuse every entry of theirs as unknown_gate. Give each its role "
            f"({', '.join(GATE_ROLES)}): install-hub --gates {example}"
        )


def _gate_id(name: str) -> bool:
    try:
        check_gate_id(name)
    except BrokerError:
        return False
    return True


def render_hub_toml(
    bind_address: str, roster: dict[str, str] | None = None, tls: bool = True
) -> tuple[str, Keys]:
    """hub.toml from the example, and the keys the install decides (`roster`: [gates]). With TLS
    the hub stays on the broker's plain port on 127.0.0.1, which only this machine reaches."""
    host = LOOPBACK if tls or bind_address in ("0.0.0.0", "::") else bind_address
    wanted: Keys = {
        "hub": {"control_socket": HUB_SOCKET},
        "mqtt": {
            "host": host,
            "port": BROKER_PORT,
            "username": HUB_USER,
            "password_file": f"{PASSWORDS}/{HUB_USER}.password",
        },
        "http": {"desk_token_file": DESK_TOKEN, "staff_token_file": STAFF_TOKEN},
    }
    if roster:
        wanted["gates"] = dict(sorted(roster.items()))
    return set_keys((FIRMWARE / "hub.toml.example").read_text(), wanted), wanted


def password_matches(hashed: str, password: str) -> bool | None:
    """Whether a Mosquitto password file hash is `password`'s; None for a format not known here.

    `$7$ITERATIONS$SALT$HASH`: PBKDF2-HMAC-SHA512 (Mosquitto 2); `$6$SALT$HASH`: SHA-512 of the
    password and the salt (Mosquitto 1.x). Salts and hashes in base64."""
    parts = hashed.split("$")
    try:
        if len(parts) == 5 and parts[1] == "7":
            salt, digest = base64.b64decode(parts[3]), base64.b64decode(parts[4])
            mine = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, int(parts[2]))
        elif len(parts) == 4 and parts[1] == "6":
            salt, digest = base64.b64decode(parts[2]), base64.b64decode(parts[3])
            mine = hashlib.sha512(password.encode() + salt).digest()
        else:
            return None
    except ValueError:
        return None
    return hmac.compare_digest(mine, digest)


def password_file_users(t: Target) -> dict[str, str]:
    content = t.read(MOSQUITTO_PASSWD)
    users = {}
    for line in (content or b"").decode(errors="replace").splitlines():
        name, sep, hashed = line.partition(":")
        if sep and name.strip():
            users[name] = hashed.strip()
    return users


def installed_listener(t: Target) -> str | None:
    """The gates' listener address of the broker configuration this script installed before:
    the TLS listener's, else the plain one's."""
    with contextlib.suppress(InstallError, UnicodeDecodeError):
        conf = (t.read(MOSQUITTO_CONF) or b"").decode()
        if not conf.startswith(MOSQUITTO_MARK):
            return None
        tls = re.search(rf"^listener {BROKER_TLS_PORT} (\S+)$", conf, re.M)
        if tls or (tls := re.search(r"^listener \d+ (\S+)$", conf, re.M)):
            return tls[1]
    return None


def _given(path: str | None, flag: str) -> bytes | None:
    if path is None:
        return None
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise UsageError(f"{flag} {path}: {exc.strerror}") from None


def _hostname(t: Target) -> str:
    """The target's host name (its /etc/hostname with --root), for the broker's certificate."""
    with contextlib.suppress(OSError):
        if not t.live and (name := t.at("/etc/hostname").read_text().strip()):
            return name.split(".")[0]
    return this_hostname()


def plan_broker_tls(t: Target, args: argparse.Namespace, bind: str) -> BrokerTls:
    """The venue CA and the broker's certificate, decided (deploy/tls.py) and made before anything
    is written: what does not fit is refused first."""
    extra = [n.strip() for n in (args.broker_names or "").split(",") if n.strip()]
    names = hub_names(_hostname(t), bind, extra)
    given = (
        _given(args.ca_cert, "--ca-cert"),
        _given(args.ca_key, "--ca-key"),
        _given(args.broker_cert, "--broker-cert"),
        _given(args.broker_key, "--broker-key"),
    )
    kept = (t.read(VENUE_CA), t.read(VENUE_CA_KEY), t.read(BROKER_CERT), t.read(BROKER_KEY))
    try:
        return broker_tls(names=names, venue=names[0], kept=kept, given=given)
    except TlsError as exc:
        raise UsageError(str(exc)) from None


def install_broker_tls(t: Target, made: BrokerTls, bind: str) -> TlsListener:
    """The CA and the certificate written where Mosquitto and the gates' installs find them; the
    CA's key readable by root only."""
    key_file = Owner(0o600, MOSQUITTO, MOSQUITTO)  # Mosquitto reads it again on a restart
    t.directory(TLS_DIR, ROOT_DIR)
    t.file(VENUE_CA, made.ca_cert, ROOT_FILE)
    if made.ca_key is not None:
        t.file(VENUE_CA_KEY, made.ca_key, Owner(0o600))
    t.directory(str(Path(BROKER_CERT).parent), ROOT_DIR)
    t.file(BROKER_CA, made.ca_cert, ROOT_FILE)
    t.file(BROKER_CERT, made.cert, ROOT_FILE)
    t.file(BROKER_KEY, made.key, key_file)
    for note in made.notes:
        t.note(note)
    return TlsListener(BROKER_CERT, BROKER_KEY, BROKER_CA, BROKER_TLS_PORT, bind)


def install_hub(args: argparse.Namespace, t: Target) -> None:
    gates, roles = parse_gates(args.gates)
    roster = {**_installed_roster(t), **roles}  # roles given again replace those in place
    check_roster_covers(roster, roles, [*gates, *password_file_users(t)])
    bind = args.bind_address or installed_listener(t) or LOOPBACK
    tls_wanted = not args.plain_mqtt
    if args.plain_mqtt and (args.ca_cert or args.ca_key or args.broker_cert or args.broker_key):
        raise UsageError("--plain-mqtt and certificates: say one or the other")
    try:  # the bind address is checked by rendering once, before anything is written
        render_config(
            data_dir=MOSQUITTO_DATA,
            password_file=MOSQUITTO_PASSWD,
            acl_file=MOSQUITTO_ACL,
            bind_address=bind,
            port=BROKER_PORT,
        )
    except BrokerError as exc:
        raise UsageError(f"--bind-address: {exc}") from None
    try:
        find_program("mosquitto_passwd")
    except BrokerUnavailable as exc:
        raise InstallError(f"the broker's password file needs mosquitto_passwd: {exc}") from None
    if t.live:
        try:
            pwd.getpwnam(MOSQUITTO)
        except KeyError:
            raise InstallError("no user mosquitto: apt-get install mosquitto") from None
    rendered, wanted = render_hub_toml(bind, roster, tls_wanted)
    check_config(rendered, load_hub_config, "hub.toml")
    tls_made = plan_broker_tls(t, args, bind) if tls_wanted else None
    code = code_dir(args.code_dir, t)
    check_code_dir(t, code, "hub")

    ensure_user(t, ())
    install_common(t)
    t.directory(HUB_STATE, STATE_DIR)
    t.secret(DESK_TOKEN, _secret_token)
    t.secret(STAFF_TOKEN, _secret_token)
    install_config(t, HUB_TOML, rendered, wanted)
    _add_roster(t, roster)
    prefix = _effective_prefix(t)

    # One user per gate (the ones the password file has already, and --gates), the hub, the display.
    t.directory(PASSWORDS, CONFIG_DIR)
    known = password_file_users(t)
    for name in known:
        with contextlib.suppress(BrokerError):
            if name not in (HUB_USER, DISPLAY_USER) and check_gate_id(name) not in gates:
                gates.append(name)
    stored = {
        name: t.secret(f"{PASSWORDS}/{name}.password", _secret_token)
        for name in (HUB_USER, DISPLAY_USER, *gates)
    }
    credentials = Credentials(
        hub=stored.pop(HUB_USER), display=stored.pop(DISPLAY_USER), gates=stored
    )

    broker_file = Owner(0o600, MOSQUITTO, MOSQUITTO)  # Mosquitto reads them again on SIGHUP
    t.directory("/etc/mosquitto", ROOT_DIR)
    t.directory(MOSQUITTO_DATA, Owner(0o755, MOSQUITTO, "root"))  # as Debian's package has it
    tls = install_broker_tls(t, tls_made, bind) if tls_made else None
    conf = render_config(
        data_dir=MOSQUITTO_DATA,
        password_file=MOSQUITTO_PASSWD,
        acl_file=MOSQUITTO_ACL,
        bind_address=LOOPBACK if tls else bind,  # with TLS, plain MQTT for the hub itself only
        port=BROKER_PORT,
        tls=tls,
        prefix=prefix,
    ).encode()
    stock, orig = t.read(MOSQUITTO_CONF), f"{MOSQUITTO_CONF}.orig"
    if t.read(orig) is not None:
        t.own(orig, ROOT_FILE)
    elif stock is not None and not stock.startswith(MOSQUITTO_MARK.encode()):
        t.file(orig, stock, ROOT_FILE)  # Debian's own, kept once
    t.file(MOSQUITTO_CONF, conf, ROOT_FILE)
    # the roster's desks and handhelds read guardian phones: rewritten whenever gates are added
    t.file(MOSQUITTO_ACL, write_acl(prefix, roster).encode(), broker_file)
    for name, password in credentials.users().items():
        hashed = known.get(name)
        if hashed is not None and password_matches(hashed, password) is not False:
            continue  # there, with this password (or a hash this script cannot check)
        add_user(t.at(MOSQUITTO_PASSWD), name, password)
        t.changed("user", f"{MOSQUITTO_PASSWD}: {name}")
    t.own(MOSQUITTO_PASSWD, broker_file)
    others = sorted(set(known) - set(credentials.users()))
    if others:
        t.note(f"{MOSQUITTO_PASSWD} also holds {', '.join(others)}: kept")

    t.file(HUB_UNIT, unit_text("hub.service", code))
    t.symlink(f"{BIN}/hub", f"{code}/.venv/bin/hub")
    if bind == LOOPBACK:
        t.note(
            "the broker listens on 127.0.0.1 only: gates cannot reach it. Run again with "
            "--bind-address <the hub's address on the gate network>"
        )
    if tls is None and bind != LOOPBACK:
        t.note(
            f"plain MQTT on {bind} (--plain-mqtt): gate passwords cross the gate network in "
            "clear text; keep that network isolated"
        )
    t.write_manifest(f"{ETC}/install-hub.manifest")
    if t.systemd:
        _systemd_hub(t)
    print(
        f"{t.prog}: each gate's broker password is in {PASSWORDS}/<gate id>.password: "
        f"give it to the gate with install-gate --broker-password FILE",
        file=t.out,
    )
    if tls is not None:
        print(
            f"{t.prog}: gates connect with TLS to port {BROKER_TLS_PORT}: give each the venue CA, "
            f"{VENUE_CA}, with install-gate --ca FILE (never {VENUE_CA_KEY})",
            file=t.out,
        )


def _add_roster(t: Target, roster: Mapping[str, str]) -> None:
    """The roles of `--gates` added to the `[gates]` roster of the hub.toml in place (the
    operator's other lines kept): the ACL is written from it, this time and the next."""
    text = (t.read(HUB_TOML) or b"").decode()
    if roster and _installed_roster(t) != roster:
        t.file(HUB_TOML, set_keys(text, {"gates": dict(roster)}).encode(), CONFIG)


def _installed_roster(t: Target) -> dict[str, str]:
    """The `[gates]` roster of the hub.toml in place (kept when more gates are added)."""
    try:
        return dict(load_hub_config(t.at(HUB_TOML)).gates)
    except (ConfigError, OSError):
        return {}


def _effective_prefix(t: Target) -> str:
    """The topic prefix of the hub.toml in place (an operator may have set another)."""
    try:
        return load_hub_config(t.at(HUB_TOML)).mqtt.prefix
    except (ConfigError, OSError):
        return DEFAULT_PREFIX


def _systemd_hub(t: Target) -> None:
    broker = {MOSQUITTO_CONF, MOSQUITTO_ACL, MOSQUITTO_DATA} | {
        c for c in t.changes if c.startswith(MOSQUITTO_PASSWD)
    }
    t.run("systemctl", "enable", "--quiet", "mosquitto.service")
    if MOSQUITTO_CONF in t.changes:
        t.run("systemctl", "restart", "mosquitto.service")  # listeners change on restart only
    elif broker & set(t.changes):
        t.run("systemctl", "reload-or-restart", "mosquitto.service")  # rereads passwd and ACL
    else:
        t.run("systemctl", "start", "mosquitto.service")
    unit = Path(HUB_UNIT).name
    if HUB_UNIT in t.changes:
        t.run("systemctl", "daemon-reload")
    t.run("systemctl", "enable", "--quiet", unit)
    active = t.run("systemctl", "is-active", "--quiet", unit, check=False).returncode == 0
    if active and not t.changes:
        return
    t.run("systemctl", "restart" if active else "start", unit)
    # Type=simple: started means only that the process runs. One that stops at once (a bad
    # configuration, an unreadable file) is waiting to be restarted a moment later.
    time.sleep(HUB_SETTLE_S)
    if t.run("systemctl", "is-active", "--quiet", unit, check=False).returncode != 0:
        raise InstallError(f"{unit} installed but not running: see journalctl -u {unit} -e")


# --- command line ---------------------------------------------------------------------------------

ROOT_HELP = (
    "install into DIR only (an image, a test): users written into DIR/etc/passwd and group, "
    "nothing chowned, no systemctl; owners recorded in the manifest"
)


def _parser(role: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=f"install-{role}",
        description=f"Install this clone as {'a gate' if role == 'gate' else 'the hub'}: "
        "idempotent; see docs/install.md.",
    )
    if role == "gate":
        p.add_argument("--gate-id", required=True, help="unique in the venue: E1, X2, D1 ...")
        p.add_argument("--role", required=True, choices=("entry", "exit", "desk", "handheld"))
        p.add_argument("--profile", required=True, help="firmware_configs/profiles/NAME.toml")
        p.add_argument(
            "--broker",
            metavar="HOST[:PORT]",
            help="the hub's broker (adds [link]); port 8883 with --ca (TLS), else 1883",
        )
        p.add_argument(
            "--ca",
            metavar="FILE",
            help=f"the venue CA, the hub's {VENUE_CA}: the gate checks the broker with it",
        )
        p.add_argument(
            "--plain-mqtt",
            action="store_true",
            help="plain MQTT to the broker, no TLS (an isolated gate network only)",
        )
        p.add_argument(
            "--broker-password",
            metavar="FILE",
            help="this gate's broker password, from the hub's /etc/wristgate/passwords/ID.password",
        )
        p.add_argument(
            "--site-key", metavar="FILE", help="the venue's site key (else one is generated once)"
        )
    else:
        p.add_argument(
            "--gates",
            metavar="E1:entry,X1:exit,D1:desk",
            help="gates to give broker users (added), with their roles: the venue's roster",
        )
        p.add_argument(
            "--bind-address",
            metavar="ADDR",
            help="the broker's listener for the gates: the hub's address on the gate network "
            "(default: the one installed before, else 127.0.0.1)",
        )
        p.add_argument(
            "--broker-names",
            metavar="NAME,...",
            help="more host names or addresses gates use for the hub (in the broker certificate)",
        )
        p.add_argument("--ca-cert", metavar="FILE", help="the venue CA to use (else one is made)")
        p.add_argument("--ca-key", metavar="FILE", help="its key, to sign the broker certificate")
        p.add_argument("--broker-cert", metavar="FILE", help="the broker certificate to use")
        p.add_argument("--broker-key", metavar="FILE", help="its key")
        p.add_argument(
            "--plain-mqtt",
            action="store_true",
            help="no TLS: plain MQTT for the gates on --bind-address (an isolated network only)",
        )
    p.add_argument("--root", metavar="DIR", help=ROOT_HELP)
    p.add_argument("--code-dir", metavar="PATH", help="where the clone lives on the target")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in ("gate", "hub"):
        print("usage: python -m deploy.install {gate|hub} ...", file=sys.stderr)
        return EXIT_USAGE
    role, rest = argv[0], argv[1:]
    args = _parser(role).parse_args(rest)
    prog = f"install-{role}"
    os.umask(0o022)
    if args.root is None and os.geteuid() != 0:
        print(f"{prog}: run as root (sudo), or give --root DIR", file=sys.stderr)
        return EXIT_FAILED
    t = Target(None if args.root is None else Path(args.root), prog)
    print(f"{prog}: installing into {t.root}", file=t.out)
    try:
        (install_gate if role == "gate" else install_hub)(args, t)
    except UsageError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (InstallError, BrokerError, OSError) as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        for text in t.notes:
            print(f"{prog}: note: {text}", file=t.out)
    done = f"{len(t.changes)} change(s)" if t.changes else "nothing to change"
    print(f"{prog}: {done}", file=t.out)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
