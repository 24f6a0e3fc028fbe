"""The venue's TLS for the broker: a CA of the venue's own, and the broker's certificate.

The hub makes both with the `openssl` command (Debian package `openssl`) when the install is not
given them. The CA's key stays on the hub (root only); gates get the CA certificate and verify
the broker's certificate and host name against it. The broker's certificate names every host
name and address gates may use for the hub (subjectAltName), since clients check those and not
the common name.

Everything here works on bytes (PEM) and temporary files, so the installer writes the results
through its own `Target` (atomically, with modes and owners) and nothing here touches the system.
"""

from __future__ import annotations

import ipaddress
import secrets
import shutil
import socket
import ssl
import subprocess
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

OPENSSL_PACKAGE = "openssl"
CA_DAYS = 3650
CERT_DAYS = 825  # what clients accept for a server certificate at most, with margin
RENEW_BEFORE_S = 30 * 86400
CURVE = "prime256v1"  # small keys, fast handshakes on a Raspberry Pi


class TlsError(Exception):
    """A certificate or key cannot be used or made; the message says what to do."""


def openssl() -> str:
    found = shutil.which("openssl")
    if found is None:
        raise TlsError(
            f"openssl not found: install Debian package {OPENSSL_PACKAGE} "
            f"(apt-get install {OPENSSL_PACKAGE})"
        )
    return found


def _run(args: Sequence[str], what: str) -> str:
    done = subprocess.run(
        [openssl(), *args], capture_output=True, text=True, umask=0o077, check=False
    )
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines()
        raise TlsError(f"{what}: openssl {args[0]} failed: {lines[-1] if lines else '?'}")
    return done.stdout


class _Scratch:
    """A private temporary directory to hand PEM bytes to openssl (mode 0700)."""

    def __enter__(self) -> _Scratch:
        self._dir = tempfile.TemporaryDirectory(prefix="wristgate-tls-")
        self.path = Path(self._dir.name)
        return self

    def put(self, name: str, content: bytes) -> str:
        path = self.path / name
        path.touch(mode=0o600)
        path.write_bytes(content)
        return str(path)

    def get(self, name: str) -> bytes:
        return (self.path / name).read_bytes()

    def __exit__(self, *exc: object) -> None:
        self._dir.cleanup()


def san(names: Iterable[str]) -> str:
    """subjectAltName for `names`: IP entries for addresses, DNS entries for the rest."""
    entries = []
    for name in names:
        try:
            entries.append(f"IP:{ipaddress.ip_address(name)}")
        except ValueError:
            entries.append(f"DNS:{name}")
    return ",".join(entries)


def new_ca(venue: str) -> tuple[bytes, bytes]:
    """A new venue CA: (certificate, key), PEM."""
    subject = "/CN=wristgate venue CA/O=" + "".join(c for c in venue if c.isalnum() or c in " -.")
    with _Scratch() as s:
        _run(
            ["req", "-x509", "-new", "-newkey", "ec", "-pkeyopt", f"ec_paramgen_curve:{CURVE}",
             "-nodes", "-sha256", "-days", str(CA_DAYS), "-subj", subject,
             "-addext", "basicConstraints=critical,CA:TRUE,pathlen:0",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign",
             "-keyout", str(s.path / "ca.key"), "-out", str(s.path / "ca.crt")],
            "making the venue CA",
        )  # fmt: skip
        return s.get("ca.crt"), s.get("ca.key")


def new_server_cert(ca_cert: bytes, ca_key: bytes, names: Sequence[str]) -> tuple[bytes, bytes]:
    """A broker certificate for `names` (the first is its common name), signed by the CA."""
    if not names:
        raise TlsError("a broker certificate needs at least one host name or address")
    extensions = (
        "basicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature,keyEncipherment\n"
        "extendedKeyUsage=serverAuth\n"
        f"subjectAltName={san(names)}\n"
    )
    with _Scratch() as s:
        ca_crt, ca_k = s.put("ca.crt", ca_cert), s.put("ca.key", ca_key)
        ext = s.put("ext.cnf", extensions.encode())
        _run(
            ["req", "-new", "-newkey", "ec", "-pkeyopt", f"ec_paramgen_curve:{CURVE}", "-nodes",
             "-subj", f"/CN={names[0]}", "-keyout", str(s.path / "hub.key"),
             "-out", str(s.path / "hub.csr")],
            "making the broker's key",
        )  # fmt: skip
        _run(
            ["x509", "-req", "-in", str(s.path / "hub.csr"), "-CA", ca_crt, "-CAkey", ca_k,
             "-set_serial", f"0x{secrets.token_hex(16)}", "-days", str(CERT_DAYS), "-sha256",
             "-extfile", ext, "-out", str(s.path / "hub.crt")],
            "signing the broker's certificate",
        )  # fmt: skip
        return s.get("hub.crt"), s.get("hub.key")


def _public_key_of_cert(cert: bytes, what: str) -> str:
    with _Scratch() as s:
        return _run(["x509", "-noout", "-pubkey", "-in", s.put("c.pem", cert)], what)


def check_cert(cert: bytes, what: str) -> None:
    """TlsError unless `cert` is one PEM certificate, valid now and for RENEW_BEFORE_S."""
    with _Scratch() as s:
        path = s.put("c.pem", cert)
        _run(["x509", "-noout", "-in", path], f"{what}: not a PEM certificate")
        done = subprocess.run(
            [openssl(), "x509", "-noout", "-checkend", str(RENEW_BEFORE_S), "-in", path],
            capture_output=True,
            check=False,
        )
        if done.returncode != 0:
            raise TlsError(f"{what}: expired, or expires within 30 days")


def check_ca(cert: bytes, what: str) -> None:
    """TlsError unless `cert` is a CA certificate (basicConstraints CA:TRUE), valid."""
    check_cert(cert, what)
    with _Scratch() as s:
        text = _run(["x509", "-noout", "-text", "-in", s.put("c.pem", cert)], what)
    if "CA:TRUE" not in text:
        raise TlsError(f"{what}: not a CA certificate (no basicConstraints CA:TRUE)")


def check_key_pair(cert: bytes, key: bytes, what: str) -> None:
    """TlsError unless `key` is the private key of `cert`."""
    with _Scratch() as s:
        mine = _run(["pkey", "-pubout", "-in", s.put("k.pem", key)], f"{what}: not a private key")
    if mine != _public_key_of_cert(cert, what):
        raise TlsError(f"{what}: the key does not belong to the certificate")


def issued_by(cert: bytes, ca_cert: bytes) -> bool:
    with _Scratch() as s:
        done = subprocess.run(
            [openssl(), "verify", "-CAfile", s.put("ca.pem", ca_cert), s.put("c.pem", cert)],
            capture_output=True,
            check=False,
        )
    return done.returncode == 0


def cert_names(cert: bytes) -> set[str]:
    """The DNS names and IP addresses in the certificate's subjectAltName."""
    with _Scratch() as s:
        text = _run(["x509", "-noout", "-text", "-in", s.put("c.pem", cert)], "certificate")
    names: set[str] = set()
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if "Subject Alternative Name" in line and i + 1 < len(lines):
            for entry in lines[i + 1].split(","):
                kind, _, value = entry.strip().partition(":")
                if kind == "DNS":
                    names.add(value.lower())
                elif kind == "IP Address":
                    names.add(str(ipaddress.ip_address(value)))
    return names


def normal_name(name: str) -> str:
    try:
        return str(ipaddress.ip_address(name))
    except ValueError:
        return name.lower()


def hub_names(hostname: str, bind_address: str, extra: Iterable[str] = ()) -> list[str]:
    """What gates may call the hub: its host name (and .local, mDNS), the broker's address, the
    names given, and the loopback names (a gate on the hub itself)."""
    names = [hostname, f"{hostname}.local"] if hostname else []
    if bind_address not in ("0.0.0.0", "::"):
        names.append(bind_address)
    names += [*extra, "localhost", "127.0.0.1"]
    seen: dict[str, None] = {}
    for name in names:
        seen.setdefault(normal_name(name), None)
    return list(seen)


def this_hostname() -> str:
    return socket.gethostname().split(".")[0]


@dataclass
class BrokerTls:
    """What the broker's TLS is made of after the install, and what the installer should say."""

    ca_cert: bytes
    ca_key: bytes | None  # None: the CA's key is not on this hub
    cert: bytes
    key: bytes
    made: list[str] = field(default_factory=list)  # "ca", "cert": generated in this run
    notes: list[str] = field(default_factory=list)


def broker_tls(
    *,
    names: Sequence[str],
    venue: str,
    kept: tuple[bytes | None, bytes | None, bytes | None, bytes | None],
    given: tuple[bytes | None, bytes | None, bytes | None, bytes | None],
) -> BrokerTls:
    """Decide the CA and the broker certificate: `given` ones (--ca-cert, --ca-key,
    --broker-cert, --broker-key) win, else the `kept` ones from a previous install while they
    still fit (same CA, every name, not about to expire), else new ones, made with the CA's key.
    Each tuple is (ca_cert, ca_key, cert, key)."""
    g_ca, g_ca_key, g_cert, g_key = given
    k_ca, k_ca_key, k_cert, k_key = kept
    made: list[str] = []
    notes: list[str] = []
    if (g_cert is None) != (g_key is None):
        raise TlsError("--broker-cert and --broker-key go together")
    if g_ca_key is not None and g_ca is None:
        raise TlsError("--ca-key goes with --ca-cert")
    if g_cert is not None and g_ca is None and k_ca is None:
        raise TlsError("--broker-cert needs --ca-cert: the CA the gates will trust")

    if g_ca is not None:
        check_ca(g_ca, "--ca-cert")
        ca, ca_key = g_ca, g_ca_key
        if ca_key is not None:
            check_key_pair(ca, ca_key, "--ca-key")
        elif k_ca == g_ca:
            ca_key = k_ca_key
    elif k_ca is not None:
        ca, ca_key = k_ca, k_ca_key
    else:
        ca, ca_key = new_ca(venue)
        made.append("ca")

    wanted = {normal_name(n) for n in names}
    if g_cert is not None and g_key is not None:
        check_cert(g_cert, "--broker-cert")
        check_key_pair(g_cert, g_key, "--broker-key")
        if not issued_by(g_cert, ca):
            raise TlsError("--broker-cert is not signed by the venue CA (--ca-cert)")
        missing = sorted(wanted - cert_names(g_cert))
        if missing:
            notes.append(
                f"the broker certificate does not name {', '.join(missing)}: gates that connect "
                "by those names will refuse the broker"
            )
        return BrokerTls(ca, ca_key, g_cert, g_key, made, notes)

    if k_cert is not None and k_key is not None and "ca" not in made:
        try:
            check_cert(k_cert, "broker certificate")
            check_key_pair(k_cert, k_key, "broker key")
            fits = issued_by(k_cert, ca) and wanted <= cert_names(k_cert)
        except TlsError:
            fits = False
        if fits:
            return BrokerTls(ca, ca_key, k_cert, k_key, made, notes)
    if ca_key is None:
        raise TlsError(
            "the broker needs a new certificate (new names, another CA, or near its expiry) and "
            "the CA's key is not on this hub: give --ca-key, or --broker-cert and --broker-key"
        )
    cert, key = new_server_cert(ca, ca_key, list(names))
    made.append("cert")
    return BrokerTls(ca, ca_key, cert, key, made, notes)


def check_ca_file(content: bytes, what: str) -> None:
    """TlsError unless `content` holds PEM certificates, at least one a CA: what a gate checks
    the broker with (Python's ssl module: a gate needs no openssl command)."""
    try:
        context = ssl.create_default_context(cadata=content.decode("ascii"))
    except (ssl.SSLError, ValueError, UnicodeDecodeError):
        raise TlsError(f"{what}: not a PEM certificate file") from None
    if context.cert_store_stats().get("x509_ca", 0) == 0:
        raise TlsError(f"{what}: holds no CA certificate (the hub's /etc/wristgate/tls/ca.crt)")
