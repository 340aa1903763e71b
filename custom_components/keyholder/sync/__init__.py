"""Keeping every lock in line with what should be true now."""
