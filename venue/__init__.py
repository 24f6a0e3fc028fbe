"""The simulated venue: its real processes, its visitors and its ground truth, on one machine.

Mosquitto with the venue's configuration, `hub run` and six `gate run` processes (desk D1,
entry gates E1 and E2, exit gates X1 and X2, handheld H1), each with an emulated wristband
reader and gpiozero's mock pins; families moving through it, and the simulator's own book of who
is inside. The demo (`python -m venue`), the chaos campaign (`python -m bench.chaos`) and the
tests' venue (`tests/venue_rig.py`) use it, and differ in what they do to it.

    plan.py         who comes and what each family does; the allowlist and policy files
    configs.py      the gates, and the files the hub and each gate are started with
    daemon.py       one daemon: start, ask, kill, stop (as the service's user if asked)
    processes.py    the venue's processes: start, ask, stop, the broker outage
    faults.py       what faults need: relays, a shifted clock, a small disk, a supervisor
    shifted_gate.py `gate run` on a wall clock a harness moves
    lanes.py        one worker thread per gate, serving the visitors' taps in turn
    clock.py        the compressed day
    truth.py        the ground truth, and the checkpoints beside the hub's headcount
    floor.py        the lanes, the clock, the ground truth and the tally, as visitors meet them
    families.py     one family's day and its story
    visitors.py     the demo's day: the families, the outage and the checkpoints
    summary.py      the demo's closing report: headcounts, journals lost or stored twice
    crowd.py        the chaos campaign's visitors: many families at once, every scan recorded
    demo.py         the demo's command line (`python -m venue`, `./scripts/demo`)
"""
