"""Domain errors raised by both apps' crud layers and translated to HTTP by their routes/views."""

from __future__ import annotations


class DomainError(Exception):
    """Base of the errors a route turns into a 4xx response."""

    status_code = 400

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class ItemNotFoundError(DomainError):
    """An order line names an item that does not exist."""

    status_code = 404

    def __init__(self, item_id: int) -> None:
        super().__init__(f"Item {item_id} not found")
        self.item_id = item_id


class InsufficientStockError(DomainError):
    """An order line asks for more units than are in stock."""

    status_code = 409

    def __init__(self, item_id: int) -> None:
        super().__init__(f"Insufficient stock for item {item_id}")
        self.item_id = item_id


class ItemInUseError(DomainError):
    """An item cannot be deleted because order lines point to it."""

    status_code = 409

    def __init__(self) -> None:
        super().__init__("Item is referenced by orders")


class CarrierUnavailableError(DomainError):
    """The carrier upstream failed, timed out or answered something other than a quote."""

    status_code = 502

    def __init__(self) -> None:
        super().__init__("Carrier unavailable")


class EmailTakenError(DomainError):
    """Registration with an email that already has an account."""

    status_code = 409

    def __init__(self) -> None:
        super().__init__("Email already registered")
