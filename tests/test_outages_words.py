"""A drill's record in the daily report, in words: the alerts staff saw by their labels, in
English and in Chinese, never the raw kinds the hub keys them by."""

from __future__ import annotations

from gate.i18n import words
from hub.views.alert_labels import ALERT_KINDS, alert_label
from hub.views.reports.outages import record_words

RECORD = {
    "alerts": [
        {"kind": "offline_mode", "level": "critical", "text": "...", "after_s": 1.2},
        {"kind": "gates_unreachable", "level": "critical", "text": "...", "after_s": 6.0},
        {"kind": "a_new_kind", "level": "warning", "text": "...", "after_s": 9.0},
    ],
    "offline_s": 12.4,
    "offline_scans": 3,
    "all_at_hub": True,
    "conflicts": 0,
}


def test_a_drill_record_names_the_alerts_staff_saw_in_words() -> None:
    cell = record_words(RECORD, words("en"))
    assert "alerts: Offline mode +1 s, Gates unreachable +6 s, a new kind +9 s;" in cell
    assert "offline_mode" not in cell and "gates_unreachable" not in cell


def test_a_drill_record_in_chinese_uses_the_manuals_words() -> None:
    cell = record_words(RECORD, words("zh-CN"))
    assert "离线模式 +1 秒" in cell and "闸机无法连接 +6 秒" in cell
    assert "offline_mode" not in cell and "Offline mode" not in cell


def test_every_alert_kind_has_its_chinese() -> None:
    chinese = words("zh-CN")
    for kind, english in ALERT_KINDS.items():
        assert alert_label(kind, chinese) != english, kind
