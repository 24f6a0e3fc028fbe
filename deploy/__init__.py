"""Putting wristgate on a venue's machines: the installer (install.py and its steps), the broker's
configuration, its TLS, the units' network, and a broker run the same way for tests and the demo.
"""
