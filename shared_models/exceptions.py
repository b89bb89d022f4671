"""Domain errors raised by both apps' crud layers and translated to HTTP by their routes/views."""

from __future__ import annotations

from sqlalchemy import exc as sa_exc

DATABASE_UNAVAILABLE = "Database unavailable"


def database_unavailable(exc: BaseException) -> bool:
    """True for errors meaning the database cannot be reached right now (refused, dropped, pool exhausted).

    Both apps answer these with 503 {"detail": "Database unavailable"} instead of an unhandled 500.
    """
    if isinstance(exc, sa_exc.TimeoutError | sa_exc.OperationalError | sa_exc.InterfaceError | ConnectionError):
        return True
    if not isinstance(exc, sa_exc.DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    # asyncpg reports refused connections as plain DBAPIErrors; the SQLSTATE tells: 08xxx connection exception,
    # 57P0x server shutting down / restarting, 55000 database not accepting connections, 53300 too many clients.
    orig = exc.orig
    code = getattr(orig, "pgcode", None) or getattr(orig, "sqlstate", None)
    code = code or getattr(getattr(orig, "__cause__", None), "sqlstate", None)
    return isinstance(code, str) and (code.startswith(("08", "57P")) or code in {"55000", "53300"})


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
