"""Wristbands on the far side of nfcpy's ``udp:`` driver: an NTAG213/215 emulator for tests and
the demo. Any nfcpy reader opened on ``udp:HOST:PORT`` finds the band presented here.

    from gate.devices.nfc.emulator import TagEmulator

    with TagEmulator("127.0.0.1", 0) as tags:          # port 0: the system picks a free port
        reader = NfcReader(tags.path, keyring, on_read)  # tags.path == "udp:127.0.0.1:<port>"
        reader.start()
        tags.present("04A1B2C3D4E5F6")                   # a blank NTAG213 on the reader
        ...
        tags.remove()                                    # taken away
        print(tags.memory.hex())                         # what the reader wrote to it

**How nfcpy's udp driver pairs a reader with a tag** (``nfc/clf/udp.py``): both sides open the
same ``udp:HOST:PORT``. The tag side (``listen``) binds UDP port PORT; the reader side (``sense``)
sends from an ephemeral socket to HOST:PORT and reads the answers there. Frames are datagrams of
text, ``106A <hex>``. Whenever the reader senses again it first "mutes": it sends ``RFOFF`` (if
it heard anything since the last time) and opens a new socket, so its address changes. So run
one emulator per reader, each on its own port.

The band runs nfcpy's own listen path: ``ContactlessFrontend.listen`` with a
``LocalTarget('106A')`` carrying the band's SENS_RES/SDD_RES/SEL_RES, then ``exchange`` for each
command, over a subclass of nfcpy's udp device with these changes for the listening side:

- the socket stays bound between listens. nfcpy closes and binds it again, which drops the
  SENS_REQ a reader sends right after its RFOFF; NTAG detection re-selects the tag after a
  command it does not answer, so that re-selection would always be lost;
- answers go to whoever sent the last frame (nfcpy keeps the address of the activation, but the
  reader's address changes with each sense);
- once the band being served has left, frames are dropped and end the wait at once, so a band
  taken away stops answering even in the middle of an anticollision;
- it binds HOST:PORT, not all interfaces; port 0 picks a free port (`TagEmulator.port`) that
  nfcpy's reader side can open (`gate.devices.nfc.udp_ports`: never one ``/etc/services`` names).

The band answers READ (``30``: 16 bytes from 4 pages, rolling over past the last page),
WRITE (``A2``: one page; lock bits, the OTP capability container and lock bytes are honoured),
GET_VERSION (``60``), on NTAG21x FAST_READ (``3A``: the pages from one address to another in
one answer) and READ_SIG (``3C 00``: an originality signature of its UID
made with the emulator's own test key pair, `ORIGINALITY_KEY`, not NXP's: tests and the demo set
that public key in the reader's configuration), NAKs (``00``) an address out of range or a
locked page, and stays silent on everything else (PWD_AUTH, AUTHENTICATE, ...).
As a real tag, it serves commands only once selected (REQA, anticollision, SEL_REQ for its UID),
and falls back to IDLE after a command it does not answer, a NAK, or the reader's RFOFF: the
reader must select it again. So a band swapped for another under a reader is not taken for the
first. HALT is not modelled (HLTA is just another silent command).

Faults to rehearse: `TagEmulator.pull_after_writes` pulls the band away after some page writes;
`TagEmulator.miss_signatures` and `miss_writes` leave READ_SIGs or WRITEs unanswered;
`TagEmulator.answer_late` delays every answer (a busy machine; see `gate.devices.nfc.band.UDP`);
foreign tags come from `present(..., kind=...)` ("ULTRALIGHT", "ULTRALIGHT_EV1", "UNKNOWN_TYPE2",
"ISO_DEP") or from `present(..., memory=...)` (no capability container, garbage); a clone's
signature from `present(..., signature=...)` (bytes it answers READ_SIG with, or None: silent);
`TagEmulator.history` records the commands the band received.

An empty field: with no band, a reader's SENS_REQ goes unanswered, and nfcpy's udp driver waits
1 s for an answer before its sense gives up: each sense cycle of a reader with nothing on it then
lasts a second, where a PN532 (nfcpy's pn532 driver: one passive activation try) gives up within
milliseconds. `TagEmulator.empty_answer = True` (before `start`) ends that wait at once (it
answers an unanswered SENS_REQ with the end of the field, ``RFOFF``, which nfcpy's sense takes
for "nothing there"), so that a reader polls here at the pace of one on a PN532; the latency
benchmarks use it.
`TagEmulator.first_answer` is when (`time.perf_counter()`) the band presented last first heard a
reader (the SENS_REQ it answers): when the reader's sensing reached it.
"""

from __future__ import annotations

import logging
import select
import socket
import threading
import time
from collections import deque
from typing import Any, NamedTuple

import nfc
import nfc.clf
import nfc.clf.udp

from gate.devices.nfc import originality
from gate.devices.nfc.emulated_tag import (
    EmulatedTag,
    TagProfile,
    blank_memory,
    profile,
    put_uid,
)
from gate.devices.nfc.udp_ports import bind_openable

log = logging.getLogger(__name__)

_SESSION_TIMEOUT_S = 0.25  # reader quiet this long: back to listening (it may re-select)
_LISTEN_S = 0.1  # nfcpy's udp listen waits at least 0.5 s for a first frame anyway
_HISTORY = 2000
_WAKE = b"\xff\xfe\xfd\xfc"  # a frame no reader sends: wakes the band's thread

# The emulator's originality key pair (secp128r1), a test pair of this project's own, not NXP's.
ORIGINALITY_PRIVATE_KEY = 0x1A9494A26ED225C7A8B77456049D93EA
ORIGINALITY_KEY = "040D406EED3833FFA3A7F230873F7B1F19D18D0A1A734FCC424704B7BD5C4DFE3D"
GENUINE = "genuine"  # `present(signature=GENUINE)`: signed with the emulator's private key


class Command(NamedTuple):
    """One frame the band received after activation, as `TagEmulator.history` records it."""

    name: str  # READ, WRITE, GET_VERSION, SENS_REQ, or the command byte in hex
    page: int | None
    answered: bool


def signature_of(uid: str) -> bytes:
    """The originality signature an emulated NTAG answers: `uid` signed with the test key."""
    return originality.sign(ORIGINALITY_PRIVATE_KEY, bytes.fromhex(uid))


class _TagSideUdp(nfc.clf.udp.Device):  # type: ignore[misc]
    """nfcpy's udp device, changed for the listening side (see the module docstring)."""

    socket: Any
    addr: tuple[str, int]

    def __init__(self, host: str, port: int) -> None:
        super().__init__(host, port)
        if port:
            self.socket.bind((self.addr[0], port))
        else:  # a port nfcpy's reader side can open (`gate.devices.nfc.udp_ports`)
            self.socket = bind_openable(self.socket, self.addr[0])
        self.addr = (self.addr[0], self.socket.getsockname()[1])
        self._path = f"{self.addr[0]}:{self.addr[1]}"
        self._vendor_name, self._device_name, self._chipset_name = "wristgate", "tag", "UDP"
        self._peer: Any = None
        self.accept: Any = None  # asked about each frame: False drops it and ends the wait

    def mute(self) -> None:
        pass  # a tag has no field to switch off; keep the socket bound

    def close(self) -> None:
        if self.socket is not None:
            self.socket.close()
            self.socket = None

    def _bind_socket(self, time_to_return: float) -> bool:
        return self.socket is not None and self.socket.getsockname()[1] == self.addr[1]

    def _recv_data(self, timeout: float | None, *brty_list: str) -> Any:
        brty, data, addr = super()._recv_data(timeout, *brty_list)
        if self.accept is not None and not self.accept(bytes(data)):
            raise nfc.clf.TimeoutError("frame dropped")  # ends listen() or exchange() at once
        self._peer = addr
        return brty, data, addr

    def send_rsp_recv_cmd(self, target: Any, data: Any, timeout: float | None) -> Any:
        if self._peer is not None:
            target._addr = self._peer  # answer whoever spoke last
        return super().send_rsp_recv_cmd(target, data, timeout)

    def drain(self, timeout: float, answer: bool = False) -> None:
        """Wait up to `timeout` for a frame and drop it: nothing in the field answers. With
        `answer`, a SENS_REQ gets RFOFF back, so the reader's sense ends now, not in 1 s."""
        if self.socket is not None and select.select([self.socket], [], [], timeout)[0]:
            data, addr = self.socket.recvfrom(1024)
            if answer and data in (b"106A 26", b"106A 52"):
                self.socket.sendto(b"RFOFF", addr)


def _band(
    uid: str, memory: bytes | None, kind: TagProfile, signature: bytes | str | None
) -> EmulatedTag:
    """The band `TagEmulator.present` puts on the reader (its arguments say what it holds)."""
    uid_b = bytes.fromhex(uid)
    if len(uid_b) not in (4, 7, 10):
        raise ValueError(f"uid must be 4, 7 or 10 bytes, got {uid!r}")
    size = kind.pages * 4
    if memory is None:
        memory = blank_memory(uid, kind) if len(uid_b) == 7 else bytes(size)
    if len(memory) > size:
        raise ValueError(f"{kind.name} holds {size} bytes, memory has {len(memory)}")
    mem = bytearray(memory) + bytes(size - len(memory))
    put_uid(mem, uid_b)
    if signature == GENUINE:
        signature = signature_of(uid) if kind.signs else None
    return EmulatedTag(uid_b, kind, mem, signature if isinstance(signature, bytes) else None)


class TagEmulator:
    """One reader's field, where tests and the demo put bands and take them away.

    `kind` is the default tag kind: "NTAG213", "NTAG215", "NTAG216", or a foreign one
    ("ULTRALIGHT", "ULTRALIGHT_EV1", "UNKNOWN_TYPE2": answers GET_VERSION with a product nfcpy
    does not know, "ISO_DEP": a bank card or phone), or a `TagProfile`.

    `start()` binds the port (raising `OSError` if it is taken) and starts the band's thread;
    `stop()` ends it. Also a context manager. All methods are thread-safe.
    """

    empty_answer = False  # True: a sense with no band ends at once (module docstring)

    def __init__(self, host: str = "127.0.0.1", port: int = 0, kind: str | TagProfile = "NTAG213"):
        self.host, self._port, self.kind = host, port, profile(kind)
        self._first_answer: float | None = None
        self._lock = threading.Lock()
        self._band: EmulatedTag | None = None
        self._last_memory = b""
        self._signature_misses = 0  # miss_signatures with no band on the reader: the next one
        self._late_s = 0.0  # answer_late
        self._history: deque[Command] = deque(maxlen=_HISTORY)
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._device: _TagSideUdp | None = None
        self._clf: Any = None
        self._serving: EmulatedTag | None = None  # the band the thread listens for

    # --- life cycle ------------------------------------------------------------------------------

    def start(self) -> TagEmulator:
        if self._thread is not None:
            return self
        self._device = _TagSideUdp(self.host, self._port)
        self._port = self._device.addr[1]
        self._device.accept = self._accept
        self._clf = nfc.ContactlessFrontend()
        self._clf.device = self._device  # what ContactlessFrontend.open does with a found device
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name=f"tag-emulator:{self._port}")
        self._thread.daemon = True
        self._thread.start()
        log.debug("tag emulator listening on %s", self.path)
        return self

    def stop(self) -> None:
        if self._thread is None:
            return
        self._stopping.set()
        deadline = time.monotonic() + 3.0
        while self._thread.is_alive() and time.monotonic() < deadline:
            self._wake()
            self._thread.join(timeout=0.05)
        self._thread = None
        self._clf.close()

    def __enter__(self) -> TagEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return self._port

    @property
    def path(self) -> str:
        """The nfcpy device path a reader opens to reach this emulator."""
        return f"udp:{self.host}:{self._port}"

    # --- the field -------------------------------------------------------------------------------

    def present(
        self,
        uid: str,
        memory: bytes | None = None,
        *,
        kind: str | TagProfile | None = None,
        signature: bytes | str | None = GENUINE,
    ) -> None:
        """Put a band on the reader, replacing any band there.

        `uid` is hex (7 bytes for a Type 2 tag; NXP UIDs begin with 04, and nfcpy takes a tag
        whose UID does not for a generic Type 2 tag). `memory` is the tag memory from page 0
        (zero-padded to the tag's size; bytes 0-9 are set from the UID as the factory does);
        by default a blank NDEF-formatted band of `kind` (default: the emulator's kind).
        `signature`: what an NTAG21x answers READ_SIG with: `GENUINE` (its UID signed with the
        emulator's test key), other bytes (a clone's copy, a wrong one), or None (silent).
        """
        band = _band(uid, memory, profile(kind) if kind is not None else self.kind, signature)
        with self._lock:
            band.signature_misses, self._signature_misses = self._signature_misses, 0
            self._band, self._last_memory = band, bytes(band.memory)
            self._first_answer = None
        log.debug("band %s (%s) presented", uid.upper(), band.kind.name)
        self._wake()

    def remove(self) -> None:
        """Take the band off the reader: from now on nothing answers."""
        with self._lock:
            self._take_away()
        self._wake()

    def pull_after_writes(self, n: int) -> None:
        """Simulate a band pulled away mid-write: the band carries out and acknowledges the next
        `n` page writes, then leaves the field at once (with n = 0: as the next write comes,
        without carrying it out). `memory` then shows what it kept."""
        if n < 0:
            raise ValueError("n must be 0 or more")
        with self._lock:
            if self._band is not None:
                self._band.writes_left = n

    def miss_signatures(self, n: int) -> None:
        """The band on the reader (none there: the next one presented) leaves its next `n`
        READ_SIGs unanswered, as a band moved on the reader, or answering too late, would."""
        with self._lock:
            if self._band is not None:
                self._band.signature_misses = n
            else:
                self._signature_misses = n

    def miss_writes(self, n: int) -> None:
        """The band on the reader leaves its next `n` WRITEs unanswered and not carried out,
        staying in the field, as a band moved on the reader (or answering too late) would."""
        with self._lock:
            if self._band is not None:
                self._band.write_misses = n

    def answer_late(self, seconds: float) -> None:
        """Every band here answers each command `seconds` late (0: at once), as an emulated band
        on a busy machine can: the reader must wait for it, not take it for gone."""
        with self._lock:
            self._late_s = seconds

    @property
    def uid(self) -> str | None:
        """The UID of the band on the reader, if any."""
        with self._lock:
            return self._band.uid.hex().upper() if self._band else None

    @property
    def memory(self) -> bytes:
        """The memory of the band on the reader, or of the last one taken away."""
        with self._lock:
            return bytes(self._band.memory) if self._band else self._last_memory

    @property
    def first_answer(self) -> float | None:
        """`perf_counter()` when the band presented last first heard a reader, or None."""
        with self._lock:
            return self._first_answer

    @property
    def history(self) -> list[Command]:
        """Frames received after activation (most recent last, bounded)."""
        with self._lock:
            return list(self._history)

    def clear_history(self) -> None:
        with self._lock:
            self._history.clear()

    # --- the band's thread -----------------------------------------------------------------------

    def _take_away(self) -> None:
        if self._band is not None:
            self._last_memory = bytes(self._band.memory)
            self._band = None

    def _wake(self) -> None:
        """Nudge the thread out of a wait on the socket: `_accept` drops this frame."""
        if self._device is None:
            return
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.sendto(b"106A " + _WAKE.hex().encode(), self._device.addr)

    def _run(self) -> None:
        assert self._device is not None
        while not self._stopping.is_set():
            try:
                with self._lock:
                    band = self._band
                    self._serving = band
                if band is None:
                    self._device.drain(0.1, self.empty_answer)
                    continue
                activated = self._clf.listen(band.target(), _LISTEN_S)
                if activated is not None and activated.tt2_cmd is not None:
                    self._session(band, bytes(activated.tt2_cmd))
            except Exception:  # keep the band alive whatever a frame did
                log.exception("tag emulator: unexpected error")
                self._stopping.wait(0.05)

    def _session(self, band: EmulatedTag, first: bytes) -> None:
        """Serve commands until the reader drops the field or goes quiet, or the band leaves."""
        rsp, more = self._answer(band, first)
        while more and not self._stopping.is_set():
            try:
                cmd = self._clf.exchange(rsp, _SESSION_TIMEOUT_S)
            except nfc.clf.BrokenLinkError:  # RFOFF: the reader switched its field off
                with self._lock:
                    band.selected = False  # no power: back to IDLE
                return
            except nfc.clf.TimeoutError:  # quiet: listen again, which serves any next frame
                return
            except nfc.clf.CommunicationError:  # a malformed datagram (such as our wake-up)
                rsp = None
                continue
            if cmd is None:
                return
            rsp, more = self._answer(band, bytes(cmd))
        if rsp is not None:
            self._clf.exchange(rsp, 0)  # a last answer (SENS_RES) before listening again

    def _answer(self, band: EmulatedTag, cmd: bytes) -> tuple[bytes | None, bool]:
        """The band's answer to `cmd` (None: silence), and whether the session goes on."""
        with self._lock:
            if band is not self._band or not cmd:
                return None, False  # taken away
            rsp, more, name, page = band.answer(cmd)
            if band.pulled:
                self._take_away()
            self._history.append(Command(name, page, rsp is not None))
            late = self._late_s
        if rsp is not None and late:
            self._stopping.wait(late)
        return rsp, more

    def _accept(self, data: bytes) -> bool:
        """Each frame the device receives. Dropped (ending the wait for it): a wake-up, and any
        frame once the band being served has left. A band is selected by the last SEL_REQ of
        its UID."""
        if data == _WAKE:
            return False
        with self._lock:
            band = self._band
            if band is None or band is not self._serving or self._stopping.is_set():
                return False
            if len(data) == 7 and data[1] == 0x70 and data == band.last_sel_req():
                band.selected = True
            if self._first_answer is None and data in (b"\x26", b"\x52"):  # SENS_REQ
                self._first_answer = time.perf_counter()
            return True
