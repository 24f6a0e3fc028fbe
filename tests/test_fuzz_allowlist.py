"""Fuzzing the allowlist's inputs: the CSV directory operators edit, the hub's ticket imports.

Whatever the files hold, a load ends with the rows it could read, each skipped row named by its
line and reason, or with `AllowlistError` naming the file; and what the loader takes, the
snapshot store takes too. The targets are in tests/fuzz_targets.py; below them, inputs fuzzing
found.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from fuzz_targets import CSV_DIRECTORY, HUB_TICKETS, fuzz

from gate.core import Allowlist, Ticket
from gate.store.allowlist import AllowlistError, AllowlistStore


def test_any_csv_directory_loads_its_good_rows_or_is_refused_with_a_reason() -> None:
    fuzz(CSV_DIRECTORY)


def test_any_tickets_file_imports_its_good_rows_at_the_hub_or_is_refused_with_a_reason() -> None:
    fuzz(HUB_TICKETS)


# --- inputs fuzzing found --------------------------------------------------------------------

DAY = date(2026, 7, 18)


@pytest.mark.parametrize(
    ("allowlist", "problem"),
    [
        (
            Allowlist(0, {"T1": Ticket("T1", "family \ud800", 1, 1, DAY, DAY)}, {}, {}, {}),
            "ticket 'T1': product is not valid Unicode text",
        ),
        (Allowlist(0, {}, {}, {"08AABBCC": "Li \udc80"}, {}), "name is not valid Unicode text"),
        (Allowlist(0, {}, {}, {}, {"T9": "lost \ud83d"}), "reason is not valid Unicode text"),
    ],
)
def test_an_allowlist_with_text_no_utf8_file_can_hold_is_refused_by_the_store(
    tmp_path: Path, allowlist: Allowlist, problem: str
) -> None:
    """JSON's \\ud800 escapes let lone surrogates into a hub's snapshot; the gate's store used
    to fail writing them with UnicodeEncodeError, out of the gate's loop."""
    store = AllowlistStore(tmp_path / "allowlist.json")
    with pytest.raises(AllowlistError, match=problem):
        store.save_snapshot(allowlist, 3)
    assert store.load().version == 0
