"""Benchmarks (skipped unless KEYHOLDER_BENCH=1; run scripts/bench)."""
