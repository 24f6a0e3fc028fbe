"""What `gatectl` prints for a person: the gate's answers as lines, in the technician's language,
times on the venue's clock (the policy's timezone, which every answer names).

Each `show_*` takes the gate's answer (the JSON `gatectl --json` prints), a translator and the
venue's timezone, and returns the lines; nothing here talks to the gate. Scans and the journal
and the allowlist are in `gate.tools.show_scans`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from gate.i18n import N_, Words
from gate.i18n.terminal import columns, duration, labelled, venue_time
from gate.tools.show_clock import clock_label, clock_line

Show = Callable[[dict[str, Any], Words, tzinfo], list[str]]

STATES = {  # a reader's or scanner's state (gate.devices), as a technician reads it
    "searching": N_("working, waiting for a band"),
    "connected": N_("working, a band on it"),
    "open": N_("working, port open"),
    "absent": N_("no device at the path: retrying"),
    "failed": N_("failed to open or stopped working: retrying"),
    "stopped": N_("not running"),
}


def zone_of(answer: dict[str, Any]) -> tzinfo:
    """The venue's timezone an answer names (UTC for a gate too old to name it)."""
    try:
        return ZoneInfo(str(answer.get("timezone") or "UTC"))
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


# --- status -----------------------------------------------------------------------------------


def show_status(a: dict[str, Any], _: Words, tz: tzinfo) -> list[str]:
    h, j = a["headcount"], a["journal"]
    head = _(
        "Gate {gate} ({role}, mode {mode}), up {uptime}",
        gate=a["gate"],
        role=a["role"],
        mode=a["mode"],
        uptime=duration(a["uptime_s"]),
    )
    rows = [
        (_("allowlist"), _("version {version}", version=a["allowlist_version"])),
        (
            _("inside"),
            _(
                "{inside} ({adults} adults, {children} children, {alone} unaccompanied) "
                "in {groups} groups",
                inside=h["inside"],
                adults=h["adults"],
                children=h["children"],
                alone=h["unaccompanied_children"],
                groups=h["groups_inside"],
            ),
        ),
        (
            _("journal"),
            _(
                "seq {seq}, hub acked {acked}, backlog {backlog}",
                seq=j["last_seq"],
                acked=j["acked"],
                backlog=j["backlog"],
            ),
        ),
        (_("reader"), health(a.get("reader"), _)),
        (_("scanner"), health(a.get("scanner"), _)),
        (_("broker"), broker(a.get("link"), _)),
    ]
    if (link := a.get("link")) and link.get("problem"):
        rows.append(("", link["problem"]))  # under the broker's line
    rows.append((clock_label(a.get("clock"), _), clock_line(a.get("clock"), _)))
    if a.get("fire_alarm"):
        rows.append((_("FIRE ALARM"), _("exit held open")))
    if drill := a.get("drill"):
        rows.append(
            (
                _("DRILL"),
                _(
                    "{kind} ordered by the hub (drill {n}), {left} s left at most",
                    kind=drill["kind"],
                    n=drill["drill"],
                    left=round(drill["left_s"]),
                ),
            )
        )
    if a.get("awaiting_passage"):
        rows.append(
            (_("awaiting"), _("{n} grants wait for the passage sensor", n=a["awaiting_passage"]))
        )
    if last := a.get("last"):
        rows.append((_("last scan"), last_scan(last, _)))
    if a.get("counters"):
        rows.append((_("counts"), ", ".join(f"{k} {v}" for k, v in a["counters"].items())))
    if refused := {k: v for k, v in (a.get("control_refused") or {}).items() if v}:
        counted = ", ".join(f"{k} {v}" for k, v in refused.items())
        rows.append((_("control socket"), _("refused: {counts}", counts=counted)))
    return [head, *labelled(rows)]


def health(part: dict[str, Any] | None, _: Words) -> str:
    """A reader's or a scanner's state, where it is and its last error, in words."""
    if part is None:
        return _("not fitted")
    state = str(part.get("state"))
    where = part.get("device") or part.get("port")
    text = f"{_(STATES[state]) if state in STATES else state} ({where})"
    counted = [(key, part.get(key)) for key in ("reads", "faults", "not_original", "reopens")]
    if shown := ", ".join(f"{key} {n}" for key, n in counted if n):
        text += f"; {shown}"
    if stats := part.get("stats"):  # a scanner's lines, in diag
        rejected = ", ".join(f"{k} {n}" for k, n in (stats.get("rejected") or {}).items())
        text += _("; {n} lines accepted", n=stats.get("accepted", 0))
        text += _(", rejected: {reasons}", reasons=rejected) if rejected else ""
    if part.get("last_error"):
        text += _(", last error: {error}", error=part["last_error"])
    return text


def broker(link: dict[str, Any] | None, _: Words) -> str:
    if not link or not link.get("configured"):
        return _("not configured: this gate runs alone")
    if link.get("connected") and link.get("subscribed") is False:
        state = _("connected, its subscriptions not yet granted")  # deaf to its peers so far
    elif link.get("connected"):
        state = _("connected")
    elif link.get("last_down_kind") == "refused":
        state = _("login refused")
    else:
        state = _("down")
    return _(
        "{state} ({broker}, {tls}), {lost} lost, {taken} taken over, {failed} failed attempts",
        state=state,
        broker=link.get("broker"),
        tls="TLS" if link.get("tls") else _("no TLS"),
        lost=link.get("lost", 0),
        taken=link.get("taken_over", 0),
        failed=link.get("failed", 0),
    )


def last_scan(last: dict[str, Any], _: Words) -> str:
    if "check" in last:
        c = last["check"]
        return _("check of {value}", value=c.get("value"))
    text = f"{last.get('code')} {last.get('value', '')}".rstrip()
    if last.get("seq"):
        text += "  " + _("(journal seq {seq})", seq=last["seq"])
    return text


# --- diag ---------------------------------------------------------------------------------------


def show_diag(a: dict[str, Any], _: Words, tz: tzinfo) -> list[str]:
    checks: dict[str, dict[str, Any]] = a["checks"]
    rows: list[tuple[str, str, str]] = [(_("RESULT"), _("CHECK"), _("DETAIL"))]
    for name, check in checks.items():
        problem = check.get("problem")
        detail = problem or _detail(name, check, _, tz)
        rows.append((_("FAIL") if problem else _("ok"), name, detail))
    verdict = _("all checks passed") if a.get("passed") else _("{n} problems", n=len(a["problems"]))
    return [*columns(rows), "", verdict]


def _detail(name: str, check: dict[str, Any], _: Words, tz: tzinfo) -> str:
    if check.get("fitted") is False:
        return _("not fitted")
    match name:
        case "reader" | "scanner":
            return health(check, _)
        case "gpio":
            fitted = ", ".join(check.get("fitted", [])) or _("nothing")
            inputs = ", ".join(
                f"{k} {_('on') if v else _('off')}" for k, v in check.get("inputs", {}).items()
            )
            text = _("fitted: {fitted}; signal {signal}", fitted=fitted, signal=check.get("signal"))
            return text + (_("; inputs: {inputs}", inputs=inputs) if inputs else "")
        case "disk":
            return _("{mb} MB free on {path}", mb=round(check["free_mb"]), path=check["path"])
        case "clock":
            now = venue_time(check.get("now"), tz)
            last = venue_time(check.get("last_journal_wall_ms"), tz)
            text = _(
                "now {now} ({zone}), last journal entry {last}", now=now, zone=str(tz), last=last
            )
            return text + "; " + clock_line(check.get("hub"), _) if check.get("hub") else text
        case "key_file":
            return _("{path}, mode {mode}", path=check.get("path"), mode=check.get("mode"))
        case "link":
            backlog = check.get("backlog")
            text = broker(check, _)
            return text + (_("; {n} to send", n=backlog) if backlog else "")
    return ", ".join(
        f"{k} {v}" for k, v in check.items() if v is not None and not isinstance(v, dict | list)
    )


# --- selftest -----------------------------------------------------------------------------------


def show_selftest(a: dict[str, Any], _: Words, tz: tzinfo) -> list[str]:
    report: dict[str, Any] = a["selftest"]
    rows: list[tuple[str, str]] = [(_("OUTPUT"), _("RESULT"))]
    rows += [
        (name, _("ok") if result == "ok" else result) for name, result in report["outputs"].items()
    ]
    lines = columns(rows)
    if report.get("inputs"):
        inputs = [(_("INPUT"), _("READS"))]
        inputs += [(name, _("on") if on else _("off")) for name, on in report["inputs"].items()]
        lines += ["", *columns(inputs)]
    if report.get("not_fitted"):
        lines += ["", _("not fitted: {parts}", parts=", ".join(report["not_fitted"]))]
    lines += [_("warning: {text}", text=w) for w in report.get("warnings", [])]
    lines += ["", _("selftest passed") if a.get("passed") else _("selftest FAILED")]
    return lines
