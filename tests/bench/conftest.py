"""Shared set-up of the bench tests: a private matplotlib config dir and the fake-run fixture module."""

from __future__ import annotations

import importlib.util
import os
import sys
import tempfile
from pathlib import Path

# matplotlib reads MPLCONFIGDIR when bench.report.charts imports it: point it at a temp dir before any test module loads.
os.environ.setdefault("MPLCONFIGDIR", tempfile.mkdtemp(prefix="mpl-"))

# tests/bench is not a package (it would shadow the real `bench`), so fixtures/fake_run.py is registered by path
# and test modules simply `import fake_run`.
if "fake_run" not in sys.modules:
    _spec = importlib.util.spec_from_file_location("fake_run", Path(__file__).parent / "fixtures" / "fake_run.py")
    assert _spec is not None
    assert _spec.loader is not None
    _module = importlib.util.module_from_spec(_spec)
    sys.modules["fake_run"] = _module
    _spec.loader.exec_module(_module)
