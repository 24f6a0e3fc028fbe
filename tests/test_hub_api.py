"""The hub's JSON API and its access rules, against a running venue of real processes."""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path

import pytest
from gate_rig import ADULT, CHILD, wait_for
from venue_rig import Venue

GUARDIAN = "13800138000"


@pytest.fixture
def venue(tmp_path: Path, fresh_broker):
    v = Venue(tmp_path, fresh_broker())
    v.start_hub()
    yield v
    v.close()


def status_of(v: Venue, path: str, who: str | None = None) -> int:
    try:
        v.api(path, who)
    except urllib.error.HTTPError as exc:
        return exc.code
    return 200


def family_inside(v: Venue) -> None:
    for gate in ("D1", "E1"):
        v.start_gate(gate)
    assert v.scan("D1", "T1", "barcode") == "OK_BIND"
    assert v.scan("D1", ADULT) == "OK_BIND"
    assert v.scan("D1", CHILD) == "OK_BIND"
    assert v.scan("D1", "TSOLO", "barcode") == "OK_BIND"
    v.wait_bound(("E1",), (ADULT, CHILD))  # the desk's bindings reached E1
    assert v.scan("E1", ADULT) == "OK_ENTRY"
    assert v.scan("E1", CHILD) == "OK_ENTRY"
    v.wait_settled()


def test_the_headcount_has_exactly_the_documented_fields(venue):
    headcount = venue.api("/api/headcount", None)
    assert set(headcount) == {
        "inside",
        "adults",
        "children",
        "unaccompanied_children",
        "groups_inside",
        "capacity",
        "as_of",
        "gates",
        "live",
        "stale_since",
    }
    assert headcount["capacity"] == 100


def test_open_endpoints_need_no_token_and_personal_data_does(venue):
    for path in ("/api/headcount", "/api/gates", "/api/openapi.json", "/healthz"):
        assert status_of(venue, path) == 200, path
    for path in ("/api/sweep", "/api/findings", "/api/reports/daily"):
        assert status_of(venue, path) == 401, path
        assert status_of(venue, path, "desk") == 401, path
    assert status_of(venue, f"/api/lookup/{ADULT}") == 401
    venue.tokens["staff"] = "a-wrong-token-of-some-length"
    assert status_of(venue, "/api/findings", "staff") == 401


def test_a_lookup_shows_the_family_and_the_guardian_phone_to_staff_only(venue):
    family_inside(venue)
    at_desk = venue.api(f"/api/lookup/{ADULT.lower()}", "desk")
    assert at_desk["group"] == "T1"
    states = {m["uid"]: m["state"] for m in at_desk["members"]}
    assert states == {ADULT: "inside", CHILD: "inside"}
    solo = venue.api("/api/lookup/TSOLO", "desk")
    assert GUARDIAN not in str(solo) and GUARDIAN[-4:] in str(solo)
    assert GUARDIAN in str(venue.api("/api/lookup/TSOLO", "staff"))
    assert status_of(venue, "/api/lookup/04FFFFFFFFFFFF", "desk") == 404


def test_the_openapi_description_names_every_route(venue):
    spec = venue.api("/api/openapi.json", None)
    assert spec["openapi"].startswith("3.")
    for path in ("/api/headcount", "/api/lookup/{credential}", "/api/sweep", "/api/stream"):
        assert path in spec["paths"]


def test_static_files_never_leave_their_directory(venue):
    url = f"http://127.0.0.1:{venue.http_port}/static/../service.py"
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(url, timeout=5)
    assert refused.value.code == 404


def test_a_token_file_others_can_read_is_refused_at_start(tmp_path, fresh_broker):
    v = Venue(tmp_path, fresh_broker())
    try:
        v.start_hub()
        v.hub.stop()
        (v.secrets / "staff.token").chmod(0o644)
        config = v.root / "hub" / "hub.toml"
        import subprocess
        import sys

        result = subprocess.run(
            [sys.executable, "-m", "hub", "-c", str(config), "run"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert result.returncode == 78  # EX_CONFIG
        assert "staff.token" in result.stderr and "0600" in result.stderr
    finally:
        v.close()


def alerts_of(v: Venue, kind: str) -> list[dict[str, str]]:
    return [a for a in v.api("/api/alerts", None) if a["kind"] == kind]


def test_the_alerts_warn_of_a_missing_roster_and_name_a_gate_left_off_it(tmp_path, fresh_broker):
    """No [gates]: roles go unchecked, said with the fix. A roster without E1: E1's entries are
    all refused, so the alerts name E1 and the --gates to type."""
    v = Venue(tmp_path, fresh_broker())
    v.forged = True  # E1's entries are refused on purpose here
    try:
        v.start_hub(roster={})
        (no_roster,) = wait_for(lambda: alerts_of(v, "no_roster"), what="no_roster alert")
        assert no_roster["level"] == "warning"
        assert "install-hub --gates ID:ROLE" in no_roster["text"]
        assert v.hub is not None
        v.hub.stop()
        v.start_hub(roster={"D1": "desk", "X1": "exit"})
        v.start_gate("E1")
        assert v.scan("E1", ADULT) != ""  # a decision journalled and sent
        (unknown,) = wait_for(lambda: alerts_of(v, "unknown_gate"), what="E1 named")
        assert "gate E1 not on the venue's roster" in unknown["text"], unknown
        assert "install-hub --gates E1:ROLE" in unknown["text"]
        assert not alerts_of(v, "no_roster")
        refused = wait_for(lambda: v.refusals().get("hub"), what="the hub refusing E1's entries")
        assert set(refused) == {"unknown_gate"}, refused
    finally:
        v.close()
