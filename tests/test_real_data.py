"""The real-data check: the official RetinaMNIST file from ../shared/data, 10 epochs end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from reportgen.cli import main
from tests.conftest import SHARED_DATA, dir_args

RETINA = SHARED_DATA / "retinamnist.npz"


@pytest.mark.skipif(not RETINA.is_file(), reason="../shared/data/retinamnist.npz is not present")
def test_retinamnist_build_reaches_auc_070(out_dirs: dict[str, Path], runner: CliRunner) -> None:
    result = runner.invoke(
        main,
        [
            "build",
            "--dataset",
            "retinamnist",
            "--data-root",
            str(SHARED_DATA),
            "--epochs",
            "10",
            *dir_args(out_dirs),
        ],
    )
    assert result.exit_code == 0, result.output
    results = json.loads((out_dirs["docs"] / "data" / "results.json").read_text())
    assert results["dataset"]["official"] is True
    assert results["dataset"]["md5"] == "bd4c0672f1bba3e3a89f0e4e876791e4"
    assert results["test"]["auc"] >= 0.70
    # Ordered grades: how far off the predicted grades are is published, and shown.
    assert set(results["test"]["ordinal"]) >= {"mean_absolute_error", "quadratic_weighted_kappa"}
    assert "## How far off the grades are" in (out_dirs["docs"] / "results.md").read_text()
    index = (out_dirs["docs"] / "index.md").read_text()
    assert "RetinaMNIST" in index
    for page in out_dirs["docs"].glob("*.md"):
        # The collection table lists every MedMNIST dataset by design; nothing else may name Derma.
        text = page.read_text().split("## The MedMNIST collection")[0]
        assert "DermaMNIST" not in text and "dermamnist" not in text, page.name
        assert "Unofficial" not in text
    assert (out_dirs["site"] / "index.html").is_file()
