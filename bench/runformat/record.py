"""The run format's base: the version rule (migrate older, refuse unknown), the record base class, atomic writes."""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any, ClassVar, Final, Literal, Self

from pydantic import BaseModel, BeforeValidator, PlainSerializer, ValidationError

FORMAT_VERSION: Final = 2
# Version 1: runs written before records carried format_version (the summary columns up to invalid_reason).
LEGACY_VERSION = 1


class FormatVersionError(ValueError):
    """A file of a run format version this code cannot read."""


def atomic_write(path: Path, content: str | bytes) -> None:
    """Write a file so that readers see the old or the new content, never a half-written one."""
    tmp = path.with_name(f".{path.name}.tmp")
    data = content.encode("utf-8") if isinstance(content, str) else content
    with tmp.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def _nan_if_missing(value: Any) -> Any:
    return math.nan if value is None or value == "" else value


def _none_if_nan(value: float) -> float | None:
    return None if math.isnan(value) else round(value, 4)


def _none_if_blank(value: Any) -> Any:
    return None if value == "" or (isinstance(value, float) and math.isnan(value)) else value


# A measured float: NaN in memory when not measured, null (JSON) / empty (CSV) on disk, rounded to 4 places.
Measured = Annotated[float, BeforeValidator(_nan_if_missing), PlainSerializer(_none_if_nan)]
OptionalFloat = Annotated[float | None, BeforeValidator(_none_if_blank)]
NAN = math.nan


def _migrate(kind: str, data: dict[str, Any], migrations: Mapping[int, Callable[[dict[str, Any]], None]]) -> None:
    """Bring one record (in place) from its version to FORMAT_VERSION, or refuse naming both versions."""
    version = data.get("format_version", LEGACY_VERSION)
    if version in ("", None):
        version = LEGACY_VERSION
    try:
        version = int(version)
    except (TypeError, ValueError):
        raise FormatVersionError(f"{kind}: format_version {version!r} is not a number") from None
    while version != FORMAT_VERSION:
        if version not in migrations:
            raise FormatVersionError(
                f"{kind} is run format version {version}; this code reads version {FORMAT_VERSION}"
                + (f" (and migrates {', '.join(map(str, sorted(migrations)))})" if migrations else "")
            )
        migrations[version](data)
        version += 1
    data["format_version"] = FORMAT_VERSION


class Record(BaseModel):
    """A versioned record of the run format."""

    format_version: Literal[2] = FORMAT_VERSION
    kind: ClassVar[str] = "record"
    migrations: ClassVar[dict[int, Callable[[dict[str, Any]], None]]] = {}

    @classmethod
    def from_stored(cls, data: Mapping[str, Any], *, where: str = "") -> Self:
        """Validate a record read from disk, migrating an older known version first."""
        record = dict(data)
        _migrate(f"{cls.kind} {where}".strip(), record, cls.migrations)
        try:
            return cls.model_validate(record)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"])
            raise ValueError(f"{cls.kind} {where}: field {field}: {first['msg']}".replace("  ", " ")) from exc

    def stored(self) -> dict[str, Any]:
        """The record as written to disk (NaN → null)."""
        return self.model_dump(mode="json", by_alias=True)


def _v1_to_v2(data: dict[str, Any]) -> None:
    # Version 2 only added fields; each has a default meaning "not recorded".
    data["format_version"] = 2
