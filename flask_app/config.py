"""Where the app keeps its AppSettings: in app.config, like any other Flask configuration."""

from __future__ import annotations

from typing import cast

from flask import Flask, current_app

from shared_models.settings import AppSettings

SETTINGS_KEY = "SETTINGS"


def get_settings(app: Flask | None = None) -> AppSettings:
    """Return the settings of `app`, or of the current app."""
    return cast(AppSettings, (app or current_app).config[SETTINGS_KEY])
