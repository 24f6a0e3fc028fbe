"""Reading the allowlist CSV directory of design.md §8.

    tickets.csv     code,product,adults,children,valid_from,valid_to,guardian_phone
                    [,session][,leaders]
    wristbands.csv  uid,role
    staff.csv       uid,name
    revoked.csv     value,reason      (optional)

A file that is missing, not UTF-8 or lacks header columns stops the load (`AllowlistError`,
naming every such file). A bad row is reported as a `RowError` with its physical line number and
skipped; the good rows still load. No message repeats a line of a file: a header is described
by the columns it names, a row by the field at fault, its cell quoted short (`validate.shown`).

    allowlist, row_errors = load_csv_dir("allowlist/")
    for e in row_errors:
        print(e)        # tickets.csv:12: adults must be a whole number >= 0, got 'two'
"""

from __future__ import annotations

import csv
import io
import os
import stat
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from gate.core import Allowlist, Ticket
from gate.store.allowlist.errors import AllowlistError
from gate.store.allowlist.validate import (
    band_role,
    day,
    normalise_uid,
    phone_problem,
    revocation_key,
    shown,
    ticket_problems,
    unknown_session,
    whole_number,
)

TICKETS, WRISTBANDS, STAFF, REVOKED = "tickets.csv", "wristbands.csv", "staff.csv", "revoked.csv"
COLUMNS: dict[str, tuple[str, ...]] = {
    TICKETS: ("code", "product", "adults", "children", "valid_from", "valid_to", "guardian_phone"),
    WRISTBANDS: ("uid", "role"),
    STAFF: ("uid", "name"),
    REVOKED: ("value", "reason"),
}
OPTIONAL = frozenset({REVOKED})
# Columns a file may have: a ticket's session (场次), empty for a ticket of the whole day;
# `leaders` makes a ticket a school group's (its adults lead it).
OPTIONAL_COLUMNS: dict[str, tuple[str, ...]] = {TICKETS: ("session", "leaders")}


@dataclass(frozen=True, slots=True)
class RowError:
    """A row that was skipped, and why. `line` is the physical line in the file (header: 1)."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


T = TypeVar("T")
Row = dict[str, str]  # column -> cell, stripped; missing trailing cells read as ""


@dataclass
class _Table:
    """One CSV file, read and split into rows with the line each starts on."""

    name: str
    rows: list[tuple[int, Row]] = field(default_factory=list)
    row_errors: list[RowError] = field(default_factory=list)


def load_csv_dir(
    path: str | os.PathLike[str], sessions: Collection[str] | None = None
) -> tuple[Allowlist, list[RowError]]:
    """Read the CSV directory at `path` into an `Allowlist` (version 0), with the rows skipped.

    Raises `AllowlistError` when a required file is missing or unreadable, or a header lacks
    columns; the message names each such file and what is wrong with it. `sessions`: the names
    of the venue policy's sessions, when known; a ticket naming another is a row error.
    """
    directory = Path(path)
    if not directory.is_dir():
        raise AllowlistError(f"{directory}: not a directory")
    texts: dict[str, str] = {}
    problems = []
    for name in COLUMNS:
        try:
            texts[name] = _read_file(directory / name)
        except FileNotFoundError:
            pass  # said by load_csv_texts, which knows the optional files
        except AllowlistError as exc:
            problems.extend(exc.problems)
    if problems:
        raise AllowlistError(problems)
    return load_csv_texts(texts, where=str(directory), sessions=sessions)


def load_csv_texts(
    texts: Mapping[str, str], where: str, sessions: Collection[str] | None = None
) -> tuple[Allowlist, list[RowError]]:
    """`load_csv_dir` for files already read: file name (`tickets.csv`, ...) -> its text.

    The control sockets take allowlists this way: the operator's own command reads the files
    with the operator's rights and sends their text, so the daemon never opens a path it is
    named. `where` says where the files came from (a directory), for a missing file's message.
    """
    unknown = sorted(set(texts) - set(COLUMNS))
    if unknown:
        raise AllowlistError(
            f"{len(unknown)} file(s) that are not allowlist files: the files are "
            f"{', '.join(COLUMNS)}"
        )
    tables, problems = {}, []
    for name in COLUMNS:
        try:
            tables[name] = _parse_table(name, texts.get(name), where)
        except AllowlistError as exc:
            problems.extend(exc.problems)
    if problems:
        raise AllowlistError(problems)
    return _Builder(tables, sessions).build()


def decode_csv(name: str, data: bytes) -> str:
    """A CSV file's bytes as text (a UTF-8 byte order mark dropped), or `AllowlistError`
    naming the file and the line that is not UTF-8."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise AllowlistError(f"{name}:{line}: not UTF-8 text (save the file as UTF-8)") from exc


def read_csv_file(path: Path, limit: int | None = None) -> str:
    """One CSV file's text, read with this process's rights, at most `limit` bytes. Raises
    `AllowlistError` naming the path and why it cannot be read, never a word of its content."""
    try:
        if not stat.S_ISREG(path.stat().st_mode):  # a FIFO would block, /dev/zero never end
            raise AllowlistError(f"{path}: not a regular file")
        with path.open("rb") as f:
            data = f.read() if limit is None else f.read(limit + 1)
    except FileNotFoundError:
        raise AllowlistError(f"{path}: no such file") from None
    except OSError as exc:
        raise AllowlistError(f"{path}: cannot be read: {exc.strerror}") from None
    if limit is not None and len(data) > limit:
        size = f"{limit >> 20} MiB" if limit >= 1 << 20 else f"{limit} bytes"
        raise AllowlistError(f"{path}: larger than {size}: split the import")
    return decode_csv(path.name, data)


def read_csv_dir(directory: str | os.PathLike[str], limit: int | None = None) -> dict[str, str]:
    """The allowlist files (`COLUMNS`' names) found in `directory`: file name -> text, at most
    `limit` bytes in all. Other files there are not read; a missing one is for the loader to
    judge (revoked.csv may be absent)."""
    where = Path(directory)
    if not where.is_dir():
        raise AllowlistError(f"{where}: not a directory")
    texts: dict[str, str] = {}
    left = limit
    for name in COLUMNS:
        path = where / name
        if not path.exists() and not path.is_symlink():
            continue
        texts[name] = read_csv_file(path, left)
        if left is not None:
            left -= len(texts[name].encode())
    return texts


# --- reading files --------------------------------------------------------------------------


def _read_file(path: Path) -> str:
    """The text of one allowlist file. Raises `FileNotFoundError` when there is none."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise AllowlistError(f"{path.name}: cannot be read: {exc.strerror}") from exc
    return decode_csv(path.name, data)


def _parse_table(name: str, text: str | None, where: str) -> _Table:
    """One file's rows. No message quotes the header: a file that is not an allowlist CSV
    (a password file named by mistake, or on purpose) is refused without a word of it."""
    if text is None:
        if name in OPTIONAL:
            return _Table(name)
        raise AllowlistError(f"{name}: missing (required in {where})")
    records = _records(name, text)
    header = next(records, None)
    if header is None:
        raise AllowlistError(f"{name}: empty, a header row is required: {','.join(COLUMNS[name])}")
    table = _Table(name)
    columns = _columns(name, header[1])
    for line, cells in records:
        row = _row(table, line, cells, columns, len(header[1]))
        if row is not None:
            table.rows.append((line, row))
    return table


def _records(name: str, text: str) -> Iterator[tuple[int, list[str]]]:
    """Non-blank CSV records with the physical line each starts on (a quoted cell may span)."""
    reader = csv.reader(io.StringIO(text, newline=""))
    while True:
        line = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:  # its messages name the fault, never the text
            raise AllowlistError(f"{name}:{line}: not valid CSV: {exc}") from exc
        if any(c.strip() for c in cells):
            yield line, cells


def _columns(name: str, header: list[str]) -> dict[str, int]:
    """Column name -> position, or an error listing the columns the header lacks. The header
    is described by the known columns it names, never quoted."""
    found: dict[str, int] = {}
    for i, cell in enumerate(header):
        found.setdefault(cell.strip().lower(), i)
    missing = [c for c in COLUMNS[name] if c not in found]
    if missing:
        known = [c for c in COLUMNS[name] if c in found]
        raise AllowlistError(
            f"{name}: header lacks column{'s' * (len(missing) > 1)} {', '.join(missing)} "
            f"(expected {','.join(COLUMNS[name])}; the first line has {len(header)} "
            f"cell{'s' * (len(header) != 1)} and names "
            + (", ".join(known) if known else "none of them: is this the right file?")
            + ")"
        )
    optional = [c for c in OPTIONAL_COLUMNS.get(name, ()) if c in found]
    return {c: found[c] for c in (*COLUMNS[name], *optional)}


def _row(
    table: _Table, line: int, cells: list[str], columns: dict[str, int], width: int
) -> Row | None:
    """The row's cells by column; non-empty cells past the header mean an unquoted comma."""
    if any(c.strip() for c in cells[width:]):
        message = f"{len(cells)} cells but the header has {width}: quote values containing commas"
        table.row_errors.append(RowError(table.name, line, message))
        return None
    return {c: cells[i].strip() if i < len(cells) else "" for c, i in columns.items()}


# --- checking rows --------------------------------------------------------------------------


class _RowProblem(Exception):
    """The problems of one row; it is skipped."""

    def __init__(self, *problems: str) -> None:
        super().__init__("; ".join(problems))


class _Builder:
    """Checks the rows of each file, in dependency order, into one `Allowlist`."""

    def __init__(self, tables: dict[str, _Table], sessions: Collection[str] | None) -> None:
        self.tables = tables
        self.sessions = sessions
        self.allowlist = Allowlist(version=0)
        self.row_errors: list[RowError] = []
        self.first_line: dict[tuple[str, str], int] = {}  # (file, key) -> line first seen

    def build(self) -> tuple[Allowlist, list[RowError]]:
        self._each(TICKETS, self._ticket)
        self._each(WRISTBANDS, self._band)
        self._each(STAFF, self._staff)
        self._each(REVOKED, self._revocation)
        self.row_errors.sort(key=lambda e: (list(COLUMNS).index(e.file), e.line))
        return self.allowlist, self.row_errors

    def _each(self, name: str, check: Callable[[int, Row], None]) -> None:
        table = self.tables[name]
        self.row_errors.extend(table.row_errors)
        for line, row in table.rows:
            try:
                check(line, row)
            except _RowProblem as exc:
                self.row_errors.append(RowError(name, line, str(exc)))

    def _first(self, name: str, key: str, line: int, what: str) -> None:
        """Remember where `key` first appears in `name`; a later row with it is a duplicate.

        Rows rejected for another reason still claim their key: which of two rows is right is
        the operator's call, so neither is taken.
        """
        first = self.first_line.setdefault((name, key), line)
        if first != line:
            raise _RowProblem(f"duplicate {what} {shown(key)} (first on line {first})")

    def _ticket(self, line: int, row: Row) -> None:
        code = row["code"]
        if code:
            self._first(TICKETS, code, line, "ticket code")
        problems: list[str] = []
        adults = _parsed(problems, whole_number, row["adults"], "adults")
        children = _parsed(problems, whole_number, row["children"], "children")
        valid_from = _parsed(problems, day, row["valid_from"], "valid_from")
        valid_to = _parsed(problems, day, row["valid_to"], "valid_to")
        phone = row["guardian_phone"]
        leaders = _parsed(problems, whole_number, row.get("leaders") or "0", "leaders")
        if (
            adults is None
            or children is None
            or valid_from is None
            or valid_to is None
            or leaders is None
        ):
            if not code:
                problems.insert(0, "code is empty")
            if (bad_phone := phone_problem(phone)) is not None:
                problems.append(bad_phone)
            raise _RowProblem(*problems)
        session = row.get("session", "")
        ticket = Ticket(
            code,
            row["product"],
            adults,
            children,
            valid_from,
            valid_to,
            phone,
            session=session,
            leaders=leaders,
        )
        problems = ticket_problems(ticket)
        if session and self.sessions is not None and session not in self.sessions:
            problems.append(unknown_session(session, self.sessions))
        if problems:
            raise _RowProblem(*problems)
        self.allowlist.tickets[code] = ticket

    def _band(self, line: int, row: Row) -> None:
        problems: list[str] = []
        uid = _parsed(problems, _uid, row["uid"])
        if uid is not None:
            self._first(WRISTBANDS, uid, line, "uid")
        role = _parsed(problems, band_role, row["role"])
        if uid is None or role is None:
            raise _RowProblem(*problems)
        self.allowlist.bands[uid] = role

    def _staff(self, line: int, row: Row) -> None:
        problems: list[str] = []
        uid = _parsed(problems, _uid, row["uid"])
        if uid is not None:
            self._first(STAFF, uid, line, "uid")
            band_line = self.first_line.get((WRISTBANDS, uid))
            if band_line is not None:
                problems.append(
                    f"uid {uid} is also a wristband ({WRISTBANDS} line {band_line}): "
                    "a staff badge cannot be a visitor's band"
                )
        if not row["name"]:
            problems.append("name is empty")
        if uid is None or problems:
            raise _RowProblem(*problems)
        self.allowlist.staff[uid] = row["name"]

    def _revocation(self, line: int, row: Row) -> None:
        value, reason = row["value"], row["reason"]
        if not value:
            raise _RowProblem("value is empty: give a ticket code or a band uid")
        key = revocation_key(value, self.allowlist.tickets)
        self._first(REVOKED, key, line, "value")
        if not reason:
            raise _RowProblem(f"reason is empty: say why {shown(value)} is revoked")
        self.allowlist.revoked[key] = reason


def _uid(text: str) -> str:
    if not text:
        raise ValueError("uid is empty")
    return normalise_uid(text)


def _parsed(problems: list[str], parse: Callable[..., T], *args: str) -> T | None:
    """`parse(*args)`, or None with its complaint added to `problems`."""
    try:
        return parse(*args)
    except ValueError as exc:
        problems.append(str(exc))
        return None
