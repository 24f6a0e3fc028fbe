"""`hub findings` for a person: what the reconciliation found, critical first, one row each,
times on the venue's clock. The data is `Finding.as_dict()`, from the running hub or the store.
"""

from __future__ import annotations

from datetime import tzinfo
from typing import Any

from gate.i18n import Words
from gate.i18n.terminal import columns, venue_time


def show_findings(found: list[dict[str, Any]], _: Words, tz: tzinfo) -> list[str]:
    if not found:
        return [_("no findings: every gate's journal folds cleanly")]
    critical = sum(f.get("severity") == "critical" for f in found)
    head = _(
        "{n} findings, {critical} critical (times in {zone})",
        n=len(found),
        critical=critical,
        zone=str(tz),
    )
    rows: list[tuple[str, ...]] = [
        (_("TIME"), _("SEVERITY"), _("KIND"), _("GATES"), _("BAND"), _("GROUP"), _("DETAIL"))
    ]
    ordered = sorted(found, key=lambda f: (f.get("severity") != "critical", f.get("at") or ""))
    for f in ordered:
        rows.append(
            (
                venue_time(f.get("at"), tz),
                _("CRITICAL") if f.get("severity") == "critical" else _("warning"),
                str(f.get("kind")),
                " ".join(f.get("gates") or []) or "-",
                f.get("uid") or "-",
                f.get("group") or "-",
                str(f.get("detail") or ""),
            )
        )
    return [head, *columns(rows)]
