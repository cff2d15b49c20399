"""Stage 7: build the static site with MkDocs (into a staging folder that output_folders.py swaps into
place), and serve the pages for a preview."""

from __future__ import annotations

import datetime
import html
import logging
import socket
import tempfile
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
            loaded = yaml_load(stream) or {}
    except (OSError, yaml.YAMLError):
        return None  # MkDocs reports the problem when it loads the file
    if not isinstance(loaded, dict):  # a list or a plain string: MkDocs reports it too
        return None
    listed = loaded.get("hooks", [])
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
    bookmark on its own still says which dataset the numbers describe. An unofficial file's
    flag comes first, where a phone's narrow header, which cuts the rest, still shows it."""
    dataset = results["dataset"]
    if dataset["official"]:
        return f"reportgen: {dataset['name']} results"
    return f"Unofficial {dataset['name']} file: reportgen results"


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
    except ImportError as error:
        raise _unloadable_plugin(config_file, error) from None
    except (Abort, ConfigurationError) as error:
        problems = "; ".join(collected.messages) or str(error)
        raise ReportgenError(
            f"MkDocs configuration {config_file} is not valid: {problems} Paths in it, such as "
            "hooks, are read relative to its own folder. Fix it, or pass --no-site to stop after "
            "the Markdown pages."
        ) from None
    finally:
        mkdocs_logger.removeHandler(collected)


def _unloadable_plugin(config_file: Path, error: ImportError) -> ReportgenError:
    """A plugin, theme or hook that config_file names is there but fails to import: a package it
    needs is missing, as in an environment assembled by hand rather than by pip."""
    return ReportgenError(
        f"MkDocs could not load a plugin, theme or hook that {config_file} names ({error}). A "
        "package the site needs is missing or broken: install reportgen again with its "
        "dependencies (in its project folder: pip install -e .), or pass --no-site to stop after "
        "the Markdown pages."
    )


def check_address_free(dev_addr: str) -> None:
    """Fail where nothing could serve at dev_addr (HOST:PORT): a port another program holds, a
    host this machine does not have. MkDocs finds out only after building every page."""
    host, _, port = dev_addr.rpartition(":")
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host.strip("[]"), int(port), type=socket.SOCK_STREAM
        )[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
    except OSError as error:  # socket.gaierror too: an unknown host
        raise _cannot_serve(dev_addr, error) from None


def _cannot_serve(dev_addr: str, error: OSError) -> ReportgenError:
    return ReportgenError(
        f"Cannot serve at {dev_addr} ({error.strerror}). Choose another --dev-addr, e.g. "
        "127.0.0.1:8001."
    )


def serve_site(docs_dir: Path, config_file: Path, dev_addr: str, options: SiteOptions) -> None:
    """`mkdocs serve` of docs_dir at dev_addr, rebuilding when a page changes (until Ctrl-C)."""
    from mkdocs.commands.serve import serve
    from mkdocs.exceptions import Abort, ConfigurationError

    from reportgen.interrupt import stop_signals_as_ctrl_c

    check_site_config(config_file)  # a broken configuration fails here, before serving starts
    try:
        with stop_signals_as_ctrl_c():  # so that MkDocs removes its temporary site on SIGTERM too
            serve(
                config_file=str(config_file),
                docs_dir=str(docs_dir.resolve()),
                dev_addr=dev_addr,
                **_hook_override(config_file),
                **options.overrides(),
            )
    except (Abort, ConfigurationError) as error:
        raise ReportgenError(f"MkDocs could not serve {docs_dir}: {error}") from None
    except OSError as error:  # taken between check_address_free and MkDocs' bind
        raise _cannot_serve(dev_addr, error) from None
