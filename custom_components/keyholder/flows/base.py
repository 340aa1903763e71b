"""What the site's subentry flows share: the other subentries, defaults, finishing."""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import ConfigSubentryFlow, SubentryFlowResult


class SiteSubentryFlow(ConfigSubentryFlow):
    """Shared helpers of the lock, keyholder and booking flows."""

    def _others(self, subentry_type: str) -> list[dict[str, Any]]:
        """Return the data of the site's other subentries of a type."""
        current = (
            self._reconfigure_subentry_id if self.source == "reconfigure" else None
        )
        return [
            {**sub.data, "_title": sub.title}
            for sid, sub in self._get_entry().subentries.items()
            if sub.subentry_type == subentry_type and sid != current
        ]

    def _defaults(self) -> dict[str, Any]:
        return (
            dict(self._get_reconfigure_subentry().data)
            if self.source == "reconfigure"
            else {}
        )

    def _finish(self, title: str, data: dict[str, Any]) -> SubentryFlowResult:
        if self.source == "reconfigure":
            return self.async_update_and_abort(
                self._get_entry(),
                self._get_reconfigure_subentry(),
                title=title,
                data=data,
            )
        return self.async_create_entry(title=title, data=data)
