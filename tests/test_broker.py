"""The venue broker: its ACL, its logins, its persistence and its limits, against a real Mosquitto.

Mosquitto drops a publish that the ACL refuses; over MQTT 3.1.1 the publisher still gets a plain
PUBACK, so a refusal shows in what subscribers receive. Each negative test ends with a message
that the subscriber may receive, published after the refused ones by the same publisher (or after
their PUBACK): once it arrives, a refused message would have arrived before it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import uuid
from pathlib import Path

import pytest
from broker import MqttClient, connack
from paho.mqtt.enums import MQTTProtocolVersion
from paho.mqtt.reasoncodes import ReasonCode

from deploy.broker import (
    CONFIG_DIR,
    EXAMPLE_ROSTER,
    BrokerConfigError,
    BrokerUnavailable,
    Credentials,
    TlsListener,
    add_user,
    check_gate_id,
    find_program,
    render_config,
    render_example,
    write_acl,
)
from deploy.broker_process import Broker, free_port
from gate.link.protocol import DEFAULT_PREFIX, MAX_PAYLOAD, Topics

V311 = MQTTProtocolVersion.MQTTv311
V5 = MQTTProtocolVersion.MQTTv5
PROTOCOLS = pytest.mark.parametrize("protocol", [V311, V5], ids=["mqtt311", "mqtt5"])
NOT_AUTHORIZED = 135  # CONNACK and PUBACK reason code; paho maps MQTT 3.1.1's CONNACK 5 to it


def token() -> str:
    return uuid.uuid4().hex


def assert_refused(reason: ReasonCode, protocol: MQTTProtocolVersion) -> None:
    """A refused publish: MQTT v5 says so in the PUBACK, MQTT 3.1.1 cannot."""
    if protocol == V5:
        assert reason.value == NOT_AUTHORIZED, reason


def hub_topics(t: Topics, gate: str) -> list[str]:
    return [t.ack(gate), t.replay(gate), t.allowlist, t.allowlist_delta, t.headcount, t.hub_status]


# --- Gates -------------------------------------------------------------------------------------


def test_gate_publishes_its_own_events_and_status(broker, mqtt_client):
    t, tok = broker.topics, token()
    hub, e2 = mqtt_client("hub"), mqtt_client("E2")
    hub.subscribe(f"{t.prefix}/gate/#")
    e2.subscribe(t.events())
    e2.subscribe(t.status())
    e1 = mqtt_client("E1")
    assert e1.publish(t.events("E1"), f"events {tok}").value == 0
    assert e1.publish(t.status("E1"), f"status {tok}").value == 0

    for client in (hub, e2):  # the hub ingests; the other gates follow presence and entries
        assert (
            client.wait_for_message(t.events("E1"), containing=tok).payload
            == f"events {tok}".encode()
        )
        assert (
            client.wait_for_message(t.status("E1"), containing=tok).payload
            == f"status {tok}".encode()
        )


@PROTOCOLS
def test_gate_cannot_publish_as_another_gate(broker, mqtt_client, protocol):
    t, tok = broker.topics, token()
    hub = mqtt_client("hub")
    hub.subscribe(f"{t.prefix}/#")
    e1 = mqtt_client("E1", protocol=protocol)
    for topic in (t.events("E2"), t.status("E2"), t.events("X1"), t.status("hub")):
        assert_refused(e1.publish(topic, f"forged {tok}"), protocol)
    e1.publish(t.status("E1"), f"marker {tok}")

    hub.wait_for_message(t.status("E1"), containing=f"marker {tok}")
    assert [m.topic for m in hub.received(containing=tok)] == [t.status("E1")]


@PROTOCOLS
@pytest.mark.parametrize("forger", ["E1", "E2"])
def test_gate_cannot_forge_acknowledgements_or_anything_of_the_hub(
    broker, mqtt_client, protocol, forger
):
    t, tok = broker.topics, token()
    gate = mqtt_client(forger, protocol=protocol)
    # one connection per user (client id = username): the forger E1 is also E1's reader
    hub, e1 = mqtt_client("hub"), gate if forger == "E1" else mqtt_client("E1")
    for subscriber in (hub, e1):
        subscriber.subscribe(f"{t.prefix}/#")
    for topic in hub_topics(t, "E1"):
        assert_refused(gate.publish(topic, f"forged {tok}"), protocol)
    gate.publish(t.status(forger), f"marker {tok}")

    for subscriber in (hub, e1):
        subscriber.wait_for_message(t.status(forger), containing=f"marker {tok}")
        assert [m.topic for m in subscriber.received(containing=tok)] == [t.status(forger)]


def test_gate_reads_its_own_acks_the_broadcasts_and_the_other_gates(broker, mqtt_client):
    t, tok = broker.topics, token()
    e1 = mqtt_client("E1")
    e1.subscribe(f"{t.prefix}/#")
    x1, hub = mqtt_client("X1"), mqtt_client("hub")
    x1.publish(t.events("X1"), tok)
    x1.publish(t.status("X1"), tok)
    for topic in [*hub_topics(t, "E2"), *hub_topics(t, "E1")]:  # hub status last
        hub.publish(topic, tok)

    e1.wait_for_message(t.hub_status, containing=tok)
    # X1's messages come from another connection: they may arrive after the hub's last one
    for topic in (t.events("X1"), t.status("X1")):
        e1.wait_for_message(topic, containing=tok)
    assert {m.topic for m in e1.received(containing=tok)} == {
        t.events("X1"),
        t.status("X1"),
        *hub_topics(t, "E1"),  # E2's acknowledgements and replay requests are E2's alone
    }


# --- Hub and display ---------------------------------------------------------------------------


def test_hub_cannot_publish_as_a_gate(broker, mqtt_client):
    t, tok = broker.topics, token()
    e2 = mqtt_client("E2")
    e2.subscribe(f"{t.prefix}/#")
    hub = mqtt_client("hub")
    for topic in (t.events("E1"), t.status("E1"), t.status("hub")):
        hub.publish(topic, f"forged {tok}")
    hub.publish(t.headcount, f"marker {tok}")

    e2.wait_for_message(t.headcount, containing=f"marker {tok}")
    assert [m.topic for m in e2.received(containing=tok)] == [t.headcount]


def test_display_reads_the_headcount_and_who_is_online_only(broker, mqtt_client):
    t, tok = broker.topics, token()
    display = mqtt_client("display")
    display.subscribe(f"{t.prefix}/#")
    e1, hub = mqtt_client("E1"), mqtt_client("hub")
    e1.publish(t.events("E1"), tok)
    e1.publish(t.status("E1"), tok)
    for topic in hub_topics(t, "E1"):  # allowlist (guardian phones), acks, ..., hub status last
        hub.publish(topic, tok)

    display.wait_for_message(t.hub_status, containing=tok)
    assert {m.topic for m in display.received(containing=tok)} == {
        t.status("E1"),
        t.headcount,
        t.hub_status,
    }


@PROTOCOLS
def test_display_cannot_publish_anything(broker, mqtt_client, protocol):
    t, tok = broker.topics, token()
    hub = mqtt_client("hub")
    hub.subscribe(f"{t.prefix}/#")
    display = mqtt_client("display", protocol=protocol)
    gate_topics = [t.events("E1"), t.status("E1"), t.events("display"), t.status("display")]
    for topic in [*gate_topics, *hub_topics(t, "E1")]:
        assert_refused(display.publish(topic, f"forged {tok}"), protocol)
    hub.publish(t.headcount, f"marker {tok}")  # after the display's PUBACKs

    hub.wait_for_message(t.headcount, containing=f"marker {tok}")
    assert [m.topic for m in hub.received(containing=tok)] == [t.headcount]


# --- Logins ------------------------------------------------------------------------------------


@PROTOCOLS
@pytest.mark.parametrize(
    "username, password",
    [(None, None), ("E1", "wrong"), ("E1", ""), ("E9", "unknown user"), ("display", "hub")],
    ids=["anonymous", "wrong-password", "empty-password", "unknown-user", "other-password"],
)
def test_login_without_valid_credentials_is_refused(broker, protocol, username, password):
    if password == "hub":
        password = broker.credentials.hub
    assert connack(broker, username, password, protocol).value == NOT_AUTHORIZED


@pytest.mark.parametrize("user", ["hub", "display", "E1", "D1"])
def test_every_user_logs_in_with_its_own_password(broker, user):
    assert connack(broker, user, broker.credentials.password(user)).value == 0


# --- Persistence, restarts, the listener -------------------------------------------------------


def test_retained_message_survives_a_restart(fresh_broker, mqtt_client):
    b, tok = fresh_broker(), token()
    mqtt_client("hub", broker=b).publish(b.topics.allowlist, tok, retain=True)

    b.restart()

    gate = mqtt_client("E1", broker=b)
    gate.subscribe(b.topics.allowlist)
    message = gate.wait_for_message(b.topics.allowlist, containing=tok)
    assert message.retain


def test_killed_broker_restarts_on_the_same_port(fresh_broker, mqtt_client):
    b, tok = fresh_broker(), token()
    port, pid = b.port, b.pid
    mqtt_client("E1", broker=b)

    b.kill()
    assert not b.running
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((b.host, port), 1).close()
    b.restart()

    assert (b.port, b.url) == (port, f"mqtt://127.0.0.1:{port}") and b.pid != pid
    hub = mqtt_client("hub", broker=b)
    hub.subscribe(b.topics.status())
    mqtt_client("E1", broker=b).publish(b.topics.status("E1"), tok)
    hub.wait_for_message(b.topics.status("E1"), containing=tok)


def listening_addresses(pid: int) -> set[tuple[str, int]]:
    """(address, port) of the TCP sockets process `pid` listens on (Linux /proc)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(FileNotFoundError):  # closed meanwhile
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    found = set()
    for table, family in (("tcp", socket.AF_INET), ("tcp6", socket.AF_INET6)):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == "0A" and inode in inodes:  # 0A: LISTEN
                raw, port = local.split(":")
                words = bytes.fromhex(raw)  # little-endian 32-bit words
                packed = b"".join(words[i : i + 4][::-1] for i in range(0, len(words), 4))
                found.add((socket.inet_ntop(family, packed), int(port, 16)))
    return found


def test_broker_listens_on_loopback_only(broker):
    assert broker.host == "127.0.0.1"
    assert listening_addresses(broker.pid) == {("127.0.0.1", broker.port)}


def test_test_broker_refuses_a_tls_listener_beyond_loopback(tmp_path):
    with pytest.raises(BrokerConfigError, match=r"127\.0\.0\.1 only"):
        Broker(tmp_path, tls=TlsListener("/c", "/k", "/ca", bind_address="0.0.0.0"))


# --- Limits ------------------------------------------------------------------------------------


def test_allowlist_snapshot_of_12_mb_passes_and_one_over_the_limit_is_dropped(broker, mqtt_client):
    t, tok = broker.topics, token().encode()
    gate = mqtt_client("X2")
    gate.subscribe(t.allowlist)
    hub = mqtt_client("hub")
    snapshot = tok + b"s" * 12_000_000
    hub.publish(t.allowlist, snapshot)
    hub.publish(t.allowlist, tok + b"o" * (MAX_PAYLOAD + 1 - len(tok)))  # silently dropped
    hub.publish(t.allowlist, tok + b" marker")

    gate.wait_for_message(t.allowlist, containing=tok + b" marker")
    assert [len(m.payload) for m in gate.received(t.allowlist, tok)] == [
        len(snapshot),
        len(tok) + 7,
    ]
    assert gate.received(t.allowlist, tok)[0].payload == snapshot


def test_config_holds_the_deliberate_limits():
    config = render_example()
    settings = [line.split(None, 1) for line in config.splitlines() if line[:1].isalpha()]
    values = {key: value for key, value in settings if key != "log_type"}
    assert values["message_size_limit"] == str(MAX_PAYLOAD)  # the protocol's largest payload
    assert int(values["max_packet_size"]) > MAX_PAYLOAD
    assert int(values["max_queued_messages"]) > 1000  # Mosquitto's default dropped acked QoS 1
    assert int(values["max_queued_bytes"]) > 5 * 12_000_000  # several allowlist snapshots
    assert values["per_listener_settings"] == "false"
    assert values["allow_anonymous"] == "false"
    assert values["persistence"] == "true"


# --- Configuration files and helpers -----------------------------------------------------------


def test_example_config_is_the_rendering_of_the_template():
    assert (CONFIG_DIR / "mosquitto.conf.example").read_text() == render_example()


def test_acl_file_is_the_one_written_for_the_default_prefix():
    assert (CONFIG_DIR / "acl").read_text() == write_acl(DEFAULT_PREFIX, EXAMPLE_ROSTER)


def test_acl_follows_the_prefix():
    acl = write_acl("venue7/v1/")
    assert "pattern write venue7/v1/gate/%u/events" in acl
    assert "wristgate/" not in acl


def test_config_without_tls_shows_the_tls_listener_commented_out(tmp_path):
    config = render_config(
        data_dir=tmp_path, password_file="/p", acl_file="/a", bind_address="10.0.0.1", port=1884
    )
    assert "\nlistener 1884 10.0.0.1\n" in config
    assert (
        "\n#listener 8883 0.0.0.0\n#use_username_as_clientid true\n"
        "#certfile /etc/mosquitto/certs/hub.crt\n"
    ) in config
    assert f"\npersistence_location {tmp_path}/\n" in config


@pytest.mark.parametrize(
    "changes",
    [
        {"bind_address": "localhost"},
        {"port": 0},
        {"password_file": "/etc/my passwd"},
        {"acl_file": "/etc/acl\nallow_anonymous true"},
        {"prefix": "venue/#"},
        {"prefix": ""},
        {"tls": TlsListener("/c", "/k", "/ca", bind_address="any")},
    ],
    ids=[
        "hostname",
        "port-0",
        "space-in-path",
        "newline-in-path",
        "wildcard-prefix",
        "empty-prefix",
        "tls-address",
    ],
)
def test_config_refuses_values_mosquitto_would_misread(tmp_path, changes):
    args = {"data_dir": tmp_path, "password_file": "/p", "acl_file": "/a", "bind_address": "::1"}
    with pytest.raises(BrokerConfigError):
        render_config(**{**args, **changes})


@pytest.mark.parametrize(
    "gate", ["hub", "display", "HUB", "Display", "", "E 1", "E1\n", "a/b", "+", "x" * 33]
)
def test_reserved_or_malformed_gate_ids_are_refused(gate):
    with pytest.raises(BrokerConfigError):
        check_gate_id(gate)
    with pytest.raises(BrokerConfigError):
        Credentials.generate(["E1", gate])


def test_add_user_creates_a_private_password_file_and_replaces_entries(tmp_path):
    path = tmp_path / "passwd"
    add_user(path, "E1", "first")
    add_user(path, "X1", "second")
    first = path.read_text()
    add_user(path, "E1", "changed")

    assert oct(path.stat().st_mode & 0o777) == "0o600"
    lines = path.read_text().splitlines()
    assert [line.split(":")[0] for line in lines] == ["E1", "X1"]
    assert all(line.split(":")[1].startswith("$7$") for line in lines)  # hashed, never plain
    assert lines[0] != first.splitlines()[0] and lines[1] == first.splitlines()[1]
    with pytest.raises(BrokerConfigError):
        add_user(path, "a:b", "pw")


def test_missing_mosquitto_says_which_debian_package_to_install():
    with pytest.raises(BrokerUnavailable, match="install Debian package mosquitto"):
        find_program("mosquitto-not-installed")


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_tls_listener_as_rendered_serves_a_gate(tmp_path):
    cert, key = tmp_path / "hub.crt", tmp_path / "hub.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    tls = TlsListener(str(cert), str(key), str(cert), port=free_port(), bind_address="127.0.0.1")
    with Broker(tmp_path / "b", credentials=Credentials.generate(["E1"]), tls=tls) as b:
        password = b.credentials.password("E1")
        assert MqttClient(b, "E1", password, tls_ca=str(cert)).connect().value == 0
        assert MqttClient(b, "E1", "wrong", tls_ca=str(cert)).connect().value == NOT_AUTHORIZED
        assert listening_addresses(b.pid) == {("127.0.0.1", b.port), ("127.0.0.1", tls.port)}
