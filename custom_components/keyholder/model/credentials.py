"""
The credential kinds: one registry of what each kind of key is.

:data:`CREDENTIAL_KINDS` maps every :class:`~.model.KeyKind` to a
:class:`CredentialKind`, which says how a secret a person enters is normalised,
how it is checked against a lock's capabilities (answering a reason that is an
error's translation key, never the secret), whether and how Keyholder makes
one up (with :mod:`secrets`), whether a lock holds it at all and which locks
can, and how it is masked if it is ever shown. The Home Assistant glue reads
this table instead of asking which kind a key is.

* passcode (PIN): the rules of :mod:`.passcode`, unchanged;
* tag (RFID fob or card UID): the rules of :mod:`.tag`; never generated;
* app key (a digital-key link): no secret on a lock and none entered. Its link
  secret is Keyholder's to make and keep (hashed) once digital keys exist
  (issue 16); until then it has no generator and no lock holds it.

A new kind is a :class:`~.model.KeyKind` member and its entry here (with the
translations of the reasons it answers).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from functools import reduce
import random
from types import MappingProxyType
from typing import Protocol

from .passcode import PasscodeProblem, generate_passcode, validate_passcode
from .site import Site
from .tag import (
    MAX_TAG_BYTES,
    MIN_TAG_BYTES,
    TagProblem,
    mask_tag,
    normalise_tag,
    validate_tag,
)
from .values import KeyKind, LockCapabilities

_HIDDEN = "\u2022" * 4
"""How a secret that may show nothing of itself is shown."""


class Validate(Protocol):
    """Check a normalised secret for locks; answer a reason (None: accepted)."""

    def __call__(
        self, secret: str, caps: LockCapabilities, taken: Collection[str], /
    ) -> str | None:
        """Return the translation key of the first problem, or None."""


class Generate(Protocol):
    """Make a secret that validates for locks, unlike any in ``taken``."""

    def __call__(
        self,
        caps: LockCapabilities,
        length: int,
        taken: Collection[str],
        /,
        rng: random.Random | None = None,
    ) -> str:
        """Return a new secret (``length``: the site's preferred length)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CredentialKind:
    """What one kind of credential is, and the rules for its secret."""

    kind: KeyKind
    held_by_lock: bool
    """Whether a lock holds the secret (a PIN, a tag UID); an app key's is not."""
    entered: bool
    """Whether a person may enter the secret (an own passcode, a tag's UID)."""
    returned: bool
    """Whether the action that sets the secret answers with it, once."""
    normalise: Callable[[str], str]
    """Turn a secret as entered into the form it is kept and compared in."""
    validate: Validate
    """Check a normalised secret against (the shared) lock capabilities."""
    generate: Generate | None
    """Make a secret up (None: Keyholder never does for this kind)."""
    mask: Callable[[str], str]
    """Show a secret without giving it away (never in full)."""
    unusable: Callable[[LockCapabilities], str | None]
    """Why no secret of this kind can suit these locks at all (None: one can)."""
    limits: Callable[[LockCapabilities], dict[str, str]]
    """The placeholders of this kind's reasons (the lengths the locks take)."""
    missing: str | None
    """The reason when none is entered (None: Keyholder makes one, or none exists)."""
    in_use: str | None
    """The reason when another key holds the same secret on a lock (None: none do)."""
    reasons: frozenset[str]
    """Every reason this kind answers (each needs a translation)."""

    @property
    def issuable(self) -> bool:
        """Return True when a key of this kind can be issued (entered or made)."""
        return self.entered or self.generate is not None

    def can_hold(self, caps: LockCapabilities) -> bool:
        """Return True when a lock with ``caps`` can hold this kind of credential."""
        return self.held_by_lock and self.kind in caps.slots

    def check(
        self, text: str, caps: LockCapabilities, taken: Collection[str] = ()
    ) -> tuple[str, str | None]:
        """Return ``text`` normalised and why it is refused (None: accepted)."""
        secret = self.normalise(text)
        return secret, self.validate(secret, caps, taken)


def shared_capabilities(caps: Iterable[LockCapabilities]) -> LockCapabilities:
    """
    Return what every one of several locks accepts, for a key on all of them.

    Only what the credential rules read is combined: the kinds every lock holds
    (with the first lock's numbering of each, which the rules never read) and
    the PIN lengths every lock takes (``pin_min > pin_max`` when there are
    none). Raises ValueError when ``caps`` is empty.
    """

    def both(a: LockCapabilities, b: LockCapabilities) -> LockCapabilities:
        return LockCapabilities(
            slots={kind: a.slots[kind] for kind in a.slots if kind in b.slots},
            pin_min=max(a.pin_min, b.pin_min),
            pin_max=min(a.pin_max, b.pin_max),
        )

    every = list(caps)
    if not every:
        raise ValueError("no lock capabilities to combine")
    return reduce(both, every)


def taken_secrets(
    site: Site,
    kind: KeyKind,
    lock_ids: Iterable[str],
    exclude_key_id: str | None = None,
) -> set[str]:
    """
    Return the secrets of ``kind`` held by non-cancelled keys on any of ``lock_ids``.

    Expired and used-up keys still count until they are deleted, so a secret is
    never given to a second key while the first exists. ``exclude_key_id`` skips
    one key (the one being edited). Costs what those locks hold, not what the
    site holds.
    """
    return {
        key.secret
        for key in site.keys_for(lock_ids)
        if key.kind is kind
        and key.secret is not None
        and not key.cancelled
        and key.id != exclude_key_id
    }


# -- passcode --------------------------------------------------------------------


def _passcode_problem(
    code: str, caps: LockCapabilities, taken: Collection[str], /
) -> str | None:
    problem = validate_passcode(
        code, pin_min=caps.pin_min, pin_max=caps.pin_max, taken=taken
    )
    return None if problem is None else f"passcode_{problem.value}"


def _new_passcode(
    caps: LockCapabilities,
    length: int,
    taken: Collection[str],
    /,
    rng: random.Random | None = None,
) -> str:
    """Return a passcode of ``length`` digits, or the nearest length the locks take."""
    fitted = min(max(length, caps.pin_min), caps.pin_max)
    return generate_passcode(fitted, taken=taken, rng=rng)


PASSCODE = CredentialKind(
    kind=KeyKind.PASSCODE,
    held_by_lock=True,
    entered=True,
    returned=True,
    normalise=str,  # as entered: " 1234" is refused, never trimmed
    validate=_passcode_problem,
    generate=_new_passcode,
    mask=lambda _code: _HIDDEN,
    unusable=lambda caps: (
        "no_common_pin_length" if caps.pin_min > caps.pin_max else None
    ),
    limits=lambda caps: {"pin_min": str(caps.pin_min), "pin_max": str(caps.pin_max)},
    missing=None,  # generated
    in_use="passcode_in_use",
    reasons=frozenset(
        {"no_common_pin_length"} | {f"passcode_{p.value}" for p in PasscodeProblem}
    ),
)
"""A PIN typed on the lock's keypad."""


# -- tag -------------------------------------------------------------------------


def _tag_problem(
    uid: str, _caps: LockCapabilities, taken: Collection[str], /
) -> str | None:
    problem = validate_tag(uid, taken=taken)
    return None if problem is None else f"tag_{problem.value}"


TAG = CredentialKind(
    kind=KeyKind.TAG,
    held_by_lock=True,
    entered=True,
    returned=False,
    normalise=normalise_tag,
    validate=_tag_problem,
    generate=None,
    mask=mask_tag,
    unusable=lambda _caps: None,
    limits=lambda _caps: {
        "min_digits": str(MIN_TAG_BYTES * 2),
        "max_digits": str(MAX_TAG_BYTES * 2),
    },
    missing=f"tag_{TagProblem.REQUIRED.value}",
    in_use=f"tag_{TagProblem.IN_USE.value}",
    reasons=frozenset(f"tag_{p.value}" for p in TagProblem),
)
"""An RFID fob or card, known by its UID."""


# -- app key ---------------------------------------------------------------------


def _app_problem(
    secret: str, _caps: LockCapabilities, _taken: Collection[str], /
) -> str | None:
    return "app_no_secret" if secret else None


APP = CredentialKind(
    kind=KeyKind.APP,
    held_by_lock=False,
    entered=False,
    returned=False,
    normalise=str,
    validate=_app_problem,
    generate=None,  # the link secret: issue 16
    mask=lambda _secret: _HIDDEN,
    unusable=lambda _caps: None,
    limits=lambda _caps: {},
    missing=None,  # an app key has no secret (yet: issue 16)
    in_use=None,
    reasons=frozenset({"app_no_secret"}),
)
"""A digital key: a link a guest opens; no lock holds anything for it."""


CREDENTIAL_KINDS: Mapping[KeyKind, CredentialKind] = MappingProxyType(
    {spec.kind: spec for spec in (PASSCODE, TAG, APP)}
)
"""Every credential kind, by :class:`~.model.KeyKind` (a test checks each has one)."""


def credential_kind(kind: KeyKind) -> CredentialKind:
    """Return the rules of one kind of credential."""
    return CREDENTIAL_KINDS[kind]
