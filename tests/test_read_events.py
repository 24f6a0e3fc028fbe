"""`gate.link.batches.read_events`, the hub's reading of an events payload: it accepts and refuses
exactly what `parse(EventBatch, ...)` does, with the same reason, and reads the same values, each
body also as the JSON text to store. What gates send (`dump`'s form) is read in one pass that
keeps each body's text as it came; anything else goes through `parse`.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gate.link.batches import WireBatch, _read_dumped_events, read_events
from gate.link.protocol import (
    MAX_BATCH,
    Entry,
    EventBatch,
    ProtocolError,
    dump,
    parse,
)
from gate.store.journal import Journal

JULY_2026 = 1_784_000_000_000

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=15,
)
ENTRIES = st.builds(
    Entry,
    seq=st.integers(1, 2**64),
    nonce=st.from_regex(r"\A[0-9a-f]{16}\Z") | st.text(min_size=8, max_size=64),
    wall_ms=st.integers(0, 2**64),
    hlc=st.from_regex(r"\A[0-9a-f]{16}\Z"),
    kind=st.sampled_from(["decision", "passage", "fire_alarm"]) | st.text(min_size=1, max_size=32),
    body=st.dictionaries(st.text(max_size=8), JSON, max_size=5),
)
BATCHES = st.builds(
    EventBatch,
    gate=st.from_regex(r"\A[A-Za-z0-9_-]{1,32}\Z"),
    entries=st.lists(ENTRIES, min_size=1, max_size=5),
)


def values(batch: EventBatch | WireBatch) -> tuple[str, list[tuple[Any, ...]]]:
    return batch.gate, [(e.seq, e.nonce, e.wall_ms, e.hlc, e.kind, e.body) for e in batch.entries]


def outcome(read: Any, payload: bytes) -> tuple[str, Any]:
    try:
        return "read", values(read(payload))
    except ProtocolError as exc:
        return "refused", str(exc)


def read_by_parse(payload: bytes) -> EventBatch:
    return parse(EventBatch, payload)


def quoted(text: str) -> str:
    """`text` as a JSON string, nothing escaped but quotes and backslashes: control characters
    stay raw, which JSON refuses."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def json_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def journal_batch(tmp_path: Any, n: int) -> EventBatch:
    with Journal(tmp_path / "E1.db", "E1", wall=lambda: JULY_2026) as journal:
        for i in range(n):
            journal.append("decision", {"n": i, "who": "Zoë", "events": [{"at": i}]})
        return EventBatch(gate="E1", entries=[Entry.of(e) for e in journal.tail(n)])


def parse_entries(payload: bytes) -> list[Any]:
    entries: list[Any] = json.loads(payload)["entries"]
    return entries


# --- what gates send ------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(batch=BATCHES)
def test_a_batch_as_gates_send_it_is_read_as_parse_reads_it(batch: EventBatch):
    payload = dump(batch)
    wire = read_events(payload)
    assert values(wire) == values(parse(EventBatch, payload))
    for e in wire.entries:
        assert json.loads(e.body_json) == e.body


def test_what_a_gate_sends_is_read_in_one_pass_each_body_kept_as_it_came(tmp_path: Any):
    payload = dump(journal_batch(tmp_path, MAX_BATCH))
    fast = _read_dumped_events(payload)
    assert fast is not None and fast == read_events(payload)
    text = payload.decode()
    assert all(f'"body":{e.body_json}}}' in text for e in fast.entries)


def test_another_form_of_the_same_batch_is_read_through_parse_its_bodies_encoded(tmp_path: Any):
    batch = journal_batch(tmp_path, 3)
    spaced = json.dumps(batch.model_dump(mode="json"), indent=1).encode()
    wire = read_events(spaced)
    assert values(wire) == values(batch)
    assert wire.entries[0].body_json == '{"n":0,"who":"Zoë","events":[{"at":0}]}'


@pytest.mark.parametrize(
    "payload",
    [
        b'{"v": ' + b"9" * 5000 + b"}",
        b"[" * 100_000,
        b'{"v":1,"gate":"E1","entries":' + b"[" * 10**5,
    ],
    ids=["a number of 5000 digits", "nested 100k deep", "entries nested 100k deep"],
)
def test_json_that_python_cannot_hold_is_refused_as_not_json(payload: bytes):
    for read in (read_events, read_by_parse):
        with pytest.raises(ProtocolError, match=r"^not JSON"):
            read(payload)


def test_more_entries_than_a_batch_holds_are_refused_as_parse_does(tmp_path: Any):
    text = dump(journal_batch(tmp_path, MAX_BATCH)).decode()
    head, rest = text.split('"entries":[', 1)
    first = rest[: rest.index(',{"seq":2,')]
    payload = f'{head}"entries":[{first},{rest}'.encode()  # the first entry twice: one too many
    assert len(parse_entries(payload)) == MAX_BATCH + 1
    assert outcome(read_events, payload) == outcome(read_by_parse, payload)
    assert outcome(read_events, payload)[0] == "refused"


# --- the layout gates send, each field just wrong -------------------------------------------------


PLAIN = st.characters(exclude_categories=("Cc", "Cs"), exclude_characters='"\\')
WRONG_NUMBERS = st.sampled_from(
    ["0", "01", "-1", "-0", "1.0", "1e3", '"5"', "true", "null", "9" * 19, "9" * 20, "1 "]
)
WRONG_TEXTS = st.text(max_size=70).map(json_text) | st.text(max_size=70).map(quoted)
FIELDS: dict[str, tuple[st.SearchStrategy[str], st.SearchStrategy[str]]] = {  # right, wrong
    "seq": (st.integers(1, 2**63).map(str), WRONG_NUMBERS),
    "nonce": (
        st.text(PLAIN, min_size=8, max_size=64).map(quoted),
        st.sampled_from([0, 1, 7, 65, 70]).map(lambda n: quoted("n" * n)) | WRONG_TEXTS,
    ),
    "wall_ms": (st.integers(0, 2**63).map(str), WRONG_NUMBERS),
    "hlc": (
        st.from_regex(r"\A[0-9a-f]{16}\Z").map(quoted),
        st.from_regex(r"\A[0-9a-fA-FxX]{15,17}\Z").map(quoted) | WRONG_TEXTS,
    ),
    "kind": (
        st.text(PLAIN, min_size=1, max_size=32).map(quoted),
        st.sampled_from([0, 33]).map(lambda n: quoted("k" * n)) | WRONG_TEXTS,
    ),
    "body": (
        st.dictionaries(st.text(max_size=5), JSON, max_size=3).map(json_text),
        st.sampled_from(
            [
                "[]",
                "null",
                '"x"',
                '{"a":01}',
                '{"a":1,"a":2}',
                '{"a":NaN}',
                '{"a"}',
                '{"a":1',
                '{"a":"\\ud800"}',
                '{"a":"\\ud83d\\ude00"}',
                '{"a":"\\u00e9"}',
                '{ "a" : 1 }',
                '{"a":"\x01"}',
            ]
        ),
    ),
}
HEAD = {
    "v": (st.just("1"), st.sampled_from(["1.0", "2", "true", '"1"', "01"])),
    "gate": (
        st.from_regex(r"\A[A-Za-z0-9_-]{1,32}\Z").map(quoted),
        st.sampled_from(["", "E 1", "A" * 33, "E1\n"]).map(quoted) | WRONG_TEXTS,
    ),
    "end": (st.just("]}"), st.sampled_from(["]} ", "]}\n", "]}}", "]}x", "],}", "]", "]}]}"])),
}


RIGHT = {
    "v": "1",
    "gate": '"E1"',
    "seq": "12",
    "nonce": '"0123456789abcdef"',
    "wall_ms": "1784000000000",
    "hlc": '"019f72bce59e0000"',
    "kind": '"decision"',
    "body": '{"events":[]}',
    "end": "]}",
}


def laid_out(**spellings: str) -> bytes:
    """One entry in the exact layout of `dump`, each field spelled right unless given."""
    f = RIGHT | spellings
    entry = ",".join(f'"{name}":{f[name]}' for name in FIELDS)
    return f'{{"v":{f["v"]},"gate":{f["gate"]},"entries":[{{{entry}}}{f["end"]}'.encode()


JUST_WRONG = [
    ("v", "1.0"),
    ("v", "01"),
    ("gate", quoted("A" * 33)),
    ("gate", '""'),
    ("seq", "0"),
    ("seq", "012"),
    ("seq", "9" * 20),
    ("seq", '"12"'),
    ("nonce", quoted("n" * 7)),
    ("nonce", quoted("n" * 65)),
    ("nonce", r'"0123456789abcde\u0066"'),  # an escape: read through parse
    ("wall_ms", "01"),
    ("wall_ms", "-1"),
    ("hlc", '"019F72BCE59E0000"'),
    ("hlc", '"019f72bce59e000"'),
    ("kind", '""'),
    ("kind", quoted("k" * 33)),
    ("kind", '"deci\x01sion"'),
    ("kind", '"decision\n"'),
    ("body", "[]"),
    ("body", '{"a":01}'),
    ("body", '{"a":"\x01"}'),
    ("end", "]}}"),
    ("end", "]} "),
    ("end", "]"),
]


@pytest.mark.parametrize(("field", "spelling"), JUST_WRONG, ids=[f"{f} {s}" for f, s in JUST_WRONG])
def test_one_field_just_wrong_or_spelled_otherwise_is_read_or_refused_as_parse_does(
    field: str, spelling: str
):
    assert _read_dumped_events(laid_out()) is not None  # the layout the one-pass reading takes
    payload = laid_out(**{field: spelling})
    assert outcome(read_events, payload) == outcome(read_by_parse, payload)


@st.composite
def laid_out_as_gates_send(draw: st.DrawFn) -> bytes:
    """A payload in the exact layout of `dump`, every field spelled right but at most one,
    which is just wrong (a leading zero, a nonce one too short, a raw control character,
    upper-case hex, a duplicate key, trailing bytes...) or right in another spelling."""
    wrong = draw(st.sampled_from([None, *HEAD, *FIELDS]))

    def field(name: str, choices: tuple[st.SearchStrategy[str], st.SearchStrategy[str]]) -> str:
        return draw(choices[name == wrong])

    head = {name: field(name, choices) for name, choices in HEAD.items()}
    entries = []
    for _ in range(draw(st.integers(1, 3))):
        fields = (f'"{name}":{field(name, choices)}' for name, choices in FIELDS.items())
        entries.append("{" + ",".join(fields) + "}")
    text = f'{{"v":{head["v"]},"gate":{head["gate"]},"entries":[{",".join(entries)}{head["end"]}'
    return text.encode()


@settings(max_examples=800, deadline=None)
@given(payload=laid_out_as_gates_send())
def test_a_payload_laid_out_as_gates_send_it_is_read_or_refused_as_parse_does(payload: bytes):
    assert outcome(read_events, payload) == outcome(read_by_parse, payload)


# --- any change to a payload ----------------------------------------------------------------------


TOKENS = [
    *(bytes([c]) for c in b'"\\{}[],: 0-.eE'),
    b"-1",
    b"1e5",
    b"null",
    b"true",
    b"\\ud800",
    b"\\udc00\\ud800",
    b"\\u00e9",
    b"\\n",
    b'"seq":',
    b'"body":',
    b'},{"seq":1,',
    b"\xff",
    b"\x00",
    "é".encode(),
]


LANDMARKS = [
    *(f'"{key}":'.encode() for key in ("v", "gate", "entries", "seq", "nonce", "wall_ms", "hlc")),
    b'"kind":',
    b'"body":',
    b"},{",
    b"}]}",
]


def landmarks(payload: bytes) -> list[int]:
    """Where a change matters most: around each key, between entries, at both ends."""
    found = {0, len(payload)}
    for mark in LANDMARKS:
        at = payload.find(mark)
        while at != -1:
            found |= {at, at + len(mark), at + len(mark) + 1}
            at = payload.find(mark, at + 1)
    return sorted(found)


EDITS = st.lists(
    st.tuples(
        st.integers(0, 10**6),  # a landmark, or anywhere
        st.booleans(),  # anywhere
        st.integers(-2, 2),  # shifted by
        st.integers(0, 3),  # bytes cut there
        st.sampled_from(TOKENS),  # bytes put there
    ),
    min_size=1,
    max_size=3,
)


@settings(max_examples=400, deadline=None)
@given(batch=BATCHES, edits=EDITS)
def test_whatever_is_changed_in_a_payload_it_is_read_or_refused_as_parse_does(
    batch: EventBatch, edits: list[tuple[int, bool, int, int, bytes]]
):
    payload = bytearray(dump(batch))
    for pick, anywhere, shift, cut, token in edits:
        marks = landmarks(bytes(payload))
        at = pick % (len(payload) + 1) if anywhere else marks[pick % len(marks)] + shift
        at = min(max(at, 0), len(payload))
        payload[at : at + cut] = token
    assert outcome(read_events, bytes(payload)) == outcome(read_by_parse, bytes(payload))
