"""`gate check -c gate.toml`: everything `gate run` would refuse, found without starting it.

The file and its profile (every field; see gate.settings), the files it names (site key,
policy, allowlist CSVs, the broker's password and CA) readable by the service's user, the
state and control socket's directories writable by it, the metrics port free. Every problem is
listed, each with the file, the field, the value and the fix; a technician runs it before
`systemctl restart wristgate-gate`. `gate run` asks the few that would fail later with a bare
error (`start_problems`).

With `root`, absolute paths are read under that directory (an image made by
`install-gate --root DIR`), as its owner: nothing there is chowned; ports are not asked.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gate.config import ConfigError, load_policy
from gate.control.machine import (
    Account,
    Findings,
    answers,
    directory_problem,
    file_problem,
    port_problem,
)
from gate.devices.nfc.token import KeyFileError, load_keyring
from gate.settings import GateConfig, GateSettings, profile_path, read_gate_config
from gate.store.allowlist import AllowlistError, load_csv_dir

SHOWN_ROWS = 5  # allowlist rows a check lists; the rest are counted


def check_gate(path: Path, account: Account, root: Path | None = None) -> Findings:
    found = Findings()
    try:
        config, found.problems = read_gate_config(path)
    except ConfigError as exc:  # no TOML to read: nothing more to say
        found.problems.append(str(exc))
        return found
    at = _under(root)
    gate = config.gate if config else _raw_gate(path)
    where = f"{path} [gate]"
    _file(found, where, "site_key", gate.site_key, at, account, secret=True, then=load_keyring)
    _file(found, where, "policy", gate.policy, at, account, then=load_policy)
    if gate.allowlist_csv is not None:
        _allowlist(found, where, gate.allowlist_csv, at(gate.allowlist_csv))
    _directory(found, where, "state_dir", gate.state_dir, at, account)
    _directory(found, where, "control_socket", gate.control_socket.parent, at, account)
    if config is not None and config.link is not None:
        link = config.link
        if link.password_file is not None:
            where_link = f"{path} [link]"
            _file(found, where_link, "password_file", link.password_file, at, account, secret=True)
        if link.tls_ca is not None:
            _file(found, f"{path} [link]", "tls_ca", link.tls_ca, at, account)
    if config is not None and root is None:
        _devices(found, config, path)
    if gate.metrics_port is not None:
        if root is not None:
            found.notes.append(f"{where} metrics_port = {gate.metrics_port}: not asked (--root)")
        else:
            _port(found, where, gate, at)
    return found


def start_problems(config: GateConfig) -> list[str]:
    """What `gate run` asks before it starts: the broker's password file and the metrics port,
    which would otherwise fail later with a bare error."""
    found = Findings()
    account = Account.current()
    link = config.link
    if link is not None and link.password_file is not None:
        _file(found, "[link]", "password_file", link.password_file, Path, account, secret=True)
    gate = config.gate
    if gate.metrics_port is not None:
        problem = port_problem(gate.metrics_bind, gate.metrics_port)
        if problem:
            found.problems.append(
                f"[gate] metrics_port = {gate.metrics_port}: {problem}: stop it, "
                "or choose another metrics_port (or leave it out)"
            )
    return found.problems


def _under(root: Path | None) -> Callable[[Path], Path]:
    if root is None:
        return lambda p: p
    return lambda p: root / str(p).lstrip("/") if p.is_absolute() else p


def _raw_gate(path: Path) -> GateSettings:
    """The [gate] fields that are paths, as written, where the section as a whole is refused:
    the files they name are still worth checking."""
    raw: Any = tomllib.loads(path.read_text(encoding="utf-8-sig")).get("gate", {})
    raw = raw if isinstance(raw, dict) else {}
    paths: dict[str, Any] = {}
    for name, info in GateSettings.model_fields.items():
        value = raw.get(name, info.default)
        if name in ("site_key", "policy", "state_dir", "control_socket", "allowlist_csv"):
            paths[name] = Path(value) if isinstance(value, str) else info.default
    return GateSettings.model_construct(**paths, metrics_port=None)


def _file(
    found: Findings,
    where: str,
    name: str,
    path: Path,
    at: Callable[[Path], Path],
    account: Account,
    *,
    secret: bool = False,
    then: Callable[[Path], object] | None = None,
) -> None:
    problem = file_problem(at(path), account, secret=secret)
    if problem:
        found.problems.append(f"{where} {name} = {str(path)!r}: {problem}")
        return
    if then is None:
        return
    try:
        then(at(path))
    except (ConfigError, KeyFileError) as exc:
        found.problems.extend(f"{where} {name}: {line}" for line in str(exc).split("\n"))


def _directory(
    found: Findings,
    where: str,
    name: str,
    path: Path,
    at: Callable[[Path], Path],
    account: Account,
) -> None:
    problem = directory_problem(at(path), account)
    if problem:
        found.problems.append(f"{where} {name}: {str(path)!r}: {problem}")


def _allowlist(found: Findings, where: str, shown: Path, path: Path) -> None:
    try:
        _, row_errors = load_csv_dir(path)
    except AllowlistError as exc:
        found.problems.append(f"{where} allowlist_csv = {str(shown)!r}: {exc}")
        return
    for row in row_errors[:SHOWN_ROWS]:
        found.problems.append(f"{where} allowlist_csv: {row}: the row would be skipped")
    if len(row_errors) > SHOWN_ROWS:
        more = len(row_errors) - SHOWN_ROWS
        found.problems.append(f"{where} allowlist_csv: {more} more rows would be skipped")


def _devices(found: Findings, config: GateConfig, source: Path) -> None:
    """Serial devices not plugged in now: notes, not problems (the gate waits for them)."""
    hardware, where = config.hardware, profile_path(config.gate.profile, source.parent)
    reader = hardware.reader.device if hardware.reader else ""
    wanted = []
    if reader.startswith("tty:"):
        wanted.append(("reader.device", reader, Path("/dev") / f"tty{reader.split(':')[1]}"))
    if hardware.scanner is not None:
        wanted.append(("scanner.port", hardware.scanner.port, Path(hardware.scanner.port)))
    if hardware.printer is not None and hardware.printer.device.startswith("/dev/"):
        wanted.append(("printer.device", hardware.printer.device, Path(hardware.printer.device)))
    for name, value, device in wanted:
        if not device.exists():
            found.notes.append(
                f"{where}: {name} = {value!r}: {device} is not here now: the gate waits for it; "
                "plug it in, or check the udev rules"
            )


def _port(found: Findings, where: str, gate: GateSettings, at: Callable[[Path], Path]) -> None:
    port = gate.metrics_port
    assert port is not None
    problem = port_problem(gate.metrics_bind, port)
    if problem is None:
        found.notes.append(f"{where} metrics_port = {port}: free on {gate.metrics_bind}")
    elif answers(at(gate.control_socket)):
        found.notes.append(
            f"{where} metrics_port = {port}: in use by the running gate (freed when it stops)"
        )
    else:
        found.problems.append(
            f"{where} metrics_port = {port}: {problem}: stop it, or choose another metrics_port"
        )
