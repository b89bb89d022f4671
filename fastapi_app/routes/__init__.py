"""HTTP routes: each module translates requests to crud calls and results to responses."""

from fastapi import APIRouter

from fastapi_app.routes import auth, health, items, orders, users

# Included into the app one by one (a router nested in another router costs a second match per request) and
# the benchmark's paths first, the floor's two-route router before the prefixed ones: FastAPI tries included
# routers in order. No two routers share a path, so the order changes no answer.
routers: tuple[APIRouter, ...] = (health.router, items.router, orders.router, users.router, auth.router)
