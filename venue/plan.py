"""Who comes to the simulated venue, and what each family does with its day.

`make_plan` draws the families from a seeded random generator, so a run can be repeated:
families of 1-2 adults and 1-3 children, about 5% solo children (a ticket with no adult and a
guardian phone), and a few families with a story to tell:

- `Story.TEMPORARY`: a family of two adults; one steps out for a while (a temporary exit) and
  comes back in, the other stays with the children;
- `Story.LEAVES_FIRST`: the one adult of a family leaves by the exit alone, the children stay
  inside; when the pairing window closes the group is flagged "children unaccompanied", until
  the adult comes back in and later leaves with them;
- `Story.CHECKED`: a member's band is checked on the floor with the handheld;
- `Story.SOLO`: a child admitted alone, released at the exit by a staff badge (guardian pickup);
- `Story.CHILD_ALONE`: a child tries the exit alone, is turned back, and leaves later with its
  family.

`Shares` says how many families of each story a plan draws: the demo's day, or the chaos
campaign's busier one.

Times are *day times*: seconds since midnight of the venue's day (`hhmm` prints them). The
simulator's clock (`clock.DayClock`) runs the day compressed into minutes.

`write_venue` turns a plan into what the gates and the hub read: the allowlist directory
(tickets.csv, wristbands.csv, staff.csv), policy.toml and the site key.
"""

from __future__ import annotations

import contextlib
import os
import random
import secrets
from collections import Counter
from dataclasses import dataclass, replace
from datetime import date
from enum import StrEnum
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

HOUR = 3600.0
MINUTE = 60.0
OPENS = 9 * HOUR  # the first families arrive
LAST_ARRIVAL = 16 * HOUR
LAST_EXIT = 17 * HOUR + 45 * MINUTE  # everybody has left by then
CLOSES = 18 * HOUR  # the clock the demo shows stops here
OUTAGE_AT = 12 * HOUR + 30 * MINUTE  # the broker goes down (for --outage-s real seconds)

PAIRING_WINDOW_S = 8.0  # short, so that a day fits in minutes (real seconds, as gates count)
CAPACITY = 2000
STAFF_BADGE = "04EE0000000001"
STAFF_NAME = "Duty Manager"


class Story(StrEnum):
    PLAIN = "plain"
    SOLO = "solo child"
    TEMPORARY = "temporary exit"
    LEAVES_FIRST = "adult leaves first"
    CHECKED = "handheld check"
    CHILD_ALONE = "child tries alone"


@dataclass(frozen=True)
class Shares:
    """The share of families with each story (each story at least once in a plan)."""

    solo: float = 0.05
    temporary: float = 0.08
    checked: float = 0.06
    child_alone: float = 0.04


DEMO_SHARES = Shares()


@dataclass(frozen=True)
class Family:
    """One ticket and the bands bound to it, and the family's plan for the day."""

    ticket: str
    adults: tuple[str, ...]  # band UIDs
    children: tuple[str, ...]
    guardian_phone: str  # solo children only
    story: Story
    arrive: float  # day times
    leave: float
    entry_gate: str
    exit_gate: str
    away_from: float = (
        0.0  # TEMPORARY, LEAVES_FIRST: an adult goes out (CHILD_ALONE: a child tries)
    )
    away_until: float = 0.0  # ... and comes back in
    away_exit: str = ""  # the exit the adult goes out by (the child tries)
    back_entry: str = ""  # the entry the adult comes back in by
    check_at: float = 0.0  # CHECKED: when, and whose band
    checked: str = ""

    @property
    def bands(self) -> tuple[str, ...]:
        """Adults first: the order in which the family goes through a gate."""
        return self.adults + self.children

    @property
    def solo(self) -> bool:
        return self.story is Story.SOLO


@dataclass(frozen=True)
class Plan:
    day: date
    timezone: str
    families: tuple[Family, ...]
    staff_badge: str = STAFF_BADGE

    @property
    def people(self) -> int:
        return sum(len(f.bands) for f in self.families)

    def count(self, story: Story) -> int:
        return sum(f.story is story for f in self.families)

    def planned(self, overrides: bool = True) -> Counter[str]:
        """The moves and flags of the whole day (`planned_moves`)."""
        total: Counter[str] = Counter()
        for family in self.families:
            total.update(planned_moves(family, overrides))
        return total


MOVES = ("OK_ENTRY", "OK_REENTRY", "OK_EXIT", "OK_TEMP_EXIT", "OK_OVERRIDE")


def planned_moves(family: Family, overrides: bool = True) -> Counter[str]:
    """The moves (decision codes) and unaccompanied flags ("flags") the family's plan calls
    for. `overrides`: whether the hands can arm a staff override (a badge read from a tag; a
    test scan of a badge through the control socket cannot, so the chaos campaign's solo
    children stay inside)."""
    moves = Counter({"OK_ENTRY": len(family.bands)})
    if family.solo:
        if overrides:
            moves["OK_OVERRIDE"] += 1  # the guardian pickup
    else:
        moves["OK_EXIT"] += len(family.bands)
    if family.story is Story.TEMPORARY:
        moves.update({"OK_TEMP_EXIT": 1, "OK_REENTRY": 1})
    elif family.story is Story.LEAVES_FIRST:  # out, flagged, the window closing makes it
        moves.update({"OK_EXIT": 1, "OK_REENTRY": 1, "flags": 1})  # temporary: back in
    return moves


def hhmm(day_time: float) -> str:
    """A day time as the venue's clock shows it."""
    minutes = int(day_time // MINUTE)
    return f"{minutes // 60 % 24:02d}:{minutes % 60:02d}"


def make_plan(
    families: int, seed: int, day: date, timezone: str, shares: Shares = DEMO_SHARES
) -> Plan:
    """`families` families (at least 5: one of each story) drawn with `seed`."""
    if families < 5:
        raise ValueError("the simulated venue needs at least 5 families")
    rng = random.Random(seed)
    stories = [Story.LEAVES_FIRST]
    stories += [Story.SOLO] * max(1, round(families * shares.solo))
    stories += [Story.TEMPORARY] * max(1, round(families * shares.temporary))
    stories += [Story.CHECKED] * max(1, round(families * shares.checked))
    stories += [Story.CHILD_ALONE] * max(1, round(families * shares.child_alone))
    stories = stories[:families]
    stories += [Story.PLAIN] * (families - len(stories))
    rng.shuffle(stories)
    uids = _Uids()
    made = []
    for number, story in enumerate(stories, start=1):
        made.append(_family(rng, story, f"T{day:%y%m%d}{number:04d}", uids))
    made.sort(key=lambda f: f.arrive)
    return Plan(day, timezone, tuple(made))


class _Uids:
    """Band UIDs: 7 bytes as on NTAG21x; adults' stock 04A1..., children's 04C1..."""

    def __init__(self) -> None:
        self.issued = 0

    def band(self, adult: bool) -> str:
        self.issued += 1
        return f"04{'A1' if adult else 'C1'}{self.issued:010X}"


def _family(rng: random.Random, story: Story, ticket: str, uids: _Uids) -> Family:
    if story is Story.SOLO:
        adults, children = 0, 1
    elif story is Story.LEAVES_FIRST:
        adults, children = 1, rng.choice((1, 2, 2, 3))
    elif story is Story.TEMPORARY:
        adults, children = 2, rng.choice((1, 2, 3))
    else:
        adults = rng.choices((1, 2), weights=(45, 55))[0]
        children = rng.choices((1, 2, 3), weights=(45, 40, 15))[0]
    adult_bands = tuple(uids.band(adult=True) for _ in range(adults))
    child_bands = tuple(uids.band(adult=False) for _ in range(children))
    phone = f"1380013{rng.randrange(10_000):04d}" if story is Story.SOLO else ""

    long_stay = story in (Story.TEMPORARY, Story.LEAVES_FIRST)
    arrive = OPENS + 10 * MINUTE + rng.betavariate(1.5, 2.2) * (LAST_ARRIVAL - OPENS - 10 * MINUTE)
    stay = rng.uniform(2 * HOUR if long_stay else 45 * MINUTE, 3 * HOUR)
    leave = min(arrive + stay, LAST_EXIT - rng.uniform(0, 15 * MINUTE))
    if story is Story.LEAVES_FIRST:  # out before the outage, back after it: flagged meanwhile
        arrive = OPENS + rng.uniform(20, 50) * MINUTE
        leave = rng.uniform(15.5, 16.5) * HOUR
    if long_stay and leave - arrive < 2 * HOUR:  # arrived late: come early instead
        arrive = leave - rng.uniform(2, 3) * HOUR
    family = Family(
        ticket=ticket,
        adults=adult_bands,
        children=child_bands,
        guardian_phone=phone,
        story=story,
        arrive=arrive,
        leave=leave,
        entry_gate=rng.choice(("E1", "E2")),
        exit_gate=rng.choice(("X1", "X2")),
    )
    if story is Story.TEMPORARY:  # back at least 45 min before leaving
        away_from = arrive + (leave - arrive) * rng.uniform(0.25, 0.45)
        away_until = min(away_from + rng.uniform(20, 45) * MINUTE, leave - 45 * MINUTE)
        return _with(family, rng, away_from, away_until)
    if story is Story.LEAVES_FIRST:
        away_from = rng.uniform(11.6, 12.1) * HOUR
        away_until = rng.uniform(14.3, 14.8) * HOUR
        return _with(family, rng, away_from, away_until)
    if story is Story.CHECKED:
        check_at = arrive + (leave - arrive) * rng.uniform(0.3, 0.7)
        return replace(family, check_at=check_at, checked=rng.choice(family.bands))
    if story is Story.CHILD_ALONE:
        tries_at = arrive + (leave - arrive) * rng.uniform(0.3, 0.7)
        return replace(family, away_from=tries_at, away_exit=rng.choice(("X1", "X2")))
    return family


def _with(family: Family, rng: random.Random, away_from: float, away_until: float) -> Family:
    return replace(
        family,
        away_from=away_from,
        away_until=away_until,
        away_exit=rng.choice(("X1", "X2")),
        back_entry=rng.choice(("E1", "E2")),
    )


# --- the files the gates and the hub read ---------------------------------------------------------


def local_timezone() -> str:
    """This machine's IANA timezone name (TZ, /etc/timezone, /etc/localtime), else UTC."""
    candidates = [os.environ.get("TZ", "").lstrip(":")]
    with contextlib.suppress(OSError):
        candidates.append(Path("/etc/timezone").read_text().strip())
    link = os.path.realpath("/etc/localtime")
    if "zoneinfo/" in link:
        candidates.append(link.split("zoneinfo/", 1)[1])
    for name in candidates:
        if not name or name.startswith("/"):
            continue
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            continue
        return name
    return "UTC"


def write_venue(plan: Plan, root: Path) -> Path:
    """The allowlist directory, policy.toml and site.key under `root`; returns `root`.

    Tickets are valid on the plan's day only; the venue is open around the clock (the
    compressed day does not follow the wall clock) with a short pairing window.
    """
    allowlist = root / "allowlist"
    allowlist.mkdir(parents=True, exist_ok=True)
    day = plan.day.isoformat()
    tickets = ["code,product,adults,children,valid_from,valid_to,guardian_phone"]
    bands = ["uid,role"]
    for f in plan.families:
        product = "day-solo" if f.solo else "day-family"
        tickets.append(
            f"{f.ticket},{product},{len(f.adults)},{len(f.children)},{day},{day},{f.guardian_phone}"
        )
        bands += [f"{uid},adult" for uid in f.adults] + [f"{uid},child" for uid in f.children]
    (allowlist / "tickets.csv").write_text("\n".join(tickets) + "\n")
    (allowlist / "wristbands.csv").write_text("\n".join(bands) + "\n")
    (allowlist / "staff.csv").write_text(f"uid,name\n{plan.staff_badge},{STAFF_NAME}\n")
    (root / "policy.toml").write_text(
        "# The simulated venue: open around the clock, a short pairing window.\n"
        f'timezone = "{plan.timezone}"\nopen = "00:00"\nclose = "00:00"\n'
        f"capacity = {CAPACITY}\npairing_window_s = {PAIRING_WINDOW_S}\n"
    )
    key = root / "site.key"
    key.touch(mode=0o600)
    os.chmod(key, 0o600)
    key.write_text(f"1 {secrets.token_hex(32)}\n")
    return root
