"""Reading the venue policy (TOML) with errors that name the file, the field and the reason."""

from __future__ import annotations

import tomllib
from pathlib import Path

from pydantic import ValidationError

from gate.core import Policy

# Open around the clock, no practical capacity: for replays when no policy file is given.
PERMISSIVE_POLICY = Policy(
    timezone="UTC", open="00:00", close="00:00", capacity=1_000_000, pairing_window_s=60
)


class ConfigError(ValueError):
    """A configuration file that cannot be used; the message says which field and why."""


def describe(exc: ValidationError, source: str) -> str:
    """One line per problem: `source: field: reason (got value)`."""
    lines = []
    for err in exc.errors():
        message = err["msg"].removeprefix("Value error, ")
        if not err["loc"]:  # a check across fields: the message says it all
            lines.append(f"{source}: {message}")
            continue
        field = ".".join(str(p) for p in err["loc"])
        got = "" if err["type"] == "missing" else f" (got {err['input']!r})"
        lines.append(f"{source}: {field}: {message}{got}")
    return "\n".join(lines)


def read_toml(path: Path) -> dict[str, object]:
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: no such file") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc


def load_policy(path: Path) -> Policy:
    data = read_toml(path)
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(describe(exc, str(path))) from exc
