"""The command line: build a config, call one function, print a one-line summary."""

from __future__ import annotations

import shlex
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from reportgen.cli_options import (
    GivenPath,
    check_dataset,
    check_dev_addr,
    config_option,
    dataset_help,
    expand_user,
    folder_option,
    training_options,
    url_option,
)
from reportgen.config import (
    DEFAULT_CACHE_DIR,
    DEFAULT_DATASET,
    DEFAULT_DOCS_DIR,
    DEFAULT_SITE_DIR,
    BuildConfig,
    OutputSettings,
    default_data_root,
    settings_conflict,
)
from reportgen.errors import ReportgenError
from reportgen.terminal import one_line_summary, progress_bars, summary_table


def _interrupted(signum: int, outputs: list[Path], swapped_in: bool) -> click.ClickException:
    name = signal.Signals(signum).name
    folders = " and ".join(str(folder) for folder in outputs)
    if swapped_in:
        message = (
            f"Interrupted by {name} while the finished build was being swapped in; the swap was "
            f"completed first, so {folders} hold this build, whole."
        )
    else:
        message = (
            f"Interrupted by {name} before anything was published: {folders} are exactly as they "
            "were. Run the same command again."
        )
    return _stopped_by(signum, message)


def _stopped_by(signum: int, message: str) -> click.ClickException:
    """message, ending the command with the shell's status for a process stopped by signum."""
    error = click.ClickException(message)
    error.exit_code = 128 + signum
    return error


def _run(
    work: Callable[[Any], Any],
    quiet: bool,
    epochs: int,
    outputs: list[Path],
    summary: Callable[[Any], str],
) -> None:
    """Run a build under the signal guard; failures and interrupts end in one line, no traceback."""
    from reportgen.interrupt import Interrupted, stop_on_signals

    with stop_on_signals() as guard, progress_bars(quiet, epochs, guard.commit) as progress:
        try:
            outcome = work(progress)
        except ReportgenError as error:
            raise click.ClickException(str(error)) from None
        except Interrupted as stop:
            raise _interrupted(stop.signum, outputs, swapped_in=False) from None
    click.echo(summary(outcome))
    if guard.received_after_commit:
        raise _interrupted(guard.received_after_commit[0], outputs, swapped_in=True)


class _ArgvRecordingGroup(click.Group):
    """Keeps the arguments it was invoked with, so a build records its own command line (also
    when called in-process, where sys.argv belongs to the caller). And ends a Ctrl-C that lands
    outside a build's signal guard (while a command starts, or while serve's first build runs)
    as the guard does, with the shell's status for it, not click's "Aborted!" and 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt as stop:
            # serve turns SIGTERM and SIGHUP into KeyboardInterrupt, named in its argument.
            name = str(stop) if str(stop) in signal.Signals.__members__ else "SIGINT"
            raise _stopped_by(signal.Signals[name], f"Interrupted by {name}.") from None

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        invoked_with = list(args)
        context = super().make_context(info_name, args, parent, **extra)
        context.meta["reportgen.argv"] = invoked_with
        return context


def shell_command(argv: list[str], width: int = 80) -> str:
    """`reportgen ARGV` quoted for a shell; past width, one option (with its value) per line."""
    one_line = "reportgen " + shlex.join(argv)
    if len(one_line) <= width:
        return one_line
    lines: list[str] = []
    for token in argv:
        if (
            lines
            and not token.startswith("-")
            and lines[-1].startswith("-")
            and " " not in lines[-1]
        ):
            lines[-1] += " " + shlex.quote(token)  # an option's value stays beside it
        else:
            lines.append(shlex.quote(token))
    return " \\\n    ".join(["reportgen " + lines[0], *lines[1:]])


def _invoked_command() -> str:
    from reportgen.results import home_as_tilde

    argv = click.get_current_context().meta.get("reportgen.argv", sys.argv[1:])
    return shell_command([home_as_tilde(token) for token in argv])


@click.group(cls=_ArgvRecordingGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="reportgen")
def main() -> None:
    """Train the study's CNN on a MedMNIST dataset and publish the results as a static site."""
    try:
        Path.cwd()
    except FileNotFoundError:  # every relative path, and the checks of what lies where, need it
        raise click.ClickException(
            "The working folder no longer exists: it was deleted or moved while this shell was "
            "in it. Change to an existing folder (cd) and run the command again."
        ) from None


@main.command(short_help="Train, evaluate and publish the study's CNN as a site.")
@click.option(
    "--dataset",
    default=DEFAULT_DATASET,
    show_default=True,
    callback=check_dataset,
    help=dataset_help(),
)
@click.option(
    "--data-root",
    type=GivenPath(path_type=Path),
    callback=expand_user,
    default=None,
    help="Folder holding <dataset>.npz. Default: $MEDMNIST_ROOT, else ~/.medmnist.",
)
@click.option(
    "--allow-unofficial-data",
    is_flag=True,
    help="Use a file whose MD5 differs from medmnist.INFO; every page is then flagged. Default: off.",
)
@training_options
@click.option(
    "--experiments",
    type=GivenPath(path_type=Path, dir_okay=False),
    callback=expand_user,
    default=None,
    help="TOML file of variants (e.g. experiments.toml) to run for several seeds; its format is "
    "in the README and the comments at the top of experiments.toml. Default: none.",
)
@config_option(
    "jobs",
    "Experiment runs trained at once in worker processes; 0 = auto: one per 4 CPU cores "
    "(so one at a time below 8 cores), two on a GPU from 20 runs up.",
)
@folder_option(
    "--docs-dir",
    DEFAULT_DOCS_DIR,
    "Folder for the rendered Markdown pages, figures and data files.",
)
@folder_option("--site-dir", DEFAULT_SITE_DIR, "Folder for the built static site.")
@folder_option(
    "--cache-dir", DEFAULT_CACHE_DIR, "Folder for cached trained runs and colour references."
)
@click.option(
    "--no-site",
    is_flag=True,
    help="Stop after the Markdown pages; do not run MkDocs. Default: off.",
)
@click.option(
    "--retrain", is_flag=True, help="Train again even when a cached run matches. Default: off."
)
@url_option(
    "--site-url",
    "Public address of the site (canonical links, sitemap, instant loading). Default: none.",
)
@url_option("--repo-url", "Repository the site's header links to. Default: no link.")
@click.option(
    "--quiet",
    is_flag=True,
    help="No progress output (for CI logs): only notes and the final summary. Default: off.",
)
def build(data_root: Path | None, no_site: bool, quiet: bool, **options: Any) -> None:
    """Train, evaluate and publish: data -> the study's CNN -> figures -> pages -> site."""
    config = BuildConfig(
        data_root=data_root if data_root is not None else default_data_root(),
        build_site=not no_site,
        **options,
    )
    conflict = settings_conflict(config)  # options that are each fine, but not together
    if conflict is not None:
        raise click.UsageError(conflict)
    command = _invoked_command()
    context = click.get_current_context()
    given = frozenset(
        name
        for name in options
        if context.get_parameter_source(name) is click.core.ParameterSource.COMMANDLINE
    )
    outputs = config.outputs().folders()
    started = time.perf_counter()

    def work(progress: Any) -> Any:
        from reportgen.build import build as run_build  # imported under the guard

        return run_build(config, command, progress, given)

    def summary(outcome: Any) -> str:
        wall_seconds = time.perf_counter() - started
        return summary_table(outcome.results, wall_seconds) + "\n" + one_line_summary(outcome)

    _run(work, quiet, config.epochs * config.ensemble, outputs, summary)


@main.command(short_help="Rebuild pages and site from an earlier build's results.json.")
@folder_option(
    "--docs-dir", DEFAULT_DOCS_DIR, "Folder of an earlier build, holding data/results.json."
)
@folder_option("--site-dir", DEFAULT_SITE_DIR, "Folder for the built static site.")
@click.option("--no-site", is_flag=True, help="Only re-render the Markdown pages. Default: off.")
@url_option("--site-url", "Public address of the site. Default: the earlier build's.")
@url_option("--repo-url", "Repository the site's header links to. Default: the earlier build's.")
@click.option("--quiet", is_flag=True, help="No progress output; notes still print. Default: off.")
def render(
    docs_dir: Path,
    site_dir: Path,
    no_site: bool,
    site_url: str | None,
    repo_url: str | None,
    quiet: bool,
) -> None:
    """Rebuild pages, figures and site from an existing results.json, without training."""
    outputs = OutputSettings(docs_dir, site_dir, build_site=not no_site).folders()

    def work(progress: Any) -> Any:
        from reportgen.publish import rerender  # imported under the guard

        return rerender(docs_dir, site_dir, not no_site, progress, site_url, repo_url)

    _run(work, quiet, 0, outputs, one_line_summary)


@main.command(short_help="Preview the site, rebuilt live as pages change.")
@folder_option(
    "--docs-dir",
    DEFAULT_DOCS_DIR,
    "Folder of an earlier build (`reportgen build` or `render`) to preview.",
)
@click.option(
    "--dev-addr",
    default="127.0.0.1:8000",
    show_default=True,
    callback=check_dev_addr,
    help="HOST:PORT to serve on; 127.0.0.1 keeps the preview on this machine.",
)
def serve(docs_dir: Path, dev_addr: str) -> None:
    """Preview the site at --dev-addr, rebuilding it when a page in --docs-dir changes (Ctrl-C stops)."""
    from reportgen import site
    from reportgen.results import LAYOUT_ERRORS, layout_error, read_results

    try:
        results_data = read_results(docs_dir)
        try:
            options = site.site_options(results_data, None, results_data["config"].get("repo_url"))
        except LAYOUT_ERRORS as error:  # a file edited by hand
            raise layout_error(docs_dir, error, experiments=False) from None
        site.check_address_free(dev_addr)
        click.echo(f"Serving {docs_dir} at http://{dev_addr}/ (Ctrl-C stops)", err=True)
        site.serve_site(docs_dir, site.default_mkdocs_config(), dev_addr, options)
    except ReportgenError as error:
        raise click.ClickException(str(error)) from None
