"""Hex digests of files, read in blocks (a data file can be ~200 MB): MD5 for data files, since
that is what medmnist.INFO publishes, SHA-256 for what vouches for cache entries and figures."""

from __future__ import annotations

import hashlib
from pathlib import Path


def file_digest(path: Path, algorithm: str) -> str:
    """The hex digest ("md5", "sha256") of a file's bytes."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, algorithm).hexdigest()
