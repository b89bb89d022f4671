"""Benchmark harness: embedded PostgreSQL, servers, load scenarios and reports."""
