"""The seeded load-test accounts, apart from the seeding code: every Locust process imports them, not SQLAlchemy."""

from __future__ import annotations

LOAD_USER_PASSWORD = "bench-password-1"


def load_user_email(index: int) -> str:
    """The email of seed user `index` (0-based); every seed user's password is LOAD_USER_PASSWORD."""
    return f"user{index:05d}@example.com"
