"""The hub's notifier (`hub.service.notify`) against a real HTTP server in the test, and what a
registered guardian is told (`hub.service.guardian_notices`): their child let in, let out,
flagged alone; never an adult, never a group with no phone."""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from processes import wait_for
from pydantic import ValidationError
from rules_helpers import ADULT_1, CHILD_1, CHILD_4, FAMILY, SOLO, T0, X1, Venue, later

from deploy.broker_process import free_port
from gate.core import Event, GroupFlagged
from gate.link.codec import event_to_dict
from hub.service.guardian_notices import GuardianNotices
from hub.service.notify import (
    Notice,
    NotifySection,
    RecordingNotifier,
    SmsGatewayNotifier,
    WebhookNotifier,
)
from hub.store.records import StoredEntry


class Guardians:
    """A real HTTP server standing for the venue's webhook or SMS gateway: it records every
    request and answers each with the next status of `answers` (then 200)."""

    def __init__(self, answers: list[int] | None = None) -> None:
        self.requests: list[dict[str, Any]] = []
        self.answers = list(answers or [])
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _record(self) -> None:
                size = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(size).decode("utf-8") if size else ""
                outer.requests.append({"method": self.command, "path": self.path, "body": body})
                status = outer.answers.pop(0) if outer.answers else 200
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            do_GET = do_POST = _record

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def guardians() -> Iterator[Guardians]:
    g = Guardians()
    yield g
    g.close()


NOTICE = Notice("exit", "13800138000", "T-SOLO", "2026-07-01T17:02:00+08:00", "X1", "出园 ", "left")


def test_a_webhook_gets_the_notice_as_json_and_a_failure_is_tried_again_counted(
    guardians: Guardians,
) -> None:
    guardians.answers = [500]
    notifier = WebhookNotifier(f"{guardians.url}/notify?key=secret", retries=2, timeout_s=5)
    notifier.start()
    notifier.send(NOTICE)
    wait_for(lambda: notifier.counts["sent"] == 1, what="the notice delivered")
    notifier.stop()
    assert [r["method"] for r in guardians.requests] == ["POST", "POST"]
    sent = json.loads(guardians.requests[-1]["body"])
    assert sent["phone"] == "13800138000" and sent["kind"] == "exit" and sent["group"] == "T-SOLO"
    assert sent["text"] == "出园  left"
    assert notifier.counts["retried"] == 1 and notifier.counts["failed"] == 0
    assert "secret" not in notifier.where()


def test_an_sms_gateway_gets_its_url_template_filled_url_encoded(guardians: Guardians) -> None:
    notifier = SmsGatewayNotifier(f"{guardians.url}/send?to={{phone}}&msg={{text}}", 0)
    notifier.start()
    notifier.send(NOTICE)
    wait_for(lambda: notifier.counts["sent"] == 1, what="the message sent")
    notifier.stop()
    (request,) = guardians.requests
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(request["path"]).query)
    assert request["method"] == "GET"
    assert query == {"to": ["13800138000"], "msg": [NOTICE.text]}


def test_a_far_end_that_is_down_is_given_up_counted_and_send_never_waits() -> None:
    notifier = WebhookNotifier(f"http://127.0.0.1:{free_port()}/", retries=1, timeout_s=1)
    notifier.start()
    started = time.monotonic()
    for _ in range(3):
        notifier.send(NOTICE)
    assert time.monotonic() - started < 0.5  # queued: the hub's loop never waits on it
    wait_for(lambda: notifier.counts["failed"] == 3, what="three notices given up")
    notifier.stop()
    assert notifier.counts["sent"] == 0 and notifier.counts["retried"] == 3


def test_the_recording_notifier_writes_what_it_would_send(tmp_path: Path) -> None:
    file = tmp_path / "made" / "notices.jsonl"  # its directory made at start
    notifier = RecordingNotifier(file).start()
    notifier.send(NOTICE)
    wait_for(lambda: notifier.counts["sent"] == 1, what="the notice recorded")
    notifier.stop()
    (line,) = file.read_text().splitlines()
    assert json.loads(line)["phone"] == "13800138000"


@pytest.mark.parametrize(
    ("section", "says"),
    [
        ({"kind": "webhook", "url": "ftp://x"}, "http:// or https://"),
        ({"kind": "sms", "url": "https://sms.example/send?to={phone}"}, "{phone} and {text}"),
        ({"kind": "record"}, "name the file"),
        ({"kind": "email"}, "kind"),
    ],
)
def test_an_incomplete_notify_section_is_refused_with_what_to_fix(
    section: dict[str, Any], says: str
) -> None:
    with pytest.raises(ValidationError, match=re.escape(says)):
        NotifySection(**section)


# --- what a guardian is told -------------------------------------------------------------------


class Told(RecordingNotifier):
    """Records in memory what it is given, not started: what `GuardianNotices` queued."""

    def __init__(self) -> None:
        super().__init__(Path("/nonexistent"))
        self.notices: list[Notice] = []

    def send(self, notice: Notice) -> None:
        self.notices.append(notice)


def entry(gate: str, kind: str, events: list[Event]) -> StoredEntry:
    body = {"events": [event_to_dict(e) for e in events]}
    return StoredEntry(gate, 1, "n", "h", 0, kind, body, 0)


def test_the_guardian_is_told_of_the_childs_entry_and_exit() -> None:
    venue = Venue().bind(SOLO, CHILD_4)
    told = Told()
    notices = GuardianNotices(told, venue.policy)
    venue.enter(CHILD_4)
    notices.stored([entry("E1", "decision", venue.events)], venue.state)
    venue.badge(X1)
    venue.leave(CHILD_4, later(T0, 5))
    notices.stored([entry(X1, "decision", venue.events)], venue.state)
    assert [(n.kind, n.phone) for n in told.notices] == [
        ("entry", "13800138000"),
        ("exit", "13800138000"),
    ]
    assert told.notices[0].text_zh.startswith("【入园通知】") and "10:00" in told.notices[0].text_zh
    assert "entered at 10:00, gate E1" in told.notices[0].text_en and told.notices[1].gate == X1


def test_the_guardian_is_told_when_the_child_is_flagged_alone_and_nobody_else_is_told() -> None:
    venue = Venue().bind(SOLO, CHILD_4).bind(FAMILY, ADULT_1, CHILD_1)
    told = Told()
    notices = GuardianNotices(told, venue.policy)
    for uid in (ADULT_1, CHILD_1):  # the family's ticket has no guardian phone
        venue.enter(uid)
        notices.stored([entry("E1", "decision", venue.events)], venue.state)
    venue.step_out(ADULT_1, later(T0, 1))  # an adult is never told of
    notices.stored([entry(X1, "decision", venue.events)], venue.state)
    assert told.notices == []
    flagged = GroupFlagged(X1, later(T0, 2), SOLO)  # a group with a phone flagged alone
    notices.stored([entry(X1, "expiry", [flagged])], venue.state)
    assert [(n.kind, n.group, n.phone) for n in told.notices] == [("alone", SOLO, "13800138000")]


def test_hub_check_names_a_recording_file_it_cannot_write(tmp_path: Path) -> None:
    from test_config_check import command, hub_files

    (tmp_path / "a-file").write_text("")
    notices = tmp_path / "a-file" / "notices.jsonl"
    config = hub_files(tmp_path)
    config.write_text(config.read_text() + f'[notify]\nkind = "record"\nfile = "{notices}"\n')
    done = command("hub", "check", "-c", str(config))
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"[notify] file: '{notices}'" in done.stdout + done.stderr
