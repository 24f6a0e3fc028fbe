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
    clock.py        the venue's clocks: the compressed day, a steady one
    truth.py        the ground truth, and the checkpoints beside the hub's headcount
    family.py       one family's day by its plan, and what it believes about itself
    visitors.py     the visitors: who moves next, the ground truth, the tally (demo and chaos)
    hands.py        how a scan is made: the interface, taps and answers
    lanes.py        the demo's hands: a queue per gate, taps on the emulated readers
    socket_hands.py the chaos campaign's hands: scans through the control sockets, as Ops
    day.py          the demo's day: the broker outage, the checkpoints, the progress lines
    summary.py      the demo's closing report: headcounts, journals lost or stored twice
    keep_open.py    `--keep-open`: the commands to try against the running venue
    demo.py         the demo's command line (`python -m venue`, `./scripts/demo`)
"""
