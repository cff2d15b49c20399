"""Train and evaluate one run from a loaded dataset; the only build step that needs torch."""

from __future__ import annotations

import dataclasses
import platform
import time
from collections.abc import Callable

import numpy as np
import torch

from reportgen.cache import TrainedRun
from reportgen.catalog import medmnist_version
from reportgen.config import BuildConfig
from reportgen.crossfit import cross_fitted_probabilities
from reportgen.data import SPLITS, LoadedDataset, class_counts
from reportgen.device import describe_device, resolve_device
from reportgen.evaluate import summarize_split, summarize_test
from reportgen.model import count_parameters, describe_layers
from reportgen.seeds import member_seeds
from reportgen.thresholds import apply_offsets, tune_offsets
from reportgen.train import (
    EpochStats,
    predict_proba,
    to_device_tensors,
    train_model,
    warm_up,
)

SAMPLES_PER_CLASS = 8


def sample_training_images(
    dataset: LoadedDataset, seed: int, per_class: int = SAMPLES_PER_CLASS
) -> tuple[np.ndarray, np.ndarray]:
    """(K, per_class, H, W, C) uint8 training images chosen with the seed, and (K,) filled counts."""
    rng = np.random.default_rng(seed)
    images, labels = dataset.train.images, dataset.train.labels
    n_classes = len(dataset.class_names)
    grid = np.zeros((n_classes, per_class, *images.shape[1:]), dtype=np.uint8)
    filled = np.zeros(n_classes, dtype=np.int64)
    for k in range(n_classes):
        members = np.flatnonzero(labels == k)
        chosen = rng.choice(members, size=min(per_class, members.size), replace=False)
        grid[k, : chosen.size] = images[np.sort(chosen)]
        filled[k] = chosen.size
    return grid, filled


def run_training(
    dataset: LoadedDataset,
    config: BuildConfig,
    on_epoch: Callable[[EpochStats], None] | None = None,
) -> TrainedRun:
    """Train on train (val for monitoring), then score test once.

    With config.ensemble > 1, several networks train with their own seeds and every probability
    below is their mean; history and the model description are the first network's.
    """
    warm_up(
        resolve_device(config.device),
        config,
        dataset.train.images.shape[1:],
        len(dataset.class_names),
    )
    started = time.perf_counter()
    members = [
        train_model(dataset, dataclasses.replace(config, seed=seed), on_epoch=on_epoch)
        for seed in member_seeds(config.seed, config.ensemble)
    ]
    trained = members[0]
    train_seconds = time.perf_counter() - started

    started = time.perf_counter()
    device = torch.device(trained.device)

    def ensemble_proba(images: torch.Tensor) -> np.ndarray:
        outputs = [predict_proba(m.model, images, config.tta, config.precision) for m in members]
        return outputs[0] if len(outputs) == 1 else np.mean(outputs, axis=0)

    val_labels = dataset.val.labels
    member_epochs = [member.val_probabilities for member in members]
    # Each network's val predictions at its kept epoch: what its final weights predict.
    kept = [epochs[m.selected_epoch - 1] for epochs, m in zip(member_epochs, members, strict=True)]
    val_probabilities = kept[0] if len(kept) == 1 else np.mean(kept, axis=0)
    offsets = np.zeros(len(dataset.class_names))
    if config.threshold_tuning:
        offsets = tune_offsets(val_labels, val_probabilities)  # validation labels only
    # The final model's val output, treated as test's is below (kept for choices made later).
    final_val_probabilities = (
        apply_offsets(val_probabilities, offsets) if config.threshold_tuning else val_probabilities
    )
    if config.threshold_tuning or config.select_epoch != "last":
        # The val row that compares variants must not score choices on the images that made them.
        val_probabilities = cross_fitted_probabilities(
            val_labels,
            member_epochs,
            config.select_epoch,
            config.threshold_tuning,
            config.seed,
            config.patience,
        )
    # The test split is touched once, after every choice has been made on validation.
    test_images, _ = to_device_tensors(dataset.test, device)
    probabilities = ensemble_proba(test_images)
    if config.threshold_tuning:
        probabilities = apply_offsets(probabilities, offsets)
    test = summarize_test(dataset.test.labels, probabilities, dataset.class_names)
    val = summarize_split(val_labels, val_probabilities, dataset.class_names)
    evaluate_seconds = time.perf_counter() - started

    channels = dataset.train.images.shape[-1]
    model = trained.model.cpu()
    sample_images, sample_counts = sample_training_images(dataset, config.seed)
    record = {
        "history": [stats.to_dict() for stats in trained.history],
        "selection": {
            "selected_epoch": trained.selected_epoch,
            "epochs_run": len(trained.history),
            "stopped_early": trained.stopped_early,
            "ensemble_seeds": member_seeds(config.seed, config.ensemble),
            "ensemble_selected_epochs": [member.selected_epoch for member in members],
            "class_offsets": offsets.tolist(),
        },
        "val": val,
        "test": test,
        "model": {
            "name": type(model).__name__,
            "input_shape": [channels, 28, 28],
            "layers": describe_layers(model, (channels, 28, 28)),
            "total_parameters": count_parameters(model),
        },
        "counts": {
            name: class_counts(dataset.split(name).labels, len(dataset.class_names))
            for name in SPLITS
        },
        "environment": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "medmnist": medmnist_version(),
            "numpy": np.__version__,
            "device": trained.device,
            "device_name": describe_device(device),
            "torch_threads": torch.get_num_threads(),
            "platform": platform.platform(),
        },
        "seconds": {"train": train_seconds, "evaluate": evaluate_seconds},
    }
    return TrainedRun(
        record=record,
        test_labels=dataset.test.labels,
        test_probabilities=probabilities,
        sample_images=sample_images,
        sample_counts=sample_counts,
        val_labels=val_labels,
        val_probabilities=final_val_probabilities,
    )
