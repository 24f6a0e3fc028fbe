"""A chain of simulated venues and its head office, on this machine (`venue.chain.chain.Chain`):
a NATS cluster (`deploy.nats_process`), `hq run` (`office.py`), and several venues of
`venue.processes` (Mosquitto, hub and six gates each), each hub forwarding to head office
through its broker's bridge, families moving through every venue (`venue.visitors`, their scans
through the gates' control sockets). The demo (`python -m venue.chain`, `scripts/hq-demo`)
and the chain's fault test (`tests/test_hq_chain_live.py`) run it; the test adds its faults.
"""
