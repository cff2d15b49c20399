"""Where a build writes: check its output folders first, stage finished output beside them and
swap it into place atomically, and lock the folders against a second build.

Pages and site are first written to staging folders beside their targets; only when every stage
has succeeded are the targets replaced, so a failed or interrupted build leaves the earlier docs
and site exactly as they were.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from reportgen.errors import ReportgenError
from reportgen.paths import is_folder, stat_or_none

MOUNT_TABLE = Path("/proc/self/mountinfo")  # Linux: every mount point, bind mounts too


def is_mount_point(path: Path) -> bool:
    """Whether a file system is mounted at path. os.path.ismount misses a bind mount from the
    same file system (as a container's volume may be), which Linux's mount table lists."""
    if os.path.ismount(path):
        return True
    try:
        table = MOUNT_TABLE.read_text(encoding="utf-8", errors="surrogateescape")
    except OSError:  # not Linux
        return False
    resolved = str(path.resolve())
    # The fifth field of each line is the mount point, with spaces and the like octal-escaped.
    rows = (line.split() for line in table.splitlines())
    return any(len(row) > 4 and _unescape_mount_point(row[4]) == resolved for row in rows)


def _unescape_mount_point(field: str) -> str:
    return re.sub(r"\\([0-7]{3})", lambda match: chr(int(match.group(1), 8)), field)


def on_read_only_file_system(path: Path) -> bool:
    """Whether path lies on a file system mounted read-only, where no permission helps."""
    read_only = getattr(os, "ST_RDONLY", None)  # POSIX only
    try:
        return read_only is not None and bool(os.statvfs(path).f_flag & read_only)
    except OSError:
        return False


def _read_only(action: str, what: str) -> ReportgenError:
    """action ("write to docs", "replace --site-dir site") is refused by a read-only file
    system, where no permission helps: what (the option or folder) must be chosen elsewhere."""
    return ReportgenError(
        f"Cannot {action}: it is on a read-only file system. Choose another {what}, on a "
        "writable disk."
    )


def _cannot_write(where: str, folder: Path, what: str) -> ReportgenError:
    if on_read_only_file_system(folder):
        return _read_only(f"write {where}", what)
    return ReportgenError(f"Cannot write {where}: permission denied. Choose a writable {what}.")


def check_writable_folder(
    folder: Path, what: str, shown: Path | None = None, create: bool = True
) -> None:
    """Fail when folder cannot be a writable folder; with create, make it (and the folders above
    it) if needed. Without, nothing is written: the nearest folder that exists must be one this
    process may write in. what names it in the advice ("output folder", "--cache-dir"); shown is
    the path the user gave, if not folder."""
    folder = folder.resolve()
    try:
        blocker = next((p for p in [folder, *folder.parents] if stat_or_none(p) is not None), None)
    except PermissionError as error:  # a folder on the way that this user may not enter
        raise ReportgenError(
            f"Cannot reach {shown or folder} ({error.strerror} at {error.filename}). Choose a "
            f"{what} this user can open and write."
        ) from None
    if blocker is not None and not blocker.is_dir():
        problem = f"{blocker} is a file, not a folder"
        if shown is not None or blocker != folder:
            problem = f"Cannot write {shown or folder}: {problem}"
        raise ReportgenError(f"{problem}. Choose another {what}.")
    if not create:
        if blocker is not None and not os.access(blocker, os.W_OK | os.X_OK):
            where = "to " + str(folder) if blocker == folder else f"{folder} (in {blocker})"
            raise _cannot_write(where, blocker, what)
        return
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ReportgenError(
            f"Cannot create {folder} ({error.strerror}). Choose a writable {what}."
        ) from None
    if not os.access(folder, os.W_OK):
        raise _cannot_write(f"to {folder}", folder, what)


def _check_writable_parent(target: Path, create: bool, option: str = "output folder") -> None:
    """option: the command-line option that names target (--docs-dir), for the advice."""
    check_writable_folder(target.resolve().parent, option, shown=target, create=create)
    if target.exists() and not target.is_dir():
        raise ReportgenError(
            f"Cannot write {option} {target}: it is a file, not a folder. Choose another {option}."
        )


# Every docs and every site folder a build publishes holds this file, so an existing folder that
# lacks it is not an earlier reportgen output and must not be replaced.
OUTPUT_MARK = Path("data") / "results.json"


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or path.is_relative_to(folder)


def _check_replaceable(option: str, target: Path) -> None:
    """A build replaces its output folders whole: only a new, empty or earlier output folder,
    and one this user may move aside (renaming a folder to another parent writes in it)."""
    try:
        existing = is_folder(stat_or_none(target))
        foreign = existing and any(target.iterdir()) and not (target / OUTPUT_MARK).is_file()
    except PermissionError as error:
        raise ReportgenError(
            f"Cannot look into {option} {target} ({error.strerror} at {error.filename}): this "
            f"user may not open it or a folder above it. Fix its permissions, or choose another "
            f"{option}."
        ) from None
    if existing and is_mount_point(target):
        inside = target / target.resolve().name
        raise ReportgenError(
            f"{option} {target} is a mount point (another disk, or a container's volume). A "
            "build replaces its output folders whole by moving them aside, which a mount point "
            f"cannot be. Give a folder inside it, e.g. {option} {shlex.quote(str(inside))}."
        )
    if existing and on_read_only_file_system(target):
        raise _read_only(f"replace {option} {target}", option)
    if existing and not os.access(target, os.W_OK | os.X_OK):
        raise ReportgenError(
            f"Cannot replace {option} {target}: this user may not write in it (was it made by "
            f"another user, or with sudo?). A build moves the old folder aside, which needs that. "
            f'Make it yours (sudo chown -R "$USER" {shlex.quote(str(target))}) or writable '
            f"(chmod -R u+rwX {shlex.quote(str(target))}, if it is yours), or choose another "
            f"{option}."
        )
    if existing and (target / ".git").exists():
        raise ReportgenError(
            f"{option} {target} holds a git repository (.git), e.g. to push the site to a "
            "pages branch. A build replaces its output folders whole, which would delete it and "
            f"its history. Keep the repository elsewhere and copy the built files into it (e.g. "
            f"cp -r {target}/. ../pages/), or choose another {option}."
        )
    if foreign:
        raise ReportgenError(
            f"{option} {target} already exists and is not a reportgen output (it has no "
            f"{OUTPUT_MARK.as_posix()}). A build replaces its output folders whole, so everything "
            "in it would be deleted. Choose a new or empty folder, or move that one away first."
        )


def check_output_dirs(
    outputs: dict[str, Path], inputs: dict[str, Path] | None = None, create: bool = True
) -> None:
    """Fail before any work when an output folder cannot be created or replaced safely.

    outputs and inputs map option names (as the user typed them) to paths. Each output folder must
    be writable and new, empty or an earlier reportgen output; no two may overlap; and nothing in
    inputs (what the build reads or keeps: data, cache, experiments file, working folder) may lie
    inside one, because replacing the folder would delete it. With create, the folders above each
    output are made (create_output_parents); without, nothing is written.
    """
    for option, target in outputs.items():
        _check_replaceable(option, target)
    resolved = {option: target.resolve() for option, target in outputs.items()}
    options = list(resolved)
    for first, second in ((a, b) for i, a in enumerate(options) for b in options[i + 1 :]):
        if _inside(resolved[first], resolved[second]) or _inside(resolved[second], resolved[first]):
            raise ReportgenError(
                f"{first} {outputs[first]} and {second} {outputs[second]} overlap (the same "
                "folder, or one inside the other). A build replaces each of them whole, so they "
                "must be separate folders, e.g. --docs-dir docs --site-dir site."
            )
    for name, path in (inputs or {}).items():
        for option, target in resolved.items():
            if _inside(path.resolve(), target):
                raise ReportgenError(
                    f"{name} {path} lies inside {option} {outputs[option]}, which a build "
                    f"replaces whole, so it would be deleted. Move it out, or choose another "
                    f"{option}."
                )
    # Last, as it may create the folders above each output: a refused build leaves none behind.
    for option, target in outputs.items():
        _check_writable_parent(target, create, option)


def create_output_parents(outputs: dict[str, Path]) -> None:
    """Make the folders above each output (checked by check_output_dirs without create)."""
    for option, target in outputs.items():
        _check_writable_parent(target, create=True, option=option)


def _folder_mode() -> int:
    """The mode a plain mkdir would give a folder under the current umask."""
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o777 & ~umask


@contextmanager
def staging_dir_for(target: Path) -> Iterator[Path]:
    """A fresh empty folder beside target, removed on exit (swap_into moves it away on success)."""
    _check_writable_parent(target, create=True)
    resolved = target.resolve()  # named as the lock and the clean-up name it (output_lock)
    staging = Path(tempfile.mkdtemp(prefix=f".{resolved.name}.staging-", dir=resolved.parent))
    staging.chmod(
        _folder_mode()
    )  # mkdtemp makes it owner-only; the published folder must be readable
    try:
        yield staging
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def swap_into(*moves: tuple[Path, Path]) -> list[Path]:
    """Replace each target with its staging folder, all or none.

    Every existing target is first renamed aside, then every staging folder renamed into place; if
    a rename fails, the ones done so far are undone, so the earlier output is back as it was.
    Returns the set-aside folders of earlier output that could not be removed (a subfolder this
    user may not delete in), for the caller to report.
    """
    moves = tuple((staging, target.resolve()) for staging, target in moves)
    retired_dirs, set_aside, moved_in = [], [], []
    try:
        for _staging, target in moves:
            if target.exists():
                retired_dir = Path(
                    tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent)
                )
                retired_dirs.append(retired_dir)
                os.replace(target, retired_dir / target.name)
                set_aside.append((retired_dir / target.name, target))
        for staging, target in moves:
            os.replace(staging, target)
            moved_in.append((target, staging))
    except OSError as error:
        restored = []
        try:
            for source, destination in [*reversed(moved_in), *reversed(set_aside)]:
                os.replace(source, destination)
                restored.append(source)
        except OSError as undo_error:  # the earlier output stays where it was set aside
            kept = ", ".join(str(source) for source, _ in set_aside if source not in restored)
            raise ReportgenError(
                f"Could not move the new output into place ({error}), nor put the earlier output "
                f"back ({undo_error}). The earlier output is kept in {kept}: move it back by hand "
                "once the folders are writable, then build again."
            ) from None
        _remove_all(retired_dirs)
        raise ReportgenError(
            f"Could not move the new output into place ({error}); the earlier output was restored. "
            "Check that the output folders are writable and not in use, then build again."
        ) from None
    return _remove_all(retired_dirs)


def _remove_all(folders: list[Path]) -> list[Path]:
    """Remove each folder as far as this user may; the folders left behind."""
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)
    return [folder for folder in folders if folder.exists()]


@contextmanager
def output_lock(*targets: Path) -> Iterator[None]:
    """Hold a lock file beside each target for the block, so two builds never write one folder.

    The lock is `.<name>.lock` in the target's parent; the operating system releases it when the
    process ends, however it ends. Staging folders of the target found there once it is held
    are a killed build's (SIGKILL, a power cut: no `finally` ran), since only the lock's holder
    stages output: they are removed. Set-aside `.old-` folders are kept; they may hold the only
    copy of an earlier output (see swap_into).
    """
    from filelock import FileLock, Timeout

    with ExitStack() as held:
        for target in sorted({target.resolve() for target in targets}):
            lock = FileLock(target.parent / f".{target.name}.lock")
            try:
                held.enter_context(lock.acquire(timeout=0))
            except Timeout:
                raise ReportgenError(
                    f"Another reportgen build is writing {target} right now (it holds "
                    f"{lock.lock_file}). Wait for it to finish, or give this build other "
                    "--docs-dir and --site-dir folders."
                ) from None
            _remove_all(_staging_dirs_of(target))
        yield


def _staging_dirs_of(target: Path) -> list[Path]:
    """The folders staging_dir_for made beside target: its prefix and mkdtemp's 8 characters, so
    never another target's (`.docs.staging-x` may be a folder of its own, with its own staging)."""
    made = re.compile(rf"\.{re.escape(target.name)}\.staging-[a-z0-9_]{{8}}")
    return sorted(
        path
        for path in target.parent.iterdir()
        if made.fullmatch(path.name) and path.is_dir() and not path.is_symlink()
    )
