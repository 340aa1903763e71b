"""
Repair flows.

A lock that keeps failing can be retried from its issue, and so can the codes a
lock refused as duplicates; an issue about a site's restored or lost data is
dismissed once the user has checked the keys, and an alert about wrong codes
once the user has seen it.
"""

from __future__ import annotations

from typing import Any

from homeassistant.components.repairs import (
    ConfirmRepairFlow,
    RepairsFlow,
    RepairsFlowResult,
)
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
import probatio as vol

from .const import DOMAIN
from .model.plan import UnplacedReason
from .storage.store import store_issue_id
from .sync.alerts import is_alert_issue
from .sync.placement import placement_issue_id


class RetryLockFlow(RepairsFlow):
    """
    Retry a lock now; the issue goes away once the lock is in sync.

    With ``refused`` the codes the lock refused as duplicates are tried again
    (the user removed the other code from the lock).
    """

    def __init__(
        self, issue_id: str, entry_id: str, lock_id: str, *, refused: bool = False
    ) -> None:
        """Remember which lock to retry."""
        self._issue_id = issue_id
        self._entry_id = entry_id
        self._lock_id = lock_id
        self._refused = refused

    async def async_step_init(
        self, user_input: dict[str, Any] | None = None
    ) -> RepairsFlowResult:
        """Ask for confirmation."""
        return await self.async_step_confirm()

    async def async_step_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> RepairsFlowResult:
        """Retry the lock and report whether it worked."""
        if user_input is not None:
            entry = self.hass.config_entries.async_get_entry(self._entry_id)
            if (
                entry is None
                or entry.state is not ConfigEntryState.LOADED
                or self._lock_id not in entry.runtime_data.locks
            ):
                ir.async_delete_issue(self.hass, DOMAIN, self._issue_id)
                return self.async_create_entry(data={})
            runtime = entry.runtime_data
            if self._refused:
                runtime.placement.forget_refusals(self._lock_id)
            await runtime.async_retry_now(self._lock_id)
            if self._refused and ir.async_get(self.hass).async_get_issue(
                DOMAIN, self._issue_id
            ):
                return self.async_abort(reason="still_refused")
            if runtime.lock_status[self._lock_id].failures:
                return self.async_abort(reason="still_failing")
            return self.async_create_entry(data={})
        issue = ir.async_get(self.hass).async_get_issue(DOMAIN, self._issue_id)
        return self.async_show_form(
            step_id="confirm",
            data_schema=vol.Schema({}),
            description_placeholders=issue.translation_placeholders if issue else None,
        )


async def async_create_fix_flow(
    hass: HomeAssistant, issue_id: str, data: dict[str, str | int | float | None] | None
) -> RepairsFlow:
    """Create the fix flow of an issue: retry a lock, or confirm it was seen."""
    assert data is not None
    if issue_id == store_issue_id(str(data["entry_id"])) or is_alert_issue(issue_id):
        return ConfirmRepairFlow()
    lock_id = str(data["lock_id"])
    refused = issue_id == placement_issue_id(UnplacedReason.CODE_DUPLICATE, lock_id)
    return RetryLockFlow(issue_id, str(data["entry_id"]), lock_id, refused=refused)
