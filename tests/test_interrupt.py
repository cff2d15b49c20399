"""Interrupts and concurrent builds: earlier docs and site stay exactly as they were, or the new
build is swapped in whole; the process ends promptly with one line and a non-zero status."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from filelock import FileLock

import reportgen.build
import reportgen.data
import reportgen.output_folders
import reportgen.publish
import reportgen.render
import reportgen.site
from reportgen.cli import main
from reportgen.interrupt import Interrupted, stop_on_signals, stop_signals_as_ctrl_c
from tests.conftest import assert_clean_failure, dir_args, synthetic_build_args, tree_digest

SIGHUP = getattr(signal, "SIGHUP", None)  # POSIX only
needs_sighup = pytest.mark.skipif(SIGHUP is None, reason="no SIGHUP on this platform")


@pytest.fixture()
def hangup_as_set(request: pytest.FixtureRequest) -> Any:
    """SIGHUP set to what request.param says ("default" or "ignored", as under nohup) for the
    test, whatever the test process was started with."""
    if SIGHUP is None:
        yield
        return
    previous = signal.signal(
        SIGHUP, signal.SIG_IGN if request.param == "ignored" else signal.SIG_DFL
    )
    try:
        yield
    finally:
        signal.signal(SIGHUP, previous)


@pytest.fixture()
def earlier_copy(earlier_build: dict[str, Path], tmp_path: Path) -> dict[str, Path]:
    """A private copy of the earlier build's docs, site and cache, for tests that try to change them."""
    dirs = {"data": earlier_build["data"]}
    for name in ("docs", "site", "cache"):
        dirs[name] = tmp_path / name
        shutil.copytree(earlier_build[name], dirs[name])
    return dirs


def _build_args(dirs: dict[str, Path], *extra: str) -> list[str]:
    """The earlier build's own arguments (so its cached run is reused) plus extra."""
    return synthetic_build_args(
        str(dirs["data"]), "--epochs", "1", "--quiet", *extra, *dir_args(dirs)
    )


def _outputs(dirs: dict[str, Path]) -> dict[str, str]:
    return {name: tree_digest(dirs[name]) for name in ("docs", "site", "cache")}


def _leftovers(folder: Path) -> list[str]:
    """Staging or retired folders that a build failed to clean up."""
    return sorted(
        path.name for path in folder.iterdir() if ".staging-" in path.name or ".old-" in path.name
    )


def _raising_after(original: Callable[..., Any], signum: int) -> Callable[..., Any]:
    """original, then the signal, as if the user pressed Ctrl-C right after that stage wrote its files."""

    def stage(*args: Any, **kwargs: Any) -> Any:
        value = original(*args, **kwargs)
        signal.raise_signal(signum)
        return value

    return stage


@pytest.mark.parametrize(
    ("module", "stage", "signum"),
    [
        (reportgen.data, "verify_dataset_file", signal.SIGINT),  # in the build's locate_dataset
        (
            reportgen.publish,
            "_draw_or_reuse_figures",
            signal.SIGTERM,
        ),  # draws, or copies the earlier
        (reportgen.render, "write_pages", signal.SIGINT),
        (reportgen.site, "build_site", signal.SIGTERM),
        pytest.param(reportgen.render, "write_pages", SIGHUP, marks=needs_sighup),  # closed
    ],
)
@pytest.mark.parametrize("hangup_as_set", ["default"], indirect=True)
def test_signal_at_a_stage_leaves_earlier_output_exactly_as_it_was(
    module: Any,
    stage: str,
    signum: int,
    hangup_as_set: None,
    earlier_copy: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(module, stage, _raising_after(getattr(module, stage), signum))
    before = _outputs(earlier_copy)
    result = CliRunner().invoke(main, _build_args(earlier_copy))
    assert result.exit_code == 128 + signum
    assert_clean_failure(
        result,
        f"Interrupted by {signal.Signals(signum).name} before anything was published",
        "exactly as they were. Run the same command again.",
    )
    assert len(result.output.strip().splitlines()) == 1, result.output
    assert _outputs(earlier_copy) == before
    assert _leftovers(tmp_path) == []


def test_a_second_signal_during_the_clean_up_does_not_cut_it_short(
    earlier_copy: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C pressed twice: the second landed in the staging folder's removal, which stopped
    part-way and left a .site.staging-* folder beside the site."""
    import reportgen.output_folders

    real_rmtree = shutil.rmtree
    interrupted_clean_ups: list[str] = []

    def rmtree_after_a_second_ctrl_c(path: Any, *args: Any, **kwargs: Any) -> None:
        if ".staging-" in Path(path).name and not interrupted_clean_ups:
            interrupted_clean_ups.append(Path(path).name)
            signal.raise_signal(signal.SIGINT)
        real_rmtree(path, *args, **kwargs)

    build_site = _raising_after(reportgen.site.build_site, signal.SIGINT)
    monkeypatch.setattr(reportgen.site, "build_site", build_site)
    monkeypatch.setattr(reportgen.output_folders.shutil, "rmtree", rmtree_after_a_second_ctrl_c)
    before = _outputs(earlier_copy)
    result = CliRunner().invoke(main, _build_args(earlier_copy))
    assert result.exit_code == 128 + signal.SIGINT and interrupted_clean_ups
    assert_clean_failure(result, "Interrupted by SIGINT before anything was published")
    assert _outputs(earlier_copy) == before
    assert _leftovers(tmp_path) == []


@needs_sighup
@pytest.mark.parametrize("hangup_as_set", ["ignored"], indirect=True)
@pytest.mark.usefixtures("hangup_as_set")
def test_a_build_started_under_nohup_runs_on_when_its_terminal_closes(
    earlier_copy: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """nohup starts a program with SIGHUP ignored, to outlive its terminal: the guard keeps it."""
    write_pages = _raising_after(reportgen.render.write_pages, SIGHUP)
    monkeypatch.setattr(reportgen.render, "write_pages", write_pages)
    result = CliRunner().invoke(main, _build_args(earlier_copy))
    assert result.exit_code == 0, result.output
    assert signal.getsignal(SIGHUP) is signal.SIG_IGN  # as it was before the build


@pytest.mark.parametrize("hangup_as_set", ["default", "ignored"], indirect=True)
@pytest.mark.usefixtures("hangup_as_set")
def test_stop_signals_end_a_preview_as_ctrl_c_does_and_nohup_still_holds() -> None:
    """serve relies on KeyboardInterrupt for MkDocs to remove its temporary site."""
    before = {signum: signal.getsignal(signum) for signum in (signal.SIGTERM, SIGHUP) if signum}
    with pytest.raises(KeyboardInterrupt, match="SIGTERM"), stop_signals_as_ctrl_c():
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # the handler raises at the next Python line, long before this ends
    if SIGHUP is not None and before[SIGHUP] is signal.SIG_IGN:
        with stop_signals_as_ctrl_c():
            os.kill(os.getpid(), SIGHUP)  # ignored, as nohup asked
            time.sleep(0.1)
    assert {signum: signal.getsignal(signum) for signum in before} == before


def test_signal_during_the_swap_is_held_until_both_folders_are_in(
    earlier_copy: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_swap = reportgen.output_folders.swap_into

    def swap_with_a_signal_arriving(*moves: tuple[Path, Path]) -> list[Path]:
        signal.raise_signal(signal.SIGTERM)
        return real_swap(*moves)

    monkeypatch.setattr(reportgen.output_folders, "swap_into", swap_with_a_signal_arriving)
    result = CliRunner().invoke(main, _build_args(earlier_copy))
    assert result.exit_code == 128 + signal.SIGTERM
    assert_clean_failure(
        result,
        "Interrupted by SIGTERM while the finished build was being swapped in",
        "hold this build, whole",
    )
    docs_results = json.loads((earlier_copy["docs"] / "data" / "results.json").read_text())
    site_results = json.loads((earlier_copy["site"] / "data" / "results.json").read_text())
    assert docs_results["cache"]["reused"] is True  # the earlier build trained; this one reused it
    assert site_results == docs_results
    assert _leftovers(tmp_path) == []


def test_failed_swap_puts_the_earlier_output_back(
    earlier_copy: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_replace = reportgen.output_folders.os.replace
    site_target = earlier_copy["site"].resolve()

    def replace_failing_into_site(source: Any, destination: Any) -> None:
        if Path(destination) == site_target and ".staging-" in Path(source).name:
            raise OSError(28, "No space left on device")
        real_replace(source, destination)

    monkeypatch.setattr(reportgen.output_folders.os, "replace", replace_failing_into_site)
    before = _outputs(earlier_copy)
    result = CliRunner().invoke(main, _build_args(earlier_copy))
    assert result.exit_code == 1
    assert_clean_failure(
        result,
        "Could not move the new output into place",
        "No space left on device",
        "the earlier output was restored",
    )
    assert _outputs(earlier_copy) == before
    assert _leftovers(tmp_path) == []


def test_a_swap_that_cannot_be_undone_says_where_the_earlier_output_is_kept(
    earlier_copy: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_replace = reportgen.output_folders.os.replace
    docs_target, site_target = earlier_copy["docs"].resolve(), earlier_copy["site"].resolve()
    docs_before = tree_digest(earlier_copy["docs"])

    def replace_failing_into_site_and_back_into_docs(source: Any, destination: Any) -> None:
        source, destination = Path(source), Path(destination)
        if destination == site_target and ".staging-" in source.name:
            raise OSError(28, "No space left on device")
        if destination == docs_target and ".old-" in source.parent.name:
            raise OSError(13, "Permission denied")
        real_replace(source, destination)

    monkeypatch.setattr(
        reportgen.output_folders.os, "replace", replace_failing_into_site_and_back_into_docs
    )
    result = CliRunner().invoke(main, _build_args(earlier_copy))
    (kept,) = [path / "docs" for path in tmp_path.iterdir() if path.name.startswith(".docs.old-")]
    assert_clean_failure(
        result,
        "Could not move the new output into place ([Errno 28] No space left on device)",
        "nor put the earlier output back ([Errno 13] Permission denied)",
        f"The earlier output is kept in {kept}: move it back",  # not site's, put back first
    )
    assert tree_digest(kept) == docs_before  # not removed, not changed


def test_staging_folders_of_a_killed_build_are_removed_by_the_next(
    earlier_copy: dict[str, Path], tmp_path: Path
) -> None:
    """SIGKILL or a power cut runs no clean-up; the next build holding the lock does it."""
    # As mkdtemp names them (8 characters), and a folder that only looks alike: not touched.
    for name in (".docs.staging-k1ll3d_0", ".site.staging-k1ll3d_0", ".docs.staging-mine"):
        (tmp_path / name / "data").mkdir(parents=True)
        (tmp_path / name / "data" / "results.json").write_text("{}")
    set_aside = tmp_path / ".docs.old-k1ll3d_0" / "docs"  # possibly the only earlier output
    shutil.copytree(earlier_copy["docs"], set_aside)
    result = CliRunner().invoke(main, _build_args(earlier_copy))
    assert result.exit_code == 0, result.output
    assert _leftovers(tmp_path) == [".docs.old-k1ll3d_0", ".docs.staging-mine"]
    assert (set_aside / "data" / "results.json").is_file()


def test_build_is_refused_while_another_holds_the_lock(
    earlier_copy: dict[str, Path], tmp_path: Path
) -> None:
    before = _outputs(earlier_copy)
    with FileLock(tmp_path / ".site.lock"):
        result = CliRunner().invoke(main, _build_args(earlier_copy))
        rendered = CliRunner().invoke(
            main,
            [
                "render",
                "--docs-dir",
                str(earlier_copy["docs"]),
                "--site-dir",
                str(earlier_copy["site"]),
            ],
        )
    for outcome in (result, rendered):
        assert outcome.exit_code == 1
        assert_clean_failure(
            outcome,
            f"Another reportgen build is writing {earlier_copy['site'].resolve()}",
            "Wait for it to finish",
            "--site-dir",
        )
    assert _outputs(earlier_copy) == before
    after = CliRunner().invoke(main, _build_args(earlier_copy))  # the lock is free again
    assert after.exit_code == 0, after.output


def _start_long_training(dirs: dict[str, Path], log: Path) -> subprocess.Popen[bytes]:
    """A real `reportgen build` process, returned once it is in its second epoch or later."""
    args = _build_args(dirs, "--retrain")
    args[args.index("--epochs") + 1] = "1000"
    args.remove("--quiet")  # the progress bar shows when training is under way
    with log.open("wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "reportgen", *args], stdout=subprocess.DEVNULL, stderr=stderr
        )
    deadline = time.monotonic() + 180
    while "train:" not in log.read_text(errors="replace"):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"the build did not start training:\n{log.read_text(errors='replace')}")
        time.sleep(0.2)
    return process


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_running_build_holds_its_folders_and_stops_promptly_on_a_signal(
    signum: int, earlier_copy: dict[str, Path], tmp_path: Path
) -> None:
    before = _outputs(earlier_copy)
    log = tmp_path / "stderr.log"
    process = _start_long_training(earlier_copy, log)
    try:
        second = CliRunner().invoke(main, _build_args(earlier_copy))
        assert_clean_failure(second, "Another reportgen build is writing")
        process.send_signal(signum)
        # 1,000 epochs take far longer than this: a build that let training run on would time out.
        returncode = process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    stderr = log.read_text(errors="replace")
    assert returncode == 128 + signum, stderr
    assert "Traceback" not in stderr
    errors = [line for line in stderr.splitlines() if "Error" in line]
    assert len(errors) == 1 and errors[0].startswith(
        f"Error: Interrupted by {signal.Signals(signum).name} before anything was published"
    ), stderr
    assert _outputs(earlier_copy) == before  # docs, site, and no half-written cache entry
    assert _leftovers(tmp_path) == []


def test_signal_during_an_import_is_delivered_after_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Raising inside an import that C++ started (torch's) aborts the process, so the guard waits."""
    (tmp_path / "module_that_gets_a_signal.py").write_text(
        "import signal\nsignal.raise_signal(signal.SIGTERM)\nfinished = True\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "module_that_gets_a_signal", raising=False)
    slept_through = []
    with pytest.raises(Interrupted) as stopped, stop_on_signals():
        import module_that_gets_a_signal  # noqa: F401

        time.sleep(10)  # the signal comes back while this sleeps
        slept_through.append(True)
    assert stopped.value.signum == signal.SIGTERM
    assert sys.modules["module_that_gets_a_signal"].finished is True
    assert slept_through == []  # delivered during the sleep, not when the guard ended


# Loaded by Python at start-up from PYTHONPATH: Ctrl-C arrives while the command line interface
# is being imported, the moment a user's early Ctrl-C lands in.
CTRL_C_WHILE_LOADING = """
import os, signal, sys


class CtrlCOnImport:
    def find_spec(self, name, path=None, target=None):
        if name == "reportgen.cli":
            os.kill(os.getpid(), signal.SIGINT)
        return None


sys.meta_path.insert(0, CtrlCOnImport())
"""


@pytest.mark.parametrize("how", ["console script", "python -m reportgen"])
def test_ctrl_c_while_the_command_loads_ends_it_with_one_line(how: str, tmp_path: Path) -> None:
    (tmp_path / "sitecustomize.py").write_text(CTRL_C_WHILE_LOADING)
    script = Path(sys.executable).with_name("reportgen")  # pip's launcher, from [project.scripts]
    command = [str(script)] if how == "console script" else [sys.executable, "-m", "reportgen"]
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), *sys.path])}

    def run() -> subprocess.CompletedProcess:
        return subprocess.run(
            [*command, "build", "--help"],
            capture_output=True,
            text=True,
            env=environment,
            timeout=60,
            check=False,
        )

    process = run()
    assert process.returncode == 128 + signal.SIGINT, process.stderr
    assert process.stderr == "Error: Interrupted by SIGINT.\n" and process.stdout == ""
    # Where the shell left SIGINT ignored (a script's background job), it stays ignored: the
    # command inherits that from this process.
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        ignored = run()
    finally:
        signal.signal(signal.SIGINT, previous)
    assert ignored.returncode == 0, ignored.stderr
    assert "reportgen build [OPTIONS]" in ignored.stdout


def _process_group(pgid: int) -> list[int]:
    """Live processes in a process group (Linux /proc)."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(stat.parent.name))
    return members


def _spawned_workers(pgid: int) -> list[int]:
    """The group's multiprocessing workers: processes started by the spawn method, whose command
    line runs multiprocessing.spawn (not the resource tracker, which spawn starts as well)."""
    workers = []
    for pid in _process_group(pgid):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"spawn_main" in command:
            workers.append(pid)
    return workers


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads process groups from /proc")
@pytest.mark.parametrize(
    ("signum", "to_group"),
    [
        (signal.SIGINT, True),
        (signal.SIGTERM, False),
        pytest.param(SIGHUP, True, marks=needs_sighup),
    ],
    ids=[
        "Ctrl-C to the terminal's process group",
        "SIGTERM to the main process only",
        "SIGHUP to the group of a terminal that closed",
    ],
)
@pytest.mark.parametrize("hangup_as_set", ["default"], indirect=True)  # the build inherits it
@pytest.mark.usefixtures("hangup_as_set")
def test_signal_during_parallel_experiments_stops_every_worker(
    signum: int, to_group: bool, earlier_copy: dict[str, Path], tmp_path: Path
) -> None:
    plan = tmp_path / "plan.toml"
    plan.write_text(
        'seeds = [0, 1]\n[[variants]]\nname = "baseline"\n[[variants]]\nname = "long"\nepochs = 500\n'
    )
    args = [
        a
        for a in _build_args(earlier_copy, "--experiments", str(plan), "--jobs", "2")
        if a != "--quiet"
    ]
    before = {
        name: tree_digest(earlier_copy[name]) for name in ("docs", "site")
    }  # runs may be cached
    log = tmp_path / "stderr.log"
    with log.open("wb") as stderr:  # a session of its own: Ctrl-C signals a terminal's whole group
        process = subprocess.Popen(
            [sys.executable, "-m", "reportgen", *args],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 180
        while "[reportgen] experiments" not in log.read_text(errors="replace"):
            assert process.poll() is None and time.monotonic() < deadline, log.read_text(
                errors="replace"
            )
            time.sleep(0.2)
        workers: list[int] = []
        while len(workers) < 2:  # both workers are running before the signal comes
            assert process.poll() is None and time.monotonic() < deadline, log.read_text(
                errors="replace"
            )
            time.sleep(0.2)
            workers = _spawned_workers(process.pid)
        if to_group:
            os.killpg(process.pid, signum)
        else:
            process.send_signal(signum)
        returncode = process.wait(timeout=60)
        deadline = time.monotonic() + 10
        while _process_group(process.pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _process_group(process.pid) == []  # neither worker is left training
    finally:
        if _process_group(process.pid):
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    stderr_text = log.read_text(errors="replace")
    assert returncode == 128 + signum, stderr_text
    assert "Traceback" not in stderr_text and "terminate called" not in stderr_text
    assert (
        f"Error: Interrupted by {signal.Signals(signum).name} before anything was published"
        in stderr_text
    )
    assert {name: tree_digest(earlier_copy[name]) for name in ("docs", "site")} == before
