"""What the desk's console shows (`/desk/<gate>`, `/api/desk/<gate>`), from the hub's folded
state: the binding in progress at that desk (its ticket, the slots filled by role, who is
missing, the bands bound so far), whether a staff badge tapped there authorises an action now,
and the families left short (提示一家人是否到齐: groups with a slot of their ticket still to
bind, `gate.core.families`), the desk's own first.

For the desk token: band UIDs are shown (the desk binds them), guardian phones never.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from gate.core import Policy, State, staff_at_desk
from gate.core.families import incomplete, missing
from gate.core.model import Refusal

MAX_SHORT = 50  # families left short, listed


def desk_view(
    state: State, gate: str, role: str, policy: Policy, now: datetime, online: bool | None
) -> dict[str, Any]:
    """The console's object for desk `gate` (of `role`) as of `now`."""
    open_ = state.bindings.get(gate)
    binding = _binding(state, open_) if open_ is not None and open_ in state.groups else None
    staff = staff_at_desk(state, gate, now, policy)
    armed = state.overrides.get(gate)
    short = [m for m in incomplete(state) if m.group != open_]
    here = {m.uid for m in state.members.values() if m.last_gate == gate}
    mine = {state.members[u].group for u in here}
    short.sort(key=lambda m: (m.group not in mine, m.group))
    return {
        "gate": gate,
        "role": role,
        "online": online,
        "as_of": now.isoformat(),
        "binding": binding,
        "staff": {
            "ready": not isinstance(staff, Refusal),
            "message": staff.message if isinstance(staff, Refusal) else None,
            "until": (armed.at.timestamp() + policy.pairing_window_s) * 1000
            if armed and not isinstance(staff, Refusal)
            else None,
        },
        "incomplete": [{**m.as_dict(), "here": m.group in mine} for m in short[:MAX_SHORT]],
        "incomplete_count": len(short),
    }


def _binding(state: State, group_id: str) -> dict[str, Any]:
    group = state.groups[group_id]
    ticket = state.allowlist.tickets.get(group_id)
    short = missing(group)
    return {
        "ticket": group_id,
        "product": ticket.product if ticket else "",
        "solo": group.solo,
        "adults": {"bound": group.bound_adults, "of": group.adults},
        "children": {"bound": group.bound_children, "of": group.children},
        "missing": {"adults": short.adults, "children": short.children},
        "members": [
            {"uid": m.uid, "role": m.role.value, "state": m.state.value}
            for m in state.members_of(group_id)
        ],
    }
