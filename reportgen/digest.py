"""Hex digests of files, read in blocks (a data file can be ~200 MB): MD5 for data files, since
that is what medmnist.INFO publishes, SHA-256 for what vouches for cache entries and figures, and
for the text of the reportgen modules a cache key or the figures depend on."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import IO


def stream_digest(handle: IO[bytes], algorithm: str) -> str:
    """The hex digest ("md5", "sha256") of what is left to read in an open binary file."""
    return hashlib.file_digest(handle, algorithm).hexdigest()


def file_digest(path: Path, algorithm: str) -> str:
    """The hex digest ("md5", "sha256") of a file's bytes."""
    with path.open("rb") as handle:
        return stream_digest(handle, algorithm)


def sources_digest(names: tuple[str, ...]) -> str:
    """SHA-256 hex digest of the text of reportgen's modules with these file names, in order."""
    package_dir = Path(__file__).parent
    digest = hashlib.sha256()
    for name in names:
        digest.update((package_dir / name).read_bytes())
    return digest.hexdigest()
