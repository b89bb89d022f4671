"""Baseline: FastAPI with plain `def` routes + sync SQLAlchemy + psycopg2 (run in FastAPI's threadpool).

`uvicorn --factory bench.baselines.fastapi_sync:create_app`
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import FastAPI, HTTPException, Path, Query
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import sessionmaker

from shared_models import __version__
from shared_models.models import Item
from shared_models.schemas import INT32_MAX, HealthPublic, ItemPublic, ItemsPublic, LivenessPublic
from shared_models.settings import AppSettings, engine_options


def create_app(settings: AppSettings | None = None) -> FastAPI:
    """The app, with one engine per worker process."""
    settings = settings or AppSettings.load_or_exit()
    engine = create_engine(settings.sync_database_url, **engine_options(settings))
    Session = sessionmaker(engine, expire_on_commit=False)  # noqa: N806 (the class-like factory)
    app = FastAPI()

    @app.get("/health/live", response_model=LivenessPublic)
    async def liveness() -> Any:
        return LivenessPublic(status="alive", version=__version__)

    @app.get("/health", response_model=HealthPublic)
    def health() -> Any:
        with Session() as session:
            session.execute(text("SELECT 1"))
        return HealthPublic(status="healthy", version=__version__, database="ok")

    @app.get("/items/{item_id}", response_model=ItemPublic)
    def read_item(item_id: Annotated[int, Path(ge=1, le=INT32_MAX)]) -> Any:
        with Session() as session:
            item = session.get(Item, item_id)
        if item is None:
            raise HTTPException(status_code=404, detail="Item not found")
        return item

    @app.get("/items", response_model=ItemsPublic)
    def read_items(
        skip: Annotated[int, Query(ge=0, le=INT32_MAX)] = 0, limit: Annotated[int, Query(ge=1, le=100)] = 10
    ) -> Any:
        with Session() as session:
            count = session.scalar(select(func.count()).select_from(Item))
            items = session.scalars(select(Item).order_by(Item.id).offset(skip).limit(limit))
            return ItemsPublic(data=list(items), count=count or 0)

    return app
