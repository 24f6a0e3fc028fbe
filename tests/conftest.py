"""Shared fixtures. Each area keeps its fixtures in its own module, imported in its block below."""

import os

import pytest

# --- MQTT: a real Mosquitto with the venue configuration, clients (tests/broker.py) --------------
from broker import broker, fresh_broker, mqtt_client  # noqa: F401

# --- Gates on the bench: `rigs`, the gates a test starts, each closed at its end (gate_rig.py) ---
from gate_rig import rigs  # noqa: F401

# --- Head office's engine: real nats-server clusters (tests/nats_cluster.py) -----------------
from nats_cluster import nats_cluster  # noqa: F401

# --- NFC: site keys, emulated bands, readers (tests/nfc_fixtures.py) ------------------------------
from nfc_fixtures import key_file, site_keys, start_reader, tag_emulator  # noqa: F401

# --- Processes: none left behind, every group a test spawned killed at its end (processes.py) ---
from processes import leave_no_process  # noqa: F401

# --- Skips in CI: what bootstrap installs is there, so only the reasons below may skip ----------
# Skips that hide no path of CI's machine: hardware it does not have, or a kernel that refuses
# (a container without the privileges); each says which in its reason.
JUSTIFIED_SKIPS = (
    "lgpio is not installed",  # the Pi's GPIO library: a Pi-only wheel
    "a machine with GPIO",  # the test of a machine without GPIO chips, on one with them
    "the kernel ",  # "the kernel refused ...": namespaces or mounts not allowed here
)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore
    """With CI set (CI runs as root, after ./scripts/bootstrap), any other skip is a failure:
    a skipped test there is a path nobody tests."""
    outcome = yield
    report = outcome.get_result()
    if not (os.environ.get("CI") and report.skipped) or hasattr(report, "wasxfail"):
        return
    reason = str(report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr)
    if not any(justified in reason for justified in JUSTIFIED_SKIPS):
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, where nothing may be: {reason}"
