"""A bigger venue, a ski resort's day: 50 gates, about 500k journal entries, 1M allowlist members
on the hub, 200k on each gate. The hub's reconcile after the day's outage and its peak memory,
and a gate's peak memory, each against a baseline measured in the same run.

    python -m bench.ski_day [DIRECTORY] [--quick] [--cpus N]

- **reconcile**: `bench.reconcile`'s day scaled up (20 desks, 15 entry and 15 exit gates, about
  28k families; the allowlist padded to 1M members with tickets never used), every gate cut off
  all day. The hub's part runs in a process of its own (`--child hub`): the allowlist loaded,
  then the 50 backlogs, in 200-entry batches, one gate after another, read one message at a
  time from a file (as they would come from the broker, never all held), through `Ingest` and
  the venue state, as bench/reconcile.py times them, until the final rebuild; its peak RSS
  (VmHWM) is the hub's. The baseline (`--child baseline`): the same messages through
  `json.loads` and a bare synced SQLite insert, in a process holding the same allowlist.
- **gate RSS**: `gate run` (an entry gate, offline) importing an allowlist of 200k members (50k
  family tickets of four) from CSV at its first start, asked a few test scans; its peak RSS
  once it answers; **gate RSS, restart**: the same gate started again, from its snapshot. The
  baseline: a Python process reading the same CSV files into dicts.
"""

from __future__ import annotations

import json
import os
import pickle
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.common import Options, options, report
from bench.reconcile import baseline_run, hub_run, make_day, payloads
from bench.scan_to_relay import SITE_KEY
from gate.core import Allowlist, headcount
from gate.devices.nfc.udp_ports import free_udp_port
from venue.daemon import Daemon

GATES = (20, 15, 15)  # desks, entry gates, exit gates: 20 desks bind 28k families in 8 h
FAMILIES, QUICK_FAMILIES = 28_000, 200
HUB_MEMBERS, QUICK_HUB_MEMBERS = 1_000_000, 20_000
GATE_MEMBERS, QUICK_GATE_MEMBERS = 200_000, 20_000
WAIT_S = 120.0

CSV_PROBE = """
import csv, sys
rows = {}
for name in ("tickets.csv", "wristbands.csv", "staff.csv"):
    with open(sys.argv[1] + "/" + name, newline="") as f:
        rows[name] = {r[0]: r for r in csv.reader(f)}
status = open("/proc/self/status").read().split("VmHWM:")[1]
print(int(status.split()[0]) / 1024)
"""


def peak_rss_mb(pid: int | str = "self") -> float:
    status = Path(f"/proc/{pid}/status").read_text().split("VmHWM:")[1]
    return int(status.split()[0]) / 1024


# --- the hub's side, in a process of its own ------------------------------------------------------


def write_messages(path: Path, messages: list[tuple[str, bytes]]) -> None:
    with path.open("wb") as f:
        for topic, payload in messages:
            t = topic.encode()
            f.write(len(t).to_bytes(4, "big") + t + len(payload).to_bytes(4, "big") + payload)


def read_messages(path: Path) -> Iterator[tuple[str, bytes]]:
    with path.open("rb") as f:
        while head := f.read(4):
            topic = f.read(int.from_bytes(head, "big")).decode()
            payload = f.read(int.from_bytes(f.read(4), "big"))
            yield topic, payload


def child(role: str, work: Path) -> None:
    """`--child hub|baseline WORK`: one side of the reconcile; prints its figures as JSON."""
    with (work / "allowlist.pickle").open("rb") as f:
        allowlist: Allowlist = pickle.load(f)
    if role == "hub":
        store = work / "hub"
        store.mkdir()
        result = hub_run(store, read_messages(work / "messages.bin"), allowlist)  # one at a time
        count = result["headcount"]
        out: dict[str, Any] = {
            "total_s": result["total_s"],
            "ingest_s": result["ingest_s"],
            "rebuild_s": result["rebuild_s"],
            "entries": result["entries"],
            "rejected": result["rejected"],
            "headcount": [count.inside, count.adults, count.children, count.groups_inside],
        }
    else:
        messages = read_messages(work / "messages.bin")  # one at a time, as the hub's
        out = {"total_s": baseline_run(work / "baseline.db", messages)}
    out["rss_mb"] = peak_rss_mb()
    print(json.dumps(out), flush=True)


def run_child(role: str, work: Path) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "bench.ski_day", "--child", role, str(work)],
        capture_output=True,
        text=True,
        timeout=3600,
    )
    if done.returncode:
        raise RuntimeError(f"the {role} side failed: {done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return result


# --- a gate with 200k members -------------------------------------------------------------------


def write_gate_files(root: Path, members: int) -> Path:
    """An offline entry gate importing `members` members (families of four) from CSV."""
    csv_dir = root / "allowlist"
    csv_dir.mkdir(parents=True)
    today = datetime.now(UTC).date()
    start, end = today - timedelta(days=1), today + timedelta(days=1)
    families = members // 4
    with (csv_dir / "tickets.csv").open("w") as f:
        f.write("code,product,adults,children,valid_from,valid_to,guardian_phone\n")
        f.writelines(f"T{g:07d},family,2,2,{start},{end},\n" for g in range(families))
    with (csv_dir / "wristbands.csv").open("w") as f:
        f.write("uid,role\n")
        for g in range(families):
            f.write(f"04{g:08X}A0,adult\n04{g:08X}A1,adult\n04{g:08X}C0,child\n04{g:08X}C1,child\n")
    (csv_dir / "staff.csv").write_text("uid,name\n5A000001,Duty manager\n")
    (root / "policy.toml").write_text(
        'timezone = "UTC"\nopen = "00:00"\nclose = "00:00"\ncapacity = 1000000\n'
        "pairing_window_s = 5\n"
    )
    key = root / "site.key"
    key.write_text(SITE_KEY)
    os.chmod(key, 0o600)
    (root / "profile.toml").write_text(
        f'[reader]\ndevice = "udp:127.0.0.1:{free_udp_port()}"\n[pins]\nrelay = 17\ngreen = 22\n'
    )
    config = root / "gate.toml"
    config.write_text(
        "[gate]\n"
        f'id = "E1"\nrole = "entry"\nprofile = "{root / "profile.toml"}"\n'
        f'state_dir = "{root / "state"}"\nsite_key = "{key}"\npolicy = "{root / "policy.toml"}"\n'
        f'allowlist_csv = "{csv_dir}"\ncontrol_socket = "{root / "gate.sock"}"\n'
    )
    return config


def gate_rss(root: Path, members: int) -> tuple[float, float, float, float]:
    """(the gate's peak RSS at its first start, which imports the CSV, and at a restart, which
    loads its snapshot; the CSV baseline's; seconds until the gate first answered)."""
    config = write_gate_files(root, members)
    first, up_s = _gate_peak(root, config, members)
    again, _ = _gate_peak(root, config, members)
    probe = subprocess.run(
        [sys.executable, "-c", CSV_PROBE, str(root / "allowlist")],
        capture_output=True,
        text=True,
        check=True,
    )
    return first, again, float(probe.stdout.split()[0]), up_s


def _gate_peak(root: Path, config: Path, members: int) -> tuple[float, float]:
    argv = [sys.executable, "-m", "gate", "run", "-c", str(config)]
    daemon = Daemon("E1", argv, root / "gate.log", root / "gate.sock")
    started = time.monotonic()
    daemon.spawn()
    try:
        deadline = time.monotonic() + WAIT_S
        while not daemon.answers():
            if time.monotonic() > deadline:
                raise RuntimeError(f"the gate did not answer: {daemon.tail()}")
            time.sleep(0.1)
        up_s = time.monotonic() - started
        rng = random.Random(1)
        for g in rng.sample(range(members // 4), 20):
            answer = daemon.ask("scan", kind="nfc", value=f"04{g:08X}A0", intent="final")
            if not answer.get("ok"):  # a band not bound at a desk yet: decided, refused
                raise RuntimeError(f"a scan was not decided: {answer}")
        assert daemon.proc is not None
        rss = peak_rss_mb(daemon.proc.pid)
    finally:
        daemon.terminate()
        daemon.wait_stopped()
    return rss, up_s


def main(opts: Options | None = None) -> None:
    opts = opts or Options()
    families = QUICK_FAMILIES if opts.quick else FAMILIES
    hub_members = QUICK_HUB_MEMBERS if opts.quick else HUB_MEMBERS
    gate_members = QUICK_GATE_MEMBERS if opts.quick else GATE_MEMBERS
    opts.directory.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=opts.directory, prefix="bench-ski-day-") as tmp:
        work = Path(tmp)
        rss, restart_rss, csv_rss, up_s = gate_rss(work / "gate", gate_members)
        started = time.perf_counter()
        day = make_day(families, layout=GATES, members=hub_members)
        generated_s = time.perf_counter() - started
        write_messages(work / "messages.bin", payloads(day, random.Random(7)))
        with (work / "allowlist.pickle").open("wb") as f:
            pickle.dump(day.allowlist, f, protocol=pickle.HIGHEST_PROTOCOL)
        n_entries = sum(len(g.entries) for g in day.gates.values())
        t = headcount(day.truth)
        truth = [t.inside, t.adults, t.children, t.groups_inside]
        n_members = len(day.allowlist.bands)
        del day
        baseline = run_child("baseline", work)
        hub = run_child("hub", work)
    if hub["headcount"] != truth or hub["entries"] != n_entries or hub["rejected"]:
        raise AssertionError(f"hub {hub}, truth {truth} / {n_entries} entries")
    name = (
        f"ski resort day ({n_entries} entries from {sum(GATES)} gates, {n_members} allowlist "
        f"members on the hub, {opts.directory})"
    )
    report(name, "reconcile", hub["total_s"], "s", baseline["total_s"], "<= 20 s")
    report(name, "hub RSS", hub["rss_mb"], "MB", baseline["rss_mb"], "<= 500 MB")
    name = f"ski resort gate ({gate_members} allowlist members, offline entry gate)"
    report(name, "gate RSS", rss, "MB", csv_rss, "<= 150 MB")
    report(name, "gate RSS, restart", restart_rss, "MB", csv_rss, "<= 150 MB")
    check = {
        "bench": "ski resort day",
        "check": {
            "hub_ingest_s": round(hub["ingest_s"], 2),
            "hub_rebuild_s": round(hub["rebuild_s"], 2),
            "headcount_matches_ground_truth": True,
            "gate_up_s": round(up_s, 1),
            "generated_s": round(generated_s, 1),
        },
    }
    print(json.dumps(check), flush=True)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        child(sys.argv[2], Path(sys.argv[3]))
    else:
        main(options(what=__doc__))
