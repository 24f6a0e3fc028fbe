"""The gate's closing notices in the operator's language (`gate.core.closing`'s messages).

The rules core writes them in English from templates it holds word for word as these are
(`tests/test_rules_closing.py` holds the two to one another); this module recognises one in a
decision's message and says it in `language`. Any other message is returned as it is.

    message_text("goodbye: please return the band; still inside of group T1: 1 adult(s), "
                 "2 child(ren); closing at 18:00", "zh-CN")
"""

from __future__ import annotations

import re

from gate.i18n.catalog import N_, words

NOTICES = (
    N_(
        "in only to collect {children} child(ren) of group {group}: leave with them "
        "(closed {close})"
    ),
    N_(
        "temporary exit: come back with this band; group {group} has {children} child(ren) "
        "inside with no adult: collect them before closing at {close}"
    ),
    N_(
        "goodbye: please return the band; still inside of group {group}: {adults} adult(s), "
        "{children} child(ren); closing at {close}"
    ),
    N_(
        "temporary exit: come back with this band; group {group} has {children} child(ren) "
        "inside with no adult: collect them now (closed at {close})"
    ),
    N_(
        "goodbye: please return the band; still inside of group {group}: {adults} adult(s), "
        "{children} child(ren); closed at {close}"
    ),
)


def _pattern(template: str) -> re.Pattern[str]:
    parts = re.split(r"\{(\w+)\}", template)
    out = []
    for i, part in enumerate(parts):
        out.append(f"(?P<{part}>.+?)" if i % 2 else re.escape(part))
    return re.compile("".join(out))


_PATTERNS = tuple((t, _pattern(t)) for t in NOTICES)


def message_text(message: str, language: str | None = None) -> str:
    """A decision's message in `language`: a closing notice translated, anything else as is."""
    for template, pattern in _PATTERNS:
        found = pattern.fullmatch(message)
        if found is not None:
            return words(language)(template, **found.groupdict())
    return message
