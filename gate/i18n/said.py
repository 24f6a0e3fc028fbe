"""A refusal that keeps its words: the English message id (marked `N_`) and the values of its
placeholders, so whoever shows it says it in the reader's language.

    raise Said(N_("{gate} is not a desk or handheld of hub.toml's [gates]"), gate="X1")
    ...
    except ValueError as exc:
        reply = {"error": said_in(exc, "zh-CN")}

`str(exc)` is the English sentence (logs, tests). `said_in` also translates a plain exception
whose text is a sentence of the catalogues (a desk's fixed refusals), and leaves any other as
it is.
"""

from __future__ import annotations

from typing import Any

from gate.i18n.catalog import words


class Said(ValueError):
    def __init__(self, message: str, **values: Any) -> None:
        super().__init__(message.format(**values) if values else message)
        self.message, self.values = message, values

    def in_language(self, language: str | None) -> str:
        return words(language)(self.message, **self.values)


def said_in(exc: BaseException, language: str | None) -> str:
    """What `exc` says, in `language` where its words are known."""
    if isinstance(exc, Said):
        return exc.in_language(language)
    return words(language)(str(exc))
