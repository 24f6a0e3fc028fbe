"""The desk's console over HTTP: its page and its API, for the desk token (or the staff's).

    GET  /desk/{gate}                        the console's page (no data in it: the page asks
                                             the API with the token the tablet keeps)
    GET  /api/desk/{gate}                    the binding in progress, the staff badge, the
                                             families left short (`hub.views.desk_console`)
    POST /api/desk/{gate}/actions            {"action": NAME, "args": {...}}: asked of that
                                             desk (`hub.service.desk`); 202 {"request": id}
    GET  /api/desk/{gate}/requests/{id}      what became of it: pending, decided (the desk's
                                             decision, from the hub's store), refused (why the
                                             desk did not run it), unanswered

A POST's body is JSON (`Content-Type: application/json`), at most the server's MAX_BODY bytes;
anything else is refused with a reason (400, 415). The token travels in the Authorization
header, never in a cookie: another site's page cannot post in the desk's name.
"""

from __future__ import annotations

import json
import re
from typing import Any

from gate.i18n import N_, said_in, words
from hub.views.view import HubView

DESK = 1  # as hub.views.web.server's access levels
GATE = r"[A-Za-z0-9_-]{1,32}"
_PAGE = re.compile(rf"/desk/(?P<gate>{GATE})/?")
_VIEW = re.compile(rf"/api/desk/(?P<gate>{GATE})")
_ACTIONS = re.compile(rf"/api/desk/(?P<gate>{GATE})/actions")
_REQUEST = re.compile(rf"/api/desk/(?P<gate>{GATE})/requests/(?P<request>[A-Za-z0-9._:-]{{1,64}})")
NEEDS = "a desk or staff token"

Found = tuple[int, Any]  # a status and what to send as JSON


def desk_page_gate(path: str) -> str | None:
    """The gate a console page's path names, or None."""
    found = _PAGE.fullmatch(path)
    return found["gate"] if found else None


NOT_ASKED = N_("no such request asked at this hub")
NOT_JSON = N_("the body is not JSON")
NOT_AN_ACTION = N_('the body is {"action": NAME, "args": {...}}')


def desk_get(hub: HubView, path: str, level: int, language: str = "en") -> Found | None:
    """A GET of the console's API; None: not one of its paths."""
    if (found := _VIEW.fullmatch(path)) is not None:
        if level < DESK:
            return 401, {"error": f"this needs {NEEDS} (Authorization: Bearer …)"}
        view = hub.desk(found["gate"])
        if view is None:
            return 404, {"error": f"{found['gate']} is not a desk of this venue"}
        return 200, view
    if (found := _REQUEST.fullmatch(path)) is not None:
        if level < DESK:
            return 401, {"error": f"this needs {NEEDS} (Authorization: Bearer …)"}
        try:
            return 200, hub.desk_outcome(found["gate"], found["request"], language)
        except KeyError:
            return 404, {"error": words(language)(NOT_ASKED)}
    return None


def desk_post(
    hub: HubView,
    path: str,
    headers: dict[str, str],
    body: bytes,
    level: int,
    language: str = "en",
) -> Found:
    """A POST: only a desk action asked at the console is one. What is refused is said in
    `language` (the console's)."""
    _ = words(language)
    found = _ACTIONS.fullmatch(path)
    if found is None:
        return 405, {"error": f"nothing is posted to {path[:80]}"}
    if level < DESK:
        return 401, {"error": f"this needs {NEEDS} (Authorization: Bearer …)"}
    kind = headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/json":
        return 415, {"error": "a desk action is posted as application/json"}
    try:
        asked = json.loads(body)
    except (ValueError, RecursionError):
        return 400, {"error": _(NOT_JSON)}
    if not isinstance(asked, dict) or set(asked) - {"action", "args"}:
        return 400, {"error": _(NOT_AN_ACTION)}
    try:
        return 202, hub.desk_ask(found["gate"], asked.get("action"), asked.get("args", {}))
    except ValueError as exc:
        return 400, {"error": said_in(exc, language)}
