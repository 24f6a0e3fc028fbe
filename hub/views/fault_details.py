"""A fault's detail, stored in English and translated when shown.

The hub's watch (hub/service/incidents.py) writes an incident's detail from these templates
(`detail`), the parts joined by "; " when a later note is added (an outage whose gate turned out
to have restarted). `hub incidents`, the daily report and the display show it through `shown`:
each part that one of the templates made is said in the reader's language; a part that none
made (the gate's own words for its scanner or disk, a detail of an older hub) is shown as it is.
"""

from __future__ import annotations

import re
from typing import Any

from gate.i18n import N_, Words

READER_REMOVED = N_("reader removed")
READER = N_("reader {state}")
CLOCK_GATE = N_("clock {s} s off the hub's, by the gate's own measure")
CLOCK_HUB = N_("clock {s} s off the hub's, by the hub's measure")
NO_WORD = N_("no word from the gate: its network link or its power")
RESTARTED = N_("restarted: the gate's machine booted again (power lost or rebooted)")
GATE_RESTARTED = N_("gate {gate} restarted: its machine booted again (power lost or rebooted)")
TEMPLATES = (READER_REMOVED, READER, CLOCK_GATE, CLOCK_HUB, NO_WORD, RESTARTED, GATE_RESTARTED)
SEP = "; "


def detail(template: str, **values: Any) -> str:
    """The English detail to store (`template` one of TEMPLATES)."""
    return template.format(**values)


def _pattern(template: str) -> re.Pattern[str]:
    parts = re.split(r"\{(\w+)\}", template)
    return re.compile(
        "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>.+?)" for i, p in enumerate(parts))
    )


_PATTERNS = tuple((t, _pattern(t)) for t in TEMPLATES)


def shown(text: str, _: Words) -> str:
    """A stored detail in the words of `_`."""
    said = []
    for part in text.split(SEP):
        for template, pattern in _PATTERNS:
            if (found := pattern.fullmatch(part)) is not None:
                said.append(_(template, **found.groupdict()))
                break
        else:
            said.append(part)
    return SEP.join(said)
