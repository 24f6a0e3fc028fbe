"""Telling a registered guardian, by a pluggable notifier: `[notify]` in hub.toml.

    [notify]
    kind = "webhook"                 # "off" (the default), "webhook", "sms" or "record"
    url = "https://notify.example/guardians"
    timeout_s = 5.0                  # each attempt
    retries = 2                      # attempts after the first, each counted
    # kind = "sms": url is the SMS gateway's template, {phone} and {text} filled in (URL-encoded)
    #   url = "https://sms.example/send?to={phone}&msg={text}"
    # kind = "record": file = "/var/lib/wristgate-hub/notices.jsonl" (what would be sent: tests)

A `Notifier` takes a `Notice` and never blocks the hub's loop: `send` puts it on a bounded queue
that one thread of its own works through, with a timeout per attempt and the retries counted
(`sent`, `retried`, `failed`, `dropped` when the queue is full). A webhook gets an HTTP POST of
the notice as JSON; an SMS gateway an HTTP GET of its URL template; the recording notifier
appends each notice as a JSON line to its file. The URL may hold the gateway's key: only its
host is ever logged.
"""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

log = logging.getLogger("hub.notify")

MAX_QUEUE = 1000  # notices waiting; beyond, the newest is dropped and counted
RETRY_PAUSE_S = 0.5  # before the first retry; doubled for each next one


class NotifySection(BaseModel):
    """`[notify]` of hub.toml (see this module's docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["off", "webhook", "sms", "record"] = "off"
    url: str = Field(default="", max_length=2000)
    file: Path | None = None
    timeout_s: float = Field(default=5.0, gt=0, le=60, strict=True)
    retries: int = Field(default=2, ge=0, le=10, strict=True)

    @model_validator(mode="after")
    def _complete(self) -> NotifySection:
        if self.kind in ("webhook", "sms"):
            scheme = urllib.parse.urlsplit(self.url).scheme
            if scheme not in ("http", "https"):
                raise ValueError(f"kind {self.kind}: url must be an http:// or https:// URL")
        if self.kind == "sms" and not {"{phone}", "{text}"} <= _fields(self.url):
            raise ValueError("kind sms: url must hold {phone} and {text}, the gateway's fields")
        if self.kind == "record" and self.file is None:
            raise ValueError("kind record: name the file the notices are written to")
        return self


def _fields(template: str) -> set[str]:
    return {f"{{{name}}}" for name in ("phone", "text") if f"{{{name}}}" in template}


@dataclass(frozen=True, slots=True)
class Notice:
    """One message to a guardian: `kind` entry, exit or alone; the text in both languages."""

    kind: str
    phone: str
    group: str
    at: str  # ISO-8601, the venue's time
    gate: str
    text_zh: str
    text_en: str

    @property
    def text(self) -> str:
        """One text for an SMS: Chinese, then the English."""
        return f"{self.text_zh} {self.text_en}"


class Notifier(ABC):
    """Sends notices on a thread of its own: `send` only queues (`start` first, `stop` last)."""

    def __init__(self, retries: int = 0, timeout_s: float = 5.0) -> None:
        self.retries, self.timeout_s = retries, timeout_s
        self.counts: dict[str, Any] = {"sent": 0, "retried": 0, "failed": 0, "dropped": 0}
        self._queue: queue.Queue[Notice | None] = queue.Queue(MAX_QUEUE)
        self._thread: threading.Thread | None = None

    def start(self) -> Notifier:
        self.counts["to"] = self.where()
        self._thread = threading.Thread(target=self._run, name="notify", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        if self._thread is None:
            return
        with contextlib.suppress(queue.Full):  # a queue that stays full: the thread is a daemon
            self._queue.put(None, timeout=timeout)
        self._thread.join(timeout=timeout)

    def send(self, notice: Notice) -> None:
        """Queue `notice`; never blocks (a full queue drops it, counted and logged)."""
        try:
            self._queue.put_nowait(notice)
        except queue.Full:
            self.counts["dropped"] += 1
            log.warning("notice to the guardian of %s dropped: the queue is full", notice.group)

    def _run(self) -> None:
        while (notice := self._queue.get()) is not None:
            self._deliver(notice)

    def _deliver(self, notice: Notice) -> None:
        pause, problem = RETRY_PAUSE_S, ""
        for attempt in range(self.retries + 1):
            if attempt:
                self.counts["retried"] += 1
                time.sleep(pause)
                pause *= 2
            try:
                self.deliver(notice)
            except Exception as exc:  # any failure of the far end: tried again, then counted
                problem = _why(exc)
                continue
            self.counts["sent"] += 1
            return
        self.counts["failed"] += 1
        log.warning(
            "notice %s for %s not delivered by %s after %d attempts: %s",
            notice.kind,
            notice.group,
            self.where(),
            self.retries + 1,
            problem,
        )

    @abstractmethod
    def deliver(self, notice: Notice) -> None:
        """One attempt; raises on failure."""

    @abstractmethod
    def where(self) -> str:
        """Where notices go, as a log may say it (no key, no path of a secret)."""


class WebhookNotifier(Notifier):
    """An HTTP POST of the notice as JSON to `url`; any answer but 2xx is a failure."""

    def __init__(self, url: str, retries: int = 2, timeout_s: float = 5.0) -> None:
        super().__init__(retries, timeout_s)
        self.url = url

    def deliver(self, notice: Notice) -> None:
        body = json.dumps({**asdict(notice), "text": notice.text}, ensure_ascii=False)
        request = urllib.request.Request(
            self.url,
            data=body.encode("utf-8"),
            headers={"Content-Type": "application/json; charset=utf-8"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=self.timeout_s) as answer:
            answer.read(4096)

    def where(self) -> str:
        return _host(self.url)


class SmsGatewayNotifier(Notifier):
    """An HTTP GET of the gateway's URL template, {phone} and {text} filled in, URL-encoded."""

    def __init__(self, template: str, retries: int = 2, timeout_s: float = 5.0) -> None:
        super().__init__(retries, timeout_s)
        self.template = template

    def url_for(self, notice: Notice) -> str:
        phone, text = (urllib.parse.quote(v, safe="") for v in (notice.phone, notice.text))
        return self.template.replace("{phone}", phone).replace("{text}", text)

    def deliver(self, notice: Notice) -> None:
        request = urllib.request.Request(self.url_for(notice), method="GET")
        with urllib.request.urlopen(request, timeout=self.timeout_s) as answer:
            answer.read(4096)

    def where(self) -> str:
        return _host(self.template)


class RecordingNotifier(Notifier):
    """What would be sent, appended to `file` as JSON lines (a test double, and a dry run)."""

    def __init__(self, file: Path) -> None:
        super().__init__(0)
        self.file = file

    def start(self) -> Notifier:
        self.file.parent.mkdir(parents=True, exist_ok=True)
        return super().start()

    def deliver(self, notice: Notice) -> None:
        with self.file.open("a", encoding="utf-8") as out:
            out.write(json.dumps({**asdict(notice), "text": notice.text}, ensure_ascii=False))
            out.write("\n")

    def where(self) -> str:
        return str(self.file)


def notifier_of(section: NotifySection) -> Notifier | None:
    """The notifier `[notify]` names, not started; None when off."""
    match section.kind:
        case "webhook":
            return WebhookNotifier(section.url, section.retries, section.timeout_s)
        case "sms":
            return SmsGatewayNotifier(section.url, section.retries, section.timeout_s)
        case "record":
            assert section.file is not None
            return RecordingNotifier(section.file)
    return None


def _host(url: str) -> str:
    return urllib.parse.urlsplit(url).hostname or "?"


def _why(exc: Exception) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code}"
    if isinstance(exc, urllib.error.URLError):
        return f"unreachable: {exc.reason}"
    if isinstance(exc, OSError) and exc.strerror:
        return f"{type(exc).__name__}: {exc.strerror}"
    return type(exc).__name__  # its text may quote the URL, and the URL a gateway's key
