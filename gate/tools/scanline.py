"""Scan lines of `gate simulate` (design.md §8): one JSON object per line."""

from __future__ import annotations

import json
from collections.abc import Container
from dataclasses import replace
from datetime import datetime
from typing import Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from gate.config import describe, time_problem
from gate.core import Decision, Intent, Kind, Mode, Scan
from gate.store.allowlist.validate import normalise_uid


class ScanLineError(ValueError):
    """A scan line that cannot be read; the message says why."""


class ScanLine(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    t: AwareDatetime = Field(description="ISO-8601 time with its UTC offset")
    gate: str = Field(min_length=1, max_length=32)
    mode: Literal["bind", "entry", "exit"]
    kind: Literal["barcode", "nfc"]
    value: str = Field(min_length=1, max_length=128)
    intent: Literal["final", "temporary"] | None = None

    @field_validator("t")
    @classmethod
    def _within_the_calendar(cls, t: datetime) -> datetime:
        if (problem := time_problem(t)) is not None:
            raise ValueError(problem)
        return t

    @field_validator("value")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("value is blank: give the code or UID scanned")
        return value

    @model_validator(mode="after")
    def _intent_only_on_exit(self) -> ScanLine:
        if self.intent is not None and self.mode != "exit":
            raise ValueError("intent applies to exit scans only")
        return self

    @model_validator(mode="after")
    def _nfc_value_is_a_uid(self) -> ScanLine:
        if self.kind == "nfc":
            normalise_uid(self.value)  # raises ValueError with the reason
        return self

    def to_scan(self) -> Scan:
        value = normalise_uid(self.value) if self.kind == "nfc" else self.value.strip()
        intent = Intent(self.intent or "final")
        return Scan(self.gate, Mode(self.mode), Kind(self.kind), value, intent)


def read_on_the_reader(scan: Scan, staff: Container[str]) -> Scan:
    """A scan line stands for a read at the gate. Its bands are judged by UID (a line carries no
    token), but a staff badge needs none: its line is taken as read from a tag (`Scan.tag`), as
    only a badge on the reader arms an override."""
    if scan.kind is Kind.NFC and scan.value in staff:
        return replace(scan, tag=True)
    return scan


def parse_scan_line(line: str) -> tuple[Scan, datetime]:
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ScanLineError(f"not JSON: {exc.msg} at column {exc.colno}") from exc
    except RecursionError as exc:
        raise ScanLineError("not a scan line: nested too deeply") from exc
    except ValueError as exc:  # the only other: a number of thousands of digits
        raise ScanLineError("not JSON: a number too long to read") from exc
    if not isinstance(data, dict):
        raise ScanLineError("a scan line is one JSON object")
    try:
        parsed = ScanLine.model_validate(data)
    except ValidationError as exc:
        raise ScanLineError(describe(exc, "scan").replace("\n", "; ")) from exc
    return parsed.to_scan(), parsed.t


def decision_line(d: Decision) -> dict[str, object]:
    """The fields `gate simulate` prints for a decision, exactly as design.md §8 names them."""
    return {
        "code": d.code.value,
        "message": d.message,
        "value": d.value,
        "group": d.group,
        "role": d.role.value if d.role else None,
        "forced": d.forced,
    }
