"""`python -m bench.powercut.serve BACKING MOUNTPOINT --control SOCKET`: a `LazyFS` of BACKING
mounted at MOUNTPOINT (in the foreground, until unmounted), its switch on SOCKET."""

from __future__ import annotations

import argparse
from pathlib import Path

from mfusepy import FUSE

from bench.powercut.lazyfs import LazyFS
from bench.powercut.switch import Switch


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.powercut.serve")
    parser.add_argument("backing", type=Path)
    parser.add_argument("mountpoint", type=Path)
    parser.add_argument("--control", type=Path, required=True, help="the switch's Unix socket")
    args = parser.parse_args(argv)
    fs = LazyFS(args.backing.resolve(), args.mountpoint.resolve())
    Switch(fs, args.control).start()
    FUSE(
        fs, str(args.mountpoint), foreground=True, default_permissions=True,
        attr_timeout=0, entry_timeout=0, negative_timeout=0, fsname="lazyfs",
    )  # fmt: skip


if __name__ == "__main__":
    main()
