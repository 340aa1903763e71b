"""Home Assistant's zha integration over a simulated radio (see zha_sim)."""

from __future__ import annotations

from ..zha_sim import zha_lock  # noqa: F401 (fixture)
