"""Why a control request was not carried out: a closed list, and the three kinds of answer.

Every answer of a control socket is one of:

- done: `{"ok": true, ...}` (a scan that was denied is done: its decision says DENY_...);
- refused: `{"ok": false, "refused": REASON, "error": TEXT}`, REASON one of `Reason`: the
  request was not carried out, for a reason an operator can act on (the disk is full, the loop
  was busy, the request was malformed);
- an internal error: `{"ok": false, "internal_error": true, "error": TEXT}`: the process failed
  while carrying it out (a bug). It is logged with its traceback and counted, never passed off
  as a refusal.

A harness (the chaos campaign's checker, `tests/`) tells them apart with `refusal_reason` and
`is_internal_error`; a refusal whose reason is not on the list is as bad as an internal error.
"""

from __future__ import annotations

import errno
from enum import StrEnum
from typing import Any


class Reason(StrEnum):
    """Why a request was refused (its counter in `control_refused` and the metrics)."""

    BUSY = "busy"  # as many requests as the socket serves at once were in progress
    IDLE = "idle"  # the client said nothing for a while
    SLOW = "slow"  # the client took too long to send its request
    TOO_BIG = "too_big"  # over the request's size bound
    BAD_REQUEST = "bad_request"  # not a command, or arguments the command does not take
    UNKNOWN_COMMAND = "unknown_command"
    LOOP_BUSY = "loop_busy"  # the loop did not take it within the reply timeout: never done
    JOURNAL_CANNOT_COMMIT = "journal_cannot_commit"  # the journal refused the write: not done
    DISK_FULL = "disk_full"  # the journal's (or the allowlist's) disk is full: not done
    STATE_CANNOT_WRITE = "state_cannot_write"  # an allowlist snapshot could not be written
    NOT_HERE = "not_here"  # not this process's to do (a linked gate's import, a fixed mode)
    BAD_IMPORT = "bad_import"  # an allowlist import whose files cannot be taken


REASONS = frozenset(r.value for r in Reason)
INTERNAL_ERROR = "internal_error"  # the marker (and counter) of an internal error


class Refused(ValueError):
    """A request not carried out, for `reason`; the message says what to do about it.

    A ValueError, so callers that only tell success from failure (the hub's control) keep
    working; the gate's answers catch it before anything else."""

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.reason = reason

    def answer(self) -> dict[str, Any]:
        return refusal(self.reason, str(self))


def refusal(reason: Reason, message: str) -> dict[str, Any]:
    return {"ok": False, "refused": reason.value, "error": message}


def internal_error(message: str) -> dict[str, Any]:
    return {"ok": False, INTERNAL_ERROR: True, "error": f"internal error: {message}"}


def refusal_reason(answer: dict[str, Any]) -> str | None:
    """The reason of a refusal, as the answer gives it (None: not a refusal). A reason that is
    not on the list is returned as given: the caller judges it."""
    if answer.get("ok") is not False or answer.get(INTERNAL_ERROR):
        return None
    reason = answer.get("refused")
    return str(reason) if reason is not None else None


def is_internal_error(answer: dict[str, Any]) -> bool:
    return answer.get("ok") is False and answer.get(INTERNAL_ERROR) is True


def journal_refusal(exc: Exception, why: str) -> dict[str, Any]:
    """What the asker of a request is told when the journal could not commit it (`exc`, a
    journal error whose reason is `why`): its disk is full, or another write failure."""
    cause = exc.__cause__
    full = (isinstance(cause, OSError) and cause.errno == errno.ENOSPC) or (
        "disk is full" in why or "No space left" in why
    )
    reason = Reason.DISK_FULL if full else Reason.JOURNAL_CANNOT_COMMIT
    return refusal(reason, f"journal: {exc}")


def required(args: dict[str, Any], name: str) -> Any:
    if name not in args:
        raise Refused(Reason.BAD_REQUEST, f"{name!r:.40} is required")
    return args[name]


def one_of(kind: Any, value: Any, name: str) -> Any:
    """`kind(value)` (an enum), or refused naming what it takes."""
    try:
        return kind(value)
    except ValueError:
        taken = ", ".join(str(k.value) for k in kind)
        raise Refused(Reason.BAD_REQUEST, f"{name} is one of {taken}") from None
