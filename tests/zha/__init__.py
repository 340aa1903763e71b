"""Tests of the ZHA lock provider."""
