"""Train and evaluate one run from a loaded dataset; the only build step that needs torch."""

from __future__ import annotations

import platform
import time
from collections.abc import Callable

import numpy as np
import torch

from reportgen.cache import TrainedRun
from reportgen.catalog import medmnist_version
from reportgen.config import BuildConfig
from reportgen.data import SPLITS, LoadedDataset, class_counts
from reportgen.evaluate import summarize_test
from reportgen.model import count_parameters, describe_layers
from reportgen.thresholds import apply_offsets, cross_fitted_probabilities, tune_offsets
from reportgen.train import EpochStats, predict_proba, to_device_tensors, train_model

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
    """Train on train (val for monitoring), then score test once."""
    started = time.perf_counter()
    trained = train_model(dataset, config, on_epoch=on_epoch)
    train_seconds = time.perf_counter() - started

    started = time.perf_counter()
    device = torch.device(trained.device)
    val_probabilities = predict_proba(
        trained.model, to_device_tensors(dataset.val, device)[0], config.tta, config.precision
    )
    offsets = np.zeros(len(dataset.class_names))
    if config.threshold_tuning:
        offsets = tune_offsets(dataset.val.labels, val_probabilities)  # validation labels only
        # The val row that compares variants must not score offsets on the images that tuned them.
        val_probabilities = cross_fitted_probabilities(
            dataset.val.labels, val_probabilities, config.seed
        )
    # The test split is touched once, after every choice has been made on validation.
    test_images, _ = to_device_tensors(dataset.test, device)
    probabilities = predict_proba(trained.model, test_images, config.tta, config.precision)
    if config.threshold_tuning:
        probabilities = apply_offsets(probabilities, offsets)
    test = summarize_test(dataset.test.labels, probabilities, dataset.class_names)
    val = summarize_test(dataset.val.labels, val_probabilities, dataset.class_names)
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
    )
