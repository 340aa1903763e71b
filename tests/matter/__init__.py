"""Tests of the Matter lock provider."""
