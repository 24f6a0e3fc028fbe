"""The hub's HTTP side: the live display, its JSON API and event stream, with access by token.

Open on the venue LAN (read-only, no personal data, no band UIDs: groups by ticket code, members
by role and number): `/`, `/static/*`, `/metrics`, `/api/headcount`, `/api/display`,
`/api/stream`, `/api/gates`, `/api/alerts`, `/api/announcements` (the broadcast room's closing
prompts), `/api/headcount/today` (the day's headcount by
hour, for the display's curve), `/api/words`, `/api/openapi.json`, `/healthz`.
The page, the display's alerts and `/api/words` (the page's string table) are in the language of
the request: `?lang=en|zh-CN`, else the browser's Accept-Language, else `[hub] language`
(`hub.views.web.page`).
With a desk token (`Authorization: Bearer …`): `/api/lookup/{credential}`, guardian phones
masked; lost children and separated families, `GET /api/incidents`, `POST /api/incidents`,
`POST /api/incidents/{id}/close` (`hub.views.web.incidents_api`: the only POSTs).
With the staff token: everything, phones shown — `/api/lookup`, `/api/sweep`,
`/api/findings`, `/api/reports/daily?date=YYYY-MM-DD[&format=json|xlsx|html|csv][&lang=zh-CN]`
(JSON by default). The desk's console, `/desk/{gate}` (the page, open: it holds no data) and
`/api/desk/{gate}...` (desk or staff token, the only POST): `hub.views.web.desk_routes`.
Tokens live in files
named by hub.toml (mode 0600), never in the repository. The server itself (time, thread and size
bounds, Host check, security headers) is `hub.views.web.http`.
"""

from __future__ import annotations

import asyncio
import functools
import hmac
import json
import logging
import mimetypes
import re
import time
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from gate.i18n import LANGUAGES
from hub.views.reports.today import TodayCurve
from hub.views.view import HubView
from hub.views.web.desk_routes import desk_get, desk_page_gate, desk_post
from hub.views.web.http import DEFAULT_LIMITS, Answer, HttpServer, Limits, SharedFeed
from hub.views.web.incidents_api import is_incidents_path, open_incidents, post_incident
from hub.views.web.openapi import OPENAPI
from hub.views.web.page import desk_page, display_page, request_language, string_table
from hub.views.web.request import Request

log = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent / "static"
STREAM_EVERY_S = 0.5  # the display computed again at least this often (clocks, liveness)
STREAM_LOOK_S = 0.05  # a stream looks this often whether the venue changed (`HubView.changes`)
KEEPALIVE_S = 15.0

OPEN, DESK, STAFF = 0, 1, 2


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()

    @staticmethod
    def json(data: Any, status: int = 200) -> Reply:
        return Reply(status, json.dumps(data, default=str, ensure_ascii=False).encode())


def read_token(path: Path | None) -> str | None:
    """A token file's content; refused if others may read it."""
    if path is None:
        return None
    if path.stat().st_mode & 0o077:
        raise ValueError(f"{path}: a token file must be mode 0600")
    token = path.read_text().strip()
    if len(token) < 16:
        raise ValueError(f"{path}: a token must be at least 16 characters")
    return token


class Access:
    """Who a request is, from its bearer token."""

    def __init__(self, desk: str | None, staff: str | None) -> None:
        self.desk, self.staff = desk, staff

    def level(self, header: str | None) -> int:
        if not header or not header.startswith("Bearer "):
            return OPEN
        token = header.removeprefix("Bearer ").strip().encode("utf-8", "surrogateescape")
        if self.staff and hmac.compare_digest(token, self.staff.encode()):
            return STAFF
        if self.desk and hmac.compare_digest(token, self.desk.encode()):
            return DESK
        return OPEN


def make_server(
    hub: HubView,
    bind: str,
    port: int,
    access: Access,
    *,
    allowed_hosts: list[str] | None = None,
    limits: Limits = DEFAULT_LIMITS,
    language: str = "en",
) -> HttpServer:
    """The hub's HTTP server on `bind`:`port` (bound now; `serve_forever()` serves); `language`
    is the hub's, for a request that names none."""

    def asked(request: Request) -> str:
        return request_language(request.query, request.headers.get("accept-language"), language)

    def handle(request: Request) -> Answer:
        level = access.level(request.headers.get("authorization"))
        lang = asked(request)
        try:
            if request.method == "POST" and is_incidents_path(request.path):
                reply = post(hub, request, level)  # a lost child reported (incidents_api)
            elif request.method == "POST":  # the desk's console asks for an action
                status, said = desk_post(
                    hub, request.path, request.headers, request.body, level, lang
                )
                reply = Reply.json(said, status)
            else:
                reply = route(hub, request.path, request.query, level, lang)
        except (ValueError, KeyError) as exc:
            reply = Reply.json({"error": str(exc)}, 400)
        challenge = (("WWW-Authenticate", 'Bearer realm="wristgate hub"'),)
        spoken = (("Content-Language", lang), ("Vary", "Accept-Language"))
        return Answer(
            reply.status,
            reply.body,
            reply.content_type,
            reply.headers + (challenge if reply.status == 401 else spoken),
        )

    async def stream(request: Request, send: Callable[[bytes], Awaitable[None]]) -> None:
        """Server-sent events: the display object whenever it changes."""
        last, quiet_since = b"", time.monotonic()  # last: the display without its clock
        feed, looked = feeds[asked(request)], None
        try:
            while not hub.stopping:
                display = await feed.latest()
                now = time.monotonic()
                changed = last if display is looked else _without_clock(display)  # not the clock
                looked = display
                if changed != last:
                    data = json.dumps(display, default=str, ensure_ascii=False).encode()
                    await send(b"event: display\ndata: " + data + b"\n\n")
                    last, quiet_since = changed, now
                elif now - quiet_since > KEEPALIVE_S:
                    await send(b": keepalive\n\n")
                    quiet_since = now
                await asyncio.sleep(STREAM_LOOK_S)
        except (OSError, TimeoutError):
            pass  # the display went away, or stopped reading
        except Exception:  # a bug must end this stream, not the hub: the page falls back
            log.exception("display stream failed")

    server = HttpServer(
        bind,
        port,
        handle,
        {"/api/stream": stream},
        allowed_hosts=allowed_hosts,
        limits=limits,
    )
    feeds = {  # one per language: its alerts' words
        lang: SharedFeed(server, functools.partial(hub.display, lang), STREAM_EVERY_S, hub.changes)
        for lang in LANGUAGES
    }
    return server


def _without_clock(display: dict[str, Any]) -> bytes:
    venue = {k: v for k, v in display.get("venue", {}).items() if k != "now"}
    return json.dumps({**display, "venue": venue}, default=str).encode()


def post(hub: HubView, request: Request, level: int) -> Reply:
    """The reply to a POST: the desk's incidents alone take one."""
    if not is_incidents_path(request.path):
        return Reply(405, b'{"error": "only GET and HEAD here"}', headers=(("Allow", "GET, HEAD"),))
    if level < DESK:
        return _unauthorised("a desk or staff token")
    holder = "staff token" if level >= STAFF else "desk token"
    kind = request.headers.get("content-type", "")
    status, answer = post_incident(hub, request.path, request.body, kind, holder)
    return Reply.json(answer, status)


def route(
    hub: HubView, path: str, query: dict[str, str], level: int, language: str = "en"
) -> Reply:
    """The reply to a GET of `path` (percent-decoded) by a caller of access `level`, its words in
    `language` (the request's, as `make_server` reads it)."""
    if path == "/":
        return Reply(200, display_page(language).encode(), "text/html; charset=utf-8")
    if path.startswith("/static/"):
        return _static(path.removeprefix("/static/"))
    if desk_page_gate(path) is not None:  # the desk's console: its data comes by token
        return Reply(200, desk_page(language).encode(), "text/html; charset=utf-8")
    if path == "/metrics":
        return Reply(200, hub.metrics_text().encode(), "text/plain; version=0.0.4; charset=utf-8")
    opened: dict[str, Callable[[], Any]] = {
        "/api/headcount": lambda: hub.headcount().model_dump(exclude={"v"}),
        "/api/display": lambda: hub.display(language),
        "/api/gates": hub.gate_views,
        "/api/alerts": lambda: hub.display(language)["alerts"],
        "/api/announcements": lambda: hub.display(language).get("announcements", []),
        "/api/headcount/today": lambda: _today_curve(hub)(),
        "/api/words": lambda: {"language": language, "words": string_table(language)},
        "/api/openapi.json": lambda: OPENAPI,
        "/healthz": lambda: {"ok": True, "connected": hub.connected},
    }
    if path in opened:
        return Reply.json(opened[path]())
    if path == "/api/incidents":
        if level < DESK:
            return _unauthorised("a desk or staff token")
        return Reply.json(open_incidents(hub))
    if path.startswith("/api/lookup/"):
        if level < DESK:
            return _unauthorised("a desk or staff token")
        found = hub.lookup(path.removeprefix("/api/lookup/"), staff=level >= STAFF)
        return Reply.json(found) if found else Reply.json({"error": "not known"}, 404)
    if (desk := desk_get(hub, path, level, language)) is not None:
        return Reply.json(desk[1], desk[0])
    staff_only: dict[str, Callable[[], Reply]] = {
        "/api/sweep": lambda: Reply.json(hub.sweep(staff=True)),
        "/api/findings": lambda: Reply.json([f.as_dict() for f in hub.findings()]),
        "/api/reports/daily": lambda: _report(hub, query),
    }
    if path in staff_only:
        return staff_only[path]() if level >= STAFF else _unauthorised("the staff token")
    return Reply.json({"error": f"no such path {path}"}, 404)


def _report(hub: HubView, query: dict[str, str]) -> Reply:
    """The daily report: JSON unless `format` asks for the workbook, the page or the CSV."""
    from gate.i18n import language_of
    from hub.views.reports.render import report_csv, report_html
    from hub.views.reports.workbook import MIME, report_xlsx

    day = date.fromisoformat(query["date"]) if "date" in query else hub.today()
    fmt = query.get("format", "json")
    if fmt not in REPORT_FORMATS:
        raise ValueError(f"format is one of {', '.join(REPORT_FORMATS)}, not {fmt[:20]!r}")
    language = language_of(query.get("lang"))
    report = hub.report(day)
    name = f"daily-report-{day.isoformat()}"
    if fmt == "xlsx":
        book = report_xlsx(report, staff=True, language=language)
        return Reply(200, book, MIME, _download(f"{name}.xlsx"))
    if fmt == "csv":
        text = report_csv(report, staff=True, language=language)
        return Reply(
            200, text.encode("utf-8-sig"), "text/csv; charset=utf-8", _download(f"{name}.csv")
        )
    if fmt == "html":
        page = report_html(report, staff=True, language=language)
        return Reply(
            200,
            page.encode(),
            "text/html; charset=utf-8",
            (("Content-Security-Policy", PAGE_POLICY),),
        )
    return Reply.json(report.as_dict(staff=True))


REPORT_FORMATS = ("json", "xlsx", "html", "csv")
# The report's page carries its own style and nothing else: no script, nothing fetched.
PAGE_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)


def _download(filename: str) -> tuple[tuple[str, str], ...]:
    return (("Content-Disposition", f'attachment; filename="{filename}"'),)


_CURVES: weakref.WeakKeyDictionary[Any, TodayCurve] = weakref.WeakKeyDictionary()


def _today_curve(hub: HubView) -> TodayCurve:
    """One curve per hub served, kept a minute (`hub.views.reports.today`)."""
    found = _CURVES.get(hub)
    if found is None:
        found = _CURVES[hub] = TodayCurve(lambda: hub.report(hub.today()), hub.today)
    return found


def _unauthorised(needs: str) -> Reply:
    return Reply.json({"error": f"this needs {needs} (Authorization: Bearer …)"}, 401)


_STATIC_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}")


def _static(name: str) -> Reply:
    """A file of the static directory itself: one short plain name, nothing else."""
    if not _STATIC_NAME.fullmatch(name):
        return Reply.json({"error": "not found"}, 404)
    path = STATIC / name
    if not path.is_file():
        return Reply.json({"error": "not found"}, 404)
    kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if kind.startswith("text/") or kind in ("application/javascript",):
        kind += "; charset=utf-8"
    return Reply(200, path.read_bytes(), kind)
