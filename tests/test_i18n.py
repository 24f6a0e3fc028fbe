"""The translation layer: every marked string has its Chinese, and languages are read right."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from gate.i18n import N_, Words, from_accept_language, language_of, words
from gate.i18n.catalog import LOCALE_DIR
from hub.views.web.page import extract_page

ROOT = Path(__file__).resolve().parent.parent
KEYWORDS = {"_": None, "N_": None, "both": None, "_both": None}
METHODS: list[tuple[str, Any]] = [
    ("**.py", "python"),
    ("**.js", "javascript"),
    ("**/static/*.html", extract_page),  # the display page's data-w words
]
PLACEHOLDER = re.compile(r"\{(\w*)[^{}]*\}")


def _marked() -> dict[str, str]:
    """Every string the code marks for translation, and where the first one stands."""
    found = {}
    for package in ("gate", "hub", "hq", "venue", "deploy"):
        for filename, _line, message, _comments, _context in extract_from_dir(
            ROOT / package, METHODS, keywords=KEYWORDS
        ):
            if isinstance(message, str):
                found.setdefault(message, f"{package}/{filename}:{_line}")
    return found


def _catalogue() -> dict[str, str]:
    table = {}
    for path in sorted((LOCALE_DIR / "zh_CN" / "LC_MESSAGES").glob("*.po")):
        with path.open("rb") as po:
            for message in read_po(po):
                if message.id:
                    assert message.id not in table, f"{message.id!r} twice, again in {path.name}"
                    table[str(message.id)] = "" if message.fuzzy else str(message.string)
    return table


def test_every_marked_string_has_its_chinese() -> None:
    catalogue = _catalogue()
    missing = [f"{where}: {msg!r}" for msg, where in _marked().items() if not catalogue.get(msg)]
    assert not missing, "strings without Chinese in gate/i18n/locale:\n" + "\n".join(missing)


def test_translations_keep_every_placeholder() -> None:
    broken = [
        f"{msgid!r} -> {text!r}"
        for msgid, text in _catalogue().items()
        if text and sorted(PLACEHOLDER.findall(msgid)) != sorted(PLACEHOLDER.findall(text))
    ]
    assert not broken


def test_the_catalogue_holds_no_string_the_code_no_longer_uses() -> None:
    unused = sorted(set(_catalogue()) - set(_marked()))
    assert not unused, "translations of strings no code marks any more: " + ", ".join(unused)


@pytest.mark.parametrize(
    ("tag", "language"),
    [
        ("zh", "zh-CN"),
        ("zh-CN", "zh-CN"),
        ("zh_cn", "zh-CN"),
        ("zh-Hans-CN", "zh-CN"),
        ("en", "en"),
        ("en-GB", "en"),
        (None, "en"),
        ("", "en"),
    ],
)
def test_language_tags_are_read_leniently(tag: str | None, language: str) -> None:
    assert language_of(tag) == language


def test_an_unknown_language_is_refused_with_the_choices() -> None:
    with pytest.raises(ValueError, match="zh-CN"):
        language_of("fr")


@pytest.mark.parametrize(
    ("header", "language"),
    [
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh-CN"),
        ("en-US,en;q=0.9,zh;q=0.8", "en"),
        ("fr-FR,zh;q=0.5", "zh-CN"),
        ("fr, de", "en"),
        ("", "en"),
        (None, "en"),
        ("en;q=0.1, zh;q=0.9", "zh-CN"),
        ("zh;q=bogus, en", "en"),
    ],
)
def test_the_browser_language_is_the_first_we_speak(header: str | None, language: str) -> None:
    assert from_accept_language(header) == language


def test_chinese_with_english_beside_and_english_alone() -> None:
    chinese = Words("zh-CN", {"Inside now": "在馆人数", "{n} min old": "{n} 分钟前"})
    assert chinese("Inside now") == "在馆人数"
    assert chinese("{n} min old", n=3) == "3 分钟前"
    assert chinese.both("Inside now") == "在馆人数 Inside now"
    assert Words("en").both("Inside now") == "Inside now"
    assert chinese("a string nobody translated, {n}", n=3) == "a string nobody translated, 3"
    assert N_("Inside now") == "Inside now"


def test_the_shipped_catalogues_are_read() -> None:
    catalogue = _catalogue()
    assert words("zh-CN").language == "zh-CN"
    for msgid, text in catalogue.items():
        assert words("zh-CN")(msgid) == (text or msgid)


# --- reason codes -------------------------------------------------------------------------------


def test_every_code_and_refusal_reason_has_its_words_in_both_languages() -> None:
    from gate.core.authority import Reason
    from gate.core.model import Code
    from gate.i18n.reasons import CODES, REFUSALS, reason_text, refusal_text

    catalogue = _catalogue()
    assert set(CODES) == {c.value for c in Code}, "gate/i18n/reasons.py CODES: one per Code"
    assert set(REFUSALS) == {r.value for r in Reason}, "REFUSALS: one per authority.Reason"
    for table, say in ((CODES, reason_text), (REFUSALS, refusal_text)):
        for key, english in table.items():
            assert say(key, "en") == english and english.strip()
            assert catalogue.get(english), f"{key}: {english!r} has no Chinese"
            chinese = say(key, "zh-CN")
            assert chinese == catalogue[english] and re.search(r"[\u4e00-\u9fff]", chinese)
    assert reason_text("NOT_A_CODE", "zh-CN") == "NOT_A_CODE"


@pytest.mark.parametrize(
    ("environ", "language"),
    [
        ({"LANG": "zh_CN.UTF-8"}, "zh-CN"),
        ({"LANG": "en_GB.UTF-8"}, "en"),
        ({"LANG": "C.UTF-8"}, "en"),
        ({"LANGUAGE": "fr:zh_CN", "LANG": "en_US.UTF-8"}, "zh-CN"),
        ({"LC_ALL": "de_DE.UTF-8"}, "en"),
        ({"WRISTGATE_LANG": "zh-CN", "LANG": "C"}, "zh-CN"),
        ({}, "en"),
    ],
)
def test_a_command_speaks_the_language_of_its_locale(
    environ: dict[str, str], language: str
) -> None:
    from gate.i18n import language_from_environment

    assert language_from_environment(environ) == language
