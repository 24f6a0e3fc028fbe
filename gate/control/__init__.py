"""The local control socket: how a technician (`gatectl`) and the hub's tools talk to a running
process.
"""
