"""Catalogues read with Babel at first use, and the translator each language hands out.

The `.po` files are the source: a translator edits them, and nothing is compiled or generated.
Missing translations fall back to the English id, so a new string is never lost, only untranslated
(`tests/test_i18n.py` fails on any string the catalogues lack).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from babel.messages.pofile import read_po

LANGUAGES = ("en", "zh-CN")
DEFAULT_LANGUAGE = "en"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
_LOCALE_OF = {"zh-CN": "zh_CN"}


def N_(message: str) -> str:  # gettext's own name, which the extractor knows
    """Marks a string to be translated where it is used, not where it is written."""
    return message


def language_of(tag: str | None) -> str:
    """`zh`, `zh-CN`, `zh_cn`, `zh-Hans-CN` -> "zh-CN"; `en-GB` -> "en"; empty -> the default.

    Raises ValueError for a tag that names neither, so a typo in a config file is caught.
    """
    if tag is None or not tag.strip():
        return DEFAULT_LANGUAGE
    primary = tag.strip().replace("_", "-").split("-")[0].lower()
    if primary == "zh":
        return "zh-CN"
    if primary == "en":
        return "en"
    raise ValueError(f"unknown language {tag!r}: choose one of {', '.join(LANGUAGES)}")


def from_accept_language(header: str | None, fallback: str = DEFAULT_LANGUAGE) -> str:
    """The first language of a browser's `Accept-Language` that we speak, by its q-values."""
    offers = []
    for position, item in enumerate((header or "").split(",")):
        tag, _, params = item.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        offers.append((-quality, position, tag))
    for _, _, tag in sorted(offers):
        try:
            return language_of(tag) if tag not in ("", "*") else fallback
        except ValueError:
            continue
    return fallback


def language_from_environment(environ: Mapping[str, str] | None = None) -> str:
    """The language of a command's human output: `WRISTGATE_LANG`, else the locale as gettext
    reads it (LANGUAGE, LC_ALL, LC_MESSAGES, LANG); a locale we do not speak, or C, is English."""
    env = os.environ if environ is None else environ
    for name in ("WRISTGATE_LANG", "LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(name, "").strip()
        if not value:
            continue
        for tag in value.split(":"):
            tag = tag.split(".")[0].split("@")[0]
            if tag in ("C", "POSIX"):
                return DEFAULT_LANGUAGE
            try:
                return language_of(tag)
            except ValueError:
                continue
        return DEFAULT_LANGUAGE
    return DEFAULT_LANGUAGE


@cache
def _messages(language: str) -> dict[str, str]:
    """Every domain's translations for `language`, one dict (a message id means one thing)."""
    table: dict[str, str] = {}
    folder = LOCALE_DIR / _LOCALE_OF.get(language, language) / "LC_MESSAGES"
    for path in sorted(folder.glob("*.po")) if folder.is_dir() else []:
        with path.open("rb") as po:
            catalogue = read_po(po)
        for message in catalogue:
            if message.id and message.string and not message.fuzzy:
                table[str(message.id)] = str(message.string)
    return table


class Words:
    """The translator for one language: `_("Inside now")`, `_("{n} min old", n=3)`."""

    def __init__(self, language: str, table: Mapping[str, str] | None = None) -> None:
        self.language = language_of(language)
        if table is None:
            table = _messages(self.language) if self.language != "en" else {}
        self._table = table

    def __call__(self, message: str, **values: Any) -> str:
        text = self._table.get(message, message)
        return text.format(**values) if values else text

    def both(self, message: str, **values: Any) -> str:
        """Chinese with the English beside it ("在馆人数 Inside now"); English alone in `en`."""
        english = message.format(**values) if values else message
        local = self(message, **values)
        return english if local == english else f"{local} {english}"

    def table(self, messages: list[str]) -> dict[str, str]:
        """The page's string table: each English id and its text in this language."""
        return {message: self(message) for message in messages}


@cache
def words(language: str | None = None) -> Words:
    return Words(language_of(language))
