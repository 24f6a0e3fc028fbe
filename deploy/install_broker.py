"""The hub's broker installed: Mosquitto's configuration and ACL, one user per password file in
/etc/wristgate/passwords, and the venue CA with the broker's certificate (deploy/tls.py).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import hmac
import pwd
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

from deploy.broker import (
    BRIDGE_USER,
    DISPLAY_USER,
    HA_USER,
    HUB_USER,
    LOOPBACK,
    RESERVED_USERS,
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
from deploy.hq_bridge import HqBridge, bridge_acl, render_bridge
from deploy.layout import (
    BROKER_CA,
    BROKER_CERT,
    BROKER_KEY,
    BROKER_PORT,
    BROKER_TLS_PORT,
    CONFIG_DIR,
    MOSQUITTO,
    MOSQUITTO_ACL,
    MOSQUITTO_CONF,
    MOSQUITTO_DATA,
    MOSQUITTO_MARK,
    MOSQUITTO_PASSWD,
    PASSWORDS,
    ROOT_DIR,
    ROOT_FILE,
    TLS_DIR,
    VENUE_CA,
    VENUE_CA_KEY,
    Owner,
)
from deploy.target import InstallError, Target, UsageError, secret_token
from deploy.tls import BrokerTls, TlsError, broker_tls, hub_names, this_hostname


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


def check_broker(t: Target, bind: str) -> None:
    """What installing the broker needs, checked before anything is written: a listener address
    Mosquitto takes, mosquitto_passwd, and on a real install Debian's user mosquitto."""
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


def broker_passwords(t: Target, given: Iterable[str]) -> Credentials:
    """The broker users' passwords, each generated once into /etc/wristgate/passwords/USER.password.

    One user per gate (the ones the password file has already, and `given`, --gates), the hub,
    the display, Home Assistant."""
    gates = list(given)
    t.directory(PASSWORDS, CONFIG_DIR)
    known = password_file_users(t)
    for name in known:
        with contextlib.suppress(BrokerError):
            if name not in RESERVED_USERS and check_gate_id(name) not in gates:
                gates.append(name)
    stored = {
        name: t.secret(f"{PASSWORDS}/{name}.password", secret_token)
        for name in (HUB_USER, DISPLAY_USER, HA_USER, *gates)
    }
    return Credentials(
        hub=stored.pop(HUB_USER),
        display=stored.pop(DISPLAY_USER),
        homeassistant=stored.pop(HA_USER),
        gates=stored,
    )


def install_mosquitto(
    t: Target,
    tls_made: BrokerTls | None,
    bind: str,
    prefix: str,
    roster: Mapping[str, str],
    credentials: Credentials,
    bridge: HqBridge | None = None,
) -> TlsListener | None:
    """Mosquitto's configuration (Debian's own kept once as .orig), the ACL for the roster, the
    users of `credentials` in its password file; the TLS listener, when there is one. With
    `bridge` (hub.toml's [hq]), the bridge to the chain's head office and its local user: the
    configuration then holds the venue's password at head office, and only root and Mosquitto
    read it."""
    known = password_file_users(t)
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
    )
    if bridge is not None:
        conf += render_bridge(bridge, prefix)
    stock, orig = t.read(MOSQUITTO_CONF), f"{MOSQUITTO_CONF}.orig"
    if t.read(orig) is not None:
        t.own(orig, ROOT_FILE)
    elif stock is not None and not stock.startswith(MOSQUITTO_MARK.encode()):
        t.file(orig, stock, ROOT_FILE)  # Debian's own, kept once
    conf_owner = ROOT_FILE if bridge is None else Owner(0o640, "root", MOSQUITTO)
    t.file(MOSQUITTO_CONF, conf.encode(), conf_owner)
    # the roster's desks and handhelds read guardian phones: rewritten whenever gates are added
    acl = write_acl(prefix, roster) + (bridge_acl(bridge, prefix) if bridge else "")
    t.file(MOSQUITTO_ACL, acl.encode(), broker_file)
    users = credentials.users()
    if bridge is not None:
        users[BRIDGE_USER] = bridge.local_password
    for name, password in users.items():
        hashed = known.get(name)
        if hashed is not None and password_matches(hashed, password) is not False:
            continue  # there, with this password (or a hash this script cannot check)
        add_user(t.at(MOSQUITTO_PASSWD), name, password)
        t.changed("user", f"{MOSQUITTO_PASSWD}: {name}")
    t.own(MOSQUITTO_PASSWD, broker_file)
    others = sorted(set(known) - set(users))
    if others:
        t.note(f"{MOSQUITTO_PASSWD} also holds {', '.join(others)}: kept")
    return tls
