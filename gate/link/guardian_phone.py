"""A walk-in child's guardian phone, in full, from the desk that registered it to the hub alone
(docs/desk.md): the event every gate hears (`ChildRegistered`) holds it masked. Only that desk
writes its topic and only the hub reads it (`deploy.broker`'s ACL); never retained. The desk
sends it when it registers the child, and again each time it connects, until the day's end;
the hub keeps it for staff lookups, the report for staff and the notifier.

    {prefix}/gate/{gate}/guardian   {"v": 1, "gate", "group", "phone"}
"""

from __future__ import annotations

from pydantic import Field

from gate.link.protocol import GATE_ID, Message, Topics

MOBILE = r"^1\d{10}$"


class GuardianPhone(Message):
    gate: str = Field(pattern=GATE_ID)
    group: str = Field(min_length=1, max_length=64)
    phone: str = Field(pattern=MOBILE)


def guardian_topic(topics: Topics, gate: str = "+") -> str:
    """Where desk `gate` sends its walk-ins' guardian phones (`+`: every desk, as the hub reads)."""
    return f"{topics.prefix}/gate/{gate}/guardian"


def gate_of(topics: Topics, topic: str) -> str | None:
    """The gate a guardian topic names, None when `topic` is no guardian topic."""
    head, tail = f"{topics.prefix}/gate/", "/guardian"
    if not topic.startswith(head) or not topic.endswith(tail):
        return None
    gate = topic[len(head) : -len(tail)]
    return gate if gate and "/" not in gate else None
