"""How a build reports where it is: the callbacks the CLI supplies and the clock that times and
announces each stage. The build itself never prints."""

from __future__ import annotations

import contextlib
import io
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any


def _untracked(_label: str, items: Iterable[Any], _total: int) -> Iterable[Any]:
    return items


@dataclass(frozen=True)
class Progress:
    """Callbacks the CLI supplies to show progress; the build itself never prints."""

    on_stage: Callable[[str], None] = lambda stage: None
    # A note the user should see even with --quiet: an option that changes nothing, a slow
    # setting, figures an older reportgen drew ("note: ..."); the stage lines are progress.
    on_note: Callable[[str], None] = lambda note: None
    on_epoch: Callable[[Any], None] | None = None
    # Experiment runs are about to train: how many (none are announced when all are cached).
    on_runs_start: Callable[[int], None] = lambda total: None
    # An experiment run has finished training: (variant, seed, runs to train in all).
    on_run: Callable[[str, int, int], None] = lambda variant, seed, total: None
    # An epoch of the experiment run training in this process: (variant, seed, its EpochStats,
    # the epochs that run trains in all).
    on_run_epoch: Callable[[str, int, Any, int], None] = lambda variant, seed, stats, epochs: None
    # Workers are training experiment runs and none has finished since the last call (or start).
    on_waiting: Callable[[], None] = lambda: None
    # track(label, items, total) yields items while showing how far along they are.
    track: Callable[[str, Iterable[Any], int], Iterable[Any]] = _untracked
    quiet: bool = False  # also silence what libraries print (the download's progress bar)
    # Called just before finished output is swapped in: from then on the build must complete.
    on_commit: Callable[[], None] = lambda: None


@contextlib.contextmanager
def silenced(enabled: bool) -> Iterator[None]:
    """Swallow what libraries print to stdout and stderr (medmnist's download bar) when enabled."""
    if not enabled:
        yield
        return
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        yield


class StageClock:
    """Seconds per stage. A stage run inside another (the data loaded for the first experiment run
    that trains) is timed as its own and not also as its parent's, so the timings add up to the
    time spent; it is announced only when nothing else runs."""

    def __init__(self, progress: Progress) -> None:
        self.timings: dict[str, float] = {}
        self._progress = progress
        self._announced = ""
        self._nested: list[float] = []  # per running stage, the seconds its inner stages took

    def run(self, stage: str, work: Callable[[], Any]) -> Any:
        if stage != self._announced and not self._nested:
            self._progress.on_stage(stage)
            self._announced = stage
        started = time.perf_counter()
        self._nested.append(0.0)
        try:
            value = work()
        finally:
            spent = time.perf_counter() - started
            inner = self._nested.pop()
            self.timings[stage] = self.timings.get(stage, 0.0) + spent - inner
            if self._nested:
                self._nested[-1] += spent
        return value
