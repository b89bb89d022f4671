"""HTTP routes: each module translates requests to crud calls and results to responses."""

from fastapi import APIRouter

from fastapi_app.routes import auth, health, items, orders, users

api_router = APIRouter()
api_router.include_router(health.router)
api_router.include_router(auth.router)
api_router.include_router(users.router)
api_router.include_router(items.router)
api_router.include_router(orders.router)
