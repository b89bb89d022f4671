"""Baseline: FastAPI + async SQLAlchemy + asyncpg; `uvicorn --factory bench.baselines.fastapi_async:create_app`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import FastAPI, HTTPException, Path, Query
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from shared_models import __version__
from shared_models.models import Item
from shared_models.schemas import INT32_MAX, HealthPublic, ItemPublic, ItemsPublic, LivenessPublic
from shared_models.settings import AppSettings, engine_options


def create_app(settings: AppSettings | None = None) -> FastAPI:
    """The app, with one engine per worker process."""
    settings = settings or AppSettings.load_or_exit()
    engine = create_async_engine(settings.async_database_url, **engine_options(settings))
    Session = async_sessionmaker(engine, expire_on_commit=False)  # noqa: N806 (the class-like factory)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        await engine.dispose()

    app = FastAPI(lifespan=lifespan)

    @app.get("/health/live", response_model=LivenessPublic)
    async def liveness() -> Any:
        return LivenessPublic(status="alive", version=__version__)

    @app.get("/health", response_model=HealthPublic)
    async def health() -> Any:
        async with Session() as session:
            await session.execute(text("SELECT 1"))
        return HealthPublic(status="healthy", version=__version__, database="ok")

    @app.get("/items/{item_id}", response_model=ItemPublic)
    async def read_item(item_id: Annotated[int, Path(ge=1, le=INT32_MAX)]) -> Any:
        async with Session() as session:
            item = await session.get(Item, item_id)
        if item is None:
            raise HTTPException(status_code=404, detail="Item not found")
        return item

    @app.get("/items", response_model=ItemsPublic)
    async def read_items(
        skip: Annotated[int, Query(ge=0, le=INT32_MAX)] = 0, limit: Annotated[int, Query(ge=1, le=100)] = 10
    ) -> Any:
        async with Session() as session:
            count = await session.scalar(select(func.count()).select_from(Item))
            items = await session.scalars(select(Item).order_by(Item.id).offset(skip).limit(limit))
            return ItemsPublic(data=list(items), count=count or 0)

    return app
