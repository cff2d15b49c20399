"""The command line: build a config, call one function, print a one-line summary."""

from __future__ import annotations

import math
import shlex
import signal
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click

from reportgen.config import (
    CHOICES,
    DEFAULT_DATASET,
    BuildConfig,
    OutputSettings,
    default_data_root,
)
from reportgen.errors import ReportgenError

MAX_SEED = 2**32 - 1  # numpy's seeds are 32-bit unsigned


def _check_dataset(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    from reportgen.data import check_flag

    try:
        check_flag(value)
    except ReportgenError as error:
        raise click.BadParameter(str(error)) from None
    return value


def _check_momentum(_ctx: click.Context, _param: click.Parameter, value: float) -> float:
    if not 0 <= value < 1:
        raise click.BadParameter(f"{value} is outside [0, 1). Use 0 for plain SGD or e.g. 0.9.")
    return value


def _check_learning_rate(_ctx: click.Context, _param: click.Parameter, value: float) -> float:
    # Comparisons with nan are all false, so click.FloatRange lets nan (and inf) through.
    if not (math.isfinite(value) and value > 0):
        raise click.BadParameter(
            f"{value} is not a finite number above 0. Use e.g. 0.01, the study's learning rate."
        )
    return value


def _check_url(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise click.BadParameter(
            f"{value!r} is not an http(s) address. Give the full URL, e.g. https://USER.github.io/REPO/."
        )
    return value


@contextmanager
def _progress(quiet: bool, epochs: int, on_commit: Callable[[], None]) -> Iterator[Any]:
    """Progress callbacks; open bars are closed on the way out, so a message starts a line."""
    from tqdm.auto import tqdm

    from reportgen.build import Progress

    bar: dict[str, Any] = {}

    def on_stage(stage: str) -> None:
        for open_bar in bar.values():
            open_bar.close()
        bar.clear()
        if not quiet:
            click.echo(f"[reportgen] {stage}", err=True)

    def on_run(variant: str, seed: int, total: int) -> None:
        if "runs" not in bar:
            bar["runs"] = tqdm(
                total=total, desc="experiment runs", unit="run", disable=quiet, file=sys.stderr
            )
        bar["runs"].set_postfix(finished=f"{variant} seed {seed}")
        bar["runs"].update(1)

    def on_epoch(stats: Any) -> None:
        if "epochs" not in bar:
            bar["epochs"] = tqdm(
                total=epochs, desc="train", unit="epoch", disable=quiet, file=sys.stderr
            )
        bar["epochs"].set_postfix(
            loss=f"{stats.train_loss:.3f}",
            val_acc=f"{stats.val_accuracy:.3f}",
            val_auc=f"{stats.val_auc:.3f}",
        )
        bar["epochs"].update(1)

    def track(label: str, items: Iterable[Any], total: int) -> Iterable[Any]:
        return tqdm(items, total=total, desc=label, unit="file", disable=quiet, file=sys.stderr)

    try:
        yield Progress(
            on_stage=on_stage,
            on_epoch=on_epoch,
            on_run=on_run,
            track=track,
            quiet=quiet,
            on_commit=on_commit,
        )
    finally:
        for open_bar in bar.values():
            open_bar.close()


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

    with stop_on_signals() as guard, _progress(quiet, epochs, guard.commit) as progress:
        try:
            outcome = work(progress)
        except ReportgenError as error:
            raise click.ClickException(str(error)) from None
        except Interrupted as stop:
            raise _interrupted(stop.signum, outputs, swapped_in=False) from None
    click.echo(summary(outcome))
    if guard.received_after_commit:
        raise _interrupted(guard.received_after_commit[0], outputs, swapped_in=True)


def _summary_table(results: dict[str, Any]) -> str:
    """Stage timings and headline test metrics with their intervals, as aligned plain text."""
    test, intervals = results["test"], results["test"]["intervals"]

    def interval(key: str) -> str:
        low, high = intervals[key]["low"], intervals[key]["high"]
        return "n/a" if low is None or high is None else f"{low:.3f} – {high:.3f}"

    timings = results["timings"]
    lines = [f"{'stage':<20}{'seconds':>9}"]
    lines += [f"{stage:<20}{seconds:>9.2f}" for stage, seconds in timings.items()]
    lines += [f"{'total':<20}{sum(timings.values()):>9.2f}", ""]
    lines.append(f"{'test metric':<20}{'value':>9}   {int(100 * intervals['level'])}% interval")
    for label, key in (
        ("accuracy", "accuracy"),
        ("AUC", "auc"),
        ("balanced accuracy", "balanced_accuracy"),
    ):
        lines.append(f"{label:<20}{test[key]:>9.3f}   {interval(key)}")
    lines.append(f"{'calibration (ECE)':<20}{test['calibration']['ece']:>9.3f}")
    return "\n".join(lines)


def _summary(outcome: Any) -> str:
    test = outcome.results["test"]
    where = outcome.site_dir if outcome.site_dir is not None else outcome.docs_dir
    notes = [] if outcome.results["dataset"]["official"] else ["UNOFFICIAL data file"]
    if outcome.results.get("cache", {}).get("reused"):
        notes.append("cached run")
    noted = f" ({', '.join(notes)})" if notes else ""
    return (
        f"{outcome.results['dataset']['name']}{noted}: test accuracy {test['accuracy']:.3f}, "
        f"AUC {test['auc']:.3f}, balanced accuracy {test['balanced_accuracy']:.3f} -> {where}"
    )


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
    return shell_command(click.get_current_context().meta.get("reportgen.argv", sys.argv[1:]))


@click.group(cls=_ArgvRecordingGroup)
@click.version_option(package_name="reportgen")
def main() -> None:
    """Train the study's CNN on a MedMNIST dataset and publish the results as a static site."""


@main.command()
@click.option(
    "--dataset",
    default=DEFAULT_DATASET,
    show_default=True,
    callback=_check_dataset,
    help="MedMNIST 2D flag (multi-class, binary-class or ordinal-regression task).",
)
@click.option(
    "--data-root",
    type=click.Path(path_type=Path),
    default=None,
    help="Folder holding <dataset>.npz. Default: $MEDMNIST_ROOT, else ~/.medmnist.",
)
@click.option(
    "--allow-unofficial-data",
    is_flag=True,
    help="Use a file whose MD5 differs from medmnist.INFO; every page is then flagged. Default: off.",
)
@click.option(
    "--epochs", type=click.IntRange(min=1), default=10, show_default=True, help="Training epochs."
)
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    default=100,
    show_default=True,
    help="Images per SGD step.",
)
@click.option(
    "--lr",
    type=float,
    default=0.01,
    show_default=True,
    callback=_check_learning_rate,
    help="SGD learning rate (> 0).",
)
@click.option(
    "--momentum",
    type=float,
    default=0.0,
    show_default=True,
    callback=_check_momentum,
    help="SGD momentum in [0, 1); the study used 0.",
)
@click.option(
    "--seed",
    type=click.IntRange(0, MAX_SEED),
    default=0,
    show_default=True,
    help=f"Seed for Python, NumPy, torch and shuffling (0 to {MAX_SEED}).",
)
@click.option(
    "--device",
    type=click.Choice(CHOICES["device"]),
    default="auto",
    show_default=True,
    help="Where to train; auto picks cuda, then mps, then cpu.",
)
@click.option(
    "--precision",
    type=click.Choice(CHOICES["precision"]),
    default="fp32",
    show_default=True,
    help="fp32 as the study; bf16 runs convolutions and dense layers in bfloat16 (autocast): "
    "faster on CPUs with AVX512-BF16 or AMX and on recent GPUs, last digits differ.",
)
@click.option(
    "--model",
    type=click.Choice(CHOICES["model"]),
    default="study_cnn",
    show_default=True,
    help="The study's CNN, or a wider VGG-style CNN with global average pooling.",
)
@click.option(
    "--width",
    type=click.IntRange(min=1),
    default=32,
    show_default=True,
    help="wide_cnn: channels of its first block.",
)
@click.option(
    "--optimizer",
    type=click.Choice(CHOICES["optimizer"]),
    default="sgd",
    show_default=True,
    help="Optimiser.",
)
@click.option(
    "--weight-decay",
    type=click.FloatRange(min=0),
    default=0.0,
    show_default=True,
    help="Weight decay.",
)
@click.option(
    "--schedule",
    type=click.Choice(CHOICES["schedule"]),
    default="constant",
    show_default=True,
    help="Learning-rate schedule, stepped per batch.",
)
@click.option(
    "--grad-clip",
    type=click.FloatRange(min=0),
    default=0.0,
    show_default=True,
    help="Clip the gradient norm to this value; 0 = off.",
)
@click.option(
    "--label-smoothing",
    type=click.FloatRange(min=0, max=1, max_open=True),
    default=0.0,
    show_default=True,
    help="Cross-entropy label smoothing.",
)
@click.option(
    "--loss-weighting",
    type=click.Choice(CHOICES["loss_weighting"]),
    default="none",
    show_default=True,
    help="Class weights in the loss.",
)
@click.option(
    "--effective-number-beta",
    type=click.FloatRange(min=0, max=1, max_open=True),
    default=0.999,
    show_default=True,
    help="Beta of effective-number class weights.",
)
@click.option(
    "--sampler",
    type=click.Choice(CHOICES["sampler"]),
    default="shuffle",
    show_default=True,
    help="shuffle, or balanced: oversample minority classes.",
)
@click.option(
    "--augment/--no-augment",
    default=False,
    show_default=True,
    help="Flips, 90-degree rotations, small affine and colour jitter on training batches.",
)
@click.option(
    "--select-epoch",
    type=click.Choice(CHOICES["select_epoch"]),
    default="last",
    show_default=True,
    help="Which epoch's weights to keep.",
)
@click.option(
    "--patience",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Early stopping: epochs without a better selection metric; 0 = off.",
)
@click.option(
    "--threshold-tuning/--no-threshold-tuning",
    default=False,
    show_default=True,
    help="Tune per-class decision offsets on validation for balanced accuracy.",
)
@click.option(
    "--tta/--no-tta",
    default=False,
    show_default=True,
    help="Test-time augmentation over the 8 flips/rotations.",
)
@click.option(
    "--ensemble",
    type=click.IntRange(1, 20),
    default=1,
    show_default=True,
    help="Train this many networks (seeds seed, seed+1000, ...) and average their probabilities.",
)
@click.option(
    "--experiments",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="TOML file of variants (e.g. experiments.toml) to run for several seeds. Default: none.",
)
@click.option(
    "--jobs",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Experiment runs trained at once in worker processes; 0 = auto: one per 4 CPU cores "
    "(so one at a time on small machines), two on a GPU.",
)
@click.option(
    "--docs-dir",
    type=click.Path(path_type=Path),
    default=Path("docs"),
    show_default=True,
    help="Folder for the rendered Markdown pages, figures and data files.",
)
@click.option(
    "--site-dir",
    type=click.Path(path_type=Path),
    default=Path("site"),
    show_default=True,
    help="Folder for the built static site.",
)
@click.option(
    "--cache-dir",
    type=click.Path(path_type=Path),
    default=Path(".reportgen"),
    show_default=True,
    help="Folder for cached trained runs.",
)
@click.option(
    "--no-site",
    is_flag=True,
    help="Stop after the Markdown pages; do not run MkDocs. Default: off.",
)
@click.option(
    "--retrain", is_flag=True, help="Train again even when a cached run matches. Default: off."
)
@click.option(
    "--site-url",
    callback=_check_url,
    default=None,
    help="Public address of the site (canonical links, sitemap, instant loading). Default: none.",
)
@click.option(
    "--repo-url",
    callback=_check_url,
    default=None,
    help="Repository the site's header links to. Default: no link.",
)
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

    def work(progress: Any) -> Any:
        from reportgen.build import build as run_build  # imported under the guard

        return run_build(config, command, progress)

    def summary(outcome: Any) -> str:
        return _summary_table(outcome.results) + "\n" + _summary(outcome)

    _run(work, quiet, config.epochs * config.ensemble, outputs, summary)


@main.command()
@click.option(
    "--docs-dir",
    type=click.Path(path_type=Path),
    default=Path("docs"),
    show_default=True,
    help="Folder of an earlier build, holding data/results.json.",
)
@click.option(
    "--site-dir",
    type=click.Path(path_type=Path),
    default=Path("site"),
    show_default=True,
    help="Folder for the built static site.",
)
@click.option("--no-site", is_flag=True, help="Only re-render the Markdown pages. Default: off.")
@click.option(
    "--site-url",
    callback=_check_url,
    default=None,
    help="Public address of the site. Default: the earlier build's.",
)
@click.option(
    "--repo-url",
    callback=_check_url,
    default=None,
    help="Repository the site's header links to. Default: the earlier build's.",
)
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
        from reportgen.build import rerender  # imported under the guard

        return rerender(docs_dir, site_dir, not no_site, progress, site_url, repo_url)

    _run(work, quiet, 0, outputs, _summary)


@main.command()
@click.option(
    "--docs-dir",
    type=click.Path(path_type=Path),
    default=Path("docs"),
    show_default=True,
    help="Folder of an earlier build (`reportgen build` or `render`) to preview.",
)
@click.option(
    "--dev-addr",
    default="127.0.0.1:8000",
    show_default=True,
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
