"""Looking at a path without mistaking "this user may not look" for "nothing is there"."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path


def stat_or_none(path: Path) -> os.stat_result | None:
    """path's stat (following links), None where nothing is there. A folder on the way that this
    user may not open raises PermissionError, which Path.exists() and is_dir() turn into False
    from Python 3.14 on (and raise before)."""
    try:
        return path.stat()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as error:
        if error.errno == errno.ELOOP:  # a loop of symbolic links: nothing to find, as before
            return None
        raise


def is_folder(found: os.stat_result | None) -> bool:
    return found is not None and stat.S_ISDIR(found.st_mode)


def is_regular_file(found: os.stat_result | None) -> bool:
    return found is not None and stat.S_ISREG(found.st_mode)
