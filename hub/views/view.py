"""What the hub's HTTP handlers read of it: the `HubView` interface, so that the web server
depends on what it shows and not on the service that starts it (`hub.service.readout.Readout` is
the running hub's).
"""

from __future__ import annotations

from datetime import date
from typing import Any, Protocol

from gate.link.protocol import Headcount
from hub.fold.findings import Finding


class HubView(Protocol):
    """Read from the HTTP server's threads, any number at once (`desk_incident` alone writes:
    the desk's records at the hub, never the venue's state)."""

    @property
    def stopping(self) -> bool:
        """The hub is stopping: display streams end."""
        ...

    @property
    def connected(self) -> bool:
        """The hub is connected to the broker."""
        ...

    def headcount(self) -> Headcount: ...

    def changes(self) -> object:
        """Changes whenever the venue's state does (an entry folded, a rebuild); cheap: each
        display stream asks it several times a second, to send a tap's headcount at once."""
        ...

    def display(self, language: str | None = None) -> dict[str, Any]:
        """The wall display's object (`hub.views.display`), its alerts in `language` ("en",
        "zh-CN"; None: the hub's `[hub] language`)."""
        ...

    def gate_views(self) -> dict[str, Any]: ...

    def findings(self) -> list[Finding]: ...

    def metrics_text(self) -> str: ...

    def lookup(self, credential: str, *, staff: bool) -> dict[str, Any] | None: ...

    def sweep(self, *, staff: bool) -> list[dict[str, Any]]: ...

    def desk(self, gate: str) -> dict[str, Any] | None:
        """The desk's console object (`hub.views.desk_console`); None: `gate` is no desk."""
        ...

    def desk_ask(self, gate: str, action: object, args: object) -> dict[str, Any]:
        """Ask desk `gate` for a desk action (`hub.service.desk`); ValueError: why not."""
        ...

    def desk_outcome(self, gate: str, request: str, language: str = "en") -> dict[str, Any]:
        """What became of a request asked at the console, said in `language`; KeyError: never
        asked here."""
        ...

    def today(self) -> date:
        """The venue's day now, in its timezone."""
        ...

    def report(self, day: date) -> Any:
        """The daily report of `day` (`hub.views.reports`)."""
        ...

    def desk_incident(self, request: Any, by: str) -> dict[str, Any]:
        """A lost-child or separated-family incident opened, closed or listed (`POST
        /api/incidents`, `GET /api/incidents`), as `by` (the token's holder) asked: `request`
        is the caller's JSON, checked here; a bad one raises ValueError (its subclasses
        `AlreadyOpen` and `NotOpen` of hub.store.family_incidents: a conflict, not found)."""
        ...
