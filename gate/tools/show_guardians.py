"""What `gatectl` prints of a decision that gave a pickup code (a desk's binding, a walk-in
child's registration): the decision as every scan shows it, then the code for staff to hand
over, and whether the desk's receipt printer printed it."""

from __future__ import annotations

from datetime import tzinfo
from typing import Any

from gate.i18n import Words
from gate.tools.show_scans import show_scan


def show_with_pickup(a: dict[str, Any], _: Words, tz: tzinfo) -> list[str]:
    lines = show_scan(a, _, tz)
    handed = (a.get("decision") or {}).get("pickup")
    if handed:
        printed = _("printed") if handed.get("printed") else _("not printed")
        lines.insert(
            1,
            "  "
            + _(
                "pickup code {code} for {group} ({printed}): give it to the guardian",
                code=handed.get("code"),
                group=handed.get("group"),
                printed=printed,
            ),
        )
    return lines
