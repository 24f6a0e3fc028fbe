"""An HTTP/1.1 request head read strictly: what `hub.views.web.http` accepts, and why it refuses.

Bytes and text in, a `Request` or `Refused` (status, reason, and the reason's counter name)
out; nothing here does I/O but `default_hosts`, which asks the machine its names.
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
import socket
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

MAX_HEAD = 16 * 1024  # request line and headers, bytes
MAX_HEADERS = 64
MAX_TARGET = 2048  # the request target (path and query), characters
MAX_BODY = 4096  # a POST's JSON (the desk's console, /api/incidents); a GET's is read and ignored
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_VERSION = re.compile(r"HTTP/1\.[01]")
_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_HOSTNAME = re.compile(r"[a-z0-9._-]{1,253}")  # "_": a machine may be named so (not in DNS)


class Refused(Exception):
    """A request refused before any handler saw it: the status and a reason for the client."""

    def __init__(self, status: int, reason: str, counted_as: str) -> None:
        super().__init__(reason)
        self.status, self.reason, self.counted_as = status, reason, counted_as


@dataclass(frozen=True)
class Request:
    method: str
    path: str  # percent-decoded
    query: dict[str, str]
    headers: dict[str, str]  # names lower-case
    body: bytes = b""  # a POST's; empty for GET and HEAD

    @property
    def head_only(self) -> bool:
        return self.method == "HEAD"


def default_hosts(bind: str) -> frozenset[str]:
    """The Host names answered when hub.toml names none (IP literals are always answered)."""
    names = {"localhost", bind.lower()}
    with contextlib.suppress(OSError):
        name = socket.gethostname().lower()
        names |= {name, f"{name}.local", socket.getfqdn().lower()}
    return frozenset(n for n in names if n and n not in ("0.0.0.0", "::"))


def host_allowed(value: str | None, allowed: frozenset[str]) -> bool:
    """Whether a Host header (name or address, with or without a port) is one the hub answers."""
    if not value:
        return False
    host = value.strip().lower()
    if host.startswith("["):  # [::1]:8080
        literal, _, _rest = host[1:].partition("]")
        return _is_ip(literal)
    name, _, port = host.rpartition(":") if host.count(":") == 1 else (host, "", "")
    if port and not port.isdigit():
        return False
    name = name.rstrip(".")
    return _is_ip(name) or (_HOSTNAME.fullmatch(name) is not None and name in allowed)


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def strict_unquote(text: str) -> str:
    """Percent-decoding that refuses what `urllib.parse.unquote` silently keeps or replaces: a
    `%` not followed by two hex digits, bytes that are not UTF-8, control characters."""
    if _PERCENT.search(text):
        raise ValueError("bad percent-encoding")
    raw = bytearray()
    i = 0
    while i < len(text):
        if text[i] == "%":
            raw.append(int(text[i + 1 : i + 3], 16))
            i += 3
        else:
            raw.extend(text[i].encode("ascii"))
            i += 1
    decoded = raw.decode("utf-8")  # UnicodeDecodeError is a ValueError
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in decoded):
        raise ValueError("control characters in the path")
    return decoded


def parse_head(head: bytes) -> tuple[str, str, str, dict[str, str]]:
    """Method, target, version and headers of a request head (without the blank line)."""
    try:
        text = head.decode("ascii")
    except UnicodeDecodeError:
        raise Refused(400, "the request head must be ASCII", "not_ascii") from None
    lines = text.split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not _TOKEN.fullmatch(parts[0]) or not _VERSION.fullmatch(parts[2]):
        raise Refused(400, "not an HTTP/1.x request line", "bad_request_line")
    method, target, version = parts
    if len(target) > MAX_TARGET:
        raise Refused(414, f"the request target is longer than {MAX_TARGET}", "target_too_long")
    if not target.startswith("/"):
        raise Refused(400, "the request target must be a path", "bad_target")
    if len(lines) - 1 > MAX_HEADERS:
        raise Refused(431, f"more than {MAX_HEADERS} header lines", "too_many_headers")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        controls = any(ord(c) < 0x20 and c != "\t" for c in value)
        if not colon or not _TOKEN.fullmatch(name) or controls:
            raise Refused(400, "a malformed header line", "bad_header")
        key = name.lower()
        if key in headers and key in ("host", "content-length", "authorization"):
            raise Refused(400, f"more than one {name} header", "bad_header")
        headers[key] = value.strip(" \t")
    return method, target, version, headers


def parse_target(target: str) -> tuple[str, dict[str, str]]:
    url = urlsplit(target)
    try:
        path = strict_unquote(url.path)
        query = {
            k: v[-1] for k, v in parse_qs(url.query, errors="strict", max_num_fields=32).items()
        }
    except ValueError:
        raise Refused(400, "bad percent-encoding in the request target", "bad_encoding") from None
    return path, query
