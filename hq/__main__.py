"""`python -m hq`: the `hq` command."""

import sys

from hq.cli import main

sys.exit(main())
