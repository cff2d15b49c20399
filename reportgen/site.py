"""Stage 7: build the static site with MkDocs, and swap finished output into place atomically.

Pages and site are first written to staging folders beside their targets; only when every stage
has succeeded are the targets replaced, so a failed or interrupted build leaves the earlier docs
and site exactly as they were.
"""

from __future__ import annotations

import datetime
import html
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import reportgen
from reportgen.errors import ReportgenError

PROJECT_ROOT = Path(__file__).resolve().parent.parent


REPORTGEN_HOOK = Path(__file__).resolve().parent / "mkdocs_hooks.py"


def hooks_for(config_file: Path) -> list[str] | None:
    """The MkDocs hooks a build runs: reportgen's own, from the installed package, then those the
    config file names (as absolute paths). None leaves the file's setting to MkDocs.

    mkdocs.yml names reportgen's hook relative to itself (so that plain `mkdocs build` works in the
    project), which breaks when the file is copied elsewhere to be customised.
    """
    import yaml
    from mkdocs.utils import yaml_load

    try:
        with config_file.open(encoding="utf-8") as stream:
            listed = (yaml_load(stream) or {}).get("hooks", [])
    except (OSError, yaml.YAMLError):
        return None  # MkDocs reports the problem when it loads the file
    if not isinstance(listed, list) or not all(isinstance(hook, str) for hook in listed):
        return None
    resolved = [(hook, (config_file.parent / hook).resolve()) for hook in listed]
    own = [
        str(path)
        for hook, path in resolved
        if path != REPORTGEN_HOOK
        and not Path(hook).as_posix().endswith("reportgen/mkdocs_hooks.py")
    ]
    return [str(REPORTGEN_HOOK), *own]


def _hook_override(config_file: Path) -> dict[str, list[str]]:
    hooks = hooks_for(config_file)
    return {} if hooks is None else {"hooks": hooks}


def default_mkdocs_config() -> Path:
    """`mkdocs.yml` in the working folder, else the one shipped at reportgen's project root."""
    local = Path("mkdocs.yml")
    return local if local.is_file() else PROJECT_ROOT / "mkdocs.yml"


@dataclass(frozen=True)
class SiteOptions:
    """What a build sets in mkdocs.yml's place: MkDocs options that differ per build."""

    site_url: str | None = None  # where the site is published; None leaves MkDocs' default
    repo_url: str | None = None  # repository linked from the header; None: no link
    footer: str = ""  # the footer's line (MkDocs' `copyright`), HTML
    site_name: str | None = None  # header and browser-tab title; None keeps mkdocs.yml's

    def overrides(self) -> dict[str, Any]:
        """Keyword arguments for mkdocs.config.load_config; None values keep mkdocs.yml's."""
        # MkDocs names only GitHub, GitLab and Bitbucket repositories itself; name every host's.
        repo_name = (urlsplit(self.repo_url).path.strip("/") or None) if self.repo_url else None
        return {
            "site_url": self.site_url,
            "repo_url": self.repo_url,
            "repo_name": repo_name,
            "copyright": self.footer or None,
            "site_name": self.site_name,
        }


def footer_text(results: dict[str, Any], built: datetime.datetime) -> str:
    """Build date, reportgen version and the data the site describes, as footer HTML."""
    dataset = results["dataset"]
    data = dataset["name"] if dataset["official"] else f"an unofficial {dataset['name']} file"
    return html.escape(
        f"Built {built:%Y-%m-%d %H:%M} UTC with reportgen {reportgen.__version__} from {data}. "
        "Research and education only; not a diagnostic device."
    )


def site_options(
    results: dict[str, Any], site_url: str | None, repo_url: str | None
) -> SiteOptions:
    """Options for a site built now from results."""
    built = datetime.datetime.now(datetime.UTC)
    return SiteOptions(
        site_url=site_url,
        repo_url=repo_url,
        footer=footer_text(results, built),
        site_name=site_name(results),
    )


def site_name(results: dict[str, Any]) -> str:
    """The title every page's header and browser tab show: it names the data, so a tab or a
    bookmark on its own still says which dataset the numbers describe."""
    dataset = results["dataset"]
    data = dataset["name"] if dataset["official"] else f"{dataset['name']} (unofficial file)"
    return f"reportgen: {data} results"


def check_config_file(config_file: Path) -> None:
    """Fail when the MkDocs configuration a site build needs is missing."""
    if not config_file.is_file():
        raise ReportgenError(
            f"MkDocs configuration {config_file} is missing. Run reportgen from its project "
            "folder (where mkdocs.yml is), or pass --no-site to stop after the Markdown pages."
        )


def build_site(
    docs_dir: Path, site_dir: Path, config_file: Path, options: SiteOptions = SiteOptions()
) -> Path:
    """Run a strict MkDocs build of docs_dir into site_dir: any warning fails it."""
    from mkdocs.commands.build import build  # heavy; only when a site is built
    from mkdocs.config import load_config
    from mkdocs.exceptions import Abort, ConfigurationError

    check_config_file(config_file)
    mkdocs_logger = logging.getLogger("mkdocs")
    previous_level = mkdocs_logger.level
    mkdocs_logger.setLevel(logging.WARNING)
    warnings = _Collected()
    mkdocs_logger.addHandler(warnings)
    try:
        config = load_config(
            config_file=str(config_file),
            docs_dir=str(docs_dir.resolve()),
            site_dir=str(site_dir.resolve()),
            strict=True,
            **_hook_override(config_file),
            **options.overrides(),
        )
        build(config)
    except (Abort, ConfigurationError) as error:
        found = "".join(f"\n  - {message}" for message in warnings.messages)
        raise ReportgenError(
            f"MkDocs could not build the site strictly ({str(error).rstrip('.!')}). The earlier "
            f"site is unchanged. What MkDocs found:{found or ' nothing more.'}"
        ) from None
    finally:
        mkdocs_logger.removeHandler(warnings)
        mkdocs_logger.setLevel(previous_level)
    return site_dir


class _Collected(logging.Handler):
    """Keeps the messages of the log records it receives."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def check_site_config(config_file: Path) -> None:
    """Load and validate the MkDocs configuration before any work: a broken mkdocs.yml (a hook
    or plugin that cannot be found, an unknown option) then fails in a second, not after training.
    """
    from mkdocs.config import load_config
    from mkdocs.exceptions import Abort, ConfigurationError

    check_config_file(config_file)
    collected = _Collected()
    mkdocs_logger = logging.getLogger("mkdocs")
    mkdocs_logger.addHandler(collected)
    try:
        with tempfile.TemporaryDirectory() as placeholder:  # docs_dir must exist to validate
            (Path(placeholder) / "docs").mkdir()
            load_config(
                config_file=str(config_file),
                docs_dir=str(Path(placeholder) / "docs"),
                site_dir=str(Path(placeholder) / "site"),
                strict=True,
                **_hook_override(config_file),
            )
    except (Abort, ConfigurationError) as error:
        problems = "; ".join(collected.messages) or str(error)
        raise ReportgenError(
            f"MkDocs configuration {config_file} is not valid: {problems} Paths in it, such as "
            "hooks, are read relative to its own folder. Fix it, or pass --no-site to stop after "
            "the Markdown pages."
        ) from None
    finally:
        mkdocs_logger.removeHandler(collected)


def serve_site(docs_dir: Path, config_file: Path, dev_addr: str, options: SiteOptions) -> None:
    """`mkdocs serve` of docs_dir at dev_addr, rebuilding when a page changes (until Ctrl-C)."""
    from mkdocs.commands.serve import serve
    from mkdocs.exceptions import Abort, ConfigurationError

    check_config_file(config_file)
    try:
        serve(
            config_file=str(config_file),
            docs_dir=str(docs_dir.resolve()),
            dev_addr=dev_addr,
            **_hook_override(config_file),
            **options.overrides(),
        )
    except (Abort, ConfigurationError) as error:
        raise ReportgenError(f"MkDocs could not serve {docs_dir}: {error}") from None
    except OSError as error:
        raise ReportgenError(
            f"Cannot serve at {dev_addr} ({error.strerror}). Choose another --dev-addr, e.g. 127.0.0.1:8001."
        ) from None


def check_writable_folder(folder: Path, what: str, shown: Path | None = None) -> None:
    """Create folder if needed; fail when it cannot be a writable folder. what names it in the
    advice ("output folder", "--cache-dir"); shown is the path the user gave, if not folder."""
    folder = folder.resolve()
    blocker = next((p for p in [folder, *folder.parents] if p.exists()), None)
    if blocker is not None and not blocker.is_dir():
        problem = f"{blocker} is a file, not a folder"
        if shown is not None or blocker != folder:
            problem = f"Cannot write {shown or folder}: {problem}"
        raise ReportgenError(f"{problem}. Choose another {what}.")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ReportgenError(
            f"Cannot create {folder} ({error.strerror}). Choose a writable {what}."
        ) from None
    if not os.access(folder, os.W_OK):
        raise ReportgenError(
            f"Cannot write to {folder}: permission denied. Choose a writable {what}."
        )


def _check_writable_parent(target: Path) -> None:
    check_writable_folder(target.resolve().parent, "output folder", shown=target)
    if target.exists() and not target.is_dir():
        raise ReportgenError(
            f"Cannot write {target}: it is a file, not a folder. Choose another path."
        )


# Every docs and every site folder a build publishes holds this file, so an existing folder that
# lacks it is not an earlier reportgen output and must not be replaced.
OUTPUT_MARK = Path("data") / "results.json"


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or path.is_relative_to(folder)


def _check_replaceable(option: str, target: Path) -> None:
    """A build replaces its output folders whole: only a new, empty or earlier output folder."""
    if target.is_dir() and any(target.iterdir()) and not (target / OUTPUT_MARK).is_file():
        raise ReportgenError(
            f"{option} {target} already exists and is not a reportgen output (it has no "
            f"{OUTPUT_MARK.as_posix()}). A build replaces its output folders whole, so everything "
            "in it would be deleted. Choose a new or empty folder, or move that one away first."
        )


def check_output_dirs(outputs: dict[str, Path], inputs: dict[str, Path] | None = None) -> None:
    """Fail before any work when an output folder cannot be created or replaced safely.

    outputs and inputs map option names (as the user typed them) to paths. Each output folder must
    be writable and new, empty or an earlier reportgen output; no two may overlap; and nothing in
    inputs (what the build reads or keeps: data, cache, experiments file, working folder) may lie
    inside one, because replacing the folder would delete it.
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
    # Last, as it creates the folders above each output: a refused build leaves none behind.
    for target in outputs.values():
        _check_writable_parent(target)


def _folder_mode() -> int:
    """The mode a plain mkdir would give a folder under the current umask."""
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o777 & ~umask


@contextmanager
def staging_dir_for(target: Path) -> Iterator[Path]:
    """A fresh empty folder beside target, removed on exit (swap_into moves it away on success)."""
    _check_writable_parent(target)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.staging-", dir=target.resolve().parent))
    staging.chmod(
        _folder_mode()
    )  # mkdtemp makes it owner-only; the published folder must be readable
    try:
        yield staging
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def swap_into(*moves: tuple[Path, Path]) -> None:
    """Replace each target with its staging folder, all or none.

    Every existing target is first renamed aside, then every staging folder renamed into place; if
    a rename fails, the ones done so far are undone, so the earlier output is back as it was.
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
        for source, destination in [*reversed(moved_in), *reversed(set_aside)]:
            os.replace(source, destination)  # should this fail, the .old- folder keeps the output
        _remove_all(retired_dirs)
        raise ReportgenError(
            f"Could not move the new output into place ({error}); the earlier output was restored. "
            "Check that the output folders are writable and not in use, then build again."
        ) from None
    _remove_all(retired_dirs)


def _remove_all(folders: list[Path]) -> None:
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def output_lock(*targets: Path) -> Iterator[None]:
    """Hold a lock file beside each target for the block, so two builds never write one folder.

    The lock is `.<name>.lock` in the target's parent; the operating system releases it when the
    process ends, however it ends.
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
        yield
