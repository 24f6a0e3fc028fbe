"""A pickup code a desk sends to the hub, for the hub's notifier to tell the registered guardian
(the venue's `send_pickup_codes` option, docs/desk.md). Never retained and never journalled:
only the desk that made the code writes its topic, and only the hub reads it (`deploy.broker`'s
ACL); the hub checks the sender against its roster and forgets the code once it is sent.

    {prefix}/gate/{gate}/pickup   {"v": 1, "gate", "group", "code", "phone", "at_ms",
                                   "notify", "request", "printed"}

`notify` (true unless said): the guardian is to be told. `request`: the console's request
that registered the child, whose answer shows the code once to the staff who asked
(`hub.service.desk`); `printed`: whether the desk's printer printed it. A desk of an older
release sends neither: a notice for the guardian.
"""

from __future__ import annotations

from pydantic import Field

from gate.link.protocol import GATE_ID, Message, Topics

CODE = r"^\d{6}$"
MOBILE = r"^1\d{10}$"
REQUEST = r"^[A-Za-z0-9._:-]{1,64}$"


class PickupNotice(Message):
    gate: str = Field(pattern=GATE_ID)
    group: str = Field(min_length=1, max_length=64)
    code: str = Field(pattern=CODE)
    phone: str = Field(pattern=MOBILE)
    at_ms: int = Field(ge=0, description="when the desk gave the code, its wall clock (ms)")
    notify: bool = True  # tell the guardian (the venue's `send_pickup_codes`)
    request: str | None = Field(default=None, pattern=REQUEST)  # the console's, to answer
    printed: bool = False  # printed on the desk's receipt printer


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
