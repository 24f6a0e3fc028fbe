"""Who authorises a desk action: the staff badge tapped on that desk's reader within the pairing
window (`gate.core.staff_at_desk`). Not another desk's badge, not one tapped too long ago, not
one revoked since."""

from __future__ import annotations

from rules_helpers import DESK, DESK_2, STAFF, T0, WINDOW_S, Venue, later

from gate.core import Code, Mode, staff_at_desk
from gate.core.model import Refusal


def test_the_badge_tapped_at_this_desk_within_the_window_authorises() -> None:
    venue = Venue()
    assert venue.badge(DESK, T0, Mode.BIND).code is Code.OK_STAFF
    assert staff_at_desk(venue.state, DESK, later(T0, WINDOW_S), venue.policy) == STAFF


def test_no_badge_a_stale_one_another_desks_or_a_revoked_one_authorises_nobody() -> None:
    venue = Venue()
    nobody = staff_at_desk(venue.state, DESK, T0, venue.policy)
    assert isinstance(nobody, Refusal) and "tap a staff badge" in nobody.message
    venue.badge(DESK, T0, Mode.BIND)
    stale = staff_at_desk(venue.state, DESK, later(T0, WINDOW_S + 1), venue.policy)
    assert isinstance(stale, Refusal) and stale.code is Code.DENY_BINDING
    assert isinstance(staff_at_desk(venue.state, DESK_2, T0, venue.policy), Refusal)
    venue.revoke(STAFF, "left the venue's staff")
    revoked = staff_at_desk(venue.state, DESK, T0, venue.policy)
    assert isinstance(revoked, Refusal) and revoked.code is Code.DENY_REVOKED
    assert "left the venue's staff" in revoked.message
