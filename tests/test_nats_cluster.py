"""The test fitting of head office's engine (tests/nats_cluster.py, deploy/nats_process.py):
three real nats-server nodes whose JetStream keeps a replicated stream through the loss of one,
and whose MQTT gateways take a QoS 1 publish into it."""

from __future__ import annotations

import asyncio
import json
import time

import nats
import paho.mqtt.client as paho
import pytest
from nats.errors import NoRespondersError, TimeoutError
from nats.js import JetStreamContext
from nats.js.api import StreamConfig
from nats.js.errors import NoStreamResponseError
from nats_cluster import nats_options, run
from paho.mqtt.enums import CallbackAPIVersion

from deploy.broker import BrokerError
from deploy.nats_process import NatsCluster
from hub.chain.wire import STREAM, STREAM_SUBJECTS, ChainTopics


async def _make_stream(cluster: NatsCluster) -> None:
    await _make_stream_of(cluster, 3)


async def _make_stream_of(cluster: NatsCluster, replicas: int) -> None:
    """The stream, once its replicas have elected a leader: before that a publish finds no
    responder (`nats.errors.NoRespondersError`)."""
    nc = await nats.connect(**nats_options(cluster))
    try:
        js = nc.jetstream()
        await js.add_stream(
            StreamConfig(name=STREAM, subjects=list(STREAM_SUBJECTS), num_replicas=replicas)
        )
        deadline = time.monotonic() + 60
        while (
            info := await js.stream_info(STREAM)
        ).cluster is not None and not info.cluster.leader:
            assert time.monotonic() < deadline, f"stream {STREAM}: no leader within 60 s"
            await asyncio.sleep(0.05)
    finally:
        await nc.close()


async def _publish_and_count(cluster: NatsCluster, subject: str, n: int) -> int:
    nc = await nats.connect(**nats_options(cluster))
    try:
        js = nc.jetstream()
        batch = f"{subject}-{time.monotonic_ns()}"
        for i in range(n):
            await _publish(js, subject, json.dumps({"i": i}).encode(), f"{batch}-{i}")
        info = await js.stream_info(STREAM)
        return int(info.state.messages)
    finally:
        await nc.close()


async def _publish(js: JetStreamContext, subject: str, data: bytes, msg_id: str) -> None:
    """Publish as a real publisher does while a node is lost: again until the stream, its leader
    elected anew, answers (60 s at most); the stream keeps a message sent twice once (its id)."""
    deadline = time.monotonic() + 60
    while True:
        try:
            await js.publish(subject, data, timeout=5, headers={"Nats-Msg-Id": msg_id})
            return
        except (NoRespondersError, NoStreamResponseError, TimeoutError):
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.1)


async def _last_payload(cluster: NatsCluster, subject: str) -> object:
    nc = await nats.connect(**nats_options(cluster))
    try:
        message = await nc.jetstream().get_last_msg(STREAM, subject)
        return json.loads(message.data or b"null")
    finally:
        await nc.close()


def test_a_three_node_stream_takes_messages_with_one_node_down_and_back(nats_cluster) -> None:
    cluster = nats_cluster(3)
    run(_make_stream(cluster))
    assert run(_publish_and_count(cluster, "hq.venue.V1.entries", 5)) == 5

    cluster.nodes[0].kill()
    assert run(_publish_and_count(cluster, "hq.venue.V1.entries", 5)) == 10, cluster.logs()

    cluster.nodes[0].start()
    cluster.wait_ready()
    assert run(_publish_and_count(cluster, "hq.venue.V2.entries", 1)) == 11, cluster.logs()


def test_an_mqtt_qos1_publish_on_any_node_lands_in_the_stream(nats_cluster) -> None:
    cluster = nats_cluster(3)
    run(_make_stream(cluster))
    topic = ChainTopics().entries("V2")
    for node in cluster.nodes:
        client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"t-{node.name}")
        client.username_pw_set("V2", cluster.users["V2"])
        client.connect(node.host, node.mqtt_port)
        client.loop_start()
        try:
            payload = json.dumps({"via": node.name}).encode()
            client.publish(topic, payload, qos=1).wait_for_publish(30)
        finally:
            client.disconnect()
            client.loop_stop()
    assert run(_publish_and_count(cluster, "hq.venue.V2.summary", 0)) == 3, cluster.logs()
    assert run(_last_payload(cluster, "hq.venue.V2.entries")) == {"via": "n3"}


def test_a_venue_may_publish_on_its_own_subjects_only(nats_cluster) -> None:
    cluster = nats_cluster(1)
    run(_make_stream_of(cluster, 1))
    node = cluster.nodes[0]
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id="bridge-of-V1")
    client.username_pw_set("V1", cluster.users["V1"])
    client.connect(node.host, node.mqtt_port)
    client.loop_start()
    try:
        own = json.dumps({"venue": "V1"}).encode()
        client.publish(ChainTopics().entries("V2"), b'{"forged": 1}', qos=1).wait_for_publish(30)
        client.publish(ChainTopics().entries("V1"), own, qos=1).wait_for_publish(30)
    finally:
        client.disconnect()
        client.loop_stop()
    assert run(_publish_and_count(cluster, "hq.venue.V3.summary", 0)) == 1, cluster.logs()
    assert run(_last_payload(cluster, "hq.venue.V1.entries")) == {"venue": "V1"}
    assert "Publish Violation" in node.tail(40)


def test_a_wrong_password_is_refused_on_the_mqtt_port(nats_cluster) -> None:
    cluster = nats_cluster(1)
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id="intruder")
    client.username_pw_set("V1", "not-the-password")
    codes = []
    client.on_connect = lambda _c, _u, _f, reason, _p: codes.append(reason)
    client.connect(cluster.nodes[0].host, cluster.nodes[0].mqtt_port)
    client.loop_start()
    try:
        deadline = time.monotonic() + 30
        while not codes and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        client.loop_stop()
    assert codes and codes[0].is_failure


def test_a_cluster_with_a_node_that_cannot_start_says_why(tmp_path) -> None:
    cluster = NatsCluster(tmp_path, 1)
    cluster.nodes[0].store_dir.rmdir()
    cluster.nodes[0].store_dir.write_text("a file where JetStream wants a directory")
    with pytest.raises(BrokerError, match="n1"):
        cluster.start()
