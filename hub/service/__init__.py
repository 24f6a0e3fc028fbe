"""`hub run`: the hub as a process. `Hub` (hub.py) wires its configuration, its broker link, what
it publishes, its control socket and the readout its views are served from.
"""
