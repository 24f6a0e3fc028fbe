"""The pure rules core of wristgate: no clock, no I/O, no threads.

    decision, events = decide(state, scan, now, policy)   # read-only
    for e in events: fold(state, e)                        # the one writer

`step` does both after closing due pairing windows (`expire`); `headcount` counts who is inside.
"""

from gate.core.corrections import reissue_band, replace_band, unbind_band
from gate.core.decider import decide
from gate.core.desk import mask_phone, staff_at_desk
from gate.core.desk_records import close_incident, open_incident, restore_value, revoke_value
from gate.core.desk_stock import hand_back_band, record_stock
from gate.core.engine import Headcount, advance, headcount, step
from gate.core.events import (
    BandBound,
    BandLearned,
    BandReissued,
    BandReplaced,
    BandUnbound,
    BindingOpened,
    ChildRegistered,
    Event,
    GroupFlagged,
    GroupsJoined,
    IncidentClosed,
    IncidentOpened,
    MemberMoved,
    NotAuthorisedSet,
    OverrideArmed,
    OverrideSpent,
    PairingClosed,
    PairingExtended,
    PairingOpened,
    PickupAsked,
    PickupCodeIssued,
    PickupCodeRefused,
    StockRecorded,
    ValueRestored,
    ValueRevoked,
    VoucherUsed,
)
from gate.core.groups import join
from gate.core.guardians import register_child, set_not_authorised
from gate.core.model import (
    BandPassage,
    BandToken,
    Code,
    Decision,
    Intent,
    Kind,
    Member,
    MemberState,
    Mode,
    Policy,
    Role,
    Scan,
    Ticket,
    Voucher,
)
from gate.core.rules import expire
from gate.core.state import Allowlist, Group, State, fold

__all__ = [
    "Allowlist",
    "BandBound",
    "BandLearned",
    "BandPassage",
    "BandReissued",
    "BandReplaced",
    "BandToken",
    "BandUnbound",
    "BindingOpened",
    "ChildRegistered",
    "Code",
    "Decision",
    "Event",
    "Group",
    "GroupFlagged",
    "GroupsJoined",
    "Headcount",
    "IncidentClosed",
    "IncidentOpened",
    "Intent",
    "Kind",
    "Member",
    "MemberMoved",
    "MemberState",
    "Mode",
    "NotAuthorisedSet",
    "OverrideArmed",
    "OverrideSpent",
    "PairingClosed",
    "PairingExtended",
    "PairingOpened",
    "PickupAsked",
    "PickupCodeIssued",
    "PickupCodeRefused",
    "Policy",
    "Role",
    "Scan",
    "State",
    "StockRecorded",
    "Ticket",
    "ValueRestored",
    "ValueRevoked",
    "Voucher",
    "VoucherUsed",
    "advance",
    "close_incident",
    "decide",
    "expire",
    "fold",
    "hand_back_band",
    "headcount",
    "join",
    "mask_phone",
    "open_incident",
    "record_stock",
    "register_child",
    "reissue_band",
    "replace_band",
    "restore_value",
    "revoke_value",
    "set_not_authorised",
    "staff_at_desk",
    "step",
    "unbind_band",
]
