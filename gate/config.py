"""Reading the venue policy (TOML) with errors that name the file, the field and the reason."""

from __future__ import annotations

import difflib
import reprlib
import tomllib
import types
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

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
    # A number would be read as seconds past midnight: `open = 900` is not nine o'clock.
    numbers = [k for k in ("open", "close") if isinstance(data.get(k), int | float)]
    problems = [
        f"{path}: {k}: not a time (got {data[k]!r}): {_KINDS['time_type'][1]}" for k in numbers
    ]
    try:
        policy = Policy.model_validate(data)
    except ValidationError as exc:
        told = tuple(f"{path}: {k}:" for k in numbers)
        problems.extend(
            p for p in config_problems(exc, str(path), Policy) if not p.startswith(told)
        )
    if problems:
        raise ConfigError("\n".join(problems))
    return policy


# --- configuration problems an operator can act on: the field, the value, the fix ---------------

# Pydantic's words for a value of the wrong kind, and what to write instead.
_KINDS = {
    "time_parsing": ("not a time", "write HH:MM, like 09:00 (with the leading zero)"),
    "time_type": ("not a time", 'write HH:MM in quotes, like "09:00"'),
    "int_parsing": ("not a whole number", "write digits without quotes, like 8080"),
    "int_type": ("not a whole number", "write digits without quotes, like 8080"),
    "int_from_float": ("not a whole number", "write it without a decimal point"),
    "float_parsing": ("not a number", "write digits without quotes, like 1.5"),
    "float_type": ("not a number", "write digits without quotes, like 1.5"),
    "bool_parsing": ("not true or false", "write true or false, without quotes"),
    "bool_type": ("not true or false", "write true or false, without quotes"),
    "string_type": ("not text", "write it in quotes"),
    "path_type": ("not a path", "write the path in quotes"),
    "dict_type": ("not a table", "write it as a [section] of its own"),
    "model_type": ("not a table", "write it as a [section] of its own"),
    "dataclass_type": ("not a table", "write it as a [section] of its own"),
    "list_type": ("not a list", 'write it as ["a", "b"]'),
}
_UNKNOWN = ("extra_forbidden", "unexpected_keyword_argument")
# Patterns of names, in words.
_PATTERNS = {
    r"^[A-Za-z0-9_-]{1,32}$": "1 to 32 letters, digits, _ or -, like E1 or X2",
}


def config_problems(exc: ValidationError, source: str, model: object = None) -> list[str]:
    """What `describe` says, one line per problem, in words an operator can act on: a value
    of the wrong kind says what to write, an unknown field or section says which of the known
    ones was probably meant (`model`, a pydantic model or dataclass, names them), a missing one
    says to add it. The value is shown as `describe` shows it (never a secret's)."""
    lines = []
    for err in exc.errors():
        message = err["msg"].removeprefix("Value error, ")
        loc = [str(p) for p in err["loc"]]
        if not loc:
            lines.append(f"{source}: {message}")
            continue
        field = ".".join(loc)
        kind = err["type"]
        got = "" if _unshown(kind, field) else f" (got {_shown(err['input'])})"
        if kind in _UNKNOWN:
            known = fields_of(model, loc[:-1])
            if len(loc) == 1 and _all_tables(model):
                lines.append(f"{source}: [{field}]: {unknown_field(field, known, 'section')}")
            else:
                lines.append(f"{source}: {field}: {unknown_field(loc[-1], known)}")
        elif kind == "missing":
            where = f"[{'.'.join(loc[:-1])}]" if len(loc) > 1 else "the file"
            lines.append(f"{source}: {field}: missing: add {loc[-1]} = ... to {where}")
        elif kind == "string_pattern_mismatch" and err.get("ctx", {}).get("pattern") in _PATTERNS:
            lines.append(
                f"{source}: {field}: not a name{got}: write {_PATTERNS[err['ctx']['pattern']]}"
            )
        elif kind in _KINDS:
            what, fix = _KINDS[kind]
            lines.append(f"{source}: {field}: {what}{got}: {fix}")
        else:
            lines.append(f"{source}: {field}: {message}{got}")
    return lines


def unknown_field(name: str, known: list[str], what: str = "field") -> str:
    """`name` is not one of `known`: the one probably meant, and the choices."""
    if not known:
        return f"not a known {what}: remove it"
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    hint = f"did you mean {close[0]}? " if close else ""
    return f"not a known {what}: {hint}remove or rename it ({what}s: {', '.join(known)})"


def fields_of(model: object, path: list[str]) -> list[str]:
    """The field names of `model` (a pydantic model or dataclass) after walking `path`."""
    for name in path:
        field = _fields(model).get(name)
        if field is None:
            return []
        model = _model_in(field.annotation)
    return list(_fields(model))


def _fields(model: object) -> dict[str, Any]:
    if isinstance(model, type) and issubclass(model, BaseModel):
        return dict(model.model_fields)
    return dict(getattr(model, "__pydantic_fields__", {}))


def _all_tables(model: object) -> bool:
    fields = _fields(model).values()
    return bool(fields) and all(
        _fields(_model_in(f.annotation)) or get_origin(f.annotation) is dict for f in fields
    )


def _model_in(annotation: object) -> object:
    if get_origin(annotation) in (Union, types.UnionType):
        for arg in get_args(annotation):
            if _fields(arg):
                return arg
    return annotation
