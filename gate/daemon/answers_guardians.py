"""The control socket's guardian commands (`gatectl walkin`, `not-authorised`, `pickup`): a
walk-in child registered at a desk, a child's not-authorised list, a pickup code typed by staff
at an exit gate. Each answers like `join`: the decision, its journal entry, whether granted.

What a request says is checked before anything is decided: a refusal says what to fix."""

from __future__ import annotations

from typing import Any, Protocol

from gate.control.refusals import Reason, Refused
from gate.control.socket import Peer, asked_by


class GuardianScans(Protocol):
    def walkin(self, args: dict[str, Any], asked_by: dict[str, Any] | None) -> dict[str, Any]: ...

    def not_authorised(
        self, args: dict[str, Any], asked_by: dict[str, Any] | None
    ) -> dict[str, Any]: ...

    def pickup(self, code: str, asked_by: dict[str, Any] | None) -> dict[str, Any]: ...


class GuardianGate(Protocol):
    settings: Any  # its role: a desk registers, an exit gate checks codes
    guardians: Any  # a GuardianScans (`gate.daemon.guardian_actions`)


GRANTED = ("OK_REGISTERED", "OK_PICKUP")


def _answer(result: dict[str, Any], who: dict[str, Any]) -> dict[str, Any]:
    return {
        "decision": result,  # with `pickup`: a walk-in child's code, for staff to hand over
        "seq": result.get("seq"),
        "granted": result.get("code") in GRANTED,
        "asked_by": who,
    }


def _scans(gate: GuardianGate) -> GuardianScans:
    actions: GuardianScans = gate.guardians
    return actions


def _asked(call: Any) -> dict[str, Any]:
    try:
        result: dict[str, Any] = call()
    except ValueError as exc:
        if isinstance(exc, Refused):
            raise
        raise Refused(Reason.BAD_REQUEST, str(exc)) from None
    return result


def _here(gate: GuardianGate, roles: tuple[str, ...], what: str) -> None:
    role = gate.settings.role
    if role not in roles:
        raise Refused(Reason.NOT_HERE, f"{what}, not at the {role} gate {gate.settings.id}")


def walkin(gate: GuardianGate, args: dict[str, Any], peer: Peer | None) -> dict[str, Any]:
    """`{"cmd": "walkin", "guardian": NAME, "phone": PHONE}` at a desk."""
    _here(gate, ("desk", "handheld"), "a walk-in child is registered at a desk")
    who = asked_by(peer)
    wanted = {"guardian": args.get("guardian"), "phone": args.get("phone")}
    return _answer(_asked(lambda: _scans(gate).walkin(wanted, who)), who)


def not_authorised(gate: GuardianGate, args: dict[str, Any], peer: Peer | None) -> dict[str, Any]:
    """`{"cmd": "not_authorised", "group": GROUP, "names": [NAME, ...]}` at a desk."""
    _here(gate, ("desk", "handheld"), "a not-authorised list is set at a desk")
    who = asked_by(peer)
    wanted = {"group": args.get("group"), "names": args.get("names", [])}
    return _answer(_asked(lambda: _scans(gate).not_authorised(wanted, who)), who)


def pickup(gate: GuardianGate, args: dict[str, Any], peer: Peer | None) -> dict[str, Any]:
    """`{"cmd": "pickup", "code": "123456"}` at an exit gate."""
    _here(gate, ("exit",), "a pickup code is checked at an exit gate")
    code = args.get("code")
    if not isinstance(code, str) or len(code) > 16:
        raise Refused(Reason.BAD_REQUEST, "code: the 6 digits of the guardian's pickup code")
    who = asked_by(peer)
    return _answer(_asked(lambda: _scans(gate).pickup(code, who)), who)


GUARDIAN_COMMANDS = {"walkin": walkin, "not_authorised": not_authorised, "pickup": pickup}
