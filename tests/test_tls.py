"""The venue's TLS as install-hub and install-gate set it up (deploy/tls.py, with openssl), into
scratch roots: the CA and the broker's certificate made, kept, renewed or taken as given, and
what does not fit refused before anything is written. tests/test_attacks_broker.py runs a real
broker and gates on them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from deploy import install
from deploy.tls import cert_names, issued_by, new_ca, new_server_cert

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")

GATE = ["--gate-id", "X1", "--role", "exit", "--profile", "turnstile-pn532"]
TLS_FILES = (
    "etc/wristgate/tls/ca.crt",
    "etc/wristgate/tls/ca.key",
    "etc/mosquitto/certs/ca.crt",
    "etc/mosquitto/certs/hub.crt",
    "etc/mosquitto/certs/hub.key",
)


def scratch_root(path: Path, hostname: str = "hub-pi") -> Path:
    (path / "etc").mkdir(parents=True)
    (path / "etc/hostname").write_text(f"{hostname}\n")
    (path / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/bash\n")
    (path / "etc/group").write_text("root:x:0:\n")
    return path


def install_hub(root: Path, *args: str) -> int:
    return install.main(["hub", "--root", str(root), "--gates", "X1", *args])


def files(root: Path) -> dict[str, bytes]:
    return {name: (root / name).read_bytes() for name in TLS_FILES}


def manifest(root: Path) -> dict[str, str]:
    lines = (root / "etc/wristgate/install-hub.manifest").read_text().splitlines()
    return {p: f"{m} {o}" for m, o, p in (line.split(" ", 2) for line in lines if line[0] != "#")}


def test_install_hub_makes_a_venue_ca_and_a_certificate_naming_the_hub(tmp_path):
    root = scratch_root(tmp_path / "root")
    assert install_hub(root, "--bind-address", "192.168.50.1", "--broker-names", "gates.lan") == 0
    made = files(root)
    assert made["etc/wristgate/tls/ca.crt"] == made["etc/mosquitto/certs/ca.crt"]
    cert = made["etc/mosquitto/certs/hub.crt"]
    assert issued_by(cert, made["etc/wristgate/tls/ca.crt"])
    assert cert_names(cert) == {
        "hub-pi", "hub-pi.local", "192.168.50.1", "gates.lan", "localhost", "127.0.0.1"
    }  # fmt: skip
    owners = manifest(root)
    assert owners["/etc/wristgate/tls/ca.key"] == "0600 root:root"  # the CA's key: root only
    assert owners["/etc/mosquitto/certs/hub.key"] == "0600 mosquitto:mosquitto"
    assert owners["/etc/wristgate/tls/ca.crt"] == "0644 root:root"
    conf = (root / "etc/mosquitto/mosquitto.conf").read_text()
    assert "\nlistener 1883 127.0.0.1\n" in conf and "\nlistener 8883 192.168.50.1\n" in conf
    assert conf.count("\nuse_username_as_clientid true\n") == 2

    # kept as it is on a rerun; a new address gets a new certificate from the same CA
    assert install_hub(root) == 0
    assert files(root) == made
    assert install_hub(root, "--bind-address", "192.168.60.1") == 0
    renewed = files(root)
    assert renewed["etc/wristgate/tls/ca.key"] == made["etc/wristgate/tls/ca.key"]
    assert renewed["etc/mosquitto/certs/hub.crt"] != cert
    assert "192.168.60.1" in cert_names(renewed["etc/mosquitto/certs/hub.crt"])
    assert issued_by(renewed["etc/mosquitto/certs/hub.crt"], made["etc/wristgate/tls/ca.crt"])


def test_install_hub_takes_a_given_ca_or_a_given_broker_certificate(tmp_path):
    ca_cert, ca_key = new_ca("venue")
    for name, content in (("ca.crt", ca_cert), ("ca.key", ca_key)):
        (tmp_path / name).write_bytes(content)
    root = scratch_root(tmp_path / "a")
    given_ca = ["--ca-cert", str(tmp_path / "ca.crt"), "--ca-key", str(tmp_path / "ca.key")]
    assert install_hub(root, "--bind-address", "10.0.0.1", *given_ca) == 0
    assert (root / "etc/wristgate/tls/ca.key").read_bytes() == ca_key
    assert issued_by((root / "etc/mosquitto/certs/hub.crt").read_bytes(), ca_cert)

    # a certificate of the venue's own, without the CA's key on the hub: used as given, and the
    # names it lacks said
    cert, key = new_server_cert(ca_cert, ca_key, ["broker.venue.example"])
    (tmp_path / "hub.crt").write_bytes(cert)
    (tmp_path / "hub.key").write_bytes(key)
    root = scratch_root(tmp_path / "b")
    given = ["--ca-cert", str(tmp_path / "ca.crt")]
    given += ["--broker-cert", str(tmp_path / "hub.crt"), "--broker-key", str(tmp_path / "hub.key")]
    assert install_hub(root, "--bind-address", "10.0.0.1", *given) == 0
    assert (root / "etc/mosquitto/certs/hub.crt").read_bytes() == cert
    assert not (root / "etc/wristgate/tls/ca.key").exists()


@pytest.mark.parametrize(
    "case",
    ["cert without key", "not a CA", "CA key of another CA", "cert of another CA", "no CA"],
)
def test_install_hub_refuses_certificates_that_do_not_fit_before_writing(tmp_path, capsys, case):
    ca_cert, ca_key = new_ca("venue")
    other_cert, other_key = new_ca("other")
    cert, key = new_server_cert(ca_cert, ca_key, ["hub-pi"])
    foreign, foreign_key = new_server_cert(other_cert, other_key, ["hub-pi"])
    paths = {}
    for name, content in {
        "ca.crt": ca_cert, "other.key": other_key, "hub.crt": cert, "hub.key": key,
        "foreign.crt": foreign, "foreign.key": foreign_key,
    }.items():  # fmt: skip
        paths[name] = str(tmp_path / name)
        (tmp_path / name).write_bytes(content)
    args = {
        "cert without key": ["--ca-cert", paths["ca.crt"], "--broker-cert", paths["hub.crt"]],
        "not a CA": ["--ca-cert", paths["hub.crt"]],
        "CA key of another CA": ["--ca-cert", paths["ca.crt"], "--ca-key", paths["other.key"]],
        "cert of another CA": [
            "--ca-cert", paths["ca.crt"],
            "--broker-cert", paths["foreign.crt"], "--broker-key", paths["foreign.key"],
        ],
        "no CA": ["--broker-cert", paths["hub.crt"], "--broker-key", paths["hub.key"]],
    }[case]  # fmt: skip
    root = scratch_root(tmp_path / "root")
    before = sorted(root.rglob("*"))
    assert install_hub(root, *args) == install.EXIT_USAGE
    err = capsys.readouterr().err
    assert err.startswith("install-hub: --"), err  # names the option to fix
    assert "BEGIN" not in err  # no file's content in the message
    assert sorted(root.rglob("*")) == before  # refused before anything is written


def test_install_gate_takes_the_venue_ca_and_refuses_a_file_that_is_none(tmp_path, capsys):
    ca_cert, ca_key = new_ca("venue")
    cert, _key = new_server_cert(ca_cert, ca_key, ["hub-pi"])
    (tmp_path / "ca.crt").write_bytes(ca_cert)
    (tmp_path / "hub.crt").write_bytes(cert)
    broker = ["--broker", "hub-pi.local"]
    refused = tmp_path / "refused"
    code = install.main(
        ["gate", "--root", str(refused), *GATE, *broker, "--ca", str(tmp_path / "hub.crt")]
    )
    assert code == install.EXIT_USAGE
    assert "holds no CA certificate" in capsys.readouterr().err
    assert not refused.exists()

    root = tmp_path / "gate"
    assert (
        install.main(
            ["gate", "--root", str(root), *GATE, *broker, "--ca", str(tmp_path / "ca.crt")]
        )
        == 0
    )
    assert (root / "etc/wristgate/broker-ca.crt").read_bytes() == ca_cert
    toml = (root / "etc/wristgate/gate.toml").read_text()
    assert 'host = "hub-pi.local"\nport = 8883\n' in toml
    assert 'tls_ca = "/etc/wristgate/broker-ca.crt"' in toml
