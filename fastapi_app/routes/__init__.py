"""HTTP routes: each module translates requests to crud calls and results to responses."""

from fastapi import APIRouter

from fastapi_app.routes import auth, health, items, orders, users

# Included into the app one by one: a router nested in another router costs a second match per request.
routers: tuple[APIRouter, ...] = (health.router, auth.router, users.router, items.router, orders.router)
