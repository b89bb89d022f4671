"""HTTP routes: each module translates requests to crud calls and results to responses."""

from fastapi import APIRouter

from fastapi_app.routes import auth, health, items, orders, users

# Included into the app one by one (a router nested in another router costs a second match per request) and
# the busiest first: FastAPI tries included routers in order. No two routers share a path, so order is free.
routers: tuple[APIRouter, ...] = (items.router, orders.router, health.router, users.router, auth.router)
