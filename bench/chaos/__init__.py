"""The chaos harness: see `python -m bench.chaos --help` and bench/chaos/__main__.py."""
