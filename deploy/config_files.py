"""The configuration files an install writes: TOML keys set in a commented example, gate.toml or
hub.toml kept when they say what the arguments say, and what both roles share (/etc/wristgate,
the policy, the allowlist directory).
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from deploy.layout import ALLOWLIST, CONFIG, CONFIG_DIR, ETC, HOME, POLICY, ROOT_DIR, STATE_DIR
from deploy.target import Target, UsageError
from gate.config import ConfigError
from gate.store.allowlist.csvdir import COLUMNS

# --- TOML rendering -------------------------------------------------------------------------------

Keys = dict[str, dict[str, str | int | None]]  # section -> key -> value; None: the key is off

_SECTION = re.compile(r"^\[(?P<name>[A-Za-z0-9_.-]+)\]")
_KEY = re.compile(r'^(?P<key>[A-Za-z0-9_-]+)\s*=\s*(?P<value>"[^"]*"|[^#\s]+)\s*(?P<note>#.*)?$')


def toml_value(value: str | int | None) -> str:
    if value is None:
        raise ValueError("no TOML for an unset key")
    if isinstance(value, int):
        return str(value)
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    if any(ord(c) < 0x20 for c in escaped):
        raise UsageError(f"{value!r}: control characters are not allowed")
    return f'"{escaped}"'


def set_keys(text: str, values: Keys) -> str:
    """`text` (TOML with comments) with `values` set, section by section: an existing line
    `key = ...` gets the new value (its comment kept in its column); a missing key goes after
    the last key of its section; a missing section is appended."""
    pending = {section: dict(keys) for section, keys in values.items()}
    lines = text.splitlines()
    out: list[str] = []
    section = ""
    last_key: dict[str, int] = {}  # section -> index in `out` of its last key line

    for line in lines:
        if m := _SECTION.match(line):
            section = m["name"]
            last_key[section] = len(out)
        elif (m := _KEY.match(line)) and m["key"] in pending.get(section, {}):
            value = pending[section].pop(m["key"])
            last_key[section] = len(out)
            if value is None:
                line = f"# {line}"  # switched off, still shown
            else:
                new = f"{m['key']} = {toml_value(value)}"
                if m["note"]:
                    column = len(line) - len(m["note"])
                    new = new.ljust(column) if len(new) < column else f"{new} "
                    new += m["note"]
                line = new
        elif _KEY.match(line):
            last_key[section] = len(out)
        out.append(line)

    def assignments(keys: dict[str, str | int | None]) -> list[str]:
        return [f"{k} = {toml_value(v)}" for k, v in keys.items() if v is not None]

    for name in sorted((s for s in pending if s in last_key), key=lambda s: -last_key[s]):
        at = last_key[name] + 1
        out[at:at] = assignments(pending.pop(name))
    for name, keys in pending.items():
        if assignments(keys):
            out += ["", f"[{name}]", *assignments(keys)]
    return "\n".join(out) + "\n"


def differences(path: Path, wanted: Keys) -> list[str]:
    """What an existing TOML file says otherwise than `wanted` (section.key: has, wants)."""
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except tomllib.TOMLDecodeError as exc:
        return [f"not valid TOML: {exc}"]
    found = []
    for section, keys in wanted.items():
        has = data.get(section, {})
        has = has if isinstance(has, dict) else {}
        for key, value in keys.items():
            if has.get(key) != value:
                got = "not set" if key not in has else repr(has[key])
                wants = "leaves it unset" if value is None else f"writes {value!r}"
                found.append(f"{section}.{key} is {got}, this install {wants}")
    return found


def install_config(t: Target, path: str, rendered: str, wanted: Keys) -> None:
    """gate.toml / hub.toml: written when absent; kept when it says what `wanted` says (the
    operator's other edits stay); otherwise kept too, with the new rendering beside it (.new)."""
    newer = f"{path}.new"
    if t.read(path) is None:
        t.file(path, rendered.encode(), CONFIG)
        t.remove(newer)
        return
    found = differences(t.at(path), wanted)
    t.own(path, CONFIG)
    if not found:
        t.remove(newer)
        return
    t.file(newer, rendered.encode(), CONFIG)
    t.note(
        f"{path} kept: {'; '.join(found)}. The rendering for these arguments is {newer}: "
        f"merge it, or `mv {newer} {path}`, and run the install again."
    )


def check_config(rendered: str, load: Callable[[Path], Any], name: str) -> Any:
    """Load a rendering the way the service will (a wrong id/role/profile stops here)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_text(rendered)
        try:
            return load(path)
        except ConfigError as exc:
            raise UsageError(str(exc).replace(str(path), name)) from None


# --- shared by both roles -------------------------------------------------------------------------


def _timezone(t: Target) -> str:
    """The machine's IANA timezone, for the policy's first draft; UTC when unknown."""
    candidates = []
    localtime = t.at("/etc/localtime")
    if localtime.is_symlink():
        target = os.readlink(localtime)
        if "zoneinfo/" in target:
            candidates.append(target.split("zoneinfo/", 1)[1])
    with contextlib.suppress(OSError):
        candidates.append(t.at("/etc/timezone").read_text().strip())
    for name in candidates:
        with contextlib.suppress(ZoneInfoNotFoundError, ValueError):
            ZoneInfo(name)
            return name
    return "UTC"


def policy_example(timezone: str) -> str:
    return f"""\
# {POLICY} - the venue's day; the same file on every gate and on the hub.
# Written once by the installer with placeholder hours: set the venue's own before opening.
timezone = {toml_value(timezone):<14} # IANA name (this machine's timezone when installed)
open = "09:00"            # local time, HH:MM
close = "18:00"           # a close before open spans midnight; equal means around the clock
capacity = 1000           # people inside at most
pairing_window_s = 60     # seconds a child's exit may follow its adult's at the same gate
"""


def install_common(t: Target) -> None:
    """/etc/wristgate, the policy and the allowlist directory (examples, never overwritten)."""
    t.directory(ETC, ROOT_DIR)  # the gate unit's ConfigurationDirectory= has mode 0755
    t.directory(HOME, STATE_DIR)
    t.file(POLICY, policy_example(_timezone(t)).encode(), CONFIG, keep=True)
    t.directory(ALLOWLIST, CONFIG_DIR)
    for name, columns in COLUMNS.items():  # headers only: a gate starts with an empty allowlist
        t.file(f"{ALLOWLIST}/{name}", (",".join(columns) + "\n").encode(), CONFIG, keep=True)
