"""Scan lines of `gate simulate` (design.md §8): one JSON object per line."""

from __future__ import annotations

import json
from collections.abc import Container
from dataclasses import dataclass, replace
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
from gate.core import Decision, Intent, Kind, Mode, Scan, Voucher
from gate.store.allowlist.validate import normalise_uid


class ScanLineError(ValueError):
    """A scan line that cannot be read; the message says why."""


class VoucherLine(BaseModel):
    """What the entry gate's check of a voucher's signature read from it (`gate.devices.voucher`):
    a scan line stands for a read, and carries no key."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    serial: str = Field(min_length=1, max_length=32)
    uid: str = Field(min_length=8, max_length=20)
    expires: AwareDatetime

    @field_validator("uid")
    @classmethod
    def _a_uid(cls, uid: str) -> str:
        return normalise_uid(uid)


class AtGate(BaseModel):
    """What every line has: when, and at which gate."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    t: AwareDatetime = Field(description="ISO-8601 time with its UTC offset")
    gate: str = Field(min_length=1, max_length=32)

    @field_validator("t")
    @classmethod
    def _within_the_calendar(cls, t: datetime) -> datetime:
        if (problem := time_problem(t)) is not None:
            raise ValueError(problem)
        return t


class ScanLine(AtGate):
    mode: Literal["bind", "entry", "exit"]
    kind: Literal["barcode", "nfc"]
    value: str = Field(min_length=1, max_length=128)
    intent: Literal["final", "temporary"] | None = None
    voucher: VoucherLine | None = None  # a voucher whose signature the gate checked
    voucher_fault: str | None = Field(default=None, min_length=1, max_length=200)

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
    def _voucher_is_a_barcode(self) -> ScanLine:
        if (self.voucher or self.voucher_fault) and self.kind != "barcode":
            raise ValueError("a voucher is read from a barcode")
        if self.voucher and self.voucher_fault:
            raise ValueError("a voucher line has voucher or voucher_fault, not both")
        return self

    @model_validator(mode="after")
    def _nfc_value_is_a_uid(self) -> ScanLine:
        if self.kind == "nfc":
            normalise_uid(self.value)  # raises ValueError with the reason
        return self

    def to_scan(self) -> Scan:
        value = normalise_uid(self.value) if self.kind == "nfc" else self.value.strip()
        intent = Intent(self.intent or "final")
        v = self.voucher
        voucher = Voucher(v.serial, v.uid, v.expires) if v else None
        return Scan(
            self.gate,
            Mode(self.mode),
            Kind(self.kind),
            value,
            intent,
            voucher=voucher,
            voucher_fault=self.voucher_fault,
        )


class JoinLine(AtGate):
    """The desk's join of two tickets into one family (`gatectl join T1 T2`), as a scan line."""

    join: list[str] = Field(description="the two ticket codes, the family's first")

    @field_validator("join")
    @classmethod
    def _two_codes(cls, join: list[str]) -> list[str]:
        codes = [code.strip() for code in join]
        if len(codes) != 2 or any(not code or len(code) > 128 for code in codes):
            raise ValueError("give two ticket codes of 1 to 128 characters")
        return codes


@dataclass(frozen=True, slots=True)
class Join:
    """Staff join ticket `second` to `first`'s family at desk `gate` (`gate.core.join`)."""

    gate: str
    first: str
    second: str


def read_on_the_reader(scan: Scan, staff: Container[str]) -> Scan:
    """A scan line stands for a read at the gate. Its bands are judged by UID (a line carries no
    token), but a staff badge needs none: its line is taken as read from a tag (`Scan.tag`), as
    only a badge on the reader arms an override."""
    if scan.kind is Kind.NFC and scan.value in staff:
        return replace(scan, tag=True)
    return scan


def parse_scan_line(line: str) -> tuple[Scan, datetime]:
    return _scan(one_object(line))


def _scan(data: dict[str, object]) -> tuple[Scan, datetime]:
    try:
        parsed = ScanLine.model_validate(data)
    except ValidationError as exc:
        raise ScanLineError(describe(exc, "scan").replace("\n", "; ")) from exc
    return parsed.to_scan(), parsed.t


def parse_line(line: str) -> tuple[Scan | Join, datetime]:
    """A scan line, or the desk's join of two tickets (a line with `join` instead of a scan)."""
    data = one_object(line)
    if "join" not in data:
        return _scan(data)
    try:
        parsed = JoinLine.model_validate(data)
    except ValidationError as exc:
        raise ScanLineError(describe(exc, "join").replace("\n", "; ")) from exc
    first, second = parsed.join
    return Join(parsed.gate, first, second), parsed.t


def one_object(line: str) -> dict[str, object]:
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
    return data


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
