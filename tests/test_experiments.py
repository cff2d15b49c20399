"""Experiments files, aggregation over seeds, choice on validation, and the Experiments page."""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any, Self

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from sklearn.metrics import roc_auc_score

from reportgen import cache
from reportgen.build import check_settings
from reportgen.cli import main
from reportgen.config import MAX_SEED, BuildConfig, settings_conflict
from reportgen.errors import ReportgenError
from reportgen.experiments import (
    SECTION_ANCHORS,
    Variant,
    load_plan,
    parse_plan,
    recommend,
    summarize_variant,
    variant_slug,
)
from reportgen.formatting import fmt_number
from reportgen.render import make_environment, render_pages
from reportgen.variant_comparisons import selection_margin
from tests.conftest import (
    REPO_ROOT,
    RETINAMNIST_COUNTS,
    assert_blocks_set_apart,
    dir_args,
    synthetic_build_args,
    write_synthetic_npz,
)


def test_the_shipped_experiments_file_is_valid_and_starts_with_the_baseline() -> None:
    plan = load_plan(REPO_ROOT / "experiments.toml")
    assert plan.seeds == [0, 1, 2]
    assert plan.variants[0].name == "baseline" and plan.variants[0].overrides == {}
    switches = {key for variant in plan.variants for key in variant.overrides}
    assert switches >= {
        "loss_weighting",
        "sampler",
        "augment",
        "threshold_tuning",
        "lr",
        "grad_clip",
        "momentum",
        "schedule",
        "optimizer",
        "label_smoothing",
        "select_epoch",
        "patience",
        "model",
        "tta",
    }


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        (
            'seeds = [0]\n[[variants]]\nname = "baseline"\n[[variants]]\nname = "x"\nlerning_rate = 0.1\n',
            "unknown key 'lerning_rate'",
        ),
        (
            '[[variants]]\nname = "baseline"\n[[variants]]\nname = "x"\nsampler = "smote"\n',
            'sampler = "smote" is not one of shuffle, balanced',
        ),
        (
            '[[variants]]\nname = "baseline"\n[[variants]]\nname = "x"\nepochs = 0\n',
            "epochs = 0 must be >= 1",
        ),
        (
            '[[variants]]\nname = "baseline"\n[[variants]]\nname = "x"\nensemble = 0\n',
            "ensemble = 0 must be from 1 to 20",
        ),
        (  # the CLI's --ensemble range: one table of bounds serves both
            '[[variants]]\nname = "baseline"\n[[variants]]\nname = "x"\nensemble = 21\n',
            "ensemble = 21 must be from 1 to 20",
        ),
        (
            '[[variants]]\nname = "baseline"\n[[variants]]\nname = "x"\nlr = nan\n',
            "lr = nan must be > 0",
        ),
        (
            '[[variants]]\nname = "baseline"\n[[variants]]\nname = "x"\nmomentum = 1.0\n',
            "momentum = 1.0 must be in [0, 1)",
        ),
        (
            '[[variants]]\nname = "baseline"\n[[variants]]\nname = "x"\nlr = "fast"\n',
            'lr = "fast" must be of type float',
        ),
        (
            '[[variants]]\nname = "baseline"\n[[variants]]\nname = "x"\naugment = 1\n',
            "augment = 1 must be of type bool",
        ),
        (
            '[[variants]]\nname = "baseline"\n[[variants]]\nname = "x"\nseed = 3\n',
            "seed cannot differ between variants: it is the same for every run of a build. Set it for the whole build on the command line (--seed)",
        ),
        ('[[variants]]\nname = "baseline"\nlr = 0.1\n', "first variant is the study's baseline"),
        ('[[variants]]\nname = "a"\n[[variants]]\nname = "a"\n', "used twice"),
        (  # one slug, so one anchor and one set of figure files for two variants
            (
                '[[variants]]\nname = "a"\n[[variants]]\nname = "Wide CNN (fast)"\n'
                '[[variants]]\nname = "wide-cnn-fast"\nepochs = 2\n'
            ),
            "('wide-cnn-fast') as the variant 'Wide CNN (fast)'",
        ),
        (
            '[[variants]]\nname = "a"\n[[variants]]\nname = "Variants"\n',
            "('variants') as a section of the page",
        ),
        ('seeds = []\n[[variants]]\nname = "a"\n', "non-empty list of integers"),
        ('seeds = [0, 1, 0]\n[[variants]]\nname = "a"\n', "repeats a seed"),
        (
            'seeds = [0, -1]\n[[variants]]\nname = "a"\n',
            "seed -1 in seeds = [0, -1] must be from 0",
        ),
        ('seeds = [4294967296]\n[[variants]]\nname = "a"\n', "as for --seed"),
        ('colour = "red"\n[[variants]]\nname = "a"\n', "unknown top-level key(s) colour"),
        (
            '[[variants]]\nname = "a"\n[[variants]]\nname = "b"\nsteps = ["magic"]\n',
            'steps = ["magic"]',
        ),
        ("[[variants]\nname = 1\n", "is not valid TOML"),
        (
            '[[variants]]\nname = "a"\n[[variants]]\nname = "b"\nlr = true\n',
            "variant 2 ('b'): lr = true must be a number, not true/false",
        ),
        ("seeds = [0]\n", "no [[variants]] declared"),
        (
            '[[variants]]\nname = "a"\n[[variants]]\nname = "b"\ndescription = 5\n',
            "variant 2 ('b'): description = 5 must be text, in quotes.",
        ),
        ('seeds = [true]\n[[variants]]\nname = "a"\n', "seeds = [true] must be a non-empty list"),
        (
            '[[variants]]\nname = "a"\n[[variants]]\nname = "b"\nbuild_site = false\n',
            "Set it for the whole build on the command line (--no-site), or drop it here.",
        ),
        ('[[variants]]\ndescription = "no name"\n', "variant 1: every variant needs a name"),
    ],
)
def test_malformed_experiments_files_name_the_problem(
    tmp_path: Path, text: str, phrase: str
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ReportgenError) as raised:
        load_plan(path)
    assert phrase in str(raised.value)


def test_an_experiments_file_saved_with_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    """Windows editors (PowerShell 5's `Out-File -Encoding utf8`) start UTF-8 with U+FEFF."""
    path = tmp_path / "plan.toml"
    text = 'seeds = [0]\n[[variants]]\nname = "base"\n[[variants]]\nname = "a"\nlr = 0.005\n'
    path.write_text(text, encoding="utf-8-sig")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    plan = load_plan(path)
    assert [variant.name for variant in plan.variants] == ["base", "a"]
    assert plan.variants[1].overrides == {"lr": 0.005}
    assert plan.source.startswith("seeds")


def test_an_experiments_file_that_is_missing_or_unreadable_is_named(tmp_path: Path) -> None:
    with pytest.raises(ReportgenError) as missing:
        load_plan(tmp_path / "plan.toml")
    assert f"Experiments file {tmp_path / 'plan.toml'} does not exist" in str(missing.value)
    (tmp_path / "latin1.toml").write_bytes('[[variants]]\nname = "café"\n'.encode("latin-1"))
    with pytest.raises(ReportgenError) as undecodable:
        load_plan(tmp_path / "latin1.toml")
    assert "latin1.toml cannot be read (" in str(undecodable.value)
    assert "utf-8" in str(undecodable.value)


def test_bad_experiments_file_fails_the_build_before_training(
    tmp_path: Path, runner: CliRunner
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[[variants]]\nname = "baseline"\n[[variants]]\nname = "x"\nbatchsize = 5\n')
    result = runner.invoke(
        main, ["build", "--experiments", str(path), "--data-root", str(tmp_path)]
    )
    assert result.exit_code == 1
    assert "unknown key 'batchsize'" in result.output and "Traceback" not in result.output


def fake_run(seed: int, test_ba: float, val_ba: float) -> dict:
    def row(ba: float) -> dict:
        return {
            "accuracy": ba,
            "auc": 0.8,
            "balanced_accuracy": ba,
            "macro_f1": ba,
            "per_class_recall": [ba, 1 - ba],
        }

    return {"seed": seed, "test": row(test_ba), "val": row(val_ba)}


def test_mean_and_sd_over_seeds() -> None:
    entry = summarize_variant(Variant("v", "", {}), [fake_run(0, 0.5, 0.5), fake_run(1, 0.7, 0.6)])
    assert entry["mean"]["balanced_accuracy"] == pytest.approx(0.6)
    assert entry["sd"]["balanced_accuracy"] == pytest.approx(0.1414213, rel=1e-5)
    assert entry["mean"]["per_class_recall"] == pytest.approx([0.6, 0.4])
    assert entry["seeds"] == [0, 1]


def test_recommendation_uses_validation_not_test() -> None:
    best_on_test = summarize_variant(Variant("test-winner", "", {}), [fake_run(0, 0.9, 0.4)])
    best_on_val = summarize_variant(Variant("val-winner", "", {}), [fake_run(0, 0.5, 0.6)])
    assert recommend([best_on_test, best_on_val]) == "val-winner"


def test_the_recommended_variants_lead_is_weighed_against_its_own_seed_spread() -> None:
    def row(name: str, val: float, sd: float | None) -> dict:
        return {"name": name, "val_balanced_accuracy": val, "val_sd_balanced_accuracy": sd}

    chosen, close, far = row("a", 0.46, 0.03), row("b", 0.45, 0.02), row("c", 0.30, 0.01)
    also_close = row("d", 0.44, 0.01)
    thin = selection_margin(chosen, [chosen, far, also_close, close])
    assert thin["runner_up"] is close and thin["thin"]
    assert thin["close"] == [close, also_close]  # within 0.03 of 0.46, best first
    clear = selection_margin(chosen, [chosen, far])
    assert clear["runner_up"] is far and not clear["thin"] and clear["close"] == []
    older = row("a", 0.46, None)  # experiments.json written before val_sd was recorded
    assert not selection_margin(older, [older, close])["thin"]
    assert selection_margin(chosen, [chosen]) is None
    assert thin["just_outside"] == clear["just_outside"] == []


def test_a_variant_just_outside_the_spread_that_reads_as_inside_it_is_named_with_more_digits() -> (
    None
):
    """0.4664 - 0.02636 = 0.44004: 0.43989 is outside, but the pages' 0.466 - 0.026 = 0.440 says
    it is in; 0.43890 reads 0.439 and needs no word."""
    rows = [
        {"name": name, "val_balanced_accuracy": val, "val_sd_balanced_accuracy": 0.02636}
        for name, val in (("chosen", 0.4664), ("close", 0.4659), ("edge", 0.43989), ("far", 0.4389))
    ]
    margin = selection_margin(rows[0], rows)
    assert margin is not None and [row["name"] for row in margin["close"]] == ["close"]
    assert [row["name"] for row in margin["just_outside"]] == ["edge"]
    assert margin["digits"] == 4 and abs(margin["bound"] - 0.44004) < 1e-9
    just_outside = make_environment().get_template("_macros.md.j2").module.just_outside
    assert str(just_outside(margin)) == " (edge at 0.4399 falls just outside: the bound is 0.4400)"
    rows[2]["val_balanced_accuracy"] = 0.44003  # 0.4400 at four decimals, as the bound
    margin = selection_margin(rows[0], rows)
    assert margin is not None and margin["digits"] == 5
    assert "(edge at 0.44003 falls just outside: the bound is 0.44004)" in str(just_outside(margin))


def test_the_readmes_example_experiments_file_is_one_the_build_accepts() -> None:
    readme = (REPO_ROOT / "README.md").read_text()
    example = readme.split("```toml\n")[1].split("```")[0]
    plan = parse_plan(tomllib.loads(example), "README.md")
    assert plan.seeds == [0, 1, 2]
    assert [variant.name for variant in plan.variants] == ["baseline", "class-weighted"]
    weighted = plan.variants[1]
    assert weighted.overrides == {"loss_weighting": "inverse_frequency"}
    assert weighted.steps == ("class_weighted_loss",)


def test_parse_plan_keeps_overrides_and_steps() -> None:
    plan = parse_plan(
        {
            "seeds": [4],
            "variants": [
                {"name": "baseline"},
                {
                    "name": "w",
                    "steps": ["class_weighted_loss"],
                    "loss_weighting": "effective_number",
                },
            ],
        },
        "inline",
    )
    assert plan.variants[1].overrides == {"loss_weighting": "effective_number"}
    assert plan.variants[1].steps == ("class_weighted_loss",)


def _run_small_plan(
    data_root: Path, cache_dir: Path, variants: list[dict], jobs: int, **callbacks: Any
) -> None:
    """run_plan on the synthetic RetinaMNIST file: seed 0 of each variant, 2 epochs."""
    from reportgen.data import read_dataset, verify_dataset_file
    from reportgen.experiment_runs import run_plan

    base = BuildConfig(
        dataset="retinamnist", epochs=2, jobs=jobs, cache_dir=cache_dir, allow_unofficial_data=True
    )
    data_file = verify_dataset_file(
        "retinamnist", data_root / "retinamnist.npz", allow_unofficial=True
    )
    plan = parse_plan({"seeds": [0], "variants": variants}, "plan")
    run_plan(base, plan, data_file, lambda: read_dataset("retinamnist", data_file), **callbacks)


def test_a_trained_run_that_cannot_be_read_back_is_named(
    synthetic_retina_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another build replacing the cache meanwhile: the run trained, but its entry is gone."""
    import reportgen.experiment_runs

    monkeypatch.setattr(reportgen.experiment_runs, "_train_missing", lambda *args: None)
    with pytest.raises(ReportgenError) as raised:
        _run_small_plan(synthetic_retina_root, tmp_path / "cache", [{"name": "baseline"}], jobs=1)
    message = str(raised.value)
    assert "The run of baseline, seed 0, was trained but cannot be read back from" in message
    assert str(tmp_path / "cache") in message and "one build at a time per --cache-dir" in message


def test_runs_trained_one_at_a_time_report_every_epoch_of_every_network(
    synthetic_retina_root: Path, tmp_path: Path
) -> None:
    epochs: list[tuple[str, int, int, int]] = []
    _run_small_plan(
        synthetic_retina_root,
        tmp_path / "cache",
        [{"name": "baseline"}, {"name": "pair", "ensemble": 2}],
        jobs=1,
        on_run_epoch=lambda name, seed, stats, total: epochs.append(
            (name, seed, stats.epoch, total)
        ),
    )
    # Each network's epochs in turn, counted against the run's epochs times its networks.
    assert epochs == [("baseline", 0, 1, 2), ("baseline", 0, 2, 2)] + [
        ("pair", 0, epoch, 4) for epoch in (1, 2, 1, 2)
    ]


def test_while_workers_train_the_display_is_told_that_time_passes(
    synthetic_retina_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import reportgen.experiment_runs

    monkeypatch.setattr(reportgen.experiment_runs, "WAITING_SECONDS", 0.05)
    real_wait = reportgen.experiment_runs.wait
    waits = 0

    def first_wait_times_out(pending: Any, *args: Any, **kwargs: Any) -> Any:
        """The first wait ends with nothing finished, however fast the workers are."""
        nonlocal waits
        waits += 1
        return (set(), set(pending)) if waits == 1 else real_wait(pending, *args, **kwargs)

    monkeypatch.setattr(reportgen.experiment_runs, "wait", first_wait_times_out)
    events: list[str] = []
    _run_small_plan(
        synthetic_retina_root,
        tmp_path / "cache",
        [{"name": "baseline"}, {"name": "other", "lr": 0.02}],
        jobs=2,
        on_run=lambda name, seed, total: events.append("finished"),
        on_waiting=lambda: events.append("waiting"),
        on_run_epoch=lambda name, seed, stats, total: events.append("epoch"),
    )
    assert events.count("finished") == 2 and events[0] == "waiting"
    # Workers report only finished runs: the terminal's per-epoch lines ("training <variant>,
    # seed <n>: ...") come from on_run_epoch alone, which only runs trained here call.
    assert "epoch" not in events


def test_a_worker_killed_while_training_is_named_with_what_to_do(
    synthetic_retina_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker the out-of-memory killer ends surfaced as BrokenProcessPool's traceback."""
    import concurrent.futures

    import reportgen.experiment_runs

    class PoolWhoseWorkersDie:
        """What ProcessPoolExecutor gives once a worker process has died: each future fails."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            self._processes: dict = {}

        def __enter__(self) -> Self:
            return self

        def __exit__(self, *exc: object) -> None:
            return None

        def submit(self, *args: Any) -> concurrent.futures.Future:
            future: concurrent.futures.Future = concurrent.futures.Future()
            future.set_exception(BrokenProcessPool("A process in the pool was terminated"))
            return future

        def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None:
            return None

    monkeypatch.setattr(reportgen.experiment_runs, "ProcessPoolExecutor", PoolWhoseWorkersDie)
    with pytest.raises(ReportgenError) as raised:
        _run_small_plan(
            synthetic_retina_root,
            tmp_path / "cache",
            [{"name": "baseline"}, {"name": "other", "lr": 0.02}],
            jobs=2,
        )
    message = str(raised.value)
    assert "A training worker stopped abruptly while " in message
    assert ", seed 0, was training" in message and "with --jobs 1" in message


def test_a_build_whose_runs_workers_train_publishes_them_and_prints_no_epochs(
    synthetic_retina_root: Path, out_dirs: dict[str, Path], runner: CliRunner, tmp_path: Path
) -> None:
    """The whole CLI build with --jobs 2: two runs to train, so two spawned workers train them."""
    plan = tmp_path / "two.toml"
    plan.write_text(
        'seeds = [0]\n[[variants]]\nname = "baseline"\n'
        '[[variants]]\nname = "fast"\nlr = 0.05\n[[variants]]\nname = "slow"\nlr = 0.002\n'
    )
    args = synthetic_build_args(
        str(synthetic_retina_root), "--epochs", "1", "--experiments", str(plan), "--jobs", "2",
        "--no-site", *dir_args(out_dirs),
    )  # fmt: skip
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "experiment runs: 100%" in result.output and "2/2" in result.output
    assert "training fast, seed 0" not in result.output  # workers report finished runs only
    experiments = json.loads((out_dirs["docs"] / "data" / "experiments.json").read_text())
    runs = {variant["name"]: variant["runs"][0] for variant in experiments["variants"]}
    assert runs["baseline"]["reused"] is True  # the main build's run
    worker_threads = max(1, (os.cpu_count() or 1) // 2)
    for name in ("fast", "slow"):
        assert runs[name]["reused"] is False and runs[name]["torch_threads"] == worker_threads
        assert runs[name]["config"]["lr"] == {"fast": 0.05, "slow": 0.002}[name]
    assert runs["fast"]["test"] != runs["slow"]["test"]
    assert "| [fast](#fast)" in (out_dirs["docs"] / "experiments.md").read_text()


def test_build_with_experiments_writes_json_page_and_links(
    synthetic_retina_root: Path, out_dirs: dict[str, Path], runner: CliRunner, tmp_path: Path
) -> None:
    """The runs one at a time (test_a_build_whose_runs_workers_train_... runs --jobs 2); what
    the pages say does not depend on who trained the runs."""
    plan = tmp_path / "small.toml"
    plan.write_text(
        "seeds = [0, 1]\n"
        '[[variants]]\nname = "baseline"\n'
        '[[variants]]\nname = "weighted"\nsteps = ["class_weighted_loss"]\nloss_weighting = "inverse_frequency"\n'
        '[[variants]]\nname = "tuned"\nsteps = ["thresholds"]\nthreshold_tuning = true\n'
    )
    args = synthetic_build_args(
        str(synthetic_retina_root),
        "--epochs",
        "1",
        "--experiments",
        str(plan),
        "--jobs",
        "1",
        *dir_args(out_dirs),
    )
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    assert (
        "experiment runs: 100%" in result.output and "5/5" in result.output
    )  # baseline seed 0 reused
    # One at a time, each run shows its epochs as it trains.
    assert "training weighted, seed 1:" in result.output
    # One progress bar for every figure: the build's 8 and the referral ROC curve (RetinaMNIST
    # has a screening endpoint), each with its phone rendition, and the Experiments page's
    # recall heat map and each variant's 3, all with theirs: 2 × (9 + 1 + 3 × 3).
    assert "figures: 100%" in result.output and "38/38" in result.output
    experiments = json.loads((out_dirs["docs"] / "data" / "experiments.json").read_text())
    assert [v["name"] for v in experiments["variants"]] == ["baseline", "weighted", "tuned"]
    built = json.loads((out_dirs["docs"] / "data" / "results.json").read_text())["config"]
    base_training = {name: built[name] for name in experiments["variants"][0]["runs"][0]["config"]}
    assert base_training["epochs"] == 1 and base_training["loss_weighting"] == "none"
    # Chosen on validation: the best mean validation balanced accuracy.
    by_val = max(experiments["variants"], key=lambda v: v["val_mean"]["balanced_accuracy"])
    assert experiments["recommended"] == by_val["name"]
    for variant in experiments["variants"]:
        assert variant["seeds"] == [0, 1] and len(variant["runs"]) == 2
        for metric in ("accuracy", "auc", "balanced_accuracy", "macro_f1", "per_class_recall"):
            assert metric in variant["mean"] and metric in variant["sd"]
        runs = [run["test"]["balanced_accuracy"] for run in variant["runs"]]
        assert variant["mean"]["balanced_accuracy"] == pytest.approx(sum(runs) / 2)
        for run in variant[
            "runs"
        ]:  # each run's full settings: the build's, the overrides, the seed
            assert run["config"] == {**base_training, **variant["config"], "seed": run["seed"]}
            assert run["torch_threads"] >= 1
    baseline_run = experiments["variants"][0]["runs"][0]
    assert baseline_run["reused"] is True  # the main build's run, not trained twice
    page = (out_dirs["docs"] / "experiments.md").read_text()
    assert "| [weighted](#weighted)" in page and "★" in page
    # Whether the bold means stand clear of the others, over the 2 seeds (test_render checks
    # the counts).
    bold_reading = page.split("read it beside the Called column.")[1].split(" The recommended")[0]
    readings = ("A bold mean is the highest in its column, not proven the best", "Each bold mean")
    assert bold_reading.startswith(tuple(f" {reading}" for reading in readings))
    assert "over the 2 seeds" in bold_reading
    chart = page.split("recall_by_variant.phone.png")[1].splitlines()
    assert (
        chart[1].strip() == "/// caption" and "Mean recall over 2 seeds of each class" in chart[2]
    )
    # The baseline runs the build's settings, which differ from the study's (--epochs 1).
    baseline_section = page.split("### baseline")[1].split("### ")[0]
    assert "The build's settings, which differ from the study's in `epochs = 1`." in (
        baseline_section
    )
    assert "The study's settings, unchanged." not in page
    built_results = json.loads((out_dirs["docs"] / "data" / "results.json").read_text())
    # A variant outside the recommended one's spread that reads as inside it at three decimals
    # (0.4664 - 0.02636 = 0.44004) is named, with the digits that part it from the bound.
    others = iter([0.4659, 0.43989, 0.30])
    edited = copy.deepcopy(experiments)
    for variant in edited["variants"]:
        if variant["name"] == edited["recommended"]:
            variant["val_mean"]["balanced_accuracy"] = 0.4664
            variant["val_sd"] = {"balanced_accuracy": 0.02636}
        else:
            variant["val_mean"]["balanced_accuracy"] = next(others)
    edge = next(
        v["name"] for v in edited["variants"] if v["val_mean"]["balanced_accuracy"] == 0.43989
    )
    spread = render_pages(built_results, edited)["experiments.md"]
    assert (
        f"score within that spread ({edge} at 0.4399 falls just outside: the bound is 0.4400), "
        "so the top variants cannot be told apart on validation"
    ) in spread
    home = (out_dirs["docs"] / "index.md").read_text()
    assert "the study's baseline recipe as this build ran it (with `epochs = 1`)" in home
    # The variants' lines qualify their differences; the page says what the words mean.
    assert "A difference marked *within seed noise* could come from" in page
    assert "A difference marked *alike in every seed* came out" in page
    # The glossary explains the settings some variant uses, and not those none does.
    assert "- **Cross-fitted**: a validation score" in page
    assert "VGG-style network" not in page and "**AdamW**" not in page
    # Each variant's charts say in words what they show: the curves' turning points and the
    # confusion matrix's diagonal, from the run the charts draw (its first seed's).
    class_names = json.loads((out_dirs["docs"] / "data" / "results.json").read_text())["dataset"][
        "class_names"
    ]
    for variant in experiments["variants"]:
        first = variant["runs"][0]
        lowest = min(first["history"], key=lambda row: row["val_loss"])  # one epoch: the last
        assert (
            f"![Loss curves of {variant['name']}, seed 0: validation loss lowest at "
            f"{lowest['val_loss']:.3f} after epoch {lowest['epoch']}]("
        ) in page
        diagonal = ", ".join(
            f"{name}: {row[k]:.2f}"
            for k, (name, row) in enumerate(
                zip(class_names, first["confusion_matrix_normalized"], strict=True)
            )
        )
        assert f"seed 0; recall per class on its diagonal: {diagonal}](" in page
    # The best value of each column is bold, and said in words for a screen reader.
    table = page.split("| Variant | Val balanced accuracy (chooses) |")[1].split("\n\n")[0]
    marked = table.count('**<span class="sr-only"> (best)</span>')
    assert marked >= 5 and table.count("**") == 2 * marked
    # The referral AUC column; tuned reports re-weighted probabilities, and the page says so.
    screening = page.split("## As a screening test")[1].split("## Published results")[0]
    header = (
        "| Share of images referred | Referral AUC | Sensitivity, threshold from validation | "
        "Specificity, threshold from validation |\n"
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n"
    )
    assert header in screening
    assert "tune per-class decision offsets ([tuned](#tuned)) report probabilities" in screening
    assert "| Macro F1 | Grade " in page  # the rarest grade heads its recall column
    assert (
        "| Variant | Val balanced accuracy (chooses) | Accuracy |" in page
    )  # the deciding score first
    # Called <rarest grade>: per run, the test images given that grade (the confusion matrix's
    # column), mean ± sd over seeds.
    train_counts = json.loads((out_dirs["docs"] / "data" / "results.json").read_text())["dataset"][
        "counts"
    ]["train"]
    rarest = int(np.argmin(train_counts))
    for variant in experiments["variants"]:
        called = [np.asarray(run["confusion_matrix"])[:, rarest].sum() for run in variant["runs"]]
        rows = [row for row in page.splitlines() if row.startswith(f"| [{variant['name']}](")]
        line = rows[0]  # the main table (the screening table's row comes later)
        cell = line.split(" | ")[7]  # after the variant, the val column and five test columns
        # Whole, or to one decimal (3.5 images a run), both alike: whole only if both are.
        mean, sd = float(np.mean(called)), float(np.std(called, ddof=1))
        digits = 0 if mean.is_integer() and sd.is_integer() else 1
        mean, sd = fmt_number(mean, digits), fmt_number(sd, digits)
        assert cell == f"{mean}\u00a0±\u00a0{sd}", line
    assert "(the sample standard deviation, dividing by n − 1:" in page  # as computed above
    # The model card's screening numbers are seed 0's; beside them, the recipe's over its seeds,
    # recounted from each baseline run's confusion matrix (referable: grades 2 to 4).
    found = [
        np.asarray(run["confusion_matrix"])[2:, 2:].sum()
        for run in experiments["variants"][0]["runs"]
    ]
    positives = np.asarray(experiments["variants"][0]["runs"][0]["confusion_matrix"])[2:].sum()
    sensitivity = np.array(found) / positives
    card = (out_dirs["docs"] / "model-card.md").read_text()
    assert (
        f"Over the 2 seeds of this build's experiments, the same recipe refers {min(found)} to "
        f"{max(found)} of the {positives}: sensitivity {fmt_number(sensitivity.mean(), 2)}\u00a0±"
        f"\u00a0{fmt_number(sensitivity.std(ddof=1), 2)}, specificity "
    ) in card
    # The recall chart's table: each variant's mean test recall of every class.
    for variant in experiments["variants"]:
        recall_row = next(
            row for row in page.splitlines() if row.startswith(f"    | [{variant['name']}](")
        )
        cells = [cell.strip() for cell in recall_row.strip().strip("|").split("|")][1:]
        assert cells == [fmt_number(recall) for recall in variant["mean"]["per_class_recall"]]
    assert "ResNet-18 (28)" in page
    # Results sets the colour reference beside the study recipe's means over seeds, not only
    # beside this build's one run.
    baseline_means = experiments["variants"][0]["mean"]
    results_page = (out_dirs["docs"] / "results.md").read_text()
    assert (
        "Over the 2 seeds of [Experiments](experiments.md), the same recipe averages accuracy "
        f"{fmt_number(baseline_means['accuracy'])}, AUC {fmt_number(baseline_means['auc'])}"
    ) in results_page
    # The model card says which model it describes when the recommended variant is another.
    card = (out_dirs["docs"] / "model-card.md").read_text()
    assert ("This card is for the build's own run" in card) == (
        experiments["recommended"] != "baseline"
    )
    # overrides read as the experiments file spells them, so they can be copied into one
    assert '`loss_weighting = "inverse_frequency"`' in page and "`threshold_tuning = true`" in page
    home = (out_dirs["docs"] / "index.md").read_text()
    # The referral finding leads with the spread of the study's recipe over its seeds: the fewest
    # and most images graded referable that one of its runs referred. This build's --epochs 1
    # changes the recipe, and the finding says it is the recipe as run here.
    referable = [2, 3, 4]
    found = [
        int(np.asarray(run["confusion_matrix"])[np.ix_(referable, referable)].sum())
        for run in experiments["variants"][0]["runs"]
    ]
    if min(found) < max(found):
        assert (
            f"the study's recipe as this build ran it referred {min(found)} to {max(found)} of the "
        ) in home
    else:  # every seed referred as many: no range to give
        assert f"this build's run refers {found[0]} of the " in home
    # Two variants against the baseline at p < 0.05 each: 0.10 chance passes per column.
    next_steps = (out_dirs["docs"] / "next-steps.md").read_text()
    assert (
        "a column holds 2 comparisons with the baseline, so at 1 in 20 each, chance alone would "
        "leave on average 0.10 of them unmarked"
    ) in next_steps
    chosen = next(v for v in experiments["variants"] if v["name"] == experiments["recommended"])
    assert f"The variant recommended on validation, **[{chosen['name']}](experiments.md#" in home
    assert f"balanced accuracy {chosen['mean']['balanced_accuracy']:.3f}" in home
    steps = (out_dirs["docs"] / "next-steps.md").read_text()
    assert (
        "[weighted](experiments.md#weighted)" in steps and "[tuned](experiments.md#tuned)" in steps
    )
    assert (out_dirs["site"] / "experiments" / "index.html").is_file()
    # The plan that ran is published beside experiments.json, and the page links it.
    published_plan = out_dirs["docs"] / "data" / "experiments.toml"
    assert published_plan.read_text() == plan.read_text()
    assert (out_dirs["site"] / "data" / "experiments.toml").read_text() == plan.read_text()
    assert "published as [experiments.toml](data/experiments.toml)" in page
    assert (out_dirs["docs"] / "figures" / "experiments" / "recall_by_variant.png").is_file()
    for figure in (
        "loss",
        "metrics",
        "confusion",
    ):  # the main build's curves and matrix, per variant
        assert f"(figures/experiments/weighted_{figure}.png)" in page
        assert (out_dirs["docs"] / "figures" / "experiments" / f"weighted_{figure}.png").is_file()

    rerun = runner.invoke(main, args)
    assert rerun.exit_code == 0, rerun.output
    again = json.loads((out_dirs["docs"] / "data" / "experiments.json").read_text())
    assert all(run["reused"] for variant in again["variants"] for run in variant["runs"])

    # A fully cached build, in a fresh process, never imports torch (that is what keeps it fast).
    probe = (
        "import sys; from reportgen.cli import main\n"
        "try:\n    main(sys.argv[1:])\nexcept SystemExit as done:\n    assert done.code == 0, done.code\n"
        "print('torch imported:', 'torch' in sys.modules)"
    )
    cached = subprocess.run(
        [sys.executable, "-c", probe, *args, "--quiet"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "torch imported: False" in cached.stdout, cached.stdout + cached.stderr

    # Re-rendering from the published files keeps the plan beside experiments.json.
    docs_and_site = ["--docs-dir", str(out_dirs["docs"]), "--site-dir", str(out_dirs["site"])]
    rendered = runner.invoke(main, ["render", *docs_and_site])
    assert rendered.exit_code == 0, rendered.output
    assert published_plan.read_text() == plan.read_text()


def test_jobs_auto_gives_each_cpu_worker_four_cores_and_never_more_workers_than_runs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from reportgen.experiment_runs import resolve_jobs

    monkeypatch.setattr("os.cpu_count", lambda: 16)
    assert resolve_jobs(0, "cpu", 40) == 4
    assert resolve_jobs(0, "cpu", 3) == 3
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    assert resolve_jobs(0, "cpu", 40) == 1  # measured: parallel workers were slower on 2 cores
    assert resolve_jobs(0, "cuda", 40) == 2
    assert resolve_jobs(0, "cuda", 6) == 1  # measured on an H100: a second worker's start-up
    assert resolve_jobs(1, "cpu", 40) == 1
    assert resolve_jobs(4, "cpu", 2) == 2


def test_section_anchors_are_the_experiments_pages_own_headings() -> None:
    """SECTION_ANCHORS must follow the template: a new heading would otherwise go unguarded."""
    template = (REPO_ROOT / "templates" / "experiments.md.j2").read_text()
    headings = re.findall(r"^##[ ]+([^{\n]+?)\s*(?:\{ #([\w-]+) \})?$", template, re.MULTILINE)
    anchors = {explicit or variant_slug(title) for title, explicit in headings}
    assert anchors == SECTION_ANCHORS


def test_the_dermamnist_page_quotes_the_issues_references_and_flags_an_unofficial_file(
    synthetic_derma_root: Path, out_dirs: dict[str, Path], runner: CliRunner, tmp_path: Path
) -> None:
    plan = tmp_path / "plan.toml"
    plan.write_text(
        'seeds = [0]\n[[variants]]\nname = "baseline"\n'
        '[[variants]]\nname = "tta"\ndescription = "With TTA."\nmodel = "wide_cnn"\nwidth = 2\ntta = true\n'
        '[[variants]]\nname = "wide"\nmodel = "wide_cnn"\nwidth = 2\n'
    )
    args = synthetic_build_args(
        synthetic_derma_root, "--epochs", "1", "--experiments", str(plan), "--no-site",
        *dir_args(out_dirs), dataset="dermamnist",
    )  # fmt: skip
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    page = (out_dirs["docs"] / "experiments.md").read_text()
    published = page.split("## Published results")[1].split("## Variants")[0]
    assert "| ResNet-18 (28) | 0.735 | 0.917 | 28×28 |" in published
    # Like for like with a build on the official file, not with this one.
    resnet = next(line for line in published.splitlines() if "ResNet-18" in line)
    assert resnet.endswith(
        "| not with this build's file, which is unofficial (with the official file: yes, same "
        "split and resolution, trained from scratch) |"
    )
    assert (
        "| 0.766 | 0.927 | 28×28 (zero-padded to 224×224) | MedMNIST+, Doerrich et al., Scientific "
        "Reports 2025 ([code](https://github.com/sdoerrich97/rethinking-model-prototyping-"
        "MedMNISTPlus)) |"
    ) in published
    assert "pretrained on ImageNet" in published
    reportgen_row = next(line for line in published.splitlines() if "reportgen:" in line)
    assert reportgen_row.endswith("| no: an unofficial file, not the benchmark's images |")
    colour_row = next(line for line in published.splitlines() if "Logistic regression" in line)
    assert colour_row.endswith("| no: an unofficial file, not the benchmark's images |")
    assert "they cannot be compared with the published rows, whatever the gap." in published
    assert "gaps between rows smaller than that" not in published  # no yardstick across data
    # Rendered as an official file's, the same rows are compared, with the test split's yardstick.
    # (The pages alone, from the files as `reportgen render` reads them: an official file's
    # figures name other data, and would all be drawn again.)
    data = out_dirs["docs"] / "data"
    results = json.loads((data / "results.json").read_text())
    results["dataset"]["official"] = True
    experiments_data = json.loads((data / "experiments.json").read_text())
    as_official = render_pages(results, experiments_data)["experiments.md"]
    as_official = as_official.split("## Published results")[1]
    assert "gaps between rows smaller than that do not show that one model is better" in as_official
    # The yardstick is half the width of this build's accuracy interval, as Results gives it.
    interval = results["test"]["intervals"]["accuracy"]
    assert (
        f"carries a 95% interval of about ±{fmt_number((interval['high'] - interval['low']) / 2, 2)}"
        " (this build's seed-0 run:"
    ) in as_official
    assert "cannot be compared with the published rows" not in as_official
    assert "| yes: same split and resolution, trained from scratch |" in as_official
    assert "not with this build's file" not in as_official
    assert "validation images its score was" in page and "the runner-up's, [" in page
    # A validation lead that rounds to nothing is said so, not given as "a lead of 0.000".
    for variant in experiments_data["variants"]:
        chosen = variant["name"] == experiments_data["recommended"]
        variant["val_mean"]["balanced_accuracy"] = 0.4664 if chosen else 0.4659
    tie = render_pages(results, experiments_data)["experiments.md"]
    assert "0.466: the same to three decimals, a lead too small to show" in tie
    assert "a lead of 0.000" not in tie
    for variant in experiments_data["variants"]:
        chosen = variant["name"] == experiments_data["recommended"]
        variant["val_mean"]["balanced_accuracy"] = 0.466 if chosen else 0.465
    lead = render_pages(results, experiments_data)["experiments.md"]
    assert "0.465: a lead of 0.001." in lead and "too small to show" not in lead
    # Each variant's charts in words (alt text), from its first run's curves: here the baseline's,
    # given four epochs whose best are not the last.
    baseline_run = experiments_data["variants"][0]["runs"][0]
    baseline_run["history"] = [
        {**baseline_run["history"][0], "epoch": epoch, "val_loss": loss, "val_auc": auc}
        for epoch, loss, auc in ((1, 1.0, 0.70), (2, None, None), (3, 0.8, 0.75), (4, 0.9, 0.74))
    ]
    curves = render_pages(results, experiments_data)["experiments.md"]
    assert (
        "![Loss curves of baseline, seed 0: validation loss lowest at 0.800 after epoch 3, 0.900 "
        "after the last, epoch 4](figures/experiments/baseline_loss.png)"
    ) in curves
    assert (
        "![Accuracy and AUC per epoch of baseline, seed 0: validation AUC highest at 0.750 after "
        "epoch 3, 0.740 after the last, epoch 4](figures/experiments/baseline_metrics.png)"
    ) in curves
    # One seed: each cell is that run's score, with no "± 0.000" posing as a spread.
    assert "trained from scratch once (seed 0). The table's second column is the validation" in page
    table = page.split("| Variant | Val balanced accuracy (chooses) |")[1].split("\n\n")[0]
    screening_table = page.split("## As a screening test")[1].split("## Published results")[0]
    assert "±" not in table and "±" not in screening_table
    assert "\n\n| Variant | Val balanced" in page  # a table, not text run on from the paragraph
    # The screening table, recomputed from each run's confusion-matrix counts (akiec, bcc, melanoma).
    experiments = json.loads((out_dirs["docs"] / "data" / "experiments.json").read_text())
    screening = page.split("## As a screening test")[1].split("## Published results")[0]
    for variant in experiments["variants"]:
        matrix = np.asarray(variant["runs"][0]["confusion_matrix"])
        group = [0, 1, 4]
        others = [2, 3, 5, 6]
        sensitivity = matrix[np.ix_(group, group)].sum() / matrix[group].sum()
        specificity = matrix[np.ix_(others, others)].sum() / matrix[others].sum()
        star = (
            ' <span aria-hidden="true">★</span><span class="sr-only">(recommended)</span>'
            if variant["name"] == experiments["recommended"]
            else ""
        )
        name = f"[{variant['name']}](#{variant_slug(variant['name'])}){star}"
        row = f"| {name} | {sensitivity:.2f} | {specificity:.2f} |"
        assert row in screening, screening
        # The referral AUC, recomputed with scikit-learn from the run's cached probabilities.
        run = cache.load_run(out_dirs["cache"], variant["runs"][0]["key"])
        assert run is not None
        in_group = np.isin(run.test_labels, group)
        auc = roc_auc_score(in_group, run.test_probabilities[:, group].sum(axis=1))
        assert variant["runs"][0]["referral_auc"] == pytest.approx(auc)
        # The threshold set on validation for 90% sensitivity, recomputed and counted on test.
        val_score = run.val_probabilities[:, group].sum(axis=1)
        val_group = np.sort(val_score[np.isin(run.val_labels, group)])[::-1]
        threshold = val_group[int(np.ceil(0.9 * val_group.size)) - 1]
        referred = run.test_probabilities[:, group].sum(axis=1) >= threshold
        at_target = {
            "sensitivity": referred[in_group].mean(),
            "specificity": (~referred[~in_group]).mean(),
        }
        assert variant["runs"][0]["referral_at_target"] == pytest.approx(at_target)
        cells = f"| {auc:.2f} | {at_target['sensitivity']:.2f} | "
        assert cells + f"{at_target['specificity']:.2f} |\n" in screening.split(name)[1]
    assert "| Share of images referred | Referral AUC |" in screening
    results_page = (out_dirs["docs"] / "results.md").read_text()
    assert (
        "the [Experiments](experiments.md#screening-by-variant) page gives every variant's"
        in results_page
    )
    # The main run's referral AUC, recomputed from the predictions file the build publishes.
    predictions = pd.read_csv(out_dirs["docs"] / "data" / "predictions.csv")
    score = predictions[[f"prob_{k}" for k in group]].sum(axis=1)
    auc = roc_auc_score(predictions["label"].isin(group), score)
    written = json.loads((out_dirs["docs"] / "data" / "results.json").read_text())["referral_auc"]
    assert written["estimate"] == pytest.approx(auc, abs=1e-3)  # the file keeps 6 decimals
    assert written["low"] <= written["estimate"] <= written["high"]
    assert f"one that should not with probability **{auc:.2f}**" in results_page
    # Sensitivity class by class within the group, recomputed from the predictions file.
    names = json.loads((out_dirs["docs"] / "data" / "results.json").read_text())["dataset"][
        "class_names"
    ]
    probabilities = predictions[[f"prob_{k}" for k in range(len(names))]].to_numpy()
    referred = np.isin(probabilities.argmax(axis=1), group)
    for k in group:
        of_class = (predictions["label"] == k).to_numpy()
        count = f"{referred[of_class].sum()}&nbsp;of&nbsp;{of_class.sum()}"
        assert f"| &emsp;of which *{names[k]}*, referred | {count} |" in results_page
    assert "![Referral ROC curve" in results_page
    # A file whose runs keep no referral AUC (written before they did): header and cells still
    # name the same columns.
    experiments_file = out_dirs["docs"] / "data" / "experiments.json"
    for variant in experiments["variants"]:
        for run in variant["runs"]:
            run["referral_auc"] = None
    experiments_file.write_text(json.dumps(experiments))
    result = runner.invoke(main, ["render", "--no-site", "--docs-dir", str(out_dirs["docs"])])
    assert result.exit_code == 0, result.output
    rerendered = (out_dirs["docs"] / "experiments.md").read_text()
    table = rerendered.split("## As a screening test")[1].split("\n\n| Variant |")[1]
    table = table.split("\n\n")[0]
    header, _rule, *rows = ("| Variant |" + table).splitlines()
    assert header == (
        "| Variant | Sensitivity | Specificity | Share of images referred | Sensitivity, threshold "
        "from validation | Specificity, threshold from validation |"
    )
    assert len(rows) == 3 and all(row.count("|") == header.count("|") for row in rows)
    assert (out_dirs["docs"] / "figures" / "referral_roc.png").is_file()
    for built in (out_dirs["docs"]).glob("*.md"):
        assert_blocks_set_apart(built.name, built.read_text())
    steps = (out_dirs["docs"] / "next-steps.md").read_text()
    beyond = steps.split("## Beyond the study's steps")[1]  # tta is not one of the study's steps
    assert "- [tta](experiments.md#tta): accuracy " in beyond
    assert "(test, one run, seed 0, versus" in steps and "trained from scratch once " in page
    assert "[baseline]" not in beyond
    # A variant with another network shows it layer by layer; the study's CNN is on the Model page.
    baseline_section = page.split("### baseline")[1].split("### tta")[0]
    tta, wide = page.split("### tta")[1].split("### wide")[0], page.split("### wide")[1]
    assert '=== "Network"' in tta and '=== "Network"' in wide
    assert '=== "Network"' not in baseline_section
    # Listed once, layer by layer: the other variant that trains the same network links to it.
    assert page.count("A wider VGG-style network") == 1 and page.count("| **Total** |") == 1
    assert re.search(
        r"The same layers as the network of \[(tta|wide)\]\(#(tta|wide)\), whose "
        r"Network tab lists them\.",
        page,
    )
    # Each variant's details fold away but the recommended one's; the class total is said once.
    # Each note's label names its variant, so a screen reader's list of them tells them apart.
    for variant in experiments["variants"]:
        folded = "???+" if variant["name"] == experiments["recommended"] else "???"
        assert f'\n{folded} info "{variant["name"]}: recall per class, the seed-0 run' in page
    assert page.count('???+ info "') == 1
    assert page.count("*melanoma* images") == 1 and "(the test split has" not in page
    assert '??? info "Terms used on this page"' in page
    assert "**Melanoma recall**: the share of melanoma test images found." in page
    assert (
        "\n        This network kept its weights after epoch 1 of the 1 it trained: the last one."
        in tta
    )
    assert "With TTA.\n\nOverrides of the baseline: `" in tta and "`tta = true`" in tta  # apart


def test_seeds_default_to_three() -> None:
    plan = parse_plan({"variants": [{"name": "baseline"}]}, "inline")
    assert plan.seeds == [0, 1, 2]


def test_a_variants_figures_name_it_and_share_scales_with_the_other_variants(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Downloaded on its own, a variant's figure still says whose run it shows; and every
    variant's curves use one y scale, so flipping between their tabs compares heights."""
    import matplotlib.axes

    from reportgen.figure_plan import experiment_figure_jobs

    titles: list[str] = []
    limits: list[tuple[str, tuple[float, float]]] = []
    real_set_title = matplotlib.axes.Axes.set_title

    def record(self: matplotlib.axes.Axes, label: str, *args: object, **kwargs: object) -> object:
        titles.append(label)
        return real_set_title(self, label, *args, **kwargs)

    def savefig(self: matplotlib.figure.Figure, *args: object, **kwargs: object) -> None:
        limits.extend((ax.get_ylabel(), ax.get_ylim()) for ax in self.axes)

    monkeypatch.setattr(matplotlib.axes.Axes, "set_title", record)
    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", savefig)

    def history(level: float) -> list[dict[str, float]]:
        """Two epochs at which every loss and score is level, then twice level."""
        keys = [
            f"{split}_{name}" for split in ("train", "val") for name in ("loss", "accuracy", "auc")
        ]
        return [{key: level * epoch for key in keys} | {"epoch": epoch} for epoch in (1, 2)]

    variants = [
        {
            "name": name,
            "mean": {"per_class_recall": [1.0, 0.5]},
            "runs": [
                {
                    "seed": 7,
                    "history": history(level),
                    "confusion_matrix_normalized": [[1.0, 0.0], [0.5, 0.5]],
                }
            ],
        }
        for name, level in (("weighted", 0.2), ("plain", 0.4))
    ]
    dataset = {"name": "A", "official": True, "class_names": ["a", "b"]}  # results.json's
    jobs = experiment_figure_jobs({"seeds": [7], "variants": variants}, dataset, tmp_path)
    # The recall chart's title says over how many seeds it averages (none: one seed).
    titles.clear()
    jobs["experiments/recall_by_variant"]()
    assert titles == ["Per-class recall on test"]
    titles.clear()
    experiment_figure_jobs({"seeds": [7, 8], "variants": variants}, dataset, tmp_path)[
        "experiments/recall_by_variant"
    ]()
    assert titles == ["Per-class recall on test, mean over 2 seeds"]
    for name in ("loss", "metrics", "confusion"):
        for suffix in ("", ".phone"):
            titles.clear()
            jobs[f"experiments/weighted_{name}{suffix}"]()
            assert titles and titles[0].startswith("weighted, seed 7\n"), titles
    # A long name is shortened in a phone rendition's title, its seed kept; in full elsewhere.
    long_name = "weighted-loss-with-effective-numbers-and-a-long-name"
    named = [{**variants[0], "name": long_name}]
    long_jobs = experiment_figure_jobs({"seeds": [7], "variants": named}, dataset, tmp_path)
    for name in ("loss", "metrics", "confusion"):
        shown = {}
        for suffix in ("", ".phone"):
            titles.clear()
            long_jobs[f"experiments/{variant_slug(long_name)}_{name}{suffix}"]()
            shown[suffix] = titles[0].split("\n")[0]
        assert shown[""] == f"{long_name}, seed 7"
        assert shown[".phone"] == "weighted-loss-with-effect…, seed 7"
    by_axis: dict[str, set[tuple[float, float]]] = {}
    for variant in ("weighted", "plain"):
        limits.clear()
        jobs[f"experiments/{variant}_loss"]()
        jobs[f"experiments/{variant}_metrics"]()
        for label, ylim in limits:
            by_axis.setdefault(label, set()).add(ylim)
    assert set(by_axis) == {"cross-entropy loss", "accuracy", "AUC"}
    # One scale per axis for both variants, holding both: values 0.2-0.4 and 0.4-0.8.
    for label, scales in by_axis.items():
        assert len(scales) == 1, (label, scales)
        low, high = scales.pop()
        assert low <= 0.2 and high >= 0.8 and high <= 1.0, label


@pytest.fixture()
def trained_seeds(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The seed of every run trained in this process, in order; each also writes
    "<training starts>" to stderr as it begins."""
    import reportgen.runner

    seeds: list[int] = []
    real_run_training = reportgen.runner.run_training

    def run_training(dataset: object, config: BuildConfig, *a: object, **kw: object) -> object:
        seeds.append(config.seed)
        sys.stderr.write("<training starts>\n")
        return real_run_training(dataset, config, *a, **kw)

    monkeypatch.setattr(reportgen.runner, "run_training", run_training)
    return seeds


def test_the_runs_bar_shows_before_the_first_run_trains_and_load_is_not_announced_twice(
    earlier_build: dict[str, Path],
    out_dirs: dict[str, Path],
    runner: CliRunner,
    tmp_path: Path,
    trained_seeds: list[int],
) -> None:
    """The main run is cached (the earlier build's, with the same settings), so the data is
    first loaded inside the experiments stage."""
    shutil.copytree(earlier_build["cache"], out_dirs["cache"])
    args = synthetic_build_args(
        str(earlier_build["data"]), "--epochs", "1", "--no-site", *dir_args(out_dirs)
    )
    plan = tmp_path / "one.toml"
    plan.write_text('seeds = [5]\n[[variants]]\nname = "baseline"\n')
    result = runner.invoke(main, [*args, "--experiments", str(plan)])
    assert result.exit_code == 0, result.output
    assert trained_seeds == [5]  # only the plan's run: the main run came from the cache
    output = result.output
    assert output.count("[reportgen] load") == 1, output
    assert output.index("0/1") < output.index("<training starts>") < output.index("1/1"), output


def test_retrain_with_experiments_trains_the_main_run_once(
    synthetic_retina_root: Path,
    out_dirs: dict[str, Path],
    runner: CliRunner,
    tmp_path: Path,
    trained_seeds: list[int],
) -> None:
    """The plan's baseline at seed 0 is the build's own run: --retrain trains it for the build,
    and the experiments take it from there instead of training it a second time."""
    plan = tmp_path / "two.toml"
    plan.write_text('seeds = [0, 1]\n[[variants]]\nname = "baseline"\n')
    args = synthetic_build_args(
        str(synthetic_retina_root), "--epochs", "1", "--no-site", "--jobs", "1",
        "--experiments", str(plan), *dir_args(out_dirs),
    )  # fmt: skip
    assert runner.invoke(main, args).exit_code == 0
    trained_seeds.clear()
    result = runner.invoke(main, [*args, "--retrain"])
    assert result.exit_code == 0, result.output
    assert trained_seeds == [0, 1]  # the build's run, then the plan's seed 1; seed 0 not again


@pytest.mark.parametrize(
    ("options", "plan_text", "expected"),
    [
        (["--patience", "3"], None, "patience = 3 with select_epoch = last"),
        (["--seed", str(MAX_SEED - 1500), "--ensemble", "3"], None, "Choose a seed of at most"),
        (
            [],
            (
                f"seeds = [0, {MAX_SEED - 1500}]\n"
                '[[variants]]\nname = "baseline"\n[[variants]]\nname = "trio"\nensemble = 3\n'
            ),
            f"variant 'trio', seed {MAX_SEED - 1500}: seed",
        ),
        (
            [],
            'seeds = [0]\n[[variants]]\nname = "baseline"\n[[variants]]\nname = "stop"\npatience = 2\n',
            "variant 'stop', seed 0: patience = 2 with select_epoch = last",
        ),
        (
            [],
            (
                'seeds = [0, 1, 2000]\n[[variants]]\nname = "baseline"\n'
                '[[variants]]\nname = "trio"\nensemble = 3\n'
            ),
            "variant 'trio': seeds 0 and 2000 would both train the network of seed 2000",
        ),
        (  # every variant inherits --ensemble, the baseline first
            ["--ensemble", "2"],
            'seeds = [5, 1005]\n[[variants]]\nname = "baseline"\n',
            "variant 'baseline': seeds 5 and 1005 would both train the network of seed 1005",
        ),
    ],
    ids=[
        "patience-without-selection",
        "ensemble-seed-overflow",
        "plan-seed",
        "plan-patience",
        "plan-seeds-share-networks",
        "build-ensemble-shares-networks",
    ],
)
def test_settings_that_do_not_work_together_fail_before_any_folder_is_made(
    tmp_path: Path,
    runner: CliRunner,
    out_dirs: dict[str, Path],
    options: list[str],
    plan_text: str | None,
    expected: str,
) -> None:
    """Each value is allowed alone; together they would do nothing (patience) or crash after the
    first network trained (a seed past numpy's range)."""
    plan = tmp_path / "plan.toml"
    if plan_text is not None:
        plan.write_text(plan_text)
    extra = ["--experiments", str(plan)] if plan_text is not None else []
    args = ["build", "--data-root", str(tmp_path), *dir_args(out_dirs), *options, *extra]
    result = runner.invoke(main, args)
    # Options alone that do not work together are a bad command line (2); a plan's, a bad file.
    assert result.exit_code == (2 if plan_text is None else 1), result.output
    assert "Traceback" not in result.output
    assert expected in " ".join(result.output.split())
    assert not any(folder.exists() for folder in out_dirs.values())


def test_the_study_and_every_run_of_the_shipped_plan_pass_the_settings_check() -> None:
    study = BuildConfig(experiments=REPO_ROOT / "experiments.toml")
    check_settings(study, load_plan(REPO_ROOT / "experiments.toml"))  # raises on a conflict
    assert settings_conflict(BuildConfig(seed=MAX_SEED)) is None  # the top seed is fine


@pytest.mark.parametrize(
    ("variant", "base", "phrase"),
    [
        ("width = 64", {}, 'width = 64 changes nothing, because its model is "study_cnn"'),
        (
            'optimizer = "adamw"\nmomentum = 0.9',
            {},
            (
                'momentum = 0.9 changes nothing, because its optimizer is "adamw"; it matters only '
                'with optimizer = "sgd"'
            ),
        ),
        ("effective_number_beta = 0.99", {"loss_weighting": "inverse_frequency"}, "beta"),
        (
            "momentum = 0.9",
            {"optimizer": "adamw"},
            'its optimizer is "adamw" (from the build\'s --optimizer); it matters only',
        ),
        ("width = 64", {"model": "wide_cnn"}, None),  # the build's model makes it count
        ('model = "study_cnn"', {"model": "wide_cnn", "width": 64}, None),  # inherited: not its own
    ],
)
def test_a_variant_setting_that_changes_nothing_is_refused(
    tmp_path: Path, variant: str, base: dict[str, object], phrase: str | None
) -> None:
    """It would train the same networks as without it, under another name, for every seed."""
    path = tmp_path / "plan.toml"
    path.write_text(f'[[variants]]\nname = "base"\n[[variants]]\nname = "v"\n{variant}\n')
    config = BuildConfig(experiments=path, **base)  # type: ignore[arg-type]
    if phrase is None:
        check_settings(config, load_plan(path))
        return
    with pytest.raises(ReportgenError) as raised:
        check_settings(config, load_plan(path))
    assert f"{path}, variant 'v': " in str(raised.value) and phrase in str(raised.value)
    assert "Set that in the variant, or drop" in str(raised.value)


def test_variant_sections_read_settings_inherited_from_the_build(
    synthetic_retina_root: Path, out_dirs: dict[str, Path], runner: CliRunner, tmp_path: Path
) -> None:
    """--ensemble 2 on the command line reaches every variant that does not override it: each
    variant's section says so in its Seed and Curves tabs alike."""
    plan = tmp_path / "inherit.toml"
    plan.write_text(
        'seeds = [0]\n[[variants]]\nname = "baseline"\n'
        '[[variants]]\nname = "picky"\nselect_epoch = "val_auc"\n'
    )
    args = synthetic_build_args(
        str(synthetic_retina_root), "--epochs", "1", "--ensemble", "2", "--no-site",
        "--experiments", str(plan), *dir_args(out_dirs),
    )  # fmt: skip
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    page = (out_dirs["docs"] / "experiments.md").read_text()
    assert page.count("The first of its 2 networks kept its weights after epoch 1") == 2
    assert page.count("The curves are those of the first of the run's 2 networks") == 2
    assert "the one with the best validation AUC" in page.split("## picky")[1]
    assert "the last one" in page.split("## baseline")[1].split("## picky")[0]


def test_a_build_without_a_test_auc_renders_again_from_its_own_files(
    out_dirs: dict[str, Path], runner: CliRunner, tmp_path: Path
) -> None:
    """A test split of one class has no AUC, and the other classes no recall (nor validation
    AUC on a validation split of one class): NaN in the build, null in the JSON files it writes. The build's pages and figures are made from the files'
    form, so `reportgen render` of its output (figures redrawn) reads what the build read, and
    the pages say n/a, not that a class without test images is never found."""
    # Validation of one class too: no validation AUC, so curves with missing points.
    n_val, n_test = sum(RETINAMNIST_COUNTS["val"]), sum(RETINAMNIST_COUNTS["test"])
    counts = {**RETINAMNIST_COUNTS, "val": [n_val, 0, 0, 0, 0], "test": [n_test, 0, 0, 0, 0]}
    write_synthetic_npz(tmp_path / "data" / "retinamnist.npz", counts)
    plan = tmp_path / "plan.toml"
    plan.write_text('seeds = [0, 1]\n[[variants]]\nname = "baseline"\n')
    args = synthetic_build_args(
        tmp_path / "data", "--epochs", "1", "--experiments", str(plan), "--no-site",
        *dir_args(out_dirs),
    )  # fmt: skip
    built = runner.invoke(main, args)
    assert built.exit_code == 0, built.output
    experiments = json.loads((out_dirs["docs"] / "data" / "experiments.json").read_text())
    assert all(variant["mean"]["auc"] is None for variant in experiments["variants"])
    for run in experiments["variants"][0]["runs"]:
        assert run["test"]["per_class_recall"][1:] == [None] * 4  # no image to find or miss

    def read_pages() -> dict[str, str]:  # but Reproducibility, which shows each stage's time
        return {
            path.name: path.read_text()
            for path in out_dirs["docs"].glob("*.md")
            if path.name != "reproducibility.md"
        }

    pages = read_pages()
    (out_dirs["docs"] / "data" / "figures.sha256").unlink()  # every figure drawn again
    rendered = runner.invoke(main, ["render", "--docs-dir", str(out_dirs["docs"]), "--no-site"])
    assert rendered.exit_code == 0, rendered.output
    assert "figures: 100%" in rendered.output
    assert read_pages() == pages
    assert "| AUC | n/a |" in pages["index.md"]
    assert (
        "- The test split holds no image of **grade 1**, **grade 2**, **grade 3** or **grade 4**: "
        "how well the model finds them cannot be measured here (recall n/a)."
    ) in pages["index.md"]
    assert "never found" not in pages["index.md"]
    assert "- The only class with test images is **grade 0** (" in pages["index.md"]
    assert "least-found" not in pages["index.md"] and "best-found" not in pages["index.md"]
    assert "never predicts" not in pages["index.md"]  # no fault in calling no absent class
    assert "Every class with test images is found at least once" in pages["next-steps.md"]
    assert "recall (below) lags" not in pages["next-steps.md"]  # its rare classes are untested
    assert (
        "what it buys *grade 1*, *grade 2*, *grade 3* or *grade 4*, without test"
        in (pages["next-steps.md"])
    )
    # Nothing to refer: no "refers 0 of the 0 images".
    assert (
        "- **Referred**: none: the test split holds no images graded referable"
        in (pages["index.md"])
    )
    assert "of the 0 " not in pages["index.md"]
    assert "| grade 4 | 6.1% | n/a |" in pages["next-steps.md"]  # rarest in training, untested
    # Precision, recall, interval, F1: all 0 of 0 (sklearn's report prints 0.00 for three).
    assert (
        '| grade 4 | n/a | n/a | <span class="nowrap">n/a</span> | n/a | 0 |'
        in (pages["results.md"])
    )
    assert (
        "The test split holds no image of *grade 1*, *grade 2*, *grade 3* or *grade 4*: their "
        "recall is n/a, and so are their precision and F1, since no test image was called any of "
        "them; the averages leave out a class neither held nor called."
    ) in pages["results.md"]
    assert "| *macro avg* | 1.00 | 1.00 | | 1.00 |" in pages["results.md"]  # not 0.20 (1 / 5)
    assert "called no test image" not in pages["results.md"]  # no class with images uncalled
    assert "A row of dashes is a class without test images." in pages["results.md"]
    # No class has a curve, so there is no ROC figure, only a sentence saying why.
    assert "are all of one class." in pages["results.md"]
    assert "roc_curves" not in pages["results.md"]
    assert not (out_dirs["docs"] / "figures" / "roc_curves.png").exists()
    assert (
        "are: there are none among these test images, so the sensitivity cannot be measured."
        in (pages["results.md"])
    )
    assert "more than in most screened populations" not in pages["results.md"]
    assert "A dash marks a class without test images." in pages["experiments.md"]
    table_row = next(
        line for line in pages["experiments.md"].splitlines() if "| [baseline]" in line
    )
    assert "| n/a |" in table_row
    assert not any(re.search(r"n/a\W+±", page) for page in pages.values())  # no spread of nothing
    hub_card = (out_dirs["docs"] / "data" / "model_card.md").read_text()
    assert "type: accuracy" in hub_card
    assert "roc_auc" not in hub_card  # the Hub's metrics need a value
