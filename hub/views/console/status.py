"""`hub status` for a person: the broker link, the headcount, and each gate once.

The running hub's answer (`hub.service.readout.Readout.status`) names each gate twice, as the
ingest sees it (`gates`: role, journal, reader) and as the headcount carries it
(`headcount.gates`: last seen, backlog, clock): here they are one row per gate.
"""

from __future__ import annotations

from datetime import tzinfo
from typing import Any

from gate.i18n import Words
from gate.i18n.terminal import columns, labelled, venue_time


def show_status(a: dict[str, Any], _: Words, tz: tzinfo) -> list[str]:
    h = a.get("headcount") or {}
    rows = [
        (_("broker"), _broker(a, _)),
        (_("inside now"), inside(h, _)),
        (_("as of"), f"{venue_time(h.get('as_of'), tz)} ({tz})"),
        (_("allowlist"), _("version {version}", version=a.get("allowlist_version"))),
    ]
    if h.get("live") is False:
        since = venue_time(h.get("stale_since"), tz)
        rows.append(("", _("figures NOT live since {since}: read them as old", since=since)))
    if a.get("head_office"):
        ho = a["head_office"]
        said = _(
            "{venue}: {acked} of {entries} entries acknowledged, {behind} to send",
            venue=ho.get("venue"),
            acked=ho.get("acked"),
            entries=ho.get("entries"),
            behind=ho.get("behind"),
        )
        rows.append((_("head office"), said))
    if a.get("stale"):
        rows.append(("", _("late entries came in: the figures are provisional until the rebuild")))
    lines = labelled(rows)
    lines += ["", *gate_table(a.get("gates") or {}, h.get("gates") or {}, _, tz)]
    counts = [
        (_("rejected"), a.get("rejected")),
        (_("refused"), a.get("refused")),
        (_("control socket refused"), a.get("control_refused")),
        (_("ingest"), a.get("counters")),
    ]
    shown = [(label, _counts(c)) for label, c in counts if c and any(c.values())]
    return lines + (["", *labelled(shown)] if shown else [])


def _broker(a: dict[str, Any], _: Words) -> str:
    broker = a.get("broker") or {}
    if a.get("connected"):
        return _(
            "connected ({lost} lost, {failed} failed attempts)",
            lost=broker.get("lost", 0),
            failed=broker.get("failed", 0),
        )
    why = broker.get("last_down") or _("not connected yet")
    return _("NOT connected: {why}", why=why)


def inside(h: dict[str, Any], _: Words) -> str:
    if "inside" not in h:
        return "-"
    text = _(
        "{inside} ({adults} adults, {children} children, {alone} unaccompanied) in {groups} groups",
        inside=h["inside"],
        adults=h.get("adults"),
        children=h.get("children"),
        alone=h.get("unaccompanied_children"),
        groups=h.get("groups_inside"),
    )
    if h.get("capacity"):
        text += _(", capacity {capacity}", capacity=h["capacity"])
    return text


def gate_table(
    gates: dict[str, dict[str, Any]], counted: dict[str, dict[str, Any]], _: Words, tz: tzinfo
) -> list[str]:
    """One row per gate: what the ingest knows of it beside what the headcount carries; a
    column no gate has anything for is left out."""
    if not gates and not counted:
        return [_("no gate has been heard from")]
    header = (
        _("GATE"),
        _("ROLE"),
        _("ONLINE"),
        _("LAST SEEN"),
        _("JOURNAL"),
        _("ACKED"),
        _("BACKLOG"),
        _("ALLOWLIST"),
        _("READER"),
        _("CLOCK"),
    )
    rows: list[tuple[str | int | None, ...]] = [header]
    for gate in sorted({*gates, *counted}):
        g, c = gates.get(gate, {}), counted.get(gate, {})
        online = g.get("online", c.get("online"))
        skew = c.get("clock_skew_s")
        rows.append(
            (
                gate,
                g.get("role"),
                _("yes") if online else _("NO"),
                venue_time(c.get("last_seen") or g.get("wall_ms"), tz),
                g.get("last_seq"),
                g.get("acked"),
                c.get("backlog"),
                g.get("allowlist_version", c.get("allowlist_version")),
                g.get("reader"),
                None if skew is None else f"{skew:+.1f} s",
            )
        )
    shown = [0, *(i for i in range(1, len(header)) if any(r[i] is not None for r in rows[1:]))]
    right = {shown.index(i) for i in (4, 5, 6, 7) if i in shown}  # the numbers
    return columns([tuple(row[i] for i in shown) for row in rows], right=right)


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items()) if v)
