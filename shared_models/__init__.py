"""Shared domain for both apps: models, schemas, settings, security, migrations and seed data."""

__version__ = "1.0.0"
