"""The daily report's "Rule violations" table: the day's critical findings, one row each.

Forged entries (`hub.fold.findings.FORGED_ENTRIES`) are listed there too.

A rule violation is a move a gate journalled that no rule allows (see `hub.fold.audit`): it has its
own table after the headcount, apart from the other findings, with the journal entries it rests
on so the duty manager can pull them from the gates (`gatectl journal`) or the hub's store.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from gate.i18n import N_
from hub.fold.findings import Finding
from hub.views.labels import humanize, label

TITLE = N_("Rule violations")
NOTE = N_(
    "moves a gate journalled that the venue's rules do not allow, re-checked by the hub, and "
    "entries refused as forged: a leaked gate password or a faulty gate; what each gate said, "
    "not what was seen"
)
HEADER = (
    N_("time"),
    N_("gate"),
    N_("violation"),
    N_("band"),
    N_("group"),
    N_("journal entries"),
    N_("detail"),
)


def violation_rows(
    findings: Sequence[Finding],
    when: Callable[[datetime], datetime | None],
    language: str = "en",
) -> tuple[tuple[str | datetime | None, ...], ...]:
    """The report rows of the critical findings among `findings`, oldest first."""
    return tuple(
        (
            when(f.at),
            " ".join(f.gates),
            label(f.kind, language),
            f.uid or "",
            f.group or "",
            " ".join(f"{gate}/{seq}" for gate, seq in f.entries),
            humanize(f.detail, language),
        )
        for f in sorted(findings, key=lambda f: f.at)
        if f.critical
    )
