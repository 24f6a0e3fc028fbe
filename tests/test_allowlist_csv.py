"""The allowlist CSV directory (design.md §8): what loads, what is skipped and how it is reported.

Every bad row is reported as `file:line: message` with its physical line number and skipped, while
the good rows around it load. File-level problems stop the load with `AllowlistError`.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pytest

from gate.core import Allowlist, Role, Ticket
from gate.store.allowlist import (
    AllowlistError,
    RowError,
    load_csv_dir,
    load_csv_texts,
    read_csv_file,
)

TICKETS_HEADER = "code,product,adults,children,valid_from,valid_to,guardian_phone"
GOOD = {
    "tickets.csv": f"""{TICKETS_HEADER}
FAM-1,family day,2,2,2026-07-01,2026-07-01,
SOLO-1,child alone,0,1,2026-07-01,2026-07-02,+86 138-0013-8000
""",
    "wristbands.csv": """uid,role
04A1B2C3D4E5F6,adult
04A1B2C3D4E5F7,child
""",
    "staff.csv": """uid,name
08AABBCC,Li Na
""",
    "revoked.csv": """value,reason
FAM-1,refund
""",
}
NEXT_LINE = {name: text.count("\n") + 1 for name, text in GOOD.items()}  # an appended row's line


def write_dir(root: Path, files: dict[str, str | bytes | None]) -> Path:
    """The good directory with `files` replacing some (None leaves a file out)."""
    root.mkdir(exist_ok=True)
    for name, content in {**GOOD, **files}.items():
        if isinstance(content, bytes):
            (root / name).write_bytes(content)
        elif content is not None:
            (root / name).write_text(content, encoding="utf-8")
    return root


def load_with_rows(root: Path, name: str, *rows: str) -> tuple[Allowlist, list[RowError]]:
    """Load the good directory with `rows` appended to file `name`."""
    return load_csv_dir(write_dir(root, {name: GOOD[name] + "".join(r + "\n" for r in rows)}))


# --- what loads -----------------------------------------------------------------------------


def test_good_directory_loads_every_file_into_the_index(tmp_path: Path) -> None:
    allowlist, errors = load_csv_dir(write_dir(tmp_path, {}))

    assert errors == []
    assert allowlist.version == 0
    assert allowlist.tickets == {
        "FAM-1": Ticket("FAM-1", "family day", 2, 2, date(2026, 7, 1), date(2026, 7, 1), ""),
        "SOLO-1": Ticket(
            "SOLO-1", "child alone", 0, 1, date(2026, 7, 1), date(2026, 7, 2), "+86 138-0013-8000"
        ),
    }
    assert allowlist.bands == {"04A1B2C3D4E5F6": Role.ADULT, "04A1B2C3D4E5F7": Role.CHILD}
    assert allowlist.staff == {"08AABBCC": "Li Na"}
    assert allowlist.revoked == {"FAM-1": "refund"}


def test_revoked_csv_is_optional(tmp_path: Path) -> None:
    allowlist, errors = load_csv_dir(write_dir(tmp_path, {"revoked.csv": None}))

    assert errors == []
    assert allowlist.revoked == {}
    assert len(allowlist.tickets) == 2


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    bom = "\ufeff" + GOOD["tickets.csv"]
    allowlist, errors = load_csv_dir(write_dir(tmp_path, {"tickets.csv": bom}))

    assert errors == []
    assert set(allowlist.tickets) == {"FAM-1", "SOLO-1"}


def test_crlf_line_endings_are_accepted(tmp_path: Path) -> None:
    crlf = GOOD["wristbands.csv"].replace("\n", "\r\n")
    allowlist, errors = load_csv_dir(write_dir(tmp_path, {"wristbands.csv": crlf}))

    assert errors == []
    assert len(allowlist.bands) == 2


def test_header_may_order_columns_freely_and_add_others(tmp_path: Path) -> None:
    bands = "Role , UID,colour\nchild,04A1B2C3D4E5F8,blue\n"
    allowlist, errors = load_csv_dir(write_dir(tmp_path, {"wristbands.csv": bands}))

    assert errors == []
    assert allowlist.bands == {"04A1B2C3D4E5F8": Role.CHILD}


def test_blank_lines_are_skipped_and_line_numbers_stay_physical(tmp_path: Path) -> None:
    bands = "uid,role\n\n04A1B2C3D4E5F6,adult\n   \n,,\n04A1B2C3D4E5F7,kid\n"
    allowlist, errors = load_csv_dir(write_dir(tmp_path, {"wristbands.csv": bands}))

    assert allowlist.bands == {"04A1B2C3D4E5F6": Role.ADULT}
    assert [(e.file, e.line) for e in errors] == [("wristbands.csv", 6)]


def test_a_quoted_cell_over_two_lines_does_not_shift_later_line_numbers(tmp_path: Path) -> None:
    allowlist, errors = load_with_rows(
        tmp_path,
        "tickets.csv",
        'FAM-2,"family\nday",2,1,2026-07-01,2026-07-01,',
        "FAM-3,family day,x,1,2026-07-01,2026-07-01,",
    )

    assert allowlist.tickets["FAM-2"].product == "family\nday"
    assert [e.line for e in errors] == [NEXT_LINE["tickets.csv"] + 2]


def test_a_row_without_its_trailing_empty_cell_loads(tmp_path: Path) -> None:
    allowlist, errors = load_with_rows(
        tmp_path, "tickets.csv", "FAM-2,day,2,1,2026-07-01,2026-07-01"
    )

    assert errors == []
    assert allowlist.tickets["FAM-2"].guardian_phone == ""


@pytest.mark.parametrize(
    ("written", "stored"),
    [
        ("04a1b2c3d4e5f8", "04A1B2C3D4E5F8"),
        ("04:A1:B2:C3:D4:E5:F8", "04A1B2C3D4E5F8"),
        ("04 a1 b2 c3 d4 e5 f8", "04A1B2C3D4E5F8"),
        (" 04A1B2C3 ", "04A1B2C3"),
        ("04A1B2C3D4E5F6A7B8C9", "04A1B2C3D4E5F6A7B8C9"),
    ],
)
def test_uids_are_normalised_to_upper_case_hex(tmp_path: Path, written: str, stored: str) -> None:
    allowlist, errors = load_with_rows(tmp_path, "wristbands.csv", f"{written},child")

    assert errors == []
    assert allowlist.bands[stored] is Role.CHILD


def test_a_revoked_band_uid_is_normalised_and_a_ticket_code_kept_as_written(
    tmp_path: Path,
) -> None:
    revoked = "value,reason\n04:a1:b2:c3:d4:e5:f6,lost band\nSOLO-1,refund\n"
    allowlist, errors = load_csv_dir(write_dir(tmp_path, {"revoked.csv": revoked}))

    assert errors == []
    assert allowlist.revoked == {"04A1B2C3D4E5F6": "lost band", "SOLO-1": "refund"}


# --- bad rows: reported with file:line and skipped ------------------------------------------


def test_row_error_reads_file_colon_line_colon_message(tmp_path: Path) -> None:
    _, errors = load_with_rows(tmp_path, "tickets.csv", "FAM-2,day,two,1,2026-07-01,2026-07-01,")

    line = NEXT_LINE["tickets.csv"]
    assert [str(e) for e in errors] == [
        f"tickets.csv:{line}: adults must be a whole number >= 0, got 'two'"
    ]


@pytest.mark.parametrize(
    ("row", "complaint"),
    [
        (",day,2,1,2026-07-01,2026-07-01,", "code is empty"),
        ("BAD,day,two,1,2026-07-01,2026-07-01,", "adults must be a whole number >= 0, got 'two'"),
        ("BAD,day,2,-1,2026-07-01,2026-07-01,", "children must be a whole number >= 0, got '-1'"),
        ("BAD,day,1.5,1,2026-07-01,2026-07-01,", "adults must be a whole number >= 0, got '1.5'"),
        ("BAD,day,,1,2026-07-01,2026-07-01,", "adults must be a whole number >= 0, got ''"),
        ("BAD,day,0,0,2026-07-01,2026-07-01,", "adults and children are both 0"),
        ("BAD,day,2,1,01/07/2026,2026-07-01,", "valid_from must be a date YYYY-MM-DD"),
        ("BAD,day,2,1,2026-07-01,2026-02-30,", "valid_to must be a date YYYY-MM-DD"),
        ("BAD,day,2,1,2026-07-02,2026-07-01,", "valid_from 2026-07-02 is after valid_to"),
        ("BAD,day,0,1,2026-07-01,2026-07-01,", "0 adults admits children alone"),
        ("BAD,day,0,1,2026-07-01,2026-07-01,call mum", "guardian_phone must be a phone number"),
        ("BAD,day,0,1,2026-07-01,2026-07-01,12345", "guardian_phone must be a phone number"),
        ("BAD,day,0,1,2026-07-01,2026-07-01,1+23456789", "guardian_phone must be a phone number"),
        ("BAD,day,0,1,2026-07-01,2026-07-01,123456789012345678901", "guardian_phone must be"),
        ("BAD,day, 2+1,1,2026-07-01,2026-07-01,", "adults must be a whole number"),
        ("BAD,day,2,1,2026-07-01,2026-07-01,,extra", "8 cells but the header has 7"),
    ],
)
def test_bad_ticket_row_is_reported_and_skipped(tmp_path: Path, row: str, complaint: str) -> None:
    allowlist, errors = load_with_rows(tmp_path, "tickets.csv", row)

    assert len(errors) == 1
    assert (errors[0].file, errors[0].line) == ("tickets.csv", NEXT_LINE["tickets.csv"])
    assert complaint in errors[0].message
    assert set(allowlist.tickets) == {"FAM-1", "SOLO-1"}


def test_every_problem_of_a_row_is_named_in_its_one_error(tmp_path: Path) -> None:
    _, errors = load_with_rows(tmp_path, "tickets.csv", "BAD,day,two,many,2026-07-01,someday,")

    assert len(errors) == 1
    assert "adults" in errors[0].message
    assert "children" in errors[0].message
    assert "valid_to" in errors[0].message


@pytest.mark.parametrize(
    ("row", "complaint"),
    [
        (",adult", "uid is empty"),
        ("04A1B2C3D4E5FG,adult", "uid must be 8 to 20 hex digits"),
        ("04A1B2C3D4E5F,adult", "uid must be 8 to 20 hex digits"),
        ("04A1B2,adult", "uid must be 8 to 20 hex digits"),
        ("04A1B2C3D4E5F6A7B8C9D0,adult", "uid must be 8 to 20 hex digits"),
        ("04:A1 B2:C3,adult", "uid must be 8 to 20 hex digits"),
        ("04A1B2C3D4E5F9,kid", "role must be adult or child, got 'kid'"),
        ("04A1B2C3D4E5F9,", "role must be adult or child, got ''"),
        ("04A1B2C3D4E5F9,staff", "role must be adult or child"),
    ],
)
def test_bad_wristband_row_is_reported_and_skipped(
    tmp_path: Path, row: str, complaint: str
) -> None:
    allowlist, errors = load_with_rows(tmp_path, "wristbands.csv", row)

    assert len(errors) == 1
    assert (errors[0].file, errors[0].line) == ("wristbands.csv", NEXT_LINE["wristbands.csv"])
    assert complaint in errors[0].message
    assert set(allowlist.bands) == {"04A1B2C3D4E5F6", "04A1B2C3D4E5F7"}


@pytest.mark.parametrize(
    ("row", "complaint"),
    [
        ("08AABBCD,", "name is empty"),
        ("XYZ,Wang Wei", "uid must be 8 to 20 hex digits"),
        ("04A1B2C3D4E5F6,Wang Wei", "also a wristband (wristbands.csv line 2)"),
        ("08:aa:bb:cc,Wang Wei", "duplicate uid '08AABBCC' (first on line 2)"),
    ],
)
def test_bad_staff_row_is_reported_and_skipped(tmp_path: Path, row: str, complaint: str) -> None:
    allowlist, errors = load_with_rows(tmp_path, "staff.csv", row)

    assert len(errors) == 1
    assert (errors[0].file, errors[0].line) == ("staff.csv", NEXT_LINE["staff.csv"])
    assert complaint in errors[0].message
    assert allowlist.staff == {"08AABBCC": "Li Na"}


@pytest.mark.parametrize(
    ("row", "complaint"),
    [
        (",refund", "value is empty"),
        ("SOLO-1,", "reason is empty"),
        ("FAM-1,double refund", "duplicate value 'FAM-1' (first on line 2)"),
    ],
)
def test_bad_revoked_row_is_reported_and_skipped(tmp_path: Path, row: str, complaint: str) -> None:
    allowlist, errors = load_with_rows(tmp_path, "revoked.csv", row)

    assert len(errors) == 1
    assert (errors[0].file, errors[0].line) == ("revoked.csv", NEXT_LINE["revoked.csv"])
    assert complaint in errors[0].message
    assert allowlist.revoked == {"FAM-1": "refund"}


def test_duplicate_ticket_code_names_the_first_line_and_keeps_the_first_row(
    tmp_path: Path,
) -> None:
    allowlist, errors = load_with_rows(
        tmp_path, "tickets.csv", "FAM-1,other product,1,1,2026-07-05,2026-07-05,"
    )

    assert [str(e) for e in errors] == [
        f"tickets.csv:{NEXT_LINE['tickets.csv']}: duplicate ticket code 'FAM-1' (first on line 2)"
    ]
    assert allowlist.tickets["FAM-1"].product == "family day"


def test_duplicate_uid_is_caught_across_spellings(tmp_path: Path) -> None:
    allowlist, errors = load_with_rows(tmp_path, "wristbands.csv", "04:a1:b2:c3:d4:e5:f6,child")

    assert [str(e) for e in errors] == [
        f"wristbands.csv:{NEXT_LINE['wristbands.csv']}: "
        "duplicate uid '04A1B2C3D4E5F6' (first on line 2)"
    ]
    assert allowlist.bands["04A1B2C3D4E5F6"] is Role.ADULT


def test_a_uid_duplicated_after_a_rejected_first_row_is_still_a_duplicate(tmp_path: Path) -> None:
    bands = "uid,role\n04A1B2C3D4E5F9,kid\n04A1B2C3D4E5F9,child\n"
    allowlist, errors = load_csv_dir(write_dir(tmp_path, {"wristbands.csv": bands}))

    assert [e.line for e in errors] == [2, 3]
    assert "first on line 2" in errors[1].message
    assert "04A1B2C3D4E5F9" not in allowlist.bands


def test_errors_are_listed_by_file_then_line(tmp_path: Path) -> None:
    root = write_dir(
        tmp_path,
        {
            "tickets.csv": GOOD["tickets.csv"] + "X,day,0,0,2026-07-01,2026-07-01,\n",
            "wristbands.csv": "uid,role\nZZ,adult\n04A1B2C3,kid\n",
            "staff.csv": "uid,name\n08AABBCC,\n",
        },
    )
    _, errors = load_csv_dir(root)

    assert [(e.file, e.line) for e in errors] == [
        ("tickets.csv", 4),
        ("wristbands.csv", 2),
        ("wristbands.csv", 3),
        ("staff.csv", 2),
    ]


# --- file-level problems stop the load ------------------------------------------------------


def test_missing_required_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(AllowlistError, match=r"wristbands\.csv: missing"):
        load_csv_dir(write_dir(tmp_path, {"wristbands.csv": None}))


def test_every_missing_file_is_named_at_once(tmp_path: Path) -> None:
    with pytest.raises(AllowlistError) as caught:
        load_csv_dir(write_dir(tmp_path, {"tickets.csv": None, "staff.csv": None}))

    assert [p.split(":")[0] for p in caught.value.problems] == ["tickets.csv", "staff.csv"]


def test_header_missing_columns_names_the_file_and_the_columns(tmp_path: Path) -> None:
    header = "code,product,adults,children,valid_from\nFAM-9,day,1,1,2026-07-01\n"
    with pytest.raises(AllowlistError) as caught:
        load_csv_dir(write_dir(tmp_path, {"tickets.csv": header}))

    message = str(caught.value)
    assert message.startswith("tickets.csv: header lacks columns valid_to, guardian_phone")


def test_a_file_without_a_header_row_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(AllowlistError, match=r"staff\.csv: empty, a header row is required"):
        load_csv_dir(write_dir(tmp_path, {"staff.csv": "\n\n"}))


def test_a_file_that_is_not_utf8_names_the_line(tmp_path: Path) -> None:
    latin1 = "uid,name\n08AABBCD,Jos\xe9\n".encode("latin-1")
    with pytest.raises(AllowlistError, match=r"staff\.csv:2: not UTF-8"):
        load_csv_dir(write_dir(tmp_path, {"staff.csv": latin1}))


def test_a_path_that_is_not_a_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(AllowlistError, match="not a directory"):
        load_csv_dir(tmp_path / "nowhere")


def test_allowlist_error_is_a_value_error() -> None:
    assert issubclass(AllowlistError, ValueError)


def test_a_file_that_is_not_an_allowlist_is_refused_without_a_word_of_it() -> None:
    secret = "hub:$7$101$c2VjcmV0LXNhbHQ$AAAAAAAAAAAAAAAAAAAAAAAA"
    texts = {"tickets.csv": secret + "\nsecond-line-of-it\n", "wristbands.csv": "uid,role\n"}
    with pytest.raises(AllowlistError) as caught:
        load_csv_texts({**texts, "staff.csv": "uid,name\n"}, where="upload")
    message = str(caught.value)
    assert message == (
        "tickets.csv: header lacks columns code, product, adults, children, valid_from, "
        "valid_to, guardian_phone (expected code,product,adults,children,valid_from,valid_to,"
        "guardian_phone; the first line has 1 cell and names none of them: is this the right "
        "file?)"
    )


def test_a_bad_cell_is_quoted_cut_short_and_only_for_its_field(tmp_path: Path) -> None:
    long_count = "7" * 10 + "x" * 40
    row = f"FAM-9,day,{long_count},1,2026-07-01,2026-07-01,"
    _, errors = load_with_rows(tmp_path, "tickets.csv", row)
    assert [str(e) for e in errors] == [
        f"tickets.csv:{NEXT_LINE['tickets.csv']}: adults must be a whole number >= 0, "
        "got '7777777777xxxxxxxxxxxxxx'... (50 characters)"
    ]


def test_the_cli_side_reader_refuses_what_is_not_a_small_regular_file(tmp_path: Path) -> None:
    fifo = tmp_path / "tickets.fifo"
    os.mkfifo(fifo)
    big = tmp_path / "big.csv"
    big.write_text("x" * 101)
    with pytest.raises(AllowlistError, match="not a regular file"):
        read_csv_file(fifo, limit=100)  # would block forever if opened
    with pytest.raises(AllowlistError, match=r"big\.csv: larger than 100 bytes: split the import"):
        read_csv_file(big, limit=100)
    with pytest.raises(AllowlistError, match="no such file"):
        read_csv_file(tmp_path / "absent.csv")
