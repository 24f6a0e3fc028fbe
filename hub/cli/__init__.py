"""The `hub` command (`commands.py`), and what its commands read when the hub is stopped:
the state directory (`state.py`) and the daily report's files (`report.py`).
"""

from hub.cli.commands import main

__all__ = ["main"]
