"""Baseline: Flask + sync SQLAlchemy + psycopg2; `gunicorn 'bench.baselines.flask_sync:create_app()'`."""

from __future__ import annotations

from flask import Flask, Response, abort, request
from pydantic import BaseModel
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import sessionmaker

from shared_models import __version__
from shared_models.models import Item
from shared_models.schemas import INT32_MAX, HealthPublic, ItemPublic, ItemsPublic, LivenessPublic
from shared_models.settings import AppSettings, engine_options


def _json(model: BaseModel) -> Response:
    return Response(model.model_dump_json(), mimetype="application/json")


def create_app(settings: AppSettings | None = None) -> Flask:
    """The app, with one engine per worker process (no connection opens before gunicorn forks)."""
    settings = settings or AppSettings.load_or_exit()
    engine = create_engine(settings.sync_database_url, **engine_options(settings))
    Session = sessionmaker(engine, expire_on_commit=False)  # noqa: N806 (the class-like factory)
    app = Flask(__name__)

    @app.get("/health/live")
    def liveness() -> Response:
        return _json(LivenessPublic(status="alive", version=__version__))

    @app.get("/health")
    def health() -> Response:
        with Session() as session:
            session.execute(text("SELECT 1"))
        return _json(HealthPublic(status="healthy", version=__version__, database="ok"))

    @app.get(f"/items/<int(min=1, max={INT32_MAX}):item_id>")
    def read_item(item_id: int) -> Response:
        with Session() as session:
            item = session.get(Item, item_id)
        if item is None:
            abort(404)
        return _json(ItemPublic.model_validate(item))

    @app.get("/items")
    def read_items() -> Response:
        skip = max(request.args.get("skip", 0, type=int), 0)
        limit = min(max(request.args.get("limit", 10, type=int), 1), 100)
        with Session() as session:
            count = session.scalar(select(func.count()).select_from(Item))
            items = session.scalars(select(Item).order_by(Item.id).offset(skip).limit(limit))
            return _json(ItemsPublic(data=list(items), count=count or 0))

    return app
