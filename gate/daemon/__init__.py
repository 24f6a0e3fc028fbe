"""`gate run`: the edge daemon that wires the core, the stores, the devices and the link on one
loop.
"""
