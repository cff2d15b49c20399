"""The colour reference sees an image's overall colour and brightness, and nothing else."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from reportgen.cli import main
from reportgen.reference import colour_features, colour_reference, reference_key
from tests.conftest import dir_args, synthetic_build_args


def test_features_are_each_channels_mean_then_spread() -> None:
    images = np.zeros((2, 28, 28, 3), dtype=np.uint8)
    images[0, :, :, 0] = 255  # image 0: pure red
    images[1, :14, :, 2] = 255  # image 1: the top half blue
    features = colour_features(images)
    assert features.shape == (2, 6)
    np.testing.assert_allclose(features[0], [1, 0, 0, 0, 0, 0])
    np.testing.assert_allclose(features[1], [0, 0, 0.5, 0, 0, 0.5])
    assert colour_features(np.zeros((3, 28, 28), dtype=np.uint8)).shape == (3, 2)  # grey


def _images(brightness: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Noisy 28x28 RGB images, each of the given mean brightness."""
    images = rng.normal(brightness[:, None, None, None], 5, (brightness.size, 28, 28, 3))
    return np.clip(images, 0, 255).astype(np.uint8)


def test_it_finds_classes_told_by_brightness_but_not_by_where_the_bright_part_is() -> None:
    rng = np.random.default_rng(0)
    labels = np.tile([0, 1], 100)
    by_brightness = _images(np.where(labels == 1, 160.0, 90.0), rng)
    found = colour_reference(by_brightness, labels, by_brightness, labels, 2)
    assert found["accuracy"] == 1.0 and found["auc"] == 1.0 and found["n_features"] == 6

    # Same colour statistics, told apart only by which half is bright: a CNN could, this cannot.
    halves = np.full((labels.size, 28, 28, 3), 60, dtype=np.uint8)
    halves[labels == 1, :, :14] = 200
    halves[labels == 0, :, 14:] = 200
    blind = colour_reference(halves, labels, halves, labels, 2)
    assert blind["accuracy"] == pytest.approx(0.5) and blind["auc"] == pytest.approx(0.5)
    assert found["features"] == "each channel's mean and standard deviation"

    grey = by_brightness[..., 0]  # (N, 28, 28), as a grey MedMNIST file holds them
    found = colour_reference(grey, labels, grey, labels, 2)
    assert found["accuracy"] == 1.0 and found["n_features"] == 2
    assert found["features"] == "the image's mean brightness and its standard deviation"


def test_a_class_missing_from_training_gets_no_probability(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    train_labels = np.tile([0, 1], 30)
    test_labels = np.tile([0, 1, 2], 10)
    train = _images(np.where(train_labels == 1, 160.0, 90.0), rng)
    test = _images(np.where(test_labels == 1, 160.0, 90.0), rng)
    found = colour_reference(train, train_labels, test, test_labels, 3)
    assert found["accuracy"] == pytest.approx(2 / 3)  # class 2 is never predicted


def test_the_build_publishes_the_reference_and_the_results_page_shows_it(
    earlier_build: dict[str, Path],
) -> None:
    """earlier_build: a whole build of the synthetic RetinaMNIST file, which it computed the
    reference for (its cache was new)."""
    results = json.loads((earlier_build["docs"] / "data" / "results.json").read_text())
    with np.load(earlier_build["data"] / "retinamnist.npz") as data:
        expected = colour_reference(
            data["train_images"],
            data["train_labels"].ravel(),
            data["test_images"],
            data["test_labels"].ravel(),
            5,
        )
    assert results["colour_reference"] == pytest.approx(expected)
    page = (earlier_build["docs"] / "results.md").read_text()
    assert (
        f"scores accuracy {expected['accuracy']:.3f}, AUC {expected['auc']:.3f} and balanced "
        f"accuracy {expected['balanced_accuracy']:.3f} on the same test images"
    ) in page


def test_features_taken_in_blocks_equal_those_of_the_whole_split(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A large split is turned into floats a block at a time; the features do not change."""
    import reportgen.reference

    images = np.random.default_rng(0).integers(0, 256, size=(10, 28, 28, 3), dtype=np.uint8)
    pixels = images.reshape(10, -1, 3).astype(np.float64) / 255
    whole = np.concatenate([pixels.mean(axis=1), pixels.std(axis=1)], axis=1)
    monkeypatch.setattr(reportgen.reference, "FEATURE_BLOCK", 3)  # blocks of 3, 3, 3 and 1
    np.testing.assert_array_equal(colour_features(images), whole)
    assert colour_features(images[..., 0]).shape == (10, 2)  # grey: one channel


def test_a_build_with_every_run_cached_reuses_the_reference_and_reads_no_images(
    earlier_build: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import reportgen.build

    def must_not_run(*args: object, **kwargs: object) -> None:
        raise AssertionError("the reference was cached with the run")

    dirs = {name: tmp_path / name for name in ("docs", "site", "cache")}
    shutil.copytree(earlier_build["cache"], dirs["cache"])
    monkeypatch.setattr(reportgen.build, "read_dataset", must_not_run)
    monkeypatch.setattr(reportgen.build, "colour_reference", must_not_run)
    args = synthetic_build_args(earlier_build["data"], "--epochs", "1", "--no-site", "--quiet")
    result = CliRunner().invoke(main, [*args, *dir_args(dirs)])
    assert result.exit_code == 0, result.output
    earlier = json.loads((earlier_build["docs"] / "data" / "results.json").read_text())
    results = json.loads((dirs["docs"] / "data" / "results.json").read_text())
    assert results["cache"]["reused"] is True
    assert results["colour_reference"] == earlier["colour_reference"]


def test_the_reference_key_changes_with_the_data_the_classes_and_the_code(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import reportgen.reference

    key = reference_key("a" * 32, 5)
    assert reference_key("a" * 32, 5) == key
    assert reference_key("b" * 32, 5) != key
    assert reference_key("a" * 32, 4) != key
    monkeypatch.setattr(reportgen.reference, "_code_digest", lambda: "other code")
    assert reference_key("a" * 32, 5) != key


def test_a_damaged_cached_reference_is_refitted_not_used(tmp_path: Path) -> None:
    from reportgen import cache

    reference = {"model": "logistic regression", "n_features": 6, "accuracy": 0.53, "auc": 0.7}
    cache.save_reference(reference, tmp_path, "0" * 20)
    stored = tmp_path / "references" / f"{'0' * 20}.json"
    assert [path.name for path in stored.parent.iterdir()] == [stored.name]  # no staging left
    assert cache.load_reference(tmp_path, "0" * 20) == reference
    assert cache.load_reference(tmp_path, "1" * 20) is None  # another key: absent
    stored.write_text(stored.read_text().replace("0.53", "0.63"))  # one digit changed
    assert cache.load_reference(tmp_path, "0" * 20) is None
    stored.write_text("{not json")
    assert cache.load_reference(tmp_path, "0" * 20) is None
