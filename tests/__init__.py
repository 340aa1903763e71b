"""Tests for the Keyholder integration."""
