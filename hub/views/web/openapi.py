"""The OpenAPI description of the hub's JSON API, served at /api/openapi.json."""

from __future__ import annotations

from typing import Any


def _get(summary: str, schema: dict[str, Any], access: str = "open", **extra: Any) -> Any:
    return {
        "get": {
            "summary": summary,
            "description": f"Access: {access}.",
            "responses": {
                "200": {"description": "OK", "content": {"application/json": {"schema": schema}}},
                **({"401": {"description": "token missing or wrong"}} if access != "open" else {}),
            },
            **extra,
        }
    }


_NUMBER = {"type": "integer"}
HEADCOUNT = {
    "type": "object",
    "required": [
        "inside",
        "adults",
        "children",
        "unaccompanied_children",
        "groups_inside",
        "capacity",
        "as_of",
        "gates",
        "live",
        "stale_since",
    ],
    "properties": {
        "inside": _NUMBER,
        "adults": _NUMBER,
        "children": _NUMBER,
        "unaccompanied_children": _NUMBER,
        "groups_inside": _NUMBER,
        "capacity": {"type": ["integer", "null"]},
        "as_of": {"type": "string", "format": "date-time"},
        "live": {
            "type": "boolean",
            "description": "connected to the broker and a gate heard within 20 s",
        },
        "stale_since": {
            "type": ["string", "null"],
            "format": "date-time",
            "description": "not live: the figures are as of then; null when live",
        },
        "gates": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "properties": {
                    "online": {"type": "boolean"},
                    "last_seen": {"type": ["string", "null"], "format": "date-time"},
                    "backlog": _NUMBER,
                    "allowlist_version": {"type": ["integer", "null"]},
                    "clock_skew_s": {"type": ["number", "null"]},
                },
            },
        },
    },
}
OBJECT = {"type": "object"}
LIST = {"type": "array", "items": {"type": "object"}}
_TEXT = {"type": "string"}
MEMBER = {
    "type": "object",
    "description": "A member as open endpoints show it: by role and number, never by band UID",
    "properties": {
        "member": {"type": "string", "examples": ["adult 1", "child 2"]},
        "role": {"enum": ["adult", "child", "solo_child"]},
        "state": {"enum": ["bound", "inside", "temp_out", "exited"]},
        "last_gate": _TEXT,
        "last_at": {"type": "string", "format": "date-time"},
    },
}
ALERT = {
    "type": "object",
    "properties": {
        "level": {"enum": ["critical", "warning", "info"]},
        "kind": _TEXT,
        "text": {"type": "string", "description": "band UIDs and phones read [withheld]"},
    },
}
DISPLAY = {
    "type": "object",
    "properties": {
        "headcount": HEADCOUNT,
        "gates": OBJECT,
        "unaccompanied": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "group": {"type": "string", "description": "the ticket code"},
                    "children": {"type": "array", "items": MEMBER},
                    "adults": {"type": "array", "items": MEMBER},
                },
            },
        },
        "alerts": {"type": "array", "items": ALERT},
        "offline": {
            "type": "object",
            "description": "offline mode (hub/views/offline.py): `provisional` while an outage "
            "is open (the headcount then carries `provisional: true`), since when (`since_ms`), "
            "the gates cut off, whether the broker is down for the hub, the drill under way, "
            "the faults open",
        },
        "sweep": {
            "type": ["object", "null"],
            "description": "from 30 minutes before closing (the venue's, each session's) the "
            "children still inside; after closing too, critical, while any is",
            "properties": {
                "closes_at": {"type": "string", "format": "date-time"},
                "phase": {"type": "string", "enum": ["before", "after"]},
                "level": {"type": "string", "enum": ["info", "critical"]},
                "minutes_left": _NUMBER,
                "minutes_past": _NUMBER,
                "closings": {"type": "array", "items": OBJECT},
                "children": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "member": _TEXT,
                            "group": _TEXT,
                            "role": _TEXT,
                            "adult_inside": {"type": "boolean"},
                            "unaccompanied": {"type": "boolean"},
                        },
                    },
                },
            },
        },
        "announcements": {"type": "array", "items": OBJECT},
        "venue": OBJECT,
    },
}
ANNOUNCEMENT = {
    "type": "object",
    "properties": {
        "kind": {"type": "string", "enum": ["closing_soon", "closed"]},
        "level": {"type": "string", "enum": ["info", "critical"]},
        "session": {"type": "string", "description": "empty: the venue's closing"},
        "closes_at": {"type": "string", "format": "date-time"},
        "groups": {"type": "array", "items": {"type": "string"}},
        "text": {"type": "object", "properties": {"en": {"type": "string"}, "zh-CN": {}}},
    },
}
GATE = {"name": "gate", "in": "path", "required": True, "schema": {"type": "string"}}
LANG = {
    "name": "lang",
    "in": "query",
    "required": False,
    "description": "en or zh-CN (also on /, /api/display, /api/alerts, /api/stream)",
    "schema": {"type": "string", "enum": ["en", "zh-CN"]},
}
CREDENTIAL = {
    "name": "credential",
    "in": "path",
    "required": True,
    "description": "a band UID (hex, any case, colons allowed) or a ticket code",
    "schema": {"type": "string"},
}

OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "wristgate hub",
        "version": "1",
        "description": (
            "Open endpoints carry no personal data and no band UIDs: groups by ticket code, "
            "members by role and number. Band UIDs and guardian phones need a token. A "
            "malformed request is answered 400 (405 for a method other than GET or HEAD, or "
            "POST where one is taken, 408 "
            "too slow, 413 a body, 414 a long target, 421 a foreign Host, 431 a large head, "
            "503 too many connections) with a JSON {error}."
        ),
    },
    "components": {"securitySchemes": {"token": {"type": "http", "scheme": "bearer"}}},
    "paths": {
        "/api/headcount": _get("Who is inside now, and each gate's status", HEADCOUNT),
        "/api/display": _get("Everything the live display shows", DISPLAY),
        "/api/headcount/today": _get(
            "Today's headcount by hour: who was inside when the first hour began and at each "
            "hour's end (the hour under way ends now); kept a minute",
            OBJECT,
        ),
        "/api/stream": {
            "get": {
                "summary": "Server-sent events: `event: display` with /api/display's object",
                "responses": {"200": {"description": "text/event-stream"}},
            }
        },
        "/api/gates": _get("Each gate: online, last seen, backlog, allowlist, clock skew", OBJECT),
        "/api/alerts": _get(
            "Rule violations, forged entries, gate offline, stale allowlist, capacity, conflicts, "
            "broker takeovers, no roster or gates not on it",
            {"type": "array", "items": ALERT},
        ),
        "/api/announcements": _get(
            "The broadcast room's prompts: 30 minutes before each closing (the venue's, each "
            "session's) and after it while children are inside, naming their groups, in English "
            "and Chinese",
            {"type": "array", "items": ANNOUNCEMENT},
        ),
        "/api/words": _get(
            "The display page's string table: each English id and its text in the language of "
            "the request (?lang=en|zh-CN, else Accept-Language, else the hub's [hub] language)",
            {
                "type": "object",
                "properties": {
                    "language": {"type": "string", "enum": ["en", "zh-CN"]},
                    "words": {"type": "object", "additionalProperties": _TEXT},
                },
            },
            parameters=[LANG],
        ),
        "/api/lookup/{credential}": _get(
            "A band's or ticket's group: every member's role, state, last gate and time; "
            "`incident`: the lost-child or separated-family incident open for it, or null",
            OBJECT,
            "desk or staff token (guardian phone shown to staff only)",
            parameters=[CREDENTIAL],
            security=[{"token": []}],
        ),
        "/api/incidents": {
            **_get(
                "Lost children and separated families open now, each with its family's members "
                "(band, role, state, last gate and time) and how long it has been open",
                {"type": "object", "properties": {"incidents": LIST}},
                "desk or staff token",
                security=[{"token": []}],
            ),
            "post": {
                "summary": "Open one: the wall display shows the family until it is closed",
                "description": "Access: desk or staff token. Body (JSON, 4096 bytes at most): "
                '{"kind": "lost-child" | "separated-family", "band": UID | "group": TICKET, '
                '"note"?: TEXT (200), "desk"?: GATE}. 400 a bad field, 409 the family has one '
                "open already ({error, incident}), 415 not JSON. With the desk token, desk is "
                "required and the desk decides it with the staff badge tapped there (202).",
                "security": [{"token": []}],
                "responses": {
                    "201": {"description": "{incident} (staff token)"},
                    "202": {"description": "{request, gate, action, state, outcome} (desk token)"},
                },
            },
        },
        "/api/incidents/{id}/close": {
            "post": {
                "summary": "Close one: the family is together again",
                "description": "Access: desk or staff token. Body: "
                '{"outcome"?: "found" (default) | "cancelled", "note"?: TEXT, "desk"?: GATE}. '
                "404 no such incident open. With the desk token, desk is required and the desk "
                "decides it with the staff badge tapped there (202).",
                "security": [{"token": []}],
                "parameters": [
                    {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}
                ],
                "responses": {
                    "200": {"description": "{incident} (staff token)"},
                    "202": {"description": "{request, gate, action, state, outcome} (desk token)"},
                },
            }
        },
        "/api/sweep": _get(
            "Closing sweep: every child inside, its group, whether an adult is inside",
            LIST,
            "staff token",
            security=[{"token": []}],
        ),
        "/api/findings": _get(
            "What the last reconciliation found; rule violations have severity critical",
            LIST,
            "staff token",
        ),
        "/api/desk/{gate}": _get(
            "The desk's console: the binding in progress at that desk (ticket, slots by role, "
            "who is missing, bands bound), whether a staff badge tapped there authorises an "
            "action now, and the families left short",
            OBJECT,
            "desk or staff token",
            parameters=[GATE],
            security=[{"token": []}],
        ),
        "/api/desk/{gate}/actions": {
            "post": {
                "summary": "Ask that desk for a desk action (join, replace, unbind, reissue, "
                "walkin, not_authorised, revoke, restore, incident_open, incident_close, stock, "
                "hand_back), "
                "authorised by the staff badge tapped on that desk's reader: "
                '{"action": NAME, "args": {NAME: TEXT or [TEXT]}}; 202 with its request id',
                "parameters": [GATE],
                "security": [{"token": []}],
                "requestBody": {"content": {"application/json": {"schema": OBJECT}}},
                "responses": {
                    "202": {"description": "asked: {request, gate, action, state: pending}"},
                    "400": {"description": "not asked, and why"},
                    "401": {"description": "desk or staff token"},
                },
            }
        },
        "/api/desk/{gate}/requests/{request}": _get(
            "What became of a request asked at the console: pending, decided (the desk's "
            "decision: code, message, staff badge, journal seq), refused (why the desk did not "
            "run it), unanswered",
            OBJECT,
            "desk or staff token",
            parameters=[GATE, {"name": "request", "in": "path", "required": True}],
            security=[{"token": []}],
        ),
        "/api/reports/daily": _get(
            "The daily report: JSON, or a workbook (xlsx), a printable page (html), one CSV",
            OBJECT,
            "staff token",
            parameters=[
                {"name": "date", "in": "query", "schema": {"type": "string", "format": "date"}},
                {
                    "name": "format",
                    "in": "query",
                    "schema": {"enum": ["json", "xlsx", "html", "csv"], "default": "json"},
                },
                {"name": "lang", "in": "query", "schema": {"enum": ["en", "zh-CN"]}},
            ],
        ),
    },
}
