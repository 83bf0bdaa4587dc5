"""Benchmarks of ie_batch (not part of the installed package; run from the repository root)."""
