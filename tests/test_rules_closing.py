"""Closing and collection, and sessions (场次), in the rules core: the manual's exit procedure.

临时出园: an adult leaving with no adult of the group left inside must collect the children before
closing; after closing an entry gate lets in only such an adult (OK_COLLECT). A session's ticket
is valid only within its session's hours; exits are always allowed.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest
from rules_helpers import (
    ADULT_1,
    ADULT_2,
    ADULT_3,
    CHILD_1,
    CHILD_2,
    CHILD_3,
    DUO,
    E2,
    FAMILY,
    X1,
    Venue,
    at,
    family_inside,
    policy,
)

from gate.config import ConfigError, load_policy
from gate.core import Code, MemberState, Mode, PairingOpened, Ticket
from gate.core import closing as core_closing
from gate.i18n.notices import NOTICES, message_text
from gate.link.protocol import ticket_of, ticket_row
from gate.store.allowlist import AllowlistStore, load_csv_dir

SESSIONS = {"AM": "09:30-12:30", "PM": "13:30-18:00"}


def with_sessions(venue: Venue, **tickets: str) -> Venue:
    """The venue with the AM and PM sessions; `tickets` (code -> session) made session tickets."""
    venue.policy = policy(sessions=SESSIONS)
    for code, session in tickets.items():
        t = venue.state.allowlist.tickets[code]
        venue.state.allowlist.tickets[code] = replace(t, session=session)
    return venue


# --- closing and collection ---------------------------------------------------------------------


def parent_out_for_a_while() -> Venue:
    """The family inside; both adults out for a while, the children left inside."""
    venue = family_inside()
    venue.step_out(ADULT_1, at(16))
    venue.step_out(ADULT_2, at(16, 0, 1))
    return venue


def test_after_closing_an_adult_comes_in_to_collect_the_children_and_leaves_with_them() -> None:
    venue = parent_out_for_a_while()
    collect = venue.enter(ADULT_1, at(18, 20))
    assert collect.code is Code.OK_COLLECT
    assert collect.message == (
        "in only to collect 2 child(ren) of group T-FAMILY: leave with them (closed 18:00)"
    )
    assert any(isinstance(e, PairingOpened) and e.direction is Mode.ENTRY for e in venue.events)
    assert venue.state.members[ADULT_1].state is MemberState.INSIDE
    out = [venue.leave(uid, at(18, 25)) for uid in (ADULT_1, CHILD_1, CHILD_2)]
    assert [d.code for d in out] == [Code.OK_EXIT] * 3
    assert venue.state.inside == 0


@pytest.mark.parametrize(
    ("who", "code"),
    [
        (CHILD_3, Code.DENY_CLOSED),  # a child never comes in after closing
        (ADULT_3, Code.DENY_CLOSED),  # an adult whose group has no child inside
    ],
    ids=["child", "adult of a group with no child inside"],
)
def test_after_closing_nobody_else_comes_in(who: str, code: Code) -> None:
    venue = parent_out_for_a_while()
    venue.bind(DUO, ADULT_3, CHILD_3)
    assert venue.enter(who, at(18, 20)).code is code


def test_a_collection_still_passes_the_identity_checks() -> None:
    venue = parent_out_for_a_while().revoke(ADULT_1, "lost band reported")
    assert venue.enter(ADULT_1, at(18, 20)).code is Code.DENY_REVOKED


def test_before_opening_nobody_comes_in_to_collect() -> None:
    """Closed in the morning is not the evening's collection: the venue is not yet open."""
    venue = parent_out_for_a_while()
    assert venue.enter(ADULT_1, at(8, 30)).code is Code.DENY_CLOSED


def test_a_temporary_exit_that_leaves_children_alone_says_who_and_the_closing_time() -> None:
    venue = family_inside()
    first = venue.step_out(ADULT_1, at(15))
    assert first.code is Code.OK_TEMP_EXIT
    assert "still inside" not in first.message and "collect" not in first.message  # ADULT_2 in
    last = venue.step_out(ADULT_2, at(15, 1))
    assert last.code is Code.OK_TEMP_EXIT
    assert last.message == (
        "temporary exit: come back with this band; group T-FAMILY has 2 child(ren) inside with "
        "no adult: collect them before closing at 18:00"
    )
    assert message_text(last.message, "zh-CN") == (
        "临时出园:请凭此手环返回;T-FAMILY 组仍有 2 名儿童在馆内且无监护人陪同:"
        "请在 18:00 闭馆前接走小朋友"
    )


def test_an_adults_final_exit_with_the_group_inside_says_who_is_still_inside() -> None:
    venue = family_inside()
    goodbye = venue.leave(ADULT_1, at(15))
    assert goodbye.code is Code.OK_EXIT
    assert goodbye.message == (
        "goodbye: please return the band; still inside of group T-FAMILY: 1 adult(s), "
        "2 child(ren); closing at 18:00"
    )
    assert "成人 1 名,儿童 2 名" in message_text(goodbye.message, "zh-CN")


def test_after_closing_a_leaving_adult_is_told_the_venue_closed_not_that_it_is_closing() -> None:
    venue = family_inside()
    goodbye = venue.leave(ADULT_1, at(18, 10))
    assert goodbye.code is Code.OK_EXIT
    assert goodbye.message == (
        "goodbye: please return the band; still inside of group T-FAMILY: 1 adult(s), "
        "2 child(ren); closed at 18:00"
    )
    assert message_text(goodbye.message, "zh-CN").endswith("儿童 2 名;已于 18:00 闭馆")
    venue = family_inside()
    assert venue.step_out(ADULT_1, at(18, 5)).code is Code.OK_TEMP_EXIT
    last = venue.step_out(ADULT_2, at(18, 6))
    assert last.code is Code.OK_TEMP_EXIT
    assert last.message.endswith("with no adult: collect them now (closed at 18:00)")
    assert "已于 18:00 闭馆,请立即接走小朋友" in message_text(last.message, "zh-CN")
    before = family_inside().leave(ADULT_1, at(17, 59))
    assert before.message.endswith("closing at 18:00")  # not yet closed


def test_the_last_of_a_group_to_leave_is_only_told_goodbye() -> None:
    venue = family_inside()
    venue.release(ADULT_1, CHILD_1, CHILD_2, ADULT_2, now=at(15))
    assert venue.leave(ADULT_2, at(15)).code is Code.DENY_ALREADY_EXITED
    venue = family_inside()
    venue.release(ADULT_2, CHILD_1, CHILD_2, now=at(15))
    assert venue.leave(ADULT_1, at(15, 0, 5)).message == "goodbye: please return the band"


def test_the_core_says_the_notices_word_for_word_as_the_translation_layer_knows_them() -> None:
    assert (
        core_closing.COLLECT,
        core_closing.TEMP_ALONE,
        core_closing.FINAL_OTHERS,
        core_closing.TEMP_ALONE_CLOSED,
        core_closing.FINAL_OTHERS_CLOSED,
    ) == NOTICES
    assert message_text("goodbye: please return the band", "zh-CN") == (
        "goodbye: please return the band"
    )  # not a notice: as it is


# --- sessions -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "code"),
    [
        (at(9, 29), Code.DENY_NOT_VALID_NOW),  # the venue is open (09:00), the session not yet
        (at(9, 30), Code.OK_ENTRY),
        (at(12, 29, 59), Code.OK_ENTRY),
        (at(12, 30), Code.DENY_NOT_VALID_NOW),
        (at(14, 1), Code.DENY_NOT_VALID_NOW),
    ],
)
def test_a_session_ticket_comes_in_only_within_its_session(now: datetime, code: Code) -> None:
    venue = with_sessions(Venue(), **{FAMILY: "AM"}).bind(FAMILY, ADULT_1, ADULT_2)
    assert venue.enter(ADULT_1, now).code is code


def test_outside_its_session_the_refusal_names_the_session_and_its_hours() -> None:
    venue = with_sessions(Venue(), **{FAMILY: "AM"}).bind(FAMILY, ADULT_1, ADULT_2)
    refused = venue.enter(ADULT_1, at(14, 1))
    assert refused.code is Code.DENY_NOT_VALID_NOW
    assert refused.message == "ticket valid in session AM 09:30-12:30 only, now 14:01"


def test_exits_are_always_allowed_after_the_session() -> None:
    venue = with_sessions(family_inside(at(10)), **{FAMILY: "AM"})
    out = [venue.leave(uid, at(14, 1)) for uid in (ADULT_1, CHILD_1, CHILD_2, ADULT_2)]
    assert [d.code for d in out] == [Code.OK_EXIT] * 4


def test_a_ticket_of_a_session_the_policy_does_not_name_is_not_valid() -> None:
    venue = with_sessions(Venue(), **{FAMILY: "EVENING"}).bind(FAMILY, ADULT_1)
    refused = venue.enter(ADULT_1, at(10))
    assert refused.code is Code.DENY_NOT_VALID_NOW
    assert "EVENING" in refused.message


def test_after_its_session_an_adult_comes_back_to_collect_its_children() -> None:
    venue = with_sessions(family_inside(at(10)), **{FAMILY: "AM"})
    venue.step_out(ADULT_1, at(11))
    venue.step_out(ADULT_2, at(11, 0, 1))
    collect = venue.enter(ADULT_2, at(12, 45), gate=E2)
    assert collect.code is Code.OK_COLLECT
    assert collect.message.endswith("(closed 12:30)")
    assert venue.enter(ADULT_1, at(12, 46)).code is Code.OK_COLLECT  # either adult may come
    assert venue.leave(ADULT_2, at(12, 50), gate=X1).code is Code.OK_EXIT


def test_a_session_adults_temporary_exit_names_the_sessions_end() -> None:
    venue = with_sessions(family_inside(at(10)), **{FAMILY: "AM"})
    venue.step_out(ADULT_1, at(11))
    assert venue.step_out(ADULT_2, at(11, 1)).message.endswith("before closing at 12:30")


# --- where sessions are read: the policy, the CSV, the snapshot, the wire -----------------------


def test_the_policy_names_its_sessions_and_refuses_bad_hours(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    head = 'timezone = "Asia/Shanghai"\nopen = "09:30"\nclose = "18:00"\ncapacity = 100\n'
    path.write_text(head + '[sessions]\nAM = "09:30-12:30"\nPM = "13:30-18:00"\n')
    assert load_policy(path).session_hours("PM") is not None
    path.write_text(head + '[sessions]\nAM = "12:30-09:30"\nPM = "1pm"\n')
    with pytest.raises(ConfigError) as refused:
        load_policy(path)
    assert "must start before it ends" in str(refused.value)
    assert "not HH:MM-HH:MM" in str(refused.value)


def write_allowlist(root: Path, tickets: str) -> Path:
    root.mkdir()
    (root / "tickets.csv").write_text(tickets)
    (root / "wristbands.csv").write_text("uid,role\n")
    (root / "staff.csv").write_text("uid,name\n")
    return root


def test_tickets_csv_takes_an_optional_session_column(tmp_path: Path) -> None:
    header = "code,product,adults,children,valid_from,valid_to,guardian_phone,session\n"
    rows = (
        "T1,family,1,1,2026-07-18,2026-07-18,,AM\n"
        "T2,family,1,1,2026-07-18,2026-07-18,,\n"
        "T3,family,1,1,2026-07-18,2026-07-18,,EVENING\n"
    )
    root = write_allowlist(tmp_path / "a", header + rows)
    allowlist, errors = load_csv_dir(root, sessions=SESSIONS)
    assert allowlist.tickets["T1"].session == "AM"
    assert allowlist.tickets["T2"].session == ""
    assert [str(e) for e in errors] == [
        "tickets.csv:4: session 'EVENING' is not one of the venue's sessions (AM, PM): add it "
        "to [sessions] of policy.toml or correct the ticket"
    ]
    old = write_allowlist(
        tmp_path / "b", header.replace(",session", "") + "T1,f,1,0,2026-07-18,2026-07-18,\n"
    )
    assert load_csv_dir(old)[0].tickets["T1"].session == ""


def test_a_session_survives_the_snapshot_and_the_wire(tmp_path: Path) -> None:
    ticket = Ticket("T1", "family", 1, 1, at(10).date(), at(10).date(), session="PM")
    assert ticket_of(ticket_row(ticket)) == ticket
    root = write_allowlist(
        tmp_path / "a",
        "code,product,adults,children,valid_from,valid_to,guardian_phone,session\n"
        "T1,family,1,1,2026-07-01,2026-07-01,,PM\n",
    )
    allowlist, _ = load_csv_dir(root, sessions=SESSIONS)
    with AllowlistStore(tmp_path / "gate.json") as store:
        store.save_snapshot(allowlist, 1)
    with AllowlistStore(tmp_path / "gate.json") as again:
        assert again.load().tickets["T1"].session == "PM"


# --- offline: the session on the band's token ---------------------------------------------------


def test_a_session_tokens_band_keeps_its_hours_at_a_gate_that_never_saw_it() -> None:
    from gate.core import BandToken, Kind, Role, Scan
    from gate.devices.nfc.token import Keyring, decode_token, encode_token

    keys = Keyring((1, bytes(range(16))))
    token = BandToken("T-AM", Role.ADULT, at(10).date(), at(10).date(), 1, 1, "AM")
    message = encode_token(token, "04A1B2C3D4E5F6", keys)
    assert decode_token(message, "04A1B2C3D4E5F6", keys) == token
    whole_day = replace(token, session="")
    plain = encode_token(whole_day, "04A1B2C3D4E5F6", keys)
    assert len(plain) == len(message) - 3  # a ticket of the whole day: version 1, as before
    assert decode_token(plain, "04A1B2C3D4E5F6", keys) == whole_day

    venue = Venue()
    venue.policy = policy(sessions=SESSIONS)  # nothing of T-AM in this gate's allowlist
    scan = Scan("E1", Mode.ENTRY, Kind.NFC, "04A1B2C3D4E5F6", token=token)
    refused = venue.scan(scan, at(14, 1))
    assert refused.code is Code.DENY_NOT_VALID_NOW
    assert "session AM 09:30-12:30" in refused.message
    assert venue.scan(scan, at(10)).code is Code.OK_ENTRY


def test_gatectl_says_the_notice_in_the_technicians_language() -> None:
    from zoneinfo import ZoneInfo

    from gate.i18n import words
    from gate.tools.show_scans import show_scan

    venue = family_inside()
    venue.step_out(ADULT_1, at(15))
    d = venue.step_out(ADULT_2, at(15, 1))
    answer = {
        "decision": {"code": d.code.value, "message": d.message, "group": FAMILY, "role": "adult"},
        "seq": 7,
        "asked_by": {"user": "ana", "uid": 1000},
    }
    first = show_scan(answer, words("zh-CN"), ZoneInfo("Asia/Shanghai"))[0]
    assert first == (
        "OK_TEMP_EXIT: 临时出园:请凭此手环返回;T-FAMILY 组仍有 2 名儿童在馆内且无监护人陪同:"
        "请在 18:00 闭馆前接走小朋友"
    )
