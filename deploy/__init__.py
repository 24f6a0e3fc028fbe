"""Putting wristgate on a venue's machines: the installer, the broker's configuration, its TLS, the
units' network.
"""
