"""The hub's web server reads the hub through `HubView` alone: whatever answers its methods is
served, with the same access rules."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from gate.link.protocol import Headcount
from hub.fold.findings import Finding
from hub.views.view import HubView
from hub.views.web.server import DESK, OPEN, STAFF, route


class StillView:
    """A hub at rest: three inside, nothing found."""

    stopping = False
    connected = True

    def changes(self) -> object:
        return 0

    def headcount(self) -> Headcount:
        return Headcount(
            inside=3,
            adults=1,
            children=2,
            unaccompanied_children=0,
            groups_inside=1,
            capacity=None,
            as_of="2026-07-01T10:00:00+00:00",
        )

    def display(self, language: str | None = None) -> dict[str, Any]:
        return {"alerts": []}

    def gate_views(self) -> dict[str, Any]:
        return {}

    def findings(self) -> list[Finding]:
        return []

    def metrics_text(self) -> str:
        return ""

    def lookup(self, credential: str, *, staff: bool) -> dict[str, Any] | None:
        return None

    def sweep(self, *, staff: bool) -> list[dict[str, Any]]:
        return []

    def today(self) -> date:
        return date(2026, 7, 1)

    def report(self, day: date) -> Any:
        return None


def test_any_hub_view_is_served_with_the_same_access_rules():
    view: HubView = StillView()
    headcount = route(view, "/api/headcount", {}, OPEN)
    assert headcount.status == 200 and json.loads(headcount.body)["inside"] == 3
    assert json.loads(route(view, "/healthz", {}, OPEN).body) == {"ok": True, "connected": True}
    assert route(view, "/api/findings", {}, DESK).status == 401
    findings = route(view, "/api/findings", {}, STAFF)
    assert findings.status == 200 and json.loads(findings.body) == []
    assert route(view, "/api/lookup/ABC", {}, DESK).status == 404
