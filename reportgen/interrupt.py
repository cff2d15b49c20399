"""SIGINT, SIGTERM and SIGHUP stop a build cleanly: earlier output stays as it was, or the new
one is whole.

Until the build commits (just before it swaps its staged output into place), a signal raises
`Interrupted` at the next Python line, so staging folders are removed by their `finally` blocks
and nothing is published. From the commit on, a signal is only recorded: the swap is finished and
the caller reports the signal afterwards, so docs and site are never left half swapped.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from types import FrameType

# What a terminal sends to its whole process group: Ctrl-C, and SIGHUP when it closes or an ssh
# connection drops (POSIX only).
TERMINAL_SIGNALS = (signal.SIGINT, *([signal.SIGHUP] if hasattr(signal, "SIGHUP") else []))
HANDLED_SIGNALS = (*TERMINAL_SIGNALS, signal.SIGTERM)
RETRY_SECONDS = 0.1  # how soon a signal that arrived during an import is delivered again


class Interrupted(BaseException):
    """A signal stopped the build. A BaseException like KeyboardInterrupt, so that no
    `except Exception` on the way (medmnist's download, MkDocs) can swallow it."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class SignalGuard:
    """What the handled signals do while a build runs: raise before the commit, record after it."""

    def __init__(self) -> None:
        self.committed = False
        self.received_after_commit: list[int] = []
        # Once a signal has raised, the build is unwinding: a second Ctrl-C, pressed while the
        # staging folders are being removed, would cut that clean-up short, so it is ignored.
        self.stopping = False

    def commit(self) -> None:
        """From now on the build must finish: signals are recorded, not raised."""
        self.committed = True

    def handle(self, signum: int, frame: FrameType | None) -> None:
        if self.committed:
            self.received_after_commit.append(signum)
        elif self.stopping:
            return  # the build is stopping already
        elif _inside_import(frame):
            # An exception raised in an import that C++ code started (torch's own imports) aborts
            # the process with a C++ stack dump, so the signal is sent again once imports are done.
            retry = threading.Timer(RETRY_SECONDS, os.kill, (os.getpid(), signum))
            retry.daemon = True
            retry.start()
        else:
            self.stopping = True
            raise Interrupted(signum)


def _inside_import(frame: FrameType | None) -> bool:
    while frame is not None:
        if frame.f_code.co_filename.startswith("<frozen importlib"):
            return True
        frame = frame.f_back
    return False


@contextmanager
def stop_on_signals() -> Iterator[SignalGuard]:
    """A SignalGuard for HANDLED_SIGNALS in the block; the earlier handlers come back after.

    SIGHUP stays ignored where this process was started ignoring it: that is how `nohup` keeps a
    long build running after its terminal closes. Python delivers signals to the main thread
    only; elsewhere the guard is inert.
    """
    guard = SignalGuard()
    with _handled(HANDLED_SIGNALS, guard.handle):
        yield guard


@contextmanager
def stop_signals_as_ctrl_c() -> Iterator[None]:
    """SIGTERM and SIGHUP raise KeyboardInterrupt in the block, as Ctrl-C does, so that what
    cleans up after Ctrl-C cleans up after them too: `mkdocs serve` removes its temporary site
    folder only then, and a service manager or `timeout` stops a preview with SIGTERM.

    As in stop_on_signals, SIGHUP stays ignored under `nohup`, and elsewhere than in the main
    thread nothing changes.
    """
    stop_signals = [signum for signum in HANDLED_SIGNALS if signum != signal.SIGINT]
    with _handled(stop_signals, _raise_keyboard_interrupt):
        yield


def _raise_keyboard_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


@contextmanager
def _handled(
    signums: Iterable[int], handler: Callable[[int, FrameType | None], None]
) -> Iterator[None]:
    """handler for each of signums in the block (not for SIGHUP where it is ignored, as under
    `nohup`); the earlier handlers come back after. Python delivers signals to the main thread
    only, and only there may handlers be set: elsewhere nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    guarded = [
        signum
        for signum in signums
        if not (signum == getattr(signal, "SIGHUP", None) and _ignored(signum))
    ]
    previous = {signum: signal.signal(signum, handler) for signum in guarded}
    try:
        yield
    finally:
        for signum, earlier in previous.items():
            signal.signal(signum, earlier if earlier is not None else signal.SIG_DFL)


@contextmanager
def terminal_signals_blocked() -> Iterator[None]:
    """Hold TERMINAL_SIGNALS back in the block.

    Processes started in it keep them blocked for life, so Ctrl-C or a closed terminal reaches
    only this process, which stops them itself (and no worker prints a traceback or dies first).
    """
    if not hasattr(signal, "pthread_sigmask"):  # Windows: no signal masks, and no process groups
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, set(TERMINAL_SIGNALS))
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _ignored(signum: int) -> bool:
    return signal.getsignal(signum) is signal.SIG_IGN


def start_resource_tracker() -> None:
    """Start multiprocessing's resource tracker (a helper process of worker pools, started by the
    pool's first lock) with TERMINAL_SIGNALS blocked for life, if it is not running yet. It
    ignores SIGINT itself but not SIGHUP: killed by a closed terminal, it was started again by
    the next worker, which then printed tracebacks about resources it never saw."""
    if not hasattr(signal, "pthread_sigmask"):  # Windows: no resource tracker, no SIGHUP
        return
    from multiprocessing import resource_tracker

    with terminal_signals_blocked():
        resource_tracker.ensure_running()
