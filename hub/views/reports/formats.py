"""How the daily report writes its times and phones, and the clock arithmetic of the day's
bounds: milliseconds to UTC times and back, times in the venue's zone, guardian phones masked
unless shown to staff."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from gate.core import mask_phone


def shown_phone(phone: str, staff: bool) -> str:
    return phone if staff else mask_phone(phone)


def utc_time(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def epoch_ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def iso(at: datetime | None, tz: ZoneInfo) -> str | None:
    return at.astimezone(tz).isoformat(timespec="seconds") if at else None
