"""`gatectl diag`'s link line in words: a gate connected but not yet granted its subscriptions
says so, in English and in Chinese, rather than "connected" while it cannot hear its peers."""

from __future__ import annotations

from gate.i18n import words
from gate.tools.show import broker

LINK = {"configured": True, "connected": True, "broker": "127.0.0.1:1883", "tls": False}


def test_a_link_still_waiting_for_its_subscriptions_says_so() -> None:
    waiting = broker({**LINK, "subscribed": False}, words("en"))
    assert waiting.startswith("connected, its subscriptions not yet granted"), waiting
    assert broker({**LINK, "subscribed": True}, words("en")).startswith("connected (")
    chinese = broker({**LINK, "subscribed": False}, words("zh_CN"))
    assert chinese.startswith("已连接") and "订阅尚未获准" in chinese, chinese
