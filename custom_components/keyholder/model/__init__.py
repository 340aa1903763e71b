"""
Keyholder model: pure-Python access logic with no Home Assistant imports.

Schedules, statuses and their next transition, the credential kinds (one
registry of passcode, tag and app key rules), slot allocation, the desired
state of every lock and the operations to reach it, and storage
(de)serialisation. The Home Assistant glue imports from here; nothing here
imports Home Assistant (``tests/model/test_purity.py`` enforces it).
"""

from .credentials import CREDENTIAL_KINDS, CredentialKind, credential_kind
from .operations import Operation, OpKind, diff
from .passcode import (
    PasscodeProblem,
    generate_passcode,
    taken_codes,
    validate_passcode,
)
from .plan import (
    Credential,
    Plan,
    Unplaced,
    UnplacedReason,
    desired_state,
    make_plan,
    record_use,
)
from .schedule import active_intervals, end_of_day, is_active, next_change
from .serialize import STORAGE_VERSION, migrate, site_from_dict, site_to_dict
from .site import Site
from .slots import allocate_slot
from .status import (
    Status,
    key_status,
    keyholder_status,
    next_site_change,
    next_status_change,
)
from .transitions import TransitionIndex
from .values import (
    CredentialRef,
    Key,
    Keyholder,
    KeyKind,
    LockCapabilities,
    Role,
    Schedule,
    SlotRange,
    Window,
)

__all__ = [
    "CREDENTIAL_KINDS",
    "STORAGE_VERSION",
    "Credential",
    "CredentialKind",
    "CredentialRef",
    "Key",
    "KeyKind",
    "Keyholder",
    "LockCapabilities",
    "OpKind",
    "Operation",
    "PasscodeProblem",
    "Plan",
    "Role",
    "Schedule",
    "Site",
    "SlotRange",
    "Status",
    "TransitionIndex",
    "Unplaced",
    "UnplacedReason",
    "Window",
    "active_intervals",
    "allocate_slot",
    "credential_kind",
    "desired_state",
    "diff",
    "end_of_day",
    "generate_passcode",
    "is_active",
    "key_status",
    "keyholder_status",
    "make_plan",
    "migrate",
    "next_change",
    "next_site_change",
    "next_status_change",
    "record_use",
    "site_from_dict",
    "site_to_dict",
    "taken_codes",
    "validate_passcode",
]
