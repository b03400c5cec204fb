"""The dashboard page: one self-contained HTML file (inline CSS and JS, no network but this API)."""

from __future__ import annotations

import functools
from pathlib import Path


@functools.cache
def dashboard_html() -> str:
    """The page, read once."""
    return (Path(__file__).with_name("dashboard.html")).read_text(encoding="utf-8")
