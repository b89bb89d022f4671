"""The same contract with plain `def` routes, sync SQLAlchemy + psycopg2 and urllib3, run in FastAPI's
threadpool: the style of FastAPI's full-stack template. Served by `fastapi_app.main:create_sync_app`.

It shares everything but the request path with the async app (schemas, middleware, error handlers, the sync
crud of shared_models), so the two differ only in driver and execution model.
"""
