"""`python -m venue`: the demo's command line (`venue.demo`)."""

import sys

from venue.demo import main

sys.exit(main())
