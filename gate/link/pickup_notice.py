"""A pickup code a desk sends to the hub, for the hub's notifier to tell the registered guardian
(the venue's `send_pickup_codes` option, docs/desk.md). Never retained and never journalled:
only the desk that made the code writes its topic, and only the hub reads it (`deploy.broker`'s
ACL); the hub checks the sender against its roster and forgets the code once it is sent.

    {prefix}/gate/{gate}/pickup   {"v": 1, "gate", "group", "code", "phone", "at_ms"}
"""

from __future__ import annotations

from pydantic import Field

from gate.link.protocol import GATE_ID, Message, Topics

CODE = r"^\d{6}$"
MOBILE = r"^1\d{10}$"


class PickupNotice(Message):
    gate: str = Field(pattern=GATE_ID)
    group: str = Field(min_length=1, max_length=64)
    code: str = Field(pattern=CODE)
    phone: str = Field(pattern=MOBILE)
    at_ms: int = Field(ge=0, description="when the desk gave the code, its wall clock (ms)")


def pickup_topic(topics: Topics, gate: str = "+") -> str:
    """Where desk `gate` sends the pickup codes it gives (`+`: every desk, as the hub reads)."""
    return f"{topics.prefix}/gate/{gate}/pickup"


def gate_of(topics: Topics, topic: str) -> str | None:
    """The gate a pickup topic names, None when `topic` is no pickup topic."""
    head, tail = f"{topics.prefix}/gate/", "/pickup"
    if not topic.startswith(head) or not topic.endswith(tail):
        return None
    gate = topic[len(head) : -len(tail)]
    return gate if gate and "/" not in gate else None
