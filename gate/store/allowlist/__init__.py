"""The gate's allowlist: the CSV directory operators edit, and the versioned snapshot on disk.

    allowlist, row_errors = load_csv_dir("allowlist/")      # design.md §8
    store = AllowlistStore("/var/lib/wristgate/allowlist.json")
    index = store.save_snapshot(allowlist)                  # durable, atomic
    index = store.apply_delta(delta)                        # all or nothing
    index = store.load()                                    # cold start

The index is `gate.core.Allowlist`, the dicts the rules core reads; TinyDB is never queried on
the scan path.
"""

from gate.store.allowlist.changes import AllowlistDelta
from gate.store.allowlist.csvdir import (
    RowError,
    decode_csv,
    load_csv_dir,
    load_csv_texts,
    read_csv_dir,
    read_csv_file,
)
from gate.store.allowlist.errors import AllowlistError, DeltaError, SnapshotError, StaleDelta
from gate.store.allowlist.storage import AtomicJSONStorage
from gate.store.allowlist.store import AllowlistStore
from gate.store.allowlist.validate import normalise_uid

__all__ = [
    "AllowlistDelta",
    "AllowlistError",
    "AllowlistStore",
    "AtomicJSONStorage",
    "DeltaError",
    "RowError",
    "SnapshotError",
    "StaleDelta",
    "decode_csv",
    "load_csv_dir",
    "load_csv_texts",
    "normalise_uid",
    "read_csv_dir",
    "read_csv_file",
]
