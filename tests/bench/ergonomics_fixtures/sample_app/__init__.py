"""Sample app: app_setup."""

from sample_app.routes import items


def create_app():
    return items
