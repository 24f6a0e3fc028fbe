"""Headless Chromium for the display's tests, and a stand-in for the hub's HTTP side.

- `missing()`: why the browser tests cannot run here (no Chromium, no chromedriver, no
  Selenium), or None. CI gets both from Debian (`chromium`, `chromium-driver`) via
  scripts/bootstrap.
- `Browser`: Debian's Chromium driven through Debian's chromedriver (Selenium, no download of
  any driver or browser), headless, with a fresh profile; `wait` polls a condition in the page.
- `FixtureHub`: serves hub/views/web/static like the hub does (the page in the language of the
  request, `hub.views.web.page`), plus `/api/display` and `/api/stream` from a display object the
  test sets; the stream can be cut and the whole API made to fail, to see the page through a
  lost connection.
- `sample_display()`: a display object of a calm afternoon, to change per test.
- `busy_afternoon(language)`: a busy one where every section of the page shows, its alerts
  written by the hub's own words in `language` (the languages' test, scripts/display-screenshots).
"""

from __future__ import annotations

import copy
import json
import shutil
import threading
import urllib.parse
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from gate_rig import wait_for

from gate.i18n import words
from hub.views.liveness import since_words
from hub.views.web.page import display_page, request_language
from hub.views.web.server import STATIC  # the page the hub serves, as it serves it

SHANGHAI = ZoneInfo("Asia/Shanghai")  # the sample venue's clock
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path(shutil.which("chromedriver") or "/usr/bin/chromedriver")

# Headless on this machine and in CI: no sandbox (root), no GPU, and no background traffic to
# hosts a closed network refuses.
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--force-color-profile=srgb",
)


def missing() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if not CHROMIUM.exists():
        return f"{CHROMIUM} not installed (Debian package chromium; scripts/bootstrap installs it)"
    if not CHROMEDRIVER.exists():
        return (
            f"{CHROMEDRIVER} not installed "
            "(Debian package chromium-driver; scripts/bootstrap installs it)"
        )
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium not installed (pip install -e '.[test]')"
    return None


class Browser:
    def __init__(
        self,
        profile: Path,
        width: int = 1280,
        height: int = 900,
        log: Path | None = None,
        accept_language: str | None = None,
    ) -> None:
        """`accept_language`: what the browser asks for ("zh-CN,zh"), as a kiosk set up in
        Chinese would."""
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        options = webdriver.ChromeOptions()
        options.binary_location = str(CHROMIUM)
        for flag in CHROMIUM_FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={profile}")
        options.add_argument(f"--window-size={width},{height}")
        if accept_language:
            options.add_argument(f"--lang={accept_language.split(',')[0]}")
            options.add_experimental_option("prefs", {"intl.accept_languages": accept_language})
        service = Service(executable_path=str(CHROMEDRIVER), log_output=str(log) if log else None)
        self.driver = webdriver.Chrome(options=options, service=service)
        self.driver.set_page_load_timeout(20)
        self.driver.set_script_timeout(10)

    def open(self, url: str) -> None:
        self.driver.get(url)

    def js(self, script: str, *args: Any) -> Any:
        """Run `script` (a function body: `return …`) in the page."""
        return self.driver.execute_script(script, *args)

    def text(self, element_id: str) -> str:
        return str(self.js("return document.getElementById(arguments[0]).textContent", element_id))

    def visible(self, element_id: str) -> bool:
        return bool(
            self.js(
                "const e = document.getElementById(arguments[0]);"
                "return !!e && !e.hidden && e.getClientRects().length > 0;",
                element_id,
            )
        )

    def style(self, element_id: str, prop: str) -> str:
        return str(
            self.js(
                "return getComputedStyle(document.getElementById(arguments[0]))[arguments[1]]",
                element_id,
                prop,
            )
        )

    def wait(self, condition: Callable[[], Any], timeout: float = 30.0, what: str = "") -> Any:
        return wait_for(condition, timeout, what)

    def resize(self, width: int, height: int) -> None:
        self.driver.set_window_size(width, height)

    def screenshot(self, path: Path, full_page: bool = True) -> Path:
        """A PNG of the page: the whole length of it with `full_page`, else the viewport."""
        import base64

        path.parent.mkdir(parents=True, exist_ok=True)
        if not full_page:
            self.driver.save_screenshot(str(path))
            return path
        width, height = self.js(
            "return [document.documentElement.clientWidth,"
            " Math.ceil(document.documentElement.scrollHeight)]"
        )
        shot = self.driver.execute_cdp_cmd(
            "Page.captureScreenshot",
            {
                "format": "png",
                "captureBeyondViewport": True,
                "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1},
            },
        )
        path.write_bytes(base64.b64decode(shot["data"]))
        return path

    def console_errors(self) -> list[str]:
        """Severe messages the page logged (script errors, failed loads)."""
        try:
            entries = self.driver.get_log("browser")
        except Exception:
            return []
        return [e["message"] for e in entries if e.get("level") == "SEVERE"]

    def close(self) -> None:
        self.driver.quit()


# --- a stand-in for the hub's HTTP side ---------------------------------------------------------


def sample_display(now: datetime | None = None) -> dict[str, Any]:
    """A display object as /api/display serves it: a calm afternoon, three gates, no alerts."""
    now = now or datetime.now(UTC).replace(microsecond=0)
    iso = now.isoformat()

    def gate(online: bool = True, version: int = 3) -> dict[str, Any]:
        return {
            "online": online,
            "last_seen": iso,
            "backlog": 0,
            "allowlist_version": version,
            "allowlist_age_s": 0.0,
            "stale_allowlist": False,
            "reader": "searching",
            "clock_skew_s": 0.1,
            "status_at": iso,
        }

    return {
        "headcount": {
            "inside": 212,
            "adults": 96,
            "children": 116,
            "unaccompanied_children": 0,
            "groups_inside": 71,
            "capacity": 400,
            "as_of": iso,
            "live": True,
            "stale_since": None,
        },
        "gates": {"D1": gate(), "E1": gate(), "X1": gate()},
        "unaccompanied": [],
        "alerts": [],
        "sweep": None,
        "venue": {"name": "Sunny Kids City", "timezone": "Asia/Shanghai", "now": iso},
    }


def busy_afternoon(language: str, now: datetime | None = None) -> dict[str, Any]:
    """Capacity nearly reached, a gate offline, a group whose child is left alone, a lost child,
    the closing sweep on: every section of the page shows; the alerts as the hub writes them in
    `language`."""
    _ = words(language)
    now = now or datetime.now(UTC).replace(microsecond=0)
    display = sample_display(now)
    display["venue"]["name"] = "阳光儿童城" if language == "zh-CN" else "Sunny Kids City"
    display["headcount"].update(
        inside=372, adults=160, children=212, unaccompanied_children=1, groups_inside=118
    )
    x1 = display["gates"]["X1"]
    gone = (now - timedelta(minutes=4)).isoformat()  # its will: the last the hub heard of it
    x1.update(online=False, last_seen=gone, status_at=gone, backlog=3)
    display["gates"]["E1"].update(stale_allowlist=True, allowlist_age_s=600.0, reader="connected")
    member = {"state": "temp_out", "last_gate": "X1", "last_at": now.isoformat()}
    display["unaccompanied"] = [
        {
            "group": "T1042",
            "children": [{"member": "child 1", "role": "child", "last_gate": "E1"}],
            "adults": [{"member": "adult 1", "role": "adult", **member}],
        }
    ]
    display["sweep"] = {
        "closes_at": (now + timedelta(minutes=25)).isoformat(),
        "minutes_left": 25,
        "children": [
            {"member": "child 1", "group": "T1042", "role": "child", "adult_inside": False},
            {"member": "child 2", "group": "T0988", "role": "solo_child", "adult_inside": False},
            {"member": "child 1", "group": "T0977", "role": "child", "adult_inside": True},
        ],
    }
    display["lost_children"] = [  # hub/views/lost_children.py
        {
            "id": 1,
            "kind": "lost_child",
            "group": "T0977",
            "opened_time": "15:02",
            "minutes_open": 6,
            "last_gate": "E1",
            "last_time": "14:40",
            "members": [
                {"member": "adult 1", "role": "adult", "state": "inside", "last_gate": "E1",
                 "last_time": "14:40"},
                {"member": "child 1", "role": "child", "state": "inside", "last_gate": "E1",
                 "last_time": "14:38"},
            ],
        }
    ]  # fmt: skip
    display["alerts"] = [
        {
            "level": "critical",
            "kind": "lost_child",
            "text": _(
                "{kind}: group {group}, open {minutes} min, last seen at {gate} {time}",
                kind=_("lost child"),
                group="T0977",
                minutes=6,
                gate="E1",
                time="14:40",
            ),
        },
        {
            "level": "critical",
            "kind": "unaccompanied",
            "text": _("group {group}: 1 child with no adult", group="T1042"),
        },
        {
            "level": "critical",
            "kind": "gate_offline",
            "text": _(
                "gate {gate} offline ({since})",
                gate="X1",
                since=since_words(
                    (now - timedelta(minutes=4)).timestamp(), now.timestamp(), SHANGHAI, _
                ),
            ),
        },
        {
            "level": "warning",
            "kind": "capacity",
            "text": _("{n} inside of {capacity} ({p}%)", n=372, capacity=400, p=93),
        },
        {
            "level": "info",
            "kind": "closing",
            "text": _("closing in {minutes} min: {n} children inside", minutes=25, n=3),
        },
    ]
    return display


# /api/headcount/today as the hub serves it: who was inside, hour by hour, since opening.
TODAY_CURVE = {
    "day": "2026-07-18",
    "timezone": "Asia/Shanghai",
    "peak": 41,
    "points": [
        {"at": f"2026-07-18T{hour:02d}:00:00+08:00", "inside": inside}
        for hour, inside in ((9, 0), (10, 18), (11, 35), (12, 41), (13, 33), (14, 38))
    ],
}


class FixtureHub:
    """Serves the display page and a display object the test controls.

    `set(display)` sends it on every open stream at once and answers polls with it.
    `cut_stream()` ends the open streams and answers new ones 503 (the browser stops retrying
    on its own: the page must); `api_down()` fails /api/display too; `restore()` undoes both.
    """

    def __init__(
        self, display: dict[str, Any] | None = None, static: Path = STATIC, language: str = "en"
    ) -> None:
        self.static = static
        self.language = language  # the hub's [hub] language
        self.display = display or sample_display()
        self.version = 0
        self.stream_up = True
        self.api_up = True
        self.streams = 0  # stream connections served
        self.polls = 0  # /api/display answered
        self.today = TODAY_CURVE  # /api/headcount/today
        self.pages = 0  # GET / answered
        self._cond = threading.Condition()
        self._closed = False
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/"

    def start(self) -> FixtureHub:
        self._thread.start()
        return self

    def set(self, display: dict[str, Any]) -> None:
        with self._cond:
            self.display = copy.deepcopy(display)
            self.version += 1
            self._cond.notify_all()

    def cut_stream(self) -> None:
        with self._cond:
            self.stream_up = False
            self._cond.notify_all()

    def api_down(self) -> None:
        with self._cond:
            self.stream_up = self.api_up = False
            self._cond.notify_all()

    def restore(self) -> None:
        with self._cond:
            self.stream_up = self.api_up = True
            self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self.server.shutdown()
        self.server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path, _, query = self.path.partition("?")
                if path == "/api/stream":
                    self._stream()
                elif path == "/api/display":
                    if not hub.api_up:
                        self._send(503, b'{"error": "down"}', "application/json")
                        return
                    with hub._cond:
                        body = json.dumps(hub.display).encode()
                        hub.polls += 1
                    self._send(200, body, "application/json")
                elif path == "/api/headcount/today":
                    self._send(200, json.dumps(hub.today).encode(), "application/json")
                elif path == "/":
                    hub.pages += 1
                    asked = dict(urllib.parse.parse_qsl(query))
                    accept = self.headers.get("Accept-Language")
                    language = request_language(asked, accept, hub.language)
                    page = display_page(language, hub.static).encode()
                    self._send(200, page, "text/html; charset=utf-8")
                elif path.startswith("/static/"):
                    self._static(path.removeprefix("/static/"))
                else:
                    self._send(404, b'{"error": "no such path"}', "application/json")

            def _static(self, name: str) -> None:
                file = (hub.static / name).resolve()
                if hub.static not in file.parents or not file.is_file():
                    self._send(404, b"not found", "text/plain")
                    return
                kinds = {".html": "text/html", ".js": "text/javascript", ".css": "text/css"}
                kind = kinds.get(file.suffix, "application/octet-stream")
                self._send(200, file.read_bytes(), f"{kind}; charset=utf-8")

            def _send(self, status: int, body: bytes, kind: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

            def _stream(self) -> None:
                if not hub.stream_up:
                    self._send(503, b"stream down", "text/plain")
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                hub.streams += 1
                sent = -1
                try:
                    while True:
                        with hub._cond:
                            hub._cond.wait_for(
                                lambda seen=sent: (
                                    hub.version != seen or not hub.stream_up or hub._closed
                                ),
                                timeout=15,
                            )
                            if not hub.stream_up or hub._closed:
                                return
                            if hub.version == sent:
                                chunk = b": keepalive\n\n"
                            else:
                                sent = hub.version
                                data = json.dumps(hub.display).encode()
                                chunk = b"event: display\ndata: " + data + b"\n\n"
                        self.wfile.write(chunk)
                        self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    return

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: access lines would bury the test's own output."""

        return Handler
