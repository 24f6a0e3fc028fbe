"""`python -m venue`: the simulated venue's day on this machine (what `./scripts/demo` runs)."""

from venue.demo import main

raise SystemExit(main())
