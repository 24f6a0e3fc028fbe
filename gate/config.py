"""Reading the venue policy (TOML) with errors that name the file, the field and the reason."""

from __future__ import annotations

import reprlib
import tomllib
from datetime import UTC, datetime
from pathlib import Path

from pydantic import ValidationError

from gate.core import Policy

# Open around the clock, no practical capacity: for replays when no policy file is given.
PERMISSIVE_POLICY = Policy(
    timezone="UTC", open="00:00", close="00:00", capacity=1_000_000, pairing_window_s=60
)


class ConfigError(ValueError):
    """A configuration file that cannot be used; the message says which field and why."""


SECRET_WORDS = ("password", "secret", "token", "key")  # a field named so: its value never shown


def describe(exc: ValidationError, source: str) -> str:
    """One line per problem: `source: field: reason (got value)`, the value abridged.

    A value is not shown for a field the schema does not know (`password = "..."` written
    where `password_file` was meant would otherwise land in the log) nor for a field whose
    name speaks of a secret; a text value is cut to SHOWN_CHARS characters.
    """
    lines = []
    for err in exc.errors():
        message = err["msg"].removeprefix("Value error, ")
        if not err["loc"]:  # a check across fields: the message says it all
            lines.append(f"{source}: {message}")
            continue
        field = ".".join(str(p) for p in err["loc"])
        got = "" if _unshown(err["type"], field) else f" (got {_shown(err['input'])})"
        lines.append(f"{source}: {field}: {message}{got}")
    return "\n".join(lines)


SHOWN_CHARS = 24


def _unshown(kind: str, field: str) -> bool:
    return kind in ("missing", "extra_forbidden") or any(w in field.lower() for w in SECRET_WORDS)


def _shown(value: object) -> str:
    if isinstance(value, str) and len(value) > SHOWN_CHARS:
        return f"{value[:SHOWN_CHARS]!r}... ({len(value)} characters)"
    return abridged(value)


def abridged(value: object) -> str:
    """`repr(value)` cut to a readable size: outside input echoed in a message may be megabytes
    long or nested thousands deep."""
    return _abridged.repr(value)


class _Abridged(reprlib.Repr):
    def __init__(self) -> None:
        super().__init__()
        self.maxlevel, self.maxstring, self.maxother, self.maxlong = 3, 80, 80, 40

    def repr_int(self, x: int, level: int) -> str:
        if x.bit_length() > 4096:  # repr() refuses numbers of over 4300 digits
            return f"<a number of {x.bit_length()} bits>"
        return super().repr_int(x, level)


_abridged = _Abridged()


# Times read from outside stay a couple of days inside datetime's calendar, so that any
# timezone, and a day either side, can still be reckoned (rules, reports and displays do).
EARLIEST_TIME = datetime(1, 1, 3, tzinfo=UTC)
LATEST_TIME = datetime(9999, 12, 29, tzinfo=UTC)


def time_problem(at: datetime) -> str | None:
    """Why an aware time read from outside cannot be used, or None."""
    if EARLIEST_TIME <= at <= LATEST_TIME:
        return None
    return f"a time must lie between {EARLIEST_TIME.date()} and {LATEST_TIME.date()} UTC"


def read_toml(path: Path) -> dict[str, object]:
    """The TOML file at `path`, or `ConfigError` naming the file and what is wrong with it."""
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: no such file") from exc
    except OSError as exc:  # a directory, no permission, a name too long
        raise ConfigError(f"{path}: cannot be read: {exc.strerror or exc}") from exc
    except ValueError as exc:  # a NUL byte in the name
        raise ConfigError(f"{str(path)!r}: not a file name: {exc}") from exc
    try:
        text = data.decode("utf-8-sig")  # a byte order mark, as some editors save, is fine
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigError(f"{path}:{line}: not UTF-8 text (save the file as UTF-8)") from exc
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    except RecursionError as exc:
        raise ConfigError(f"{path}: not valid TOML: arrays or tables nested too deeply") from exc
    except ValueError as exc:  # the only other: a number of thousands of digits
        raise ConfigError(f"{path}: not valid TOML: a number too long to read") from exc


def load_policy(path: Path) -> Policy:
    data = read_toml(path)
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(describe(exc, str(path))) from exc
