"""Fuzz targets: every parser that takes outside input, and the inputs to feed it.

A `Target` names a parser, the inputs to feed it (tests/fuzz_inputs.py: arbitrary, and valid
inputs damaged), the errors it refuses with, and what must hold of what it accepts. `attempt`
runs one input and says what came of it:

- accepted: the parser returned, and the invariant of the value holds;
- refused: it raised its own error, with a message saying what is wrong;
- crashed: anything else: another exception, a refusal without a reason, a broken invariant.

The property of every target is that nothing crashes. `explore` drives a target with Hypothesis;
the tests (tests/test_fuzz_*.py) fail on the first crash, `python -m bench.fuzz` counts every
outcome over a longer run. The targets are grouped by area: NFC, scanner, MQTT, CSV, config,
control socket; `TARGETS` lists them all.

Hypothesis profiles: ``fuzz``, 120 inputs a target (the normal test run: about 25 s for them
all), and ``fuzz-long``, 20,000; the tests take the one ``WRISTGATE_FUZZ_PROFILE`` names:

    WRISTGATE_FUZZ_PROFILE=fuzz-long pytest tests/test_fuzz_*.py
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import io
import logging
import os
import re
import reprlib
import tempfile
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import ndef
from fuzz_inputs import (
    json_values,
    mutated_bytes,
    mutated_csv,
    mutated_json,
    payloads,
    texts,
    toml_files,
    toml_text,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gate.config import ConfigError, load_policy
from gate.control.socket import BadRequest, parse_request
from gate.core import (
    Allowlist,
    Code,
    Decision,
    Policy,
    Role,
    Ticket,
)
from gate.core.model import BandToken
from gate.devices.nfc.band import read_token
from gate.devices.nfc.emulated_tag import blank_memory, memory_with_ndef
from gate.devices.nfc.t2t import (
    DATA_PAGE,
    PAGE,
    GarbledArea,
    WriteRefused,
    check_written,
    parse_cc,
    plan_ndef_write,
    read_ndef,
)
from gate.devices.nfc.token import (
    KeyFileError,
    Keyring,
    TokenFault,
    decode_token,
    encode_token,
    load_keyring,
)
from gate.devices.scanner import Framer, Rejected
from gate.link import batches, protocol
from gate.link.codec import (
    EVENT_TYPES,
    CodecError,
    decision_from_dict,
    decision_to_dict,
    event_from_dict,
    event_to_dict,
)
from gate.settings import load_gate_config
from gate.store.allowlist import AllowlistError, load_csv_dir
from gate.store.allowlist.changes import checked as checked_for_the_store
from gate.store.allowlist.csvdir import COLUMNS
from gate.tools.scanline import Join, ScanLineError, parse_line
from gate.tools.simulate import simulate

# --- profiles ---------------------------------------------------------------------------------

settings.register_profile(
    "fuzz",
    max_examples=120,
    deadline=None,
    database=None,  # targets share one driver: a stored example would replay on the wrong one
    print_blob=True,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
        HealthCheck.large_base_example,
    ],
)
settings.register_profile("fuzz-long", settings.get_profile("fuzz"), max_examples=20_000)
FUZZ = settings.get_profile(os.environ.get("WRISTGATE_FUZZ_PROFILE", "fuzz"))


# --- targets, outcomes, the driver ------------------------------------------------------------

Parse = Callable[[Any], Any]


@dataclass(frozen=True)
class Target:
    """A parser of outside input, the inputs to feed it, and what it may do with them."""

    name: str
    inputs: st.SearchStrategy[Any]
    open: Callable[[Path], AbstractContextManager[Parse]]  # the parser, given a work directory
    refusals: tuple[type[Exception], ...]
    check: Callable[[Any, Any], list[str] | None] = lambda value, result: None
    """Asserts what must hold of an accepted `result` of `value`; may return the outcome of
    each item inside it (lines of a stream, rows of a file) as reason classes."""


@dataclass(frozen=True)
class Outcome:
    kind: str  # accepted | refused | crashed
    reason: str = ""  # the reason class: the message with values and numbers taken out
    detail: str = ""  # the whole message, or the traceback of a crash
    items: tuple[str, ...] = ()


def attempt(target: Target, parse: Parse, value: Any, workdir: Path) -> Outcome:
    """Feed `value` to the parser and say what came of it (never raises, bar KeyboardInterrupt)."""
    try:
        result = parse(value)
    except target.refusals as exc:
        message = str(exc).replace(str(workdir), "").strip()
        if not message:
            return Outcome("crashed", f"{type(exc).__name__} without a reason")
        return Outcome("refused", f"{type(exc).__name__}: {reason_class(message)}", message)
    except Exception as exc:  # RecursionError too: a crash is anything but a refusal
        return Outcome("crashed", f"{type(exc).__name__}: {reason_class(str(exc))}", _trace(exc))
    try:
        items = target.check(value, result) or []
    except AssertionError as exc:
        return Outcome("crashed", f"broken invariant: {exc}", _trace(exc))
    except Exception as exc:
        return Outcome("crashed", f"{type(exc).__name__} in the check: {exc}", _trace(exc))
    return Outcome("accepted", items=tuple(items))


def reason_class(message: str) -> str:
    """A message with what varies taken out, to count refusals by kind."""
    first = message.strip().splitlines()[0] if message.strip() else ""
    first = re.sub(r" \(got .*$| \(found .*$", "", first)  # the value echoed back
    first = re.sub(r"'[^']*'|\"[^\"]*\"|b'[^']*'", "…", first)
    first = re.sub(r"0x[0-9a-fA-F]+", "0x…", first)
    first = re.sub(r"(?<![A-Za-z0-9-])\d+", "N", first)  # UTF-8 stays
    return first[:100]


def _trace(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc, limit=-6))[-3000:]


def explore(target: Target, profile: settings, on_outcome: Callable[[Any, Outcome], None]) -> None:
    """Run Hypothesis over `target` with `profile`; each input's outcome goes to `on_outcome`
    (which may raise, to make Hypothesis shrink and report the input)."""
    with (
        tempfile.TemporaryDirectory(prefix="wristgate-fuzz-") as tmp,
        target.open(Path(tmp)) as parse,
    ):

        @profile
        @given(value=target.inputs)
        def run(value: Any) -> None:
            on_outcome(value, attempt(target, parse, value, Path(tmp)))

        run()


def fuzz(target: Target) -> None:
    """Fail with the smallest input that crashes `target`, if Hypothesis finds one."""

    def must_not_crash(value: Any, outcome: Outcome) -> None:
        if outcome.kind == "crashed":
            raise AssertionError(f"{outcome.reason}\n{outcome.detail}")

    explore(target, FUZZ, must_not_crash)


def pure(fn: Parse) -> Callable[[Path], AbstractContextManager[Parse]]:
    return lambda workdir: contextlib.nullcontext(fn)


def with_files(fn: Callable[[Path, Any], Any]) -> Callable[[Path], AbstractContextManager[Parse]]:
    """A parser that reads files written in the work directory."""
    return lambda workdir: contextlib.nullcontext(lambda value: fn(workdir, value))


class Dropped(Exception):
    """A consumer that never raises counted an input as refused; the reason is its count's key."""


# --- NFC: band memory, token, the site key file -----------------------------------------------

KEYS = {2: bytes.fromhex("00112233445566778899aabbccddeeff0123456789abcdef"), 1: bytes(range(16))}
KEYRING = Keyring((2, KEYS[2]), (1, KEYS[1]))
TOKEN_TYPE = "urn:nfc:ext:wristgate.net:t"


@dataclass(frozen=True)
class Band:
    """Bytes read from a band with UID `uid`, and every token payload the key holder signed for
    it: a token that verifies must be one of them (`signed` holds (uid, payload) pairs)."""

    data: bytes
    uid: str
    signed: frozenset[tuple[str, bytes]] = frozenset()


band_tokens = st.builds(
    lambda group, role, start, days, adults, children: BandToken(
        group, role, start, start + timedelta(days=days), adults, children
    ),
    st.text(min_size=1, max_size=12).filter(lambda g: len(g.encode()) <= 32),
    st.sampled_from(list(Role)),
    st.dates(date(2020, 1, 1), date(2150, 1, 1)),
    st.integers(0, 400),
    st.integers(0, 255),
    st.integers(0, 255),
)
band_uids = st.sampled_from([4, 7, 7, 7, 10]).flatmap(
    lambda n: st.binary(min_size=n, max_size=n).map(lambda b: b.hex().upper())
)
odd_uids = st.binary(max_size=12).map(lambda b: b.hex().upper())  # as a foreign tag answers


def token_payload(message: bytes) -> bytes | None:
    """The payload of the first wristgate record of an NDEF message, if any."""
    with contextlib.suppress(Exception):
        for record in ndef.message_decoder(message, errors="strict"):
            if record.type == TOKEN_TYPE:
                return bytes(record.data)
    return None


@st.composite
def signed_tokens(draw: st.DrawFn) -> Band:
    """An NDEF message as a desk writes it, signed with the current or the previous key."""
    token, uid = draw(band_tokens), draw(band_uids)
    key_id = draw(st.sampled_from(sorted(KEYS)))
    message = encode_token(token, uid, Keyring((key_id, KEYS[key_id])))
    return Band(message, uid, frozenset({(uid, token_payload(message) or b"")}))


@st.composite
def signed_odd_fields(draw: st.DrawFn) -> Band:
    """A payload signed with a site key whose fields are anything: a writer with the key and a
    bug. Verifies; its fields must still be read or refused."""
    uid = draw(band_uids)
    key_id = draw(st.sampled_from([*KEYS, 7]))
    group = draw(st.binary(max_size=40) | st.text(max_size=8).map(str.encode))
    n = draw(st.sampled_from([len(group), len(group), 0, 33, 255]))
    body = (
        bytes([draw(st.sampled_from([1, 1, 1, 0, 2, 255])), key_id, n % 256])
        + group
        + bytes([draw(st.integers(0, 255))])
        + draw(st.binary(min_size=4, max_size=4))
        + draw(st.binary(min_size=2, max_size=2))
        + bytes.fromhex(uid)[-2:]
    )
    key = KEYS.get(key_id, bytes(16))
    uid_b = bytes.fromhex(uid)
    mac = hmac.new(key, bytes([len(uid_b)]) + uid_b + body, hashlib.sha256).digest()[:12]
    payload = body + mac
    records = [ndef.Record(TOKEN_TYPE, "", payload)]
    if draw(st.booleans()):
        records.insert(draw(st.integers(0, 1)), ndef.TextRecord(draw(st.text(max_size=10))))
    message = b"".join(ndef.message_encoder(records))
    return Band(message, uid, frozenset({(uid, payload)}))


@st.composite
def damaged_tokens(draw: st.DrawFn) -> Band:
    """A signed message with bytes flipped, cut, inserted; sometimes read from another band."""
    band = draw(signed_tokens())
    uid = draw(st.sampled_from([band.uid, band.uid.lower()]) | band_uids)
    return Band(draw(mutated_bytes(band.data)), uid, band.signed)


@st.composite
def foreign_ndef(draw: st.DrawFn) -> Band:
    """NDEF messages of other records: text, URIs, types close to ours, several records."""
    kinds = st.sampled_from(
        [
            ndef.TextRecord("hello"),
            ndef.UriRecord("https://example.com"),
            ndef.Record("urn:nfc:ext:wristgate.net:T", "", b"\x01"),
            ndef.Record("urn:nfc:ext:wristgate.net:t", "id", b""),
            ndef.Record("urn:nfc:ext:wristgate.net:t", "", b"\x01\x02\x00"),
            ndef.Record("unknown", "", b"\x00"),
        ]
    )
    records = draw(st.lists(kinds, min_size=1, max_size=3))
    message = b"".join(ndef.message_encoder(records))
    return Band(draw(st.just(message) | mutated_bytes(message)), draw(band_uids))


token_inputs = st.one_of(
    st.builds(Band, st.binary(max_size=120), band_uids),
    signed_tokens(),
    signed_odd_fields(),
    damaged_tokens(),
    damaged_tokens(),
    foreign_ndef(),
)


def check_token(band: Band, token: BandToken) -> None:
    """A token that verifies was signed by the key: a flipped byte never verifies. And what
    verifies reads back as exactly what was signed."""
    payload = token_payload(band.data)
    assert payload is not None, "a token verified without a wristgate record"
    uid = band.uid.upper()
    assert (uid, payload) in band.signed, "a token verified that no key holder signed"
    key_id = payload[1]
    again = token_payload(encode_token(token, uid, Keyring((key_id, KEYS[key_id]))))
    assert again == payload, "the token verified reads back as another payload"


TOKEN = Target(
    "band token",
    token_inputs,
    pure(lambda band: decode_token(band.data, band.uid, KEYRING)),
    (TokenFault,),
    check_token,
)


class BandFault(Exception):
    """The fault the reader reports for a band (its `token_fault`)."""


def tag_reads(memory: bytes, pages_read: list[int] | None = None) -> Callable[[int], bytes]:
    """READ over a memory image (16 bytes from a page, rolling over at its end), as a Type 2
    tag answers; a page number must fit the command's one byte."""
    image = memory + bytes(-len(memory) % PAGE)
    image = image if len(image) >= 16 else image + bytes(16 - len(image))
    pages = len(image) // PAGE

    def read16(page: int) -> bytes:
        assert 0 <= page <= 255, f"READ of page {page}: a page number is one byte"
        if pages_read is not None:
            pages_read.append(page)
        return b"".join(
            image[(p % pages) * PAGE : (p % pages + 1) * PAGE] for p in range(page, page + 4)
        )

    return read16


def read_band(band: Band) -> BandToken | None:
    token, fault = read_token(tag_reads(band.data), band.uid, KEYRING)
    if fault is not None:
        raise BandFault(fault)
    return token


@st.composite
def band_memories(draw: st.DrawFn) -> Band:
    """Whole band memories: written by a desk, blank, foreign, damaged in the CC and TLVs."""
    kind = draw(st.sampled_from(["NTAG213", "NTAG215"]))
    base = draw(signed_tokens() | st.builds(Band, st.just(b""), band_uids))
    memory = memory_with_ndef(base.uid, base.data, kind) if base.data else blank_memory(base.uid)
    how = draw(st.sampled_from(["whole", "area", "area", "cc", "random"]))
    if how == "area":  # the CC and the first TLVs: lengths, types, terminators
        memory = memory[:12] + draw(mutated_bytes(memory[12:80])) + memory[80:]
    elif how == "cc":
        cc = bytes([0xE1, draw(st.sampled_from([0x10, 0x11, 0x1F, 0x20]))])
        cc += bytes([draw(st.integers(0, 255)), draw(st.sampled_from([0x00, 0x0F, 0xF0]))])
        memory = memory[:12] + cc + memory[16:]
    elif how == "random":
        memory = memory[:12] + bytes.fromhex("E110") + draw(st.binary(min_size=2, max_size=300))
    uid = draw(st.just(base.uid) | odd_uids)
    return Band(memory, uid, base.signed)


def check_band(band: Band, token: BandToken | None) -> None:
    if token is not None:
        area = read_ndef(tag_reads(band.data))
        check_token(Band(area.message, band.uid, band.signed), token)


BAND_MEMORY = Target(
    "band memory, as the reader reads it",
    band_memories() | st.builds(Band, st.binary(max_size=600), band_uids),
    pure(read_band),
    (BandFault,),
    check_band,
)


@dataclass(frozen=True)
class BandWrite:
    memory: bytes
    message: bytes


def plan_write(write: BandWrite) -> Any:
    return plan_ndef_write(read_ndef(tag_reads(write.memory)), write.message)


def check_write(write: BandWrite, plan: Any) -> None:
    """The plan writes the message into the data area, and only there; a read finds it."""
    cc = parse_cc(write.memory[12:16])
    assert cc is not None and cc.writeable, "a plan for a band that is not writeable"
    last_data_page = DATA_PAGE + cc.area_size // PAGE - 1
    for page, data in plan.writes:
        assert DATA_PAGE <= page <= last_data_page, f"write to page {page}, outside the data area"
        assert page <= 255, f"write to page {page}: a page number is one byte"
        assert len(data) == PAGE
    image = bytearray(write.memory + bytes(-len(write.memory) % PAGE))
    if len(image) < (last_data_page + 1) * PAGE:
        return  # the CC announces more memory than the image holds: nothing to read back
    for page, data in plan.writes:
        image[page * PAGE : (page + 1) * PAGE] = data
    assert read_ndef(tag_reads(bytes(image))).message == write.message, "the message reads back"
    back = tag_reads(bytes(image))
    span = b"".join(back(p) for p in range(plan.first_page, plan.last_page + 1, 4))
    assert check_written(plan, span), "the read-back check refuses a good write"


BAND_WRITE = Target(
    "band write plan, over what the band holds",
    st.builds(
        BandWrite,
        band_memories().map(lambda band: band.data) | st.binary(max_size=600),
        signed_tokens().map(lambda band: band.data) | st.binary(min_size=1, max_size=300),
    ),
    pure(plan_write),
    (GarbledArea, WriteRefused),
    check_write,
)

KEY_FILE_TEXT = f"# site keys\n2 {KEYS[2].hex()}  # current\n\n1 {KEYS[1].hex()}\n"


def read_key_file(workdir: Path, data: bytes) -> Keyring:
    path = workdir / "site.key"
    path.write_bytes(data)
    os.chmod(path, 0o600)
    return load_keyring(path)


def check_keyring(data: bytes, keyring: Keyring) -> None:
    assert 1 <= len(keyring.key_ids) <= 2
    assert all(len(keyring.key(k) or b"") >= 16 for k in keyring.key_ids)


KEY_FILE = Target(
    "site key file",
    st.one_of(
        st.just(KEY_FILE_TEXT.encode()),
        mutated_bytes(KEY_FILE_TEXT.encode()),
        st.lists(
            st.tuples(
                st.sampled_from(["1", "2", "255", "256", "-1", "01", "1" * 5000, "x", ""]),
                st.sampled_from([KEYS[1].hex(), "00" * 15, "0g" * 16, "0" * 33, "", "aa bb"]),
            ),
            max_size=4,
        ).map(lambda lines: "".join(f"{a} {b}\n" for a, b in lines).encode()),
        st.binary(max_size=100),
    ),
    with_files(read_key_file),
    (KeyFileError,),
    check_keyring,
)


# --- scanner: the serial byte stream, `gate simulate` scan lines --------------------------------


@dataclass(frozen=True)
class ScannerStream:
    terminator: bytes
    max_length: int
    strip_aim: bool
    prefix: bytes
    suffix: bytes
    chunks: tuple[bytes, ...]


@st.composite
def scanner_streams(draw: st.DrawFn) -> ScannerStream:
    """What a serial scanner sends, in the pieces reads return: codes framed as configured,
    noise, over-long lines, CR and LF mixed, cut anywhere."""
    terminator = draw(st.sampled_from([b"\r", b"\n", b"\r\n"]))
    printable = st.binary(min_size=0, max_size=4).map(
        lambda b: bytes(0x21 + x % 94 for x in b)  # printable, no space: no terminator in it
    )
    prefix, suffix = draw(printable), draw(printable)
    max_length = draw(st.integers(1, 80))
    code = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1, max_size=90)
    line = st.one_of(
        code.map(lambda c: prefix + c.encode() + suffix),
        code.map(lambda c: prefix + b"]C1" + c.encode() + suffix),
        st.binary(max_size=90),
        st.sampled_from([b"", b"\r", b"\n", b"\x00", b"]C1", b"\xff" * 200]),
    )
    ends = st.sampled_from([terminator, terminator, b"\r\n", b"\r", b"\n", b""])
    stream = b"".join(draw(line) + draw(ends) for _ in range(draw(st.integers(0, 6))))
    cuts = sorted(draw(st.lists(st.integers(0, len(stream)), max_size=8)))
    chunks = tuple(stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True))
    return ScannerStream(terminator, max_length, draw(st.booleans()), prefix, suffix, chunks)


def frame(stream: ScannerStream) -> tuple[list[str | Rejected], Framer]:
    framer = Framer(
        terminator=stream.terminator,
        max_length=stream.max_length,
        strip_aim=stream.strip_aim,
        prefix=stream.prefix,
        suffix=stream.suffix,
    )
    out: list[str | Rejected] = []
    for chunk in stream.chunks:
        out += framer.feed(chunk)
        assert framer.buffered <= framer.limit, f"{framer.buffered} bytes buffered"
    return out, framer


def check_frames(stream: ScannerStream, result: tuple[list[str | Rejected], Framer]) -> list[str]:
    """Codes are printable, within the length; each rejection has its reason; how the bytes
    were cut into reads changes nothing."""
    out, framer = result
    items = []
    for r in out:
        if isinstance(r, str):
            assert 1 <= len(r) <= stream.max_length, f"code of {len(r)} characters"
            assert all(0x20 <= ord(c) <= 0x7E for c in r), f"code {r!r} is not printable ASCII"
            items.append("accepted")
        else:
            assert r.message and len(r.raw) <= framer.limit, r
            items.append(f"refused: {r.reason.value}")
    whole = ScannerStream(**{**stream.__dict__, "chunks": (b"".join(stream.chunks),)})
    assert [r for r in frame(whole)[0] if isinstance(r, str)] == [
        r for r in out if isinstance(r, str)
    ], "the codes depend on how the bytes were cut into reads"
    return items


SCANNER = Target("scanner byte stream", scanner_streams(), pure(frame), (), check_frames)

SCAN_ZONES = st.sampled_from(
    [UTC, ZoneInfo("Asia/Shanghai"), timezone(timedelta(hours=-11)), timezone(timedelta(hours=14))]
)
aware_times = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2100, 1, 1), timezones=SCAN_ZONES
)


@st.composite
def scan_lines(draw: st.DrawFn) -> dict[str, Any]:
    if draw(st.integers(0, 7)) == 0:  # the desk's join of two tickets
        codes = st.sampled_from(["T1", "T2", "X", " T1 "])
        tickets = draw(st.lists(codes, min_size=2, max_size=2))
        return {"t": draw(aware_times).isoformat(), "gate": "D1", "join": tickets}
    mode = draw(st.sampled_from(["bind", "entry", "exit"]))
    kind = draw(st.sampled_from(["barcode", "nfc"]))
    line: dict[str, Any] = {
        "t": draw(aware_times).isoformat(),
        "gate": draw(st.sampled_from(["E1", "X1", "D1"])),
        "mode": mode,
        "kind": kind,
        "value": draw(band_uids) if kind == "nfc" else draw(st.sampled_from(["T1", "T2", "X"])),
    }
    if mode == "exit" and draw(st.booleans()):
        line["intent"] = draw(st.sampled_from(["final", "temporary"]))
    return line


SIM_ALLOWLIST = Allowlist(
    1, {"T1": Ticket("T1", "family", 1, 1, date(2020, 1, 1), date(2100, 1, 1))}, {}, {}, {}
)
SIM_POLICIES = [
    Policy(timezone="UTC", open="00:00", close="00:00", capacity=10, pairing_window_s=60),
    Policy(timezone="Pacific/Kiritimati", open="09:00", close="02:00", capacity=10),
]


def check_scan(line: str, parsed: Any) -> None:
    """A scan line read is one the rules can take: `gate simulate` runs it."""
    read, t = parsed
    assert t.tzinfo is not None, read
    if isinstance(read, Join):
        assert all(code and code == code.strip() for code in (read.first, read.second)), read
    else:
        assert read.value and read.value == read.value.strip(), read
    for policy in SIM_POLICIES:
        simulate(SIM_ALLOWLIST, policy, [line, line], io.StringIO(), io.StringIO())


SCAN_LINE = Target(
    "scan line of gate simulate",
    payloads(scan_lines(), deep=True).map(lambda b: b.decode("utf-8", errors="replace"))
    | texts(200),
    pure(parse_line),
    (ScanLineError,),
    check_scan,
)


# --- MQTT: the protocol's payloads, events and decisions, the gate's and the hub's handling ---

gate_ids = st.from_regex(r"[A-Za-z0-9_-]{1,6}", fullmatch=True)
EVENT_CLASSES = list(EVENT_TYPES.values())
events = st.one_of(
    *(
        st.builds(cls, gate=gate_ids, at=aware_times, **_uid)
        for cls in EVENT_CLASSES
        for _uid in [{"uid": band_uids} if "uid" in cls.__dataclass_fields__ else {}]
    )
)
decisions = st.builds(
    Decision,
    code=st.sampled_from(list(Code)),
    message=st.text(max_size=20),
    value=st.text(max_size=20),
)
hlcs = st.integers(0, 2**64 - 1).map(lambda n: f"{n:016x}")


def entry_json(seq: int, nonce: str, wall_ms: int, hlc: str, body_events: list[Any]) -> Any:
    return {
        "seq": seq,
        "nonce": nonce,
        "wall_ms": wall_ms,
        "hlc": hlc,
        "kind": "scan",
        "body": {"events": [event_to_dict(e) for e in body_events]},
    }


entries = st.builds(
    entry_json,
    st.integers(1, 10_000),
    st.text("0123456789abcdef", min_size=8, max_size=16),
    st.integers(0, 2**45),
    hlcs,
    st.lists(events, max_size=3),
)
ticket_rows = st.builds(
    lambda code, product, adults, children, start, days, phone: {
        "code": code,
        "product": product,
        "adults": adults,
        "children": children,
        "valid_from": start.isoformat(),
        "valid_to": (start + timedelta(days=days)).isoformat(),
        "guardian_phone": phone if adults == 0 else "",
    },
    st.from_regex(r"[A-Z0-9-]{1,20}", fullmatch=True),
    st.text(max_size=10),
    st.integers(0, 6),
    st.integers(1, 6),
    st.dates(date(2020, 1, 1), date(2100, 1, 1)),
    st.integers(0, 3),
    st.sampled_from(["13800138000", "+86 138-0013-8000"]),
)
allowlist_parts = {
    "tickets": st.lists(ticket_rows, max_size=3, unique_by=lambda r: r["code"]),
    "bands": st.dictionaries(band_uids, st.sampled_from(["adult", "child"]), max_size=3),
    "staff": st.dictionaries(
        st.binary(min_size=4, max_size=4).map(lambda b: "08" + b.hex().upper()[2:]),
        st.sampled_from(["Li Na", "Zhao Min"]),
        max_size=2,
    ),
    "revoked": st.dictionaries(
        st.sampled_from(["T1", "04A1B2C3D4E5F6"]), st.just("lost"), max_size=2
    ),
}
VALID_PAYLOADS: dict[type[protocol.Message], st.SearchStrategy[Any]] = {
    protocol.EventBatch: st.fixed_dictionaries(
        {"v": st.just(1), "gate": gate_ids, "entries": st.lists(entries, min_size=1, max_size=3)}
    ),
    protocol.GateStatus: st.fixed_dictionaries(
        {"v": st.just(1), "gate": gate_ids, "online": st.booleans()},
        optional={
            "role": st.sampled_from(["entry", "exit"]),
            "allowlist_version": st.integers(0, 99),
            "last_seq": st.integers(0, 99),
            "acked": st.integers(0, 99),
            "wall_ms": st.integers(0, 2**45),
            "hlc": hlcs,
            "reader": st.sampled_from(["searching", "absent"]),
        },
    ),
    protocol.Ack: st.fixed_dictionaries(
        {"v": st.just(1), "gate": gate_ids, "seq": st.integers(0, 100)}
    ),
    protocol.Roster: st.fixed_dictionaries(
        {
            "v": st.just(1),
            "gates": st.dictionaries(
                gate_ids, st.sampled_from(["entry", "exit", "desk", "handheld"]), max_size=4
            ),
        }
    ),
    protocol.Replay: st.fixed_dictionaries(
        {"v": st.just(1), "gate": gate_ids, "after": st.integers(0, 100)}
    ),
    protocol.AllowlistSnapshot: st.fixed_dictionaries(
        {"v": st.just(1), "version": st.integers(1, 99), **allowlist_parts}
    ),
    protocol.AllowlistChange: st.fixed_dictionaries(
        {
            "v": st.just(1),
            "base_version": st.integers(0, 9),
            "version": st.integers(10, 99),
            **allowlist_parts,
            "unrevoked": st.lists(st.sampled_from(["T9", "04A1B2C3D4E5F7"]), max_size=2),
        }
    ),
    protocol.Headcount: st.fixed_dictionaries(
        {
            "v": st.just(1),
            "inside": st.integers(0, 999),
            "adults": st.integers(0, 999),
            "children": st.integers(0, 999),
            "unaccompanied_children": st.integers(0, 99),
            "groups_inside": st.integers(0, 99),
            "capacity": st.none() | st.integers(1, 9999),
            "as_of": aware_times.map(datetime.isoformat),
            "gates": st.dictionaries(
                gate_ids,
                st.fixed_dictionaries(
                    {
                        "online": st.booleans(),
                        "last_seen": st.none() | aware_times.map(datetime.isoformat),
                        "backlog": st.integers(0, 999),
                        "allowlist_version": st.none() | st.integers(0, 99),
                    }
                ),
                max_size=2,
            ),
        }
    ),
    protocol.HubStatus: st.fixed_dictionaries(
        {"v": st.just(1), "online": st.booleans(), "allowlist_version": st.integers(0, 99)}
    ),
    protocol.DeskRequest: st.fixed_dictionaries(  # the hub's console asks a desk
        {
            "v": st.just(1),
            "gate": gate_ids,
            "request": st.from_regex(r"[A-Za-z0-9._:-]{1,64}", fullmatch=True),
            "action": st.sampled_from(["join", "replace", "walkin", "not_authorised"]),
            "args": st.dictionaries(
                st.sampled_from(["ticket", "other", "uid", "names"]),
                st.text(max_size=20) | st.lists(st.text(max_size=20), max_size=3),
                max_size=4,
            ),
            "sent_ms": st.integers(0, 2**53),
        }
    ),
}


def check_round_trip(model: type[protocol.Message]) -> Callable[[bytes, Any], None]:
    def check(payload: bytes, message: Any) -> None:
        assert protocol.parse(model, protocol.dump(message)) == message, "dump then parse differs"

    return check


PAYLOADS = [
    Target(
        f"mqtt payload {model.__name__}",
        payloads(valid),
        pure(lambda payload, model=model: protocol.parse(model, payload)),
        (protocol.ProtocolError,),
        check_round_trip(model),
    )
    for model, valid in VALID_PAYLOADS.items()
]

EXTREME_PAYLOADS = Target(
    "mqtt payload nested past the recursion limit, or with a 5000-digit number",
    st.one_of(
        payloads(VALID_PAYLOADS[protocol.EventBatch], deep=True),
        st.sampled_from(
            [b"[" * 100_000 + b"]" * 100_000, b'{"v": 1, "seq": ' + b"1" * 5000 + b"}"]
        ),
    ),
    pure(lambda payload: protocol.parse(protocol.EventBatch, payload)),
    (protocol.ProtocolError,),
)


def check_event(data: Any, event: Any) -> None:
    """An event read writes back as itself, and its time can be shown in any timezone."""
    assert event_from_dict(event_to_dict(event)) == event, "to_dict then from_dict differs"
    for hours in (-14, 14):
        event.at.astimezone(timezone(timedelta(hours=hours)))


@dataclass(frozen=True)
class Parsed:
    """A JSON value as a reader hands it on; shown abridged (it may be nested thousands deep)."""

    value: Any

    def __repr__(self) -> str:
        return f"Parsed({reprlib.repr(self.value)})"


EVENT_RECORD = Target(
    "event record (journal body, other gates' batches)",
    st.one_of(
        json_values(),
        events.map(event_to_dict),
        events.map(event_to_dict).flatmap(lambda d: mutated_json(d, deep=True)),
        events.map(event_to_dict).flatmap(mutated_json),
    ).map(Parsed),
    pure(lambda data: event_from_dict(data.value)),
    (CodecError,),
    check_event,
)


def check_decision(data: Any, decision: Decision) -> None:
    assert decision_from_dict(decision_to_dict(decision)) == decision


DECISION_RECORD = Target(
    "decision record",
    st.one_of(
        json_values(),
        decisions.map(decision_to_dict).flatmap(mutated_json),
    ),
    pure(decision_from_dict),
    (CodecError,),
    check_decision,
)

# --- the gate's link handling and the hub's ingest, as whole consumers ------------------------

GATE_ID = "E1"
SITE_KEY_LINE = f"2 {KEYS[2].hex()}\n"


@dataclass(frozen=True)
class LinkInput:
    topic: str
    payload: bytes


def _topics_of(gate: str) -> dict[str, type[protocol.Message] | None]:
    t = protocol.Topics()
    return {
        t.ack(gate): protocol.Ack,
        t.replay(gate): protocol.Replay,
        t.allowlist: protocol.AllowlistSnapshot,
        t.allowlist_delta: protocol.AllowlistChange,
        t.roster: protocol.Roster,
        t.events("X1"): protocol.EventBatch,
        t.events(gate): protocol.EventBatch,
        t.status("X1"): protocol.GateStatus,
        t.headcount: None,
    }


def link_inputs(gate: str, topics: dict[str, type[protocol.Message] | None]) -> Any:
    def for_topic(topic: str) -> st.SearchStrategy[LinkInput]:
        model = topics[topic]
        valid = VALID_PAYLOADS[model] if model is not None else json_values()
        if model in (protocol.EventBatch, protocol.GateStatus):  # the topic's own gate, mostly
            owner = protocol.Topics().gate_of(topic) or gate
            valid = valid.map(lambda d: {**d, "gate": owner})
        return payloads(valid).map(lambda payload: LinkInput(topic, payload))

    return st.sampled_from(sorted(topics)).flatmap(for_topic)


def write_gate(workdir: Path) -> Path:
    """An entry gate of a small venue, with a link to a broker it will never reach."""
    (workdir / "site.key").write_text(SITE_KEY_LINE)
    os.chmod(workdir / "site.key", 0o600)
    (workdir / "policy.toml").write_text(
        'timezone = "UTC"\nopen = "00:00"\nclose = "00:00"\ncapacity = 100\n'
    )
    (workdir / "profile.toml").write_text(
        '[reader]\ndevice = "udp:127.0.0.1:50000"\n[pins]\nrelay = 17\n'
    )
    (workdir / "gate.toml").write_text(
        f'[gate]\nid = "{GATE_ID}"\nrole = "entry"\nprofile = "profile.toml"\n'
        f'state_dir = "{workdir / "state"}"\nsite_key = "{workdir / "site.key"}"\n'
        f'policy = "{workdir / "policy.toml"}"\ncontrol_socket = "{workdir / "gate.sock"}"\n'
        '[link]\nhost = "127.0.0.1"\nport = 9\n'
    )
    return workdir / "gate.toml"


@contextlib.contextmanager
def gate_link(workdir: Path) -> Iterator[Parse]:
    """The gate's loop, handed each message as the link's paho thread would enqueue it."""
    from gpiozero.pins.mock import MockFactory

    from gate.daemon.gate import Gate
    from gate.link.client import LinkMessage

    gate = Gate(load_gate_config(write_gate(workdir)), pin_factory=MockFactory())
    gate.control.start()  # stopped by close(), which waits for it

    def handle(message: LinkInput) -> None:
        rejected = gate.follower.rejected
        before, refused = Counter(rejected), Counter(gate.peers.refused)
        gate._handle(LinkMessage(message.topic, message.payload))
        dropped = (Counter(rejected) - before) + (Counter(gate.peers.refused) - refused)
        if dropped:
            raise Dropped(next(iter(dropped)))

    try:
        yield handle
    finally:
        gate.close()


GATE_LINK = Target(
    "mqtt message, as a gate's loop handles it",
    link_inputs(GATE_ID, _topics_of(GATE_ID)),
    gate_link,
    (Dropped,),
)


@contextlib.contextmanager
def hub_ingest(workdir: Path) -> Iterator[Parse]:
    """The hub's ingest over its real event store; it counts bugs it caught as "error"."""
    from gate.link.vetting import Knowledge, check_peer_entry
    from hub.ingest.intake import Ingest
    from hub.store.events import EventStore

    def vet(gate: str, entry: batches.WireEntry) -> None:  # as `hub run` does, with a roster
        roster: dict[str, Any] = {"E1": "entry", "X1": "exit"}
        check_peer_entry(gate, roster, entry.kind, entry.body, Knowledge(), len(entry.body_json))

    store = EventStore(workdir / "events.db")
    ingest = Ingest(store, protocol.Topics(), lambda *args, **kwargs: None, vet=vet)
    caught = _Caught()
    logging.getLogger("hub.ingest.intake").addHandler(caught)

    def handle(message: LinkInput) -> None:
        before = Counter(ingest.rejected)
        ingest.on_message(message.topic, message.payload)
        dropped = Counter(ingest.rejected) - before
        assert not dropped["error"], f"the ingest caught an exception of its own:\n{caught.last}"
        if dropped:
            raise Dropped(next(iter(dropped)))

    try:
        yield handle
    finally:
        logging.getLogger("hub.ingest.intake").removeHandler(caught)
        store.close()


class _Caught(logging.Handler):
    """The traceback of the last exception a consumer logged (and caught)."""

    last = ""

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and record.exc_info[1] is not None:
            self.last = _trace(record.exc_info[1])


HUB_TOPICS: dict[str, type[protocol.Message] | None] = {
    protocol.Topics().events("E1"): protocol.EventBatch,
    protocol.Topics().events("X1"): protocol.EventBatch,
    protocol.Topics().status("E1"): protocol.GateStatus,
    "wristgate/v1/gate/E1/other": None,
}
HUB_INGEST = Target(
    "mqtt message, as the hub's ingest handles it",
    link_inputs("E1", HUB_TOPICS),
    hub_ingest,
    (Dropped,),
)


# --- CSV: the allowlist directory, the hub's ticket import --------------------------------------

VALID_CSV: dict[str, list[list[str]]] = {
    "tickets.csv": [
        list(COLUMNS["tickets.csv"]),
        ["FAM-1", "family day", "2", "2", "2026-07-01", "2026-07-01", ""],
        ["SOLO-1", "child alone", "0", "1", "2026-07-01", "2026-07-02", "+86 138-0013-8000"],
        ["家庭-3", "family, weekend", "1", "3", "2026-07-01", "2026-07-03", "13800138000"],
    ],
    "wristbands.csv": [
        ["uid", "role"],
        ["04A1B2C3D4E5F6", "adult"],
        ["04:a1:b2:c3:d4:e5:f7", "child"],
    ],
    "staff.csv": [["uid", "name"], ["08AABBCC", "Li Na"]],
    "revoked.csv": [["value", "reason"], ["FAM-1", "refund"], ["04A1B2C3D4E5F7", "lost"]],
}


@st.composite
def csv_directories(draw: st.DrawFn) -> dict[str, bytes | None]:
    """The four files, one or two of them damaged, sometimes one missing."""
    from fuzz_inputs import csv_text

    files: dict[str, bytes | None] = {n: csv_text(r).encode() for n, r in VALID_CSV.items()}
    for name in draw(st.lists(st.sampled_from(sorted(VALID_CSV)), min_size=1, max_size=2)):
        files[name] = draw(
            st.one_of(
                mutated_csv(VALID_CSV[name]),
                mutated_csv(VALID_CSV[name]),
                mutated_csv(VALID_CSV[name]),
                st.binary(max_size=200),
                st.just(None),
                st.just(b""),
            )
        )
    return files


def load_directory(workdir: Path, files: dict[str, bytes | None]) -> Any:
    directory = workdir / "allowlist"
    directory.mkdir(exist_ok=True)
    for name, data in files.items():
        path = directory / name
        path.unlink(missing_ok=True)
        if data is not None:
            path.write_bytes(data)
    return load_csv_dir(directory)


def check_directory(files: dict[str, bytes | None], loaded: Any) -> list[str]:
    """Each skipped row names a line of its file and the reason; what loads, the snapshot
    store takes as it is."""
    allowlist, row_errors = loaded
    for e in row_errors:
        lines = (files.get(e.file) or b"").count(b"\n") + (files.get(e.file) or b"").count(b"\r")
        assert e.message and 2 <= e.line <= lines + 1, f"row error {e}"
    try:
        checked_for_the_store(allowlist, 1)
    except AllowlistError as exc:
        raise AssertionError(f"the CSV loader took what the store refuses: {exc}") from exc
    return [f"row skipped: {reason_class(e.message)}" for e in row_errors]


CSV_DIRECTORY = Target(
    "allowlist CSV directory",
    csv_directories(),
    with_files(load_directory),
    (AllowlistError,),
    check_directory,
)


@contextlib.contextmanager
def hub_import(workdir: Path) -> Iterator[Parse]:
    from hub.ingest.allowlist import HubAllowlist

    hub = HubAllowlist(workdir / "hub")

    def import_file(data: bytes) -> Any:
        path = workdir / "day-2026-07-18.csv"
        path.write_bytes(data)
        return hub.import_tickets(path)

    try:
        yield import_file
    finally:
        hub.close()


def check_import(data: bytes, result: Any) -> list[str]:
    for e in result.row_errors:
        assert e.file == "day-2026-07-18.csv" and e.message, e
    return [f"row skipped: {reason_class(e.message)}" for e in result.row_errors]


HUB_TICKETS = Target(
    "hub tickets import",
    st.one_of(mutated_csv(VALID_CSV["tickets.csv"]), st.binary(max_size=200)),
    hub_import,
    (AllowlistError,),
    check_import,
)


# --- config: gate.toml and its hardware profile, policy.toml, hub.toml ---------------------------

GATE_TOML: dict[str, Any] = {
    "gate": {
        "id": "X1",
        "role": "exit",
        "profile": "profile.toml",
        "state_dir": "/var/lib/wristgate",
        "passage_timeout_s": 8,
        "metrics_port": 9101,
    },
    "link": {"host": "127.0.0.1", "port": 1883, "window": 2000},
}
PROFILE_TOML: dict[str, Any] = {
    "description": "Turnstile",
    "reader": {"device": "tty:AMA0:pn532", "debounce_s": 1.5},
    "scanner": {"port": "/dev/wristgate-scanner", "terminator": "CR", "max_length": 64},
    "pins": {"relay": 17, "relay_mode": "pulse", "pulse_s": 0.5, "green": 22, "passage": 5},
}
POLICY_TOML: dict[str, Any] = {
    "timezone": "Asia/Shanghai",
    "open": "09:30",
    "close": "18:00",
    "capacity": 1500,
    "pairing_window_s": 60,
}
HUB_TOML: dict[str, Any] = {
    "hub": {"name": "venue", "state_dir": "/var/lib/wristgate-hub", "allowlist_csv": "/x"},
    "mqtt": {"host": "127.0.0.1", "port": 1883, "prefix": "wristgate/v1"},
    "http": {"bind": "0.0.0.0", "port": 8080},
}


def load_gate_files(workdir: Path, files: tuple[bytes, bytes]) -> Any:
    (workdir / "gate.toml").write_bytes(files[0])
    (workdir / "profile.toml").write_bytes(files[1])
    return load_gate_config(workdir / "gate.toml")


def load_toml_file(load: Callable[[Path], Any]) -> Callable[[Path, bytes], Any]:
    def read(workdir: Path, data: bytes) -> Any:
        (workdir / "config.toml").write_bytes(data)
        return load(workdir / "config.toml")

    return read


GATE_CONFIG = Target(
    "gate.toml and its hardware profile",
    st.one_of(
        st.tuples(toml_files(GATE_TOML), st.just(toml_text(PROFILE_TOML).encode())),
        st.tuples(st.just(toml_text(GATE_TOML).encode()), toml_files(PROFILE_TOML)),
    ),
    with_files(load_gate_files),
    (ConfigError,),
)


def check_gate_files(workdir: Path, files: tuple[bytes, bytes]) -> Any:
    from gate.control.machine import Account
    from gate.daemon.check import check_gate

    (workdir / "gate.toml").write_bytes(files[0])
    (workdir / "profile.toml").write_bytes(files[1])
    return check_gate(workdir / "gate.toml", Account.current(), root=workdir)


def check_findings(value: Any, findings: Any) -> None:
    """Every problem a check lists is one line naming the file it is about."""
    for line in findings.problems + findings.notes:
        assert isinstance(line, str) and line and "\n" not in line, line
        assert "toml" in line.split(": ")[0], line


GATE_CHECK = Target(
    "gate check: gate.toml, its profile and the files they name",
    GATE_CONFIG.inputs,
    with_files(check_gate_files),
    (),
    check_findings,
)
POLICY_CONFIG = Target(
    "policy.toml", toml_files(POLICY_TOML), with_files(load_toml_file(load_policy)), (ConfigError,)
)


def load_hub(path: Path) -> Any:
    from hub.service.config import load_hub_config

    return load_hub_config(path)


HUB_CONFIG = Target(
    "hub.toml", toml_files(HUB_TOML), with_files(load_toml_file(load_hub)), (ConfigError,)
)


def check_hub_file(workdir: Path, data: bytes) -> Any:
    from gate.control.machine import Account
    from hub.service.check import check_hub

    (workdir / "hub.toml").write_bytes(data)
    return check_hub(workdir / "hub.toml", Account.current(), root=workdir)


HUB_CHECK = Target(
    "hub check: hub.toml and the files it names",
    toml_files(HUB_TOML),
    with_files(check_hub_file),
    (),
    check_findings,
)


# --- the control socket ---------------------------------------------------------------------

REQUESTS = st.fixed_dictionaries(
    {"cmd": st.sampled_from(["status", "scan", "journal", "mode"])},
    optional={"value": st.text(max_size=10), "after": st.integers(0, 9), "mode": st.just("bind")},
)


def check_request(line: bytes, request: tuple[str, dict[str, Any]]) -> None:
    command, args = request
    assert isinstance(command, str) and isinstance(args, dict) and "cmd" not in args


CONTROL_REQUEST = Target(
    "control socket request",
    payloads(REQUESTS, deep=True).map(lambda b: b + b"\n") | st.binary(max_size=100),
    pure(parse_request),
    (BadRequest,),
    check_request,
)


TARGETS: list[Target] = [
    TOKEN,
    BAND_MEMORY,
    BAND_WRITE,
    KEY_FILE,
    SCANNER,
    SCAN_LINE,
    *PAYLOADS,
    EXTREME_PAYLOADS,
    EVENT_RECORD,
    DECISION_RECORD,
    GATE_LINK,
    HUB_INGEST,
    CSV_DIRECTORY,
    HUB_TICKETS,
    GATE_CONFIG,
    POLICY_CONFIG,
    HUB_CONFIG,
    CONTROL_REQUEST,
]
