"""What a desk makes of the console's requests (`gate.daemon.desk_requests`), payload by payload:
run once, never twice (across a restart too), never stale, never retained, never another
desk's; what is not run is said in the status with its reason. The journal is a real one; the
actions are a recording stand-in that journals as the real ones do (the whole path runs in
tests/test_desk_console.py).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gate.daemon.desk_requests import DeskRequests
from gate.link.protocol import DESK_REQUEST_MAX_AGE_S, ProtocolError
from gate.store.journal import Journal

NOW_MS = 1_780_000_000_000


class Actions:
    """Runs `join` (journalled with its request id, as `Ledger.carrying` does), refuses the rest."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self.ran: list[tuple[str, dict[str, Any], str | None]] = []

    def run(
        self, action: str, args: object, asked_by: Any, request: str | None, console: bool = False
    ) -> dict:
        assert console  # the console's request: a walk-in's pickup code goes back to it
        if action != "join":
            raise ValueError(f"this desk knows no action {action!r} (it knows: join)")
        assert isinstance(args, dict)
        self.ran.append((action, args, request))
        entry = self.journal.append("decision", {"request": request, "asked_by": asked_by})
        return {"seq": entry.seq, "code": "OK_JOIN"}


class Counts(dict):
    def __call__(self, key: str, n: int = 1) -> None:
        self[key] = self.get(key, 0) + n


def payload(request: str = "c1", gate: str = "D1", sent_ms: int = NOW_MS, **more: Any) -> bytes:
    asked = {"v": 1, "gate": gate, "request": request, "action": "join", "sent_ms": sent_ms}
    asked["args"] = {"ticket": "T1", "other": "T2"}
    return json.dumps(asked | more).encode()


def desk_of(path: Path, counts: Counts) -> tuple[DeskRequests, Actions, Journal]:
    journal = Journal(path, "D1", wall=lambda: NOW_MS)
    actions = Actions(journal)
    return DeskRequests("D1", actions, journal, lambda: NOW_MS, counts), actions, journal  # type: ignore[arg-type]


def test_a_request_runs_once_and_its_replay_runs_nothing(tmp_path: Path) -> None:
    counts = Counts()
    desk, actions, journal = desk_of(tmp_path / "journal.db", counts)
    assert desk.heard(payload(), retained=False) is False
    assert actions.ran == [("join", {"ticket": "T1", "other": "T2"}, "c1")]
    assert journal.tail(1)[0].body["asked_by"]["user"] == "hub console"
    desk.heard(payload(), retained=False)
    assert len(actions.ran) == 1 and counts == {"desk_requests": 1, "desk_request_replayed": 1}
    journal.close()


def test_a_desk_started_again_remembers_what_it_ran(tmp_path: Path) -> None:
    first, _, journal = desk_of(tmp_path / "journal.db", Counts())
    first.heard(payload("c-before"), retained=False)
    journal.close()
    counts = Counts()
    again, actions, journal = desk_of(tmp_path / "journal.db", counts)
    again.heard(payload("c-before"), retained=False)
    assert actions.ran == [] and counts == {"desk_request_replayed": 1}
    journal.close()


@pytest.mark.parametrize("off_s", [DESK_REQUEST_MAX_AGE_S + 1, -(DESK_REQUEST_MAX_AGE_S + 1)])
def test_a_stale_request_is_not_run_and_the_status_says_why(tmp_path: Path, off_s: int) -> None:
    counts = Counts()
    desk, actions, journal = desk_of(tmp_path / "journal.db", counts)
    assert desk.heard(payload(sent_ms=NOW_MS - off_s * 1000), retained=False) is True
    assert actions.ran == [] and counts == {"desk_request_stale": 1}
    (refused,) = desk.shown() or []
    assert refused.request == "c1" and "ask again at the console" in refused.reason
    journal.close()


def test_a_retained_request_is_someone_elses_leftover(tmp_path: Path) -> None:
    counts = Counts()
    desk, actions, journal = desk_of(tmp_path / "journal.db", counts)
    assert desk.heard(payload(), retained=True) is False
    assert actions.ran == [] and counts == {"retained_ignored": 1} and desk.shown() is None
    journal.close()


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param(payload(gate="D2"), id="another desk's"),
        pytest.param(b"\xff", id="not JSON"),
        pytest.param(payload(action="Drop table"), id="not an action's name"),
        pytest.param(b"[]", id="not an object"),
    ],
)
def test_what_is_no_request_for_this_desk_is_refused_as_a_protocol_error(
    tmp_path: Path, bad: bytes
) -> None:
    desk, actions, journal = desk_of(tmp_path / "journal.db", Counts())
    with pytest.raises(ProtocolError):
        desk.heard(bad, retained=False)
    assert actions.ran == []
    journal.close()


def test_an_action_the_desk_refuses_is_said_in_its_status_at_most_eight(tmp_path: Path) -> None:
    counts = Counts()
    desk, _, journal = desk_of(tmp_path / "journal.db", counts)
    for n in range(10):
        assert desk.heard(payload(f"c{n}", action="teleport"), retained=False) is True
    shown = desk.shown() or []
    assert [r.request for r in shown] == [f"c{n}" for n in range(2, 10)]
    assert "knows no action 'teleport'" in shown[-1].reason
    assert counts == {"desk_request_not_run": 10}
    journal.close()
