"""What a service needs of the machine before it starts: files its user can read, directories
it can write, ports nobody holds. `gate check` and `hub check` ask, and `gate run` / `hub run`
ask the few that would otherwise fail later with a bare error.

Each answer is None (fine) or the reason and the fix, in words; the caller adds the file and
the field that named the path. Permissions are reckoned from the modes and owners for the
service's user (not for whoever runs the check, often root, who can read everything).
"""

from __future__ import annotations

import errno
import grp
import os
import pwd
import socket
import stat
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from gate.control.client import Unreachable, ask
from gate.i18n import N_, words

SERVICE_USER = "wristgate"  # the units' User=


@dataclass
class Findings:
    """What a check found: problems (the service would not start, or not as meant) and notes."""

    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Account:
    """A user and its groups, as the service runs."""

    name: str
    uid: int
    gids: frozenset[int]

    @classmethod
    def named(cls, name: str) -> Account:
        """KeyError when no such user exists on this machine."""
        entry = pwd.getpwnam(name)
        gids = {entry.pw_gid} | {g.gr_gid for g in grp.getgrall() if name in g.gr_mem}
        return cls(name, entry.pw_uid, frozenset(gids))

    @classmethod
    def current(cls) -> Account:
        uid = os.getuid()
        try:
            name = pwd.getpwuid(uid).pw_name
        except KeyError:
            name = str(uid)
        return cls(name, uid, frozenset({os.getgid(), *os.getgroups()}))

    @classmethod
    def service(cls, name: str | None = None) -> Account:
        """`name`, else the units' user when this machine has it, else whoever runs this."""
        if name is not None:
            return cls.named(name)
        try:
            return cls.named(SERVICE_USER)
        except KeyError:
            return cls.current()

    def may(self, st: os.stat_result, bits: int) -> bool:
        """Whether this user has `bits` (4 read, 2 write, 1 search) of a file so owned."""
        if self.uid == 0:
            return True
        if st.st_uid == self.uid:
            shift = 6
        elif st.st_gid in self.gids:
            shift = 3
        else:
            shift = 0
        return (stat.S_IMODE(st.st_mode) >> shift) & bits == bits


def _reach(path: Path, account: Account) -> str | None:
    """Why `account` cannot get to `path` through its directories, or None."""
    for parent in reversed(path.absolute().parents):
        try:
            st = parent.stat()
        except OSError:
            return None  # a missing directory is told by the caller
        if not account.may(st, 1):
            return f"user {account.name} may not enter {parent} (mode {_mode(st)})"
    return None


def _mode(st: os.stat_result) -> str:
    owner = _name(pwd.getpwuid, st.st_uid)
    group = _name(grp.getgrgid, st.st_gid)
    return f"{stat.S_IMODE(st.st_mode):04o} {owner}:{group}"


def _name(lookup: object, number: int) -> str:
    try:
        return str(lookup(number)[0])  # type: ignore[operator]
    except KeyError:
        return str(number)


def file_problem(path: Path, account: Account, *, secret: bool = False) -> str | None:
    """Why `account` cannot read the file at `path`, with the fix; None when it can."""
    if "\x00" in str(path):
        return "not a file name (a NUL character): correct the path"
    owner = f"{account.name}:{account.name}" if secret else f"root:{account.name}"
    mode = "600" if secret else "640"
    try:
        st = path.stat()
    except FileNotFoundError:
        return "no such file: create it, or correct the path"
    except OSError as exc:
        return f"cannot be read: {exc.strerror or exc}: correct the path"
    if not stat.S_ISREG(st.st_mode):
        return "not a file: give the path of a file"
    blocked = _reach(path, account)
    if blocked:
        return f"{blocked}: chmod o+x (or g+x) on it"
    if not account.may(st, 4):
        return (
            f"user {account.name} cannot read it (mode {_mode(st)}): "
            f"chown {owner} {path} && chmod {mode} {path}"
        )
    return None


def directory_problem(path: Path, account: Account) -> str | None:
    """Why `account` cannot write in the directory `path` (or make it); None when it can."""
    if "\x00" in str(path):
        return "not a file name (a NUL character): correct the path"
    fix = f"install -d -o {account.name} -g {account.name} -m 0750 {path}"
    existing = path
    try:
        while not existing.exists() and existing != existing.parent:
            existing = existing.parent
    except OSError as exc:  # a name too long
        return f"cannot be read: {exc.strerror or exc}: correct the path"
    try:
        st = existing.stat()
    except OSError as exc:
        return f"cannot be read: {exc.strerror or exc}: correct the path"
    if not stat.S_ISDIR(st.st_mode):
        return f"{existing} is not a directory: move it away, or correct the path"
    blocked = _reach(existing, account)
    if blocked:
        return f"{blocked}: {fix}"
    if not account.may(st, 3):
        if existing == path:
            return f"user {account.name} cannot write in it (mode {_mode(st)}): {fix}"
        return f"missing, and user {account.name} cannot make it in {existing}: {fix}"
    return None


def port_problem(bind: str, port: int) -> str | None:
    """Why a server cannot listen on `bind`:`port` now, or None when the port is free."""
    if port == 0:
        return None  # any free port
    try:
        infos = socket.getaddrinfo(bind, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except OSError as exc:
        return f"{bind!r} is not an address of this machine: {exc.strerror or exc}"
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers do
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return f"port {port} on {bind} is in use by another program"
            if exc.errno == errno.EADDRNOTAVAIL:
                return f"{bind} is not an address of this machine"
            return f"cannot listen on {bind} port {port}: {exc.strerror or exc}"
    return None


def answers(control_socket: Path) -> bool:
    """Whether a process answers on the control socket at `control_socket` (it runs). It is
    asked its status, as `gatectl status` and `hub status` ask: an empty connection would be
    counted as a bad request."""
    try:
        ask(str(control_socket), {"cmd": "status"}, timeout=5)
    except (Unreachable, ValueError):
        return False
    return True


# --- what a check found, shown to the technician -----------------------------------------------

EXIT_CLEAN, EXIT_PROBLEMS = 0, 2
PROBLEM, FINE = N_("to fix"), N_("note")
ONE = N_("1 problem: fix it, then check again before restarting")
MANY = N_("{count} problems: fix them, then check again before restarting")


def show_findings(found: Findings, command: str, path: Path, account: Account, out: TextIO) -> int:
    """The findings, one a line, then what to do; the exit status (2 with problems)."""
    _ = words()
    heading = _("{command}: {file}, checked as user {user}")
    print(heading.format(command=command, file=path, user=account.name), file=out)
    for line in found.problems:
        print(f"  {_(PROBLEM):<8} {line}", file=out)
    for line in found.notes:
        print(f"  {_(FINE):<8} {line}", file=out)
    if found.problems:
        count = len(found.problems)
        print(_(ONE) if count == 1 else _(MANY).format(count=count), file=out)
        return EXIT_PROBLEMS
    print(_("no problems: ready to start"), file=out)
    return EXIT_CLEAN


def run_check(
    command: str,
    check: Callable[[Path, Account, Path | None], Findings],
    config: Path,
    user: str,
    root: Path | None,
) -> int:
    """`gate check` / `hub check`: `check` the configuration as the service's `user` (as whoever
    runs it, for an image under `root`), then show what it found; the exit status."""
    try:
        account = Account.current() if root else Account.service(user)
    except KeyError:
        print(f"{command}: --user {user}: no such user here", file=sys.stderr)
        return EXIT_PROBLEMS  # a usage error: 2 as well
    return show_findings(check(config, account, root), command, config, account, sys.stdout)
