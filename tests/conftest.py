"""Shared fixtures: a synthetic DermaMNIST file in the official npz format, and a CLI runner."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"

# DermaMNIST's official per-class counts (medmnist.INFO split sizes 7,007 / 1,003 / 2,005).
DERMAMNIST_COUNTS = {
    "train": [228, 359, 769, 80, 779, 4693, 99],
    "val": [33, 52, 110, 12, 111, 671, 14],
    "test": [66, 103, 220, 23, 223, 1341, 29],
}


def synthetic_split(counts: list[int], seed: int, channels: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Images whose colour and stripe pattern depend on the class, plus noise; labels (N, 1)."""
    rng = np.random.default_rng(seed)
    n_classes = len(counts)
    labels = np.repeat(np.arange(n_classes), counts)
    rng.shuffle(labels)
    yy, xx = np.mgrid[0:28, 0:28]
    images = np.empty((labels.size, 28, 28, channels), dtype=np.uint8)
    for k in range(n_classes):
        members = np.flatnonzero(labels == k)
        angle = np.pi * k / n_classes
        stripes = np.sin((np.cos(angle) * xx + np.sin(angle) * yy) * (0.5 + 0.1 * k))
        colour = 60 + 150 * np.array([(k * 37 % 7) / 6, (k * 53 % 7) / 6, (k * 11 % 7) / 6])[:channels]
        base = colour[None, None, :] + 40 * stripes[..., None]
        noise = rng.normal(0, 45, size=(members.size, 28, 28, channels))
        images[members] = np.clip(base[None] + noise, 0, 255).astype(np.uint8)
    return images, labels.reshape(-1, 1).astype(np.uint8)


def write_synthetic_npz(path: Path, counts: dict[str, list[int]], channels: int = 3, seed: int = 0) -> Path:
    """A file with the keys, dtypes and shapes of a MedMNIST 28x28 release."""
    arrays = {}
    for offset, (split, split_counts) in enumerate(counts.items()):
        images, labels = synthetic_split(split_counts, seed + offset, channels)
        arrays[f"{split}_images"] = images if channels == 3 else images[..., 0]
        arrays[f"{split}_labels"] = labels
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **arrays)
    return path


@pytest.fixture(scope="session")
def synthetic_derma_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding a synthetic dermamnist.npz with the official split sizes and class counts."""
    root = tmp_path_factory.mktemp("derma-data")
    write_synthetic_npz(root / "dermamnist.npz", DERMAMNIST_COUNTS)
    return root


@pytest.fixture()
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture()
def out_dirs(tmp_path: Path) -> dict[str, Path]:
    """Absolute docs, site and cache folders for one build."""
    return {name: tmp_path / name for name in ("docs", "site", "cache")}


def dir_args(dirs: dict[str, Path]) -> list[str]:
    return ["--docs-dir", str(dirs["docs"]), "--site-dir", str(dirs["site"]), "--cache-dir", str(dirs["cache"])]
