"""The control socket's corrections at a desk: `replace` (`{"old", "new"}`), `unbind` and
`reissue` (`{"uid"}`), as `gatectl replace OLD NEW`, `unbind UID`, `reissue UID` send them.

Each runs its action of `gate.daemon.desk_corrections` on the gate's loop, with who asked (the
kernel's word); arguments it cannot take are refused (`bad_request`) with the reason, and a
gate that is no desk refuses (`not_here`). The decision (granted or not) is the answer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gate.control.refusals import Reason, Refused
from gate.control.socket import Peer, asked_by
from gate.daemon.desk_corrections import ACTIONS

Handler = Callable[[Any, dict[str, Any], Peer | None], dict[str, Any]]


def _handler(name: str) -> Handler:
    action = ACTIONS[name]

    def handle(gate: Any, args: dict[str, Any], peer: Peer | None) -> dict[str, Any]:
        if gate.settings.role not in ("desk", "handheld"):
            where = f"the {gate.settings.role} gate {gate.settings.id}"
            raise Refused(Reason.NOT_HERE, f"{name}: bands are corrected at a desk, not {where}")
        who = asked_by(peer)
        fields = {k: v for k, v in args.items() if k in ("old", "new", "uid", "request")}
        try:
            result = gate.scans.desk_action(action, fields, who)
        except Refused:
            raise
        except ValueError as exc:  # an argument the action cannot take: nothing journalled
            raise Refused(Reason.BAD_REQUEST, f"{name}: {exc}") from None
        granted = result["code"] == "OK_CORRECTED"
        return {"decision": result, "seq": result["seq"], "granted": granted, "asked_by": who}

    handle.__name__ = name
    handle.__doc__ = f"Staff at this desk: {name} a band (gate.daemon.desk_corrections)."
    return handle


CORRECTIONS: dict[str, Handler] = {name: _handler(name) for name in ACTIONS}
