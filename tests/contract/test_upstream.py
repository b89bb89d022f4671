"""GET /items/{id}/shipping-quote against the carrier stub (docs/CONTRACT.md, Carrier upstream)."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from shared_models.schemas import EntityId, ShippingQuoteQuery

from .helpers import (
    MISSING_ID,
    QUOTE_KEYS,
    assert_422,
    assert_detail,
    expected_errors,
    is_json_number,
    locs,
)

CARRIER_UNAVAILABLE = "Carrier unavailable"


def test_quote(client: httpx.Client, carrier_reset: Any) -> None:
    response = client.get("/items/3/shipping-quote", params={"zip": "10115"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == QUOTE_KEYS
    assert (body["item_id"], body["zip"]) == (3, "10115")
    assert isinstance(body["carrier"], str)
    assert body["carrier"]
    assert is_json_number(body["cost"])
    assert body["cost"] == round(body["cost"], 2)
    assert isinstance(body["eta_days"], int)
    assert not isinstance(body["eta_days"], bool)
    assert float(response.headers["x-process-time"]) >= 0


def test_quote_keeps_leading_zeros_in_zip(client: httpx.Client, carrier_reset: Any) -> None:
    response = client.get("/items/1/shipping-quote", params={"zip": "01234"})
    assert response.status_code == 200, response.text
    assert response.json()["zip"] == "01234"


@pytest.mark.parametrize(
    "params",
    [{"zip": "123"}, {"zip": "123456"}, {"zip": "abcde"}, {"zip": ""}, {"zip": "12345\n"}, {}],
    ids=["3-digits", "6-digits", "letters", "empty", "trailing-newline", "missing"],
)
def test_quote_bad_zip_is_422(client: httpx.Client, params: dict[str, str]) -> None:
    response = client.get("/items/1/shipping-quote", params=params)
    assert locs(response) == [["query", "zip"]]
    assert_422(response, expected_errors(ShippingQuoteQuery, params, ("query",)))


def test_quote_unknown_item_is_404(client: httpx.Client, carrier_reset: Any) -> None:
    response = client.get(f"/items/{MISSING_ID}/shipping-quote", params={"zip": "10115"})
    assert_detail(response, 404, "Item not found")


def test_quote_bad_item_id_is_422(client: httpx.Client) -> None:
    response = client.get("/items/abc/shipping-quote", params={"zip": "10115"})
    assert_422(response, expected_errors(EntityId, "abc", ("path", "item_id")))


def test_quote_carrier_error_is_502(client: httpx.Client, carrier_reset: Any) -> None:
    carrier_reset.configure(status=500)
    response = client.get("/items/1/shipping-quote", params={"zip": "10115"})
    assert_detail(response, 502, CARRIER_UNAVAILABLE)


def test_quote_carrier_timeout_is_502_within_budget(client: httpx.Client, carrier_reset: Any) -> None:
    carrier_reset.configure(delay_ms=3000)
    started = time.monotonic()
    response = client.get("/items/1/shipping-quote", params={"zip": "10115"})
    elapsed = time.monotonic() - started
    assert_detail(response, 502, CARRIER_UNAVAILABLE)
    assert elapsed < 2.5, f"took {elapsed:.2f} s with carrier_timeout_s = 1.0"


def test_quote_recovers_after_carrier_failure(client: httpx.Client, carrier_reset: Any) -> None:
    carrier_reset.configure(status=500)
    assert client.get("/items/1/shipping-quote", params={"zip": "10115"}).status_code == 502
    carrier_reset.reset()
    assert client.get("/items/1/shipping-quote", params={"zip": "10115"}).status_code == 200


# A dead upstream (nothing listening) is checked in test_http.py::test_production_server_with_dead_upstream.
