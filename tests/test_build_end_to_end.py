"""`reportgen build` end to end on the synthetic DermaMNIST file, through the real medmnist loader."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from reportgen import metrics
from reportgen.cli import main
from reportgen.figures import FIGURE_FILES
from reportgen.render import PAGES
from reportgen.study import STUDY_TEST
from tests.conftest import DERMAMNIST_COUNTS

PAGE_NAMES = list(PAGES)


@pytest.fixture(scope="module")
def derma_build(synthetic_derma_root: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One 2-epoch build of the synthetic file, shared by the tests of this module."""
    base = tmp_path_factory.mktemp("derma-build")
    dirs = {name: base / name for name in ("docs", "site", "cache")}
    args = [
        "build", "--data-root", str(synthetic_derma_root), "--allow-unofficial-data",
        "--epochs", "2", "--momentum", "0.9",
        "--docs-dir", str(dirs["docs"]), "--site-dir", str(dirs["site"]), "--cache-dir", str(dirs["cache"]),
    ]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    results = json.loads((dirs["docs"] / "data" / "results.json").read_text())
    return {"dirs": dirs, "args": args, "output": result.output, "results": results}


def test_every_page_and_figure_exists(derma_build: dict[str, Any]) -> None:
    docs, site = derma_build["dirs"]["docs"], derma_build["dirs"]["site"]
    for page in PAGE_NAMES:
        assert (docs / page).stat().st_size > 200, page
        html_page = site / ("index.html" if page == "index.md" else f"{page[:-3]}/index.html")
        assert html_page.is_file(), html_page
    for file in FIGURE_FILES.values():
        png = docs / "figures" / file
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", file
        assert (site / "figures" / file).is_file()


def test_results_json_is_complete(derma_build: dict[str, Any]) -> None:
    results = derma_build["results"]
    assert results["config"]["epochs"] == 2 and results["config"]["dataset"] == "dermamnist"
    assert set(results["environment"]) >= {"python", "torch", "medmnist", "device"}
    assert results["dataset"]["official"] is False
    assert results["dataset"]["counts"] == DERMAMNIST_COUNTS
    assert [row["epoch"] for row in results["history"]] == [1, 2]
    for row in results["history"]:
        assert set(row) >= {"train_loss", "train_accuracy", "train_auc", "val_loss", "val_accuracy", "val_auc"}
    test = results["test"]
    assert set(test) >= {"accuracy", "auc", "balanced_accuracy", "macro_f1", "confusion_matrix", "report"}
    assert set(results["timings"]) == {"load", "train", "evaluate", "figures", "render", "site"}
    assert all(seconds >= 0 for seconds in results["timings"].values())
    # The synthetic classes are learnable: two epochs must beat the majority-class baseline.
    assert test["auc"] > 0.9


def test_predictions_csv_agrees_with_results(derma_build: dict[str, Any]) -> None:
    docs = derma_build["dirs"]["docs"]
    table = pd.read_csv(docs / "data" / "predictions.csv")
    assert list(table.columns) == ["index", "label", "prediction"] + [f"prob_{k}" for k in range(7)]
    assert len(table) == 2005
    assert np.bincount(table["label"], minlength=7).tolist() == DERMAMNIST_COUNTS["test"]
    probabilities = table[[f"prob_{k}" for k in range(7)]].to_numpy()
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, atol=1e-4)
    assert (probabilities.argmax(axis=1) == table["prediction"]).all()
    test = derma_build["results"]["test"]
    labels = table["label"].to_numpy()
    assert metrics.accuracy(labels, probabilities) == pytest.approx(test["accuracy"])
    assert metrics.mean_auc(labels, probabilities) == pytest.approx(test["auc"], abs=1e-4)
    matrix = metrics.confusion(labels, table["prediction"].to_numpy(), 7)
    assert matrix.tolist() == test["confusion_matrix"]


def test_every_page_flags_the_unofficial_file(derma_build: dict[str, Any]) -> None:
    docs, site = derma_build["dirs"]["docs"], derma_build["dirs"]["site"]
    md5 = derma_build["results"]["dataset"]["md5"]
    for page in PAGE_NAMES:
        text = (docs / page).read_text()
        assert '!!! warning "Unofficial data file: dermamnist.npz"' in text, page
        assert md5 in text, page
    assert "Unofficial data file" in (site / "results" / "index.html").read_text()


def test_index_shows_the_study_beside_this_run(derma_build: dict[str, Any]) -> None:
    index = (derma_build["dirs"]["docs"] / "index.md").read_text()
    assert "## The study vs this run" in index
    accuracy = derma_build["results"]["test"]["accuracy"]
    assert re.search(rf"\| Accuracy \| {STUDY_TEST['accuracy']:.2f} \| {accuracy:.3f} \|", index)
    melanoma = r"\| melanoma \| 0\.38 / \d\.\d\d \| 0\.04 / \d\.\d\d \| 0\.07 / \d\.\d\d \| 223 / 223 \|"
    assert re.search(melanoma, index), index


def test_rerun_reuses_the_cached_run_and_its_figures(derma_build: dict[str, Any]) -> None:
    runner = CliRunner()
    roc = derma_build["dirs"]["docs"] / "figures" / FIGURE_FILES["roc"]
    drawn_at = roc.stat().st_mtime_ns
    cached = runner.invoke(main, derma_build["args"])
    assert cached.exit_code == 0, cached.output
    assert "(UNOFFICIAL data file, cached run)" in cached.output
    results = json.loads((derma_build["dirs"]["docs"] / "data" / "results.json").read_text())
    assert results["cache"]["reused"] is True
    assert results["test"] == derma_build["results"]["test"]
    assert results["timings"]["train"] == 0.0
    assert roc.stat().st_mtime_ns == drawn_at  # copied from the earlier build, not redrawn


def test_render_rebuilds_pages_from_results_json(derma_build: dict[str, Any]) -> None:
    dirs = derma_build["dirs"]
    (dirs["docs"] / "results.md").unlink()
    result = CliRunner().invoke(
        main, ["render", "--docs-dir", str(dirs["docs"]), "--site-dir", str(dirs["site"])]
    )
    assert result.exit_code == 0, result.output
    assert "confusion_matrix_counts.png" in (dirs["docs"] / "results.md").read_text()
    assert (dirs["docs"] / "figures" / FIGURE_FILES["samples"]).is_file()


def test_retrain_trains_again_with_identical_results(derma_build: dict[str, Any]) -> None:
    result = CliRunner().invoke(main, [*derma_build["args"], "--retrain"])
    assert result.exit_code == 0, result.output
    assert "cached run" not in result.output
    results = json.loads((derma_build["dirs"]["docs"] / "data" / "results.json").read_text())
    assert results["cache"]["reused"] is False and results["timings"]["train"] > 0
    assert results["test"] == derma_build["results"]["test"]  # same seed, same numbers
