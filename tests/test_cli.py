"""The CLI maps options one to one onto BuildConfig, and the recorded rebuild command round-trips."""

from __future__ import annotations

import dataclasses
import shlex
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

import reportgen.build
from reportgen.cli import main, shell_command
from reportgen.config import BuildConfig
from reportgen.errors import ReportgenError
from reportgen.results import rebuild_command
from tests.conftest import REPO_ROOT, assert_clean_failure, dir_args


@pytest.fixture()
def captured(monkeypatch: pytest.MonkeyPatch) -> list[BuildConfig]:
    """Replaces the build with a recorder: these tests are about option parsing only."""
    configs: list[BuildConfig] = []

    def fake_build(config: BuildConfig, command: str, *_progress_and_given: Any) -> Any:
        configs.append(config)
        raise ReportgenError("stopped after parsing")

    monkeypatch.setattr(reportgen.build, "build", fake_build)
    return configs


@pytest.fixture()
def commands(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Replaces the build with a recorder of the command line it would publish."""
    recorded: list[str] = []

    def fake_build(config: BuildConfig, command: str, *_progress_and_given: Any) -> Any:
        recorded.append(command)
        raise ReportgenError("stopped after parsing")

    monkeypatch.setattr(reportgen.build, "build", fake_build)
    return recorded


def test_build_records_the_command_it_was_invoked_with(
    runner: CliRunner, commands: list[str]
) -> None:
    runner.invoke(
        main, ["build", "--dataset", "retinamnist", "--data-root", "my data", "--epochs", "3"]
    )
    assert commands == ["reportgen build --dataset retinamnist --data-root 'my data' --epochs 3"]


@pytest.mark.parametrize(
    "argv",
    [
        ["build", "--epochs", "3"],
        ["build", "--dataset", "retinamnist", "--data-root", "a folder/with spaces", "--experiments",
         "experiments.toml", "--quiet", "--docs-dir", "/tmp/out/docs", "--lr", "-0.5", "--tta"],
    ],
)  # fmt: skip
def test_recorded_command_wraps_long_lines_and_parses_back_to_the_same_arguments(
    argv: list[str],
) -> None:
    command = shell_command(argv)
    assert all(len(line) <= 80 for line in command.splitlines())
    assert shlex.split(command.replace("\\\n", " ")) == ["reportgen", *argv]
    if len(argv) > 3:
        assert "\n    --data-root 'a folder/with spaces' \\\n" in command


@pytest.mark.parametrize(
    ("args", "notes"),
    [
        (
            ["--width", "64", "--momentum", "0.5", "--optimizer", "adamw"],
            [
                (
                    "--momentum 0.5 changes nothing with --optimizer adamw; it matters only with "
                    "--optimizer sgd."
                ),
                (
                    "--width 64 changes nothing with --model study_cnn; it matters only with "
                    "--model wide_cnn."
                ),
            ],
        ),
        (["--effective-number-beta", "0.9"], ["--effective-number-beta 0.9 changes nothing"]),
        (["--width", "64", "--model", "wide_cnn", "--momentum", "0.9"], []),
        (["--optimizer", "adamw"], []),  # momentum at its default: not given, so nothing to say
        (["--jobs", "2"], ["--jobs changes nothing without --experiments"]),
        (["--jobs", "2", "--experiments", "PLAN"], []),
        # Notes are not progress: --quiet keeps them.
        (["--width", "64", "--quiet"], ["--width 64 changes nothing with --model study_cnn"]),
        # The shipped plan's wide-cnn variants train with the build's width.
        (["--width", "96", "--experiments", str(REPO_ROOT / "experiments.toml")], []),
        (
            ["--width", "96", "--experiments", "PLAN"],  # a plan without the wide CNN
            ["--width 96 changes nothing with --model study_cnn, nor in any variant of"],
        ),
    ],
)
def test_a_training_option_given_that_changes_nothing_is_noted_before_any_work(
    runner: CliRunner, tmp_path: Path, args: list[str], notes: list[str]
) -> None:
    plan = tmp_path / "plan.toml"
    plan.write_text('[[variants]]\nname = "baseline"\n[[variants]]\nname = "fast"\nlr = 0.05\n')
    not_a_folder = tmp_path / "file"  # stops the build at its data, just after the notes
    not_a_folder.write_text("")
    args = [str(plan) if arg == "PLAN" else arg for arg in args]
    out = dir_args({name: tmp_path / name for name in ("docs", "site", "cache")})
    result = runner.invoke(main, ["build", *args, "--data-root", str(not_a_folder), *out])
    assert_clean_failure(result, "is a file, not a folder")
    said = [line for line in result.output.splitlines() if "changes nothing" in line]
    assert len(said) == len(notes), result.output
    for line, note in zip(said, notes, strict=True):
        assert line.startswith("[reportgen] note: ") and note in line


def test_every_config_field_has_an_option_with_help(runner: CliRunner) -> None:
    help_text = runner.invoke(main, ["build", "--help"], terminal_width=200).output
    skipped = {"build_site": "--no-site", "retrain": "--retrain"}
    for name in BuildConfig.__dataclass_fields__:
        assert skipped.get(name, "--" + name.replace("_", "-")) in help_text, name
    for command in main.commands.values():
        options = [p for p in command.params if isinstance(p, click.Option) and not p.hidden]
        assert options and all(option.help for option in options), command.name


def test_rebuild_command_reproduces_the_config(
    runner: CliRunner, captured: list[BuildConfig], tmp_path: Path
) -> None:
    config = BuildConfig(
        dataset="retinamnist",
        data_root=tmp_path / "data dir",
        epochs=7,
        lr=0.003,
        momentum=0.9,
        model="wide_cnn",
        width=16,
        optimizer="adamw",
        schedule="onecycle",
        loss_weighting="effective_number",
        sampler="balanced",
        augment=True,
        select_epoch="val_auc",
        patience=2,
        threshold_tuning=True,
        tta=True,
        docs_dir=tmp_path / "docs",
        site_dir=tmp_path / "site",
        cache_dir=tmp_path / "cache",
        build_site=False,
    )
    argv = shlex.split(rebuild_command(config).replace("\\\n", " "))
    assert argv[:2] == ["reportgen", "build"]
    result = runner.invoke(main, argv[1:])
    assert result.exit_code == 1 and "stopped after parsing" in result.output
    assert captured == [config]


def test_rebuild_command_leaves_out_defaults_that_do_nothing_for_this_config(
    runner: CliRunner, captured: list[BuildConfig]
) -> None:
    study = rebuild_command(BuildConfig())
    assert "--width" not in study and "--effective-number-beta" not in study
    assert "--momentum 0.0" in study and "--optimizer sgd" in study  # used: still written out
    wide = rebuild_command(BuildConfig(model="wide_cnn", optimizer="adamw"))
    assert "--width 32" in wide and "--momentum" not in wide
    # A value set away from its default is kept, so the command still makes the same config.
    odd = BuildConfig(width=16, loss_weighting="inverse_frequency", effective_number_beta=0.9)
    command = rebuild_command(odd)
    assert "--width 16" in command and "--effective-number-beta 0.9" in command
    for config in (BuildConfig(), BuildConfig(model="wide_cnn", optimizer="adamw"), odd):
        argv = shlex.split(rebuild_command(config).replace("\\\n", " "))
        runner.invoke(main, argv[1:])
    assert captured == [BuildConfig(), BuildConfig(model="wide_cnn", optimizer="adamw"), odd]


def test_output_settings_carry_the_configs_output_fields_and_defaults() -> None:
    from reportgen.config import OutputSettings

    config = BuildConfig(
        docs_dir=Path("d"), site_dir=Path("s"), build_site=False, site_url="https://x.org/"
    )
    assert config.outputs() == OutputSettings(Path("d"), Path("s"), False, "https://x.org/", None)
    assert BuildConfig().outputs() == OutputSettings()  # one set of defaults, not two
    assert config.outputs().folders() == [Path("d")]  # no site: only docs is replaced
    assert BuildConfig().outputs().folders() == [Path("docs"), Path("site")]


def test_every_config_field_has_a_build_option() -> None:
    """The option table and BuildConfig cannot drift: a field without an option would silently
    keep its default on every command line."""
    build_command = main.commands["build"]
    parameter_names = {param.name for param in build_command.params}
    config_fields = {field.name for field in dataclasses.fields(BuildConfig)}
    # no_site is build_site inverted; data_root's default is computed at run time.
    assert config_fields - parameter_names == {"build_site"}
    assert "no_site" in parameter_names


def test_published_paths_write_the_home_folder_as_tilde_and_still_rebuild_the_same_config(
    runner: CliRunner,
    captured: list[BuildConfig],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The pages go public: they should not carry the user's home folder (and so their name)."""
    from reportgen.results import dataset_summary, shareable_config

    home = tmp_path / "home" / "alice"
    monkeypatch.setenv("HOME", str(home))
    config = BuildConfig(
        dataset="retinamnist",
        data_root=home / "medmnist data",
        docs_dir=home / "docs",
        cache_dir=tmp_path / "elsewhere",
        experiments=home / "experiments.toml",
    )
    command = rebuild_command(config)
    assert str(home) not in command and "--data-root '~/medmnist data'" in command
    assert f"--cache-dir {tmp_path / 'elsewhere'}" in command  # only the home folder changes
    shared = shareable_config(config)
    assert shared["docs_dir"] == "~/docs" and shared["experiments"] == "~/experiments.toml"
    counts = {"train": [1], "val": [1], "test": [1]}
    summary = dataset_summary(config, home / "medmnist data" / "retinamnist.npz", "", True, counts)
    assert summary["file"] == "~/medmnist data/retinamnist.npz"
    # A relative --data-root is shown as given, as the exact command on the same page gives it.
    relative = dataset_summary(config, Path("../shared/data/retinamnist.npz"), "", True, counts)
    assert relative["file"] == "../shared/data/retinamnist.npz"

    # reportgen expands ~ itself (the shell leaves a quoted one alone), so the command still works
    result = runner.invoke(main, shlex.split(command.replace("\\\n", " "))[1:])
    assert result.exit_code == 1 and "stopped after parsing" in result.output
    assert captured == [config]


def test_the_recorded_command_writes_the_home_folder_as_tilde(
    runner: CliRunner, commands: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    runner.invoke(main, ["build", "--data-root", str(tmp_path / "d"), f"--docs-dir={tmp_path}/o"])
    assert commands == ["reportgen build --data-root '~/d' '--docs-dir=~/o'"]


def test_dataset_names_are_listed_in_help_and_read_in_any_case(
    runner: CliRunner, captured: list[BuildConfig]
) -> None:
    from reportgen.catalog import supported_flags

    help_text = runner.invoke(main, ["build", "--help"], terminal_width=400).output
    assert ", ".join(supported_flags()) in help_text
    runner.invoke(main, ["build", "--dataset", "RetinaMNIST"])
    assert [config.dataset for config in captured] == ["retinamnist"]
    # The top-level help shows each command's whole one-line summary, not one cut short.
    commands = runner.invoke(main, ["--help"]).output.split("Commands:")[1]
    assert "..." not in commands and "…" not in commands


def test_a_stage_run_inside_another_is_timed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The data loaded inside the experiments stage counts as load time, not twice: the stage
    timings add up to the time spent, and only the outer stage is announced."""
    from reportgen import progress

    now = [0.0]
    monkeypatch.setattr(progress.time, "perf_counter", lambda: now[0])
    announced: list[str] = []
    clock = progress.StageClock(progress.Progress(on_stage=announced.append))

    def wait(seconds: float) -> None:
        now[0] += seconds

    def experiments() -> str:
        wait(2.0)
        clock.run("load", lambda: wait(3.0))
        wait(5.0)
        return "runs"

    assert clock.run("experiments", experiments) == "runs"
    clock.run("load", lambda: wait(1.0))
    assert clock.timings == {"experiments": 7.0, "load": 4.0}
    assert sum(clock.timings.values()) == now[0]
    assert announced == ["experiments", "load"]
