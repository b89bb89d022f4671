"""Helpers shared by several test suites: the fake run generator (a fixture module) and the HTTP/DB helpers."""
