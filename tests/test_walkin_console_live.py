"""A walk-in child registered at the desk's console gets its pickup code (docs/desk.md): a real
Mosquitto, `hub run`, the desk D1 (`gate run`, an emulated reader for the staff badge, a
receipt printer that is a file) and the exit gate X1. The console's walk-in form, in real
Chromium, registers the child; the desk prints the code and sends it to the hub for that
request only; the page shows it once, with where it went; neither the desk's `last`, its
journal nor either log holds it. The exit gate then
releases the child on that code, from the printed receipt's QR code.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser import Browser, missing
from gate_rig import SOLO_CHILD, STAFF, wait_for
from test_desk_console import Desk
from venue_rig import Venue

from gate.control.client import ask
from gate.devices.nfc.emulator import TagEmulator
from gate.devices.printer import qr_data

SHOWN = re.compile(r"(\d{6})")


@pytest.fixture
def desk(tmp_path: Path, fresh_broker) -> Iterator[Desk]:
    venue = Venue(tmp_path, fresh_broker())
    field = TagEmulator("127.0.0.1", 0).start()
    printer = tmp_path / "D1-printer"
    try:
        venue.start_hub()
        venue.start_gate("D1", reader=field.path, hardware=f'[printer]\ndevice = "{printer}"\n')
        venue.start_gate("E1")
        venue.start_gate("X1")
        for gate in ("D1", "E1", "X1"):
            connected = lambda g=gate: venue.gate_status(g)["link"]["connected"]  # noqa: E731
            wait_for(connected, what=f"{gate} connected")
        yield Desk(venue, field)
    finally:
        venue.close()
        field.stop()


SAID = {
    "en": ("printed at the desk", "give it to the guardian"),
    "zh-CN": ("已在服务台打印", "请交给监护人"),
}


@pytest.mark.skipif(missing() is not None, reason=str(missing()))
@pytest.mark.parametrize("language", list(SAID))
def test_the_console_registers_a_walkin_and_shows_its_code_once(
    desk: Desk, tmp_path: Path, language: str
) -> None:
    v = desk.venue
    browser = Browser(tmp_path / "profile", width=1024, height=768, log=tmp_path / "driver.log")
    try:
        address = f"http://127.0.0.1:{v.http_port}/desk/D1?lang={language}"
        browser.open(f"{address}#token={v.tokens['desk']}")
        browser.wait(lambda: browser.visible("console"), what="the console shown")
        assert desk.tap(STAFF)["code"] == "OK_STAFF"
        ready = "return document.getElementById('staff').className"
        browser.wait(lambda: "staff-ready" in str(browser.js(ready)), what="the badge shown")
        browser.js(
            "const f = document.querySelector(\"form[data-action='walkin']\");"
            "f.elements.guardian.value = '李娜'; f.elements.phone.value = '138 0013 8000';"
            "f.requestSubmit();"
        )
        browser.wait(
            lambda: "OK_REGISTERED" in browser.text("outcome"),
            timeout=60,
            what=f"the walk-in's outcome: {v.gates['D1'].tail()}",
        )
        browser.wait(lambda: browser.visible("pickup"), what="the pickup code shown")
        shown = browser.text("pickup")
        assert all(words in shown for words in SAID[language]), shown
        group = re.search(r"W-D1-\d{8}-\d+", shown)
        assert group is not None, shown
        code = SHOWN.search(shown.replace(group[0], ""))
        assert code is not None, shown
        printed = tmp_path / "D1-printer"
        assert qr_data(printed.read_bytes()) == [f"WP{code[1]}"]  # the receipt's, the same
        assert browser.console_errors() == []
    finally:
        browser.close()

    # nothing kept holds the code
    last = v.gate_status("D1")["last"]
    assert last["code"] == "OK_REGISTERED" and "pickup" not in last
    journal = str(ask(str(v.gates["D1"].socket), {"cmd": "journal", "tail": 50}))
    assert f"'{code[1]}'" not in journal
    for log in (v.root / "hub" / "hub.log", v.root / "D1" / "gate.log"):
        assert f"WP{code[1]}" not in log.read_text(errors="replace")
        assert f" {code[1]}" not in log.read_text(errors="replace")

    # the child's band binds at the desk, goes in, and leaves on the receipt's code
    assert v.scan("D1", SOLO_CHILD) == "OK_BIND"
    v.wait_bound(("E1", "X1"), (SOLO_CHILD,))
    assert v.scan("E1", SOLO_CHILD) == "OK_ENTRY"
    v.wait_state("X1", (SOLO_CHILD,))
    assert v.scan("X1", SOLO_CHILD) == "DENY_GUARDIAN_PICKUP"
    assert v.scan("X1", f"WP{code[1]}", "barcode") == "OK_PICKUP"
    assert v.scan("X1", SOLO_CHILD) == "OK_EXIT"
