"""The benchmark scripts run: the RetinaMNIST screen never needs the test split; bench_train
times the reference and each of its rows."""

from __future__ import annotations

import importlib.util
import itertools
import sys
from dataclasses import replace
from pathlib import Path
from types import ModuleType, SimpleNamespace

import numpy as np
import pytest
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
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    explore = _load_script("explore_retinamnist")
    monkeypatch.setattr(explore, "SEEDS", (0, 1))  # two runs per idea are enough to check a row
    # The blended floor with 10 boosting rounds, not 200: the blend is what is checked here.
    features, make_model = explore.FLOORS["gradient boosting on image features"]
    quick_gbm = (features, lambda: make_model().set_params(max_iter=10))
    monkeypatch.setitem(explore.FLOORS, "gradient boosting on image features", quick_gbm)
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
    tiny = replace(explore.BASE, width=4, epochs=1)
    for idea in (
        replace(tiny, mixup_alpha=0.4),
        replace(tiny, loss="grade_regression", input_scale=2, ema_decay=0.9),
        replace(tiny, preprocess="local_contrast_stacked", batch_size=32, blend_gbm=0.3),
    ):
        runs, _seconds = explore.screen(data, idea)
        assert len(runs) == len(explore.SEEDS)
        assert all(0 <= run["accuracy"] <= 1 and 0 <= run["auc"] <= 1 for run in runs)
    features = explore.image_features(data.score_images)
    assert features.shape[0] == data.score_labels.shape[0] and np.isfinite(features).all()


def test_screen_preprocessing_removes_what_it_claims_to() -> None:
    """Local contrast leaves nothing of a flat image; per-image standardisation leaves each
    channel of each image with mean 0 and sd 1; stacking keeps the image beside its contrast."""
    explore = _load_script("explore_retinamnist")
    flat = torch.full((2, 3, 28, 28), 0.3)
    assert torch.allclose(
        explore.preprocess("local_contrast", flat), torch.zeros_like(flat), atol=1e-6
    )
    images = torch.rand(2, 3, 28, 28)
    stacked = explore.preprocess("local_contrast_stacked", images)
    assert stacked.shape == (2, 6, 28, 28) and torch.equal(stacked[:, :3], images)
    standardised = explore.preprocess("per_image", images)
    assert torch.allclose(standardised.mean((2, 3)), torch.zeros(2, 3), atol=1e-5)
    assert torch.allclose(standardised.std((2, 3)), torch.ones(2, 3), atol=1e-4)
    assert torch.equal(explore.preprocess("none", images), images)


def test_the_screens_resnet_keeps_28_pixels_through_its_stem() -> None:
    """MedMNIST's 28-pixel ResNet-18: a 3x3 stride-1 stem without max-pooling, so the first
    residual block sees the whole 28x28 image; one output per class."""
    explore = _load_script("explore_retinamnist")
    network = explore.residual_network(3, 5)
    seen: list[tuple[int, ...]] = []
    network.layer1.register_forward_hook(lambda _m, _i, output: seen.append(tuple(output.shape)))
    with torch.no_grad():
        assert network.eval()(torch.zeros(2, 3, 28, 28)).shape == (2, 5)
    assert seen == [(2, 64, 28, 28)]
    screen_network = explore.ScreenNetwork(replace(explore.BASE, architecture="resnet18"), 3, 5)
    assert type(screen_network.network).__name__ == "ResNet"


class _FixedOutput(torch.nn.Module):
    def __init__(self, output: torch.Tensor) -> None:
        super().__init__()
        self.output = output

    def forward(self, _images: torch.Tensor) -> torch.Tensor:
        return self.output


def test_a_regressed_grade_scores_the_nearest_class_highest() -> None:
    explore = _load_script("explore_retinamnist")
    network = explore.ScreenNetwork(replace(explore.BASE, loss="grade_regression"), 3, 5)
    predicted = torch.tensor([[0.2], [2.4], [3.9], [7.0]])
    network.network = _FixedOutput(predicted)  # stands in for the CNN's one output, the grade
    scores = network(torch.zeros(4, 3, 28, 28))
    assert scores.shape == (4, 5)
    assert scores.argmax(1).tolist() == [0, 2, 4, 4]
    # classes are ranked by distance from the predicted grade: 2.4 is nearer 3 than 1
    assert scores[1, 3] > scores[1, 1] > scores[1, 0]


def test_weight_averaging_returns_the_average_with_batch_norm_statistics_refreshed() -> None:
    explore = _load_script("explore_retinamnist")
    torch.manual_seed(0)
    model = explore.ScreenNetwork(replace(explore.BASE, width=4), 3, 5)
    averaged = torch.optim.swa_utils.AveragedModel(model)
    with torch.no_grad():
        next(model.parameters()).add_(1.0)  # the live model moves on; the average does not
    images = torch.randint(0, 256, (50, 3, 28, 28), dtype=torch.uint8)
    result = explore.averaged_weights(averaged, images, batch_size=20)
    assert result is averaged.module
    assert not torch.equal(next(result.parameters()), next(model.parameters()))
    first_norm = next(m for m in result.modules() if isinstance(m, torch.nn.BatchNorm2d))
    assert first_norm.num_batches_tracked.item() == 3  # one update per batch of the fit images
    assert not torch.allclose(first_norm.running_mean, torch.zeros_like(first_norm.running_mean))


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


def test_bench_train_times_the_reference_and_each_cpu_setup(
    synthetic_retina_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bench = _load_script("bench_train")
    config = bench.BuildConfig(dataset="retinamnist", device="cpu")
    cpu = torch.device("cpu")
    rows = bench.setups(cpu, compile_model=False)
    assert [row.precision for row in rows][:2] == ["fp32", "bf16"]  # reportgen's own rows first
    assert not any(row.cuda_graph for row in rows)  # CPU rows must run without CUDA
    gpu_rows = bench.setups(torch.device("cuda"), compile_model=True)
    assert gpu_rows[0].cuda_graph and gpu_rows[-1].compile  # reportgen's own row comes first
    # A clock that moves 2 s between readings: each rate must be one epoch of the 1,080 training
    # images over the 2 s the timed loop took, whatever this machine's speed.
    ticks = itertools.count(step=2.0)
    monkeypatch.setattr(bench, "time", SimpleNamespace(perf_counter=lambda: next(ticks)))
    reference = bench.reference_epochs("retinamnist", synthetic_retina_root, config, cpu, 1)
    assert reference == 1080 / 2
    for setup in rows:
        speed = bench.reportgen_epochs("retinamnist", synthetic_retina_root, config, cpu, 1, setup)
        assert speed == 1080 / 2, setup
