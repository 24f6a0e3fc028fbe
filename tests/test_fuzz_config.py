"""Fuzzing the configuration files: gate.toml and its hardware profile, policy.toml, hub.toml.

Whatever a file holds (damaged TOML, another encoding, values retyped, paths that name
directories), it loads, or is refused with `ConfigError` naming the file, the field and the
reason. The targets are in tests/fuzz_targets.py; below them, inputs fuzzing found.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fuzz_inputs import toml_text
from fuzz_targets import (
    GATE_CHECK,
    GATE_CONFIG,
    GATE_TOML,
    HUB_CHECK,
    HUB_CONFIG,
    POLICY_CONFIG,
    POLICY_TOML,
    fuzz,
)

from gate.config import ConfigError, load_policy, read_toml
from gate.settings import load_gate_config


def test_any_gate_toml_and_profile_load_or_are_refused_with_a_reason() -> None:
    fuzz(GATE_CONFIG)


def test_any_policy_toml_loads_or_is_refused_with_a_reason() -> None:
    fuzz(POLICY_CONFIG)


def test_any_hub_toml_loads_or_is_refused_with_a_reason() -> None:
    fuzz(HUB_CONFIG)


def test_gate_check_lists_the_problems_of_any_gate_toml_and_never_fails_itself() -> None:
    fuzz(GATE_CHECK)


def test_hub_check_lists_the_problems_of_any_hub_toml_and_never_fails_itself() -> None:
    fuzz(HUB_CHECK)


# --- inputs fuzzing found --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b'capacity = 10\nname = "caf\xe9"\n', r"config.toml:2: not UTF-8 text"),
        (b"a = " + b"[" * 3000 + b"]" * 3000, "not valid TOML: arrays or tables nested too deeply"),
        (b"a = " + b"1" * 5000, "not valid TOML: a number too long to read"),
    ],
)
def test_a_file_no_toml_reader_can_take_is_refused_naming_the_file(
    tmp_path: Path, content: bytes, reason: str
) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(content)
    with pytest.raises(ConfigError, match=reason):
        read_toml(path)


def test_a_file_saved_with_a_byte_order_mark_reads_as_without(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_bytes(b"\xef\xbb\xbf" + toml_text(POLICY_TOML).encode())
    assert load_policy(path).capacity == POLICY_TOML["capacity"]


@pytest.mark.parametrize(
    ("profile", "reason"),
    [
        ("directory.toml", "cannot be read: Is a directory"),
        ("x" * 300 + ".toml", "cannot be read"),
        ("a\x00.toml", "not a file name"),
    ],
)
def test_a_profile_that_names_no_readable_file_is_refused_naming_the_gate_toml(
    tmp_path: Path, profile: str, reason: str
) -> None:
    (tmp_path / "directory.toml").mkdir()
    gate = {**GATE_TOML, "gate": {**GATE_TOML["gate"], "profile": profile}}
    (tmp_path / "gate.toml").write_text(toml_text(gate))
    with pytest.raises(ConfigError, match=reason) as refused:
        load_gate_config(tmp_path / "gate.toml")
    assert "gate.toml [gate] profile = " in str(refused.value)


@pytest.mark.parametrize("timezone", ["Asia", "America/" + "x" * 300])
def test_a_policy_timezone_naming_a_directory_is_refused_with_a_reason(
    tmp_path: Path, timezone: str
) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(toml_text({**POLICY_TOML, "timezone": timezone}))
    with pytest.raises(ConfigError, match="unknown IANA timezone"):
        load_policy(path)


def test_hub_check_reads_a_path_with_two_leading_slashes_under_its_root(tmp_path: Path) -> None:
    """Fuzzing found it: POSIX keeps `//x` apart from `/x`, and it was not found under --root."""
    from gate.control.machine import Account
    from hub.service.check import check_hub

    (tmp_path / "hub.toml").write_text('[hub]\nallowlist_csv = "//x"\n')
    found = check_hub(tmp_path / "hub.toml", Account.current(), root=tmp_path)
    assert found.problems and all("\n" not in line for line in found.problems)
