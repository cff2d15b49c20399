"""The command line: build a config, call one function, print a one-line summary."""

from __future__ import annotations

import dataclasses
import shlex
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click

from reportgen.config import (
    BOUNDS,
    CHOICES,
    DEFAULT_CACHE_DIR,
    DEFAULT_DATASET,
    DEFAULT_DOCS_DIR,
    DEFAULT_SITE_DIR,
    BuildConfig,
    OutputSettings,
    default_data_root,
)
from reportgen.errors import ReportgenError
from reportgen.terminal import one_line_summary, progress_bars, summary_table


def _check_dataset(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    from reportgen.data import check_flag

    flag = value.lower()  # "RetinaMNIST", as MedMNIST writes the names, means retinamnist
    try:
        check_flag(flag)
    except ReportgenError as error:
        raise click.BadParameter(str(error)) from None
    return flag


def _dataset_help() -> str:
    from reportgen.catalog import supported_flags

    return (
        "MedMNIST 2D dataset (multi-class, binary-class or ordinal-regression task): "
        + ", ".join(supported_flags())
        + "."
    )


# Help text of each training option; type, default, choices and range come from BuildConfig,
# CHOICES and BOUNDS, so the CLI and experiments files accept exactly the same values.
TRAINING_OPTIONS = {
    "epochs": "Training epochs.",
    "batch_size": "Images per SGD step.",
    "lr": "Learning rate.",
    "momentum": "SGD momentum; the study used 0.",
    "seed": "Seed for Python, NumPy, torch and shuffling.",
    "device": "Where to train; auto picks cuda, then mps, then cpu.",
    "precision": "fp32 as the study; bf16 runs convolutions and dense layers in bfloat16 "
    "(autocast): faster on CPUs with AVX512-BF16 or AMX and on recent GPUs, last digits differ.",
    "model": "The study's CNN, or a wider VGG-style CNN with global average pooling.",
    "width": "wide_cnn: channels of its first block.",
    "optimizer": "Optimiser.",
    "weight_decay": "Weight decay.",
    "schedule": "Learning-rate schedule, stepped per batch.",
    "grad_clip": "Clip the gradient norm to this value; 0 = off.",
    "label_smoothing": "Cross-entropy label smoothing.",
    "loss_weighting": "Class weights in the loss.",
    "effective_number_beta": "Beta of effective-number class weights.",
    "sampler": "shuffle, or balanced: oversample minority classes.",
    "augment": "Flips, 90-degree rotations, small affine and colour jitter on training batches.",
    "select_epoch": "Which epoch's weights to keep.",
    "patience": "Early stopping: epochs without a better validation score; needs --select-epoch "
    "val_auc or val_balanced_accuracy. 0 = off.",
    "threshold_tuning": "Tune per-class decision offsets on validation for balanced accuracy.",
    "tta": "Test-time augmentation over the 8 flips/rotations.",
    "ensemble": "Train this many networks (seeds seed, seed+1000, ...) and average their "
    "probabilities.",
}
# What to suggest when a value is out of range, beyond the range itself.
RANGE_HINTS = {
    "lr": " Use e.g. 0.01, the study's learning rate.",
    "momentum": " Use 0 for plain SGD or e.g. 0.9.",
}
CONFIG_FIELDS = {field.name: field for field in dataclasses.fields(BuildConfig)}


def _check_range(_ctx: click.Context, param: click.Parameter, value: float) -> float:
    # A callback, not click.FloatRange: comparisons with nan are all false, so a range lets nan
    # (and, unbounded above, inf) through.
    bounds = BOUNDS[param.name or ""]
    if not bounds.admits(value):
        raise click.BadParameter(
            f"{value} is not allowed: it must be {bounds.text()}.{RANGE_HINTS.get(param.name, '')}"
        )
    return value


def _config_option(name: str, help_text: str) -> Callable[[Any], Any]:
    """The click option of a BuildConfig field: --NAME (or --NAME/--no-NAME for a switch)."""
    field = CONFIG_FIELDS[name]
    flag = "--" + name.replace("_", "-")
    if field.type == "bool":
        return click.option(
            f"{flag}/--no-{flag[2:]}", default=field.default, show_default=True, help=help_text
        )
    if name in CHOICES:
        return click.option(
            flag,
            type=click.Choice(CHOICES[name]),
            default=field.default,
            show_default=True,
            help=help_text,
        )
    return click.option(
        flag,
        type={"int": int, "float": float}[str(field.type)],
        default=field.default,
        show_default=True,
        callback=_check_range if name in BOUNDS else None,
        help=f"{help_text} Allowed: {BOUNDS[name].text()}." if name in BOUNDS else help_text,
    )


def _training_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Every training option, in TRAINING_OPTIONS's order in --help."""
    for name, help_text in reversed(TRAINING_OPTIONS.items()):
        command = _config_option(name, help_text)(command)
    return command


def _check_url(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise click.BadParameter(
            f"{value!r} is not an http(s) address. Give the full URL, e.g. https://USER.github.io/REPO/."
        )
    return value


def _check_dev_addr(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    """HOST:PORT, as MkDocs needs it: checked before anything says it is serving."""
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise click.BadParameter(
            f"{value!r} is not HOST:PORT with a port from 1 to 65535. Use e.g. 127.0.0.1:8000."
        )
    return value


def _expand_user(_ctx: click.Context, _param: click.Parameter, value: Path | None) -> Path | None:
    """`~` is not expanded by the shell in --opt=~/x or in quotes; expand it here."""
    return value.expanduser() if value is not None else None


def _folder_option(flag: str, default: Path, help_text: str) -> Callable[[Any], Any]:
    return click.option(
        flag,
        type=click.Path(path_type=Path),
        callback=_expand_user,
        default=default,
        show_default=True,
        help=help_text,
    )


def _url_option(flag: str, help_text: str) -> Callable[[Any], Any]:
    return click.option(flag, callback=_check_url, default=None, help=help_text)


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
            "were. Run the same command again to build."
        )
    error = click.ClickException(message)
    error.exit_code = 128 + signum  # the shell's convention for a process stopped by a signal
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
    when called in-process, where sys.argv belongs to the caller)."""

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


@click.group(cls=_ArgvRecordingGroup)
@click.version_option(package_name="reportgen")
def main() -> None:
    """Train the study's CNN on a MedMNIST dataset and publish the results as a static site."""


@main.command(short_help="Train, evaluate and publish the study's CNN as a site.")
@click.option(
    "--dataset",
    default=DEFAULT_DATASET,
    show_default=True,
    callback=_check_dataset,
    help=_dataset_help(),
)
@click.option(
    "--data-root",
    type=click.Path(path_type=Path),
    callback=_expand_user,
    default=None,
    help="Folder holding <dataset>.npz. Default: $MEDMNIST_ROOT, else ~/.medmnist.",
)
@click.option(
    "--allow-unofficial-data",
    is_flag=True,
    help="Use a file whose MD5 differs from medmnist.INFO; every page is then flagged. Default: off.",
)
@_training_options
@click.option(
    "--experiments",
    type=click.Path(path_type=Path, dir_okay=False),
    callback=_expand_user,
    default=None,
    help="TOML file of variants (e.g. experiments.toml) to run for several seeds. Default: none.",
)
@_config_option(
    "jobs",
    "Experiment runs trained at once in worker processes; 0 = auto: one per 4 CPU cores "
    "(so one at a time on small machines), two on a GPU from 20 runs up.",
)
@_folder_option(
    "--docs-dir",
    DEFAULT_DOCS_DIR,
    "Folder for the rendered Markdown pages, figures and data files.",
)
@_folder_option("--site-dir", DEFAULT_SITE_DIR, "Folder for the built static site.")
@_folder_option("--cache-dir", DEFAULT_CACHE_DIR, "Folder for cached trained runs.")
@click.option(
    "--no-site",
    is_flag=True,
    help="Stop after the Markdown pages; do not run MkDocs. Default: off.",
)
@click.option(
    "--retrain", is_flag=True, help="Train again even when a cached run matches. Default: off."
)
@_url_option(
    "--site-url",
    "Public address of the site (canonical links, sitemap, instant loading). Default: none.",
)
@_url_option("--repo-url", "Repository the site's header links to. Default: no link.")
@click.option(
    "--quiet",
    is_flag=True,
    help="No progress output (for CI logs), only the final summary. Default: off.",
)
def build(data_root: Path | None, no_site: bool, quiet: bool, **options: Any) -> None:
    """Train, evaluate and publish: data -> the study's CNN -> figures -> pages -> site."""
    config = BuildConfig(
        data_root=data_root if data_root is not None else default_data_root(),
        build_site=not no_site,
        **options,
    )
    command = _invoked_command()
    outputs = config.outputs().folders()
    started = time.perf_counter()

    def work(progress: Any) -> Any:
        from reportgen.build import build as run_build  # imported under the guard

        return run_build(config, command, progress)

    def summary(outcome: Any) -> str:
        wall_seconds = time.perf_counter() - started
        return summary_table(outcome.results, wall_seconds) + "\n" + one_line_summary(outcome)

    _run(work, quiet, config.epochs * config.ensemble, outputs, summary)


@main.command(short_help="Rebuild pages and site from an earlier build's results.json.")
@_folder_option(
    "--docs-dir", DEFAULT_DOCS_DIR, "Folder of an earlier build, holding data/results.json."
)
@_folder_option("--site-dir", DEFAULT_SITE_DIR, "Folder for the built static site.")
@click.option("--no-site", is_flag=True, help="Only re-render the Markdown pages. Default: off.")
@_url_option("--site-url", "Public address of the site. Default: the earlier build's.")
@_url_option("--repo-url", "Repository the site's header links to. Default: the earlier build's.")
@click.option("--quiet", is_flag=True, help="No progress output. Default: off.")
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
@_folder_option(
    "--docs-dir",
    DEFAULT_DOCS_DIR,
    "Folder of an earlier build (`reportgen build` or `render`) to preview.",
)
@click.option(
    "--dev-addr",
    default="127.0.0.1:8000",
    show_default=True,
    callback=_check_dev_addr,
    help="HOST:PORT to serve on; 127.0.0.1 keeps the preview on this machine.",
)
def serve(docs_dir: Path, dev_addr: str) -> None:
    """Preview the site at --dev-addr, rebuilding it when a page in --docs-dir changes (Ctrl-C stops)."""
    from reportgen import site
    from reportgen.results import read_results

    try:
        results_data = read_results(docs_dir)
        options = site.site_options(results_data, None, results_data["config"].get("repo_url"))
        click.echo(f"Serving {docs_dir} at http://{dev_addr}/ (Ctrl-C stops)", err=True)
        site.serve_site(docs_dir, site.default_mkdocs_config(), dev_addr, options)
    except ReportgenError as error:
        raise click.ClickException(str(error)) from None
