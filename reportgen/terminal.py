"""What a command shows in the terminal: progress bars over the build's callbacks, and the summary
it ends with. Only the CLI uses this; the build itself never prints."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import click

from reportgen.formatting import fmt_number


def number(value: float | None) -> str:
    """A metric as the pages show it (three decimals, rounded half up), so the two agree."""
    return str(fmt_number(value))


@contextmanager
def progress_bars(quiet: bool, epochs: int, on_commit: Callable[[], None]) -> Iterator[Any]:
    """The build's progress callbacks as tqdm bars and stage lines on stderr (none when quiet;
    notes are printed even then); open bars are closed on the way out, so a message starts a
    line."""
    from tqdm.auto import tqdm

    from reportgen.progress import Progress

    # The bars are drawn by this process's threads alone. tqdm's default lock is also a
    # multiprocessing lock, which under the spawn and forkserver start methods would start
    # multiprocessing's resource tracker before interrupt.start_resource_tracker can start it
    # with SIGHUP blocked.
    tqdm.set_lock(threading.RLock())

    bar: dict[str, Any] = {}
    # Which run the "run epochs" bar counts: a disabled (quiet) tqdm keeps no desc to ask.
    counting: dict[str, str] = {}

    def on_stage(stage: str, always: bool = False) -> None:
        for open_bar in bar.values():
            open_bar.close()
        bar.clear()
        if always or not quiet:
            click.echo(f"[reportgen] {stage}", err=True)

    def on_note(note: str) -> None:
        on_stage(note, always=True)

    def on_runs_start(total: int) -> None:
        bar["runs"] = tqdm(
            total=total, desc="experiment runs", unit="run", disable=quiet, file=sys.stderr
        )

    def on_run(variant: str, seed: int, total: int) -> None:
        if "runs" not in bar:
            on_runs_start(total)
        bar["runs"].set_postfix(finished=f"{variant} seed {seed}")
        bar["runs"].update(1)

    def on_run_epoch(variant: str, seed: int, stats: Any, epochs: int) -> None:
        """A bar under the runs' bar for the run training now, so a long run shows it moves."""
        label = f"training {variant}, seed {seed}"
        if "run epochs" in bar and counting.get("run epochs") != label:
            bar.pop("run epochs").close()
        if "run epochs" not in bar:
            bar["run epochs"] = tqdm(
                total=epochs, desc=label, unit="epoch", leave=False, disable=quiet, file=sys.stderr
            )
            counting["run epochs"] = label
        bar["run epochs"].set_postfix(loss=f"{stats.train_loss:.3f}")
        bar["run epochs"].update(1)

    # Redrawn only for a terminal: in a log (CI, `> build.log 2>&1`) each redraw is one more
    # line, once a second for as long as workers train.
    redraw_while_waiting = sys.stderr.isatty()

    def on_waiting() -> None:
        """Workers are still training: redraw the runs' bar, so its elapsed time moves on."""
        if "runs" in bar and redraw_while_waiting:
            bar["runs"].refresh()

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
            on_note=on_note,
            on_epoch=on_epoch,
            on_runs_start=on_runs_start,
            on_run=on_run,
            on_run_epoch=on_run_epoch,
            on_waiting=on_waiting,
            track=track,
            quiet=quiet,
            on_commit=on_commit,
        )
    finally:
        for open_bar in bar.values():
            open_bar.close()


def summary_table(results: dict[str, Any], wall_seconds: float) -> str:
    """Stage timings, the command's wall-clock time (start-up and torch's import included), and
    headline test metrics with their intervals, as aligned plain text."""
    test, intervals = results["test"], results["test"]["intervals"]

    def interval(key: str) -> str:
        low, high = intervals[key]["low"], intervals[key]["high"]
        return "n/a" if low is None or high is None else f"{number(low)} – {number(high)}"

    timings = results["timings"]
    lines = [f"{'stage':<20}{'seconds':>9}"]
    from reportgen.results import skipped_stages  # numpy and more: not at the CLI's start-up

    cached = skipped_stages(results)
    lines += [
        f"{stage:<20}{'cached' if stage in cached else f'{seconds:.2f}':>9}"
        for stage, seconds in timings.items()
    ]
    lines += [
        f"{'sum of stages':<20}{sum(timings.values()):>9.2f}",
        f"{'wall clock':<20}{wall_seconds:>9.2f}",
        "",
    ]
    lines.append(f"{'test metric':<20}{'value':>9}   {round(100 * intervals['level'])}% interval")
    for label, key in (
        ("accuracy", "accuracy"),
        ("AUC", "auc"),
        ("balanced accuracy", "balanced_accuracy"),
    ):
        lines.append(f"{label:<20}{number(test[key]):>9}   {interval(key)}")
    lines.append(f"{'calibration (ECE)':<20}{number(test['calibration']['ece']):>9}")
    return "\n".join(lines)


def one_line_summary(outcome: Any) -> str:
    """The data, its headline test numbers and where the output went."""
    test = outcome.results["test"]
    where = outcome.site_dir if outcome.site_dir is not None else outcome.docs_dir
    notes = [] if outcome.results["dataset"]["official"] else ["UNOFFICIAL data file"]
    if outcome.results.get("cache", {}).get("reused"):
        notes.append("cached run")
    noted = f" ({', '.join(notes)})" if notes else ""
    return (
        f"{outcome.results['dataset']['name']}{noted}: test accuracy {number(test['accuracy'])}, "
        f"AUC {number(test['auc'])}, balanced accuracy {number(test['balanced_accuracy'])} "
        f"-> {where}"
    )
