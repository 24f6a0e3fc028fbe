"""Shared fixtures. Each area keeps its fixtures in its own module, imported in its block below."""

# --- MQTT: a real Mosquitto with the venue configuration, clients (tests/broker.py) --------------
from broker import broker, fresh_broker, mqtt_client  # noqa: F401

# --- NFC: site keys, emulated bands, readers (tests/nfc_fixtures.py) ------------------------------
from nfc_fixtures import key_file, site_keys, start_reader, tag_emulator  # noqa: F401
