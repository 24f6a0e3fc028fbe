"""What survives a power cut: a file's name is durable only once its directory is synced."""

from __future__ import annotations

import os
from pathlib import Path


def fsync_directory(directory: Path) -> None:
    """Sync `directory` itself, so a file created or renamed in it keeps its name after a crash."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
