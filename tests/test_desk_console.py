"""The desk's console end to end: a real Mosquitto, `hub run`, and the desk D1 as `gate run` with
an emulated reader the staff badge is tapped on; the console's API as the tablet calls it, and
the page in real Chromium, in English and in Chinese.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser import Browser, missing
from gate_rig import ADULT, ADULT_2, CHILD, CHILD_2, STAFF, wait_for
from venue_rig import Venue

from gate.control.client import ask
from gate.devices.nfc.emulator import TagEmulator


class Desk:
    """The venue with its desk D1 and the field of D1's reader."""

    def __init__(self, venue: Venue, field: TagEmulator) -> None:
        self.venue, self.field = venue, field
        self.socket = str(venue.gates["D1"].socket)

    def status(self) -> dict[str, Any]:
        return ask(self.socket, {"cmd": "status"})

    def tap(self, uid: str) -> dict[str, Any]:
        return self.venue.tap("D1", self.field, uid)

    def api(self, path: str, body: Any = None, who: str | None = "desk") -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.venue.http_port}{path}",
            data=data,
            method="GET" if body is None else "POST",
        )
        if body is not None:
            request.add_header("Content-Type", "application/json")
        if who is not None:
            request.add_header("Authorization", f"Bearer {self.venue.tokens[who]}")
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return answer.status, json.loads(answer.read())
        except urllib.error.HTTPError as refused:
            return refused.code, json.loads(refused.read())

    def open_console(self, browser: Browser, language: str = "en") -> None:
        """The console's page in `browser`, given the desk token when it asks: shown."""
        browser.open(f"http://127.0.0.1:{self.venue.http_port}/desk/D1?lang={language}")
        browser.wait(lambda: browser.visible("token-box"), what="the token asked for")
        browser.js(
            "document.getElementById('token-input').value = arguments[0];"
            "document.getElementById('token-form').requestSubmit();",
            self.venue.tokens["desk"],
        )
        browser.wait(lambda: browser.visible("console"), what="the console shown")

    @staticmethod
    def submit(browser: Browser, action: str, fields: dict[str, str]) -> None:
        """The console's form for `action` filled with `fields`, and sent."""
        browser.js(
            "const f = document.querySelector(`form[data-action='${arguments[0]}']`);"
            "for (const [k, v] of Object.entries(arguments[1])) f.elements[k].value = v;"
            "f.requestSubmit();",
            action,
            fields,
        )

    def ask_action(self, action: str, **args: Any) -> dict[str, Any]:
        """An action asked at the console, followed until the outcome is known."""
        status, asked = self.api("/api/desk/D1/actions", {"action": action, "args": args})
        assert status == 202, asked
        path = f"/api/desk/D1/requests/{asked['request']}"
        found: dict[str, Any] = {}

        def known() -> bool:
            found.update(self.api(path)[1])
            return found["state"] != "pending"

        log = self.venue.gates["D1"].tail()
        wait_for(known, timeout=40, what=f"the outcome of {action}: {log}")
        return found


@pytest.fixture
def desk(tmp_path: Path, fresh_broker) -> Iterator[Desk]:
    venue = Venue(tmp_path, fresh_broker())
    field = TagEmulator("127.0.0.1", 0).start()
    try:
        venue.start_hub()
        venue.start_gate("D1", reader=field.path)
        wait_for(lambda: venue.gate_status("D1")["link"]["connected"], what="D1 connected")
        yield Desk(venue, field)
    finally:
        venue.close()
        field.stop()


def test_the_console_joins_two_tickets_through_the_desk_with_the_badge_tapped_there(
    desk: Desk,
) -> None:
    v = desk.venue
    assert v.scan("D1", "T1", "barcode") == "OK_BIND" and v.scan("D1", ADULT) == "OK_BIND"
    binding = lambda: desk.api("/api/desk/D1")[1].get("binding") or {}  # noqa: E731
    wait_for(lambda: binding().get("members"), what="the adult bound, at the hub")
    view = desk.api("/api/desk/D1")[1]
    assert view["binding"]["adults"] == {"bound": 1, "of": 1}
    assert view["binding"]["missing"] == {"adults": 0, "children": 1}
    assert view["binding"]["members"] == [{"uid": ADULT, "role": "adult", "state": "bound"}]
    assert view["staff"]["ready"] is False

    unauthorised = desk.ask_action("join", ticket="T1", other="T2")
    assert unauthorised["state"] == "decided" and not unauthorised["granted"], unauthorised
    assert unauthorised["code"] == "DENY_BINDING" and "staff badge" in unauthorised["message"]

    assert desk.tap(STAFF)["code"] == "OK_STAFF"
    wait_for(lambda: desk.api("/api/desk/D1")[1]["staff"]["ready"], what="the badge at the hub")
    joined = desk.ask_action("join", ticket="T1", other="T2")
    assert (joined["state"], joined["code"], joined["staff"]) == ("decided", "OK_JOIN", STAFF)
    assert "T1, T2" in joined["message"]

    unknown = desk.ask_action("teleport", band=CHILD)  # an action no desk of this build knows
    assert unknown["state"] == "refused" and "knows no action 'teleport'" in unknown["reason"]
    short = desk.ask_action("join", ticket="T1")
    assert short["state"] == "refused" and short["reason"].startswith("other:"), short
    counters = desk.status()["counters"]
    assert counters["desk_requests"] == 2 and counters["desk_request_not_run"] == 2

    assert v.scan("D1", "T2", "barcode") == "OK_BIND"  # T1 left short: its child not bound
    decision = desk.status()["last"]
    assert decision["message"].endswith("ticket T1 left short: 1 child(ren) not bound")
    wait_for(lambda: desk.api("/api/desk/D1")[1]["incomplete"], what="T1 left short")
    assert desk.api("/api/desk/D1")[1]["incomplete"][0] == {
        "group": "T1",
        "adults": 0,
        "children": 1,
        "here": True,
    }
    assert v.api("/api/lookup/T1", who="desk")["incomplete"] == {"adults": 0, "children": 1}
    for band in (ADULT_2, CHILD_2):
        assert v.scan("D1", band) == "OK_BIND"
    v.wait_settled()
    report = v.api("/api/reports/daily")  # T2 complete, T1 still short at the day's end
    assert report["incomplete"] == [{"group": "T1", "adults": 0, "children": 1}]
    assert not [f for f in v.api("/api/findings") if f["severity"] == "critical"]
    csv = urllib.request.Request(
        f"http://127.0.0.1:{v.http_port}/api/reports/daily?format=csv&lang=zh-CN",
        headers={"Authorization": f"Bearer {v.tokens['staff']}"},
    )
    with urllib.request.urlopen(csv, timeout=30) as answer:
        sheets = answer.read().decode("utf-8-sig")
    assert "未到齐的家庭" in sheets and "服务台操作" in sheets and "Duty Manager" in sheets
    refused, action = report["desk_actions"]  # asked with no badge tapped, then with one
    assert (refused["code"], refused["staff"]) == ("DENY_BINDING", "")
    assert (action["code"], action["staff"], action["staff_name"]) == (
        "OK_JOIN",
        STAFF,
        "Duty Manager",
    )
    entries = [ask(desk.socket, {"cmd": "journal", "tail": 20})["entries"]]
    asked = [e for e in entries[0] if e["body"].get("request") == joined["request"]]
    assert len(asked) == 1 and asked[0]["body"]["asked_by"]["user"] == "hub console"


def test_the_console_refuses_what_is_not_a_desks_action(desk: Desk) -> None:
    assert desk.api("/api/desk/D1", who=None)[0] == 401
    status, said = desk.api("/api/desk/D1/actions", {"action": "join", "args": {}}, who=None)
    assert status == 401, said
    assert desk.api("/api/desk/E1")[0] == 404  # an entry lane has no console
    status, said = desk.api("/api/desk/E1/actions", {"action": "join", "args": {}})
    assert status == 400 and "not a desk" in said["error"]
    status, said = desk.api("/api/desk/D1/actions", {"action": "join", "args": {"t": 7}})
    assert status == 400 and "desk request" in said["error"], said
    refused = desk.ask_action("revoke", value="T1")  # no reason: the desk does not run it
    assert refused["state"] == "refused", refused
    assert refused["reason"].startswith("Reason: say why it is revoked"), refused  # no CLI words
    status, said = desk.api("/api/desk/E1/actions?lang=zh-CN", {"action": "join", "args": {}})
    assert status == 400 and "不是" in said["error"], said  # said in the console's language
    status, said = desk.api("/api/desk/D1/requests/never-asked")
    assert status == 404
    status, said = desk.api("/api/desk/D1/actions", {"action": "join", "args": {}, "x": 1})
    assert status == 400 and "the body is" in said["error"]
    assert desk.api("/api/headcount", {"action": "join"})[0] == 405  # nothing else is posted
    for kind, body, code in (
        ("text/plain", b'{"action": "join"}', 415),
        ("application/json", b"{not json", 400),
        ("application/json", b"[" * 5000, 413),  # past the server's bound
    ):
        posted = urllib.request.Request(
            f"http://127.0.0.1:{desk.venue.http_port}/api/desk/D1/actions", data=body
        )
        posted.add_header("Content-Type", kind)
        posted.add_header("Authorization", f"Bearer {desk.venue.tokens['desk']}")
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(posted, timeout=10)
        assert refused.value.code == code


LANGUAGES = {
    "en": {"title": "Desk console", "still": "Still to bind: 1 child(ren)", "unknown": "not done"},
    "zh-CN": {"title": "服务台控制台", "still": "尚未绑定\uff1a1 名儿童", "unknown": "未完成"},
}


@pytest.mark.skipif(missing() is not None, reason=str(missing()))
@pytest.mark.parametrize("language", list(LANGUAGES))
def test_the_console_page_on_a_tablet(desk: Desk, tmp_path: Path, language: str) -> None:
    said = LANGUAGES[language]
    v = desk.venue
    assert v.scan("D1", "T1", "barcode") == "OK_BIND" and v.scan("D1", ADULT) == "OK_BIND"
    browser = Browser(tmp_path / "profile", width=1024, height=768, log=tmp_path / "driver.log")
    try:
        desk.open_console(browser, language)  # no token yet: the page asks for it
        assert said["title"] in str(browser.js("return document.querySelector('h1').textContent"))
        browser.wait(lambda: browser.text("binding-ticket") == "T1", what="the binding shown")
        assert browser.text("slots-adults") == "1/1" and browser.text("slots-children") == "0/1"
        assert said["still"] in browser.text("binding-missing")
        assert ADULT in browser.text("binding-members")

        assert desk.tap(STAFF)["code"] == "OK_STAFF"
        ready = "return document.getElementById('staff').className"
        browser.wait(lambda: "staff-ready" in str(browser.js(ready)), what="the badge shown")
        desk.submit(browser, "join", {"ticket": "T1", "other": "T2"})
        browser.wait(lambda: "OK_JOIN" in browser.text("outcome"), what="the join's outcome")
        desk.submit(browser, "replace", {"old": ADULT, "new": ADULT_2})
        answered = (said["unknown"], "DENY_", "OK_")  # refused by a desk without it, or decided
        browser.wait(
            lambda: any(a in browser.text("outcome") for a in answered),
            what="the desk's answer to a correction",
        )
        assert v.scan("D1", "T2", "barcode") == "OK_BIND"
        browser.wait(lambda: "T1" in browser.text("short-list"), what="T1 left short")
        assert browser.console_errors() == []
        wide = browser.js("return document.documentElement.scrollWidth")
        assert int(wide) <= 1024  # nothing wider than the tablet
    finally:
        browser.close()
