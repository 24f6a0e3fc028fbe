"""The display page in the language of the request, and the words it needs.

Which language: the request's `?lang=` (`en`, `zh-CN`; a value we do not speak is passed over),
else the browser's `Accept-Language`, else the hub's `[hub] language`.

The page (`static/index.html`) is written in English. Its fixed words are marked where they stand:
an element with `data-w` has its text translated (Chinese alone, where space is tight), one with
`data-w="both"` gets Chinese with the English beside it (headings staff name in English too);
`data-w-label` does the same for the element's `aria-label`, `data-w-title` for the page's title.
The hub translates these as it serves the page, so the first paint is already in the language
asked for, and embeds the string table of the page's scripts, `<script id="words">`: every
`_("...")`, `_both("...")` and `N_("...")` of `static/*.js`, as Babel's extractor finds them, with
its translation. A new word is a `_("...")` in a script (or a `data-w` in the page) and its
Chinese in `gate/i18n/locale/zh_CN/LC_MESSAGES/display.po`; `tests/test_i18n.py` finds both.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import IO, Any

from babel.messages.extract import extract

from gate.i18n import Words, from_accept_language, language_of, words

STATIC = Path(__file__).resolve().parent / "static"
PAGE = "index.html"
DESK_PAGE = "desk.html"  # the desk's console
SCRIPT_KEYWORDS = {"_": None, "_both": None, "N_": None}

# <tag ... data-w[="both"] ...>English</tag>, where the text holds no markup. The page is ours:
# every marked element is written this way (tests/test_i18n.py reads the same pattern).
_MARKED = re.compile(
    r"(<(?P<tag>[a-z][a-z0-9]*)\b(?P<attrs>[^<>]*?)\sdata-w(?:=\"(?P<how>\w+)\")?(?=[\s>])"
    r"(?P<rest>[^<>]*)>)(?P<text>[^<]+)(</(?P=tag)>)"
)
_LABEL = re.compile(r"aria-label=\"(?P<text>[^\"]+)\"(?P<gap>[^<>]*?)\sdata-w-label\b")


def request_language(query: Mapping[str, str], accept: str | None, default: str) -> str:
    """`?lang=` first, then the browser's Accept-Language, then the hub's language."""
    asked = query.get("lang")
    if asked:
        try:
            return language_of(asked)
        except ValueError:
            pass  # a link with a language we do not speak: as if it named none
    return from_accept_language(accept, fallback=language_of(default))


def say(_: Words, english: str, how: str | None) -> str:
    """`english` in `_`'s language; with `how == "both"`, the English beside it."""
    return _.both(english) if how == "both" else _(english)


def page_words(page: str) -> Iterator[tuple[str, str | None]]:
    """Each marked text of the page (`data-w`, `data-w-label`), and how it is shown."""
    for m in _MARKED.finditer(page):
        yield html.unescape(m.group("text").strip()), m.group("how")
    for m in _LABEL.finditer(page):
        yield html.unescape(m.group("text")), "both"


def extract_page(
    fileobj: IO[bytes], keywords: Any, comment_tags: Any, options: Any
) -> Iterator[tuple[int, str, str, list[str]]]:
    """Babel extraction method for the page's marked texts (for tests and `pybabel extract`)."""
    page = fileobj.read().decode("utf-8")
    for text, _how in page_words(page):
        line = page[: page.find(text)].count("\n") + 1 if text in page else 0
        yield line, "_", text, []


@cache
def script_messages(static: Path = STATIC) -> tuple[str, ...]:
    """Every English id the page's scripts mark, in the order they are first met."""
    found: dict[str, None] = {}
    for script in sorted(static.glob("*.js")):
        with script.open("rb") as f:
            for _line, message, _comments, _context in extract(
                "javascript", f, keywords=SCRIPT_KEYWORDS
            ):
                if isinstance(message, str):
                    found.setdefault(message, None)
    return tuple(found)


def string_table(language: str, static: Path = STATIC) -> dict[str, str]:
    """The page scripts' words in `language`: English id -> text (`/api/words`)."""
    return words(language).table(list(script_messages(static)))


def display_page(language: str, static: Path = STATIC) -> str:
    """`index.html` in `language`: its marked words translated, the scripts' table embedded."""
    return _page(language_of(language), static)


def desk_page(language: str, static: Path = STATIC) -> str:
    """The desk's console (`desk.html`) in `language`, the same way as the display."""
    return _page(language_of(language), static, DESK_PAGE)


@cache
def _page(language: str, static: Path, name: str = PAGE) -> str:
    page = (static / name).read_text(encoding="utf-8")
    _ = words(language)

    def marked(m: re.Match[str]) -> str:
        text = html.unescape(m.group("text").strip())
        return f"{m.group(1)}{html.escape(say(_, text, m.group('how')), quote=False)}{m.group(7)}"

    def label(m: re.Match[str]) -> str:
        text = html.escape(_.both(html.unescape(m.group("text"))))
        return f'aria-label="{text}"{m.group("gap")} data-w-label'

    page = _LABEL.sub(label, _MARKED.sub(marked, page))
    page = re.sub(r'<html lang="[^"]*">', f'<html lang="{language}">', page, count=1)
    table = json.dumps(string_table(language, static), ensure_ascii=False, sort_keys=True)
    table = table.replace("<", "\\u003c")  # nothing in it can close the script element
    embedded = f'<script id="words" type="application/json">{table}</script>\n'
    return page.replace("</head>", embedded + "</head>", 1)
