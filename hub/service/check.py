"""`hub check`: everything `hub run` would refuse, found without starting it.

hub.toml (every field), the policy it names, the broker's password file and CA, the token
files, readable by the service's user; the state and control socket's directories writable by
it; the HTTP port free, or held by the running hub (it frees it when it stops). Every problem
is listed with the file, the field, the value and the fix; a technician runs it before
`systemctl restart wristgate-hub`. `hub run` asks the few that would otherwise fail later with a
bare error (`start_problems`).

With `root`, absolute paths are read under that directory (an image made by
`install-hub --root DIR`), as its owner: nothing there is chowned; ports are not asked.
"""

from __future__ import annotations

from pathlib import Path

from gate.config import ConfigError, load_policy
from gate.control.machine import (
    Account,
    Findings,
    answers,
    directory_problem,
    file_problem,
    port_problem,
)
from hub.service.config import HubConfig, load_hub_config


def check_hub(path: Path, account: Account, root: Path | None = None) -> Findings:
    found = Findings()
    try:
        config = load_hub_config(path)
    except ConfigError as exc:  # pydantic names every field's problem at once
        found.problems.extend(str(exc).split("\n"))
        return found

    def at(p: Path) -> Path:
        return root / str(p).lstrip("/") if root is not None and p.is_absolute() else p

    def file(section: str, name: str, value: Path | None, secret: bool = False) -> None:
        if value is None:
            return
        problem = file_problem(at(value), account, secret=secret)
        if problem:
            found.problems.append(f"{path} [{section}] {name} = {str(value)!r}: {problem}")

    def directory(name: str, value: Path) -> None:
        problem = directory_problem(at(value), account)
        if problem:
            found.problems.append(f"{path} [hub] {name}: {str(value)!r}: {problem}")

    hub, mqtt, http = config.hub, config.mqtt, config.http
    file("hub", "policy", hub.policy)
    if not found.problems:
        try:
            load_policy(at(hub.policy))
        except ConfigError as exc:
            found.problems.extend(f"{path} [hub] policy: {line}" for line in str(exc).split("\n"))
    directory("state_dir", hub.state_dir)
    directory("control_socket", hub.control_socket.parent)
    if hub.allowlist_csv is not None and not at(hub.allowlist_csv).is_dir():
        found.problems.append(
            f"{path} [hub] allowlist_csv = {str(hub.allowlist_csv)!r}: no such directory: "
            "give the ticket office's CSV directory, or leave the field out"
        )
    file("mqtt", "password_file", mqtt.password_file, secret=True)
    file("mqtt", "tls_ca", mqtt.tls_ca)
    file("http", "desk_token_file", http.desk_token_file, secret=True)
    file("http", "staff_token_file", http.staff_token_file, secret=True)
    if config.notify.file is not None:  # the recording notifier's notices
        problem = directory_problem(at(config.notify.file.parent), account)
        if problem:
            found.problems.append(f"{path} [notify] file: {str(config.notify.file)!r}: {problem}")
    where = f"{path} [http] port = {http.port}"
    if root is not None:
        found.notes.append(f"{where}: not asked (--root)")
        return found
    problem = port_problem(http.bind, http.port)
    if problem is None:
        found.notes.append(f"{where}: free on {http.bind}")
    elif answers(hub.control_socket):
        found.notes.append(f"{where}: in use by the running hub (freed when it stops)")
    else:
        found.problems.append(f"{where}: {problem}: stop it, or choose another [http] port")
    return found


def start_problems(config: HubConfig, source: Path) -> list[str]:
    """What `hub run` asks before it starts: the files it reads once running (the broker's
    password, the tokens) and the HTTP port, which would otherwise fail with a bare error."""
    account = Account.current()
    problems = []
    for section, name, value in (
        ("mqtt", "password_file", config.mqtt.password_file),
        ("http", "desk_token_file", config.http.desk_token_file),
        ("http", "staff_token_file", config.http.staff_token_file),
    ):
        problem = None if value is None else file_problem(value, account, secret=True)
        if problem:
            problems.append(f"{source} [{section}] {name} = {str(value)!r}: {problem}")
    http = config.http
    problem = port_problem(http.bind, http.port)
    if problem:
        problems.append(
            f"{source} [http] port = {http.port}: {problem}: stop it (is a hub already "
            "running?), or choose another port"
        )
    return problems
