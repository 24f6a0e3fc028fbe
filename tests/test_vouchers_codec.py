"""Digital vouchers on paper and through the scanner: the signed code, the ticket printer's QR,
group tickets in tickets.csv and in the allowlist snapshot and wire format."""

from __future__ import annotations

import base64
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from gate.core import Code, Decision, Role, Ticket
from gate.daemon.vouchers import Vouchers
from gate.devices.nfc.token import Keyring
from gate.devices.printer import TicketPrinter, qr_data
from gate.devices.voucher import VoucherFault, issue_voucher, read_voucher
from gate.link.protocol import ticket_of, ticket_row
from gate.store.allowlist import load_csv_texts

KEYS = Keyring((2, bytes(range(16))), previous=(1, bytes(range(1, 17))))
OLD_KEYS = Keyring((1, bytes(range(1, 17))))
OTHER_SITE = Keyring((2, bytes(range(2, 18))))
UID = "04A1B2C3D4E5F6"
UNTIL = datetime(2026, 7, 18, 17, 30, tzinfo=UTC)


def test_a_voucher_reads_back_as_its_band_serial_and_expiry() -> None:
    code = issue_voucher(UID, UNTIL, KEYS)
    v = read_voucher(code, KEYS)
    assert (v.uid, v.expires) == (UID, UNTIL)
    assert len(v.serial) == 10 and code.isalnum() and code.isupper()
    assert len(code) <= 64  # a scanner's default line
    assert issue_voucher(UID, UNTIL, KEYS) != code  # each voucher has its own serial


def test_a_voucher_of_the_previous_key_still_reads_after_a_rotation() -> None:
    assert read_voucher(issue_voucher(UID, UNTIL, OLD_KEYS), KEYS).uid == UID


def b32(raw: bytes) -> str:
    return base64.b32encode(raw).decode().rstrip("=")


def flipped(code: str, at: int) -> str:
    c = "A" if code[at] != "A" else "B"
    return code[:at] + c + code[at + 1 :]


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda c: flipped(c, 25), "signature does not match"),  # the band changed
        (lambda c: flipped(c, len(c) - 2), "signature does not match"),
        (lambda _: issue_voucher(UID, UNTIL, OTHER_SITE), "signature does not match"),
        (lambda c: c[:-8], "malformed"),
        (lambda c: c + "AAAAAAAA", "malformed"),
        (lambda c: c[:5] + "0189" + c[9:], "malformed: not base32"),
        (lambda c: "WV2" + c[3:], "not known to this gate"),
        (lambda c: "WV1", "too short"),
        (lambda c: "WV1" + b32(b"\x07" + bytes(9) + b"\x07" + bytes(17)), "unknown key id 7"),
    ],
)
def test_forged_and_malformed_vouchers_say_why(make, reason) -> None:
    with pytest.raises(VoucherFault) as fault:
        read_voucher(make(issue_voucher(UID, UNTIL, KEYS)), KEYS)
    assert reason in fault.value.reason
    assert "0001020304" not in fault.value.reason  # never any key material


def test_the_exit_printer_prints_the_voucher_as_a_qr_code_and_in_text(tmp_path: Path) -> None:
    device = tmp_path / "lp0"
    printer = TicketPrinter(device)
    first, second = issue_voucher(UID, UNTIL, KEYS), issue_voucher(UID, UNTIL, KEYS)
    assert printer.print_voucher(first, ["Temporary exit / 临时出园"]) == (True, "")
    assert printer.print_voucher(second, ["Temporary exit"]) == (True, "")
    printed = device.read_bytes()
    assert qr_data(printed) == [first, second]
    assert first.encode() in printed and "临时出园".encode() in printed
    assert printed.count(b"\x1dV") == 2  # one cut per ticket


def test_the_exit_gate_prints_its_voucher_in_chinese_with_english_beside(tmp_path: Path) -> None:
    device = tmp_path / "lp0"
    counted: list[str] = []
    vouchers = Vouchers(KEYS, 30, TicketPrinter(device), lambda name, *_: counted.append(name))
    left = Decision(Code.OK_TEMP_EXIT, "out for a while", UID, "X1", "T1", Role.ADULT)
    answer = vouchers.issue(left, datetime(2026, 7, 18, 17, 0, tzinfo=UTC))
    assert answer is not None and answer["printed"] and counted == ["vouchers_issued"]
    printed = device.read_bytes()
    assert qr_data(printed) == [answer["code"]]
    text = printed.decode("utf-8", "replace")
    assert "临时出园 Temporary exit\n" in text
    assert "有效至 2026-07-18 17:30 Valid until 2026-07-18 17:30\n" in text
    child = Decision(Code.OK_TEMP_EXIT, "out for a while", UID, "X1", "T1", Role.CHILD)
    assert vouchers.issue(child, datetime(2026, 7, 18, 17, 0, tzinfo=UTC)) is None


def test_a_missing_printer_says_so_and_raises_nothing(tmp_path: Path) -> None:
    printer = TicketPrinter(tmp_path / "no" / "lp0")
    ok, problem = printer.print_voucher(issue_voucher(UID, UNTIL, KEYS), [])
    assert not ok and "lp0" in problem


# --- group tickets in the allowlist --------------------------------------------------------------

DAY = date(2026, 7, 18)
HEADER = "code,product,adults,children,valid_from,valid_to,guardian_phone"
FILES = {
    "wristbands.csv": "uid,role\n",
    "staff.csv": "uid,name\n",
}


def tickets(header: str, *rows: str) -> tuple[dict[str, Ticket], list[str]]:
    texts = {"tickets.csv": "\n".join((header, *rows)) + "\n", **FILES}
    index, errors = load_csv_texts(texts, "test")
    return index.tickets, [str(e) for e in errors]


def test_a_leaders_column_makes_a_group_ticket_and_is_optional() -> None:
    found, errors = tickets(
        HEADER + ",leaders",
        f"CLASS-3A,school,2,30,{DAY},{DAY},,2",
        f"FAM,family,2,1,{DAY},{DAY},,",
    )
    assert errors == []
    assert found["CLASS-3A"].is_group and found["CLASS-3A"].leaders == 2
    assert not found["FAM"].is_group
    found, errors = tickets(HEADER, f"FAM,family,2,1,{DAY},{DAY},")
    assert errors == [] and found["FAM"].leaders == 0


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        (f"C,school,2,30,{DAY},{DAY},,1", "set leaders to adults (2)"),
        (f"C,school,2,0,{DAY},{DAY},,2", "has children"),
        (f"C,school,2,30,{DAY},{DAY},,two", "leaders"),
    ],
)
def test_a_bad_leaders_count_is_refused_with_its_line(row: str, problem: str) -> None:
    found, errors = tickets(HEADER + ",leaders", row)
    assert "C" not in found
    assert len(errors) == 1 and "tickets.csv:2" in errors[0] and problem in errors[0]


def test_leaders_travel_to_the_gates() -> None:
    t = Ticket("CLASS-3A", "school", 2, 30, DAY, DAY, leaders=2)
    assert ticket_of(ticket_row(t)) == t


def test_a_voucher_expiry_is_whole_minutes() -> None:
    late = UNTIL + timedelta(seconds=59)
    assert read_voucher(issue_voucher(UID, late, KEYS), KEYS).expires == UNTIL
