"""Two CPU builds with the same seed agree bit for bit; a different seed gives different numbers."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from reportgen.cli import main
from tests.conftest import dir_args, synthetic_build_args


def _args(earlier_build: dict[str, Path], seed: int, dirs: dict[str, Path]) -> list[str]:
    return synthetic_build_args(
        str(earlier_build["data"]),
        "--epochs",
        "1",
        "--device",
        "cpu",
        "--seed",
        str(seed),
        "--no-site",
        "--quiet",
        *dir_args(dirs),
    )


def _outputs(dirs: dict[str, Path]) -> dict[str, Any]:
    results = json.loads((dirs["docs"] / "data" / "results.json").read_text())
    predictions = (dirs["docs"] / "data" / "predictions.csv").read_bytes()
    history = [
        {key: value for key, value in row.items() if key != "seconds"} for row in results["history"]
    ]
    return {
        "test": results["test"],
        "history": history,
        "predictions": predictions,
        "reused": results["cache"]["reused"],
    }


@pytest.fixture(scope="module")
def builds(
    earlier_build: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """Seed 0 in this process, seed 0 in a fresh process, seed 1; each with its own empty cache."""
    outputs = {}
    for name, seed, in_process in (
        ("first", 0, True),
        ("second", 0, False),
        ("other seed", 1, True),
    ):
        base = tmp_path_factory.mktemp(name.replace(" ", "-"))
        dirs = {folder: base / folder for folder in ("docs", "site", "cache")}
        args = _args(earlier_build, seed, dirs)
        if in_process:
            result = CliRunner().invoke(main, args)
            assert result.exit_code == 0, result.output
        else:
            process = subprocess.run(
                [sys.executable, "-m", "reportgen", *args],
                capture_output=True,
                text=True,
                check=False,
            )
            assert process.returncode == 0, process.stderr
        outputs[name] = _outputs(dirs)
    return outputs


def test_same_seed_gives_identical_results(builds: dict[str, Any]) -> None:
    first, second = builds["first"], builds["second"]
    assert first["reused"] is False and second["reused"] is False  # both trained, neither cached
    assert first["test"] == second["test"]
    assert first["history"] == second["history"]
    assert first["predictions"] == second["predictions"]


def test_different_seed_gives_different_results(builds: dict[str, Any]) -> None:
    first, other = builds["first"], builds["other seed"]
    assert other["reused"] is False
    assert first["test"] != other["test"]
    assert first["predictions"] != other["predictions"]
