"""Benchmarks: run `python -m bench.run` to measure everything and rewrite docs/benchmarks.md."""
