"""What a running process offers the machine it runs on: the control socket (server and client)
that a technician (`gatectl`) and the hub's tools use, systemd's notify protocol, and the metrics.
"""
