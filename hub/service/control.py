"""The hub's answers on its control socket: `hub import-tickets` (an import, applied and
published), `hub status` and `hub findings`; `hub incidents` and `hub drill` (hub.service.faults);
`hub incident` and `hub stock` (hub.service.desk_records).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gate.control.socket import Peer, asked_by, import_files
from hub.fold.reconcile import VenueState
from hub.ingest.allowlist import HubAllowlist, ImportResult
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
            if command in ("incident", "stock") and self.desk is not None:
                record = self.desk.incident if command == "incident" else self.desk.stock
                return {"ok": True, **record(args, peer_name(peer))}
            if command == "findings":
                return {"ok": True, "findings": [f.as_dict() for f in self.venue.findings()]}
        except (ValueError, OSError) as exc:
            return {"ok": False, "error": str(exc)}
        return {"ok": False, "error": f"unknown command {command!r:.40}"}

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
        "rows_skipped": [str(e) for e in result.row_errors],
    }
