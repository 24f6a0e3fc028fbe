"""What `gatectl` prints of a decision that gave a pickup code (a desk's binding, a walk-in
child's registration): the decision as every scan shows it, then the code for staff to hand
over, whether the desk's receipt printer printed it, and whether it was sent to the guardian
(the venue's `send_pickup_codes`)."""

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
        if handed.get("sent"):  # the venue's send_pickup_codes: to the guardian's phone too
            sent = _("sent to the guardian")
            printed = f"{printed}, {sent}"
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
