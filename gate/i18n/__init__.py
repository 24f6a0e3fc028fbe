"""The translation layer: every word an operator reads, in Chinese (zh-CN) or English (en).

English strings in the code are the message ids; `gate/i18n/locale/zh_CN/LC_MESSAGES/*.po`
hold their Chinese, one catalogue per domain (display, reports, tools, gate...). Code asks
`words(lang)` for a translator and marks strings with `_()` (or `N_()` where a string is only
named, to be translated later) so `pybabel extract` and the tests find every one.
"""

from gate.i18n.catalog import (
    DEFAULT_LANGUAGE,
    LANGUAGES,
    N_,
    Words,
    from_accept_language,
    language_from_environment,
    language_of,
    words,
)
from gate.i18n.said import Said, said_in

__all__ = [
    "DEFAULT_LANGUAGE",
    "LANGUAGES",
    "N_",
    "Said",
    "Words",
    "from_accept_language",
    "language_from_environment",
    "language_of",
    "said_in",
    "words",
]
