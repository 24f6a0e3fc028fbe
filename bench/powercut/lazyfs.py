"""A power-cut filesystem, in the spirit of Jepsen's LazyFS: a FUSE view of a backing directory
that keeps every write not yet fsynced in memory, and on a cut throws it away.

    python -m bench.powercut.serve BACKING MOUNTPOINT --control SOCKET

What is durable (the backing directory holds exactly that; see docs/reliability.md):

- a file's data and length: once the file is fsynced (`fsync` and `fdatasync` alike). `close`
  (flush) makes nothing durable, as on Linux;
- a name: a rename or an unlink is durable once its directory is fsynced (both directories
  for a rename across two); a file's creation once its directory or the file itself is fsynced
  (as ext4 does). Until then the backing directory holds the new name, but the cut puts the
  old one back (an unlinked file or a file renamed over waits in `BACKING.stash`);
- directories made or removed, modes, owners and times: at once (no program here relies on
  them across a cut).

Each top directory of the mount is one machine's disk (`E1/`, `hub/`): a cut names the machine,
SIGKILLs the processes given and any other holding a file under its directory, and then drops
that machine's unsynced writes and undoes its unsynced names, optionally tearing the last
unsynced write at a page boundary (`overlay.tear_point`: its first pages reach the disk). From
the cut to the victims' death, the machine's operations fail with EIO; operations of other
machines go on. A cut can be armed to fire from inside an operation (`bench.powercut.switch`):
on the Nth write, fsync or rename of a path containing a pattern, so the campaign cuts the power
mid-commit, mid-rename, mid-swap.

The kernel keeps no stale copy across a cut: attribute and entry caches are off, and a file's
page cache is dropped at each open (no `kernel_cache`), which every restarted process does. No
`direct_io`, so SQLite can map its `-shm` file; locks are the kernel's own (no lock callbacks),
which is right for processes on one machine.
"""

from __future__ import annotations

import errno
import itertools
import os
import random
import stat
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from mfusepy import FuseOSError, Operations

from bench.powercut.names import Name, Names, machine_of, parent_of
from bench.powercut.overlay import Node, tear_point

T = TypeVar("T")


@dataclass
class Cut:
    machine: str
    pids: list[int]
    tear: bool
    seed: int
    why: str = "now"
    id: int = 0
    killed: list[int] = field(default_factory=list)
    lost_bytes: int = 0
    undone: int = 0
    torn: str = ""
    done: bool = False


class LazyFS(Operations):  # type: ignore[misc]
    use_ns = True

    def __init__(self, backing: Path, mountpoint: Path) -> None:
        self.root = str(backing)
        self.mountpoint = str(mountpoint)
        self.stash = Path(str(backing) + ".stash")
        self.stash.mkdir(exist_ok=True)
        self.mutex = threading.RLock()
        self.nodes: dict[int, Node] = {}  # backing inode -> its unsynced state
        self.handles: dict[int, Node] = {}
        self.names = Names(self.root, self.stash, self._forget)
        self.frozen: set[str] = set()
        self.epochs: dict[str, int] = {}
        self.last_write: tuple[Node, int, bytes] | None = None
        self.cuts: list[Cut] = []
        self.trigger: Callable[[str, str], Cut | None] = lambda op, path: None
        self._ids = itertools.count(1)

    # --- the machinery ---------------------------------------------------------------------------

    def _full(self, path: str) -> str:
        return self.root + path

    def _run(self, path: str, fn: Callable[[], T], op: str = "") -> T:
        """`fn` under the lock, unless the path's machine is being cut (EIO: it lost power)."""
        machine = machine_of(path)
        epoch = self.epochs.get(machine, 0)
        if machine in self.frozen:
            raise FuseOSError(errno.EIO)
        with self.mutex:
            if self.epochs.get(machine, 0) != epoch:
                raise FuseOSError(errno.EIO)
            if op == "getattr":  # a look-up can only open an armed cut's gate, never fire it
                self.trigger(op, path)
                op = ""
            try:
                result = fn()
            except OSError as exc:
                raise FuseOSError(exc.errno or errno.EIO) from exc
            if op:
                cut = self.trigger(op, path)
                if cut is not None:
                    self.begin_cut(cut)
                    raise FuseOSError(errno.EIO)
            return result

    def _node(self, path: str) -> Node:
        full = self._full(path)
        ino = os.lstat(full).st_ino
        node = self.nodes.get(ino)
        if node is None:
            node = self.nodes[ino] = Node(os.open(full, os.O_RDWR), machine_of(path))
        return node

    def _forget(self, ino: int) -> None:
        node = self.nodes.get(ino)
        if node is not None and node.opens == 0:
            os.close(node.fd)
            del self.nodes[ino]

    # --- the cut ---------------------------------------------------------------------------------

    def begin_cut(self, cut: Cut) -> None:
        """The power goes on `cut.machine`: its operations fail from now, its processes are
        killed, and (under the lock) its unsynced writes and names are gone."""
        self.frozen.add(cut.machine)
        self.epochs[cut.machine] = self.epochs.get(cut.machine, 0) + 1
        cut.killed = kill_users(Path(self.mountpoint) / cut.machine, cut.pids)
        with self.mutex:
            cut.id = len(self.cuts) + 1
            self.cuts.append(cut)
            rng = random.Random(cut.seed)
            if cut.tear and self.last_write is not None:
                node, offset, data = self.last_write
                if node.machine == cut.machine and node.dirty:
                    keep = tear_point(offset, len(data), rng)
                    os.pwrite(node.fd, data[:keep], offset)
                    cut.torn = f"{keep} of {len(data)} bytes at {offset}"
            self.last_write = None
            for ino, node in list(self.nodes.items()):
                if node.machine == cut.machine:
                    cut.lost_bytes += node.drop()
                    self._forget(ino)
            cut.undone = self.names.undo(cut.machine)
        threading.Thread(target=self._end_cut, args=(cut,), daemon=True).start()

    def _end_cut(self, cut: Cut) -> None:
        wait_dead(cut.killed)
        self.frozen.discard(cut.machine)
        cut.done = True

    # --- files -----------------------------------------------------------------------------------

    def getattr(self, path: str, fh: int | None = None) -> dict[str, Any]:
        def attrs() -> dict[str, Any]:
            st = os.lstat(self._full(path))
            found = {k: getattr(st, k) for k in ("st_mode", "st_nlink", "st_uid", "st_gid")}
            found |= {k: getattr(st, f"{k}_ns") for k in ("st_atime", "st_mtime", "st_ctime")}
            found["st_ino"] = st.st_ino
            node = self.nodes.get(st.st_ino)
            found["st_size"] = node.length() if node is not None else st.st_size
            return found

        return self._run(path, attrs, "getattr")

    def create(self, path: str, mode: int, fi: Any = None) -> int:
        def create() -> int:
            full = self._full(path)
            existed = os.path.lexists(full)
            os.close(os.open(full, os.O_WRONLY | os.O_CREAT, mode))
            node = self._node(path)
            if not existed:
                ino = os.lstat(full).st_ino
                self.names.add(Name("create", node.machine, {parent_of(path)}, path, ino=ino))
            return self._handle(node)

        return self._run(path, create, "create")

    def open(self, path: str, flags: int) -> int:
        return self._run(path, lambda: self._handle(self._node(path)))

    def _handle(self, node: Node) -> int:
        node.opens += 1
        fh = next(self._ids)
        self.handles[fh] = node
        return fh

    def read(self, path: str, size: int, offset: int, fh: int) -> bytes:
        return self._run(path, lambda: self.handles[fh].read(offset, size))

    def write(self, path: str, data: bytes, offset: int, fh: int) -> int:
        def write() -> int:
            node = self.handles[fh]
            node.write(offset, data)
            self.last_write = (node, offset, bytes(data))
            return len(data)

        return self._run(path, write, "write")

    def truncate(self, path: str, length: int, fh: int | None = None) -> int:
        def truncate() -> int:
            node = self.handles[fh] if fh is not None else self._node(path)
            node.truncate(length)
            return 0

        return self._run(path, truncate, "truncate")

    def flush(self, path: str, fh: int) -> int:
        return 0  # closing makes nothing durable

    def release(self, path: str, fh: int) -> int:
        with self.mutex:
            node = self.handles.pop(fh, None)
            if node is not None:
                node.opens -= 1
                for ino, known in list(self.nodes.items()):
                    if known is node and not node.dirty:
                        self._forget(ino)
        return 0

    def fsync(self, path: str, datasync: int, fh: int) -> int:
        def fsync() -> int:
            node = self.handles[fh]
            node.sync()
            ino = os.fstat(node.fd).st_ino
            self.names.file_synced(ino)
            return 0

        return self._run(path, fsync, "fsync")

    # --- names -----------------------------------------------------------------------------------

    def rename(self, old: str, new: str) -> int:
        def rename() -> int:
            source, target = self._full(old), self._full(new)
            if stat.S_ISDIR(os.lstat(source).st_mode):
                os.rename(source, target)
                return 0
            stash = self.names.stash(target) if os.path.lexists(target) else ""
            os.rename(source, target)
            dirs = {parent_of(old), parent_of(new)}
            self.names.add(Name("rename", machine_of(new), dirs, new, old, stash))
            return 0

        return self._run(new, rename, "rename")

    def unlink(self, path: str) -> int:
        def unlink() -> int:
            stash = self.names.stash(self._full(path))
            self.names.add(Name("unlink", machine_of(path), {parent_of(path)}, path, "", stash))
            return 0

        return self._run(path, unlink, "unlink")

    def fsyncdir(self, path: str, datasync: int, fh: int) -> int:
        def fsyncdir() -> int:
            fd = os.open(self._full(path), os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            self.names.directory_synced(path)
            return 0

        return self._run(path, fsyncdir, "fsyncdir")

    def mkdir(self, path: str, mode: int) -> int:
        return self._run(path, lambda: _ok(os.mkdir, self._full(path), mode))

    def rmdir(self, path: str) -> int:
        return self._run(path, lambda: _ok(os.rmdir, self._full(path)))

    def readdir(self, path: str, fh: int) -> list[str]:
        return self._run(path, lambda: [".", "..", *os.listdir(self._full(path))])

    def chmod(self, path: str, mode: int) -> int:
        return self._run(path, lambda: _ok(os.chmod, self._full(path), mode))

    def chown(self, path: str, uid: int, gid: int) -> int:
        return self._run(path, lambda: _ok(os.lchown, self._full(path), uid, gid))

    def utimens(self, path: str, times: tuple[int, int] | None = None) -> int:
        if times is None:
            return self._run(path, lambda: _ok(os.utime, self._full(path)))
        return self._run(path, lambda: _ok(os.utime, self._full(path), ns=times))

    def access(self, path: str, amode: int) -> int:
        return 0  # default_permissions: the kernel checks modes

    def statfs(self, path: str) -> dict[str, Any]:
        sv = os.statvfs(self._full(path))
        keys = ("f_bavail", "f_bfree", "f_blocks", "f_bsize", "f_favail", "f_ffree", "f_files")
        return {k: getattr(sv, k) for k in (*keys, "f_flag", "f_frsize", "f_namemax")}


def _ok(call: Callable[..., None], *args: Any, **kwargs: Any) -> int:
    call(*args, **kwargs)
    return 0


def kill_users(directory: Path, pids: list[int]) -> list[int]:
    """SIGKILL `pids` and every other process with a file or its working directory under
    `directory`; the pids killed."""
    victims = {p for p in pids if p > 0}
    prefix = f"{directory}/"
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            links = [entry / "cwd", *(entry / "fd").iterdir()]
            if any(os.readlink(link).startswith(prefix) for link in links):
                victims.add(int(entry.name))
        except OSError:
            continue
    killed = []
    for pid in sorted(victims):
        try:
            os.kill(pid, 9)
            killed.append(pid)
        except ProcessLookupError:
            continue
    return killed


def wait_dead(pids: list[int], timeout: float = 15.0) -> None:
    """Until every pid is gone or a zombie (its files closed)."""
    deadline = time.monotonic() + timeout
    for pid in pids:
        while time.monotonic() < deadline:
            try:
                state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            except (OSError, IndexError):
                break
            if state in ("Z", "X"):
                break
            time.sleep(0.005)
