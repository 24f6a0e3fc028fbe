"""The power switch of a `LazyFS`: a Unix socket that takes one JSON request per line.

    {"cmd": "cut", "machine": "E1", "pids": [..], "tear": true, "seed": 7}   cut now
    {"cmd": "arm", "machine": "E1", "op": "fsync", "match": "journal.db-wal", "skip": 2, ...}
        cut from inside the (skip+1)th such operation on a path containing `match`, after it
        took effect in memory and before it returns (a write written, not synced; an fsync
        not done; a rename done, its directory not synced); with "after": {"op": "getattr",
        "match": ".compaction"}, only such operations that follow that look-up count
    {"cmd": "disarm"}                                  the armed cut, if it has not fired
    {"cmd": "cuts"}                                    every cut so far, and whether it is over

Each answer is one JSON line with "ok".
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench.powercut.lazyfs import Cut, LazyFS


class Switch:
    def __init__(self, fs: LazyFS, path: Path) -> None:
        self.fs = fs
        self.path = path
        self.armed: dict[str, Any] | None = None
        fs.trigger = self._fire

    def start(self) -> Switch:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(str(self.path))
        server.listen(8)
        threading.Thread(target=self._serve, args=(server,), daemon=True).start()
        return self

    def _serve(self, server: socket.socket) -> None:
        while True:
            conn, _ = server.accept()
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with conn, conn.makefile("rwb") as stream:
            for line in stream:
                try:
                    reply = self.handle(json.loads(line))
                except (ValueError, KeyError, TypeError, OSError) as exc:
                    reply = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
                stream.write(json.dumps(reply).encode() + b"\n")
                stream.flush()

    def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        cmd = request["cmd"]
        if cmd == "cut":
            cut = self._cut(request, "now")
            self.fs.begin_cut(cut)
            return {"ok": True, "id": cut.id}
        if cmd == "arm":
            with self.fs.mutex:
                self.armed = dict(request, seen=0)
            return {"ok": True}
        if cmd == "disarm":
            with self.fs.mutex:
                fired = self.armed is None
                self.armed = None
            return {"ok": True, "fired": fired}
        if cmd == "cuts":
            return {"ok": True, "cuts": [asdict(c) for c in self.fs.cuts]}
        return {"ok": False, "error": f"unknown command {cmd!r}"}

    @staticmethod
    def _cut(request: dict[str, Any], why: str) -> Cut:
        pids = [int(p) for p in request.get("pids", [])]
        tear, seed = bool(request.get("tear")), int(request.get("seed", 0))
        return Cut(str(request["machine"]), pids, tear, seed, why)

    def _fire(self, op: str, path: str) -> Cut | None:
        """Called by the filesystem, under its lock, after each operation that may be armed."""
        armed = self.armed
        if armed is None or not path.strip("/").startswith(f"{armed['machine']}/"):
            return None
        after = armed.get("after")
        if after and not armed.get("opened"):
            armed["opened"] = after["op"] == op and after["match"] in path
            return None
        if armed["op"] != op or armed["match"] not in path:
            return None
        armed["seen"] += 1
        if armed["seen"] <= int(armed.get("skip", 0)):
            return None
        self.armed = None
        return self._cut(armed, f"{op} {path}")
