"""A TinyDB storage that survives a crash or power cut in the middle of a write.

TinyDB's `JSONStorage` rewrites its file in place: a crash mid-write leaves half a file
(design.md §6). `AtomicJSONStorage` never touches the live file. Each write goes to a temporary
file in the same directory, which is flushed and fsynced, then renamed over the live file
(`os.replace`, atomic on POSIX), and the directory is fsynced so the rename itself is durable.
A reader therefore sees the old file or the new one, never a mix.

    db = TinyDB("allowlist.json", storage=AtomicJSONStorage)

One process writes a given file; temporary files left by a crash are removed when it is opened.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from tinydb.storages import Storage

from gate.store.allowlist.errors import SnapshotError
from gate.store.durable import fsync_directory

TEMP_SUFFIX = ".tmp"


class AtomicJSONStorage(Storage):
    """JSON storage for TinyDB with crash-safe writes: temp file, fsync, rename, fsync dir.

    `read` returns the whole file (None for a missing file, which TinyDB takes as empty) and
    raises `SnapshotError`, naming the file, when it cannot be read or is not TinyDB JSON.
    The file is created with mode 0600: it may hold guardians' phone numbers.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        super().__init__()
        self.path = Path(path)
        self._remove_stale_temps()

    def read(self) -> dict[str, dict[str, Any]] | None:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise SnapshotError(self.path, f"cannot be read: {exc.strerror}") from exc
        try:
            tables = json.loads(data)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise SnapshotError(self.path, f"not valid JSON ({len(data)} bytes): {exc}") from exc
        if not isinstance(tables, dict) or not all(isinstance(t, dict) for t in tables.values()):
            raise SnapshotError(self.path, "not a TinyDB file: expected an object of tables")
        return tables

    def write(self, data: dict[str, dict[str, Any]]) -> None:
        payload = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
        directory = self.path.parent
        fd, temp = tempfile.mkstemp(prefix=self._temp_prefix, suffix=TEMP_SUFFIX, dir=directory)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(payload)
                f.flush()
                os.fsync(f.fileno())
            os.replace(temp, self.path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)
            raise
        fsync_directory(directory)

    @property
    def _temp_prefix(self) -> str:
        return f".{self.path.name}."

    def _remove_stale_temps(self) -> None:
        """Temp files of writes cut short by a crash: never renamed, so never live."""
        if not self.path.parent.is_dir():
            return
        for stale in self.path.parent.glob(f"{glob.escape(self._temp_prefix)}*{TEMP_SUFFIX}"):
            with contextlib.suppress(FileNotFoundError):
                stale.unlink()
