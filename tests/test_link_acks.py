"""A gate acknowledges what the broker sends it only once its loop has handled it, against a real
Mosquitto: a gate killed between receiving another gate's batch and keeping it hears the batch
again when it reconnects, and one it handled is not sent again (`gate.link.client.Link.done`).

Under load the chaos campaign killed gates in that moment: paho had acknowledged a peer's batch
on receipt, the entries never reached the gate's presence, and the gate judged those families
without them (an exit gate not knowing their bands, an entry gate letting a member back in as a
first entry).
"""

from __future__ import annotations

import os
import queue
import time
from typing import Any

from broker import TIMEOUT_S, MqttClient

from gate.link.client import Link, LinkMessage, LinkSettings, LinkSubscribed, LinkUp
from gate.link.protocol import Topics
from gate.store.journal import Journal

TOPICS = Topics()


class Inbox:
    """The link's inbox as the gate's loop reads it, in order; what a wait passes over is kept
    for the next one."""

    def __init__(self) -> None:
        self.queue: queue.Queue[Any] = queue.Queue()
        self.held: list[Any] = []

    def next_of(self, kind: type, timeout: float = TIMEOUT_S) -> Any:
        for item in self.held:
            if isinstance(item, kind):
                self.held.remove(item)
                return item
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                item = self.queue.get(timeout=left)
            except queue.Empty:
                break
            if isinstance(item, kind):
                return item
            self.held.append(item)
        raise AssertionError(f"no {kind.__name__} from the link within {timeout} s")

    def messages(self) -> list[LinkMessage]:
        """What came in so far, not yet read."""
        while not self.queue.empty():
            self.held.append(self.queue.get())
        return [item for item in self.held if isinstance(item, LinkMessage)]


def connected(broker: Any, tmp_path: Any, journal: Journal) -> tuple[Link, Inbox]:
    """Gate X1's link, connected to its session, every subscription granted."""
    secret = tmp_path / "X1.password"
    secret.write_text(broker.credentials.password("X1"))
    os.chmod(secret, 0o600)
    settings = LinkSettings(host=broker.host, port=broker.port, password_file=secret)
    inbox = Inbox()
    link = Link(settings, "X1", inbox.queue, role="exit")
    link.start()
    up = inbox.next_of(LinkUp)
    link.up(journal, up.session_present)
    while not link.subscribed:
        link.answered(inbox.next_of(LinkSubscribed))
    return link, inbox


def killed(link: Link) -> None:
    """As SIGKILL leaves it: no DISCONNECT, no acknowledgement sent after this."""
    link.client.loop_stop()
    sock = link.client.socket()
    assert sock is not None
    sock.close()


def from_e1(inbox: Inbox, payload: bytes) -> LinkMessage:
    while True:
        message = inbox.next_of(LinkMessage)
        if message.topic == TOPICS.events("E1") and message.payload == payload:
            return message


def test_a_peers_batch_is_sent_again_until_the_gate_has_handled_it(tmp_path, fresh_broker):
    broker = fresh_broker()
    journal = Journal(tmp_path / "journal.db", "X1")
    e1 = MqttClient(broker, "E1", broker.credentials.password("E1"))
    assert not e1.connect().is_failure
    try:
        link, inbox = connected(broker, tmp_path, journal)
        batch = b"E1's batch, received and not yet kept"
        e1.publish(TOPICS.events("E1"), batch, qos=1)
        from_e1(inbox, batch)  # in the loop's inbox: the gate dies before it handles it
        killed(link)

        link, inbox = connected(broker, tmp_path, journal)  # the gate back
        again = from_e1(inbox, batch)
        link.done(again)  # handled this time
        killed(link)

        link, inbox = connected(broker, tmp_path, journal)
        later = b"E1's next batch"
        e1.publish(TOPICS.events("E1"), later, qos=1)
        from_e1(inbox, later)
        assert batch not in [
            message.payload for message in inbox.messages()
        ]  # handled, acknowledged: not sent a third time
        link.stop()
    finally:
        e1.close()
        journal.close()
