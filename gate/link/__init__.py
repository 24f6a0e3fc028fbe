"""The gate's link to the venue: MQTT to the hub's broker, the wire format, and what it takes from
peers.
"""
