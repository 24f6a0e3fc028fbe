"""systemd and udev on the target: the units written from the clone's systemd/ for where the code
lives, and the services enabled and (re)started once the files are in place.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

from deploy.layout import (
    BLACKLIST,
    CODE_DIR_IN_UNITS,
    GATE_UNIT,
    HUB_UNIT,
    MOSQUITTO_ACL,
    MOSQUITTO_CONF,
    MOSQUITTO_DATA,
    MOSQUITTO_PASSWD,
    REPO,
    UDEV_RULES,
)
from deploy.target import InstallError, Target, UsageError
from deploy.unit_network import GATE_DROPIN

HUB_SETTLE_S = 3.0  # after starting the hub, how long it must stay up to count as running


def code_dir(explicit: str | None, t: Target) -> str:
    """Where the code lives on the target: --code-dir, or this clone (less the root it is in)."""
    if explicit:
        if not explicit.startswith("/"):
            raise UsageError(f"--code-dir {explicit}: give an absolute path")
        return explicit.rstrip("/") or "/"
    if not t.live:
        with contextlib.suppress(ValueError):
            return "/" + str(REPO.relative_to(t.root))
    return str(REPO)


def check_code_dir(t: Target, code: str, program: str) -> None:
    if code == "/home" or code.startswith(("/home/", "/root/", "/root")):
        message = (
            f"the code is in {code}, which the service cannot see (ProtectHome=yes): "
            f"clone it to {CODE_DIR_IN_UNITS} (docs/install.md)"
        )
        if t.live:
            raise InstallError(message)
        t.note(message)
    if not t.live:
        return
    if not os.access(f"{code}/.venv/bin/{program}", os.X_OK):
        raise InstallError(f"{code}/.venv/bin/{program} is missing: run {code}/scripts/bootstrap")
    python = os.path.realpath(f"{code}/.venv/bin/python")
    if python.startswith(("/home/", "/root/")):
        raise InstallError(
            f"{code}/.venv runs {python}, which the wristgate user cannot reach: make the venv "
            f"with Debian's python3 (rm -r {code}/.venv; {code}/scripts/bootstrap)"
        )


def unit_text(name: str, code: str) -> bytes:
    return (REPO / "systemd" / name).read_text().replace(CODE_DIR_IN_UNITS, code).encode()


def start_gate(t: Target, ready: bool) -> None:
    unit = Path(GATE_UNIT).name
    if UDEV_RULES in t.changes:
        t.run("udevadm", "control", "--reload")
        t.run("udevadm", "trigger", "--subsystem-match=tty", "--subsystem-match=usb")
    if BLACKLIST in t.changes:
        t.note("the pn533 blacklist takes effect at the next boot (or: modprobe -r pn533_usb)")
    if GATE_UNIT in t.changes or GATE_DROPIN in t.changes:
        t.run("systemctl", "daemon-reload")
    t.run("systemctl", "enable", "--quiet", unit)
    if not ready:
        return
    active = t.run("systemctl", "is-active", "--quiet", unit, check=False).returncode == 0
    if active and not t.changes:
        return
    try:
        t.run("systemctl", "restart" if active else "start", unit)
    except InstallError as exc:
        raise InstallError(f"{exc}\nsee: journalctl -u {unit} -e") from None


def start_hub(t: Target) -> None:
    broker = {MOSQUITTO_CONF, MOSQUITTO_ACL, MOSQUITTO_DATA} | {
        c for c in t.changes if c.startswith(MOSQUITTO_PASSWD)
    }
    t.run("systemctl", "enable", "--quiet", "mosquitto.service")
    if MOSQUITTO_CONF in t.changes:
        t.run("systemctl", "restart", "mosquitto.service")  # listeners change on restart only
    elif broker & set(t.changes):
        t.run("systemctl", "reload-or-restart", "mosquitto.service")  # rereads passwd and ACL
    else:
        t.run("systemctl", "start", "mosquitto.service")
    unit = Path(HUB_UNIT).name
    if HUB_UNIT in t.changes:
        t.run("systemctl", "daemon-reload")
    t.run("systemctl", "enable", "--quiet", unit)
    active = t.run("systemctl", "is-active", "--quiet", unit, check=False).returncode == 0
    if active and not t.changes:
        return
    t.run("systemctl", "restart" if active else "start", unit)
    # Type=simple: started means only that the process runs. One that stops at once (a bad
    # configuration, an unreadable file) is waiting to be restarted a moment later.
    time.sleep(HUB_SETTLE_S)
    if t.run("systemctl", "is-active", "--quiet", unit, check=False).returncode != 0:
        raise InstallError(f"{unit} installed but not running: see journalctl -u {unit} -e")
