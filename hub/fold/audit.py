"""The hub re-checks the rules over the folded history (design §9, docs/security/audit.md).

A gate decides alone, and the hub folds what it journalled. A gate whose broker password leaked,
or whose software is wrong, can journal moves no rule allows while saying only things of its own
kind: a child let out with no adult, an override by a badge that is not enrolled, an exit of a
band that never came in. The fold (`hub.fold.reconcile`) hands every entry to `RuleAudit`, in
hybrid-clock order, and the audit looks at each event *before* it is folded, against the hub's
state at that point of the history, with the rules core's own rule functions
(`gate.core.rules`): the same code that decided at the gate judges what the gate said.

What a gate decides from its own events and clock is checked exactly, online or cut off:

    child_released_alone    a child let out (final) with no adult of its group granted out at
                            that gate within the pairing window; a solo child let out with no
                            override (the staff-verified guardian pickup)
    child_temp_exit         a child let out temporarily without an override
    override_not_authorised a forced move with no override spent, by a badge not enrolled or
                            revoked, or not armed at that gate within the window, or armed
                            by a test scan or a barcode (the arming scan says no tag was
                            read: no badge was at the gate)
    pairing_without_adult   a pairing window opened with no adult of the group let through
    desk_action_not_authorised  a desk action (a join, a correction, a walk-in, a
                            not-authorised list) with no enrolled, unrevoked staff badge
                            tapped at that desk within the window, named in its decision
                            (`staff`) or its event (`hub.fold.audit_overrides`)
    impossible_move         a move no rule makes: a decision moving a member back to `bound`
                            or moving a second member, an expiry recalling anyone but an
                            adult who left, a passage undo of a move its decision did not
                            make, a move in any other entry

What a gate decides from what the *other* gates told it is checked only when it decided hearing
them; a gate cut off (`offline` in the entry's scan, or a band it learned from its token) may
rightly believe a band outside that came in elsewhere. These are raised once every other gate
has reported, in a status received after the entry (every few seconds while online), that the
hub holds all it journalled: until then the entries that explain the move may be on their way
(a hub back from an outage takes the gates' backlogs one after another).

    move_without_entry      a member let out while not inside (a band returned, never let in);
                            cut off: only once every other gate has since reported all it
                            journalled and none let the band in
    impossible_move         a returned band let in again (no override lets it in)
    child_admitted_alone    a child let in with no adult of its group inside or paired there;
                            an adult who left elsewhere within `presence_lag_s` still counts
                            (the entry gate may not have heard yet); cut off: an adult of the
                            group who was ever let in counts

The warnings a partition leaves behind are made alongside (`hub.fold.audit_warnings`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from gate.core import (
    BandLearned,
    Code,
    Event,
    Intent,
    Kind,
    Member,
    MemberMoved,
    MemberState,
    Mode,
    OverrideArmed,
    PairingOpened,
    Policy,
    Role,
    Scan,
    State,
    StockRecorded,
    VoucherUsed,
    recall_stands,
    rules,
)
from gate.core.rules import Attempt, Refusal, Rule
from gate.link.codec import CodecError, events_of
from hub.fold.audit_counters import counter_findings
from hub.fold.audit_overrides import (
    DESK_EVENTS,
    desk_action_problem,
    no_badge_read,
    override_problem,
)
from hub.fold.audit_pending import Pending, ready_findings
from hub.fold.audit_pickups import pickup_findings, pickup_kind, pickup_window_is_its_groups
from hub.fold.audit_warnings import hand_back_not_applied, partition_warnings, voucher_reuse
from hub.fold.clocks import iso_seconds
from hub.fold.findings import Finding
from hub.store.records import GateRow, StoredEntry

# Pairing windows and armed overrides are measured between two times the deciding gate stamped
# with its own wall clock (the adult's grant and the child's, the badge and the forced move), so
# skew between gates plays no part. The hub still allows this much beyond its policy's window:
# its policy file is a copy of the gates', and a window lengthened during the day reaches a
# gate only when it restarts. Two seconds is far less than a child needs to go out alone.
WINDOW_TOLERANCE_S = 2.0
# A gate hears the others through the broker in well under a second, but it notices a dead link
# only after its keepalive; an adult who left through another gate this shortly before a
# child's entry may not have reached the entry gate yet.
PRESENCE_LAG_S = 120.0

# Rules of the gate alone, exact whether or not the gate heard the others (precedence order).
EXIT_AT_GATE: Sequence[Rule] = (
    rules.children_never_exit_temporarily,
    rules.solo_child_needs_guardian_pickup,
    rules.child_exits_with_adult,
)
# Rules on where the member was: checked only for decisions made hearing the other gates.
EXIT_IN_VENUE: Sequence[Rule] = (rules.band_returned_is_final, rules.must_be_inside)
ENTRY_IN_VENUE: Sequence[Rule] = (rules.band_returned_is_final,)

_KIND_OF = {
    (Mode.EXIT, Code.DENY_ALREADY_EXITED): "move_without_entry",
    (Mode.EXIT, Code.DENY_NOT_INSIDE): "move_without_entry",
    (Mode.EXIT, Code.DENY_CHILD_TEMP_EXIT): "child_temp_exit",
    (Mode.EXIT, Code.DENY_GUARDIAN_PICKUP): "child_released_alone",
    (Mode.EXIT, Code.DENY_PICKUP_MISMATCH): "child_released_alone",
    (Mode.EXIT, Code.DENY_PICKUP_LOCKED): "child_released_alone",
    (Mode.EXIT, Code.DENY_CHILD_NEEDS_ADULT): "child_released_alone",
    (Mode.ENTRY, Code.DENY_ALREADY_EXITED): "impossible_move",
    (Mode.ENTRY, Code.DENY_CHILD_NEEDS_ADULT): "child_admitted_alone",
}


@dataclass
class _Entry:
    """One journal entry being audited: what its events may rest on."""

    entry: StoredEntry
    events: list[Event]
    offline: bool  # the gate said it decided cut off from the others
    learned: set[str] = field(default_factory=set)  # bands the gate knew from their tokens alone
    moves: int = 0  # members moved so far by this entry
    new: set[str] = field(default_factory=set)  # bands the hub first hears of here
    staff_checked: bool = False  # a desk action's badge (its body's `staff`), looked at

    @property
    def ref(self) -> tuple[tuple[str, int], ...]:
        return ((self.entry.gate, self.entry.seq),)


@dataclass
class RuleAudit:
    """See the module's docstring. One per fold; `check` before each event is folded."""

    policy: Policy
    lookup: Callable[[str, int], StoredEntry | None]
    presence_lag_s: float = PRESENCE_LAG_S
    found: list[Finding] = field(default_factory=list)
    ever_inside: set[str] = field(default_factory=set)  # bands some gate let in
    ever_inside_adults: set[str] = field(default_factory=set)  # groups with an adult let in
    pending: list[Pending] = field(default_factory=list)
    # gate -> (when, badge, why no badge was read) of the override last armed there by a scan
    # not read from a tag
    armed_unread: dict[str, tuple[datetime, str, str]] = field(default_factory=dict)
    counters: dict[tuple[str, str], MemberMoved] = field(default_factory=dict)  # per band, group

    def __post_init__(self) -> None:
        # the window as the audit measures it (model_copy: the tolerance may pass the maximum)
        window = self.policy.pairing_window_s + WINDOW_TOLERANCE_S
        self.window = self.policy.model_copy(update={"pairing_window_s": window})

    def begin(self, entry: StoredEntry, events: list[Event], state: State | None = None) -> _Entry:
        if state is not None:  # pickups by override, tried or let through
            self.found += pickup_findings(state, entry, events, self.policy)
        scan = entry.body.get("scan")
        offline = isinstance(scan, dict) and scan.get("offline") is True
        return _Entry(entry, events, offline)

    def check(self, state: State, e: _Entry, event: Event) -> None:
        """Look at `event` of entry `e` before it is folded into `state`."""
        desk = "staff" in e.entry.body or isinstance(event, DESK_EVENTS)
        if not e.staff_checked and e.entry.kind == "decision" and desk:
            e.staff_checked = True  # a desk action: authorised by the badge tapped there
            w, window_s = self.window, self.policy.pairing_window_s
            if found := desk_action_problem(state, e.entry, event, self.armed_unread, w, window_s):
                self.found.append(found)
        if isinstance(event, BandLearned):
            e.learned.add(event.uid)
            if event.uid not in state.members:
                e.new.add(event.uid)
        elif isinstance(event, PairingOpened) and e.entry.kind == "decision":
            self._pairing(state, e, event)
        elif isinstance(event, VoucherUsed):
            self.found += voucher_reuse(state, event, e.ref)
        elif isinstance(event, StockRecorded) and event.band:
            self.found += hand_back_not_applied(state, event, e.ref)
        elif isinstance(event, OverrideArmed) and e.entry.kind == "decision":
            if (unread := no_badge_read(e.entry.body)) is not None:
                self.armed_unread[event.gate] = (event.at, event.staff, unread)
        elif isinstance(event, MemberMoved):
            member = state.members.get(event.uid)
            if member is None:
                return  # folding it fails and says so (unknown_reference)
            e.moves += 1
            if e.entry.kind == "decision" and e.moves > 1:
                self._violation("impossible_move", e, event, member, "a decision moves one member")
            elif e.entry.kind == "decision":
                self._decided(state, e, event, member)
            elif e.entry.kind == "expiry":
                self._recalled(e, event, member)
            elif e.entry.kind == "passage":
                self._undone(e, event, member)
            else:
                self._violation("impossible_move", e, event, member, f"in a {e.entry.kind} entry")
            if event.state is MemberState.INSIDE:
                self.ever_inside.add(event.uid)
                if member.role is Role.ADULT:
                    self.ever_inside_adults.add(member.group)

    def pending_findings(self, gates: Sequence[GateRow]) -> list[Finding]:
        """The violations resting on the other gates, once each of them has reported (see
        `hub.fold.audit_pending`)."""
        return ready_findings(self.pending, self.ever_inside, gates)

    # --- decisions ------------------------------------------------------------------------

    def _decided(self, state: State, e: _Entry, mv: MemberMoved, m: Member) -> None:
        pickup = pickup_kind(state, mv, m.role) is not None  # found as a pickup already
        self.found += partition_warnings(mv, m, e.ref, pickup)
        self.found += counter_findings(self.counters, mv, e.ref)  # a copy, a rollback
        if mv.state is MemberState.BOUND:
            self._violation("impossible_move", e, mv, m, "a decision cannot unbind a band")
            return
        mode = Mode.ENTRY if mv.state is MemberState.INSIDE else Mode.EXIT
        intent = Intent.TEMPORARY if mv.state is MemberState.TEMP_OUT else Intent.FINAL
        cut_off = e.offline or mv.uid in e.learned
        scan = Scan(e.entry.gate, mode, Kind.NFC, mv.uid, intent, offline=cut_off)
        group = state.groups.get(m.group)
        if group is None:
            return  # folding it fails and says so
        a = Attempt(state, scan, mv.at, self.window, m, group, None)
        venue_rules = EXIT_IN_VENUE if mode is Mode.EXIT else ENTRY_IN_VENUE
        refusal = None if cut_off else _first(venue_rules, a)
        if refusal is not None and not (mv.forced and mode is Mode.EXIT):
            # an override lets anyone out, no band back in
            self._refused(e, mv, m, mode, refusal, pending=True)
            return
        if mv.forced:
            self._forced(state, e, mv, m)
            return
        gate_rules = EXIT_AT_GATE if mode is Mode.EXIT else ()
        if (refusal := _first(gate_rules, a)) is not None:
            self._refused(e, mv, m, mode, refusal)
        elif mode is Mode.ENTRY and not self._child_may_enter(a, cut_off):
            refusal = rules.child_enters_with_adult(a)
            assert refusal is not None
            self._refused(e, mv, m, mode, refusal, pending=True)
        elif (
            mode is Mode.EXIT and cut_off and (m.state is not MemberState.INSIDE or mv.uid in e.new)
        ):
            self._defer(e, mv, m)

    def _child_may_enter(self, a: Attempt, cut_off: bool) -> bool:
        if rules.child_enters_with_adult(a) is None:
            return True
        if cut_off:  # it may not have heard the adult leave
            return a.group.id in self.ever_inside_adults
        lag = timedelta(seconds=self.presence_lag_s)
        return any(
            m.role is Role.ADULT and m.state is not MemberState.BOUND and a.now - m.last_at <= lag
            for m in a.state.members_of(a.group.id)
        )

    def _forced(self, state: State, e: _Entry, mv: MemberMoved, m: Member) -> None:
        problem = override_problem(
            state,
            e.events,
            mv,
            e.entry.gate,
            self.armed_unread,
            self.window,
            self.policy.pairing_window_s,
        )
        if problem is not None:
            over = f" over {mv.overrode}" if mv.overrode else ""
            self._violation("override_not_authorised", e, mv, m, f"forced{over}: {problem}")

    def _pairing(self, state: State, e: _Entry, p: PairingOpened) -> None:
        """A pairing window rests on an adult of the group let through in the same decision."""
        direction = {Mode.ENTRY: {MemberState.INSIDE}, Mode.EXIT: _OUT}.get(p.direction, set())
        moved = any(
            isinstance(mv, MemberMoved)
            and mv.uid == p.adult
            and mv.group == p.group
            and mv.state in direction
            for mv in e.events
        )
        adult = state.members.get(p.adult)
        leader = _reopened_by_leader(e, state, p)  # OK_GROUP_WINDOW: nobody moves
        if pickup_window_is_its_groups(e.entry, state, p):  # OK_PICKUP: the guardian's code
            return
        let_through = moved or leader
        if (
            let_through
            and adult is not None
            and adult.role is Role.ADULT
            and adult.group == p.group
        ):
            return
        who = f"{adult.role} of group {adult.group}" if adult else "a band the hub never saw"
        self.found.append(
            Finding(
                "pairing_without_adult",
                (e.entry.gate,),
                p.at,
                f"{e.entry.gate} opened a {p.direction} pairing window for group {p.group} at "
                f"{iso_seconds(p.at)} naming {p.adult} ({who})"
                f"{'' if moved else ', not let through'}: "
                "its children could follow with no adult",
                p.adult,
                p.group,
                e.ref,
            )
        )

    # --- other entries --------------------------------------------------------------------

    def _recalled(self, e: _Entry, mv: MemberMoved, m: Member) -> None:
        """A closing exit window recalls the adults who left through it to `temp_out`. A recall
        of a passage the band has moved on from (in again at a gate the window's could not hear)
        folds to nothing, and says nothing wrong; a child is never recalled."""
        if m.role is Role.ADULT and not recall_stands(m, mv):
            return
        adult_who_left = m.role is Role.ADULT and m.state is MemberState.EXITED
        if adult_who_left and mv.state is MemberState.TEMP_OUT and not mv.forced:
            return
        self._violation(
            "impossible_move",
            e,
            mv,
            m,
            f"by a closing window, while {m.state}: only an adult who left is recalled",
        )

    def _undone(self, e: _Entry, mv: MemberMoved, m: Member) -> None:
        """A passage nobody used undoes the moves of its own decision, and only those."""
        body = e.entry.body
        seq = body.get("decision_seq")
        decision = self.lookup(e.entry.gate, seq) if isinstance(seq, int) else None
        if decision is None:  # a gate publishes in seq order: an undo of nothing is forged
            self._violation(
                "impossible_move", e, mv, m, f"by a passage record of decision {seq}, not stored"
            )
            return
        try:
            made = [x for x in events_of(decision.body) if isinstance(x, MemberMoved)]
        except CodecError:
            return  # that entry's own finding says so
        undoes = [x for x in made if x.uid == mv.uid and x.state is not mv.state]
        if body.get("passed") is False and undoes and mv.state is not MemberState.EXITED:
            return
        self._violation(
            "impossible_move",
            e,
            mv,
            m,
            f"by a passage record of decision {seq}, which did not move it that way",
        )

    # --- findings -------------------------------------------------------------------------

    def _refused(
        self, e: _Entry, mv: MemberMoved, m: Member, mode: Mode, r: Refusal, pending: bool = False
    ) -> None:
        """A move the rules refuse; `pending` when the refusal rests on the other gates."""
        kind = _KIND_OF.get((mode, r.code), "impossible_move")
        finding = _violation_finding(kind, e, mv, m, f"the rules say {r.code}: {r.message}")
        if pending:
            self.pending.append(Pending(finding, e.entry.received_ms))
        else:
            self.found.append(finding)

    def _defer(self, e: _Entry, mv: MemberMoved, m: Member) -> None:
        how = "from its token" if mv.uid in e.learned else "cut off from the other gates"
        was = "unknown" if mv.uid in e.new else f"{m.state}, last at {m.last_gate}"
        finding = _violation_finding(
            "move_without_entry",
            e,
            mv,
            m,
            f"decided {how}: no gate has reported letting it in, and every other gate has "
            f"reported all it journalled (it was {was} at the hub)",
        )
        self.pending.append(Pending(finding, e.entry.received_ms, unless_entered=True))

    def _violation(self, kind: str, e: _Entry, mv: MemberMoved, m: Member, why: str) -> None:
        self.found.append(_violation_finding(kind, e, mv, m, why))


_OUT = {MemberState.EXITED, MemberState.TEMP_OUT}


def _violation_finding(kind: str, e: _Entry, mv: MemberMoved, m: Member, why: str) -> Finding:
    way = "in" if mv.state is MemberState.INSIDE else f"out ({mv.state})"
    if mv.state is MemberState.BOUND:
        way = "back to bound"
    return Finding(
        kind,
        (e.entry.gate,),
        mv.at,
        f"{e.entry.gate} let {m.role} {mv.uid} of group {m.group} {way} "
        f"at {iso_seconds(mv.at)}: {why}",
        mv.uid,
        m.group,
        e.ref,
    )


def _reopened_by_leader(e: _Entry, state: State, p: PairingOpened) -> bool:
    """A leader of a group ticket reopening its group's window (`gate.core.groups`)."""
    decision = e.entry.body.get("decision")
    code = decision.get("code") if isinstance(decision, dict) else None
    return code == Code.OK_GROUP_WINDOW and state.is_group_ticket(p.group)


def _first(rule_list: Sequence[Rule], a: Attempt) -> Refusal | None:
    return next((r for rule in rule_list if (r := rule(a)) is not None), None)
