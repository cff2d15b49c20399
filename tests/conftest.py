"""Shared fixtures: a synthetic DermaMNIST file in the official npz format, and a CLI runner."""

from __future__ import annotations

import ast
import hashlib
import itertools
import os
from pathlib import Path

if os.environ.get("PYTEST_XDIST_WORKER"):
    # Parallel test workers (pytest -n) share the cores: one thread each for torch's and numpy's
    # kernels, set before either is imported, or their threads fight over the cores (on 2 cores,
    # two workers of 2 threads each took longer than one worker alone).
    os.environ.setdefault("OMP_NUM_THREADS", "1")

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

# RetinaMNIST's official per-class counts: a small real-shaped set (1,080 / 120 / 400) for fast tests.
RETINAMNIST_COUNTS = {
    "train": [486, 128, 206, 194, 66],
    "val": [54, 12, 28, 20, 6],
    "test": [174, 46, 92, 68, 20],
}


def synthetic_split(
    counts: list[int], seed: int, channels: int = 3
) -> tuple[np.ndarray, np.ndarray]:
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
        colour = (
            60 + 150 * np.array([(k * 37 % 7) / 6, (k * 53 % 7) / 6, (k * 11 % 7) / 6])[:channels]
        )
        base = colour[None, None, :] + 40 * stripes[..., None]
        noise = rng.normal(0, 45, size=(members.size, 28, 28, channels))
        images[members] = np.clip(base[None] + noise, 0, 255).astype(np.uint8)
    return images, labels.reshape(-1, 1).astype(np.uint8)


def write_synthetic_npz(
    path: Path, counts: dict[str, list[int]], channels: int = 3, seed: int = 0
) -> Path:
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


@pytest.fixture(scope="session")
def synthetic_retina_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding a synthetic retinamnist.npz with RetinaMNIST's official split sizes."""
    root = tmp_path_factory.mktemp("retina-data")
    write_synthetic_npz(root / "retinamnist.npz", RETINAMNIST_COUNTS)
    return root


@pytest.fixture()
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture()
def out_dirs(tmp_path: Path) -> dict[str, Path]:
    """Absolute docs, site and cache folders for one build."""
    return {name: tmp_path / name for name in ("docs", "site", "cache")}


def synthetic_build_args(
    data_root: Path | str, *options: str, dataset: str = "retinamnist"
) -> list[str]:
    """`reportgen build` arguments for a synthetic (so unofficial) file in data_root, then options."""
    return [
        "build",
        "--dataset",
        dataset,
        "--data-root",
        str(data_root),
        "--allow-unofficial-data",
        *options,
    ]


def dir_args(dirs: dict[str, Path]) -> list[str]:
    return [
        "--docs-dir",
        str(dirs["docs"]),
        "--site-dir",
        str(dirs["site"]),
        "--cache-dir",
        str(dirs["cache"]),
    ]


def tree_digest(folder: Path) -> str:
    """One hash over every file's path and bytes: changes if anything in folder changes."""
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        digest.update(str(path.relative_to(folder)).encode())
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


@pytest.fixture(scope="session")
def earlier_build(
    synthetic_retina_root: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    """A finished 1-epoch build on a synthetic RetinaMNIST-shaped file, to be left untouched."""
    from reportgen.cli import main

    base = tmp_path_factory.mktemp("earlier")
    data_root = synthetic_retina_root
    dirs = {
        "docs": base / "docs",
        "site": base / "site",
        "cache": base / "cache",
        "data": data_root,
    }
    result = CliRunner().invoke(
        main,
        [
            "build",
            "--dataset",
            "retinamnist",
            "--data-root",
            str(data_root),
            "--allow-unofficial-data",
            "--epochs",
            "1",
            *dir_args(dirs),
        ],
    )
    assert result.exit_code == 0, result.output
    return dirs


@pytest.fixture()
def glightbox_without_selectolax(monkeypatch: pytest.MonkeyPatch) -> None:
    """As on a machine where the packages were copied in by hand: mkdocs-glightbox is there but
    selectolax, which it imports, is not (imported already, its modules must be forgotten)."""
    import sys

    for module in [name for name in sys.modules if name.startswith("mkdocs_glightbox")]:
        monkeypatch.delitem(sys.modules, module)
    for module in {"selectolax", *(name for name in sys.modules if name.startswith("selectolax"))}:
        monkeypatch.setitem(sys.modules, module, None)  # importing it now raises ImportError


def assert_clean_failure(result: object, *phrases: str) -> None:
    assert result.exit_code != 0  # type: ignore[attr-defined]
    output = result.output  # type: ignore[attr-defined]
    assert "Traceback" not in output
    for phrase in phrases:
        assert phrase in output, output


def make_results(
    flag: str = "dermamnist", class_names: list[str] | None = None, official: bool = False
) -> dict:
    """A complete, fixed results.json payload built without torch, for rendering tests."""
    from reportgen.catalog import class_names_of, collection_summary, medmnist_info
    from reportgen.config import BuildConfig
    from reportgen.evaluate import summarize_split, summarize_test
    from reportgen.referral import referral_operating_point
    from reportgen.results import SCHEMA_VERSION, dataset_summary, rebuild_command
    from reportgen.screening import endpoint_of, referral_auc_of

    info = medmnist_info()[flag]
    names = class_names or class_names_of(info)
    counts = {
        split: [max(3, n // 10) for n in DERMAMNIST_COUNTS[split]][: len(names)]
        for split in DERMAMNIST_COUNTS
    }
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(len(names)), counts["test"])
    logits = rng.normal(size=(labels.size, len(names))) + 2.0 * np.eye(len(names))[labels]
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    config = BuildConfig(
        dataset=flag, data_root=Path("/data"), allow_unofficial_data=not official, epochs=3
    )
    history = [
        {
            "epoch": e,
            "train_loss": 1.5 / e,
            "train_accuracy": 0.5 + e / 20,
            "train_auc": 0.7 + e / 40,
            "val_loss": 1.6 / e,
            "val_accuracy": 0.45 + e / 20,
            "val_auc": 0.68 + e / 40,
            "seconds": 1.25,
        }
        for e in (1, 2, 3)
    ]
    # The builder's own dataset block, with the fixture's class names when it was given some.
    dataset = dataset_summary(
        config,
        Path(f"/data/{flag}.npz"),
        info["MD5"] if official else "0" * 32,
        official,
        counts,
    ) | {"class_names": names}
    return {
        "schema_version": SCHEMA_VERSION,
        "reportgen_version": "0.1.0",
        "created": "2026-01-01T00:00:00+00:00",
        "command": f"reportgen build --dataset {flag}",
        "rebuild_command": rebuild_command(config),
        "config": config.to_dict(),
        "environment": {
            "python": "3.11.7",
            "torch": "2.14.1",
            "medmnist": "3.0.2",
            "numpy": "2.4.6",
            "device": "cpu",
            "torch_threads": 2,
            "platform": "Linux",
        },
        "dataset": dataset,
        "collection": collection_summary(),
        "model": {
            "name": "StudyCNN",
            "input_shape": [3, 28, 28],
            "total_parameters": 903,
            "layers": [
                {
                    "name": "classifier.5",
                    "operation": "Linear(in_features=128, out_features=7, bias=True)",
                    "description": "dense layer: 128 → 7 values",
                    "output_shape": [7],
                    "parameters": 903,
                }
            ],
        },
        "history": history,
        "selection": {
            "selected_epoch": 3,
            "epochs_run": 3,
            "stopped_early": False,
            "class_offsets": [0.0] * len(names),
        },
        "val": summarize_split(labels, probabilities, names),
        "test": summarize_test(labels, probabilities, names),
        "referral_auc": referral_auc_of(dataset, labels, probabilities),
        "referral_operating_point": None
        if endpoint_of(dataset) is None
        else referral_operating_point(
            labels, probabilities, labels, probabilities, endpoint_of(dataset)[1]
        ),
        # A fixed reference (reference.py computes it from a data file, which this fixture has not).
        "colour_reference": {
            "model": "logistic regression",
            "features": "each channel's mean and standard deviation",
            "n_features": 6,
            "accuracy": 0.68,
            "auc": 0.71,
            "balanced_accuracy": 0.2,
        },
        "timings": {"load": 0.5, "train": 10.0, "evaluate": 0.25, "figures": 1.0},
        "cache": {"key": "0123456789abcdef0123", "reused": False},
    }


MARKDOWN_BLOCK_STARTS = ("!!! ", "??? ", "=== ", "#", "| ", "- ", "> ", "```", "![")


def assert_blocks_set_apart(name: str, text: str) -> None:
    """Every admonition, tab, heading, table, list, quote, fence and image starts after a blank
    line. A line ending in a template tag can eat that blank line, and Markdown then runs the block
    on into the paragraph above (an experiments table once printed as text)."""
    if text.startswith("---\n"):  # YAML front matter is not Markdown
        text = text.split("\n---\n", 1)[1]
    lines, in_code = text.splitlines(), False
    for above, line in itertools.pairwise(lines):
        if line.lstrip().startswith("```"):
            in_code = not in_code
            if not in_code:
                continue  # a closing fence follows code, not a paragraph
        if in_code:
            continue
        starts_block = line.startswith(MARKDOWN_BLOCK_STARTS)
        above_is_text = above.strip() and not above.lstrip().startswith(MARKDOWN_BLOCK_STARTS)
        if starts_block and above_is_text and not above.startswith("    "):
            raise AssertionError(f"{name}: {line[:40]!r} runs on from {above[:60]!r}")


def reportgen_imports(module: str, not_followed: frozenset[str] = frozenset()) -> set[str]:
    """File names of the reportgen modules that module imports, directly or not; a module in
    not_followed is left out, and so is what only it imports."""
    package_dir = Path(__file__).resolve().parent.parent / "reportgen"
    seen: set[str] = set()
    pending = [module]
    while pending:
        name = pending.pop()
        if name in seen or name in not_followed:
            continue
        seen.add(name)
        tree = ast.parse((package_dir / name).read_text())
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.ImportFrom)
                and node.module
                and node.module.startswith("reportgen.")
            ):
                pending.append(node.module.split(".")[1] + ".py")
            elif isinstance(node, ast.ImportFrom) and node.module == "reportgen":
                pending.extend(f"{alias.name}.py" for alias in node.names)
    return seen
