"""Benchmarks of the exporter against the simulated UCloud gateway: ``python -m benchmarks``.

Each case prints a table; ``benchmarks.__main__.CASES`` lists them and docs/benchmarks.md
says what each measures and holds the latest figures.
"""
