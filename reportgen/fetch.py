"""Stage 1a: find a dataset's `<flag>.npz` under the data root, downloading it with medmnist when
it is absent. Outside the training sources (cache.TRAINING_SOURCES): where a file came from never
changes what trains on it; its MD5, in every cache key, does."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import ssl
import tempfile
import time
import urllib.error
from pathlib import Path
from typing import Any

from reportgen.catalog import check_flag
from reportgen.errors import ReportgenError
from reportgen.interrupt import Interrupted
from reportgen.paths import is_regular_file, stat_or_none


def _missing_file_message(flag: str, info: dict[str, Any], path: Path, reason: str) -> str:
    return (
        f"{path.name} is not in {path.parent} and could not be downloaded ({reason}).\n"
        f"Download it on a machine with internet access from\n  {info['url']}\n"
        f"(MD5 {info['MD5']}), put it at\n  {path}\n"
        "or point --data-root (or $MEDMNIST_ROOT) at the folder that holds it."
    )


def download_failure_reason(error: Exception, data_root: Path) -> str:
    """Why a download into data_root failed, in words. medmnist raises a bare RuntimeError
    ("Automatic download failed!") for every failure, while handling the real one: the reason is
    read from that one (its __context__), by its type. urllib wraps what goes wrong while it
    connects in a URLError, so those are the network's; an OSError of its own while the file
    arrives (a full disk) is not, though the staging folder's name holds "download"."""
    cause = error.__context__ or error
    if isinstance(cause, urllib.error.HTTPError):
        return f"Zenodo answered HTTP {cause.code} {cause.reason}"
    if isinstance(cause, urllib.error.URLError):
        reason = cause.reason
        if isinstance(reason, socket.gaierror):
            return "no network connection to Zenodo: its name could not be looked up"
        if isinstance(reason, TimeoutError):
            return "the connection to Zenodo timed out"
        if isinstance(reason, ssl.SSLError):
            why = getattr(reason, "verify_message", None) or reason.reason or reason
            return (
                f"no secure connection to Zenodo: {why} (a network that inspects HTTPS can "
                "cause this)"
            )
        if isinstance(reason, OSError) and reason.strerror:
            return f"no network connection to Zenodo ({reason.strerror})"
        return f"no network connection to Zenodo ({reason})"
    if isinstance(cause, TimeoutError):
        return "the connection to Zenodo timed out"
    if isinstance(cause, ConnectionError):
        return f"the connection to Zenodo broke off ({cause.strerror or cause})"
    if isinstance(cause, OSError) and cause.strerror:
        return f"could not write into {data_root}: {cause.strerror}"
    return str(cause) or type(cause).__name__


# The build downloading into a staging folder, as "<host> <pid>", so that a later download can
# tell a folder whose build was killed (SIGKILL, a power cut) from one still being written.
OWNER_FILE = ".owner"
# A staging folder unchanged for this long is taken for abandoned whoever it names (a download
# that stalls for a day is dead; another machine that shares the data root cannot be asked).
ABANDONED_AFTER_SECONDS = 24 * 3600
# One whose owner on this machine is gone, once unchanged for this long: "this machine" by host
# name and pid can be wrong across containers that share a host name and a data root.
DEAD_OWNER_QUIET_SECONDS = 600


def _owner_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # POSIX: asks whether the process exists, sends nothing
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def abandoned(staging: Path, now: float) -> bool:
    """Whether a download's staging folder was left by a build that no longer runs."""
    changed = max((entry.stat().st_mtime for entry in staging.iterdir()), default=0.0)
    quiet = now - max(changed, staging.stat().st_mtime)
    if quiet > ABANDONED_AFTER_SECONDS:
        return True
    try:
        host, pid = (staging / OWNER_FILE).read_text().split()
        owner_gone = host == socket.gethostname() and not _owner_alive(int(pid))
    except (OSError, ValueError):
        return False
    return owner_gone and quiet > DEAD_OWNER_QUIET_SECONDS


def remove_abandoned_downloads(flag: str, data_root: Path) -> None:
    """Remove the staging folders of flag's downloads whose builds were killed."""
    now = time.time()
    for staging in data_root.glob(f".{flag}.download-*"):
        with contextlib.suppress(OSError):
            if staging.is_dir() and not staging.is_symlink() and abandoned(staging, now):
                shutil.rmtree(staging)


def data_root_named(data_root: Path) -> str:
    """The data folder as the user set it: "$MEDMNIST_ROOT /x" where it is that variable's
    folder (the default without --data-root), else "--data-root /x"."""
    from_environment = os.environ.get("MEDMNIST_ROOT")
    if from_environment and Path(from_environment).expanduser() == data_root:
        return f"$MEDMNIST_ROOT {data_root}"
    return f"--data-root {data_root}"


def fetch_dataset_file(flag: str, data_root: Path) -> Path:
    """The path of `<flag>.npz` under data_root, downloading it with medmnist when absent."""
    info = check_flag(flag)
    path = data_root / f"{flag}.npz"
    try:
        found = stat_or_none(path)
    except PermissionError as error:  # a folder on the way that this user may not enter
        raise ReportgenError(
            f"Cannot look for {flag}.npz in {data_root_named(data_root)} ({error.strerror}): this user "
            "may not open that folder or one above it. Fix its permissions (e.g. chmod u+rx), or "
            f"point --data-root at a folder you can read."
        ) from None
    if is_regular_file(found):
        return path
    if found is None and path.is_symlink():  # a link whose target is gone: no download fixes it
        raise ReportgenError(
            f"{path} is a link to {os.readlink(path)}, which does not exist. Point the link at "
            f"the {flag} data file, or remove it (reportgen then downloads the file there)."
        )
    if found is not None:
        raise ReportgenError(
            f"{path} is not a regular file (a folder or device), so it cannot be the {flag} data "
            f"file. Remove it or point --data-root at the folder that holds {flag}.npz."
        )
    if data_root.exists() and not data_root.is_dir():
        raise ReportgenError(
            f"{data_root_named(data_root)} is a file, not a folder. Point --data-root at the "
            f"folder that holds {flag}.npz."
        )
    # The folders made here for the download, so that a failed one leaves no trace of them.
    created = [folder for folder in (data_root, *data_root.parents) if not folder.exists()]
    try:
        data_root.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ReportgenError(
            f"Cannot create the data folder {data_root} ({error.strerror}). "
            "Choose a writable --data-root."
        ) from None
    import medmnist  # imports torch; only needed to download or load

    dataset_class = getattr(medmnist, info["python_class"])
    remove_abandoned_downloads(flag, data_root)
    # Downloaded into a folder of its own and then renamed into place, so that another build
    # never finds a half-written file at path, and two downloads at once do not write one file.
    try:
        staging = Path(tempfile.mkdtemp(prefix=f".{flag}.download-", dir=data_root))
    except OSError as error:
        raise ReportgenError(
            f"{path.name} is not in {data_root}, and it cannot be downloaded there: the folder "
            f"cannot be written to ({error.strerror}). Choose a writable --data-root, or put "
            f"{path.name} there by hand ({info['url']}, MD5 {info['MD5']})."
        ) from None
    try:
        (staging / OWNER_FILE).write_text(f"{socket.gethostname()} {os.getpid()}\n")
        dataset_class(split="test", root=str(staging), download=True)
        os.replace(staging / path.name, path)
    except BaseException as error:  # medmnist wraps every download failure in a bare RuntimeError
        shutil.rmtree(staging, ignore_errors=True)
        for folder in created:  # deepest first; only while still empty
            with contextlib.suppress(OSError):
                folder.rmdir()
        # A signal stops the build, not the download alone; medmnist's bare `except:` wraps it in
        # its RuntimeError as well, which would read as a failed download.
        if isinstance(error.__context__, Interrupted):
            raise error.__context__ from None
        if not isinstance(error, Exception):
            raise
        message = _missing_file_message(flag, info, path, download_failure_reason(error, data_root))
        if created:
            message += f"\n(The folder {data_root} did not exist either: check its spelling.)"
        raise ReportgenError(message) from None
    shutil.rmtree(staging, ignore_errors=True)
    return path
