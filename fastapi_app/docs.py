"""Documented error responses shared by the routes of both FastAPI variants (OpenAPI only, no behaviour)."""

from __future__ import annotations

from typing import Any

from fastapi import status

from shared_models.schemas import BODY_PARSE_ERROR, Message

Responses = dict[int | str, dict[str, Any]]

UNAUTHORIZED: Responses = {status.HTTP_401_UNAUTHORIZED: {"model": Message, "description": "Not authenticated"}}
ITEM_NOT_FOUND: Responses = {status.HTTP_404_NOT_FOUND: {"model": Message, "description": "Item not found"}}
ORDER_NOT_FOUND: Responses = {status.HTTP_404_NOT_FOUND: {"model": Message, "description": "Order not found"}}
# FastAPI answers this itself to a JSON body it cannot decode (not UTF-8, nested too deep); docs/CONTRACT.md.
UNPARSABLE_BODY: Responses = {status.HTTP_400_BAD_REQUEST: {"model": Message, "description": BODY_PARSE_ERROR}}
