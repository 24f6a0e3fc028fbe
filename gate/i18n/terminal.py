"""Words on a technician's terminal: the language the shell asks for (and the `--json` and
`--lang` options of `gatectl` and `hub`), columns that line up when some words are Chinese, and
times as the venue's clock reads them.

    _ = terminal_words(args.lang)       # --lang, else LC_ALL / LC_MESSAGES / LANG, else English
    for line in columns([(_("GATE"), _("ONLINE")), ("E1", _("yes"))]):
        print(line)

A Chinese character takes two cells of a terminal (Unicode's East Asian Width "W" or "F"), so
columns are padded by the cells a text takes, not by its length.
"""

from __future__ import annotations

import argparse
import os
import sys
import unicodedata
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, tzinfo

from gate.i18n.catalog import Words, language_from_environment, language_of, words


def terminal_language(option: str | None, environ: Mapping[str, str]) -> str:
    """The language of a command's human output: its `--lang` option, else the environment
    (`WRISTGATE_LANG`, then the locale: `zh_CN.UTF-8` and any `zh*` is Chinese), else English.
    Raises ValueError for an option naming a language we do not speak."""
    if option:
        return language_of(option)
    return language_from_environment(environ)


def terminal_words(option: str | None) -> Words:
    """The translator for a command's output: `--lang`, else this process's locale."""
    return words(terminal_language(option, os.environ))


def _language_option(text: str) -> str:
    try:
        return language_of(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def output_options(parser: argparse.ArgumentParser, *, top: bool) -> None:
    """`--json` and `--lang` for a command line, given before the command (`top`: the main
    parser) or after it (each command's parser: its copies leave the value alone unless given,
    `SUPPRESS`), so `gatectl --json status` and `gatectl status --json` are the same."""
    parser.add_argument(
        "--json",
        action="store_true",
        default=False if top else argparse.SUPPRESS,
        help="print the data as JSON (its keys in English), for scripts",
    )
    parser.add_argument(
        "--lang",
        type=_language_option,
        default=None if top else argparse.SUPPRESS,
        metavar="zh-CN|en",
        help="language of the output (default: the locale, LC_ALL, LC_MESSAGES or LANG)",
    )


def cells(text: str) -> int:
    """How many terminal cells `text` takes: two for each wide (Chinese) character."""
    wide = ("W", "F")
    return sum(
        0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in wide else 1
        for c in text
    )


def pad(text: str, width: int, *, right: bool = False) -> str:
    """`text` padded with spaces to `width` cells (on the left when `right`-aligned)."""
    fill = " " * max(width - cells(text), 0)
    return fill + text if right else text + fill


Cell = str | int | float | None


def columns(
    rows: Sequence[Sequence[Cell]], *, right: Collection[int] = (), gap: int = 2
) -> list[str]:
    """`rows` (the first one a header, if any) as lines whose columns line up; numbers in the
    columns named by index in `right` are aligned right; None shows as "-". The last column is
    not padded, so a long detail there never pushes the line out."""
    texts = [["-" if cell is None else str(cell) for cell in row] for row in rows]
    if not texts:
        return []
    count = max(len(row) for row in texts)
    widths = [
        max((cells(row[i]) for row in texts if i < len(row)), default=0) for i in range(count)
    ]
    lines = []
    for row in texts:
        parts = [
            text if i == len(row) - 1 and i not in right else pad(text, widths[i], right=i in right)
            for i, text in enumerate(row)
        ]
        lines.append((" " * gap).join(parts).rstrip())
    return lines


def labelled(pairs: Iterable[tuple[str, str]], *, gap: int = 2) -> list[str]:
    """`label  text` lines, the texts lined up after the widest label."""
    kept = list(pairs)
    width = max((cells(label) for label, _text in kept), default=0)
    return [f"{pad(label, width)}{' ' * gap}{text}".rstrip() for label, text in kept]


def venue_time(
    at: datetime | int | float | str | None, tz: tzinfo, today: date | None = None
) -> str:
    """A moment as the venue's clock shows it: `14:05:31` on `today` (the venue's date), else
    `2026-07-18 14:05:31`; "-" for none. `at` is an aware datetime, epoch milliseconds or ISO
    text; text that is not a time is shown as it is."""
    if at is None or at == "":
        return "-"
    if isinstance(at, str):
        try:
            moment = datetime.fromisoformat(at)
        except ValueError:
            return at
    elif isinstance(at, datetime):
        moment = at
    else:
        moment = datetime.fromtimestamp(at / 1000, UTC)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    local = moment.astimezone(tz)
    if today is None:
        today = datetime.now(tz).date()
    return f"{local:%H:%M:%S}" if local.date() == today else f"{local:%Y-%m-%d %H:%M:%S}"


def duration(seconds: float) -> str:
    """`45 s`, `12 min`, `3 h 05 min`, `2 d 4 h`: how long, in units either language reads."""
    s = int(max(seconds, 0))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min"
    if s < 86400:
        return f"{s // 3600} h {s % 3600 // 60:02d} min"
    return f"{s // 86400} d {s % 86400 // 3600} h"


def reader_gone() -> None:
    """The reader of our output closed the pipe (`gatectl journal | head`): it has what it
    wanted. Send what is still buffered nowhere, so the exit does not end in a traceback."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
