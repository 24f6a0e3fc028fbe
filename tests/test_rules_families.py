"""Is the family complete? (提示一家人是否到齐) The desk's binding left short, as tables.

A group is incomplete while a slot of its ticket has no band (derived from the state); a ticket
opened at the desk while another's binding there is short says who of that family is missing.
"""

from __future__ import annotations

import pytest
from rules_helpers import (
    ADULT_1,
    ADULT_2,
    ADULT_3,
    CHILD_1,
    CHILD_2,
    CHILD_3,
    DESK,
    DESK_2,
    DUO,
    FAMILY,
    Venue,
)

from gate.core import Code
from gate.core.families import Missing, incomplete, left_short, missing


def test_a_family_with_every_band_bound_is_complete() -> None:
    v = Venue().bind(FAMILY, ADULT_1, ADULT_2, CHILD_1, CHILD_2)
    assert incomplete(v.state) == []
    assert not missing(v.state.groups[FAMILY]).any


@pytest.mark.parametrize(
    ("bands", "adults", "children", "said"),
    [
        pytest.param((), 2, 2, "2 adult(s), 2 child(ren) not bound", id="nobody"),
        pytest.param((ADULT_1, CHILD_1), 1, 1, "1 adult(s), 1 child(ren) not bound", id="half"),
        pytest.param((ADULT_1, ADULT_2, CHILD_1), 0, 1, "1 child(ren) not bound", id="a child"),
        pytest.param((ADULT_1, CHILD_1, CHILD_2), 1, 0, "1 adult(s) not bound", id="an adult"),
    ],
)
def test_opening_the_next_ticket_says_who_of_the_family_is_missing(
    bands: tuple[str, ...], adults: int, children: int, said: str
) -> None:
    v = Venue().bind(FAMILY, *bands)
    opened = v.ticket(DUO)
    assert opened.code is Code.OK_BIND and opened.group == DUO
    assert opened.message.endswith(f"; ticket {FAMILY} left short: {said}")
    assert incomplete(v.state) == [Missing(DUO, 1, 1), Missing(FAMILY, adults, children)]


def test_the_family_stays_incomplete_until_the_rest_bind() -> None:
    v = Venue().bind(FAMILY, ADULT_1, CHILD_1).bind(DUO, ADULT_3, CHILD_3)
    assert incomplete(v.state) == [Missing(FAMILY, 1, 1)]
    again = v.ticket(FAMILY)  # the rest of the family comes back to the desk
    assert again.code is Code.OK_BIND and "left short" not in again.message
    v.bind(FAMILY, ADULT_2, CHILD_2)
    assert incomplete(v.state) == []


def test_a_full_binding_or_the_same_ticket_again_leaves_nobody_short() -> None:
    v = Venue().bind(DUO, ADULT_3, CHILD_3)
    assert left_short(v.state, DESK, FAMILY) is None  # closed when full
    v = Venue().bind(FAMILY, ADULT_1)
    assert left_short(v.state, DESK, FAMILY) is None  # the same ticket scanned again
    assert "left short" not in v.ticket(FAMILY).message


def test_another_desk_opening_a_ticket_says_nothing_of_this_desks_binding() -> None:
    v = Venue().bind(FAMILY, ADULT_1)
    other = v.ticket(DUO, desk=DESK_2)
    assert other.code is Code.OK_BIND and "left short" not in other.message
    assert left_short(v.state, DESK, DUO) == Missing(FAMILY, 1, 2)
