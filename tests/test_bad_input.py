"""Bad input: one clear message, a non-zero exit, no traceback, and earlier output untouched."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from reportgen.cli import main
from tests.conftest import RETINAMNIST_COUNTS, dir_args, write_synthetic_npz



def tree_digest(folder: Path) -> str:
    """One hash over every file's path and bytes: changes if anything in folder changes."""
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        digest.update(str(path.relative_to(folder)).encode())
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


@pytest.fixture(scope="module")
def earlier_build(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A finished 1-epoch build on a synthetic RetinaMNIST-shaped file, to be left untouched."""
    base = tmp_path_factory.mktemp("earlier")
    data_root = base / "data"
    write_synthetic_npz(data_root / "retinamnist.npz", RETINAMNIST_COUNTS)
    dirs = {"docs": base / "docs", "site": base / "site", "cache": base / "cache", "data": data_root}
    result = CliRunner().invoke(
        main, ["build", "--dataset", "retinamnist", "--data-root", str(data_root),
               "--allow-unofficial-data", "--epochs", "1", *dir_args(dirs)]
    )
    assert result.exit_code == 0, result.output
    return dirs


def assert_clean_failure(result: object, *phrases: str) -> None:
    assert result.exit_code != 0  # type: ignore[attr-defined]
    output = result.output  # type: ignore[attr-defined]
    assert "Traceback" not in output
    for phrase in phrases:
        assert phrase in output, output


def test_md5_mismatch_without_flag_is_refused_and_earlier_site_kept(earlier_build: dict[str, Path]) -> None:
    before = {name: tree_digest(earlier_build[name]) for name in ("docs", "site")}
    result = subprocess.run(
        [sys.executable, "-m", "reportgen", "build", "--dataset", "retinamnist",
         "--data-root", str(earlier_build["data"]), "--epochs", "1", *dir_args(earlier_build)],
        capture_output=True, text=True, check=False,
    )
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    assert "MD5" in result.stderr and "--allow-unofficial-data" in result.stderr
    assert "bd4c0672f1bba3e3a89f0e4e876791e4" in result.stderr  # the official checksum, to compare
    assert {name: tree_digest(earlier_build[name]) for name in ("docs", "site")} == before


def test_absent_data_offline_says_where_to_get_it(
    earlier_build: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import medmnist.dataset

    def offline_download(self: object) -> None:
        raise RuntimeError("Automatic download failed! (no network)")

    monkeypatch.setattr(medmnist.dataset.MedMNIST, "download", offline_download)
    before = {name: tree_digest(earlier_build[name]) for name in ("docs", "site")}
    result = CliRunner().invoke(
        main, ["build", "--data-root", str(tmp_path / "empty"), *dir_args(earlier_build)]
    )
    assert_clean_failure(result, "dermamnist.npz", "could not be downloaded", "zenodo.org", "--data-root")
    assert {name: tree_digest(earlier_build[name]) for name in ("docs", "site")} == before


@pytest.mark.parametrize(
    ("args", "phrase"),
    [
        (["--dataset", "nosuchmnist"], "Unknown dataset 'nosuchmnist'"),
        (["--dataset", "organmnist3d"], "3D dataset"),
        (["--dataset", "chestmnist"], "multi-label"),
        (["--epochs", "0"], "--epochs"),
        (["--batch-size", "0"], "--batch-size"),
        (["--lr", "0"], "--lr"),
        (["--momentum", "1"], "outside [0, 1)"),
    ],
)
def test_bad_options_are_rejected(runner: CliRunner, args: list[str], phrase: str) -> None:
    result = runner.invoke(main, ["build", *args])
    assert result.exit_code == 2
    assert_clean_failure(result, phrase)


def test_not_an_npz_file_is_refused(earlier_build: dict[str, Path], tmp_path: Path) -> None:
    (tmp_path / "retinamnist.npz").write_text("not a zip archive")
    before = tree_digest(earlier_build["site"])
    result = CliRunner().invoke(
        main, ["build", "--dataset", "retinamnist", "--data-root", str(tmp_path),
               "--allow-unofficial-data", *dir_args(earlier_build)]
    )
    assert_clean_failure(result, "cannot be read as a MedMNIST .npz file")
    assert tree_digest(earlier_build["site"]) == before


def test_render_without_results_says_build_first(tmp_path: Path, runner: CliRunner) -> None:
    result = runner.invoke(main, ["render", "--docs-dir", str(tmp_path / "docs")])
    assert_clean_failure(result, "No results file", "reportgen build")


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="this machine has a CUDA GPU")
def test_cuda_asked_for_without_a_gpu_is_refused(earlier_build: dict[str, Path]) -> None:
    before = tree_digest(earlier_build["site"])
    result = CliRunner().invoke(
        main, ["build", "--dataset", "retinamnist", "--data-root", str(earlier_build["data"]),
               "--allow-unofficial-data", "--epochs", "1", "--device", "cuda", "--retrain",
               *dir_args(earlier_build)]
    )
    assert_clean_failure(result, "no CUDA GPU", "--device cpu")
    assert tree_digest(earlier_build["site"]) == before
