"""The gate's NFC reader: a thread over an nfcpy device that reports each band once.

    def on_read(read: TagRead) -> None:       # on the reader thread, band still on the reader
        ...                                   # may block ~1 s; may call read.writer.write_token

    reader = NfcReader("tty:AMA0:pn532", keyring, on_read)
    reader.start()
    reader.health()                           # ReaderHealth(state=<ReaderState.SEARCHING ...)
    reader.stop()

`device` is any nfcpy path: ``usb``, ``usb:072f:2200``, ``tty:AMA0:pn532``, ``tty:USB0:pn532``,
``udp:HOST:PORT`` (nfcpy's simulated link; see `gate.devices.nfc.emulator`). Tuned for a gate: it
senses 106 kbps Type A only, once per cycle, pausing `poll_s` between cycles, never beeps, and
reads just the capability container and the pages of the NDEF message (one FAST_READ for a
token; four or five READs with `fast_read` off), not the whole tag, then, for a band with a
valid token, its passage record (`TagRead.slots`: `gate.devices.nfc.passage`). A band has 50 ms
to answer a READ on a real device, asked three times; a second on ``udp:``, asked once
(`gate.devices.nfc.band.link_of`).

What `on_read` gets, by what is on the reader:

==============================================  =======  ===========  =========  ==================
tag                                             token    token_fault  tag_fault  tag_type
==============================================  =======  ===========  =========  ==================
wristband (NTAG21x) with a valid token          token    None         None       "NXP NTAG213"
wristband, blank (empty NDEF message)           None     None         None       "NXP NTAG213"
wristband whose NDEF data fails verification    None     reason       None       "NXP NTAG213"
NTAG21x not NDEF formatted                      None     None         None       "NXP NTAG213"
NTAG21x without a valid originality signature   ...      ...          reason     "NXP NTAG213"
any other tag (Ultralight, ISO-DEP, ...)        None     None         reason     names it: "Mifare
                                                                                 Ultralight", ...
==============================================  =======  ===========  =========  ==================

The originality signature (READ_SIG, `gate.devices.nfc.originality`) is read last, after the token,
as
`originality` says: `require` (the default, NXP's key) sets `tag_fault` when it is missing or
wrong; `check` only logs and counts it (`ReaderHealth.not_original`); `off` does not read it.

A band is reported once while it stays on the reader, and not again if it comes back within
`debounce_s` of leaving (a hand hesitating over the reader), unless a token write failed
because the band was pulled away: then it is reported again as soon as it returns. A band that
leaves before it was read is not reported. The thread survives a missing, unplugged or failing
device: it reopens it with a backoff from `reopen_min_s` doubling up to `reopen_max_s`.
"""

from __future__ import annotations

import errno
import functools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

import nfc
import nfc.clf
import nfc.tag
import nfc.tag.tt2_nxp

from gate.core.model import BandToken
from gate.devices.nfc.activation import activate
from gate.devices.nfc.band import (
    TAG_ERRORS,
    BandWriter,
    FastPages,
    Link,
    Refusal,
    TokenWriter,
    link_of,
    read_record,
    read_token,
)
from gate.devices.nfc.originality import OriginalityCheck, OriginalityMode
from gate.devices.nfc.passage import Slots
from gate.devices.nfc.token import Keyring

log = logging.getLogger(__name__)

PRESENCE_S = 0.1  # between presence checks while a band stays on the reader
READ_SIG = b"\x3c\x00"  # NTAG21x: the 32-byte originality signature
# A silent READ_SIG is asked once more, the tag selected again, with longer to answer (at least
# this, and never less than the link's deadline): a band moved on the reader, or a reader (or an
# emulator) slow under load, is not a copy for that. A copy that cannot answer stays silent
# twice and costs this much more before it is refused.
READ_SIG_AGAIN_S = 0.25

# Tags that can be wristbands. nfcpy's Ultralight EV1 subclasses NTAG21x: not listed on purpose.
_T2 = nfc.tag.tt2_nxp
WRISTBAND_TAGS = (_T2.NTAG210, _T2.NTAG212, _T2.NTAG213, _T2.NTAG215, _T2.NTAG216)
# Their pages (NXP's data sheets): FAST_READ asks for none past the last.
_PAGES = ((_T2.NTAG210, 20), (_T2.NTAG212, 41), (_T2.NTAG213, 45), (_T2.NTAG215, 135))
_PAGES_NTAG216 = 231


class ReaderState(StrEnum):
    STOPPED = "stopped"  # not started, or stopped
    SEARCHING = "searching"  # the device is open, polling for bands
    CONNECTED = "connected"  # a band is on the reader
    ABSENT = "absent"  # no device at the path (unplugged, wrong path): retrying
    FAILED = "failed"  # the device would not open or stopped working: retrying


_WORKING = (ReaderState.SEARCHING, ReaderState.CONNECTED)


@dataclass(frozen=True, slots=True)
class ReaderHealth:
    """A snapshot of the reader. `reopens` counts attempts to open the device after the first;
    `reads` the tags reported; `faults` the reports whose token failed verification;
    `not_original` the tags without a valid originality signature (in `require` and `check`)."""

    state: ReaderState
    device: str
    last_error: str | None = None
    reopens: int = 0
    reads: int = 0
    faults: int = 0
    not_original: int = 0


@dataclass(frozen=True, slots=True)
class TagRead:
    """One tag put on the reader. `uid` is upper-case hex; see the module table for the rest.
    `writer` works only while `on_read` runs (from any thread); after that it refuses."""

    uid: str
    token: BandToken | None
    token_fault: str | None
    tag_type: str
    writer: TokenWriter = field(compare=False, repr=False)
    tag_fault: str | None = None
    slots: Slots | None = None  # the band's passage record (None: no room for one, or no token)


class NfcReader:
    """The reader thread. `on_read` runs on it; an exception there is logged, never fatal.

    - `debounce_s`: a band back on the reader this soon after leaving it is not reported again;
    - `poll_s`: the pause between two sense cycles;
    - `reopen_min_s`, `reopen_max_s`: the backoff between attempts to open a device that is
      missing or failed (doubling from the first to the second);
    - `frontend`: opens a device path (default `nfc.ContactlessFrontend`); it must raise
      `OSError` when the device cannot be opened, with errno ENODEV when there is none;
    - `originality`: how the NTAG originality signature is checked (default: required, NXP's key);
    - `fast_read`: read the token with one FAST_READ (every NTAG21x has it) instead of four or
      five READs.
    """

    def __init__(
        self,
        device: str,
        keyring: Keyring,
        on_read: Callable[[TagRead], None],
        *,
        debounce_s: float = 1.5,
        poll_s: float = 0.1,
        reopen_min_s: float = 0.5,
        reopen_max_s: float = 30.0,
        frontend: Callable[[str], Any] = nfc.ContactlessFrontend,
        originality: OriginalityCheck | None = None,
        fast_read: bool = True,
    ) -> None:
        self.device = device
        self._keyring = keyring
        self._on_read = on_read
        self._debounce_s = debounce_s
        self._poll_s = poll_s
        self._reopen_min_s = reopen_min_s
        self._reopen_max_s = reopen_max_s
        self._frontend = frontend
        self._originality = originality or OriginalityCheck()
        self._fast_read = fast_read
        self._link = link_of(device)  # how long a band has to answer one command
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._health = ReaderHealth(ReaderState.STOPPED, device)
        self._seen: dict[str, float] = {}  # debounce key -> when last on the reader (monotonic)

    # --- public ----------------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"nfc-reader:{self.device}")
        self._thread.daemon = True
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop polling and close the device. Returns within about one sense cycle (up to 1 s on
        ``udp:``, whose sense waits 1 s for an answer)."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
            if thread.is_alive():
                log.warning("reader thread for %s did not stop within %.1f s", self.device, timeout)
        self._set(ReaderState.STOPPED)

    def health(self) -> ReaderHealth:
        with self._lock:
            return self._health

    # --- the thread ------------------------------------------------------------------------------

    def _run(self) -> None:
        delay, first = self._reopen_min_s, True
        while not self._stop.is_set():
            if not first:
                self._count(reopens=1)
            first = False
            clf = self._open()
            if clf is not None:
                delay = self._reopen_min_s
                try:
                    self._serve(clf)
                except Exception as exc:  # the thread must not die: note it, reopen
                    if not isinstance(exc, _DeviceLost):
                        log.exception("reader %s: unexpected error", self.device)
                    self._set(ReaderState.FAILED, str(exc) or repr(exc))
                finally:
                    _close(clf)
            if self._stop.wait(delay):
                break
            delay = min(delay * 2, self._reopen_max_s)
        self._set(ReaderState.STOPPED)

    def _open(self) -> Any:
        try:
            clf = self._frontend(self.device)
        except OSError as exc:
            if exc.errno == errno.ENODEV:
                self._set(ReaderState.ABSENT, f"no reader found at {self.device}")
            else:
                self._set(ReaderState.FAILED, f"cannot open {self.device}: {exc}")
            return None
        except Exception as exc:  # a malformed path, a driver that trips over the device
            self._set(ReaderState.FAILED, f"cannot open {self.device}: {exc!r}")
            return None
        self._set(ReaderState.SEARCHING)
        return clf

    def _serve(self, clf: Any) -> None:
        """Sense for tags until stopped, one 106A sense a cycle, `poll_s` apart (what nfcpy's
        `connect` does, with the activation of `gate.devices.nfc.activation`); raises
        `_DeviceLost` when the device fails."""
        while not self._stop.wait(self._poll_s):
            try:
                target = clf.sense(nfc.clf.RemoteTarget("106A"))
                if target is None or not self._discovered(target):
                    continue
                tag = activate(clf, target, self._link)
                if tag is not None:
                    self._serve_tag(tag)
            except (OSError, nfc.clf.UnsupportedTargetError) as exc:
                raise _DeviceLost(f"the reader stopped responding: {exc}") from exc

    def _discovered(self, target: Any) -> bool:
        """Whether to activate `target`: Type 2 tags; anything else is reported, not activated."""
        sel_res = bytes(target.sel_res or b"")
        if sel_res and sel_res[0] & 0x60 == 0:
            return True
        uid = bytes(target.sdd_res or b"").hex().upper()
        if uid:
            key = _debounce_key(uid)
            if not self._recent(key):
                tag_type = _describe(target)
                refusal = Refusal(f"{tag_type} cannot carry a wristband token: use a wristband")
                self._deliver(TagRead(uid, None, None, tag_type, refusal, _foreign(tag_type)))
            self._mark(key)
        return False

    def _serve_tag(self, tag: Any) -> None:
        uid = bytes(tag.identifier).hex().upper()
        key = _debounce_key(uid)
        self._set(ReaderState.CONNECTED)
        if self._recent(key):  # back too soon: not reported
            self._wait_gone(tag)
            self._mark(key)
            self._set(ReaderState.SEARCHING)
            return
        try:
            read = self._read(tag, uid)
        except TAG_ERRORS as exc:
            log.debug("band %s left before it was read: %s", uid, exc)
            read = None
        if read is not None:
            self._deliver(read)
        self._wait_gone(tag)
        if read is not None and not getattr(read.writer, "retry", False):
            self._mark(key)
        else:
            self._seen.pop(key, None)  # report it as soon as it comes back
        self._set(ReaderState.SEARCHING)

    def _read(self, tag: Any, uid: str) -> TagRead:
        tag_type = str(getattr(tag, "product", None) or tag.type)
        if not isinstance(tag, WRISTBAND_TAGS):
            refusal = Refusal(f"{tag_type} cannot carry a wristband token: use a wristband")
            return TagRead(uid, None, None, tag_type, refusal, _foreign(tag_type))
        writer = BandWriter(tag, self._link)
        if self._fast_read:
            read16 = FastPages(tag, _pages(tag), self._link).read16
        else:  # the CC page once, for the token and the record
            read16 = functools.cache(writer.read16)
        token, fault = read_token(read16, uid, self._keyring)
        slots = read_record(read16, uid, token.group, self._keyring) if token else None
        original = self._not_original(tag, uid)
        return TagRead(uid, token, fault, tag_type, writer, original, slots)

    def _not_original(self, tag: Any, uid: str) -> str | None:
        """Read the originality signature (last: a tag silent to READ_SIG falls back to IDLE)
        and judge it. Only in `require` mode is a failure the tag's fault."""
        check = self._originality
        if check.mode is OriginalityMode.OFF:
            return None
        signature = read_signature(tag, self._link)
        fault = check.fault(bytes.fromhex(uid), signature)
        if fault is None:
            return None
        self._count(not_original=1)
        log.warning("tag %s (%s): %s", uid, getattr(tag, "product", tag.type), fault)
        return fault if check.mode is OriginalityMode.REQUIRE else None

    def _deliver(self, read: TagRead) -> None:
        self._count(reads=1, faults=int(read.token_fault is not None))
        log.debug(
            "tag %s (%s): token %s, fault %s", read.uid, read.tag_type, read.token, read.token_fault
        )
        try:
            self._on_read(read)
        except Exception:
            log.exception("on_read failed for tag %s", read.uid)
        finally:
            getattr(read.writer, "close", lambda: None)()  # the writer works during on_read only

    def _wait_gone(self, tag: Any) -> None:
        while not self._stop.is_set() and tag.is_present:
            self._stop.wait(PRESENCE_S)

    # --- debounce and health ---------------------------------------------------------------------

    def _recent(self, key: str) -> bool:
        seen = self._seen.get(key)
        return seen is not None and time.monotonic() - seen < self._debounce_s

    def _mark(self, key: str) -> None:
        now = time.monotonic()
        for k in [k for k, t in self._seen.items() if now - t >= self._debounce_s]:
            del self._seen[k]
        self._seen[key] = now

    def _set(self, state: ReaderState, error: str | None = None) -> None:
        with self._lock:
            old = self._health
            self._health = replace(old, state=state, last_error=error or old.last_error)
        if state is old.state and (error is None or error == old.last_error):
            return
        if state in (ReaderState.ABSENT, ReaderState.FAILED):
            log.warning("reader %s %s: %s", self.device, state, error)
        elif state is ReaderState.STOPPED or old.state not in _WORKING:
            log.info("reader %s %s", self.device, state)

    def _count(
        self, *, reopens: int = 0, reads: int = 0, faults: int = 0, not_original: int = 0
    ) -> None:
        with self._lock:
            h = self._health
            self._health = replace(
                h,
                reopens=h.reopens + reopens,
                reads=h.reads + reads,
                faults=h.faults + faults,
                not_original=h.not_original + not_original,
            )


class _DeviceLost(Exception):
    pass


def _pages(tag: Any) -> int:
    for kind, pages in _PAGES:
        if isinstance(tag, kind):
            return pages
    return _PAGES_NTAG216


def _foreign(tag_type: str) -> str:
    return f"not a wristband ({tag_type}): send the visitor to the desk"


def _debounce_key(uid: str) -> str:
    # A 4-byte UID starting 08 is random, new at each selection (phones): one key for them all.
    return "random" if len(uid) == 8 and uid.startswith("08") else uid


def _describe(target: Any) -> str:
    sel_res = bytes(target.sel_res or b"")
    if sel_res and sel_res[0] & 0x40:
        return "NFC-DEP device (phone)"
    if sel_res and sel_res[0] & 0x20:
        return "ISO-DEP card (bank card or phone)"
    sens_res = bytes(target.sens_res or b"")
    if len(sens_res) == 2 and sens_res[1] & 0x0F == 0x0C:
        return "Type 1 tag"
    return "unknown Type A tag"


def _close(clf: Any) -> None:
    try:
        clf.close()
    except Exception as exc:  # a device already gone
        log.debug("closing the reader: %r", exc)


def read_signature(tag: Any, link: Link) -> bytes | None:
    """READ_SIG's answer; None when the tag stays silent (or NAKs) twice. After silence the tag
    is selected again (what nfcpy's own tags do), so it can still be read or written."""
    for timeout in (link.answer_s, max(READ_SIG_AGAIN_S, link.answer_s)):
        try:
            return bytes(tag.transceive(READ_SIG, timeout, 0))
        except nfc.tag.TagCommandError:  # silent, or a NAK: no signature
            tag._target = tag.clf.sense(tag.target)
            if tag._target is None:  # gone from the field
                return None
    return None
