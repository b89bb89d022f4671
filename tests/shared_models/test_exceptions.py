"""Which database errors count as an outage (503) rather than a bug (500), in both apps."""

from __future__ import annotations

import pytest
from sqlalchemy import exc as sa_exc

from shared_models.exceptions import database_unavailable


class _Orig(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.sqlstate = code


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (sa_exc.OperationalError("SELECT 1", {}, Exception("refused")), True),
        (sa_exc.TimeoutError("pool exhausted"), True),
        (ConnectionRefusedError(), True),
        (sa_exc.DBAPIError("SELECT 1", {}, _Orig("55000")), True),  # database not accepting connections
        (sa_exc.DBAPIError("SELECT 1", {}, _Orig("57P01")), True),  # admin shutdown
        (sa_exc.DBAPIError("SELECT 1", {}, _Orig("08006")), True),  # connection failure
        (sa_exc.DBAPIError("SELECT 1", {}, _Orig("23505")), False),  # unique violation: a bug or a 409, not an outage
        (sa_exc.IntegrityError("INSERT", {}, Exception("duplicate")), False),
        (ValueError("not a database error"), False),
    ],
)
def test_database_unavailable_classifies_outages(error: BaseException, expected: bool) -> None:
    assert database_unavailable(error) is expected
