"""Head office's page and API, over the hub's own bounded HTTP server (`hub.views.web.http`).

    /                        the chain's page: a row per venue, its words in the request's
                             language (`?lang=`, then Accept-Language, then hq.toml's), and
                             the day's sheet (`?day=YYYY-MM-DD`, else today) with the total
    /api/venues              every venue the token sees: headcount, children inside,
                             unaccompanied now (head office's fold), what its hub says,
                             alerts, last heard and whether it is stale, entries at hq
    /api/venues/{venue}      one venue (404 when unknown or not the token's)
    /api/sheets?day=YYYY-MM-DD   the day's sheet per venue and the chain's total
    /healthz                 hq's own: whether it reads the stream, the messages refused by
                             reason, the reader's counters (no token, no venue named)

The page holds no data: its script asks the API with the token the page was opened with
(`/#token=...`, kept in the tab's session storage). Every /api/ path wants a token of hq.toml's
`[[token]]` (401 without one); a venue's token sees its own venues, and any other is 404.
"""

from __future__ import annotations

import html
import json
import re
import time
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from gate.i18n import N_, from_accept_language, language_of, words
from hq.service.chain import Chain
from hq.service.tokens import TokenAccess
from hub.views.web.http import Answer, HttpServer, Limits
from hub.views.web.request import Request

STATIC = Path(__file__).resolve().parent / "static"
_STATIC_FILES = {"chain.js": "text/javascript", "chain.css": "text/css"}
_VENUE_PATH = re.compile(r"^/api/venues/([A-Za-z0-9][A-Za-z0-9_-]{0,31})$")

# The page's words, in the order of its table's columns, then what its script says.
COLUMNS = (
    N_("Venue"),
    N_("Inside now"),
    N_("Children inside"),
    N_("Unaccompanied children"),
    N_("Alerts"),
    N_("Last heard"),
    N_("Entries at head office"),
)
# The day's sheet: a column per figure of hq.service.sheets.SHEET_FIELDS, in that order.
SHEET_COLUMNS = (
    N_("Venue"),
    N_("Entries"),
    N_("Exits"),
    N_("Temporary exits"),
    N_("Re-entries"),
    N_("Overrides"),
    N_("Unaccompanied flags"),
    N_("Peak inside"),
)
SAID = {
    "live": N_("live"),
    "stale": N_("stale"),
    "hub_says": N_("the venue's hub says {inside} inside, {children} children, {alone} alone"),
    "seconds_ago": N_("{n} s ago"),
    "never": N_("never"),
    "behind": N_("{n} still to come"),
    "no_token": N_("Open this page with the link your head office gave you (it holds a token)."),
    "refused": N_("This token is not accepted."),
    "none": N_("No venue has been heard yet."),
    "chain": N_("The chain"),
}


def chain_page(language: str) -> str:
    _ = words(language)
    said = {k: _(v) for k, v in SAID.items()}
    head = "".join(f"<th>{html.escape(_(c))}</th>" for c in COLUMNS)
    sheet_head = "".join(f"<th>{html.escape(_(c))}</th>" for c in SHEET_COLUMNS)
    title = html.escape(_("The chain's venues"))
    sheet_title = html.escape(_("The day's sheet"))
    return f"""<!doctype html>
<html lang="{html.escape(language)}"><head><meta charset="utf-8">
<title>{title}</title><link rel="icon" href="data:,">
<link rel="stylesheet" href="/static/chain.css"></head>
<body data-words="{html.escape(json.dumps(said, ensure_ascii=False))}">
<h1>{title}</h1>
<p id="status" role="status"></p>
<table id="venues"><thead><tr>{head}</tr></thead><tbody></tbody></table>
<h2>{sheet_title} <span id="day"></span></h2>
<table id="sheets"><thead><tr>{sheet_head}</tr></thead><tbody></tbody></table>
<script src="/static/chain.js"></script>
</body></html>
"""


class ChainWeb:
    """The handler `HttpServer` calls, from its worker threads."""

    def __init__(
        self,
        chain: Chain,
        access: TokenAccess,
        *,
        language: str,
        stale_after_s: float,
        default_tz: str,
        reading: Callable[[], bool],
        counters: Callable[[], dict[str, int]] = dict,
        clock_ms: Callable[[], int] = lambda: int(time.time() * 1000),
    ) -> None:
        self.chain, self.access, self.language = chain, access, language
        self.stale_after_s, self.default_tz = stale_after_s, default_tz
        self.reading, self.clock_ms, self.counters = reading, clock_ms, counters

    def handle(self, request: Request) -> Answer:
        try:
            return self._route(request)
        except ValueError as exc:
            return _json({"error": str(exc)}, 400)

    def _route(self, request: Request) -> Answer:
        path = request.path
        if request.method not in ("GET", "HEAD"):
            return Answer(
                405, b'{"error": "only GET and HEAD here"}', headers=(("Allow", "GET, HEAD"),)
            )
        if path == "/":
            page = chain_page(self._language(request)).encode()
            return Answer(200, page, "text/html; charset=utf-8")
        if path.startswith("/static/"):
            name = path.removeprefix("/static/")
            if name not in _STATIC_FILES:
                return _json({"error": "not found"}, 404)
            kind = _STATIC_FILES[name] + "; charset=utf-8"
            return Answer(200, (STATIC / name).read_bytes(), kind)
        if path == "/healthz":
            refused = dict(self.chain.refused)  # counts by reason: no venue named
            said = {"ok": True, "reading": self.reading(), "refused": refused}
            return _json({**said, "counters": self.counters()})
        if not path.startswith("/api/"):
            return _json({"error": "not found"}, 404)
        holder = self.access.holder(request.headers.get("authorization"))
        if holder is None:
            challenge = (("WWW-Authenticate", 'Bearer realm="wristgate head office"'),)
            return Answer(401, b'{"error": "a token of hq.toml is needed"}', headers=challenge)
        now = self.clock_ms()
        if path == "/api/venues":
            rows = self.chain.venue_rows(now, self.stale_after_s)
            shown = [r for r in rows if holder.sees(r["venue"])]
            return _json({"venues": shown, "stale_after_s": self.stale_after_s})
        if m := _VENUE_PATH.fullmatch(path):
            row = self.chain.venue_row(m.group(1), now, self.stale_after_s)
            if row is None or not holder.sees(row["venue"]):
                return _json({"error": "no such venue"}, 404)
            return _json(row)
        if path == "/api/sheets":
            day = self._day(request.query.get("day"))
            return _json(self.chain.sheets(day, holder.visible(self.chain.venues())))
        return _json({"error": "not found"}, 404)

    def _day(self, text: str | None) -> date:
        if not text:
            return datetime.now(ZoneInfo(self.default_tz)).date()
        try:
            return date.fromisoformat(text) if len(text) == 10 else date.fromisoformat("x")
        except ValueError:
            raise ValueError(f"day {text[:20]!r}: YYYY-MM-DD") from None

    def _language(self, request: Request) -> str:
        asked = request.query.get("lang")
        if asked:
            try:
                return language_of(asked)
            except ValueError:
                pass
        accept = request.headers.get("accept-language")
        return from_accept_language(accept, fallback=language_of(self.language))


def _json(data: Any, status: int = 200) -> Answer:
    return Answer(status, json.dumps(data, ensure_ascii=False, default=str).encode())


def make_web_server(web: ChainWeb, bind: str, port: int, **kwargs: Any) -> HttpServer:
    workers = kwargs.pop("workers", 8)
    return HttpServer(bind, port, web.handle, {}, limits=Limits(workers=workers), **kwargs)
