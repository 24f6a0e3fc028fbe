"""What the daemon answers on its control socket. Runs on the daemon's loop, which owns the state.

Every answer is a JSON object with `ok`; a failed check or a denied scan says so in its fields,
and `gatectl` turns that into its exit status. Each handler is given who asked (`Peer`, from
the kernel): a test scan and an allowlist import are journalled with it.

The service sees the gate only through `RunningGate`, the few members it reads and calls; the
daemon (`gate.daemon.gate.Gate`) passes itself in.

Numbers a request may carry are bounded here, not trusted: a journal page is at most
MAX_JOURNAL_PAGE entries whatever `limit` or `tail` asks; negative or non-integer values are
refused with a reason.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import re
import secrets
import stat
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, is_dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from gate.control.refusals import Reason, Refused, internal_error, one_of, refusal, required
from gate.control.socket import ControlServer, Peer, asked_by, import_files
from gate.core import Allowlist, Intent, Kind, Mode, Policy, State, headcount, mask_phone
from gate.daemon.answers_guardians import GUARDIAN_COMMANDS
from gate.daemon.correction_answers import CORRECTIONS
from gate.daemon.desk_commands import DeskRunner, desk
from gate.daemon.guardian_actions import GuardianActions
from gate.daemon.held_scans import held_scan
from gate.daemon.journal_shown import shown
from gate.daemon.wristbands import band_check
from gate.store.allowlist import AllowlistError, load_csv_texts, normalise_uid
from gate.store.journal_file import JournalError

if TYPE_CHECKING:
    from gate.daemon.drill import GateDrill
    from gate.devices.gpio.gate_io import GateIO
    from gate.devices.nfc.reader import NfcReader
    from gate.devices.scanner import BarcodeScanner
    from gate.link.client import Link
    from gate.settings import GateSettings
    from gate.store.journal import Journal

log = logging.getLogger("gate.control")

EARLIEST_SANE_CLOCK = datetime(2025, 1, 1, tzinfo=UTC)
LOW_DISK_MB = 200.0
MAX_JOURNAL_PAGE = 1000  # entries in one journal answer; `gatectl journal --export` pages
MAX_SCAN_VALUE = 256  # characters of a test scan's value (a barcode, a UID)
REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")  # a scan's request id, journalled with it


# --- what the service reads and calls of the running gate (the daemon passes itself in) ---------


@runtime_checkable
class Scans(Protocol):
    """The gate's scan path: its mode, its last decision, a technician's test scan."""

    handheld_mode: str  # "bind" or "check"; `gatectl mode` switches a handheld
    last: dict[str, Any] | None
    fire_alarm: bool

    @property
    def mode(self) -> Mode | None: ...

    @property
    def pending(self) -> Mapping[int, object]: ...  # grants awaiting the passage sensor

    def read(
        self,
        kind: Kind,
        value: str,
        *,
        intent: Intent | None = None,
        test: bool = False,
        asked_by: dict[str, Any] | None = None,
        dry_run: bool = False,
        request: str | None = None,
    ) -> dict[str, Any]: ...

    def desk_action(
        self,
        action: Callable[..., dict[str, Any]],
        args: dict[str, Any],
        asked_by: dict[str, Any] | None,
    ) -> dict[str, Any]: ...


@runtime_checkable
class AllowlistImports(Protocol):
    """A technician's import of a CSV directory, stored, swapped in and journalled."""

    def imported(self, loaded: Allowlist, source: str, asked_by: dict[str, Any]) -> Allowlist: ...


class ClockDetails(Protocol):
    """The gate's clock against the hub's (`gate.daemon.clock_watch.ClockWatch`)."""

    def details(self) -> dict[str, Any]: ...


@runtime_checkable
class RunningGate(Protocol):
    """The gate as its control socket sees it: settings, devices, journal, state and counters."""

    settings: GateSettings
    policy: Policy  # its timezone: the venue's clock, as gatectl shows times
    started: float  # time.monotonic() at start
    clock: Callable[[], datetime]
    io: GateIO
    reader: NfcReader | None
    scanner: BarcodeScanner | None
    link: Link | None
    control: ControlServer
    journal: Journal
    counters: dict[str, int]
    drill: GateDrill | None  # a drill the hub ordered (gate.daemon.drill)
    desk: DeskRunner  # desk actions by name (gate.daemon.desk_commands)
    guardians: GuardianActions  # walk-ins, lists, typed pickup codes

    @property
    def clock_watch(self) -> ClockDetails: ...

    @property
    def scans(self) -> Scans: ...

    @property
    def allowlists(self) -> AllowlistImports: ...

    @property
    def state(self) -> State: ...

    def count(self, key: str, n: int = 1) -> None: ...


def answer(
    gate: RunningGate, command: str, args: dict[str, Any], peer: Peer | None = None
) -> dict[str, Any]:
    """The answer to one request: done, refused with a `Reason`, or an internal error (logged
    with its traceback, counted as `internal_error`); see `gate.control.refusals`. A journal
    that cannot commit is raised on: the loop counts it and moves nothing (`journal_refusal`
    is what the asker is told)."""
    handler = COMMANDS.get(command)
    if handler is None:
        known = ", ".join(COMMANDS)
        gate.control.count_refused(Reason.UNKNOWN_COMMAND)
        return refusal(Reason.UNKNOWN_COMMAND, f"unknown command {command!r:.40} ({known})")
    try:
        return {"ok": True, **handler(gate, args, peer), "timezone": gate.policy.timezone}
    except Refused as exc:
        gate.control.count_refused(exc.reason)
        return exc.answer()
    except JournalError:
        raise
    except Exception as exc:  # a bug: said as such, never passed off as a refusal
        log.exception("control request %s from %s failed", command, peer or "an unknown peer")
        gate.count("internal_error")
        return internal_error(f"{command}: {type(exc).__name__}: {exc}")


def bounded(args: dict[str, Any], name: str, default: int, *, least: int, most: int) -> int:
    """`args[name]`, a whole number of at least `least`, cut to `most`. Raises `Refused`."""
    value = args.get(name, default)
    if type(value) is not int:
        raise Refused(Reason.BAD_REQUEST, f"{name} must be a whole number")
    if value < least:
        raise Refused(Reason.BAD_REQUEST, f"{name} must be at least {least}, got {value}")
    return min(value, most)


def _plain(obj: Any) -> Any:
    return asdict(obj) if is_dataclass(obj) and not isinstance(obj, type) else obj


def status(gate: RunningGate, _args: dict[str, Any], _peer: Peer | None) -> dict[str, Any]:
    s = gate.settings
    return {
        "gate": s.id,
        "role": s.role,
        "mode": gate.scans.mode.value if gate.scans.mode else "check",
        "uptime_s": round(time.monotonic() - gate.started, 1),
        "allowlist_version": gate.state.allowlist.version,
        "headcount": headcount(gate.state).as_dict(),
        "journal": {
            "last_seq": gate.journal.last_seq,
            "acked": gate.journal.acked,
            "backlog": gate.journal.backlog,
        },
        "reader": _plain(gate.reader.health()) if gate.reader else None,
        "scanner": _plain(gate.scanner.health()) if gate.scanner else None,
        "link": _link(gate),
        "clock": gate.clock_watch.details(),
        "fire_alarm": gate.scans.fire_alarm,
        "drill": gate.drill.as_dict() if gate.drill else None,  # while it lasts
        "awaiting_passage": len(gate.scans.pending),
        "counters": dict(sorted(gate.counters.items())),
        "control_refused": gate.control.refused,  # by reason: busy, idle, slow, too_big, ...
        "last": gate.scans.last,
    }


def scan(gate: RunningGate, args: dict[str, Any], peer: Peer | None) -> dict[str, Any]:
    kind = one_of(Kind, required(args, "kind"), "kind")
    value = required(args, "value")
    if not isinstance(value, str) or not 0 < len(value) <= MAX_SCAN_VALUE:
        raise Refused(Reason.BAD_REQUEST, f"value must be text of 1 to {MAX_SCAN_VALUE} characters")
    if kind is Kind.NFC:
        try:
            value = normalise_uid(value)
        except ValueError as exc:
            raise Refused(Reason.BAD_REQUEST, str(exc)) from None
    intent = one_of(Intent, args.get("intent", "final"), "intent")
    request = args.get("request") or secrets.token_hex(8)  # the asker's id, else one made here
    if not isinstance(request, str) or not REQUEST_ID.fullmatch(request):
        raise Refused(Reason.BAD_REQUEST, "request is 1 to 64 letters, digits or ._:-")
    who = asked_by(peer)
    dry = args.get("dry_run", False) is True  # decided, nothing journalled, nothing moved
    held = not dry and "memory" in args  # a band's memory: read and written as on the reader
    what = "dry-run scan" if dry else "band held" if held else "test scan"
    log.info("%s %s %s asked by %s", what, kind.value, value, peer or "an unknown peer")
    if held:
        result = held_scan(gate.scans, kind, value, args["memory"], intent, who, request)
    else:
        result = gate.scans.read(
            kind, value, intent=intent, test=True, asked_by=who, dry_run=dry, request=request
        )  # no band on the reader
    if "check" in result:
        check = result["check"]
        return {"check": check, "granted": check["known"], "dry_run": dry, "request": request}
    seq = None if dry else (gate.scans.last or {}).get("seq")  # the entry it was committed as
    granted = result["code"].startswith("OK_")
    return {
        "decision": result,
        "seq": seq,
        "request": request,  # journalled with the decision: how a harness finds its entry
        "granted": granted,
        "dry_run": dry,
        "asked_by": who,
    }


def selftest(gate: RunningGate, _args: dict[str, Any], _peer: Peer | None) -> dict[str, Any]:
    report = gate.io.selftest()
    return {"selftest": _plain(report), "passed": bool(getattr(report, "passed", True))}


def journal(gate: RunningGate, args: dict[str, Any], _peer: Peer | None) -> dict[str, Any]:
    page = MAX_JOURNAL_PAGE
    tail = bounded(args, "tail", 20, least=0, most=page)
    last = gate.journal.last_seq
    after = bounded(args, "after", max(last - tail, 0), least=0, most=max(last, 0))
    limit = bounded(args, "limit", page, least=1, most=page)
    entries = gate.journal.entries_after(after, limit=limit)
    return {
        "entries": [shown(e.to_json()) for e in entries],  # a guardian's phone masked
        "last_seq": last,
        "acked": gate.journal.acked,
        "limit": limit,  # what was used: at most MAX_JOURNAL_PAGE
    }


LINKED_IMPORT_REFUSED = (
    "this gate takes its allowlist from the hub: import at the hub with `hub import-tickets`"
)


def allowlist(gate: RunningGate, args: dict[str, Any], peer: Peer | None) -> dict[str, Any]:
    index = gate.state.allowlist
    if "import" in args and gate.link is not None:  # the hub's next version would hide behind it
        gate.count("allowlist_import_refused")
        log.warning("allowlist import by %s refused: this gate is linked to the hub", peer)
        raise Refused(Reason.NOT_HERE, LINKED_IMPORT_REFUSED)
    if "import" in args:
        source, files = import_files(args["import"])
        try:
            loaded, row_errors = load_csv_texts(files, where=source)
        except AllowlistError as exc:
            raise Refused(Reason.BAD_IMPORT, str(exc)) from None
        who = asked_by(peer)
        try:
            index = gate.allowlists.imported(loaded, source, who)
        except (OSError, AllowlistError) as exc:  # the snapshot could not be written
            full = isinstance(exc, OSError) and exc.errno == errno.ENOSPC
            why = Reason.DISK_FULL if full else Reason.STATE_CANNOT_WRITE
            raise Refused(why, str(exc)) from exc
        log.info("allowlist version %d imported from %s by %s", index.version, source, peer)
        return {
            "imported": index.version,
            "rows_skipped": [str(e) for e in row_errors],
            "imported_by": who,
        }
    info: dict[str, Any] = {
        "version": index.version,
        "tickets": len(index.tickets),
        "bands": len(index.bands),
        "staff": len(index.staff),
        "revoked": len(index.revoked),
    }
    if "lookup" in args:
        info["lookup"] = _lookup(gate, str(args["lookup"]))
    return info


def _lookup(gate: RunningGate, value: str) -> dict[str, Any]:
    index = gate.state.allowlist
    with contextlib.suppress(ValueError):  # not a UID: a ticket code
        value = normalise_uid(value)
    found: dict[str, Any] = {"value": value}
    if ticket := index.tickets.get(value):
        found["ticket"] = {**asdict(ticket), "guardian_phone": mask_phone(ticket.guardian_phone)}
    if value in index.bands:
        found["stock_role"] = index.bands[value].value
    if value in index.staff:
        found["staff"] = index.staff[value]
    if (reason := gate.state.revoked(value)) is not None:  # the allowlist's, or a desk's
        found["revoked"] = reason
    if value in gate.state.members:
        found["member"] = band_check(gate.state, value)
    return found


def diag(gate: RunningGate, _args: dict[str, Any], _peer: Peer | None) -> dict[str, Any]:
    checks = {
        "reader": _reader(gate),
        "scanner": _scanner(gate),
        "gpio": _plain(gate.io.state()),
        "disk": _disk(gate.settings.state_dir),
        "clock": _clock(gate),
        "key_file": _key_file(gate.settings.site_key),
        "link": _link(gate),
    }
    problems = [f"{name}: {c['problem']}" for name, c in checks.items() if c.get("problem")]
    return {"checks": checks, "problems": problems, "passed": not problems}


def _reader(gate: RunningGate) -> dict[str, Any]:
    if gate.reader is None:
        return {"fitted": False}
    health = _plain(gate.reader.health())
    healthy = ("connected", "searching")  # searching: waiting for a band, all is well
    problem = None if health.get("state") in healthy else f"reader {health.get('state')}"
    if problem and health.get("last_error"):
        problem += f": {health['last_error']}"
    return {"fitted": True, **health, "problem": problem}


def _scanner(gate: RunningGate) -> dict[str, Any]:
    if gate.scanner is None:
        return {"fitted": False}
    health = _plain(gate.scanner.health())
    problem = None if health.get("state") == "open" else f"scanner {health.get('state')}"
    return {"fitted": True, **health, "stats": _plain(gate.scanner.stats()), "problem": problem}


def _link(gate: RunningGate) -> dict[str, Any]:
    if gate.link is None:
        return {"configured": False}
    link = gate.link
    broker = f"{link.settings.host}:{link.settings.port}"
    info = {**link.health.as_dict(), "configured": True, "broker": broker}
    info |= {"connected": link.connected, "tls": link.settings.tls_ca is not None}
    info |= {"subscribed": link.subscribed, "refused_topics": list(link.refused)}
    info["backlog"] = gate.journal.backlog
    if not link.connected:
        health = link.health
        if health.last_kind in ("tls", "refused", "unreachable") and health.last_reason:
            why = health.last_reason  # says what to fix
        else:
            why = f"broker {broker} unreachable"
            why += f" (connection lost: {health.last_reason})" if health.last_reason else ""
        info["problem"] = f"{why}: journalling on, {info['backlog']} to send"
    elif link.refused:
        info["problem"] = (
            f"the broker refused this gate's subscription to {', '.join(link.refused)}: "
            "check its ACL (the gate does not hear what is sent there)"
        )
    elif recent := len(link.health.recent_takeovers()):
        info["problem"] = (
            f"another connection logged in as {link.username} {recent} time(s) in the last hour "
            "and took this gate's session: its broker password is known elsewhere"
        )
    return info


def _disk(path: Path) -> dict[str, Any]:
    free = os.statvfs(path)
    free_mb = free.f_bavail * free.f_frsize / 1e6
    problem = f"only {free_mb:.0f} MB free on {path}" if free_mb < LOW_DISK_MB else None
    return {"path": str(path), "free_mb": round(free_mb, 1), "problem": problem}


def _clock(gate: RunningGate) -> dict[str, Any]:
    now = gate.clock()
    newest = gate.journal.tail(1)
    last = newest[0].wall_ms if newest else None
    info: dict[str, Any] = {"now": now.isoformat(), "last_journal_wall_ms": last}
    clock = gate.clock_watch.details()
    info["hub"] = clock
    if clock["corrected"]:
        info["problem"] = clock["summary"]
    elif now < EARLIEST_SANE_CLOCK:
        info["problem"] = f"clock reads {now:%Y-%m-%d}: not set (no RTC, no NTP yet?)"
    elif last and now.timestamp() * 1000 < last - 60_000:
        info["problem"] = "clock is behind the journal's last entry: it went back"
    return info


def _key_file(path: Path) -> dict[str, Any]:
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError as exc:
        return {"path": str(path), "problem": f"cannot read: {exc.strerror}"}
    problem = f"mode {mode:04o}: must be 0600" if mode & 0o077 else None
    return {"path": str(path), "mode": f"{mode:04o}", "problem": problem}


def mode(gate: RunningGate, args: dict[str, Any], _peer: Peer | None) -> dict[str, Any]:
    if gate.settings.role != "handheld":
        fixed = f"the {gate.settings.role} gate {gate.settings.id} has a fixed mode"
        raise Refused(Reason.NOT_HERE, fixed)
    wanted = args.get("mode")
    if wanted not in ("bind", "check"):
        raise Refused(Reason.BAD_REQUEST, "mode is bind or check")
    gate.scans.handheld_mode = wanted
    return {"mode": wanted}


Handler = Callable[[RunningGate, dict[str, Any], Peer | None], dict[str, Any]]
COMMANDS: dict[str, Handler] = {
    "status": status,
    "scan": scan,
    "selftest": selftest,
    "journal": journal,
    "allowlist": allowlist,
    "diag": diag,
    "mode": mode,
    "desk": desk,  # a desk action by name (gate.daemon.desk_commands)
    **CORRECTIONS,
    **GUARDIAN_COMMANDS,  # walkin, not_authorised, pickup
}
