"""The changes of names a `LazyFS` holds until a directory (or, for a new file, the file itself)
is synced, and how a cut undoes them. The backing directory always shows the new names; what a
cut must put back waits in the stash (a file unlinked, or renamed over) until it is durable."""

from __future__ import annotations

import contextlib
import itertools
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


def machine_of(path: str) -> str:
    """The machine a path of the mount belongs to: its top directory ('' for the root)."""
    parts = path.strip("/").split("/")
    return parts[0] if len(parts) > 1 else ""


def parent_of(path: str) -> str:
    return "/" + "/".join(path.strip("/").split("/")[:-1])


@dataclass
class Name:
    """A change of names not yet durable, and how a cut undoes it."""

    kind: str  # create | rename | unlink
    machine: str
    dirs: set[str]  # the directories whose fsync makes it durable
    path: str  # create: the new file; rename: the new name; unlink: the removed name
    old: str = ""  # rename: the name it had
    stash: str = ""  # the file removed or renamed over, kept until durable
    ino: int = 0  # create: the file, whose own fsync makes its name durable too


class Names:
    def __init__(self, root: str, stash: Path, forget: Callable[[int], None]) -> None:
        self.root = root  # the backing directory; a mount's path is appended to it
        self.stash_dir = stash
        self.forget = forget  # the filesystem drops what it holds of an inode gone for good
        self.pending: list[Name] = []
        self._ids = itertools.count(1)

    def stash(self, full: str) -> str:
        """Move the backing file `full` aside; where it is now."""
        target = str(self.stash_dir / f"{next(self._ids)}")
        os.rename(full, target)
        return target

    def add(self, name: Name) -> None:
        self.pending.append(name)

    def file_synced(self, ino: int) -> None:
        self._settle(lambda n: n.kind == "create" and n.ino == ino)

    def directory_synced(self, path: str) -> None:
        for name in self.pending:
            name.dirs.discard(path)
        self._settle(lambda n: not n.dirs)

    def undo(self, machine: str) -> int:
        """The power went on `machine`: its changes undone, the latest first; how many."""
        undone = [n for n in self.pending if n.machine == machine]
        for name in reversed(undone):
            self._undo(name)
        self.pending = [n for n in self.pending if n.machine != machine]
        return len(undone)

    def _undo(self, name: Name) -> None:
        # a later change may have moved the file already: the record then has nothing to undo
        with contextlib.suppress(OSError):
            if name.kind == "create":
                os.unlink(self.root + name.path)
            elif name.kind == "rename":
                os.rename(self.root + name.path, self.root + name.old)
            if name.stash:
                os.rename(name.stash, self.root + name.path)

    def _settle(self, done: Callable[[Name], bool]) -> None:
        keep = []
        for name in self.pending:
            if not done(name):
                keep.append(name)
            elif name.stash:  # durable: what it removed is gone for good
                ino = os.lstat(name.stash).st_ino
                os.unlink(name.stash)
                self.forget(ino)
        self.pending = keep
