"""`hub report daily`: the day's report on screen, or written as a workbook, a CSV per table, a
printable page, or one stacked CSV for scripts.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import datetime
from pathlib import Path

from gate.config import ConfigError
from hub.cli.state import config_of, open_venue, print_json

EXIT_OK = 0


def report_command(args: argparse.Namespace) -> int:
    from hub.views.reports.csvdir import report_csv_files
    from hub.views.reports.daily import daily_report
    from hub.views.reports.render import report_csv, report_html, report_text
    from hub.views.reports.workbook import report_xlsx

    with open_venue(args) as v:
        day = args.date or datetime.now(v.policy.tz).date()
        report = daily_report(
            v.venue.store,
            day,
            v.policy.tz,
            findings=v.venue.findings(),
            allowlist=v.allowlist,
            guardian_phones=v.venue.phones(),
        )
    # --lang, else the hub's configured language where hub.toml names one, else English
    lang = args.lang or getattr(config_of(args).hub, "language", None) or "en"
    staff = args.staff
    if args.json:  # the report's data, for scripts
        print_json(report.as_dict(staff=staff))
        return EXIT_OK
    try:
        for target, render, encoding in (
            (args.csv, report_csv, "utf-8-sig"),
            (args.html, report_html, "utf-8"),
        ):
            if target is not None:
                text = render(report, staff=staff, language=lang)
                write_text(target, text, encoding, private=staff)
        if args.xlsx is not None:
            write_bytes(Path(args.xlsx), report_xlsx(report, staff=staff, language=lang), staff)
        if args.csv_dir is not None:
            args.csv_dir.mkdir(parents=True, exist_ok=True)
            for name, data in report_csv_files(report, staff=staff, language=lang).items():
                write_bytes(args.csv_dir / name, data, staff)
                print(args.csv_dir / name)
    except OSError as exc:
        where = exc.filename or "the report's file"
        raise ConfigError(f"{where}: cannot write the report there: {exc.strerror}") from None
    if not (args.csv or args.html or args.xlsx or args.csv_dir):  # people read it on screen
        sys.stdout.write(report_text(report, staff=staff, language=lang))
    return EXIT_OK


def write_bytes(path: Path, data: bytes, private: bool) -> None:
    """`data` to `path`; mode 0600 when it shows phones, whatever the file had before."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with open(fd, "wb") as out:
        if private:
            os.fchmod(out.fileno(), 0o600)
        out.write(data)


def write_text(target: str, text: str, encoding: str, *, private: bool) -> None:
    """`text` to the file `target` ("-": standard output); mode 0600 when it shows phones."""
    if target == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with open(fd, "w", encoding=encoding, newline="") as f:
        if private:
            os.fchmod(f.fileno(), 0o600)
        f.write(text)
