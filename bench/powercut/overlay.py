"""What a power cut takes: one file's writes since its last fsync, kept in memory by page.

A `Node` stands for one file of the backing directory (by inode, so a rename keeps its pages).
The backing file holds only what was synced; every write since lands in `pages` (4096-byte
pages, read from the backing file the first time they are touched), a truncation in `size`.
`sync` writes the pages to the backing file, sets its length and fsyncs it: that is the moment
the data is on the "disk". `drop` forgets them: the power went.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass, field

PAGE = 4096


@dataclass
class Node:
    fd: int  # the backing file, open for reading and writing
    machine: str  # the top directory of the mount it lives under: one machine's disk
    pages: dict[int, bytearray] = field(default_factory=dict)
    size: int | None = None  # the file's length when it differs from the backing file's
    zero_from: int | None = None  # backing bytes at or past this were truncated away
    opens: int = 0

    @property
    def dirty(self) -> bool:
        return bool(self.pages) or self.size is not None

    def length(self) -> int:
        return self.size if self.size is not None else os.fstat(self.fd).st_size

    def _backing_page(self, index: int) -> bytearray:
        start = index * PAGE
        page = bytearray(os.pread(self.fd, PAGE, start).ljust(PAGE, b"\0"))
        if self.zero_from is not None and self.zero_from < start + PAGE:
            cut = max(0, self.zero_from - start)
            page[cut:] = bytes(PAGE - cut)
        return page

    def _page(self, index: int) -> bytearray:
        page = self.pages.get(index)
        if page is None:
            page = self.pages[index] = self._backing_page(index)
        return page

    def read(self, offset: int, size: int) -> bytes:
        end = min(offset + size, self.length())
        out = bytearray()
        position = offset
        while position < end:
            index, within = divmod(position, PAGE)
            page = self.pages.get(index) or self._backing_page(index)
            take = min(PAGE - within, end - position)
            out += page[within : within + take]
            position += take
        return bytes(out)

    def write(self, offset: int, data: bytes) -> None:
        length = self.length()
        position, done = offset, 0
        while done < len(data):
            index, within = divmod(position, PAGE)
            take = min(PAGE - within, len(data) - done)
            self._page(index)[within : within + take] = data[done : done + take]
            position += take
            done += take
        self.size = max(length, offset + len(data))

    def truncate(self, length: int) -> None:
        old = self.length()
        if length < old:
            for index in [i for i in self.pages if i * PAGE >= length]:
                del self.pages[index]
            index, within = divmod(length, PAGE)
            if within:
                self._page(index)[within:] = bytes(PAGE - within)
            self.zero_from = length if self.zero_from is None else min(self.zero_from, length)
        self.size = length

    def sync(self) -> int:
        """Write the unsynced pages through and fsync the backing file; the bytes written."""
        written = 0
        if self.dirty:
            length = self.length()
            for index in sorted(self.pages):
                start = index * PAGE
                chunk = bytes(self.pages[index][: max(0, min(PAGE, length - start))])
                if chunk:
                    written += os.pwrite(self.fd, chunk, start)
            os.ftruncate(self.fd, length)
        os.fsync(self.fd)
        self.pages.clear()
        self.size = self.zero_from = None
        return written

    def drop(self) -> int:
        """Forget every unsynced write (the power went); the bytes forgotten."""
        lost = len(self.pages) * PAGE
        self.pages.clear()
        self.size = self.zero_from = None
        return lost


def tear_point(offset: int, length: int, rng: random.Random) -> int:
    """How many leading bytes of a write of `length` at `offset` reach the disk when the power
    goes during it: up to a page boundary inside it, or (none inside) all or nothing."""
    first = (offset // PAGE + 1) * PAGE
    boundaries = list(range(first, offset + length, PAGE))
    if not boundaries:
        return length if rng.random() < 0.5 else 0
    return rng.choice(boundaries) - offset
