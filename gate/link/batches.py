"""Event batches as the hub stores them: `read_events` reads an events payload as
`parse(EventBatch, ...)` does, each body also kept as the JSON text it came in (`WireEntry`).
Gates following each other read their peers' batches the same way."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, NamedTuple

from gate.link.protocol import MAX_BATCH, MAX_PAYLOAD, SURROGATE_ESCAPE, EventBatch, parse


class WireEntry(NamedTuple):
    """An `Entry` as `read_events` reads it: its body decoded, and as JSON text to store."""

    seq: int
    nonce: str
    wall_ms: int
    hlc: str
    kind: str
    body: dict[str, Any]
    body_json: str


@dataclass(frozen=True, slots=True)
class WireBatch:
    gate: str
    entries: list[WireEntry]


def read_events(payload: bytes) -> WireBatch:
    """`parse(EventBatch, payload)`, each body also as JSON text: it accepts and refuses the
    same payloads, with the same ProtocolError, and reads the same values.

    A batch as `dump` writes it (as every gate sends it) is read in one pass that keeps each
    body's text as it came; any other form of JSON goes through `parse`, its bodies encoded."""
    batch = _read_dumped_events(payload)
    if batch is not None:
        return batch
    parsed = parse(EventBatch, payload)
    return WireBatch(
        parsed.gate,
        [
            WireEntry(e.seq, e.nonce, e.wall_ms, e.hlc, e.kind, e.body, _encode_body(e.body))
            for e in parsed.entries
        ],
    )


# `dump(EventBatch(...))` exactly: compact, keys in the models' order. Numbers of 19 digits at
# most (SQLite's range); strings without escapes or control characters, lengths as the models'.
_DUMPED_HEAD = re.compile(r'\{"v":1,"gate":"([A-Za-z0-9_-]{1,32})","entries":\[')
_DUMPED_ENTRY = re.compile(
    r'\{"seq":([1-9][0-9]{0,18}),"nonce":"([^"\\\x00-\x1f]{8,64})",'
    r'"wall_ms":(0|[1-9][0-9]{0,18}),"hlc":"([0-9a-f]{16})",'
    r'"kind":"([^"\\\x00-\x1f]{1,32})","body":(?=\{)'
)
_body_decoder = json.JSONDecoder()
_encode_body = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _read_dumped_events(payload: bytes) -> WireBatch | None:
    """The batch, if `payload` is in `dump`'s form and valid; else None, and `parse` decides.

    Each body is decoded by `json`, as `parse` does, and its text kept as it came. A payload
    that escapes a surrogate is left to `parse`, which refuses a lone one."""
    if len(payload) > MAX_PAYLOAD or SURROGATE_ESCAPE.search(payload):
        return None
    try:
        text = payload.decode()
    except UnicodeDecodeError:
        return None
    head = _DUMPED_HEAD.match(text)
    if head is None:
        return None
    entries: list[WireEntry] = []
    at = head.end()
    while len(entries) < MAX_BATCH:
        fields = _DUMPED_ENTRY.match(text, at)
        if fields is None:
            return None
        start = fields.end()
        try:
            body, end = _body_decoder.raw_decode(text, start)
        except (ValueError, RecursionError):
            return None
        body_json = text[start:end]
        seq, nonce, wall_ms, hlc, kind = fields.groups()
        entries.append(WireEntry(int(seq), nonce, int(wall_ms), hlc, kind, body, body_json))
        if text.startswith("},", end):
            at = end + 2
        elif end + 3 == len(text) and text.endswith("}]}"):
            return WireBatch(head[1], entries)
        else:
            return None
    return None
