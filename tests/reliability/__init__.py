"""Reliability and security suite: hostile input, auth attacks, concurrency and injected faults."""
