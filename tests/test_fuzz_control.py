"""Fuzzing the control socket's requests: any line is a command or a bad request with a reason.

The target is in tests/fuzz_targets.py; below it, inputs fuzzing found.
"""

from __future__ import annotations

import pytest
from fuzz_targets import CONTROL_REQUEST, fuzz

from gate.control.socket import BadRequest, parse_request


def test_any_request_line_is_a_command_or_a_bad_request_with_a_reason() -> None:
    fuzz(CONTROL_REQUEST)


# --- inputs fuzzing found --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b"[" * 60_000 + b"\n", "nested too deeply"),
        (b'{"cmd": "journal", "after": ' + b"1" * 5000 + b"}\n", "a number too long to read"),
        (b"\xff\xfe\n", "not JSON"),
        (b'["status"]\n', "a request is a JSON object with a string 'cmd'"),
    ],
)
def test_a_line_that_is_no_command_is_a_bad_request_with_its_reason(
    line: bytes, reason: str
) -> None:
    with pytest.raises(BadRequest, match=reason):
        parse_request(line)


def test_a_request_is_its_command_and_the_other_fields() -> None:
    assert parse_request(b'{"cmd": "journal", "after": 3}\n') == ("journal", {"after": 3})
