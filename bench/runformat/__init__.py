"""The run format: typed, versioned models of what a run writes, their load/dump, and the one atomic writer.

summary.csv/json hold one CellRow per configured cell, metadata.json one RunMetadata, ergonomics.json one
Ergonomics. Every record carries `format_version`; a file of an older known version is
migrated on load, any other version is refused with both versions named. docs/RUN_FORMAT.md is tested against
these models (tests/bench/test_runformat.py).
"""

from bench.runformat.cells import (
    SUMMARY_COLUMNS,
    CellRow,
    cell_id,
    empty_row,
    invalid_reasons,
    load_summary,
    write_summary,
)
from bench.runformat.ergonomics import (
    AnnotationFacts,
    AsyncSupport,
    BackgroundTasks,
    CaseAnswer,
    ColdStart,
    Concepts,
    Ergonomics,
    InstallFootprint,
    LocFile,
    OpenAPIFacts,
    PerFramework,
    TypeHintCoverage,
    ValidationCase,
    ValidationFacts,
    ValidationQuality,
    ValidationSample,
)
from bench.runformat.metadata import RunMetadata, ServerInfo
from bench.runformat.record import FORMAT_VERSION, LEGACY_VERSION, FormatVersionError, Record, atomic_write

__all__ = [
    "FORMAT_VERSION",
    "LEGACY_VERSION",
    "SUMMARY_COLUMNS",
    "AnnotationFacts",
    "AsyncSupport",
    "BackgroundTasks",
    "CaseAnswer",
    "CellRow",
    "ColdStart",
    "Concepts",
    "Ergonomics",
    "FormatVersionError",
    "InstallFootprint",
    "LocFile",
    "OpenAPIFacts",
    "PerFramework",
    "Record",
    "RunMetadata",
    "ServerInfo",
    "TypeHintCoverage",
    "ValidationCase",
    "ValidationFacts",
    "ValidationQuality",
    "ValidationSample",
    "atomic_write",
    "cell_id",
    "empty_row",
    "invalid_reasons",
    "load_summary",
    "write_summary",
]
