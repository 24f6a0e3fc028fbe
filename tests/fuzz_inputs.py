"""Hypothesis strategies for fuzzing: outside input as it arrives, valid or damaged.

Each kind of input comes two ways: arbitrary (bytes, text, any JSON) and *structure-aware*:
a valid input put through a few mutations that a worn band, a noisy serial line, a foreign
publisher or an operator's spreadsheet produce (bytes flipped, cut, extended; JSON fields
dropped, retyped, oversized, nested; CSV cells mutated, columns missing, encodings broken;
TOML values retyped). Used by tests/fuzz_targets.py.
"""

from __future__ import annotations

import json
import string
from datetime import date, datetime
from typing import Any

from hypothesis import strategies as st

JSON = Any  # None | bool | int | float | str | list[JSON] | dict[str, JSON]
DEEP = 5000  # nesting levels that exhaust a recursive reader (Python's limit is 1000)

# --- bytes and text ---------------------------------------------------------------------------

ODD_TEXT = st.sampled_from(
    [
        "",
        " ",
        "\x00",
        "\ufeff",  # a byte order mark
        "\ud800",  # a lone surrogate: not encodable as UTF-8
        "é",
        "家庭",
        "\u202e",  # right-to-left override
        "\r\n",
        "'\"",
        "NaN",
        "1" * 5000,  # more digits than int() converts
        "9999-12-31T23:59:59-14:00",  # the calendar's edges, in far timezones
        "0001-01-01T00:00:00+14:00",
    ]
)


def texts(max_size: int = 40) -> st.SearchStrategy[str]:
    """Any text, the odd strings above included."""
    return st.one_of(st.text(max_size=max_size), ODD_TEXT)


@st.composite
def mutated_bytes(draw: st.DrawFn, valid: bytes, max_mutations: int = 4) -> bytes:
    """`valid` with a few bytes flipped, set, inserted or deleted, cut short or extended."""
    data = bytearray(valid)
    for _ in range(draw(st.integers(1, max_mutations))):
        how = draw(st.sampled_from(["flip", "set", "cut", "extend", "insert", "delete", "repeat"]))
        at = draw(st.integers(0, len(data)))
        if how == "flip" and at < len(data):
            data[at] ^= draw(st.integers(1, 255))
        elif how == "set" and at < len(data):
            data[at] = draw(st.sampled_from([0x00, 0x01, 0x7F, 0x80, 0xFE, 0xFF]))
        elif how == "cut":
            del data[at:]
        elif how == "extend":
            data += draw(st.binary(min_size=1, max_size=32))
        elif how == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif how == "delete":
            del data[at : at + draw(st.integers(1, 8))]
        elif how == "repeat":
            data[at:at] = data[at : at + draw(st.integers(1, 16))]
    return bytes(data)


# --- JSON -------------------------------------------------------------------------------------

JSON_SCALARS: st.SearchStrategy[JSON] = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from([-1, 0, 1, 2**31, 2**63, -(2**63) - 1, 10**30]),
    st.floats(allow_nan=True, allow_infinity=True),
    texts(),
)


def json_values(max_leaves: int = 12) -> st.SearchStrategy[JSON]:
    """Any JSON value."""
    return st.recursive(
        JSON_SCALARS,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts(12), inner, max_size=4),
        max_leaves=max_leaves,
    )


def nested(value: JSON, depth: int) -> JSON:
    """`value` inside `depth` lists and objects, alternately."""
    for level in range(depth):
        value = [value] if level % 2 else {"x": value}
    return value


@st.composite
def mutated_json(draw: st.DrawFn, valid: JSON, deep: bool = False, max_mutations: int = 3) -> JSON:
    """`valid` with a few fields dropped, added, retyped, oversized, nested or nulled.

    `deep` allows nesting deep enough to exhaust a recursive reader (see `DEEP`)."""
    value = _copy(valid)
    for _ in range(draw(st.integers(1, max_mutations))):
        value = _mutate_somewhere(draw, value, deep)
    return value


def _mutate_somewhere(draw: st.DrawFn, value: JSON, deep: bool) -> JSON:
    """Walk down a random path (mostly to a leaf), then change what is there."""
    if isinstance(value, dict) and value and draw(st.integers(0, 4)):
        key = draw(st.sampled_from(sorted(value)))
        if draw(st.integers(0, 5)) == 0:
            del value[key]  # a field dropped
            return value
        value[key] = _mutate_somewhere(draw, value[key], deep)
        return value
    if isinstance(value, list) and value and draw(st.integers(0, 4)):
        at = draw(st.integers(0, len(value) - 1))
        value[at] = _mutate_somewhere(draw, value[at], deep)
        return value
    return _mutate_here(draw, value, deep)


def _mutate_here(draw: st.DrawFn, value: JSON, deep: bool) -> JSON:
    depths = [2, 30, DEEP] if deep else [2, 30]
    how = draw(
        st.sampled_from(
            ["retype", "null", "oversize", "nest", "extra", "empty", "repeat", "number", "text"]
        )
    )
    if how == "retype":
        return draw(json_values(max_leaves=4))
    if how == "null":
        return None
    if how == "oversize":
        return draw(
            st.sampled_from(
                ["x" * 70_000, 10**400, -(10**400), 1e308 * 10, [0] * 5000, list(range(300))]
            )
        )
    if how == "nest":
        return nested(value, draw(st.sampled_from(depths)))
    if how == "extra" and isinstance(value, dict):
        return {**value, draw(texts(12)): draw(json_values(max_leaves=3))}
    if how == "empty":
        return type(value)() if isinstance(value, list | dict | str) else 0
    if how == "repeat" and isinstance(value, list):
        return value * draw(st.integers(2, 3))
    if how == "number" and isinstance(value, int | float) and not isinstance(value, bool):
        return draw(st.sampled_from([-1, 0, value + 1, -value, value * 2**40, 0.5, 1e300]))
    if how == "text" and isinstance(value, str):
        edit = draw(st.sampled_from(["cut", "pad", "blank", "odd", "upper"]))
        if edit == "cut":
            return value[: draw(st.integers(0, max(len(value) - 1, 0)))]
        if edit == "pad":
            return f" {value} "
        if edit == "blank":
            return " " * max(len(value), 1)
        if edit == "upper":
            return value.upper()
        return value + draw(ODD_TEXT)
    return draw(JSON_SCALARS)


def _copy(value: JSON) -> JSON:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


@st.composite
def json_bytes(draw: st.DrawFn, values: st.SearchStrategy[JSON]) -> bytes:
    """A JSON value as bytes on the wire, in one of the spellings a sender might use."""
    value = draw(values)
    try:
        text = json.dumps(value, ensure_ascii=draw(st.booleans()), allow_nan=True)
    except (ValueError, RecursionError):  # too deep for json.dumps: spell it by hand
        text = _dumps_flat(value)
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-8", "utf-8-sig", "utf-16", "latin-1"]))
    return text.encode(encoding, errors="surrogatepass" if "utf" in encoding else "replace")


def _dumps_flat(value: JSON) -> str:
    """json.dumps without recursion, for values nested past the recursion limit."""
    out: list[str] = []
    stack: list[Any] = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, _Raw):
            out.append(item.text)
        elif isinstance(item, list):
            stack.append(_Raw("]"))
            for i, element in reversed(list(enumerate(item))):
                stack.append(element)
                if i:
                    stack.append(_Raw(","))
            out.append("[")
        elif isinstance(item, dict):
            stack.append(_Raw("}"))
            for i, (key, element) in reversed(list(enumerate(item.items()))):
                stack.append(element)
                stack.append(_Raw(json.dumps(key) + ":"))
                if i:
                    stack.append(_Raw(","))
            out.append("{")
        else:
            out.append(json.dumps(item, allow_nan=True))
    return "".join(out)


class _Raw:
    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


def payloads(valid: st.SearchStrategy[JSON], deep: bool = False) -> st.SearchStrategy[bytes]:
    """Bytes as a JSON reader receives them: anything, any JSON, valid JSON mutated (as JSON
    and as bytes)."""
    mutated = valid.flatmap(lambda v: mutated_json(v, deep=deep))
    return st.one_of(
        st.binary(max_size=200),
        json_bytes(json_values()),
        json_bytes(valid),
        json_bytes(mutated),
        json_bytes(mutated),
        valid.map(lambda v: json.dumps(v).encode()).flatmap(mutated_bytes),
    )


# --- CSV --------------------------------------------------------------------------------------


def csv_text(rows: list[list[str]], newline: str = "\n") -> str:
    """Rows as an operator's spreadsheet saves them: quoted where needed."""
    return "".join(",".join(_cell(c) for c in row) + newline for row in rows)


def _cell(cell: str) -> str:
    if any(c in cell for c in ',"\r\n'):
        return '"' + cell.replace('"', '""') + '"'
    return cell


@st.composite
def mutated_csv(draw: st.DrawFn, rows: list[list[str]]) -> bytes:
    """A valid CSV file (header first) with cells, columns, quoting, line ends or the
    encoding damaged."""
    rows = [list(r) for r in rows]
    byte_edits: list[str] = []  # applied to the file's bytes, in order, at the end
    for _ in range(draw(st.integers(1, 3))):
        how = draw(st.sampled_from(CSV_EDITS))
        row = draw(st.integers(0, len(rows) - 1))
        if how == "cell" and rows[row]:
            col = draw(st.integers(0, len(rows[row]) - 1))
            rows[row][col] = draw(_cell_values(rows[row][col]))
        elif how == "drop_column" and rows[0]:
            col = draw(st.integers(0, len(rows[0]) - 1))
            rows = [r[:col] + r[col + 1 :] for r in rows]
        elif how == "header" and rows[0]:
            col = draw(st.integers(0, len(rows[0]) - 1))
            rows[0][col] = draw(st.sampled_from(["", " code ", "CODE", "uid;role", "x"]))
        elif how == "extra_cells":
            rows[row] = rows[row] + draw(st.lists(texts(8), min_size=1, max_size=3))
        elif how == "short_row":
            rows[row] = rows[row][: draw(st.integers(0, len(rows[row])))]
        elif how == "duplicate_row":
            rows.append(list(rows[row]))
        elif how == "blank_lines":
            rows.insert(row, [])
        elif how == "huge" and rows[row]:
            rows[row][0] = "9" * draw(st.sampled_from([200, 140_000]))
        else:
            byte_edits.append(how)
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    data = csv_text(rows, newline).encode("utf-8", errors="surrogatepass")
    for how in byte_edits:
        at = draw(st.integers(0, len(data)))
        if how == "bom":
            data = b"\xef\xbb\xbf" + data
        elif how == "latin1":  # saved by a spreadsheet in the local code page
            data = data.decode("utf-8", "surrogateescape").encode("latin-1", "replace")
        elif how == "bad_utf8":
            data = data[:at] + b"\xc3\x28\xff" + data[at:]
        elif how == "nul":
            data = data[:at] + b"\x00" + data[at:]
        elif how == "quote":
            data = data[:at] + b'"' + data[at:]
        elif how == "bytes":
            data = draw(mutated_bytes(data, max_mutations=2))
    return data


CSV_EDITS = [
    *["cell"] * 3,
    "drop_column",
    "header",
    "extra_cells",
    "short_row",
    "duplicate_row",
    "blank_lines",
    "huge",
    "bom",
    "latin1",
    "bad_utf8",
    "nul",
    "quote",
    "bytes",
]


def _cell_values(cell: str) -> st.SearchStrategy[str]:
    return st.one_of(
        texts(12),
        st.just(""),
        st.just(f" {cell} "),
        st.just(cell.lower()),
        st.just(cell + ","),
        st.just(cell + "\n" + cell),
        st.sampled_from(["-1", "0", "256", "1e3", "2026-02-30", "9999-12-31", "0001-01-01", "two"]),
    )


# --- TOML -------------------------------------------------------------------------------------


def toml_text(tables: dict[str, Any]) -> str:
    """A TOML document: top-level keys, then one `[table]` per dict (one level deep)."""
    top = [f"{_key(k)} = {_toml_value(v)}" for k, v in tables.items() if not isinstance(v, dict)]
    parts = ["\n".join(top)] if top else []
    for name, table in tables.items():
        if isinstance(table, dict):
            body = "".join(f"{_key(k)} = {_toml_value(v)}\n" for k, v in table.items())
            parts.append(f"[{_key(name)}]\n{body}")
    return "\n".join(parts) + "\n"


def _key(key: str) -> str:
    if key and all(c in string.ascii_letters + string.digits + "_-" for c in key):
        return key
    return json.dumps(key)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)  # inf and nan are TOML too
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_key(k)} = {_toml_value(v)}" for k, v in value.items()) + "}"
    return json.dumps(str(value), ensure_ascii=False)


TOML_VALUES: st.SearchStrategy[Any] = st.one_of(
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.sampled_from([0, -1, 1, 65536, 2**63 - 1, 0.0, -0.5, float("inf"), float("nan")]),
    texts(20).filter(lambda s: "\ud800" not in s),
    st.sampled_from(["", "/", ".", "..", "x" * 300, "\x00", "../../etc/passwd", "America"]),
    st.dates(),
    st.lists(st.integers(0, 40), max_size=3),
    st.dictionaries(st.sampled_from(["a", "relay", "device"]), st.integers(0, 40), max_size=2),
)


@st.composite
def mutated_tables(draw: st.DrawFn, tables: dict[str, Any]) -> dict[str, Any]:
    """A TOML document with a few values changed or retyped, keys dropped or added, tables
    replaced by values or added."""
    out = {k: dict(v) if isinstance(v, dict) else v for k, v in tables.items()}
    for _ in range(draw(st.integers(1, 3))):
        name = draw(st.sampled_from(sorted(out))) if out else "x"
        into = isinstance(out.get(name), dict) and draw(st.integers(0, 3)) > 0
        where = out[name] if into else out
        key = draw(st.sampled_from(sorted(where))) if where and into else name
        how = draw(st.sampled_from(["edit", "edit", "value", "drop", "add", "section"]))
        if how == "edit" and key in where:
            where[key] = draw(_edited(where[key]))
        elif how == "value":
            where[key] = draw(TOML_VALUES)
        elif how == "drop":
            where.pop(key, None)
        elif how == "add":
            where[draw(st.sampled_from(["extra", key.upper(), "id", "device"]))] = draw(TOML_VALUES)
        else:
            out[draw(st.sampled_from(["reader", "pins", "link", "extra", "mqtt", "http"]))] = {
                draw(st.sampled_from(["device", "relay", "host", "port"])): draw(TOML_VALUES)
            }
    return out


def _edited(value: Any) -> st.SearchStrategy[Any]:
    """Near misses of a valid value: cut, padded, another case, another scale."""
    if isinstance(value, str):
        parts = [value.rsplit(sep, 1)[0] for sep in "/:." if sep in value]
        return st.sampled_from([value[:-1], f" {value} ", value.upper(), value + "/x", *parts])
    if isinstance(value, bool):
        return st.sampled_from([not value, int(value), str(value).lower()])
    if isinstance(value, int | float):
        return st.sampled_from([-value, value * 1000, 0, value + 0.5, str(value)])
    return TOML_VALUES


def toml_files(tables: dict[str, Any]) -> st.SearchStrategy[bytes]:
    """TOML files around a valid document: mutated values, damaged bytes, arbitrary bytes."""
    valid = toml_text(tables).encode()
    return st.one_of(
        st.just(valid),
        mutated_tables(tables).map(lambda t: toml_text(t).encode("utf-8", "surrogatepass")),
        mutated_tables(tables).map(lambda t: toml_text(t).encode("utf-8", "surrogatepass")),
        mutated_bytes(valid),
        st.sampled_from(TOML_EXTREMES).map(lambda extra: valid + extra),
        st.binary(max_size=120),
        texts(80).map(lambda s: s.encode("utf-8", "surrogatepass")),
    )


TOML_EXTREMES = [
    b"deep = " + b"[" * 3000 + b"]" * 3000 + b"\n",
    b"deep = " + b"{a = " * 3000 + b"1" + b"}" * 3000 + b"\n",
    b"long = " + b"1" * 5000 + b"\n",
    b"long = 0x" + b"f" * 5000 + b"\n",
]
