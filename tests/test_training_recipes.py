"""Each next-step switch does what it claims, on the synthetic RetinaMNIST-shaped set."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from click.testing import CliRunner

import reportgen.device
import reportgen.runner
import reportgen.train
from reportgen import metrics
from reportgen.augment import augment_batch, dihedral_views
from reportgen.cli import main
from reportgen.config import BuildConfig
from reportgen.crossfit import best_epoch, cross_fitted_probabilities
from reportgen.cuda_graph import StepOutputs
from reportgen.data import LoadedDataset, Split, load_dataset
from reportgen.device import cpu_has_native_bf16, precision_note
from reportgen.runner import run_training
from reportgen.selection import first_best, patience_ran_out
from reportgen.thresholds import apply_offsets, tune_offsets
from reportgen.train import (
    StepRecipe,
    class_weights,
    epoch_order,
    predict_proba,
    to_device_tensors,
    train_model,
    warm_up,
)
from tests.conftest import dir_args, synthetic_build_args


@pytest.fixture(scope="module")
def retina(synthetic_retina_root: Path) -> LoadedDataset:
    return load_dataset("retinamnist", synthetic_retina_root, allow_unofficial=True)


def quick(**overrides: object) -> BuildConfig:
    return dataclasses.replace(
        BuildConfig(dataset="retinamnist", epochs=1, device="cpu"), **overrides
    )


def test_inverse_frequency_and_effective_number_weights() -> None:
    counts = [400, 100, 50]
    inverse = class_weights(counts, "inverse_frequency", 0.999)
    expected = np.array([550 / (3 * 400), 550 / (3 * 100), 550 / (3 * 50)])
    np.testing.assert_allclose(inverse.numpy(), expected / expected.mean(), rtol=1e-6)
    effective = class_weights(counts, "effective_number", 0.99).numpy()
    raw = np.array([(1 - 0.99) / (1 - 0.99**n) for n in counts])
    np.testing.assert_allclose(effective, raw / raw.mean(), rtol=1e-5)
    assert effective[0] < effective[1] < effective[2]
    assert class_weights(counts, "none", 0.999) is None


def test_class_weights_reach_the_loss(
    retina: LoadedDataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[torch.Tensor | None] = []
    original = torch.nn.CrossEntropyLoss

    class RecordingLoss(original):  # type: ignore[misc,valid-type]
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)
            seen.append(self.weight)

    monkeypatch.setattr(torch.nn, "CrossEntropyLoss", RecordingLoss)
    train_model(retina, quick(loss_weighting="inverse_frequency"))
    counts = np.bincount(retina.train.labels, minlength=5)
    assert seen and seen[0] is not None
    weights = seen[0].numpy()
    assert weights.argmax() == counts.argmin() and weights.argmin() == counts.argmax()


def test_balanced_sampler_evens_out_the_class_mix() -> None:
    labels = torch.tensor([0] * 900 + [1] * 90 + [2] * 10)
    generator = torch.Generator().manual_seed(0)
    shuffled = epoch_order(labels, "shuffle", generator)
    assert sorted(shuffled.tolist()) == list(range(1000))
    drawn = labels[epoch_order(labels, "balanced", generator)]
    shares = torch.bincount(drawn, minlength=3).double() / drawn.numel()
    assert torch.all((shares - 1 / 3).abs() < 0.06), shares
    assert torch.bincount(labels[shuffled], minlength=3).tolist() == [900, 90, 10]


@pytest.mark.parametrize("sampler", ["shuffle", "balanced"])
def test_the_sampler_sets_the_class_mix_of_the_batches_training_sees(
    sampler: str, retina: LoadedDataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The labels that reach the loss during real training, not epoch_order on its own."""
    targets: list[torch.Tensor] = []
    original = torch.nn.CrossEntropyLoss

    class RecordingLoss(original):  # type: ignore[misc,valid-type]
        def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
            targets.append(target.detach().clone())
            return super().forward(logits, target)

    monkeypatch.setattr(torch.nn, "CrossEntropyLoss", RecordingLoss)
    train_model(retina, quick(sampler=sampler, epochs=2))
    seen = torch.cat(targets)
    assert seen.numel() == 2 * len(retina.train.labels)  # every step's batch, two epochs
    shares = torch.bincount(seen, minlength=5).double() / seen.numel()
    rarest = int(np.bincount(retina.train.labels, minlength=5).argmin())
    if sampler == "balanced":
        assert torch.all((shares - 0.2).abs() < 0.05), shares  # five classes, about a fifth each
    else:
        expected = np.bincount(retina.train.labels, minlength=5) / len(retina.train.labels)
        np.testing.assert_allclose(shares.numpy(), expected, atol=1e-9)  # each image once
        assert shares[rarest] < 0.1


def test_augmentation_keeps_shape_and_range_and_is_seeded() -> None:
    images = torch.rand(16, 3, 28, 28) * 2 - 1
    first = augment_batch(images, torch.Generator().manual_seed(1))
    again = augment_batch(images, torch.Generator().manual_seed(1))
    assert first.shape == images.shape
    assert first.min() >= -1 and first.max() <= 1
    assert torch.equal(first, again)
    assert not torch.allclose(first, images)


def test_dihedral_views_are_the_eight_symmetries() -> None:
    image = torch.arange(16.0).reshape(1, 1, 4, 4)
    views = dihedral_views(image)
    assert len(views) == 8
    assert len({tuple(view.flatten().tolist()) for view in views}) == 8
    assert torch.equal(views[0], image)


def test_tta_averages_probabilities_over_views(retina: LoadedDataset) -> None:
    trained = train_model(retina, quick())
    images, _ = to_device_tensors(retina.test, torch.device("cpu"))
    plain = predict_proba(trained.model, images[:50])
    averaged = predict_proba(trained.model, images[:50], tta=True)
    np.testing.assert_allclose(averaged.sum(axis=1), 1, atol=1e-5)
    assert not np.allclose(plain, averaged)
    # The mean of the probabilities (not of the logits) over all eight views, each predicted
    # plainly: flipping and rotating commute with the per-pixel normalisation.
    by_view = [predict_proba(trained.model, view) for view in dihedral_views(images[:50])]
    np.testing.assert_allclose(averaged, np.mean(by_view, axis=0), atol=1e-6)


def test_threshold_tuning_raises_validation_balanced_accuracy() -> None:
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1, 2], [300, 60, 40])
    logits = (
        rng.normal(size=(400, 3)) + 1.2 * np.eye(3)[labels] + np.array([1.5, 0, 0])
    )  # biased to 0
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    offsets = tune_offsets(labels, probabilities)
    before = metrics.balanced_accuracy(labels, probabilities.argmax(axis=1))
    after = metrics.balanced_accuracy(labels, apply_offsets(probabilities, offsets).argmax(axis=1))
    assert after > before + 0.05
    assert offsets[0] < offsets[1] and offsets[0] < offsets[2]


def test_cross_fitted_validation_score_does_not_reward_offsets_fit_to_noise() -> None:
    # Probabilities that carry no information about the labels: no offsets can truly help.
    rng = np.random.default_rng(1)
    labels = np.repeat([0, 1, 2, 3, 4], [50, 15, 20, 10, 5])
    probabilities = rng.dirichlet(np.ones(5), size=labels.size)
    in_sample = apply_offsets(probabilities, tune_offsets(labels, probabilities))
    crossed = cross_fitted_probabilities(labels, [probabilities[None]], "last", True, seed=0)
    in_sample_score = metrics.balanced_accuracy(labels, in_sample.argmax(axis=1))
    crossed_score = metrics.balanced_accuracy(labels, crossed.argmax(axis=1))
    assert in_sample_score > crossed_score + 0.05  # tuned and graded on the same images: flattering
    assert crossed_score < 0.25  # chance is 0.2
    np.testing.assert_allclose(crossed.sum(axis=1), 1.0)
    np.testing.assert_array_equal(
        crossed, cross_fitted_probabilities(labels, [probabilities[None]], "last", True, seed=0)
    )


def test_cross_fitted_validation_score_does_not_reward_an_epoch_picked_from_noise() -> None:
    """20 epochs whose predictions carry no information: the best of them on all of val looks
    better than chance; scored on the fold that did not pick it, it does not (30 draws)."""
    rng = np.random.default_rng(2)
    labels = np.repeat([0, 1, 2, 3, 4], [50, 15, 20, 10, 5])
    in_sample, crossed = [], []
    for draw in range(30):
        epochs = rng.dirichlet(np.ones(5), size=(20, labels.size))
        picked = epochs[best_epoch(labels, epochs, "val_balanced_accuracy")]
        in_sample.append(metrics.balanced_accuracy(labels, picked.argmax(axis=1)))
        fitted = cross_fitted_probabilities(labels, [epochs], "val_balanced_accuracy", False, draw)
        crossed.append(metrics.balanced_accuracy(labels, fitted.argmax(axis=1)))
    assert np.mean(in_sample) > 0.27  # chance is 0.2: picked and graded on the same images
    assert abs(np.mean(crossed) - 0.2) < 0.03
    assert best_epoch(labels, epochs, "last") == 19


def test_epoch_choice_stops_early_as_train_model_does() -> None:
    """Balanced accuracy over 5 epochs: 1/3, 2/3, 1/3, 1/3, 1. With patience 2 the run stops after
    the fourth epoch, so the fifth never exists for it; the choice on every fold must agree."""
    labels = np.repeat([0, 1, 2], 4)
    right = [(1, 0, 0), (1, 1, 0), (1, 0, 0), (1, 0, 0), (1, 1, 1)]  # per epoch, per class
    predicted = np.array([[c if r[c] else (c + 1) % 3 for c in labels] for r in right])
    epochs = np.eye(3)[predicted] * 0.8 + 0.2 / 3  # (5, 12, 3)
    assert best_epoch(labels, epochs, "val_balanced_accuracy") == 4
    assert best_epoch(labels, epochs, "val_balanced_accuracy", patience=2) == 1
    assert best_epoch(labels, epochs, "val_balanced_accuracy", patience=3) == 4
    crossed = cross_fitted_probabilities(
        labels, [epochs], "val_balanced_accuracy", False, seed=0, patience=2
    )
    np.testing.assert_allclose(crossed, epochs[1])  # the fifth epoch would score 1.0 on any fold
    unstopped = cross_fitted_probabilities(labels, [epochs], "val_balanced_accuracy", False, 0)
    np.testing.assert_allclose(unstopped, epochs[4])


def test_the_early_stopping_rule_train_model_and_crossfit_share() -> None:
    """The first best wins ties and NaN never wins; patience counts epochs since the best."""
    nan = float("nan")
    assert first_best([0.5, 0.7, 0.7, 0.6]) == 1
    assert first_best([nan, 0.2, nan, 0.1]) == 1
    assert first_best([nan, nan]) == 0
    assert not patience_ran_out([0.5, 0.7, 0.6], patience=2)
    assert patience_ran_out([0.5, 0.7, 0.6, 0.7], patience=2)  # a tie does not reset patience
    assert not patience_ran_out([0.5, 0.7, 0.6, 0.8], patience=2)
    assert not patience_ran_out([0.9, 0.1, 0.1, 0.1, 0.1], patience=0)  # 0: never stop early


def test_cross_fitting_keeps_each_networks_epochs_apart() -> None:
    """Two networks whose best epochs differ: each fold averages each network's own best epoch."""
    labels = np.array([0, 1] * 10)
    right, wrong = np.eye(2)[labels] * 0.8 + 0.1, np.eye(2)[1 - labels] * 0.8 + 0.1
    first, second = np.stack([right, wrong]), np.stack([wrong, right])  # (epochs, N, K)
    crossed = cross_fitted_probabilities(labels, [first, second], "val_auc", False, seed=0)
    np.testing.assert_allclose(crossed, right)  # epoch 1 of the first, epoch 2 of the second


def test_threshold_tuning_never_reads_test_labels(retina: LoadedDataset) -> None:
    config = quick(threshold_tuning=True, lr=0.002)  # undertrained, so biased to the big class
    original = run_training(retina, config)
    permuted = np.random.default_rng(0).permutation(retina.test.labels)
    scrambled = dataclasses.replace(retina, test=Split(images=retina.test.images, labels=permuted))
    again = run_training(scrambled, config)
    assert (
        original.record["selection"]["class_offsets"] == again.record["selection"]["class_offsets"]
    )
    assert any(offset != 0 for offset in original.record["selection"]["class_offsets"])
    np.testing.assert_allclose(original.test_probabilities, again.test_probabilities)
    # The run keeps its val output as it reports test's: after the offsets, which (being chosen
    # for it, and nonzero only where they help) raise val balanced accuracy over the raw output.
    np.testing.assert_array_equal(original.val_labels, retina.val.labels)
    offsets = np.asarray(original.record["selection"]["class_offsets"])
    raw = apply_offsets(original.val_probabilities, -offsets)
    tuned_score = metrics.balanced_accuracy(retina.val.labels, original.val_probabilities.argmax(1))
    assert tuned_score > metrics.balanced_accuracy(retina.val.labels, raw.argmax(axis=1))


def test_a_run_is_timed_after_the_warm_up(
    retina: LoadedDataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A process's one-off costs are paid before a run's clock starts, with the run's own config
    and image shape, so the first run in a process is not charged for them."""
    events: list[tuple[object, ...]] = []
    real_train_model, real_clock = reportgen.runner.train_model, time.perf_counter
    monkeypatch.setattr(reportgen.runner, "warm_up", lambda *args: events.append(args))
    monkeypatch.setattr(time, "perf_counter", lambda: events.append(("clock",)) or real_clock())
    monkeypatch.setattr(
        reportgen.runner,
        "train_model",
        lambda *args, **kwargs: events.append(("train",)) or real_train_model(*args, **kwargs),
    )
    config = quick(model="wide_cnn", width=8, precision="bf16")
    run_training(retina, config)
    assert events[0] == (torch.device("cpu"), config, (28, 28, 3), 5)
    assert events[1:3] == [("clock",), ("train",)]


def test_warming_up_leaves_training_as_it_was(retina: LoadedDataset) -> None:
    """The throwaway step draws random numbers and steps an optimiser; train_model reseeds."""
    config = quick(model="wide_cnn", width=8, optimizer="adamw", augment=True)
    before = train_model(retina, config)
    warm_up(torch.device("cpu"), config, (28, 28, 3), 5)
    after = train_model(retina, config)
    for name, tensor in before.model.state_dict().items():
        assert torch.equal(tensor, after.model.state_dict()[name]), name


def test_early_stopping_restores_the_best_epochs_weights(
    retina: LoadedDataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Validation scores are scripted to peak at epoch 2, so the last epoch's weights differ from
    the best one's: the test fails if the best weights are not restored. (On the synthetic set
    the real val AUC saturates at 1.0, where any epoch's weights would pass.)"""
    scripted = iter([0.6, 0.9, 0.8, 0.7, 0.95])  # epochs 1 to 5; epoch 5 must never run
    monkeypatch.setattr(
        reportgen.train, "selection_score", lambda labels, probabilities, select: next(scripted)
    )
    weights_after_epoch: list[dict[str, torch.Tensor]] = []
    real_train_one_epoch = reportgen.train.train_one_epoch

    def train_and_keep_weights(model: torch.nn.Module, *args: object) -> object:
        result = real_train_one_epoch(model, *args)
        weights_after_epoch.append(
            {name: tensor.clone() for name, tensor in model.state_dict().items()}
        )
        return result

    monkeypatch.setattr(reportgen.train, "train_one_epoch", train_and_keep_weights)
    trained = train_model(retina, quick(epochs=5, select_epoch="val_auc", patience=2, lr=0.05))
    assert trained.selected_epoch == 2 and trained.stopped_early
    assert len(trained.history) == len(weights_after_epoch) == 4  # stopped 2 epochs after the best
    final = trained.model.state_dict()
    assert all(torch.equal(final[name], weights_after_epoch[1][name]) for name in final)
    assert not all(torch.equal(final[name], weights_after_epoch[3][name]) for name in final)


def test_epoch_selection_picks_the_best_real_validation_score(retina: LoadedDataset) -> None:
    config = quick(epochs=4, select_epoch="val_balanced_accuracy", patience=0, lr=0.05)
    trained = train_model(retina, config)
    scores = [stats.val_balanced_accuracy for stats in trained.history]
    assert len(scores) == 4 and trained.selected_epoch == int(np.argmax(scores)) + 1
    # The per-epoch val predictions kept for cross-fitting: the kept weights predict the selected
    # one, and crossfit's choice on all of val is train_model's.
    assert trained.val_probabilities.shape == (4, retina.val.labels.size, 5)
    val_images, _ = to_device_tensors(retina.val, torch.device("cpu"))
    np.testing.assert_allclose(
        predict_proba(trained.model, val_images),
        trained.val_probabilities[trained.selected_epoch - 1],
    )
    chosen = best_epoch(retina.val.labels, trained.val_probabilities, config.select_epoch)
    assert chosen == trained.selected_epoch - 1


@pytest.mark.parametrize(
    ("overrides", "cross_fitted"),
    [
        ({}, False),
        ({"threshold_tuning": True}, True),
        ({"select_epoch": "val_auc", "epochs": 3}, True),
        ({"select_epoch": "val_balanced_accuracy", "epochs": 3, "ensemble": 2}, True),
    ],
)
def test_the_val_row_is_cross_fitted_wherever_val_made_a_choice(
    retina: LoadedDataset,
    monkeypatch: pytest.MonkeyPatch,
    overrides: dict[str, object],
    cross_fitted: bool,
) -> None:
    real = reportgen.runner.cross_fitted_probabilities
    returned: list[np.ndarray] = []

    def spy(labels: np.ndarray, member_epochs: list[np.ndarray], *args: object) -> np.ndarray:
        returned.append(real(labels, member_epochs, *args))
        assert len(member_epochs) == overrides.get("ensemble", 1)
        return returned[-1]

    monkeypatch.setattr(reportgen.runner, "cross_fitted_probabilities", spy)
    run = run_training(retina, quick(lr=0.05, **overrides))
    assert len(returned) == int(cross_fitted)
    if cross_fitted:
        expected = metrics.balanced_accuracy(retina.val.labels, returned[0].argmax(axis=1))
        assert run.record["val"]["balanced_accuracy"] == expected
    # Validation keeps its headline numbers and report, not the test split's resampled
    # intervals and calibration, which no page shows for it.
    assert {"accuracy", "auc", "macro_f1", "report"} <= set(run.record["val"])
    assert "intervals" not in run.record["val"] and "calibration" not in run.record["val"]


@pytest.mark.parametrize(
    "overrides",
    [
        {"model": "wide_cnn", "width": 8},
        {"optimizer": "adamw", "lr": 0.001, "weight_decay": 1e-4, "schedule": "onecycle"},
        {"momentum": 0.9, "schedule": "cosine", "grad_clip": 1.0, "label_smoothing": 0.1},
        {"sampler": "balanced", "augment": True},
        {"loss_weighting": "effective_number", "effective_number_beta": 0.99},
        {"tta": True},
    ],
)
def test_every_switch_trains_to_valid_probabilities(
    retina: LoadedDataset, overrides: dict[str, object]
) -> None:
    run = run_training(retina, quick(**overrides))
    assert run.test_probabilities.shape == (400, 5)
    np.testing.assert_allclose(run.test_probabilities.sum(axis=1), 1, atol=1e-5)
    assert run.val_probabilities.shape == (120, 5)
    np.testing.assert_allclose(run.val_probabilities.sum(axis=1), 1, atol=1e-5)
    assert 0 <= run.record["test"]["balanced_accuracy"] <= 1  # False for NaN too


@pytest.mark.parametrize(
    "overrides",
    [
        {},  # the study's recipe: plain SGD at a constant rate, nothing else switched on
        {"optimizer": "adamw", "lr": 0.001, "weight_decay": 1e-4, "schedule": "onecycle"},
        {"momentum": 0.9, "weight_decay": 5e-4, "schedule": "cosine", "grad_clip": 1.0},
        # One-cycle with SGD keeps the momentum as set (OneCycleLR would cycle it 0.85-0.95).
        {"label_smoothing": 0.1, "augment": True, "momentum": 0.5, "schedule": "onecycle"},
    ],
)
def test_each_optimisation_switch_reaches_every_training_step(
    retina: LoadedDataset, monkeypatch: pytest.MonkeyPatch, overrides: dict[str, object]
) -> None:
    """What each step of real training used, recorded from inside it, against the config."""
    config = quick(**overrides)  # one epoch: 11 steps of 100 images
    steps: list[dict[str, object]] = []
    clipped_at: list[float] = []
    augmented: list[int] = []
    real_step, real_clip = reportgen.train.training_step, torch.nn.utils.clip_grad_norm_
    real_augment = reportgen.train.augment_batch

    def recorded_step(
        model: torch.nn.Module,
        optimizer: torch.optim.Optimizer,
        images: torch.Tensor,
        labels: torch.Tensor,
        recipe: StepRecipe,
        generator: torch.Generator,
        index: torch.Tensor,
    ) -> StepOutputs:
        group = optimizer.param_groups[0]
        steps.append(
            {
                "optimizer": type(optimizer).__name__,
                "lr": group["lr"],
                "weight_decay": group["weight_decay"],
                "momentum": group.get("momentum"),
                "beta1": group["betas"][0] if "betas" in group else None,
                "label_smoothing": recipe.loss_function.label_smoothing,
            }
        )
        return real_step(model, optimizer, images, labels, recipe, generator, index)

    def recorded_clip(parameters: object, max_norm: float, *args: Any, **kwargs: Any) -> Any:
        clipped_at.append(max_norm)
        return real_clip(parameters, max_norm, *args, **kwargs)

    def recorded_augment(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        augmented.append(images.shape[0])
        return real_augment(images, generator)

    monkeypatch.setattr(reportgen.train, "training_step", recorded_step)
    monkeypatch.setattr(torch.nn.utils, "clip_grad_norm_", recorded_clip)
    monkeypatch.setattr(reportgen.train, "augment_batch", recorded_augment)
    train_model(retina, config)

    total = -(-len(retina.train.labels) // config.batch_size)
    assert len(steps) == total
    expected_optimizer = "AdamW" if config.optimizer == "adamw" else "SGD"
    assert {step["optimizer"] for step in steps} == {expected_optimizer}
    assert {step["weight_decay"] for step in steps} == {config.weight_decay}
    if config.optimizer == "sgd":
        assert {step["momentum"] for step in steps} == {config.momentum}
    elif config.schedule == "onecycle":  # AdamW's beta1 cycles against the rate, as documented
        beta1 = np.array([step["beta1"] for step in steps])
        assert beta1.max() == pytest.approx(0.95) and beta1.min() < 0.86
    assert {step["label_smoothing"] for step in steps} == {config.label_smoothing}
    assert clipped_at == ([config.grad_clip] * total if config.grad_clip > 0 else [])
    assert sum(augmented) == (len(retina.train.labels) if config.augment else 0)  # every image

    rates = np.array([step["lr"] for step in steps])
    if config.schedule == "constant":
        np.testing.assert_allclose(rates, config.lr)
    elif config.schedule == "cosine":  # from lr down towards 0 over every step of the run
        expected = config.lr * (1 + np.cos(np.pi * np.arange(total) / total)) / 2
        np.testing.assert_allclose(rates, expected, rtol=1e-6)
    else:  # one-cycle: warms up to lr, then anneals below where it started
        peak = int(rates.argmax())
        assert 0.95 * config.lr <= rates[peak] <= config.lr and 0 < peak < total - 1
        assert np.all(np.diff(rates[: peak + 1]) > 0) and np.all(np.diff(rates[peak:]) < 0)
        assert rates[0] < config.lr / 10 and rates[-1] < rates[0]


def test_an_ensemble_averages_networks_trained_with_their_own_seeds(retina: LoadedDataset) -> None:
    pair = run_training(retina, quick(seed=3, ensemble=2))
    first = run_training(retina, quick(seed=3))
    second = run_training(retina, quick(seed=1003))
    np.testing.assert_allclose(
        pair.test_probabilities,
        (first.test_probabilities + second.test_probabilities) / 2,
        atol=1e-12,
    )
    assert not np.allclose(first.test_probabilities, second.test_probabilities)
    assert pair.record["selection"]["ensemble_seeds"] == [3, 1003]

    def without_timing(history: list[dict[str, float]]) -> list[dict[str, float]]:
        return [{k: v for k, v in epoch.items() if k != "seconds"} for epoch in history]

    assert without_timing(pair.record["history"]) == without_timing(first.record["history"])


def test_bf16_precision_runs_the_convolutions_in_bfloat16_and_keeps_fp32_weights(
    retina: LoadedDataset,
) -> None:
    conv_dtypes: list[
        tuple[bool, torch.dtype]
    ] = []  # (training, output dtype) of every convolution
    original_forward = torch.nn.Conv2d.forward

    def recording_forward(self: torch.nn.Conv2d, images: torch.Tensor) -> torch.Tensor:
        output = original_forward(self, images)
        conv_dtypes.append((self.training, output.dtype))
        return output

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(torch.nn.Conv2d, "forward", recording_forward)
        half = run_training(retina, quick(precision="bf16"))
        bf16_calls = list(conv_dtypes)
        conv_dtypes.clear()
        full = run_training(retina, quick())
    # Training and evaluation convolve in bfloat16 (the Model page's shape probe may stay fp32).
    assert {dtype for training, dtype in bf16_calls if training} == {torch.bfloat16}
    assert (False, torch.bfloat16) in bf16_calls
    assert {dtype for _, dtype in conv_dtypes} == {torch.float32}
    assert (
        half.test_probabilities.dtype == np.float64 and np.isfinite(half.test_probabilities).all()
    )
    np.testing.assert_allclose(half.test_probabilities.sum(axis=1), 1.0, atol=1e-6)
    # Same seed, same batches: bfloat16 moves the numbers a little, not the result.
    assert not np.array_equal(half.test_probabilities, full.test_probabilities)
    assert np.abs(half.test_probabilities - full.test_probabilities).max() < 0.2


AVX512_ONLY = "flags\t\t: fpu sse2 avx2 avx512f avx512bw avx512vl\n"


@pytest.mark.parametrize(
    ("flags", "native"),
    [(AVX512_ONLY, False), (AVX512_ONLY.rstrip() + " avx512_bf16\n", True), ("amx_bf16", True)],
)
def test_cpu_bf16_support_is_read_from_the_cpuinfo_flags(flags: str, native: bool) -> None:
    assert cpu_has_native_bf16(flags) is native


def test_bf16_is_flagged_only_on_a_cpu_without_bfloat16_instructions(tmp_path: Path) -> None:
    plain, capable = tmp_path / "plain", tmp_path / "capable"
    plain.write_text(AVX512_ONLY)
    capable.write_text(AVX512_ONLY.rstrip() + " amx_bf16\n")
    cpu = torch.device("cpu")
    note = precision_note(cpu, "bf16", plain)
    assert note is not None and "slower than fp32" in note and "bench_train.py" in note
    assert precision_note(cpu, "bf16", capable) is None
    assert precision_note(cpu, "fp32", plain) is None
    assert precision_note(torch.device("cuda"), "bf16", plain) is None  # GPUs: not this check
    assert precision_note(cpu, "bf16", tmp_path / "absent") is None  # not Linux: nothing known


@pytest.fixture()
def cpu_without_bf16(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """/proc/cpuinfo as a CPU without bfloat16 instructions would have it."""
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(AVX512_ONLY)
    monkeypatch.setattr(reportgen.device, "CPUINFO_FILE", cpuinfo)


@pytest.mark.usefixtures("cpu_without_bf16")
@pytest.mark.parametrize("main_precision", ["fp32", "bf16"])
def test_a_bf16_experiment_variant_is_warned_about_once_whatever_the_main_run_uses(
    main_precision: str, synthetic_retina_root: Path, out_dirs: dict[str, Path], tmp_path: Path
) -> None:
    plan = tmp_path / "experiments.toml"
    plan.write_text(
        'seeds = [0, 1]\n[[variants]]\nname = "baseline"\n'
        '[[variants]]\nname = "half"\nprecision = "bf16"\n'
    )
    args = synthetic_build_args(
        synthetic_retina_root, "--epochs", "1", "--device", "cpu", "--jobs", "1",
        "--precision", main_precision, "--experiments", str(plan), "--no-site", *dir_args(out_dirs),
    )  # fmt: skip
    first = CliRunner().invoke(main, args)
    assert first.exit_code == 0, first.output
    note = "[reportgen] note: this CPU lists no bfloat16 instructions"
    assert first.output.count(note) == 1
    # Before the first bf16 network trains: the build's own run, or else the variant's.
    first_bf16 = "train:" if main_precision == "bf16" else "training half, seed 0:"
    assert first.output.index(note) < first.output.index(first_bf16), first.output
    if main_precision == "bf16":
        again = CliRunner().invoke(main, args)  # every run cached: nothing trains, nothing to warn
        assert again.exit_code == 0, again.output
        assert "bfloat16" not in again.output


def test_tta_changes_only_inference_averaging_over_the_eight_views(retina: LoadedDataset) -> None:
    plain = run_training(retina, quick(seed=5))
    with_tta = run_training(retina, quick(seed=5, tta=True))

    losses = [[epoch["train_loss"] for epoch in run.record["history"]] for run in (plain, with_tta)]
    assert losses[0] == losses[1]  # the same training, step for step
    assert not np.allclose(plain.test_probabilities, with_tta.test_probabilities)
    np.testing.assert_allclose(with_tta.test_probabilities.sum(axis=1), 1, atol=1e-5)


def test_the_hardware_is_named_from_cpuinfo_or_the_gpu(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reportgen.device import describe_device

    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 9654\n")
    assert describe_device(torch.device("cpu"), cpuinfo) == "AMD EPYC 9654"
    # The instruction sets that pick oneDNN's kernels, and so the numbers' last digits.
    cpuinfo.write_text(
        "model name\t: Intel(R) Xeon(R) Processor\nflags\t\t: fpu sse2 avx512f avx512_bf16 "
        "amx_bf16 amx_tile\n"
    )
    assert (
        describe_device(torch.device("cpu"), cpuinfo)
        == "Intel(R) Xeon(R) Processor with AVX-512, AVX512-BF16, AMX"
    )
    monkeypatch.setattr("platform.processor", lambda: "")
    assert describe_device(torch.device("cpu"), tmp_path / "absent") == "unknown CPU"
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device: "NVIDIA H200")
    assert describe_device(torch.device("cuda")) == "NVIDIA H200"
