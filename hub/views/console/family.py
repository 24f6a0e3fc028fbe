"""`hub sweep`, `hub lookup` and `hub import` for a person, from the data their `--json` prints
(`hub.views.sweep`'s rows and lookup, the import's summary); times on the venue's clock."""

from __future__ import annotations

from datetime import tzinfo
from typing import Any

from gate.i18n import Words
from gate.i18n.terminal import columns, venue_time


def show_sweep(answer: dict[str, Any], _: Words, tz: tzinfo) -> list[str]:
    """Every child inside, those with no adult of their group inside first, marked `!`."""
    rows, count = answer["children"], answer["headcount"]
    alone = [row for row in rows if _alone(row)]
    head = _(
        "{children} children inside, {alone} with no adult of their group inside; "
        "{inside} people inside in all ({adults} adults) (times in {zone})",
        children=len(rows),
        alone=len(alone),
        inside=count["inside"],
        adults=count["adults"],
        zone=str(tz),
    )
    # the closings on (hub.views.closing): critical once closed with a child inside
    said = [
        f"{'!! ' if c['level'] == 'critical' else ''}{c['text']}" for c in answer.get("closing", [])
    ]
    if not rows:
        return [*said, head]
    table: list[tuple[str, ...]] = [
        (
            " ",
            _("BAND"),
            _("ROLE"),
            _("GROUP"),
            _("LAST GATE"),
            _("LAST SEEN"),
            _("GUARDIAN"),
            _("ADULTS OF THE GROUP"),
        )
    ]
    for row in rows:
        adults = "; ".join(
            f"{a['uid']} {a['state']} ({a['last_gate']} {venue_time(a['last_at'], tz)})"
            for a in row["adults"]
        )
        table.append(
            (
                "!" if _alone(row) else " ",
                row["uid"],
                row["role"],
                row["group"],
                row["last_gate"],
                venue_time(row["last_at"], tz),
                row["guardian_phone"] or "-",
                adults or _("none"),
            )
        )
    return [*said, head, *columns(table)]


def _alone(row: dict[str, Any]) -> bool:
    """As `SweepRow.alone`: the group is flagged, or a family's child has no adult inside."""
    return bool(row["children_unaccompanied"]) or (
        row["role"] == "child" and not row["adult_inside"]
    )


def show_lookup(found: dict[str, Any], _: Words, tz: tzinfo) -> list[str]:
    match = found["match"]
    head = _(
        "{kind} {value}: group {group}, {inside} of {members} inside",
        kind=_("band") if match["kind"] == "band" else _("ticket"),
        value=match["value"],
        group=found["group"],
        inside=found["inside"],
        members=len(found["members"]),
    )
    if found["children_unaccompanied"]:
        head += _("; CHILDREN UNACCOMPANIED")
    lines = [head]
    if short := found.get("incomplete"):  # slots of its ticket with no band yet
        lines.append(
            _(
                "INCOMPLETE: {adults} adult(s), {children} child(ren) not bound yet",
                adults=short["adults"],
                children=short["children"],
            )
        )
    if ticket := found.get("ticket"):
        lines.append(
            _(
                "ticket {code}: {product}, adults {adults}, children {children}, "
                "valid {start} to {end}",
                code=ticket["code"],
                product=ticket["product"] or "-",
                adults=ticket["adults"],
                children=ticket["children"],
                start=ticket["valid_from"],
                end=ticket["valid_to"],
            )
        )
    for value, reason in found["revoked"].items():
        lines.append(_("revoked: {value}: {reason}", value=value, reason=reason))
    if found["guardian_phone"]:
        lines.append(_("guardian phone: {phone}", phone=found["guardian_phone"]))
    if found["members"]:
        table: list[tuple[str, ...]] = [
            (_("BAND"), _("ROLE"), _("STATE"), _("LAST GATE"), _("LAST SEEN"))
        ]
        table += [
            (m["uid"], m["role"], m["state"], m["last_gate"], venue_time(m["last_at"], tz))
            for m in found["members"]
        ]
        lines += ["", *columns(table)]
    return lines


def show_import(answer: dict[str, Any], _: Words) -> list[str]:
    """An import's summary: the new version and what changed, and who imported it."""
    text = _(
        "allowlist version {version}: {added} added, {replaced} replaced, {removed} removed",
        version=answer["version"],
        added=answer["added"],
        replaced=answer["replaced"],
        removed=answer["removed"],
    )
    if answer.get("revoked") or answer.get("restored"):
        text += _(
            "; {revoked} revoked, {restored} restored",
            revoked=answer.get("revoked", 0),
            restored=answer.get("restored", 0),
        )
    if answer.get("note"):
        text += f" ({answer['note']})"
    if who := answer.get("imported_by"):
        text += _(", imported as {user} (uid {uid})", user=who.get("user"), uid=who.get("uid"))
    return [text]
