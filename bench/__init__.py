"""Benchmarks, not tests: ``python -m bench.<name>``; figures go to docs/BENCHMARKS.md."""
