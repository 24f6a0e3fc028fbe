"""Alerts about the venue's roster (`[gates]` of hub.toml), for the display and `/api/alerts`.

- `no_roster` (warning): the roster is empty. The hub then cannot hold a gate to its role: an
  entry gate's login may journal exits, a handheld's bindings; only the checks that need no role
  are made (docs/security/authority.md).
- `unknown_gate` (warning): gates the hub hears from (events or status) that are not on the
  roster. The hub refuses every entry of theirs (`unknown_gate`): their visitors are missing from
  the headcount until the gate is given its role.

Both say the fix: `install-hub --gates ID:ROLE,...` (docs/install.md), then a hub restart.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from gate.i18n import Words, words

FIX = "install-hub --gates"


def roster_alerts(
    roster: Mapping[str, str], heard: Iterable[str], _: Words | None = None
) -> list[dict[str, str]]:
    """`roster`: gate id -> role; `heard`: the ids of the gates the hub has heard from."""
    _ = _ or words()
    if not roster:
        return [
            {
                "level": "warning",
                "kind": "no_roster",
                "text": _(
                    "hub.toml has no [gates] roster: gates' roles are not checked (any gate's "
                    "login may journal what only another role may); give each gate its role: "
                    "{fix} ID:ROLE,... (entry, exit, desk, handheld) and restart the hub",
                    fix=FIX,
                ),
            }
        ]
    unknown = sorted(set(heard) - set(roster))
    if not unknown:
        return []
    names = ", ".join(unknown)
    roles = ",".join(f"{g}:ROLE" for g in unknown)
    return [
        {
            "level": "warning",
            "kind": "unknown_gate",
            "text": _(
                "gate {gates} not on the venue's roster ([gates] of hub.toml): every entry "
                "refused, its visitors not counted; give it its role: {fix} {roles} and "
                "restart the hub",
                gates=names,
                fix=FIX,
                roles=roles,
            )
            if len(unknown) == 1
            else _(
                "gates {gates} not on the venue's roster ([gates] of hub.toml): every entry "
                "refused, their visitors not counted; give each its role: {fix} {roles} and "
                "restart the hub",
                gates=names,
                fix=FIX,
                roles=roles,
            ),
        }
    ]
