"""How the daily report reads the gates' times and writes its own: hybrid timestamps to
milliseconds, milliseconds to UTC times, times in the venue's zone; and guardian phones,
masked unless shown to staff."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from gate.core import mask_phone
from gate.core.hlc import Timestamp


def shown_phone(phone: str, staff: bool) -> str:
    return phone if staff else mask_phone(phone)


def hlc_ms(hlc: str) -> int:
    try:
        return Timestamp.parse(hlc).wall_ms
    except ValueError:
        return 0


def utc_time(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def epoch_ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def iso(at: datetime | None, tz: ZoneInfo) -> str | None:
    return at.astimezone(tz).isoformat(timespec="seconds") if at else None
