"""The closing sweep over time and the broadcast room's prompts (`hub.views.closing`).

From 30 minutes before closing the children still inside are listed; at closing the list stays,
critical, while any child is inside, and then says none is. Each session (场次) has its own.
"""

from __future__ import annotations

from dataclasses import replace

from rules_helpers import (
    ADULT_1,
    ADULT_2,
    ADULT_3,
    CHILD_1,
    CHILD_2,
    CHILD_3,
    DUO,
    FAMILY,
    Venue,
    at,
    family_inside,
    policy,
)

from gate.i18n import words
from hub.views.closing import announcements, closing_alert, closings

SESSIONS = {"AM": "09:30-12:30", "PM": "13:30-18:00"}


def children_left_inside() -> Venue:
    """The family inside, both adults out for a while at 16:00: two children with no adult."""
    venue = family_inside()
    venue.step_out(ADULT_1, at(16))
    venue.step_out(ADULT_2, at(16, 0, 1))
    return venue


def test_no_sweep_before_the_last_half_hour_nor_before_opening() -> None:
    venue = children_left_inside()
    assert closings(venue.policy, venue.state, at(17, 29)) == []
    assert closings(venue.policy, venue.state, at(8, 30)) == []


def test_the_sweep_stays_after_closing_critical_until_no_child_is_inside() -> None:
    venue = children_left_inside()
    (before,) = closings(venue.policy, venue.state, at(17, 40))
    assert (before.phase, before.minutes, before.level, len(before.rows)) == (
        "before",
        20,
        "info",
        2,
    )
    (after,) = closings(venue.policy, venue.state, at(18, 25))
    assert (after.phase, after.minutes, after.level, len(after.rows)) == (
        "after",
        25,
        "critical",
        2,
    )
    assert closing_alert(after, words("en")) == {
        "level": "critical",
        "kind": "closing",
        "text": "closed 25 min ago: 2 children still inside",
    }
    assert venue.enter(ADULT_1, at(18, 30)).code.value == "OK_COLLECT"
    venue.release(ADULT_1, CHILD_1, CHILD_2, now=at(18, 31))
    (clear,) = closings(venue.policy, venue.state, at(18, 40))
    assert (clear.phase, clear.level, clear.rows) == ("after", "info", ())
    assert closing_alert(clear, words("zh-CN"))["text"] == "已闭馆:馆内已无儿童"
    assert closings(venue.policy, venue.state, at(23, 59))[0].phase == "after"  # until opening


def test_the_broadcast_room_is_prompted_in_both_languages_naming_the_groups() -> None:
    venue = children_left_inside()
    (soon,) = announcements(closings(venue.policy, venue.state, at(17, 30)))
    assert soon["kind"] == "closing_soon" and soon["groups"] == [FAMILY]
    assert soon["text"]["en"].startswith("Dear guests, the venue closes at 18:00. Parents of")
    assert f"请 {FAMILY} 组的家长接好小朋友" in soon["text"]["zh-CN"]
    (closed,) = announcements(closings(venue.policy, venue.state, at(18, 5)))
    assert (closed["kind"], closed["level"]) == ("closed", "critical")
    assert closed["text"]["zh-CN"].startswith("本馆已于 18:00 闭馆。")
    venue.enter(ADULT_2, at(18, 6))
    venue.release(ADULT_2, CHILD_1, CHILD_2, now=at(18, 7))
    assert announcements(closings(venue.policy, venue.state, at(18, 10))) == []


def sessions_venue() -> Venue:
    """The family on an AM ticket, the duo on a PM one; the family inside since 10:00, its adults
    out at 11:00; the duo inside since 14:00."""
    venue = family_inside(at(10))
    venue.policy = policy(sessions=SESSIONS)
    for code, session in ((FAMILY, "AM"), (DUO, "PM")):
        ticket = venue.state.allowlist.tickets[code]
        venue.state.allowlist.tickets[code] = replace(ticket, session=session)
    venue.step_out(ADULT_1, at(11))
    venue.step_out(ADULT_2, at(11, 0, 1))
    return venue


def test_each_session_has_its_own_sweep_of_its_own_children() -> None:
    venue = sessions_venue()
    (am,) = closings(venue.policy, venue.state, at(12, 10))
    assert (am.session, am.phase, am.minutes) == ("AM", "before", 20)
    assert {r.uid for r in am.rows} == {CHILD_1, CHILD_2}
    (late,) = closings(venue.policy, venue.state, at(12, 45))
    assert (late.session, late.phase, late.level) == ("AM", "after", "critical")
    text = closing_alert(late, words("en"))["text"]
    assert text == "session AM ended 15 min ago: 2 of its children still inside"
    assert venue.enter(ADULT_1, at(12, 50)).code.value == "OK_COLLECT"  # the AM session is over
    venue.release(ADULT_1, CHILD_1, CHILD_2, now=at(12, 51))
    (done,) = closings(venue.policy, venue.state, at(12, 55))
    assert (done.session, done.level, done.rows) == ("AM", "info", ())
    assert (
        closing_alert(done, words("en"))["text"] == "session AM ended: none of its children inside"
    )
    assert closings(venue.policy, venue.state, at(13, 5)) == []  # said until 30 min past its end
    venue.bind(DUO, ADULT_3, CHILD_3).admit(ADULT_3, CHILD_3, now=at(14))
    found = closings(venue.policy, venue.state, at(17, 45))
    assert [(c.session, c.phase) for c in found] == [("", "before"), ("PM", "before")]
    assert {r.uid for r in found[1].rows} == {CHILD_3}
    (said,) = [a for a in announcements(found) if a["session"] == "PM"]
    assert said["text"]["zh-CN"].startswith("各位游客,PM 场次将于 18:00 结束。")


def test_hub_sweep_puts_the_closing_first_marked_when_critical() -> None:
    from zoneinfo import ZoneInfo

    from hub.views.console.family import show_sweep

    venue = children_left_inside()
    _ = words("en")
    found = closings(venue.policy, venue.state, at(18, 25))
    answer = {
        "closing": [c.as_dict() | closing_alert(c, _) for c in found],
        "headcount": {"inside": 2, "adults": 0},
        "children": [],
    }
    lines = show_sweep(answer, _, ZoneInfo("Asia/Shanghai"))
    assert lines[0] == "!! closed 25 min ago: 2 children still inside"
