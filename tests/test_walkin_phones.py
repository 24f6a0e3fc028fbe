"""A walk-in child's guardian phone goes to the hub alone (docs/desk.md): the event every gate
hears holds it masked; the full number is the desk's own book (gate/store/phone_book.py) and
the hub's, sent on the desk's own topic (gate/link/guardian_phone.py) and taken by the hub
only from a desk of its roster for a walk-in group of that desk
(hub/service/guardian_phones.py). An entry written before phones were masked in the event
still gives the hub its number, and `gatectl journal` shows it masked."""

from __future__ import annotations

import json
import logging
import os
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rules_helpers import Venue
from test_rules_guardians import walk_in

from gate.core import fold
from gate.core.guardians import registered_phone, walkin_ticket
from gate.daemon.journal_shown import shown
from gate.link.codec import event_to_dict
from gate.link.guardian_phone import GuardianPhone, guardian_topic
from gate.link.protocol import Topics, dump
from gate.store.phone_book import PhoneBook
from hub.service.guardian_phones import GuardianPhones
from hub.store.guardian_phones import GuardianPhoneBook

TOPICS = Topics()
ROSTER = {"D1": "desk", "D2": "desk", "X1": "exit"}
GROUP = "W-D1-20260701-1"
PHONE = "13800138000"


def test_the_event_holds_the_phone_masked_and_the_hub_gets_it_from_the_desk() -> None:
    venue = Venue()
    _, (registered,) = walk_in(venue)
    assert registered.phone == "*******8000"
    assert registered_phone(venue.state, GROUP) == ""  # nobody told this state the number
    ticket = walkin_ticket(venue.state, GROUP)
    assert ticket is not None and ticket.guardian_phone == ""
    venue.state.guardian_phones[GROUP] = PHONE  # as the hub is told it by the desk
    assert registered_phone(venue.state, GROUP) == PHONE
    ticket = walkin_ticket(venue.state.copy(), GROUP)  # copies share what was told
    assert ticket is not None and ticket.guardian_phone == PHONE


def test_an_event_written_before_with_the_phone_in_full_still_gives_it() -> None:
    venue = Venue()
    _, (registered,) = walk_in(venue)
    old = Venue()
    written = replace(registered, phone=PHONE)  # by a desk of an older release
    fold(old.state, written)
    assert registered_phone(old.state, GROUP) == PHONE
    entry = {"seq": 1, "kind": "decision", "body": {"events": [event_to_dict(written)]}}
    assert shown(entry)["body"]["events"][0]["phone"] == "*******8000"  # gatectl journal
    assert entry["body"]["events"][0]["phone"] == PHONE  # what is journalled is not changed
    new = {"seq": 2, "kind": "decision", "body": {"events": [event_to_dict(registered)]}}
    assert shown(new) is new


def test_the_desks_book_keeps_the_phone_in_a_file_of_its_own(tmp_path: Path, caplog) -> None:
    path = tmp_path / "guardian_phones.json"
    book = PhoneBook(path)
    book.put(GROUP, PHONE)
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert PhoneBook(path).get(GROUP) == PHONE  # a restarted desk has it
    with pytest.raises(ValueError):
        book.put(GROUP, "*******8000")
    path.write_text("{not json")
    assert PhoneBook(path).items() == []  # set aside, said; the journal still has the walk-in
    assert (tmp_path / "guardian_phones.unreadable").exists() and "unreadable" in caplog.text
    path.write_text(json.dumps({GROUP: PHONE, "W-D1-20260701-2": "12345", "": PHONE}))
    assert PhoneBook(path).items() == [(GROUP, PHONE)]


def message(gate: str = "D1", group: str = GROUP, phone: str = PHONE) -> bytes:
    return dump(GuardianPhone(gate=gate, group=group, phone=phone))


@pytest.fixture
def hub(tmp_path: Path):
    told: dict[str, str] = {}
    book = GuardianPhoneBook(tmp_path / "guardian_phones.db")
    phones = GuardianPhones(book, TOPICS, ROSTER, told.__setitem__)
    yield phones, told, tmp_path / "guardian_phones.db"
    book.close()


def test_the_hub_keeps_a_desks_phone_for_its_own_walkin(hub, caplog) -> None:
    phones, told, path = hub
    caplog.set_level(logging.INFO)
    phones.received(guardian_topic(TOPICS, "D1"), message(), retained=False)
    phones.received(guardian_topic(TOPICS, "D1"), message(), retained=False)  # sent again
    assert told == {GROUP: PHONE} and phones.counts == {"kept": 1, "refused": 0}
    assert GuardianPhoneBook(path).all() == {GROUP: PHONE}  # a restarted hub has it
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert PHONE not in caplog.text and "*******8000" in caplog.text


@pytest.mark.parametrize(
    ("gate", "payload", "retained", "why"),
    [
        ("X1", message(gate="X1", group="W-X1-20260701-1"), False, "no desk or handheld"),
        ("D9", message(gate="D9", group="W-D9-20260701-1"), False, "no desk or handheld"),
        ("D2", message(), False, "names another gate"),
        ("D1", message(), True, "retained"),
        ("D1", message(group="W-D2-20260701-1"), False, "not a walk-in group of that desk"),
        ("D1", message(group="T1"), False, "not a walk-in group of that desk"),
        ("D1", message()[:-1] + b', "extra": 1}', False, "unreadable"),
        ("D1", message().replace(PHONE.encode(), b"13800138"), False, "unreadable"),
    ],
)
def test_anything_but_a_desks_own_walkin_phone_is_refused(
    hub, caplog, gate: str, payload: bytes, retained: bool, why: str
) -> None:
    phones, told, path = hub
    phones.received(guardian_topic(TOPICS, gate), payload, retained)
    assert told == {} and GuardianPhoneBook(path).all() == {}
    assert phones.counts == {"kept": 0, "refused": 1}
    assert why in caplog.text and "13800138" not in caplog.text


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    payload=st.binary(max_size=300)
    | st.dictionaries(
        st.sampled_from(["v", "gate", "group", "phone", "extra"]),
        st.none()
        | st.integers(0, 2)
        | st.text(max_size=80)
        | st.sampled_from([PHONE, GROUP, "D1"]),
    ).map(lambda d: json.dumps(d).encode()),
    gate=st.sampled_from(["D1", "D2", "X1", "D9"]),
    retained=st.booleans(),
)
def test_whatever_comes_on_a_guardian_topic_the_hub_never_fails(
    hub, payload: bytes, gate: str, retained: bool
) -> None:
    phones, told, _path = hub
    told.clear()
    phones.received(guardian_topic(TOPICS, gate), payload, retained)  # never raises
    if told:  # only a desk's own, for a walk-in group of that desk, a mobile number
        assert gate == "D1" and not retained and told == {GROUP: PHONE}
