"""Shared fixtures. Each area keeps its fixtures in its own module, imported in its block below."""

# --- MQTT: a real Mosquitto with the venue configuration, clients (tests/broker.py) --------------
from broker import broker, fresh_broker, mqtt_client  # noqa: F401

# --- Gates on the bench: `rigs`, the gates a test starts, each closed at its end (gate_rig.py) ---
from gate_rig import rigs  # noqa: F401

# --- NFC: site keys, emulated bands, readers (tests/nfc_fixtures.py) ------------------------------
from nfc_fixtures import key_file, site_keys, start_reader, tag_emulator  # noqa: F401

# --- Processes: none left behind, every group a test spawned killed at its end (processes.py) ---
from processes import leave_no_process  # noqa: F401
