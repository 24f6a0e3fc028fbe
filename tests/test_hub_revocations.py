"""Revoking and restoring one band or ticket at the hub, and a folder holding only revoked.csv
(hub/ingest/revocations.py): each one version up, as a delta the gates apply, nothing removed,
and an import summary that counts what it revoked and restored."""

from __future__ import annotations

from pathlib import Path

import pytest
from gate_rig import ADULT, CHILD, write_venue

from gate.i18n import words
from gate.store.allowlist import read_csv_dir
from hub.ingest.allowlist import HubAllowlist
from hub.service.control import import_summary
from hub.views.console.family import show_import


@pytest.fixture
def hub_list(tmp_path: Path) -> HubAllowlist:
    venue = write_venue(tmp_path / "venue")
    allowlist = HubAllowlist(tmp_path / "hub")
    assert allowlist.import_dir(venue / "allowlist").applied
    return allowlist


def test_one_band_revoked_and_restored_goes_out_as_a_delta(hub_list: HubAllowlist) -> None:
    base = hub_list.version
    revoked = hub_list.revoke(ADULT.lower(), "lost band reported")
    assert revoked.applied and revoked.version == base + 1
    assert revoked.change is not None and revoked.change.base_version == base
    assert revoked.change.revoked == {ADULT: "lost band reported"}  # the UID as gates file it
    assert hub_list.current.revoked == {ADULT: "lost band reported"}
    assert import_summary(revoked) | {"rows_skipped": []} == {
        "version": base + 1,
        "added": 0,
        "replaced": 0,
        "removed": 0,
        "revoked": 1,
        "restored": 0,
        "rows_skipped": [],
    }
    restored = hub_list.restore(ADULT)
    assert restored.change is not None and restored.change.unrevoked == [ADULT]
    assert hub_list.current.revoked == {} and hub_list.version == base + 2
    assert import_summary(restored)["restored"] == 1


def test_a_ticket_is_revoked_by_its_code(hub_list: HubAllowlist) -> None:
    assert hub_list.revoke("T2", "refund").change is not None
    assert hub_list.current.revoked == {"T2": "refund"}


@pytest.mark.parametrize(
    ("value", "reason", "says"),
    [
        ("NO-SUCH-TICKET", "refund", "neither a ticket of the allowlist nor a band UID"),
        (ADULT, "  ", "say why it is revoked"),
        (ADULT, "x" * 300, "one line of at most"),
        (ADULT, "lost\nband", None),  # whitespace folded into one line: accepted
        ("", "lost", "give a ticket code or a band UID"),
    ],
)
def test_a_revocation_that_cannot_be_made_says_why_and_changes_nothing(
    hub_list: HubAllowlist, value: str, reason: str, says: str | None
) -> None:
    base = hub_list.version
    if says is None:
        assert hub_list.revoke(value, reason).applied
        assert hub_list.current.revoked[ADULT] == "lost band"
        return
    with pytest.raises(ValueError, match=says):
        hub_list.revoke(value, reason)
    assert hub_list.version == base


def test_restoring_what_is_not_revoked_is_refused(hub_list: HubAllowlist) -> None:
    with pytest.raises(ValueError, match="is not revoked"):
        hub_list.restore(CHILD)


def test_a_folder_with_only_revoked_csv_adds_its_revocations_and_removes_nothing(
    hub_list: HubAllowlist, tmp_path: Path
) -> None:
    base = hub_list.current
    folder = tmp_path / "revocations"
    folder.mkdir()
    (folder / "revoked.csv").write_text(
        f"value,reason\n{CHILD.lower()},lost band\nT1,refund\n{ADULT},\n"
    )
    result = hub_list.import_texts(read_csv_dir(folder), str(folder))
    assert result.applied and result.change is not None  # a delta: the gates apply it
    assert hub_list.current.revoked == {CHILD: "lost band", "T1": "refund"}
    assert hub_list.current.tickets == base.tickets and hub_list.current.bands == base.bands
    assert [e.line for e in result.row_errors] == [4]  # the reason is empty
    summary = import_summary(result)
    assert (summary["revoked"], summary["removed"], summary["added"]) == (2, 0, 0)
    again = hub_list.import_texts(read_csv_dir(folder), str(folder))
    assert not again.applied and again.version == hub_list.version  # nothing new


def test_the_import_summary_says_what_was_revoked_and_restored_in_both_languages() -> None:
    answer = {"version": 7, "added": 0, "replaced": 0, "removed": 0, "revoked": 2, "restored": 1}
    [english] = show_import(answer, words("en"))
    assert english == "allowlist version 7: 0 added, 0 replaced, 0 removed; 2 revoked, 1 restored"
    [chinese] = show_import(answer, words("zh-CN"))
    assert "作废 2 个" in chinese and "恢复 1 个" in chinese
