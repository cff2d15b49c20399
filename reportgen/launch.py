"""The `reportgen` command's entry point. Loading the command line interface takes a tenth of a
second or more (click, the option types, the build's modules); a Ctrl-C in that time ends the
command as one during a build does, with one line and the shell's status for SIGINT, not with
Python's KeyboardInterrupt traceback from deep inside an import."""

from __future__ import annotations

import os
import signal
import sys
from types import FrameType

INTERRUPTED_WHILE_LOADING = "Error: Interrupted by SIGINT.\n"  # as click prints the build's own


def _interrupted_while_loading(signum: int, _frame: FrameType | None) -> None:
    """Nothing is written yet: end at once, without unwinding a half-done import."""
    sys.stderr.write(INTERRUPTED_WHILE_LOADING)
    sys.stderr.flush()
    os._exit(128 + signum)


def main() -> None:
    """Load the command line interface with Ctrl-C ending the command quietly, then run it with
    Python's own Ctrl-C handling, which the commands turn into their one-line messages. Where
    SIGINT is ignored (a background job of a script), it stays ignored."""
    python_handles_it = signal.getsignal(signal.SIGINT) is signal.default_int_handler
    if python_handles_it:
        signal.signal(signal.SIGINT, _interrupted_while_loading)
    from reportgen.cli import main as command

    if python_handles_it:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    command()
