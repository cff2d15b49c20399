"""Diverged training stops with a message naming the epoch and a lower learning rate; nothing is published."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

import reportgen.train
from reportgen.cli import main
from tests.conftest import assert_clean_failure, dir_args, synthetic_build_args, tree_digest


def _build(earlier_build: dict[str, Path], *extra: str) -> object:
    return CliRunner().invoke(
        main,
        synthetic_build_args(
            str(earlier_build["data"]), "--epochs", "2", *extra, *dir_args(earlier_build)
        ),
    )


def test_huge_learning_rate_diverges_and_publishes_nothing(earlier_build: dict[str, Path]) -> None:
    before = {name: tree_digest(earlier_build[name]) for name in ("docs", "site", "cache")}
    result = _build(earlier_build, "--lr", "1e6")
    assert result.exit_code == 1
    assert_clean_failure(
        result,
        "Training diverged in epoch 1",
        "--lr 1e+06 is too high",
        "e.g. --lr 0.01, the study's.",
    )
    assert {name: tree_digest(earlier_build[name]) for name in ("docs", "site", "cache")} == before


def test_weights_broken_by_the_last_step_are_caught(
    earlier_build: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A finite epoch loss can hide NaN weights from the epoch's final step; val outputs show them."""
    real_epoch = reportgen.train.train_one_epoch
    epochs_run = []

    def epoch_that_breaks_weights_in_epoch_2(model: torch.nn.Module, *args: object) -> object:
        outcome = real_epoch(model, *args)
        epochs_run.append(1)
        if len(epochs_run) == 2:
            with torch.no_grad():
                for parameter in model.parameters():
                    parameter.fill_(float("nan"))
        return outcome

    monkeypatch.setattr(reportgen.train, "train_one_epoch", epoch_that_breaks_weights_in_epoch_2)
    before = {name: tree_digest(earlier_build[name]) for name in ("docs", "site")}
    result = _build(earlier_build, "--retrain")
    assert_clean_failure(
        result, "Training diverged in epoch 2", "outputs on the val split became NaN", "--lr 0.001"
    )
    assert {name: tree_digest(earlier_build[name]) for name in ("docs", "site")} == before
