"""nfcpy's ``udp:`` link and the ports /etc/services names: nfcpy cannot open them, a gate's
configuration refuses them with that reason, and the emulator never binds one."""

from __future__ import annotations

import socket

import nfc.clf.udp
import pytest
from pydantic import ValidationError

from gate.devices.nfc import udp_ports
from gate.devices.nfc.emulator import TagEmulator
from gate.devices.nfc.udp_ports import free_udp_port, port_name
from gate.settings import ReaderSettings


def a_named_port() -> tuple[int, str]:
    """A port above 1023 that /etc/services names (bootstrap installs netbase for it)."""
    for port in range(1024, 65536):
        name = port_name(port)
        if name is not None:
            return port, name
    raise AssertionError("/etc/services names no port above 1023: is netbase installed?")


def test_nfcpy_cannot_open_a_named_port_and_port_name_says_which_it_cannot() -> None:
    port, name = a_named_port()
    with pytest.raises(ValueError, match=f"invalid literal for int.*{name}"):
        nfc.clf.udp.Device("127.0.0.1", port)
    opened = nfc.clf.udp.Device("127.0.0.1", free_udp_port())  # an unnamed one opens
    opened.close()


def test_a_gate_refuses_a_named_udp_port_with_the_reason() -> None:
    port, name = a_named_port()
    refused = f"udp port {port} is named '{name}' in /etc/services"
    with pytest.raises(ValidationError, match=refused):
        ReaderSettings(device=f"udp:127.0.0.1:{port}")
    with pytest.raises(ValidationError, match="udp port 70000 is not a port"):
        ReaderSettings(device="udp:127.0.0.1:70000")
    assert ReaderSettings(device=f"udp:127.0.0.1:{free_udp_port()}").device.startswith("udp:")


def named_twice(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The system's pick cannot be steered, so its first two picks are taken for named ports;
    returns the ports picked, in order."""
    picks: list[int] = []

    def name(port: int) -> str | None:
        picks.append(port)
        return "fido" if len(picks) <= 2 else None

    monkeypatch.setattr(udp_ports, "port_name", name)
    return picks


def test_the_emulator_skips_a_port_the_system_picked_that_nfcpy_cannot_open(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    picks = named_twice(monkeypatch)
    with TagEmulator("127.0.0.1", 0) as tags:
        assert len(picks) == 3
        assert tags.port == picks[2]
        assert tags.path == f"udp:127.0.0.1:{picks[2]}"
        taken = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        with taken, pytest.raises(OSError):
            taken.bind(("127.0.0.1", tags.port))  # the emulator holds the port it kept


def test_a_free_udp_port_is_never_one_nfcpy_cannot_open(monkeypatch: pytest.MonkeyPatch) -> None:
    picks = named_twice(monkeypatch)
    assert free_udp_port() == picks[2]
    assert len(picks) == 3
