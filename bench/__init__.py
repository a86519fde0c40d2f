"""Benchmarks: `python -m bench.run` measures everything and rewrites docs/benchmarks.md."""
