"""The display in the language of the request: `?lang=`, then Accept-Language, then the hub's
`[hub] language`; the page's words translated as it is served, its string table embedded, and the
hub's alerts in the same language. Against a running hub where the hub decides (tests/venue_rig.py).
"""

from __future__ import annotations

import json
import re
import urllib.request
from pathlib import Path

import pytest
from test_hub_view import StillView

from gate.config import ConfigError
from gate.i18n import words
from hub.service.config import load_hub_config
from hub.views.display import forged_text
from hub.views.roster_alerts import roster_alerts
from hub.views.web.page import (
    STATIC,
    display_page,
    page_words,
    request_language,
    script_messages,
    string_table,
)
from hub.views.web.server import OPEN, route

CHINESE = re.compile(r"[\u4e00-\u9fff]")


def without_figures(text: str) -> str:
    """An alert's words with its figures left out: "since 22:19, 1 s" is the second after "0 s"."""
    return re.sub(r"\d+", "#", text)


@pytest.mark.parametrize(
    ("query", "accept", "hub", "language"),
    [
        ({"lang": "zh-CN"}, "en-GB,en", "en", "zh-CN"),  # the link first
        ({"lang": "en"}, "zh-CN,zh", "zh-CN", "en"),
        ({}, "zh-CN,zh;q=0.9", "en", "zh-CN"),  # then the browser
        ({}, "en-US,en;q=0.9", "zh-CN", "en"),
        ({}, None, "zh-CN", "zh-CN"),  # then the hub
        ({}, "fr-FR", "zh-CN", "zh-CN"),
        ({"lang": "klingon"}, None, "zh-CN", "zh-CN"),  # a language we do not speak: passed over
        ({}, None, "en", "en"),
    ],
)
def test_the_language_of_a_request(
    query: dict[str, str], accept: str | None, hub: str, language: str
) -> None:
    assert request_language(query, accept, hub) == language


def test_the_page_is_served_in_chinese_with_its_table_and_english_beside_the_headings() -> None:
    page = display_page("zh-CN")
    assert '<html lang="zh-CN">' in page
    assert ">在馆人数 Inside now</h2>" in page  # a heading: Chinese, English beside
    assert '<th scope="col" data-w>团组</th>' in page  # a tight spot: Chinese alone
    assert 'aria-label="场馆时间 Venue time"' in page
    table = json.loads(re.search(r'<script id="words"[^>]*>(.*?)</script>', page, re.S)[1])
    assert set(table) == set(script_messages())
    assert table["All clear: no alerts"] == words("zh-CN")("All clear: no alerts")
    for english, _how in page_words((STATIC / "index.html").read_text()):
        if english != "Venue headcount — wristgate":
            assert f">{english}<" not in page, f"{english!r} left in English"


def test_the_page_in_english_is_the_page_as_written() -> None:
    page = display_page("en")
    assert '<html lang="en">' in page and ">Inside now</h2>" in page
    assert not CHINESE.search(page)


def test_every_word_of_the_page_and_its_scripts_has_its_chinese() -> None:
    chinese = string_table("zh-CN")
    untranslated = [m for m, text in chinese.items() if text == m and CHINESE.search(m) is None]
    # a few ids are the same in both (units, "v{version}"...): none here, every one is words
    assert not untranslated, untranslated
    for english, _how in page_words((STATIC / "index.html").read_text()):
        assert words("zh-CN")(english) != english, english


def test_the_routes_answer_in_the_language_asked() -> None:
    view = StillView()
    page = route(view, "/", {}, OPEN, "zh-CN")
    assert page.status == 200 and page.content_type.startswith("text/html")
    assert "在馆人数" in page.body.decode()
    table = json.loads(route(view, "/api/words", {}, OPEN, "zh-CN").body)
    assert table["language"] == "zh-CN" and table["words"]["Online"] == "在线"
    assert json.loads(route(view, "/api/words", {}, OPEN).body)["words"]["Online"] == "Online"


def test_the_hubs_alerts_are_written_in_the_language_asked() -> None:
    (english,) = roster_alerts({}, [], words("en"))
    (chinese,) = roster_alerts({}, [], words("zh-CN"))
    assert english["kind"] == chinese["kind"] == "no_roster"
    assert english["text"].startswith("hub.toml has no [gates] roster")
    assert CHINESE.search(chinese["text"]) and "install-hub --gates" in chinese["text"]
    (unknown,) = roster_alerts({"E1": "entry"}, ["E1", "Q7"], words("zh-CN"))
    assert "Q7" in unknown["text"] and "Q7:ROLE" in unknown["text"] and "闸机" in unknown["text"]


def test_a_forged_text_keeps_its_facts_in_either_language() -> None:
    from datetime import UTC, datetime

    from hub.fold.findings import Finding

    at = datetime(2026, 7, 1, tzinfo=UTC)
    finding = Finding("forged_event", ("E1",), at, "x", reason="role_cannot", count=3)
    english = forged_text(finding, words("en"))
    assert english == (
        "gate E1 sent what it may not (role_cannot: The gate's role never records this): "
        "3 entries quarantined"
    )
    chinese = forged_text(finding, words("zh-CN"))
    assert "E1" in chinese and "3" in chinese and "该闸机的角色不会记录此类事件" in chinese


def _hub_toml(tmp_path: Path, language: str) -> Path:
    path = tmp_path / "hub.toml"
    path.write_text(f'[hub]\nlanguage = "{language}"\n')
    return path


def test_the_hubs_language_is_read_and_a_bad_one_named_with_the_choices(tmp_path: Path) -> None:
    empty = tmp_path / "empty.toml"
    empty.write_text("[hub]\n")
    assert load_hub_config(empty).hub.language == "en"
    assert load_hub_config(_hub_toml(tmp_path, "zh-CN")).hub.language == "zh-CN"
    assert load_hub_config(_hub_toml(tmp_path, "zh_cn")).hub.language == "zh-CN"
    assert load_hub_config(_hub_toml(tmp_path, "en")).hub.language == "en"
    with pytest.raises(ConfigError) as refused:
        load_hub_config(_hub_toml(tmp_path, "fr"))
    message = str(refused.value)
    assert "hub.toml" in message and "hub.language" in message
    assert "en" in message and "zh-CN" in message and "'fr'" in message


def test_a_running_hub_speaks_its_language_unless_the_request_names_another(
    tmp_path: Path, fresh_broker
) -> None:
    from venue_rig import Venue

    venue = Venue(tmp_path, fresh_broker())
    try:
        venue.start_hub(roster={})  # no roster: the hub raises `no_roster`
        assert venue.hub is not None
        venue.hub.stop()
        config = venue.root / "hub" / "hub.toml"
        text = config.read_text()
        config.write_text(text.replace("[hub]\n", '[hub]\nlanguage = "zh-CN"\n', 1))
        venue.hub.start()
        base = f"http://127.0.0.1:{venue.http_port}"

        def get(path: str, accept: str | None = None) -> tuple[str, str]:
            request = urllib.request.Request(base + path)
            if accept:
                request.add_header("Accept-Language", accept)
            with urllib.request.urlopen(request, timeout=10) as reply:
                return reply.headers["Content-Language"], reply.read().decode()

        lang, page = get("/")
        assert lang == "zh-CN" and "在馆人数 Inside now" in page
        lang, page = get("/", "en-GB,en;q=0.9")
        assert lang == "en" and "在馆人数" not in page
        lang, page = get("/?lang=zh-CN", "en-GB,en;q=0.9")
        assert lang == "zh-CN" and "在馆人数" in page
        chinese = {a["kind"]: a["text"] for a in json.loads(get("/api/alerts")[1])}
        english = {a["kind"]: a["text"] for a in json.loads(get("/api/alerts?lang=en")[1])}
        assert set(chinese) == set(english) and "no_roster" in chinese
        assert CHINESE.search(chinese["no_roster"]) and not CHINESE.search(english["no_roster"])
        display = json.loads(get("/api/display", "zh-CN")[1])
        first = display["alerts"][0]  # the same words, whatever seconds went by between
        assert without_figures(first["text"]) == without_figures(chinese[first["kind"]])
        for lang, wanted in (("zh-CN", chinese), ("en", english)):  # the stream, each its own
            with urllib.request.urlopen(f"{base}/api/stream?lang={lang}", timeout=10) as stream:
                line = next(x for x in stream if x.startswith(b"data: "))
            alerts = json.loads(line.removeprefix(b"data: "))["alerts"]
            got = {a["kind"]: without_figures(a["text"]) for a in alerts}
            assert got == {kind: without_figures(text) for kind, text in wanted.items()}
    finally:
        venue.close()


def test_a_gates_language_is_read_and_a_bad_one_named_with_the_choices(tmp_path: Path) -> None:
    from gate.settings import load_gate_config

    config = tmp_path / "gate.toml"
    head = '[gate]\nid = "X1"\nrole = "exit"\nprofile = "turnstile-pn532"\n'
    config.write_text(head)
    assert load_gate_config(config).gate.language == "en"
    config.write_text(head + 'language = "zh-CN"\n')
    assert load_gate_config(config).gate.language == "zh-CN"
    config.write_text(head + 'language = "fr"\n')
    with pytest.raises(ConfigError) as refused:
        load_gate_config(config)
    message = str(refused.value)
    assert "gate.toml [gate]" in message and "language" in message
    assert "'en'" in message and "'zh-CN'" in message and "'fr'" in message
