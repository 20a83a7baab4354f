"""Benchmark scripts and their helpers (not shipped with the portal; importable by the tests)."""
