"""The desk's incident API: lost children and separated families, for the desk's console and
the handhelds (desk or staff token).

    POST /api/incidents               {"kind": "lost-child" | "separated-family",
                                       "band": UID | "group": TICKET, "note"?: TEXT,
                                       "desk"?: GATE}              201 {"incident": {...}}
    POST /api/incidents/{id}/close    {"outcome"?: "found" | "cancelled", "note"?: TEXT}
                                                                   200 {"incident": {...}}
    GET  /api/incidents               the open ones               200 {"incidents": [...]}

Each incident comes with its family's members (band UIDs, state, last gate and time), the
family's last gate and time, and how long it has been open. A body is JSON
(`Content-Type: application/json`), at most the server's MAX_BODY; anything else is refused
with a reason: 400 (bad JSON or field), 401 (no token), 404 (no such incident open), 409 (the
family has one open already), 415 (not JSON).

With the desk token, an open or a close is a desk action like every other: it names its desk
(`"desk": "D1"`, else 400), is checked here as above, then asked of that desk
(`incident_open`, `incident_close`, `hub.service.desk`), which decides it with the staff badge
tapped on its reader and journals it, a refusal for want of a badge too: 202 `{"request", "gate",
"action", "state": "pending", "outcome": "/api/desk/D1/requests/ID"}`, where what became of it
is read. The staff token (a supervisor's) opens and closes at the hub at once (201, 200).

A page of another site cannot post here for a browser that holds a token: JSON and the
Authorization header both need a CORS preflight, which the hub never grants (OPTIONS is
refused).
"""

from __future__ import annotations

import json
import re
from typing import Any

from hub.store.family_incidents import AlreadyOpen, NotOpen
from hub.views.view import HubView

_CLOSE = re.compile(r"/api/incidents/(\d{1,15})/close")
_DESK = re.compile(r"[A-Za-z0-9_-]{1,16}")
DESK_TOKEN = "desk token"  # as hub.views.web.server names the holder
NO_DESK = (
    "desk: name the desk (D1): with the desk token an incident is that desk's action, "
    "authorised by the staff badge tapped on its reader"
)


def is_incidents_path(path: str) -> bool:
    return path == "/api/incidents" or _CLOSE.fullmatch(path) is not None


def post_incident(
    hub: HubView, path: str, body: bytes, content_type: str, holder: str
) -> tuple[int, dict[str, Any]]:
    """The status and JSON answer of a POST to an incidents path by a token's `holder`."""
    if content_type.split(";")[0].strip().lower() != "application/json":
        return 415, {"error": "the body must be JSON (Content-Type: application/json)"}
    try:
        request = json.loads(body.decode("utf-8")) if body else {}
    except (UnicodeDecodeError, ValueError, RecursionError):
        return 400, {"error": "the body is not a JSON object in UTF-8"}
    if not isinstance(request, dict):
        return 400, {"error": "the body must be a JSON object"}
    by = holder
    desk = request.pop("desk", None)
    if desk is not None:
        if not isinstance(desk, str) or not _DESK.fullmatch(desk):
            return 400, {"error": "desk: the desk's gate id (D1)"}
        by = f"{holder} at {desk}"
    elif holder == DESK_TOKEN:
        return 400, {"error": NO_DESK}
    closing = _CLOSE.fullmatch(path)
    if closing:
        request = {**request, "action": "close", "id": int(closing.group(1))}
    elif path == "/api/incidents":
        if request.get("action", "open") != "open":
            return 400, {"error": "to close an incident, POST /api/incidents/{id}/close"}
        request["action"] = "open"
    else:
        return 404, {"error": "no such path"}
    try:
        if holder == DESK_TOKEN:
            assert desk is not None
            return 202, _asked_of_desk(hub, desk, request)
        answer = hub.desk_incident(request, by)
    except AlreadyOpen as exc:
        return 409, {"error": str(exc), "incident": exc.incident}
    except NotOpen as exc:
        return 404, {"error": str(exc)}
    except ValueError as exc:
        return 400, {"error": str(exc)}
    return (200 if closing else 201), answer


def _asked_of_desk(hub: HubView, desk: str, request: dict[str, Any]) -> dict[str, Any]:
    """Check the incident as the hub would record it, then ask `desk` to decide it with its
    staff badge (ValueError, AlreadyOpen, NotOpen: why not)."""
    closing = request["action"] == "close"
    vetted = hub.desk_incident({**request, "action": f"vet_{request['action']}"}, "")
    if closing:
        action, args = "incident_close", {"group": vetted["group"], "outcome": vetted["outcome"]}
    else:
        family = {"band": vetted["band"]} if vetted["band"] else {"group": vetted["group"]}
        note = {"note": vetted["note"]} if vetted["note"] else {}
        action, args = "incident_open", {"kind": vetted["kind"], **family, **note}
    asked = hub.desk_ask(desk, action, args)
    return {**asked, "outcome": f"/api/desk/{desk}/requests/{asked['request']}"}


def open_incidents(hub: HubView) -> dict[str, Any]:
    return hub.desk_incident({"action": "list"}, "")
