"""The terminal's progress bars over the build's callbacks, quiet or not."""

from __future__ import annotations

import io
import sys
import threading
from types import SimpleNamespace

import pytest

from reportgen.terminal import progress_bars


@pytest.mark.parametrize("quiet", [True, False], ids=["quiet", "with bars"])
def test_runs_trained_one_after_another_each_get_an_epochs_bar(
    quiet: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    """--quiet disables the bars; a disabled tqdm keeps no description, so which run the
    epochs bar counts must not be read back from it (a traceback at the second run)."""
    with progress_bars(quiet, epochs=2, on_commit=lambda: None) as progress:
        progress.on_runs_start(2)
        for variant in ("baseline", "weighted"):
            for epoch in (1, 2):
                progress.on_run_epoch(variant, 0, SimpleNamespace(train_loss=1.0 / epoch), 2)
            progress.on_run(variant, 0, 2)
    shown = capsys.readouterr().err
    if quiet:
        assert shown == ""
    else:
        assert "training baseline, seed 0" in shown and "training weighted, seed 0" in shown
        assert "experiment runs" in shown and "2/2" in shown


def test_the_bars_take_no_multiprocessing_lock() -> None:
    """tqdm's default lock holds a multiprocessing lock, which under spawn or forkserver starts
    multiprocessing's resource tracker before start_resource_tracker can start it with SIGHUP
    blocked; the bars are drawn by this process's threads alone."""
    from tqdm.auto import tqdm
    from tqdm.std import TqdmDefaultWriteLock

    with progress_bars(False, 2, lambda: None):
        lock = tqdm.get_lock()
    assert not isinstance(lock, TqdmDefaultWriteLock)
    assert isinstance(lock, type(threading.RLock()))


@pytest.mark.parametrize("terminal", [True, False], ids=["terminal", "log"])
def test_waiting_for_workers_redraws_the_runs_bar_in_a_terminal_only(
    terminal: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In a terminal the elapsed time moves on while workers train; in a log file each redraw
    would be another line, once a second."""

    class Stream(io.StringIO):
        def isatty(self) -> bool:
            return terminal

    stream = Stream()
    monkeypatch.setattr(sys, "stderr", stream)
    with progress_bars(False, epochs=2, on_commit=lambda: None) as progress:
        progress.on_runs_start(4)
        drawn = stream.getvalue().count("experiment runs")
        for _ in range(5):
            progress.on_waiting()
        redrawn = stream.getvalue().count("experiment runs") - drawn
    assert drawn == 1 and redrawn == (5 if terminal else 0)
