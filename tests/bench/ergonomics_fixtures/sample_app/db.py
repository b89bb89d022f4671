"""Sample db module."""

ENGINE = None


def get_session():
    return ENGINE
