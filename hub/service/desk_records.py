"""What the entry desk records at the hub: lost-child and separated-family incidents
(`hub incident ...`, `POST /api/incidents`) and the desks' wristband stock (`hub stock ...`).

One entry point per record, the same for the control socket (the hub's loop), the HTTP API
(its threads) and the `hub` command when no hub runs (straight into the store):
`DeskRecords.incident(args, by)` and `DeskRecords.stock(args, by)`. `args` is what a person or a
program sent, and is checked as hostile: a bad one raises `ValueError` with a sentence an
operator can act on, counted by reason in `refused`. An incident is opened by a band of the
family (any member's) or its ticket code; the family must be bound. `by` says who asked: the
kernel's name of a user on the control socket, the token's holder on the API.

    records = DeskRecords(state_dir / "events.db", venue, policy.tz, roster)
    records.incident({"action": "open", "kind": "lost_child", "band": "04A1..."}, "desk token")
    records.stock({"action": "issue", "desk": "D1", "count": 200, "shift": "AM"}, "uid 0")
"""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from collections.abc import Mapping
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any

from gate.core import State
from hub.fold.reconcile import VenueState
from hub.store.band_stock import MAX_COUNT, BandStockLog
from hub.store.family_incidents import KINDS, OUTCOMES, AlreadyOpen, FamilyIncidents, NotOpen
from hub.store.hub_revocations import HubRevocations
from hub.views.sweep import lookup

MAX_NOTE = 200
MAX_ID = 1 << 53
_NAME = re.compile(r"[A-Za-z0-9_-]{1,16}")
_TICKET = re.compile(r"[^\x00-\x20\x7f]{1,64}")
STOCK_ACTIONS = {"issue": "taken", "return": "returned", "write_off": "written_off"}
DESK_ROLES = ("desk", "handheld")


class DeskRecords:
    def __init__(
        self,
        path: str | Path,
        venue: VenueState,
        tz: tzinfo,
        roster: Mapping[str, str] | None = None,
    ) -> None:
        self.incidents = FamilyIncidents(path)
        self.stock_log = BandStockLog(path)
        self.revocations = HubRevocations(path)  # `hub revoke` / `hub restore`: who, when
        self.venue, self.tz, self.roster = venue, tz, dict(roster or {})
        self.refused: Counter[str] = Counter()  # requests refused, by what was wrong
        self._lock = threading.Lock()  # the loop and the HTTP threads record one at a time

    def close(self) -> None:
        self.incidents.close_store()
        self.stock_log.close()
        self.revocations.close()

    def today(self) -> str:
        return datetime.now(self.tz).date().isoformat()

    # --- incidents ------------------------------------------------------------------------

    def incident(self, args: Any, by: str) -> dict[str, Any]:
        """`{"action": "open", "kind", "band" | "group", "note"?}`, `{"action": "close", "id",
        "outcome", "note"?}` or `{"action": "list"}` (the open ones)."""
        try:
            return self._incident(_object(args), by)
        except ValueError as exc:
            self.refused[f"incident: {type(exc).__name__}"] += 1
            raise

    def _incident(self, args: dict[str, Any], by: str) -> dict[str, Any]:
        action = args.get("action", "open")
        now_ms = int(time.time() * 1000)
        if action == "list":
            return {"incidents": self.shown(self.incidents.open_ones(), now_ms)}
        note = _text(args, "note", MAX_NOTE, required=False)
        if action in ("close", "vet_close"):
            n = args.get("id")
            if type(n) is not int or not 0 < n < MAX_ID:
                raise ValueError("id: the incident's number, as `hub incident list` shows it")
            outcome = args.get("outcome", "found")
            if outcome not in OUTCOMES:
                raise ValueError(f"outcome: {' or '.join(OUTCOMES)}")
            if action == "vet_close":  # to be asked of a desk: the family, nothing closed
                found = next((i for i in self.incidents.open_ones() if i.id == n), None)
                if found is None:
                    raise NotOpen(f"no incident {n} open")
                return {"group": found.group, "outcome": outcome, "note": note}
            with self._lock:
                done = self.incidents.close(n, outcome, now_ms, by, note)
            return {"incident": self.shown([done], now_ms)[0]}
        if action not in ("open", "vet_open"):
            raise ValueError("action: open, close or list")
        kind = str(args.get("kind", "")).replace("-", "_")
        if kind not in KINDS:
            raise ValueError("kind: lost-child or separated-family")
        band, group = self._family(args)
        if action == "vet_open":  # to be asked of a desk: checked, nothing recorded
            already = [i for i in self.incidents.open_ones() if i.group == group]
            if already:
                raise AlreadyOpen(group, already[0].id)
            return {"kind": kind.replace("_", "-"), "band": band, "group": group, "note": note}
        with self._lock:
            made = self.incidents.open(kind, group, band, now_ms, by, note)
        return {"incident": self.shown([made], now_ms)[0]}

    def _family(self, args: dict[str, Any]) -> tuple[str, str]:
        """The band (or "") and the group an incident is opened for."""
        has_band, has_group = args.get("band") is not None, args.get("group") is not None
        if has_band == has_group:
            raise ValueError("name the family by one band of it (band) or by its ticket (group)")
        with self.venue.reading() as state:
            if has_band:
                uid = _uid(args["band"], state)
                return uid, state.members[uid].group
            group = _text(args, "group", 64)
            if not _TICKET.fullmatch(group):
                raise ValueError("group: a ticket code, without spaces")
            if group not in state.groups and group.upper() in state.groups:
                group = group.upper()
            if group not in state.groups:
                raise ValueError(f"ticket {group}: no family bound to it")
            return "", group

    def shown(self, found: list[Any], now_ms: int) -> list[dict[str, Any]]:
        """Incidents as the API and the `hub` command show them: with the family's members,
        their state, last gate and time (band UIDs: these are for the desk and staff)."""
        with self.venue.reading() as state:
            return [incident_view(i.as_dict(), state, now_ms, self.tz) for i in found]

    # --- band stock -----------------------------------------------------------------------

    def stock(self, args: Any, by: str) -> dict[str, Any]:
        """`{"action": "issue" | "return" | "write_off", "desk", "count" | "band", "shift"?,
        "reason"?}`; `{"action": "records", "day"?}`: the day's records."""
        try:
            return self._stock(_object(args), by)
        except ValueError as exc:
            self.refused[f"stock: {type(exc).__name__}"] += 1
            raise

    def _stock(self, args: dict[str, Any], by: str) -> dict[str, Any]:
        action = args.get("action")
        day = self.today()
        if action == "records":
            return {"day": day, "records": [r.as_dict() for r in self.stock_log.day(day)]}
        if action not in STOCK_ACTIONS:
            raise ValueError("action: issue, return, write_off or records")
        desk = self._desk(args.get("desk"))
        shift = args.get("shift")
        if shift is None:
            shift = self.stock_log.current_shift(day, desk) or "1"
        else:
            shift = _text(args, "shift", 20)
        reason, count = "", args.get("count")
        if args.get("band") is not None:
            raise ValueError(
                "a band handed back is taken back at the desk, with a staff badge (the console's "
                "form, or gatectl stock return --band UID), so that every gate frees it"
            )
        if type(count) is not int or not 0 < count <= MAX_COUNT:
            raise ValueError(f"count: a whole number of bands from 1 to {MAX_COUNT}")
        if action == "write_off":
            reason = _text(args, "reason", MAX_NOTE)
        with self._lock:
            made = self.stock_log.add(
                day, desk, shift, STOCK_ACTIONS[action], count, int(time.time() * 1000),
                by=by, reason=reason,
            )  # fmt: skip
        return {"record": made.as_dict()}

    def _desk(self, desk: Any) -> str:
        if not isinstance(desk, str) or not _NAME.fullmatch(desk):
            raise ValueError("desk: the desk's gate id, as in hub.toml's [gates] (D1)")
        role = self.roster.get(desk)
        if self.roster and role not in DESK_ROLES:
            said = (
                f"{'an' if role in ('entry', 'exit') else 'a'} {role} gate"
                if role
                else ("not in hub.toml's [gates]")
            )
            raise ValueError(f"desk {desk}: {said}; bands are issued to a desk or a handheld")
        return desk


def incident_view(
    incident: dict[str, Any], state: State, now_ms: int, tz: tzinfo
) -> dict[str, Any]:
    members = state.members_of(incident["group"])
    last = max(members, key=lambda m: m.last_at, default=None)
    closed = incident["closed_ms"]
    return {
        **incident,
        "opened_at": _iso(incident["opened_ms"], tz),
        "closed_at": _iso(closed, tz) if closed is not None else None,
        "minutes_open": max(0, ((closed or now_ms) - incident["opened_ms"]) // 60_000),
        "members": [
            {
                "uid": m.uid,
                "role": m.role.value,
                "state": m.state.value,
                "last_gate": m.last_gate,
                "last_at": m.last_at.astimezone(tz).isoformat(timespec="seconds"),
            }
            for m in members
        ],
        "last_gate": last.last_gate if last else "",
        "last_at": last.last_at.astimezone(tz).isoformat(timespec="seconds") if last else None,
    }


def _iso(ms: int, tz: tzinfo) -> str:
    return datetime.fromtimestamp(ms / 1000, tz).isoformat(timespec="seconds")


def _object(args: Any) -> dict[str, Any]:
    if not isinstance(args, dict):
        raise ValueError("the request is a JSON object")
    return args


def _uid(value: Any, state: State) -> str:
    """A band's UID as the state spells it (any case, colons or spaces between bytes)."""
    if not isinstance(value, str) or not value.strip() or len(value) > 40:
        raise ValueError("band: a wristband's UID in hex (04A1B2C3D4E5F6)")
    found = lookup(state, value, staff=False)
    if found is None or found["match"]["kind"] != "band":
        raise ValueError(
            f"band {value.strip()!r:.40} is bound to no family: check the number, or name the "
            "family by its ticket"
        )
    return str(found["match"]["value"])


def _text(args: dict[str, Any], key: str, limit: int, *, required: bool = True) -> str:
    """A text field: trimmed, at most `limit` characters, no control characters."""
    value = args.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{key}: text is needed")
    value = value.strip()
    if len(value) > limit:
        raise ValueError(f"{key}: at most {limit} characters")
    if any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in value):
        raise ValueError(f"{key}: no control characters")
    return value
