"""The gate's I/O against gpiozero's mock pins, which record every state change with its time."""

from __future__ import annotations

import itertools
import queue
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from gpiozero import Device  # type: ignore[import-untyped]
from gpiozero.pins.mock import MockFactory, MockPin  # type: ignore[import-untyped]

from gate.config import ConfigError
from gate.devices.gpio.gate_io import GateIO
from gate.devices.gpio.pins import GatePins
from gate.devices.gpio.signals import Beep, Signal, Sounds

RELAY, GREEN, RED, AMBER, BUZZER, PASSAGE, STAFF, FIRE = 17, 27, 22, 23, 24, 25, 5, 6
PULSE_S = 0.05
# The passage timeout: room for a loaded machine between a grant and the test's passage edge
# (what waits it out is a test of the timeout, or a window for a call too many).
TIMEOUT_S = 2.0
SHORT = Sounds(granted=Beep(0.02, 0.0, 1), denied=Beep(0.02, 0.02, 3), waiting=Beep(0.02, 0.02, 2))

TURNSTILE = GatePins(
    relay=RELAY,
    pulse_s=PULSE_S,
    green=GREEN,
    red=RED,
    amber=AMBER,
    buzzer=BUZZER,
    passage=PASSAGE,
    staff_button=STAFF,
    fire_alarm=FIRE,
)
DOOR = GatePins(relay=RELAY, relay_mode="hold", hold_s=5.0, green=GREEN, passage=PASSAGE)
HANDHELD = GatePins(green=GREEN, red=RED, buzzer=BUZZER)


MakeIO = Callable[..., GateIO]


def wait_until(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.005)


def levels(pin: MockPin) -> list[bool]:
    return [bool(s.state) for s in pin.states]


def assert_held(pin: MockPin, expected: list[tuple[float, bool]]) -> None:
    """The levels `pin` went through, each change at least the given seconds after the one
    before (gpiozero's own check also bounds them from above, by 50 ms: a loaded machine's timers
    fire later than asked, never earlier)."""
    assert levels(pin) == [level for _, level in expected]
    for state, (least, _) in zip(pin.states, expected, strict=True):
        assert state.timestamp >= least - 0.005, f"{state} came sooner than {least} s"


def rising_edges(pin: MockPin) -> int:
    seen = levels(pin)
    return sum(1 for a, b in itertools.pairwise(seen) if b and not a)


class Calls:
    """Everything the callbacks were given, as the daemon's inbox would hold it."""

    def __init__(self) -> None:
        self.items: queue.Queue[tuple[Any, ...]] = queue.Queue()

    def callbacks(self) -> dict[str, Any]:
        return {
            "on_passage": lambda grant_id, passed: self.items.put(("passage", grant_id, passed)),
            "on_staff_button": lambda: self.items.put(("staff",)),
            "on_fire_alarm": lambda on: self.items.put(("fire", on)),
            "on_unexpected_passage": lambda: self.items.put(("unexpected",)),
        }

    def next(self, timeout: float = 30.0) -> tuple[Any, ...]:
        return self.items.get(timeout=timeout)

    def drained(self) -> list[tuple[Any, ...]]:
        out = []
        while not self.items.empty():
            out.append(self.items.get_nowait())
        return out


@pytest.fixture
def factory() -> MockFactory:
    return MockFactory()


@pytest.fixture
def calls() -> Calls:
    return Calls()


@pytest.fixture
def make_io(factory: MockFactory, calls: Calls) -> Iterator[Callable[..., GateIO]]:
    made: list[GateIO] = []

    def make(pins: GatePins = TURNSTILE, **options: Any) -> GateIO:
        options = {"passage_timeout_s": TIMEOUT_S, "sounds": SHORT, **options}
        io = GateIO(pins, pin_factory=factory, **calls.callbacks(), **options)
        made.append(io)
        return io

    yield make
    for io in made:
        io.close()


def pulse_input(pin: MockPin) -> None:
    """An active-low contact closing and opening again (the default input wiring)."""
    pin.drive_low()
    pin.drive_high()


# The relay.


def test_grant_pulses_the_relay_once_in_pulse_mode(factory: MockFactory, make_io: MakeIO) -> None:
    io = make_io()
    relay = factory.pin(RELAY)
    relay.clear_states()
    io.grant()
    wait_until(lambda: len(relay.states) == 3)
    assert_held(relay, [(0.0, False), (0.0, True), (PULSE_S, False)])


def test_back_to_back_grants_are_separate_pulses_with_a_gap(
    factory: MockFactory, make_io: MakeIO
) -> None:
    io = make_io()
    relay = factory.pin(RELAY)
    relay.clear_states()
    io.grant()
    io.grant()  # a second band scanned while the first pulse is out
    wait_until(lambda: len(relay.states) == 5)
    assert_held(
        relay, [(0.0, False), (0.0, True), (PULSE_S, False), (PULSE_S, True), (PULSE_S, False)]
    )


def test_hold_mode_holds_the_relay_for_hold_s(factory: MockFactory, make_io: MakeIO) -> None:
    io = make_io(GatePins(relay=RELAY, relay_mode="hold", hold_s=0.1))
    relay = factory.pin(RELAY)
    relay.clear_states()
    assert io.grant() is None  # no passage sensor: nothing will be reported
    wait_until(lambda: len(relay.states) == 3)
    assert_held(relay, [(0.0, False), (0.0, True), (0.1, False)])


def test_hold_mode_releases_early_once_the_passage_is_seen(
    factory: MockFactory, make_io: MakeIO, calls: Calls
) -> None:
    io = make_io(DOOR)
    relay = factory.pin(RELAY)
    grant_id = io.grant()
    assert relay.state
    pulse_input(factory.pin(PASSAGE))
    assert calls.next() == ("passage", grant_id, True)
    assert not relay.state  # well before hold_s


def test_active_low_relay_board_idles_high(factory: MockFactory, make_io: MakeIO) -> None:
    io = make_io(GatePins(relay=RELAY, relay_active_high=False, pulse_s=PULSE_S))
    relay = factory.pin(RELAY)
    relay.clear_states()
    io.grant()
    wait_until(lambda: len(relay.states) == 3)
    assert levels(relay) == [True, False, True]


def test_grant_without_opening_the_gate_leaves_the_relay_alone(
    factory: MockFactory, make_io: MakeIO, calls: Calls
) -> None:
    io = make_io()
    relay = factory.pin(RELAY)
    relay.clear_states()
    assert io.grant(open_gate=False) is None
    time.sleep(TIMEOUT_S + 0.05)
    assert levels(relay) == [False]
    assert factory.pin(GREEN).state
    assert calls.drained() == []


# Indicators and buzzer.


@pytest.mark.parametrize(
    ("show", "lit"),
    [
        (GateIO.grant, {GREEN}),
        (GateIO.deny, {RED}),
        (GateIO.idle, set()),
    ],
    ids=["grant", "deny", "idle"],
)
def test_each_signal_lights_its_led(
    factory: MockFactory, make_io: MakeIO, show: Callable[[GateIO], object], lit: set[int]
) -> None:
    io = make_io()
    io.waiting_for_adult()  # something else lit before
    show(io)
    assert {pin for pin in (GREEN, RED, AMBER) if factory.pin(pin).state} == lit


def test_waiting_for_adult_blinks_amber_only(factory: MockFactory, make_io: MakeIO) -> None:
    io = make_io()
    io.deny()
    amber = factory.pin(AMBER)
    io.waiting_for_adult()
    wait_until(lambda: levels(amber)[-3:] == [False, True, False])  # blinking, not steady
    assert not factory.pin(GREEN).state and not factory.pin(RED).state
    assert io.state().signal is Signal.WAITING
    io.idle()
    assert not amber.state


def test_show_s_returns_to_idle(factory: MockFactory, make_io: MakeIO) -> None:
    io = make_io()
    io.deny(show_s=0.05)
    assert factory.pin(RED).state
    wait_until(lambda: not factory.pin(RED).state)
    assert io.state().signal is Signal.IDLE


def test_a_newer_signal_is_not_cut_short_by_an_older_show_s(
    factory: MockFactory, make_io: MakeIO
) -> None:
    io = make_io()
    io.deny(show_s=0.05)
    io.waiting_for_adult()  # holds until the next call
    time.sleep(0.1)
    assert io.state().signal is Signal.WAITING


@pytest.mark.parametrize(
    ("show", "beeps"),
    [(GateIO.grant, 1), (GateIO.deny, 3), (GateIO.waiting_for_adult, 2)],
    ids=["grant", "deny", "waiting"],
)
def test_each_signal_has_its_buzzer_pattern(
    factory: MockFactory, make_io: MakeIO, show: Callable[[GateIO], object], beeps: int
) -> None:
    io = make_io(GatePins(buzzer=BUZZER))
    buzzer = factory.pin(BUZZER)
    buzzer.clear_states()
    show(io)
    wait_until(lambda: rising_edges(buzzer) == beeps and not buzzer.state)
    time.sleep(0.05)
    assert rising_edges(buzzer) == beeps


def test_default_sounds_are_told_apart_by_ear() -> None:
    s = Sounds()
    patterns = {s.granted, s.denied, s.waiting}
    assert len(patterns) == 3


# Passage.


def test_passage_edge_after_grant_reports_passed(
    factory: MockFactory, make_io: MakeIO, calls: Calls
) -> None:
    io = make_io()
    grant_id = io.grant()
    assert grant_id is not None
    pulse_input(factory.pin(PASSAGE))
    assert calls.next() == ("passage", grant_id, True)
    time.sleep(TIMEOUT_S + 0.05)
    assert calls.drained() == []  # once, not again at the timeout
    assert io.state().counts["passed"] == 1


def test_no_passage_within_the_timeout_reports_not_passed_once(
    make_io: MakeIO, calls: Calls
) -> None:
    io = make_io()
    grant_id = io.grant()
    assert calls.next() == ("passage", grant_id, False)
    time.sleep(0.1)
    assert calls.drained() == []
    assert io.state().pending_grants == ()
    assert io.state().counts["not_passed"] == 1


def test_passages_are_matched_to_grants_in_order(
    factory: MockFactory, make_io: MakeIO, calls: Calls
) -> None:
    io = make_io()
    first, second, third = io.grant(), io.grant(), io.grant()
    assert io.state().pending_grants == (first, second, third)
    pulse_input(factory.pin(PASSAGE))
    pulse_input(factory.pin(PASSAGE))
    assert calls.drained() == [("passage", first, True), ("passage", second, True)]
    assert io.state().pending_grants == (third,)


def test_passage_with_no_grant_waiting_is_reported_as_unexpected(
    factory: MockFactory, make_io: MakeIO, calls: Calls
) -> None:
    io = make_io()
    pulse_input(factory.pin(PASSAGE))
    assert calls.drained() == [("unexpected",)]
    assert io.state().counts["unexpected_passages"] == 1


def test_break_beam_wired_active_high(factory: MockFactory, make_io: MakeIO, calls: Calls) -> None:
    io = make_io(GatePins(passage=PASSAGE, passage_active_high=True))
    beam = factory.pin(PASSAGE)
    assert not beam.state  # pulled down at rest
    grant_id = io.grant()
    beam.drive_high()
    assert calls.next() == ("passage", grant_id, True)


# Staff button and fire alarm.


def test_staff_button_press_calls_back_once(
    factory: MockFactory, make_io: MakeIO, calls: Calls
) -> None:
    io = make_io()
    button = factory.pin(STAFF)
    button.drive_low()
    button.drive_high()  # release: no second call
    assert calls.drained() == [("staff",)]
    assert io.state().counts["staff_presses"] == 1


def test_fire_alarm_holds_the_relay_open_until_cleared(
    factory: MockFactory, make_io: MakeIO, calls: Calls
) -> None:
    io = make_io()
    relay, alarm = factory.pin(RELAY), factory.pin(FIRE)
    alarm.drive_low()
    assert calls.drained() == [("fire", True)]
    assert relay.state and io.state().free_exit
    assert factory.pin(GREEN).state  # the way out is shown
    io.grant()
    time.sleep(3 * PULSE_S)
    assert relay.state  # a grant's pulse does not close a free exit
    io.free_exit(False)
    assert relay.state  # nor does the daemon while the alarm is on
    alarm.drive_high()
    assert [c for c in calls.drained() if c[0] == "fire"] == [("fire", False)]
    assert not relay.state and not io.state().free_exit


def test_fire_alarm_already_on_at_start_opens_at_once(factory: MockFactory, calls: Calls) -> None:
    # An externally pulled input (no internal pull to reset it), already low at start.
    factory.pin(FIRE).drive_low()
    pins = GatePins(relay=RELAY, fire_alarm=FIRE, fire_alarm_pull="floating")
    with GateIO(pins, pin_factory=factory, **calls.callbacks()) as io:
        assert calls.drained() == [("fire", True)]
        assert factory.pin(RELAY).state and io.state().free_exit


def test_normally_closed_alarm_contact(factory: MockFactory, make_io: MakeIO, calls: Calls) -> None:
    # Contact to ground, opened by the alarm: asserted high, with the pull-up.
    make_io(
        GatePins(relay=RELAY, fire_alarm=FIRE, fire_alarm_active_high=True, fire_alarm_pull="up")
    )
    contact = factory.pin(FIRE)
    assert calls.drained() == [("fire", True)]  # the mock contact starts open
    contact.drive_low()  # closed: normal
    assert calls.drained() == [("fire", False)]
    assert not factory.pin(RELAY).state
    contact.drive_high()
    assert calls.drained() == [("fire", True)]
    assert factory.pin(RELAY).state


def test_manual_free_exit_works_without_an_alarm_input(
    factory: MockFactory, make_io: MakeIO
) -> None:
    io = make_io(GatePins(relay=RELAY, green=GREEN))
    io.free_exit(True)
    assert factory.pin(RELAY).state and factory.pin(GREEN).state
    io.free_exit(False)
    assert not factory.pin(RELAY).state and not factory.pin(GREEN).state


def test_a_failing_callback_is_logged_not_raised(
    factory: MockFactory, caplog: pytest.LogCaptureFixture
) -> None:
    def on_staff_button() -> None:
        raise RuntimeError("inbox closed")

    with GateIO(GatePins(staff_button=STAFF), pin_factory=factory, on_staff_button=on_staff_button):
        factory.pin(STAFF).drive_low()
    assert "inbox closed" in caplog.text


# Self-test, diagnostics, profiles.


def test_selftest_cycles_every_output_and_reads_the_inputs(
    factory: MockFactory, make_io: MakeIO
) -> None:
    io = make_io()
    outputs = [RELAY, GREEN, RED, AMBER, BUZZER]
    for pin in outputs:
        factory.pin(pin).clear_states()
    report = io.selftest(step_s=0.01)
    assert report.passed
    assert report.outputs == dict.fromkeys(("green", "red", "amber", "buzzer", "relay"), "ok")
    assert report.inputs == {"passage": False, "staff_button": False, "fire_alarm": False}
    assert report.not_fitted == () and report.warnings == ()
    for pin in outputs:
        assert levels(factory.pin(pin)) == [False, True, False]
    assert report.as_dict()["passed"] is True


def test_selftest_warns_of_a_blocked_beam_and_skips_a_relay_in_use(
    factory: MockFactory, make_io: MakeIO
) -> None:
    io = make_io()
    factory.pin(PASSAGE).drive_low()  # something stands in the beam
    io.free_exit(True)
    report = io.selftest(step_s=0.01)
    assert report.outputs["relay"].startswith("skipped")
    assert report.passed
    assert report.inputs["passage"]
    assert any("passage" in w for w in report.warnings)
    assert factory.pin(RELAY).state  # still open


def test_handheld_without_relay_or_inputs_works(factory: MockFactory, make_io: MakeIO) -> None:
    io = make_io(HANDHELD)
    assert io.fitted == ("green", "red", "buzzer")
    assert io.grant() is None  # nothing to pass through, nothing to report
    io.deny()
    io.waiting_for_adult()  # no amber fitted: the buzzer still tells
    io.free_exit(True)
    io.idle()
    report = io.selftest(step_s=0.01)
    assert report.passed and set(report.outputs) == {"green", "red", "buzzer"}
    assert set(report.not_fitted) == {"relay", "amber", "passage", "staff_button", "fire_alarm"}


def test_a_gate_with_nothing_fitted_still_answers(factory: MockFactory, make_io: MakeIO) -> None:
    io = make_io(GatePins())
    assert io.grant() is None
    io.deny()
    io.idle()
    assert io.selftest(step_s=0.01).outputs == {}
    assert io.state().as_dict()["fitted"] == []


def test_state_snapshot(factory: MockFactory, make_io: MakeIO) -> None:
    io = make_io(passage_timeout_s=1.0)
    grant_id = io.grant()
    snapshot: dict[str, Any] = io.state().as_dict()
    assert snapshot["signal"] == "granted"
    assert snapshot["outputs"]["green"] is True
    assert snapshot["inputs"] == {"passage": False, "staff_button": False, "fire_alarm": False}
    assert snapshot["pending_grants"] == [grant_id]
    assert snapshot["counts"]["grants"] == 1
    assert snapshot["free_exit"] is False


def test_close_stops_timers_and_refuses_further_use(make_io: MakeIO, calls: Calls) -> None:
    io = make_io()
    io.grant()
    io.close()
    io.close()  # twice is harmless
    time.sleep(TIMEOUT_S + 0.05)
    assert calls.drained() == []
    with pytest.raises(RuntimeError, match="closed"):
        io.grant()


def test_no_global_pin_factory_is_set(make_io: MakeIO) -> None:
    before = Device.pin_factory
    make_io().grant()
    assert Device.pin_factory is before


def test_pins_come_from_a_profile() -> None:
    pins = GatePins.from_profile(
        {"relay": 17, "relay_mode": "hold", "hold_s": 4, "green": "GPIO27", "passage": "BOARD22"}
    )
    assert pins.fitted == {"relay", "green", "passage"}
    assert pins.hold_s == 4.0


@pytest.mark.parametrize(
    ("profile", "message"),
    [
        ({"relay": 17, "red": 17}, "pin 17 is given for both relay and red"),
        ({"relay": True}, "relay: a pin is a GPIO number or a name"),
        ({"relay_mode": "latch"}, "relay_mode"),
        ({"pulse_s": 0}, "pulse_s"),
        ({"led": 4}, "led"),
    ],
    ids=["pin-twice", "bool-pin", "mode", "pulse-zero", "unknown-key"],
)
def test_bad_profiles_are_refused_with_the_field(profile: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        GatePins.from_profile(profile, source="profiles/turnstile.toml [pins]")
