"""The hub finds copied and rolled-back bands by their passage counters (audit_counters.py): a
band's counter that goes backwards or comes again with other content is a critical finding
naming the band and the gates, raised on the display at once (by the band's group there)."""

from __future__ import annotations

from datetime import UTC

from test_hub_audit import family_inside, forge, moved, net  # noqa: F401  (net: the fixture)
from test_hub_reconcile import Net, family

from gate.core import Code, MemberState
from hub.fold.audit_counters import clone_alerts
from hub.views.labels import label


def cloned(net: Net) -> list[tuple[str, tuple[str, ...], str | None]]:  # noqa: F811
    net.hub.venue.rebuild()
    return [(f.kind, f.gates, f.uid) for f in net.hub.venue.findings() if f.kind == "band_cloned"]


def test_counters_that_only_go_up_raise_nothing(net: Net) -> None:  # noqa: F811
    family_inside(net, "A")
    _, adult, _ = family("A")
    forge(net, "X1", moved(net, "X1", adult, MemberState.TEMP_OUT, counter=2))
    forge(net, "E1", moved(net, "E1", adult, MemberState.INSIDE, counter=3), code=Code.OK_REENTRY)
    forge(net, "X2", moved(net, "X2", adult, MemberState.TEMP_OUT, counter=4))
    assert cloned(net) == []


def test_a_counter_that_goes_backwards_is_a_copied_band_naming_the_gates(net: Net) -> None:  # noqa: F811
    family_inside(net, "A")
    _, adult, _ = family("A")
    forge(net, "X1", moved(net, "X1", adult, MemberState.TEMP_OUT, counter=5))
    forge(net, "E1", moved(net, "E1", adult, MemberState.INSIDE, counter=6), code=Code.OK_REENTRY)
    forge(net, "X2", moved(net, "X2", adult, MemberState.TEMP_OUT, counter=4))  # the copy
    assert cloned(net) == [("band_cloned", ("E1", "X2"), adult)]
    (found,) = [f for f in net.hub.venue.findings() if f.kind == "band_cloned"]
    assert found.critical and "went backwards" in found.detail and adult in found.detail
    (alert,) = clone_alerts([found], UTC)
    assert alert["level"] == "critical" and "E1, X2" in alert["text"]
    assert "group T-A" in alert["text"] and adult not in alert["text"]  # the display is open
    assert label("band_cloned") == "Band copied or rolled back"


def test_a_counter_that_comes_again_from_another_gate_is_two_bands_with_one_uid(net: Net) -> None:  # noqa: F811
    family_inside(net, "A")
    _, adult, _ = family("A")
    forge(net, "X1", moved(net, "X1", adult, MemberState.TEMP_OUT, counter=2))
    forge(net, "X2", moved(net, "X2", adult, MemberState.TEMP_OUT, counter=2))
    found = cloned(net)
    assert found == [("band_cloned", ("X1", "X2"), adult)]
    (finding,) = [f for f in net.hub.venue.findings() if f.kind == "band_cloned"]
    assert "came again" in finding.detail


def test_the_display_raises_one_alert_per_copied_band(net: Net) -> None:  # noqa: F811
    family_inside(net, "A")
    _, adult, _ = family("A")
    forge(net, "X1", moved(net, "X1", adult, MemberState.TEMP_OUT, counter=3))
    forge(net, "X2", moved(net, "X2", adult, MemberState.TEMP_OUT, counter=1))
    net.hub.venue.rebuild()
    raised = clone_alerts(net.hub.venue.findings(), UTC)
    assert [(a["level"], a["kind"]) for a in raised] == [("critical", "band_cloned")]
