"""Locust scenarios, one file per scenario, all built on `base.BenchUser`."""
