"""The RetinaMNIST screen runs, and never needs the test split."""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import replace
from pathlib import Path
from types import ModuleType

import numpy as np
import torch

from tests.conftest import REPO_ROOT


def _load_script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, REPO_ROOT / "benchmarks" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the file executes
    spec.loader.exec_module(module)
    return module


def test_screen_scores_on_a_train_holdout_plus_val_from_a_file_without_test(
    tmp_path: Path,
) -> None:
    explore = _load_script("explore_retinamnist")
    rng = np.random.default_rng(0)
    arrays = {
        "train_images": rng.integers(0, 256, (1080, 28, 28, 3), dtype=np.uint8),
        "train_labels": rng.integers(0, 5, (1080, 1)),
        "val_images": rng.integers(0, 256, (120, 28, 28, 3), dtype=np.uint8),
        "val_labels": rng.integers(0, 5, (120, 1)),
    }  # no test_* arrays: the screen must not need them
    np.savez(tmp_path / "retinamnist.npz", **arrays)
    data = explore.load_screen_data(tmp_path)
    assert data.fit_images.shape == (1080 - explore.HOLDOUT_SIZE, 3, 28, 28)
    assert data.score_labels.shape == (explore.HOLDOUT_SIZE + 120,)
    assert np.array_equal(data.score_labels[-120:], arrays["val_labels"].ravel())
    runs, _seconds = explore.screen(data, replace(explore.BASE, width=4, epochs=1, mixup_alpha=0.4))
    assert len(runs) == len(explore.SEEDS)
    assert all(0 <= run["accuracy"] <= 1 and 0 <= run["auc"] <= 1 for run in runs)


def test_ordinal_loss_penalises_a_far_grade_more_than_a_near_one() -> None:
    explore = _load_script("explore_retinamnist")
    target = torch.tensor([[0.0, 0.0, 1.0, 0.0, 0.0]])
    near = torch.tensor([[0.0, 0.0, 0.0, 8.0, 0.0]])  # confident in grade 3, truth grade 2
    far = torch.tensor([[0.0, 0.0, 0.0, 0.0, 8.0]])  # confident in grade 4
    assert explore.soft_loss("ordinal_emd", far, target) > explore.soft_loss(
        "ordinal_emd", near, target
    )
    # plain cross-entropy cannot tell the two mistakes apart
    assert torch.isclose(
        explore.soft_loss("cross_entropy", far, target),
        explore.soft_loss("cross_entropy", near, target),
    )
