"""The one-shot timers of the gate I/O (relay pulses, how long a signal shows, passage timeouts),
each on its own daemon thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable


def after(delay: float, action: Callable[[], None], name: str) -> threading.Timer:
    """Run `action` once after `delay` seconds on a daemon thread called `name`."""
    timer = threading.Timer(delay, action)
    timer.name = name
    timer.daemon = True
    timer.start()
    return timer
