"""A journal entry as `gatectl journal` shows it: a walk-in's guardian phone masked
(`*******8000`) in an entry written before phones were masked in the event itself
(`ChildRegistered`), so that no operator reads it in full at the desk. What is journalled,
and what the hub is sent, is not changed: it is byte for byte what the desk committed."""

from __future__ import annotations

from typing import Any

from gate.core import mask_phone
from gate.core.guardians import MASKED

MASKED_EVENTS = ("ChildRegistered",)


def shown(entry: dict[str, Any]) -> dict[str, Any]:
    body = entry.get("body")
    if not isinstance(body, dict):
        return entry
    events = body.get("events")
    if not isinstance(events, list) or not any(_full(e) for e in events):
        return entry
    masked = [{**e, "phone": mask_phone(e["phone"])} if _full(e) else e for e in events]
    return {**entry, "body": {**body, "events": masked}}


def _full(event: object) -> bool:
    if not isinstance(event, dict) or event.get("type") not in MASKED_EVENTS:
        return False
    phone = event.get("phone")
    return isinstance(phone, str) and bool(phone) and not MASKED.fullmatch(phone)
