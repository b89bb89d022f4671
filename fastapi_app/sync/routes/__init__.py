"""The contract's routes as plain `def` functions, run in FastAPI's threadpool: one router per resource.

Paths, status codes and documented responses are those of fastapi_app/routes/ (routers in the same order), so
both apps serve one OpenAPI.
"""

from fastapi import APIRouter

from fastapi_app.sync.routes import auth, health, items, orders, users

# Included one by one, the benchmark's paths first, as fastapi_app/routes/__init__.py explains: FastAPI 0.165
# matches an included router's routes lazily, each tried route costing a scope save and restore, so one router
# holding all fifteen routes (auth and users first) cost GET /items/{id} 7-13 % of its CPU (in-process, CPU
# per request, 7 alternating rounds against the same routes split per resource).
routers: tuple[APIRouter, ...] = (health.router, items.router, orders.router, users.router, auth.router)
