"""Benchmarks run by hand (``python -m benchmarks``), never as timed tests."""
