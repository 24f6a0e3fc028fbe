"""The hub's answers on its control socket: `hub import-tickets` (an import, applied and
published), `hub status` and `hub findings`; `hub incidents` and `hub drill` (hub.service.faults);
`hub incident` and `hub stock` (hub.service.desk_records). Every answer is done, refused with a
reason of the closed list, or an internal error, as a gate's are (`gate.control.refusals`).
"""

from __future__ import annotations

import errno
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gate.control.refusals import Reason, Refused, internal_error, refusal
from gate.control.socket import Peer, asked_by, import_files
from hub.fold.reconcile import VenueState
from hub.ingest.allowlist import AllowlistError, HubAllowlist, ImportResult
from hub.service.desk_records import DeskRecords
from hub.service.publishing import Publisher

log = logging.getLogger("hub")


class HubControl:
    def __init__(
        self,
        allowlist: HubAllowlist,
        venue: VenueState,
        publisher: Publisher,
        status: Callable[[], dict[str, Any]],
    ) -> None:
        self.allowlist, self.venue, self.publisher = allowlist, venue, publisher
        self.status = status
        # `hub incidents` and `hub drill` (hub.service.faults), once the hub has made them
        self.faults: Callable[[str, dict[str, Any], Peer | None], dict[str, Any]] | None = None
        self.desk: DeskRecords | None = None  # `hub incident`, `hub stock`

    def answer(
        self, command: str, args: dict[str, Any], peer: Peer | None = None
    ) -> dict[str, Any]:
        try:
            if command == "import":
                return self._import(args, peer)
            if command == "status":
                return {"ok": True, **self.status()}
            if command in ("incidents", "drill") and self.faults is not None:
                return self.faults(command, args, peer)
            if command in ("revoke", "restore"):
                return self.revocation(command, args, peer)
            if command in ("incident", "stock") and self.desk is not None:
                record = self.desk.incident if command == "incident" else self.desk.stock
                return {"ok": True, **record(args, peer_name(peer))}
            if command == "findings":
                return {"ok": True, "findings": [f.as_dict() for f in self.venue.findings()]}
        except Refused as exc:
            return exc.answer()
        except AllowlistError as exc:  # the ticket office's files: nothing applied
            return refusal(Reason.BAD_IMPORT, str(exc))
        except ValueError as exc:
            return refusal(Reason.BAD_REQUEST, str(exc))
        except OSError as exc:  # the hub's own store could not be written: nothing applied
            full = exc.errno == errno.ENOSPC
            return refusal(Reason.DISK_FULL if full else Reason.STATE_CANNOT_WRITE, str(exc))
        except Exception as exc:  # a bug: said as such, never passed off as a refusal
            log.exception("control request %s from %s failed", command, peer or "an unknown peer")
            return internal_error(f"{command}: {type(exc).__name__}: {exc}")
        return refusal(Reason.UNKNOWN_COMMAND, f"unknown command {command!r:.40}")

    def _import(self, args: dict[str, Any], peer: Peer | None) -> dict[str, Any]:
        """An import whose files `hub import-tickets` read with the operator's rights and sent:
        `{"tickets": {"name", "text"}}` for one tickets file, `{"directory": {"source",
        "files"}}` for an allowlist directory. The hub opens no path it is named."""
        if isinstance(args.get("tickets"), dict):
            name, text = args["tickets"].get("name"), args["tickets"].get("text")
            if not isinstance(name, str) or not isinstance(text, str):
                raise ValueError('a tickets import is {"tickets": {"name": NAME, "text": TEXT}}')
            source = name = Path(name[:200]).name or "tickets.csv"
            result = self.allowlist.import_tickets_text(name, text)
        elif "directory" in args:
            source, files = import_files(args["directory"])
            result = self.allowlist.import_texts(files, source)
        elif "path" in args:
            raise ValueError("an import sends the file's text, not a path: use a current hub CLI")
        else:
            raise ValueError("an import carries 'tickets' (one file) or 'directory'")
        who = asked_by(peer)
        report_import(result, f"{source} by {peer or 'an unknown peer'}")
        if result.applied:
            self.venue.allowlist = self.allowlist.current
            self.publisher.allowlist_change(result)
        return {"ok": True, **import_summary(result), "imported_by": who}

    def revocation(self, command: str, args: dict[str, Any], peer: Peer | None) -> dict[str, Any]:
        """`hub revoke VALUE --reason R`, `hub restore VALUE`: applied and published at once."""
        value = args.get("value")
        if command == "revoke":
            result = self.allowlist.revoke(value, args.get("reason"))
        else:
            result = self.allowlist.restore(value)
        who = asked_by(peer)
        log.info("%s %s by %s: %s", command, value, peer or "an unknown peer", result.version)
        if result.applied:
            self.venue.allowlist = self.allowlist.current
            self.publisher.allowlist_change(result)
            if self.desk is not None:  # for the daily report: who, when, why
                reason = str(args.get("reason") or "") if command == "revoke" else ""
                at_ms = int(time.time() * 1000)
                by = peer_name(peer)
                self.desk.revocations.add(command, str(value), reason, by, result.version, at_ms)
        return {"ok": True, **import_summary(result), "value": value, "imported_by": who}


def peer_name(peer: Peer | None) -> str:
    """Who asked on the control socket, as a record keeps it: "ana (uid 1001)"."""
    who = asked_by(peer)
    return f"{who.get('user')} (uid {who.get('uid')})"


def report_import(result: ImportResult, source: str) -> None:
    for row_error in result.row_errors:
        log.warning("allowlist %s: row skipped", row_error)
    log.info("allowlist import of %s: %s", source, import_summary(result))


def import_summary(result: ImportResult) -> dict[str, Any]:
    return {
        "version": result.version,
        "added": len(result.added),
        "replaced": len(result.replaced),
        "removed": len(result.removed),
        "revoked": result.other.get("revoked", 0),
        "restored": result.other.get("unrevoked", 0),
        "rows_skipped": [str(e) for e in result.row_errors],
    }
