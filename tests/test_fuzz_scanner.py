"""Fuzzing the scanner side: the serial byte stream and the scan lines of `gate simulate`.

Whatever a scanner sends, in whatever pieces, the framer gives printable codes within the
length and rejections with their reason, the same however the bytes were cut. Whatever a scan
line holds, it is read as a scan the rules can take, or skipped with the reason. The targets are
in tests/fuzz_targets.py; below them, inputs fuzzing found.
"""

from __future__ import annotations

import json

import pytest
from fuzz_targets import SCAN_LINE, SCANNER, fuzz

from gate.tools.scanline import ScanLineError, parse_scan_line


def test_any_scanner_stream_frames_into_codes_and_rejections_with_their_reason() -> None:
    fuzz(SCANNER)


def test_any_scan_line_is_a_scan_the_rules_take_or_is_skipped_with_a_reason() -> None:
    fuzz(SCAN_LINE)


# --- inputs fuzzing found --------------------------------------------------------------------


def scan_line(**fields: object) -> str:
    line = {"t": "2026-07-18T10:02:03+08:00", "gate": "D1", "mode": "bind", "kind": "barcode"}
    return json.dumps({**line, "value": "T1", **fields})


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("[" * 5000, "not a scan line: nested too deeply"),
        ('{"gate": ' + "[" * 5000, "not a scan line: nested too deeply"),
        ("1" * 5000, "not JSON: a number too long to read"),
    ],
)
def test_a_line_no_json_reader_can_take_is_skipped_with_a_reason(line: str, reason: str) -> None:
    with pytest.raises(ScanLineError, match=reason):
        parse_scan_line(line)


@pytest.mark.parametrize("t", ["9999-12-31T23:59:59+00:00", "0001-01-01T00:00:00+14:00"])
def test_a_scan_at_the_edge_of_the_calendar_is_skipped_with_a_reason(t: str) -> None:
    """The rules reckon a day either side of a binding: at the calendar's edge they overflow."""
    with pytest.raises(ScanLineError, match="t: a time must lie between 0001-01-03 and 9999-12-29"):
        parse_scan_line(scan_line(t=t))


@pytest.mark.parametrize("value", [" ", "\t", "\u3000"])
def test_a_blank_value_is_skipped_with_a_reason(value: str) -> None:
    with pytest.raises(ScanLineError, match="value: value is blank"):
        parse_scan_line(scan_line(value=value))
