"""TFB-style checks that a started server answers correctly before anything is timed."""

from __future__ import annotations

from decimal import Decimal

import httpx
from sqlalchemy import Engine, text

from shared_models.seed import LOAD_USER_PASSWORD, load_user_email


def verify_server(url: str, engine: Engine, *, seed_items: int) -> list[str]:
    """Problems found by a handful of read requests compared with the database (empty = correct)."""
    problems: list[str] = []
    with httpx.Client(base_url=url, timeout=10) as client, engine.connect() as conn:
        health = client.get("/health")
        if health.status_code != 200 or health.json().get("database") != "ok":
            problems.append(f"/health answered {health.status_code} {health.text[:100]}")
        name, price = conn.execute(text("SELECT name, price FROM items WHERE id = 1")).one()
        item = client.get("/items/1")
        if item.status_code != 200 or item.json().get("name") != name or Decimal(str(item.json()["price"])) != price:
            problems.append(f"/items/1 does not match the database: {item.status_code} {item.text[:100]}")
        page = client.get("/items", params={"limit": 20, "skip": 0})
        body = page.json() if page.status_code == 200 else {}
        if len(body.get("data", [])) != 20 or body.get("count") != seed_items:
            problems.append(f"/items?limit=20 gave {page.status_code}, count={body.get('count')} != {seed_items}")
        token = client.post("/auth/token", data={"username": load_user_email(0), "password": LOAD_USER_PASSWORD})
        if token.status_code != 200:
            problems.append(f"login of a load user answered {token.status_code}")
        else:
            auth = {"Authorization": f"Bearer {token.json()['access_token']}"}
            orders = client.get("/orders", headers=auth)
            if orders.status_code != 200 or "data" not in orders.json():
                problems.append(f"/orders answered {orders.status_code}")
        quote = client.get("/items/1/shipping-quote", params={"zip": "12345"})
        if quote.status_code != 200 or quote.json().get("item_id") != 1:
            problems.append(f"/items/1/shipping-quote answered {quote.status_code} {quote.text[:100]}")
        missing = client.get("/items/2147483647")
        if missing.status_code != 404:
            problems.append(f"a missing item answered {missing.status_code}, not 404")
    return problems
