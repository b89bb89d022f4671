"""The Flask app for gunicorn's gevent workers: `gunicorn -k gevent 'flask_app.gevent:create_app()'`.

Gunicorn's gevent worker monkey-patches the standard library (sockets, threading, time) before it loads the
app, which makes the urllib3 carrier pool (pure-Python sockets) and SQLAlchemy's pool locks cooperative. psycopg2 is a C
extension that waits in libpq, so it needs psycogreen's wait callback as well; without it one slow query
would block every greenlet of the worker.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask
from psycogreen.gevent import patch_psycopg

import flask_app


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Make psycopg2 cooperative, then build the normal app."""
    patch_psycopg()
    return flask_app.create_app(test_config)
