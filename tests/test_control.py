"""The control socket: a request is carried out entirely, with its answer, or not at all."""

from __future__ import annotations

import queue
import threading
from pathlib import Path

from gate.control.client import ask
from gate.control.socket import ControlRequest, ControlServer


def test_a_request_the_loop_did_not_take_in_time_is_never_carried_out(tmp_path: Path) -> None:
    inbox: queue.Queue[ControlRequest] = queue.Queue()
    server = ControlServer(tmp_path / "gate.sock", inbox, reply_timeout_s=0.2)
    server.start()
    try:
        answer = ask(str(tmp_path / "gate.sock"), {"cmd": "scan", "value": "04A1"})
        said = "the loop did not answer in time: not carried out"
        assert answer == {"ok": False, "refused": "loop_busy", "error": said}
        assert server.refused == {"loop_busy": 1}
        late = inbox.get_nowait()  # the loop comes to it afterwards: it must leave it alone
        assert not late.take()
    finally:
        server.stop()


def test_a_request_taken_just_as_its_asker_stops_waiting_is_still_answered(tmp_path: Path) -> None:
    inbox: queue.Queue[ControlRequest] = queue.Queue()
    server = ControlServer(tmp_path / "gate.sock", inbox, reply_timeout_s=0.3)
    server.start()

    def slow_loop() -> None:
        request = inbox.get()
        assert request.take()  # taken in time, answered after the asker's timeout
        threading.Event().wait(0.6)
        request.reply.put({"ok": True, "done": request.command})

    loop = threading.Thread(target=slow_loop)
    loop.start()
    try:
        assert ask(str(tmp_path / "gate.sock"), {"cmd": "scan"}) == {"ok": True, "done": "scan"}
    finally:
        loop.join()
        server.stop()
