"""flask-cors is entered only by cross-origin calls, and the guard fails at start if flask-cors changes."""

from __future__ import annotations

import pytest
from flask import Flask, Response
from flask_cors import CORS

from flask_app.hooks import cors_only_with_origin

ALLOWED = "https://allowed.example"


def _app() -> Flask:
    app = Flask(__name__)
    app.add_url_rule("/ping", "ping", lambda: {"ok": True})
    CORS(app, origins=[ALLOWED], supports_credentials=True, always_send=False)
    cors_only_with_origin(app)
    return app


def test_a_cross_origin_call_still_gets_its_cors_headers() -> None:
    response = _app().test_client().get("/ping", headers={"Origin": ALLOWED})
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert response.headers["Access-Control-Allow-Credentials"] == "true"


def test_a_call_without_origin_skips_flask_cors() -> None:
    response = _app().test_client().get("/ping")
    assert response.status_code == 200
    assert not [name for name, _ in response.headers if name.lower().startswith("access-control-")]


def test_the_guard_refuses_a_hook_that_is_not_flask_cors() -> None:
    app = Flask(__name__)
    CORS(app, origins=[ALLOWED], always_send=False)

    @app.after_request
    def other(response: Response) -> Response:
        return response

    with pytest.raises(RuntimeError, match="expected flask-cors's after-request hook last, found other"):
        cors_only_with_origin(app)
