"""How a client's connection to the venue broker fares: drops, takeovers, failed attempts.

Gates and the hub speak MQTT v5 so that the broker says why it closed a connection. The broker
takes each client's username as its client id (`use_username_as_clientid`), so a connection is
"taken over" (v5 reason 0x8E) only by another login with the same username and password: that
device's password is known elsewhere. That is counted apart from an ordinary drop, and alerted.

Mosquitto sends that reason from 2.0.15 on; 2.0.11 (Debian bookworm) just closes the socket.
The takeover still shows when the client comes back: it resumes its persistent session (clean
start off) and the broker says it holds none, because the intruder's clean session replaced it.
A broker restart keeps sessions (persistence), so that is no false alarm; a broker that lost its
saved sessions (killed before its autosave) is, and the alert says both.

A failed attempt says what failed in words an operator can act on: the broker's certificate
not trusted (wrong CA, or a host name the certificate does not carry), a TLS handshake that
failed (a plain port, an old broker), a login refused (`refused_login`: the user, the broker's
reason and the password file to check), or the broker out of reach. Paho follows a refused
CONNACK with a "disconnect" of the socket it never had ("Protocol error"): that is the same
failed attempt, not a lost connection, and is not counted again (else a refused login would read
as "connection lost" and be logged on every retry).
"""

from __future__ import annotations

import logging
import ssl
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

SESSION_TAKEN_OVER = 0x8E  # MQTT v5 DISCONNECT reason: another connection took the client id
RECENT_S = 3600.0  # takeovers and drops within this are "recent" (alerts, the display)
KEPT = 100  # times of drops and takeovers kept for the recent counts

SESSION_GONE = (
    "the broker no longer held this client's session: another login with the same username took "
    "it over, or the broker lost its saved sessions"
)

DownKind = Literal["lost", "taken_over", "refused", "tls", "unreachable"]


def disconnect_kind(reason: Any) -> DownKind:
    """What a paho v2 `on_disconnect` reason code means: taken over, or lost."""
    return "taken_over" if getattr(reason, "value", None) == SESSION_TAKEN_OVER else "lost"


# MQTT v5 CONNACK reasons a login gets, in the words the docs use; others as the broker says them
_REFUSALS = {
    0x84: "the broker does not speak this MQTT version",
    0x85: "client id not accepted",
    0x86: "bad user name or password",
    0x87: "not authorised",
    0x8A: "this user is banned",
    0x8C: "bad authentication method",
}


def refused_login(user: str, reason: Any, password_file: Path | None) -> str:
    """What a refused login says, to the technician who must fix it: the user, the broker's
    reason, and the password file to check (never its content)."""
    code = getattr(reason, "value", None)
    why = _REFUSALS.get(code, str(reason).lower()) if isinstance(code, int) else str(reason)
    check = f"check {password_file}" if password_file else "no password_file is set: set one"
    return f"broker refused the login for {user}: {why} — {check}"


def connect_failure(exc: BaseException | None, host: str, port: int) -> tuple[DownKind, str]:
    """An attempt to connect that raised `exc`, as (kind, what to fix). Never echoes a secret:
    the exception texts of `ssl` and `socket` name addresses and causes only."""
    where = f"{host}:{port}"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return "tls", (
            f"TLS: certificate verify failed: the broker at {where} is not trusted "
            f"({exc.verify_message or exc.reason}); check that tls_ca is the venue CA from the "
            "hub and that the host is a name or address written in the broker's certificate"
        )
    if isinstance(exc, ssl.SSLError):
        return "tls", (
            f"TLS handshake with {where} failed ({exc.reason or exc}): is {port} the broker's "
            "TLS port (8883)?"
        )
    if isinstance(exc, OSError):
        return "unreachable", f"broker {where} unreachable: {exc.strerror or exc}"
    return "unreachable", f"broker {where} unreachable"


class LinkHealth:
    """Counts of one connection's ups and downs, for `gatectl status`, the hub's alerts and
    metrics. Updated from one thread (the owner's loop)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.connected = False
        self.connects = 0
        self.counts: dict[str, int] = {}  # by DownKind
        self.last_kind: DownKind | None = None
        self.last_reason: str | None = None
        self.down_since: float | None = clock()  # not connected yet
        self._drops: deque[float] = deque(maxlen=KEPT)
        self._takeovers: deque[float] = deque(maxlen=KEPT)

    def up(self, session_present: bool = True) -> bool:
        """Connected; True when the persistent session was gone after a drop: taken over."""
        lost_session = self.connects > 0 and not session_present and self.last_kind == "lost"
        self.connected = True
        self.connects += 1
        self.down_since = None
        if lost_session:
            self.counts["taken_over"] = self.counts.get("taken_over", 0) + 1
            self._takeovers.append(self.clock())
            self.last_kind = "taken_over"
            self.last_reason = SESSION_GONE
        return lost_session

    def echoes_failure(self, kind: DownKind) -> bool:
        """A "lost" while not connected, after a refused login or a failed handshake: paho closing
        that attempt's socket, not a connection lost. Neither counted nor said."""
        return kind == "lost" and not self.connected and self.last_kind in ("refused", "tls")

    def down(self, kind: DownKind, reason: str) -> bool:
        """Record a drop or a failed attempt; True when it is news (a drop of a live connection,
        a takeover, or another failure than the last one), worth a log line."""
        if self.echoes_failure(kind):
            return False  # the failed attempt's socket closing: the refusal stands
        now = self.clock()
        was_up = self.connected
        changed = (kind, reason) != (self.last_kind, self.last_reason)
        news = was_up or kind == "taken_over" or changed
        self.counts[kind] = self.counts.get(kind, 0) + 1
        if kind == "taken_over":
            self._takeovers.append(now)
        if was_up:
            self._drops.append(now)
        self.connected = False
        self.last_kind, self.last_reason = kind, reason
        if was_up or self.down_since is None:
            self.down_since = now
        return news

    @property
    def taken_over(self) -> int:
        return self.counts.get("taken_over", 0)

    def recent_takeovers(self, within_s: float = RECENT_S) -> list[float]:
        since = self.clock() - within_s
        return [t for t in self._takeovers if t >= since]

    def recent_drops(self, within_s: float = RECENT_S) -> int:
        since = self.clock() - within_s
        return sum(1 for t in self._drops if t >= since)

    def as_dict(self) -> dict[str, Any]:
        return {
            "connected": self.connected,
            "connects": self.connects,
            "taken_over": self.taken_over,
            "lost": self.counts.get("lost", 0),
            "failed": sum(self.counts.get(k, 0) for k in ("refused", "tls", "unreachable")),
            "last_down": self.last_reason,
            "last_down_kind": self.last_kind,
            "down_since": self.down_since,
        }


@dataclass(frozen=True)
class DownWords:
    """How one side says its link went down, each with `%s` for the broker's reason."""

    lost: str  # it was up
    refused: str  # the login was refused: a wrong password does not mend itself, an error
    cannot_connect: str  # an attempt failed


def say_down(
    log: logging.Logger, words: DownWords, kind: DownKind, reason: str, was_up: bool
) -> None:
    """A change of the link, said once (the caller has `LinkHealth.down` decide it is one)."""
    if was_up:
        log.warning(words.lost, reason)
    elif kind == "refused":
        log.error(words.refused, reason)
    else:
        log.warning(words.cannot_connect, reason)
