"""Shared set-up of the bench tests: a private matplotlib config dir."""

from __future__ import annotations

import os
import tempfile

# matplotlib reads MPLCONFIGDIR when bench.report.charts imports it: point it at a temp dir before any test module loads.
os.environ.setdefault("MPLCONFIGDIR", tempfile.mkdtemp(prefix="mpl-"))
