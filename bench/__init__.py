"""Benchmarks: measurements that inform defaults. Each module runs alone (`python -m bench.<name>`)
and exposes `run() -> str`, which returns its results as a Markdown section."""
