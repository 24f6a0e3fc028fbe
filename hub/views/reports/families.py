"""The daily report's "Families left short" table (提示一家人是否到齐): each family bound at a
desk that day with a slot of its ticket still to bind at the day's end, and who is missing
(`gate.core.families`). Shown only when there is one."""

from __future__ import annotations

from collections.abc import Sequence

from gate.core.families import Missing
from gate.i18n import N_, Words
from hub.views.reports.table import Section

TITLE = N_("Families left short")
HEADER = (N_("group"), N_("adults not bound"), N_("children not bound"))
NOTE = N_(
    "tickets whose binding was left short at the desk: the family is incomplete until the rest "
    "bind; ask the duty manager whether they came"
)


def families_section(short: Sequence[Missing], _: Words) -> Section:
    rows = tuple((m.group, m.adults, m.children) for m in short)
    return Section(_(TITLE), tuple(_(h) for h in HEADER), rows, note=_(NOTE))
