"""What `gatectl` prints of scans, checks, the journal, the allowlist and a handheld's mode.

A technician's test scan is journalled with who asked (the kernel's word): it shows as one,
here and wherever the journal is read (the hub's daily report lists them apart). A dry run
(`gatectl scan --dry-run`) is decided and nothing more, and says so.
"""

from __future__ import annotations

from datetime import tzinfo
from typing import Any

from gate.i18n import Words
from gate.i18n.notices import message_text
from gate.i18n.reasons import reason_text
from gate.i18n.terminal import columns, labelled, venue_time


def technician(who: dict[str, Any] | None, _: Words) -> str:
    """ "technician's test scan by ana (uid 1000)": how a test scan's journal entry shows."""
    who = who or {}
    return _(
        "technician's test scan by {user} (uid {uid})",
        user=who.get("user") or "?",
        uid=who.get("uid") if who.get("uid") is not None else "?",
    )


def show_scan(a: dict[str, Any], _: Words, tz: tzinfo) -> list[str]:
    if "check" in a:
        lines = show_check(a["check"], _, tz)
    else:
        d = a["decision"]
        forced = " " + _("(forced)") if d.get("forced") else ""
        message = message_text(d["message"], _.language)
        lines = [f"{d['code']}{forced}: {message}", f"  {reason_text(d['code'], _.language)}"]
        if d.get("group"):
            role = _(", {role}", role=d["role"]) if d.get("role") else ""
            lines.append("  " + _("group {group}", group=d["group"]) + role)
        if voucher := d.get("voucher"):
            printed = _("printed") if voucher.get("printed") else _("not printed")
            until = voucher.get("expires", "?")
            lines.append(
                "  "
                + _(
                    "voucher {code}, until {until} ({printed})",
                    code=voucher.get("code"),
                    until=until,
                    printed=printed,
                )
            )
        if not a.get("dry_run"):
            seq = _("journal seq {seq}", seq=a.get("seq"))
            lines.append(f"  {technician(a.get('asked_by'), _)}: {seq}")
    if a.get("dry_run"):
        lines.append("  " + _("dry run: decided only, nothing journalled, the relay did not move"))
    return lines


def show_check(c: dict[str, Any], _: Words, tz: tzinfo) -> list[str]:
    """A handheld's check of a band: its group, role and state, the guardian masked."""
    if not c["known"]:
        return [_("{value}: not bound here", value=c["value"])]
    lines = [
        _(
            "{value}: {role} of group {group}, {state}",
            value=c["value"],
            role=c["role"],
            group=c["group"],
            state=c["state"],
        ),
        "  "
        + _(
            "last seen at {gate} {time}, guardian {phone}",
            gate=c["last_gate"],
            time=venue_time(c["last_at"], tz),
            phone=c["guardian_phone"] or "-",
        ),
    ]
    members = [(m["uid"], m["role"], m["state"]) for m in c["group_members"]]
    return lines + ["  " + line for line in columns(members)]


# --- the journal --------------------------------------------------------------------------------


def show_journal(a: dict[str, Any], _: Words, tz: tzinfo) -> list[str]:
    rows: list[tuple[str | int, ...]] = [(_("SEQ"), _("TIME"), _("KIND"), _("VALUE"), _("WHAT"))]
    for e in a["entries"]:
        value, what = entry_words(e["kind"], e["body"], _)
        rows.append((e["seq"], venue_time(e["wall_ms"], tz), e["kind"], value, what))
    summary = _(
        "(last seq {seq}, hub acked {acked}; times in {zone})",
        seq=a["last_seq"],
        acked=a["acked"],
        zone=str(tz),
    )
    return [*columns(rows, right={0}), summary]


def entry_words(kind: str, body: dict[str, Any], _: Words) -> tuple[str, str]:
    """A journal entry's value (the band or code scanned) and what happened, in words."""
    match kind:
        case "decision":
            d = body.get("decision") or {}
            code = str(d.get("code", "?"))
            what = f"{code} {reason_text(code, _.language)}"
            what += " " + _("(forced)") if d.get("forced") else ""
            if "asked_by" in body:
                what += "  " + technician(body["asked_by"], _)
            return str(d.get("value", "")), what
        case "passage":
            passed = _("went through") if body.get("passed") else _("nobody went through")
            return "", _(
                "passage for seq {seq}: {passed}", seq=body.get("decision_seq"), passed=passed
            )
        case "expiry":
            return "", _("pairing windows closed: {n}", n=len(body.get("events", [])))
        case "fire_alarm":
            return "", _("fire alarm on") if body.get("on") else _("fire alarm cleared")
        case "allowlist":
            what = _(
                "allowlist version {version} from {source}",
                version=body.get("version"),
                source=body.get("source"),
            )
            if who := body.get("asked_by"):
                what += " " + _("by {user} (uid {uid})", user=who.get("user"), uid=who.get("uid"))
            return "", what
    return "", ", ".join(f"{k} {v}" for k, v in body.items() if not isinstance(v, dict | list))


# --- the allowlist and a handheld's mode --------------------------------------------------------


def show_allowlist(a: dict[str, Any], _: Words, tz: tzinfo) -> list[str]:
    if "imported" in a:
        who = a.get("imported_by") or {}
        lines = [
            _(
                "allowlist version {version} imported, as {user} (uid {uid})",
                version=a["imported"],
                user=who.get("user"),
                uid=who.get("uid"),
            )
        ]
        return lines + [_("{row}: row skipped", row=row) for row in a.get("rows_skipped", [])]
    lines = labelled(
        [
            (_("version"), str(a["version"])),
            (_("tickets"), str(a["tickets"])),
            (_("bands"), str(a["bands"])),
            (_("staff badges"), str(a["staff"])),
            (_("revoked"), str(a["revoked"])),
        ]
    )
    if "lookup" in a:
        lines += ["", *lookup(a["lookup"], _, tz)]
    return lines


def lookup(found: dict[str, Any], _: Words, tz: tzinfo) -> list[str]:
    value = found["value"]
    lines = []
    if ticket := found.get("ticket"):
        lines.append(
            _(
                "{value}: ticket {product}, {adults} adults, {children} children, "
                "valid {start} to {end}",
                value=value,
                product=ticket.get("product") or "-",
                adults=ticket["adults"],
                children=ticket["children"],
                start=ticket["valid_from"],
                end=ticket["valid_to"],
            )
        )
        if ticket.get("guardian_phone"):
            lines.append("  " + _("guardian {phone}", phone=ticket["guardian_phone"]))
    if "stock_role" in found:
        lines.append(
            _("{value}: a band of the stock ({role})", value=value, role=found["stock_role"])
        )
    if "staff" in found:
        lines.append(_("{value}: staff badge of {name}", value=value, name=found["staff"]))
    if "revoked" in found:
        lines.append(_("{value}: revoked: {reason}", value=value, reason=found["revoked"]))
    if member := found.get("member"):
        lines += show_check(member, _, tz)
    return lines or [_("{value}: not on the allowlist", value=value)]


def show_mode(a: dict[str, Any], _: Words, tz: tzinfo) -> list[str]:
    return [_("mode: {mode}", mode=a["mode"])]
