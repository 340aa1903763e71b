"""Fixtures of the Matter tests: matter's own integration with a simulated server."""

from __future__ import annotations

from .sim import matter_lock, matter_server  # noqa: F401 (fixtures)
