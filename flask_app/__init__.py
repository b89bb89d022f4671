"""The Flask implementation of the benchmark contract (docs/CONTRACT.md).

Gunicorn runs it with `gunicorn 'flask_app:create_app()'`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask
from flask_cors import CORS

from flask_app import carrier, db, errors, hooks, openapi, validation
from flask_app.config import SETTINGS_KEY
from flask_app.views import auth, health, items, orders, users
from shared_models.logging import configure_logging
from shared_models.settings import AppSettings


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app from the environment; `test_config` (AppSettings field names) overrides it."""
    settings = AppSettings.load_or_exit(**(test_config or {}))
    configure_logging(settings.log_level)

    app = Flask(__name__)
    app.config.from_mapping(
        {
            SETTINGS_KEY: settings,
            "MAX_CONTENT_LENGTH": settings.max_body_bytes,
            # Werkzeug's default form limit (500 kB) is below the contract's body limit.
            "MAX_FORM_MEMORY_SIZE": settings.max_body_bytes,
        }
    )

    # The timer hook goes first, so X-Process-Time covers the other hooks too.
    hooks.init_app(app)
    db.init_app(app)
    carrier.init_app(app)
    validation.init_app(app)
    errors.init_app(app)
    # always_send=False: add no CORS headers when there is no Origin (as fastapi_app's CrossOriginMiddleware).
    CORS(app, origins=settings.cors_origins, supports_credentials=True, always_send=False)
    hooks.cors_only_with_origin(app)

    # The contract has one spelling per path: "/items//1" is an unknown route, not a redirect to "/items/1".
    app.url_map.merge_slashes = False
    for blueprint in (health.bp, auth.bp, users.bp, items.bp, orders.bp):
        app.register_blueprint(blueprint)
    if not settings.is_production:
        app.register_blueprint(openapi.bp)
    return app
