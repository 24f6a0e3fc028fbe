"""The demo's judge (`venue.summary`): a day passes only if every answer was the code the
simulator expected and the hub holds the moves the plan called for, besides the hub agreeing
with the ground truth. An all-denied day, where the hub and the truth both say nobody is in, and
a day with one unexpected code both fail; so does a daemon that died."""

from __future__ import annotations

from collections import Counter
from datetime import date
from types import SimpleNamespace

from venue.as_planned import Scanned
from venue.plan import Story, make_plan
from venue.summary import Report, judge_demo
from venue.truth import Checkpoint, Count

NOBODY = Count(0, 0, 0, 0)


def the_day(plan, code_of=lambda code, _family: code):
    """The scans of a demo day that goes as planned (`code_of` may change a gate's answer),
    and the entries' bodies the hub would hold."""
    scans, bodies = [], []

    def scan(gate, value, planned, family, events=()):
        code = code_of(planned, family)
        scans.append(Scanned(gate, value, code, frozenset({planned})))
        bodies.append(
            {"scan": {"value": value}, "decision": {"code": code}, "events": list(events)}
        )

    for f in plan.families:
        scan("D1", f.ticket, "OK_BIND", f)
        for uid in f.bands:
            scan("D1", uid, "OK_BIND", f)
        for uid in f.bands:
            scan(f.entry_gate, uid, "OK_ENTRY", f)
        if f.story is Story.TEMPORARY:
            scan(f.away_exit, f.adults[-1], "OK_TEMP_EXIT", f)
            scan(f.back_entry, f.adults[-1], "OK_REENTRY", f)
        if f.story is Story.LEAVES_FIRST:
            scan(f.away_exit, f.adults[0], "OK_EXIT", f)
            bodies.append({"events": [{"type": "GroupFlagged", "group": f.ticket}]})
            scan(f.back_entry, f.adults[0], "OK_REENTRY", f)
        if f.solo:
            scan(f.exit_gate, f.children[0], "DENY_GUARDIAN_PICKUP", f)
            scan(f.exit_gate, plan.staff_badge, "OK_STAFF", f)
            scan(f.exit_gate, f.children[0], "OK_OVERRIDE", f)
        else:
            for uid in f.bands:
                scan(f.exit_gate, uid, "OK_EXIT", f)
    return scans, bodies


def report(plan, scans, bodies, deaths=()):
    sim = SimpleNamespace(
        tally=SimpleNamespace(scans=scans, codes=Counter(), checks=[], surprises={}, escorted=0),
        hands=SimpleNamespace(overrides=True),
        checkpoints=[Checkpoint("at closing", 17 * 3600.0, NOBODY, NOBODY, True)],
        outage=None,
    )
    judged = judge_demo(plan, sim, bodies)
    return Report(plan, sim, [], [], judged, list(deaths))


def test_a_day_as_planned_passes():
    plan = make_plan(8, 5, date(2026, 7, 18), "UTC")
    done = report(plan, *the_day(plan))
    assert done.ok, done.judgement.lines()
    assert done.result() == (
        "RESULT: hub == ground truth, lost 0, duplicates 0, the day as planned"
    )


def test_an_all_denied_day_fails_though_the_hub_equals_the_ground_truth():
    plan = make_plan(8, 5, date(2026, 7, 18), "UTC")
    denied = report(plan, *the_day(plan, lambda code, _f: "DENY_UNKNOWN"))
    assert denied.agrees  # 0 inside by the hub, 0 by the truth: the old oracle passed it
    assert not denied.ok
    assert denied.result().startswith("RESULT: FAILED: hub == ground truth")
    assert "NOT as planned" in denied.result()
    assert denied.judgement.happened["OK_ENTRY"] == 0
    assert denied.judgement.planned["OK_ENTRY"] == plan.people


def test_one_unexpected_code_fails_the_day():
    plan = make_plan(8, 5, date(2026, 7, 18), "UTC")
    child_alone = next(f for f in plan.families if f.story is Story.CHILD_ALONE)
    scans, bodies = the_day(plan)
    uid = child_alone.children[0]  # tries the exit alone, and is let out: the rules regressed
    expected = frozenset({"DENY_CHILD_NEEDS_ADULT"})
    scans.append(Scanned(child_alone.away_exit, uid, "OK_EXIT", expected))
    bodies.append({"scan": {"value": uid}, "decision": {"code": "OK_EXIT"}, "events": []})
    odd = report(plan, scans, bodies)
    assert not odd.ok
    assert odd.judgement.unexpected == [
        f"{child_alone.away_exit} {uid}: OK_EXIT, expected DENY_CHILD_NEEDS_ADULT"
    ]
    assert any("exits" in line for line in odd.judgement.off_plan)  # one exit too many


def test_a_missing_unaccompanied_flag_fails_the_day():
    plan = make_plan(8, 5, date(2026, 7, 18), "UTC")
    scans, bodies = the_day(plan)
    bodies = [b for b in bodies if "decision" in b]  # the hub never flagged the group
    flagless = report(plan, scans, bodies)
    assert not flagless.ok
    assert any("unaccompanied flags 0 (planned 1)" in line for line in flagless.judgement.off_plan)


def test_a_daemon_that_died_during_the_day_fails_it():
    plan = make_plan(8, 5, date(2026, 7, 18), "UTC")
    dead = report(plan, *the_day(plan), deaths=["X1 exited with status 1:\nTraceback ..."])
    assert not dead.ok and "1 daemons died" in dead.result()


def test_a_misread_band_is_a_lost_read_but_a_day_of_bad_tokens_fails():
    """The emulated readers on a loaded machine misread a band now and then (DENY_BAD_TOKEN);
    the family taps again. A regression that refuses every token still fails: the hub holds
    none of the planned moves."""
    plan = make_plan(8, 5, date(2026, 7, 18), "UTC")
    scans, bodies = the_day(plan)
    first = next(s for s in scans if s.expected == {"OK_ENTRY"})
    misread = Scanned(first.gate, first.value, "DENY_BAD_TOKEN", first.expected)
    scans.insert(scans.index(first), misread)  # then tapped again, and let in
    retried = report(plan, scans, bodies)
    assert retried.ok, retried.judgement.lines()
    assert retried.judgement.explained == {"DENY_BAD_TOKEN (a misread)": 1}

    refused = report(plan, *the_day(plan, lambda code, _f: "DENY_BAD_TOKEN"))
    assert not refused.ok
    assert refused.judgement.happened["OK_ENTRY"] == 0 and refused.judgement.off_plan
