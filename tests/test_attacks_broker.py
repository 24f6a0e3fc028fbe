"""Attacks on the transport between gates and the hub, against a real Mosquitto, a real `hub run`
and real gates:

- a client id taken over: one gate's login (E1) naming the hub's client id disconnected the hub,
  and nothing said so; a second login with the hub's own password now takes its session, and that
  is alerted (the hub) or shown (a gate);
- plain MQTT: gate passwords crossed the LAN in clear text. The broker's TLS listener, with the
  CA and certificate install-hub makes, is the gates' way in; a gate checks the certificate and
  the host name, and a gate pointed at another machine without TLS is refused;
- one gate's password filled every gate's disk through the presence file, now bounded.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import pytest
from broker import MqttClient
from gate_rig import GateRig, link_section, wait_for
from paho.mqtt.enums import MQTTProtocolVersion
from venue_rig import Venue

from deploy import install
from deploy.broker import Credentials, TlsListener
from deploy.broker_process import Broker, free_port
from deploy.tls import new_ca, new_server_cert
from gate.config import ConfigError
from gate.control.client import ask
from gate.core.hlc import Timestamp
from gate.link.protocol import Entry as WireEntry
from gate.link.protocol import EventBatch, GateStatus, Topics, dump
from gate.settings import load_gate_config

TOPICS = Topics()
V5 = MQTTProtocolVersion.MQTTv5


def hub_broker_status(venue: Venue) -> dict:
    assert venue.hub is not None
    return ask(str(venue.hub.socket), {"cmd": "status"})


def alerts(venue: Venue) -> list[dict]:
    return venue.api("/api/alerts", who=None)


# --- client ids bound to the login ----------------------------------------------------------------


def test_another_gates_login_with_the_hubs_client_id_no_longer_disconnects_the_hub(
    tmp_path, fresh_broker
):
    venue = Venue(tmp_path, fresh_broker())
    try:
        venue.start_hub()
        wait_for(lambda: hub_broker_status(venue)["connected"], what="the hub connected")
        password = venue.broker.credentials.password("E1")
        for client_id in ("wristgate-hub", "hub"):  # the hub's client id before, and its username
            intruder = MqttClient(venue.broker, "E1", password, client_id=client_id)
            assert not intruder.connect().is_failure
            marker = GateStatus(gate="E1", online=True, role="entry", last_seq=0, acked=0)
            intruder.publish(TOPICS.status("E1"), dump(marker))
            intruder.close()
        # the hub took E1's status in over its connection: a takeover would have come first
        wait_for(lambda: "E1" in venue.api("/api/gates"), what="E1's status at the hub")
        status = hub_broker_status(venue)
        assert status["connected"], venue.hub.tail()
        assert (status["broker"]["connects"], status["broker"]["lost"]) == (1, 0), status["broker"]
        assert status["broker"]["taken_over"] == 0
        assert not [a for a in alerts(venue) if a["kind"].startswith("broker")]
    finally:
        venue.close()


def test_a_second_login_with_the_hubs_password_takes_its_session_and_raises_an_alert(
    tmp_path, fresh_broker
):
    venue = Venue(tmp_path, fresh_broker())
    try:
        venue.start_hub()
        wait_for(lambda: hub_broker_status(venue)["connected"], what="the hub connected")
        stolen = venue.broker.credentials.password("hub")
        intruder = MqttClient(venue.broker, "hub", stolen, protocol=V5, client_id="anything")
        assert not intruder.connect().is_failure
        # the hub loses its session (told so with 0x8E from Mosquitto 2.0.15 on), comes back at
        # once, and takes it back in turn: the intruder is out
        intruder.wait_disconnected()
        intruder.close()

        def taken_over_alert() -> list[dict]:
            return [a for a in alerts(venue) if a["kind"] == "broker_taken_over"]

        found = wait_for(taken_over_alert, what="the takeover alert")
        assert found[0]["level"] == "critical" and "'hub'" in found[0]["text"]
        assert stolen not in json.dumps(alerts(venue))  # the password is never shown
        wait_for(lambda: hub_broker_status(venue)["connected"], what="the hub back")
        status = hub_broker_status(venue)["broker"]
        assert status["taken_over"] == 1 and status["connects"] == 2, status
        assert "took the hub's session" in venue.hub.tail()
    finally:
        venue.close()


def test_a_taken_over_gate_session_shows_at_the_gate_and_alerts_the_hub(tmp_path, fresh_broker):
    venue = Venue(tmp_path, fresh_broker())
    try:
        venue.start_hub()
        venue.start_gate("E1")
        wait_for(lambda: venue.gate_status("E1")["link"]["connected"], what="E1 connected")
        intruder = MqttClient(venue.broker, "E1", venue.broker.credentials.password("E1"))
        assert not intruder.connect().is_failure
        intruder.wait_disconnected()  # E1 came back and took its session back
        intruder.close()
        wait_for(lambda: venue.gate_status("E1")["link"]["taken_over"] == 1, what="E1 counted it")
        status = venue.gate_status("E1")
        link = status["link"]
        assert link["connected"] and link["connects"] == 2, link
        assert "known elsewhere" in link["problem"]
        assert status["counters"]["link_taken_over"] == 1
        diag = ask(str(venue.gates["E1"].socket), {"cmd": "diag"})
        assert any("took this gate's session" in p for p in diag["problems"])

        def gate_alert() -> list[dict]:
            return [a for a in alerts(venue) if a["kind"] == "gate_taken_over"]

        found = wait_for(gate_alert, what="the hub's alert for E1")
        assert found[0]["level"] == "critical" and "gate E1" in found[0]["text"]
    finally:
        venue.close()


# --- TLS by default -------------------------------------------------------------------------------


@pytest.fixture
def tls_venue(tmp_path) -> tuple[Path, Broker]:
    """install-hub into a scratch root (its venue CA, the broker certificate and the users), and
    a real Mosquitto on the rendered configuration with that TLS listener, on 127.0.0.1."""
    root = tmp_path / "hubroot"
    assert install.main(["hub", "--root", str(root), "--gates", "E1,D1,X1"]) == 0
    passwords = {
        p.stem: p.read_text().strip() for p in (root / "etc/wristgate/passwords").iterdir()
    }
    credentials = Credentials(
        hub=passwords.pop("hub"),
        display=passwords.pop("display"),
        homeassistant=passwords.pop("homeassistant"),
        gates=passwords,
    )
    certs = root / "etc/mosquitto/certs"
    tls = TlsListener(
        str(certs / "hub.crt"),
        str(certs / "hub.key"),
        str(certs / "ca.crt"),
        free_port(),
        "127.0.0.1",
    )
    broker = Broker(tmp_path / "broker", credentials=credentials, tls=tls).start()
    yield root, broker
    broker.stop()


def tls_link(broker: Broker, gate: str, directory: Path, ca: Path) -> str:
    assert broker.tls is not None
    return link_section(broker, gate, directory, port=broker.tls.port, tls_ca=str(ca))


def test_a_gate_over_tls_with_the_installers_ca_reaches_the_hub(tmp_path, tls_venue, rigs):
    root, broker = tls_venue
    venue = Venue(tmp_path, broker)
    try:
        venue.start_hub()  # on the plain listener, 127.0.0.1, as install-hub sets it up
        ca = root / "etc/wristgate/tls/ca.crt"
        desk = GateRig(
            tmp_path, "D1", "desk", scanner=False, extra=tls_link(broker, "D1", tmp_path, ca)
        )
        rigs.append(desk.start())
        wait_for(lambda: desk.status()["link"]["connected"], what="D1 over TLS")
        assert desk.status()["link"]["tls"] is True
        assert desk.ask("scan", kind="barcode", value="T1")["decision"]["code"] == "OK_BIND"
        last = desk.seq()
        wait_for(
            lambda: desk.status()["journal"]["acked"] == last,
            timeout=20,
            what="D1's journal acknowledged by the hub",
        )
        assert venue.api("/api/gates")["D1"]["backlog"] == 0
        log = (tmp_path / "broker" / "mosquitto.log").read_text()
        assert f"on port {broker.tls.port}." in log and " as D1 (p5" in log  # TLS, MQTT v5
    finally:
        venue.close()


def other_broker_certificate(root: Path) -> tuple[Path, str]:
    """A CA nobody installed: the gate must not trust a broker it signed."""
    path = root / "other-ca.crt"
    path.write_bytes(new_ca("somebody else")[0])
    return path, "self-signed certificate in certificate chain"


@pytest.mark.parametrize("case", ["another CA", "a certificate for another host"])
def test_a_gate_refuses_a_broker_it_cannot_verify_and_says_it_is_the_certificate(
    tmp_path, rigs, case
):
    ca_cert, ca_key = new_ca("venue")
    names = ["hub.elsewhere"] if case != "another CA" else ["127.0.0.1"]
    cert, key = new_server_cert(ca_cert, ca_key, names)
    for name, content in (("ca.crt", ca_cert), ("hub.crt", cert), ("hub.key", key)):
        (tmp_path / name).write_bytes(content)
    tls = TlsListener(
        str(tmp_path / "hub.crt"), str(tmp_path / "hub.key"), str(tmp_path / "ca.crt"),
        free_port(), "127.0.0.1",
    )  # fmt: skip
    with Broker(tmp_path / "b", credentials=Credentials.generate(["X1"]), tls=tls) as broker:
        if case == "another CA":
            trusted, expected = other_broker_certificate(tmp_path)
        else:
            trusted, expected = tmp_path / "ca.crt", "mismatch"  # right CA, wrong name
        rig = GateRig(
            tmp_path, "X1", "exit", scanner=False, extra=tls_link(broker, "X1", tmp_path, trusted)
        )
        rigs.append(rig.start())
        link = wait_for(
            lambda: (s := rig.status()["link"])["last_down_kind"] == "tls" and s,
            what="the TLS refusal",
        )
        assert not link["connected"] and link["connects"] == 0
        assert link["problem"].startswith("TLS: certificate verify failed"), link["problem"]
        assert expected in link["problem"] and "tls_ca" in link["problem"]
        assert rig.status()["counters"]["link_tls"] >= 1
        assert broker.credentials.password("X1") not in json.dumps(rig.status())


def test_plain_mqtt_to_the_tls_port_gets_no_login(tls_venue):
    _root, broker = tls_venue
    assert broker.tls is not None
    client = MqttClient(broker, "E1", broker.credentials.password("E1"))
    client.port = broker.tls.port
    with pytest.raises(TimeoutError):  # the broker hangs up: no CONNACK, no password taken
        client.connect(timeout=3)
    client.close()


def test_install_gate_refuses_plain_mqtt_to_another_machine_unless_told(tmp_path, capsys):
    gate = ["--gate-id", "X1", "--role", "exit", "--profile", "turnstile-pn532"]
    remote = ["--broker", "192.168.50.1"]
    assert install.main(["gate", "--root", str(tmp_path / "a"), *gate, *remote]) == 2
    err = capsys.readouterr().err
    assert "--ca FILE" in err and "--plain-mqtt" in err and "clear text" in err
    assert not (tmp_path / "a").exists() or list((tmp_path / "a").iterdir()) == []

    plain = tmp_path / "b"
    assert install.main(["gate", "--root", str(plain), *gate, *remote, "--plain-mqtt"]) == 0
    config = load_gate_config(plain / "etc/wristgate/gate.toml")
    assert config.link is not None and (config.link.tls, config.link.port) == (False, 1883)

    # gate.toml edited to a remote broker with neither TLS nor the opt-out: refused at start
    toml = plain / "etc/wristgate/gate.toml"
    toml.write_text(toml.read_text().replace("tls = false", ""))
    with pytest.raises(ConfigError, match="clear text"):
        load_gate_config(toml)


# --- the presence file's bound --------------------------------------------------------------------


def denial_body(tmp_path: Path) -> dict:
    """The body of a real denial at an entry gate (an unknown band): what E1 may well send."""
    rig = GateRig(tmp_path / "e1-alone", "E1", "entry", scanner=False)
    try:
        rig.start()
        assert (
            rig.ask("scan", kind="nfc", value="04FFFFFFFFFF01")["decision"]["code"]
            == "DENY_UNKNOWN"
        )
        return dict(rig.ask("journal")["entries"][-1]["body"])
    finally:
        rig.close()


def test_a_flooding_peer_cannot_grow_the_presence_file_past_its_bound(
    tmp_path, fresh_broker, rigs, mqtt_client
):
    """E1's password sends far more than the bound of legitimate-looking denials; X1 keeps its
    presence file under 2 MiB, drops E1's oldest entries, keeps E1's newest and the quiet E2's."""
    body = denial_body(tmp_path)
    broker = fresh_broker()
    extra = "presence_max_mib = 2\n" + link_section(broker, "X1", tmp_path)
    exit_gate = GateRig(tmp_path, "X1", "exit", scanner=False, extra=extra)
    rigs.append(exit_gate.start())
    wait_for(lambda: exit_gate.status()["link"]["connected"], what="X1 connected")
    start_ms = int(time.time() * 1000) - 600_000  # the last ten minutes

    def entry(gate: str, seq: int) -> WireEntry:
        hlc = str(Timestamp(start_ms + seq))
        return WireEntry(
            seq=seq,
            nonce=f"{seq:016x}",
            wall_ms=start_ms + seq,
            hlc=hlc,
            kind="decision",
            body={**body, "decision": {**body["decision"], "gate": gate}},  # each its own
        )

    state = exit_gate.dir / "state"
    db = state / "presence.db"

    def kept_of(gate: str) -> int:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as c:
            query = "SELECT COUNT(*) FROM remote WHERE gate = ?"
            return int(c.execute(query, (gate,)).fetchone()[0])

    e2 = mqtt_client("E2", broker=broker)
    e2.publish(
        TOPICS.events("E2"),
        dump(EventBatch(gate="E2", entries=[entry("E2", s) for s in range(1, 11)])),
    )
    wait_for(  # the quiet gate's history is kept before the flood begins
        lambda: kept_of("E2") == 10,
        what="E2's 10 entries kept at X1",
        log=lambda: f"X1 holds {kept_of('E2')}; counters {exit_gate.status()['counters']}",
    )
    e1 = mqtt_client("E1", broker=broker)
    per_batch, total = 200, 12_000  # about 4 MiB of entries
    for first in range(1, total + 1, per_batch):
        batch = EventBatch(
            gate="E1", entries=[entry("E1", s) for s in range(first, first + per_batch)]
        )
        e1.publish(TOPICS.events("E1"), dump(batch))

    def newest_e1() -> int:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as c:
            return c.execute("SELECT MAX(seq) FROM remote WHERE gate = 'E1'").fetchone()[0] or 0

    wait_for(  # 12,000 entries to fold and bound: minutes on a loaded machine
        lambda: newest_e1() == total,
        timeout=600,
        what="E1's last entry kept at X1",
        log=lambda: f"X1 holds E1 up to {newest_e1()}; counters {exit_gate.status()['counters']}",
    )
    size = sum(p.stat().st_size for p in state.glob("presence.db*"))
    assert size <= 2 << 20, f"presence file {size} bytes"
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as c:
        kept = dict(c.execute("SELECT gate, COUNT(*) FROM remote GROUP BY gate").fetchall())
        oldest_e1 = c.execute("SELECT MIN(seq) FROM remote WHERE gate = 'E1'").fetchone()[0]
    assert kept["E2"] == 10  # the quiet gate's history is not the flood's price
    assert 0 < kept["E1"] < total and oldest_e1 > 1  # the oldest went first
    assert oldest_e1 + kept["E1"] - 1 == total  # ... and only the oldest
    dropped = exit_gate.status()["counters"]["presence_dropped"]
    assert dropped == total - kept["E1"]

    # a restart folds what is kept
    exit_gate.stop()
    exit_gate.start()
    assert exit_gate.status()["journal"]["last_seq"] >= 0
