"""The one exception type for expected failures; the CLI turns it into a message without a traceback."""

from __future__ import annotations


class ReportgenError(Exception):
    """An expected failure whose message says what is wrong, why, and how to fix it."""
