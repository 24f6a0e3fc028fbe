"""A simulated venue on one machine: `python -m venue` (what `./scripts/demo` runs).

Mosquitto with the venue's configuration, `hub run` and six `gate run` processes (desk D1,
entry gates E1 and E2, exit gates X1 and X2, handheld H1), each with an emulated wristband
reader and gpiozero's mock pins; then families moving through a compressed day, a broker outage
in the middle, and the hub's headcount set beside the simulator's own ground truth.

    plan.py       who comes and what each family does; the allowlist and policy files
    venue.py      the processes: start, ask, stop
    lanes.py      one worker thread per gate, serving the visitors' taps in turn
    visitors.py   the families, the ground truth, the outage and the checkpoints
    summary.py    the closing report: headcounts, journals lost or stored twice
    __main__.py   the command line
"""
