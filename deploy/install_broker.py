"""The hub's broker installed: Mosquitto's configuration and ACL, one user per password file in
/etc/wristgate/passwords, and the venue CA with the broker's certificate (deploy/tls.py).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import hmac
import re
from pathlib import Path

from deploy.broker import (
    TlsListener,
)
from deploy.layout import (
    BROKER_CA,
    BROKER_CERT,
    BROKER_KEY,
    BROKER_TLS_PORT,
    MOSQUITTO,
    MOSQUITTO_CONF,
    MOSQUITTO_MARK,
    MOSQUITTO_PASSWD,
    ROOT_DIR,
    ROOT_FILE,
    TLS_DIR,
    VENUE_CA,
    VENUE_CA_KEY,
    Owner,
)
from deploy.target import InstallError, Target, UsageError
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
