"""Bad input: one clear message, a non-zero exit, no traceback, and earlier output untouched."""

from __future__ import annotations

import errno
import json
import shutil
import socket
import subprocess
import sys
import urllib.error
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

import reportgen.publish
from reportgen.cli import main
from reportgen.results import REQUIRED_KEYS, SCHEMA_VERSION
from tests.conftest import assert_clean_failure, dir_args, synthetic_build_args, tree_digest


@pytest.fixture
def training_calls(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Each call of the build's training step (which still trains), to show a refusal came first.

    Training prints no `[reportgen]` stage line, only a progress bar, so the output cannot tell."""
    import reportgen.build

    calls: list[object] = []
    real_train = reportgen.build._train

    def recorded(*args: Any) -> Any:
        calls.append(args[0])
        return real_train(*args)

    monkeypatch.setattr(reportgen.build, "_train", recorded)
    return calls


def test_md5_mismatch_without_flag_is_refused_and_earlier_site_kept(
    earlier_build: dict[str, Path],
) -> None:
    before = {name: tree_digest(earlier_build[name]) for name in ("docs", "site")}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "reportgen",
            "build",
            "--dataset",
            "retinamnist",
            "--data-root",
            str(earlier_build["data"]),
            "--epochs",
            "1",
            *dir_args(earlier_build),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    assert "MD5" in result.stderr and "--allow-unofficial-data" in result.stderr
    assert "bd4c0672f1bba3e3a89f0e4e876791e4" in result.stderr  # the official checksum, to compare
    assert {name: tree_digest(earlier_build[name]) for name in ("docs", "site")} == before


def test_absent_data_offline_says_where_to_get_it(
    earlier_build: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import torchvision.datasets.utils

    def offline_download(url: str, root: str, filename: str, md5: str) -> None:
        raise urllib.error.URLError(socket.gaierror(-2, "Name or service not known"))

    # medmnist's own download, which wraps this in its RuntimeError, as on a machine offline.
    monkeypatch.setattr(torchvision.datasets.utils, "download_url", offline_download)
    before = {name: tree_digest(earlier_build[name]) for name in ("docs", "site")}
    mistyped = tmp_path / "dta" / "medmnist"  # neither folder exists
    result = CliRunner().invoke(
        main, ["build", "--data-root", str(mistyped), *dir_args(earlier_build)]
    )
    assert_clean_failure(
        result,
        "dermamnist.npz",
        "could not be downloaded (no network connection to Zenodo",
        "zenodo.org",
        "--data-root",
    )
    assert f"The folder {mistyped} did not exist either" in result.output
    assert not (tmp_path / "dta").exists()  # the folders made for the download are gone again
    assert {name: tree_digest(earlier_build[name]) for name in ("docs", "site")} == before
    # A first build's folders, below one that does not exist yet: none is made, no lock file left.
    fresh = tmp_path / "fresh"
    fresh_dirs = {name: fresh / "out" / name for name in ("docs", "site", "cache")}
    result = CliRunner().invoke(
        main, ["build", "--data-root", str(mistyped), *dir_args(fresh_dirs)]
    )
    assert_clean_failure(result, "dermamnist.npz", "could not be downloaded")
    assert not fresh.exists()
    existing = tmp_path / "empty"
    existing.mkdir()
    result = CliRunner().invoke(
        main, ["build", "--data-root", str(existing), *dir_args(earlier_build)]
    )
    assert_clean_failure(result, "dermamnist.npz", "could not be downloaded")
    assert "did not exist" not in result.output and existing.is_dir()  # the user's folder stays
    assert list(existing.iterdir()) == []  # and the download's own folder is gone


@pytest.mark.parametrize(
    ("args", "phrase"),
    [
        (["--dataset", "nosuchmnist"], "Unknown dataset 'nosuchmnist'"),
        (["--dataset", "organmnist3d"], "3D dataset"),
        (["--dataset", "chestmnist"], "multi-label"),
        (["--epochs", "0"], "--epochs"),
        (["--batch-size", "0"], "--batch-size"),
        (["--lr", "0"], "--lr"),
        (["--momentum", "1"], "must be in [0, 1)"),
        (["--lr", "nan"], "must be > 0"),
        (["--ensemble", "21"], "must be from 1 to 20"),
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
        main,
        synthetic_build_args(str(tmp_path), *dir_args(earlier_build)),
    )
    assert_clean_failure(result, "nor an npz file at all", "Delete it and download the official")
    assert "pickle" not in result.output  # numpy's advice to load a damaged file unsafely
    assert tree_digest(earlier_build["site"]) == before


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04 cut off"], ids=["empty", "truncated"])
def test_a_file_no_flag_could_make_usable_is_not_offered_the_flag(
    content: bytes, tmp_path: Path, out_dirs: dict[str, Path]
) -> None:
    """--allow-unofficial-data lets a build use another npz file, not one it cannot read."""
    (tmp_path / "retinamnist.npz").write_bytes(content)
    args = ["build", "--dataset", "retinamnist", "--data-root", str(tmp_path)]
    result = CliRunner().invoke(main, [*args, *dir_args(out_dirs)])
    state = "empty" if not content else "truncated or another kind of file"
    assert_clean_failure(
        result, f"nor an npz file at all (a zip archive of NumPy arrays): it is {state}"
    )
    assert "--allow-unofficial-data" not in result.output


def _refuse_access(monkeypatch: pytest.MonkeyPatch, method: str, refused: Path) -> None:
    """Path.<method> fails with EACCES on refused, as for a user without the permission (the
    tests may run as root, whom chmod does not stop). For "stat", a folder on the way may not be
    opened: exists(), is_dir() and is_file() then say False, as they do from Python 3.14 on."""
    real = getattr(Path, method)

    def guarded(self: Path, *args: Any, **kwargs: Any) -> Any:
        if self == refused:
            raise PermissionError(13, "Permission denied", str(self))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, method, guarded)
    if method == "stat":
        for hiding in ("exists", "is_dir", "is_file"):
            real_check = getattr(Path, hiding)
            monkeypatch.setattr(
                Path,
                hiding,
                lambda self, *a, _real=real_check, **k: self != refused and _real(self, *a, **k),
            )


@pytest.mark.parametrize(
    ("method", "phrases"),
    [
        ("open", ["Cannot read the data file", "Permission denied", "chmod u+r"]),
        ("stat", ["Cannot look for retinamnist.npz in --data-root", "chmod u+rx"]),
    ],
)
def test_a_data_file_or_folder_this_user_cannot_read_is_refused(
    method: str,
    phrases: list[str],
    earlier_build: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
    training_calls: list[object],
) -> None:
    before = {name: tree_digest(earlier_build[name]) for name in ("docs", "site")}
    _refuse_access(monkeypatch, method, earlier_build["data"] / "retinamnist.npz")
    args = synthetic_build_args(earlier_build["data"], *dir_args(earlier_build))
    result = CliRunner().invoke(main, args)
    assert_clean_failure(result, *phrases)
    assert not training_calls
    assert {name: tree_digest(earlier_build[name]) for name in ("docs", "site")} == before


def test_render_without_results_says_build_first(tmp_path: Path, runner: CliRunner) -> None:
    out = tmp_path / "out"  # not there yet
    folders = ["--docs-dir", str(out / "docs"), "--site-dir", str(out / "site")]
    result = runner.invoke(main, ["render", *folders])
    assert_clean_failure(result, "No results file", "reportgen build")
    assert list(tmp_path.iterdir()) == []  # no folder made for the outputs, no lock file left


@pytest.mark.parametrize(
    ("device", "reason", "hint"),
    [("cuda", "no CUDA GPU", "--device cpu"), ("mps", "MPS is not available", "--device cpu")],
)
def test_a_device_asked_for_that_is_absent_is_refused(
    earlier_build: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
    device: str,
    reason: str,
    hint: str,
) -> None:
    import torch

    # As on a machine without either, whatever this one has.
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    before = tree_digest(earlier_build["site"])
    result = CliRunner().invoke(
        main,
        synthetic_build_args(
            str(earlier_build["data"]),
            "--epochs",
            "1",
            "--device",
            device,
            "--retrain",
            *dir_args(earlier_build),
        ),
    )
    assert_clean_failure(result, reason, hint)
    assert tree_digest(earlier_build["site"]) == before


def _good_arrays(good: Path) -> dict[str, np.ndarray]:
    with np.load(good) as npz:
        return {key: npz[key] for key in npz.files}


def _rewrite(good: Path, path: Path, **changes: np.ndarray | None) -> None:
    """The good file's arrays with some replaced (or dropped, for None), saved at path."""
    arrays = _good_arrays(good)
    for key, value in changes.items():
        if value is None:
            del arrays[key]
        else:
            arrays[key] = value
    np.savez(path, **arrays)


def _write_bad_file(kind: str, good: Path, path: Path) -> None:
    arrays = _good_arrays(good)
    raw = good.read_bytes()
    if kind == "truncated":
        path.write_bytes(raw[: len(raw) // 2])
    elif kind == "corrupt":  # flip bytes inside a compressed member: the zip's CRC check fails
        damaged = bytearray(raw)
        middle = len(raw) // 2
        damaged[middle : middle + 64] = bytes(b ^ 0xFF for b in damaged[middle : middle + 64])
        path.write_bytes(bytes(damaged))
    elif kind == "missing key":
        _rewrite(good, path, val_labels=None)
    elif kind == "wrong image shape":
        _rewrite(good, path, train_images=arrays["train_images"][:, :27])
    elif kind == "grayscale for RGB":
        _rewrite(good, path, train_images=arrays["train_images"][..., 0])
    elif kind == "wrong image dtype":
        _rewrite(good, path, test_images=arrays["test_images"].astype(np.float32))
    elif kind == "fractional labels":
        _rewrite(good, path, val_labels=arrays["val_labels"].astype(np.float32) + 0.5)
    elif kind == "label above range":
        labels = arrays["train_labels"].copy()
        labels[0] = 5
        _rewrite(good, path, train_labels=labels)
    elif kind == "negative label":
        _rewrite(good, path, val_labels=arrays["val_labels"].astype(np.int64) - 1)
    elif kind == "two labels per image":
        _rewrite(good, path, val_labels=np.hstack([arrays["val_labels"]] * 2))
    elif kind == "split size":
        _rewrite(
            good,
            path,
            test_images=arrays["test_images"][:300],
            test_labels=arrays["test_labels"][:300],
        )
    elif kind == "members not arrays":  # a zip with the right names but no .npy inside
        with zipfile.ZipFile(path, "w") as archive:
            for key in arrays:
                archive.writestr(f"{key}.npy", b"not an array")
    elif kind == "folder":
        path.mkdir()
    else:
        raise AssertionError(kind)


@pytest.mark.parametrize(
    ("kind", "phrases"),
    [
        ("truncated", ["nor an npz file at all", "truncated", "download the official file"]),
        ("corrupt", ["is damaged", "cannot be read", "download it again"]),
        ("missing key", ["lacks the arrays val_labels", "Download the official file"]),
        (
            "wrong image shape",
            ["train_images has shape (1080, 27, 28, 3), expected (N, 28, 28, 3)"],
        ),
        ("grayscale for RGB", ["train_images has shape (1080, 28, 28), expected (N, 28, 28, 3)"]),
        ("wrong image dtype", ["test_images has dtype float32, expected uint8 pixels"]),
        ("fractional labels", ["val_labels has dtype float32, expected integer class indices"]),
        (
            "label above range",
            ["train_labels holds values from 0 to 5, outside the 5 classes 0..4"],
        ),
        ("negative label", ["val_labels holds values from -1 to 3, outside the 5 classes 0..4"]),
        (
            "two labels per image",
            ["val_labels has shape (120, 2), expected one class index per image"],
        ),
        (
            "split size",
            [
                "the test split has 300 images, but medmnist.INFO says retinamnist has 400",
                "--allow-unofficial-data waives the checksum only",  # the flag these tests pass
            ],
        ),
        ("members not arrays", ["is damaged: train_images, train_labels", "are not numpy arrays"]),
        ("folder", ["is not a regular file", "--data-root"]),
    ],
)
def test_damaged_or_malformed_data_file_is_refused(
    kind: str, phrases: list[str], earlier_build: dict[str, Path], tmp_path: Path
) -> None:
    _write_bad_file(kind, earlier_build["data"] / "retinamnist.npz", tmp_path / "retinamnist.npz")
    before = {name: tree_digest(earlier_build[name]) for name in ("docs", "site")}
    result = CliRunner().invoke(
        main,
        synthetic_build_args(str(tmp_path), "--epochs", "1", *dir_args(earlier_build)),
    )
    assert result.exit_code == 1
    assert_clean_failure(result, *phrases)
    assert {name: tree_digest(earlier_build[name]) for name in ("docs", "site")} == before


@pytest.mark.parametrize("where", ["below", "itself"])
@pytest.mark.parametrize("which", ["--docs-dir", "--site-dir"])
def test_output_dir_below_a_regular_file_is_refused(
    which: str, where: str, earlier_build: dict[str, Path], tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a regular file")
    args = dict(zip(dir_args(earlier_build)[::2], dir_args(earlier_build)[1::2], strict=True))
    args[which] = str(blocker / "out" if where == "below" else blocker)
    before = {name: tree_digest(earlier_build[name]) for name in ("docs", "site")}
    result = CliRunner().invoke(
        main,
        synthetic_build_args(
            earlier_build["data"],
            "--epochs",
            "1",
            *[part for item in args.items() for part in item],
        ),
    )
    assert_clean_failure(
        result, f"{blocker}", "is a file, not a folder", f"Choose another {which}."
    )
    assert {name: tree_digest(earlier_build[name]) for name in ("docs", "site")} == before
    assert blocker.read_text() == "a regular file"


def _copy_of_earlier_output(earlier_build: dict[str, Path], tmp_path: Path) -> tuple[Path, Path]:
    """The earlier build's docs and site, copied into tmp_path (for tests that may change them)."""
    docs, site = tmp_path / "docs", tmp_path / "site"
    shutil.copytree(earlier_build["docs"], docs)
    shutil.copytree(earlier_build["site"], site)
    return docs, site


def _render_edited_results(
    earlier_build: dict[str, Path], tmp_path: Path, edit: Callable[[dict[str, Any]], None]
) -> tuple[Any, dict[Path, str], dict[Path, str]]:
    """Render a copy of the earlier build after edit(results); (result, digests before, after)."""
    docs, site = _copy_of_earlier_output(earlier_build, tmp_path)
    results_file = docs / "data" / "results.json"
    results = json.loads(results_file.read_text())
    edit(results)
    results_file.write_text(json.dumps(results))
    before = {folder: tree_digest(folder) for folder in (docs, site)}
    result = CliRunner().invoke(main, ["render", "--docs-dir", str(docs), "--site-dir", str(site)])
    return result, before, {folder: tree_digest(folder) for folder in (docs, site)}


def _render_while_drawing_raises(
    error: Exception,
    earlier_build: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[Any, dict[Path, str], dict[Path, str]]:
    """_render_edited_results with an input changed, so that every figure is drawn again, and
    the ROC curves' drawing raising error."""
    import reportgen.figure_plan

    def failing(*_args: object, **_kwargs: object) -> None:
        raise error

    monkeypatch.setattr(reportgen.figure_plan, "plot_roc_curves", failing)
    return _render_edited_results(
        earlier_build, tmp_path, lambda results: results["history"][0].update(train_loss=9.0)
    )


def _name_one_class(data: Path) -> None:
    results = json.loads((data / "results.json").read_text())
    results["dataset"]["class_names"] = ["only one"]
    (data / "results.json").write_text(json.dumps(results))


def _edit_predictions(data: Path, edit: Callable[[list[str]], list[str]]) -> None:
    lines = (data / "predictions.csv").read_text().splitlines()
    (data / "predictions.csv").write_text("\n".join(edit(lines)) + "\n")


def _cut_predictions_mid_row(data: Path) -> None:
    """As a copy or write stopped part way: the file ends inside a row."""
    text = (data / "predictions.csv").read_text()
    (data / "predictions.csv").write_text(text[: len(text) // 2].rsplit(",", 1)[0])


def _drop_first_required_key(data: Path) -> None:
    results = json.loads((data / "results.json").read_text())
    del results[REQUIRED_KEYS[0]]
    (data / "results.json").write_text(json.dumps(results))


@pytest.mark.parametrize(
    ("damage", "phrases"),
    [
        (
            lambda data: (data / "results.json").write_text('{"schema_version": '),
            ("results.json is not valid JSON", "Rebuild it with `reportgen build`"),
        ),
        (
            _drop_first_required_key,
            (f"results.json lacks {REQUIRED_KEYS[0]}", "Rebuild it with `reportgen build`"),
        ),
        (
            lambda data: (data / "predictions.csv").unlink(),
            ("predictions.csv cannot be read", "Rebuild with `reportgen build`"),
        ),
        (
            lambda data: (data / "predictions.csv").write_text("label,prob_0\n0,0.5\n"),
            ("predictions.csv cannot be read", "prob_1"),
        ),
        (
            _cut_predictions_mid_row,
            ("predictions.csv is damaged: line", "empty or non-numeric cell"),
        ),
        (
            lambda data: _edit_predictions(data, lambda lines: lines[:50]),
            (
                "predictions.csv does not match results.json: it has 49 rows, but the test split in results.json has 400 images",
                "Rebuild with",
            ),
        ),
        (
            lambda data: _edit_predictions(
                data, lambda lines: [*lines[:4], "3,9," + lines[4].split(",", 2)[2], *lines[5:]]
            ),
            (
                "line 5 has label 9, but results.json names 5 classes, numbered 0 to 4",
                "Rebuild with",
            ),
        ),
        (
            lambda data: _edit_predictions(
                data, lambda lines: [*lines[:2], lines[2].replace(",0.", ",1.", 1), *lines[3:]]
            ),
            (
                "predictions.csv is damaged: the probabilities on line 3 do not sum to 1",
                "Rebuild with",
            ),
        ),
        (  # which of the two files is wrong, only the user knows
            _name_one_class,
            ("does not match results.json", "but results.json names 1 class, numbered 0 to 0"),
        ),
        (  # the earlier build ran no experiments; a broken file of them is still refused
            lambda data: (data / "experiments.json").write_text("[1, 2"),
            ("experiments.json is not valid JSON", "reportgen build --experiments FILE"),
        ),
    ],
    ids=[
        "results not JSON",
        "results lack a key",
        "predictions missing",
        "predictions lack a column",
        "predictions cut mid-row",
        "predictions cut short",
        "predictions with a label out of range",
        "predictions edited",
        "results name fewer classes",
        "experiments not JSON",
    ],
)
def test_render_refuses_damaged_earlier_output_and_changes_nothing(
    earlier_build: dict[str, Path],
    tmp_path: Path,
    damage: Callable[[Path], None],
    phrases: tuple[str, ...],
) -> None:
    docs, site = _copy_of_earlier_output(earlier_build, tmp_path)
    damage(docs / "data")
    before = {folder: tree_digest(folder) for folder in (docs, site)}
    result = CliRunner().invoke(main, ["render", "--docs-dir", str(docs), "--site-dir", str(site)])
    assert result.exit_code == 1
    assert_clean_failure(result, *phrases)
    assert {folder: tree_digest(folder) for folder in (docs, site)} == before


@pytest.mark.parametrize(
    "version", [SCHEMA_VERSION - 1, SCHEMA_VERSION + 1, str(SCHEMA_VERSION), None]
)
def test_render_refuses_results_of_another_schema_version(
    version: object, earlier_build: dict[str, Path], tmp_path: Path
) -> None:
    def set_version(results: dict[str, Any]) -> None:
        if version is None:
            del results["schema_version"]
        else:
            results["schema_version"] = version

    result, before, after = _render_edited_results(earlier_build, tmp_path, set_version)
    assert result.exit_code == 1
    assert_clean_failure(
        result,
        f"results schema version {version}",
        f"renders version {SCHEMA_VERSION}",
        "reportgen build",
    )
    assert after == before


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        (lambda results: results["test"].pop("report"), "KeyError: 'report'"),
        (lambda results: results.update(history="not a list"), "TypeError"),
        # (A null AUC is no error: a build writes one for a test split of one class.)
        (lambda results: results["test"].update(auc="0.7"), "TypeError"),
        # Read before the dry run of the pages: which URLs, classes and stage times to keep.
        (lambda results: results.update(config=["not", "a", "mapping"]), "AttributeError"),
        (lambda results: results.update(dataset="DermaMNIST"), "TypeError"),
        (lambda results: results.update(timings=[1.0, 2.0]), "AttributeError"),
    ],
    ids=[
        "field missing",
        "wrong type",
        "AUC as text",
        "config a list",
        "dataset a name",
        "timings a list",
    ],
)
def test_render_refuses_results_of_the_same_version_but_another_layout(
    edit: Callable[[dict[str, Any]], None],
    problem: str,
    earlier_build: dict[str, Path],
    tmp_path: Path,
) -> None:
    result, before, after = _render_edited_results(earlier_build, tmp_path, edit)
    assert result.exit_code == 1
    assert_clean_failure(
        result, "does not have the layout this reportgen", problem, "reportgen build"
    )
    assert after == before


def test_a_full_disk_while_copying_the_earlier_figures_is_reported_and_output_kept(
    earlier_build: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Unchanged inputs: the figures are copied, not drawn (render's usual path). copytree
    gathered a full disk into a shutil.Error without an errno, which surfaced as a bug."""
    docs, site = _copy_of_earlier_output(earlier_build, tmp_path)
    before = {folder: tree_digest(folder) for folder in (docs, site)}

    def disk_full(*_args: object, **_kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(shutil, "copy2", disk_full)
    result = CliRunner().invoke(main, ["render", "--docs-dir", str(docs), "--site-dir", str(site)])
    assert_clean_failure(result, "Could not write the new output ([Errno 28] No space left")
    assert {folder: tree_digest(folder) for folder in (docs, site)} == before


@pytest.mark.parametrize(
    "bug",
    [
        ValueError("a bug in the drawing code"),
        # Only a full disk, a read-only file system or permissions become "Could not write".
        FileNotFoundError(2, "No such file or directory", "figures/roc.png"),
    ],
    ids=["ValueError", "FileNotFoundError"],
)
def test_a_bug_while_drawing_is_not_blamed_on_the_results_file_or_the_machine(
    bug: Exception,
    earlier_build: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Only the dry run over the file's fields turns errors into "edited by hand", and only the
    machine's write failures into "Could not write"; an error in reportgen's own drawing code
    surfaces as the bug it is, and earlier output is kept."""
    result, before, after = _render_while_drawing_raises(bug, earlier_build, tmp_path, monkeypatch)
    assert isinstance(result.exception, type(bug))
    assert "does not have the layout" not in result.output
    assert "Could not write the new output" not in result.output
    assert after == before


def test_a_full_disk_while_publishing_is_reported_and_earlier_output_kept(
    earlier_build: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result, before, after = _render_while_drawing_raises(
        OSError(28, "No space left on device"), earlier_build, tmp_path, monkeypatch
    )
    assert_clean_failure(
        result,
        "Could not write the new output ([Errno 28] No space left on device)",
        f"Nothing was published: {tmp_path / 'docs'} and {tmp_path / 'site'} are as before",
        "Free some disk space",
    )
    assert after == before
    assert not [path for path in tmp_path.iterdir() if ".staging-" in path.name]


def test_an_output_folder_this_user_may_not_write_in_is_refused_before_any_work(
    earlier_build: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Moving a folder aside writes in it: a docs folder made with sudo failed only at the swap,
    after every figure and page had been made."""
    import os

    docs, site = _copy_of_earlier_output(earlier_build, tmp_path)
    real_access = os.access

    def read_only_docs(path: Any, mode: int) -> bool:  # as for another user (tests may be root)
        return not (mode & os.W_OK and Path(path) == docs.resolve()) and real_access(path, mode)

    monkeypatch.setattr(os, "access", read_only_docs)
    monkeypatch.setattr(reportgen.publish, "_rerender_locked", _never_called)
    result = CliRunner().invoke(main, ["render", "--docs-dir", str(docs), "--site-dir", str(site)])
    assert_clean_failure(
        result,
        f"Cannot replace --docs-dir {docs}: this user may not write in it",
        f'sudo chown -R "$USER" {docs}',
        f"chmod -R u+rwX {docs}",
    )


def _never_called(*_args: object, **_kwargs: object) -> None:
    raise AssertionError("the work began before the refusal")


@pytest.mark.parametrize(
    ("folder", "phrase"),
    [("site", "Cannot look into --site-dir"), ("cache", "Cannot reach")],
)
def test_output_folders_this_user_may_not_open_are_refused_before_any_work(
    folder: str,
    phrase: str,
    synthetic_retina_root: Path,
    out_dirs: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
    training_calls: list[object],
) -> None:
    _refuse_access(monkeypatch, "stat", out_dirs[folder].resolve())
    args = synthetic_build_args(synthetic_retina_root, "--epochs", "1", *dir_args(out_dirs))
    result = CliRunner().invoke(main, args)
    assert_clean_failure(result, phrase, str(out_dirs[folder]), "Permission denied")
    assert not training_calls and not out_dirs["docs"].exists()


def test_an_output_folder_that_is_not_a_reportgen_output_is_never_replaced(
    synthetic_retina_root: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    training_calls: list[object],
) -> None:
    """`--site-dir .` in a project folder once replaced that whole folder, deleting its files."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "notes.txt").write_text("the user's own file")
    monkeypatch.chdir(project)
    args = ["--epochs", "1", "--docs-dir", str(tmp_path / "docs"), "--site-dir", "."]
    result = CliRunner().invoke(main, synthetic_build_args(synthetic_retina_root, *args))
    assert_clean_failure(
        result, "--site-dir . already exists and is not a reportgen output", "data/results.json"
    )
    assert not training_calls  # refused before any work
    assert (project / "notes.txt").read_text() == "the user's own file"
    assert not (tmp_path / "docs").exists()


def test_an_earlier_output_folder_holding_a_git_repository_is_never_replaced(
    earlier_build: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`git init` in site/ to push it to a pages branch: the next build would delete the history."""
    docs, site = _copy_of_earlier_output(earlier_build, tmp_path)
    (site / ".git").mkdir()
    (site / ".git" / "HEAD").write_text("ref: refs/heads/gh-pages\n")
    before = {folder: tree_digest(folder) for folder in (docs, site)}
    monkeypatch.setattr(reportgen.publish, "_rerender_locked", _never_called)
    result = CliRunner().invoke(main, ["render", "--docs-dir", str(docs), "--site-dir", str(site)])
    assert_clean_failure(
        result, f"--site-dir {site} holds a git repository (.git)", "copy the built files"
    )
    assert {folder: tree_digest(folder) for folder in (docs, site)} == before
    assert (site / ".git" / "HEAD").read_text() == "ref: refs/heads/gh-pages\n"


def test_an_empty_or_earlier_output_folder_is_replaced(
    earlier_build: dict[str, Path], tmp_path: Path
) -> None:
    docs, site = tmp_path / "docs", tmp_path / "site"
    docs.mkdir()  # empty: nothing to lose
    shutil.copytree(earlier_build["site"], site)  # an earlier output: replaced as always
    args = ["--epochs", "1", "--docs-dir", str(docs), "--site-dir", str(site)]
    args += ["--cache-dir", str(earlier_build["cache"])]
    result = CliRunner().invoke(main, synthetic_build_args(earlier_build["data"], *args))
    assert result.exit_code == 0, result.output
    assert (docs / "data" / "results.json").is_file() and (site / "index.html").is_file()


@pytest.mark.parametrize(
    ("layout", "phrases"),
    [
        ({"--site-dir": "docs"}, ["--docs-dir", "and --site-dir", "overlap"]),
        ({"--site-dir": "docs/site"}, ["overlap", "separate folders"]),
        ({"--docs-dir": "site/docs"}, ["overlap"]),
        ({"--cache-dir": "docs/cache"}, ["--cache-dir", "lies inside --docs-dir", "deleted"]),
        ({"--cache-dir": "site/.cache"}, ["lies inside --site-dir"]),
    ],
)
def test_overlapping_output_folders_are_refused_before_training(
    layout: dict[str, str],
    phrases: list[str],
    earlier_build: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    training_calls: list[object],
) -> None:
    shutil.copytree(earlier_build["docs"], tmp_path / "docs")
    shutil.copytree(earlier_build["site"], tmp_path / "site")
    monkeypatch.chdir(tmp_path)
    before = {name: tree_digest(tmp_path / name) for name in ("docs", "site")}
    folders = {"--docs-dir": "docs", "--site-dir": "site", "--cache-dir": "cache", **layout}
    args = ["--epochs", "1", *[part for item in folders.items() for part in item]]
    result = CliRunner().invoke(main, synthetic_build_args(earlier_build["data"], *args))
    assert_clean_failure(result, *phrases)
    assert not training_calls
    assert {name: tree_digest(tmp_path / name) for name in ("docs", "site")} == before


def test_a_refused_build_creates_no_folders(
    earlier_build: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Overlapping outputs in folders that do not exist yet: refused, and none is created."""
    monkeypatch.chdir(tmp_path)
    args = ["--epochs", "1", "--docs-dir", "new/out/docs", "--site-dir", "new/out/docs/site"]
    result = CliRunner().invoke(main, synthetic_build_args(earlier_build["data"], *args))
    assert_clean_failure(result, "overlap")
    assert not (tmp_path / "new").exists()


def test_render_refuses_a_site_folder_that_holds_the_working_folder(
    earlier_build: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs, site = _copy_of_earlier_output(earlier_build, tmp_path)
    (site / "work").mkdir()
    monkeypatch.chdir(site / "work")
    result = CliRunner().invoke(main, ["render", "--docs-dir", str(docs), "--site-dir", str(site)])
    assert_clean_failure(result, "the working folder", f"lies inside --site-dir {site}")
    assert (site / "work").is_dir()


@pytest.mark.parametrize("command", ["build", "render", "serve"])
def test_a_deleted_working_folder_is_a_clear_error(
    command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The shell's folder was removed under it (rm -r from another terminal)."""
    gone = tmp_path / "gone"
    gone.mkdir()
    monkeypatch.chdir(gone)
    gone.rmdir()
    result = CliRunner().invoke(main, [command])
    assert_clean_failure(result, "working folder no longer exists", "cd")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("below", ["", "sub", "runs", "references"])
def test_a_cache_dir_that_cannot_be_a_folder_is_refused_before_training(
    below: str,
    synthetic_retina_root: Path,
    out_dirs: dict[str, Path],
    tmp_path: Path,
    training_calls: list[object],
) -> None:
    blocker = tmp_path / "not-a-folder"
    if below in ("runs", "references"):  # the cache's own folders: a file in the way of one
        out_dirs["cache"] = tmp_path / "cache"
        blocker = out_dirs["cache"] / below
        blocker.parent.mkdir()
    blocker.write_text("a regular file")
    if below in ("", "sub"):
        out_dirs["cache"] = blocker / below if below else blocker
    args = synthetic_build_args(synthetic_retina_root, "--epochs", "1", *dir_args(out_dirs))
    result = CliRunner().invoke(main, args)
    assert_clean_failure(result, f"{blocker} is a file, not a folder", "another --cache-dir")
    assert not training_calls
    assert blocker.read_text() == "a regular file"


def test_a_run_that_cannot_be_cached_fails_cleanly_and_publishes_nothing(
    synthetic_retina_root: Path, out_dirs: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    import numpy

    def disk_full(*_args: object, **_kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(numpy, "savez", disk_full)
    args = synthetic_build_args(synthetic_retina_root, "--epochs", "1", *dir_args(out_dirs))
    result = CliRunner().invoke(main, args)
    assert_clean_failure(
        result,
        "Could not save the trained run",
        "No space left on device",
        "Free some disk space or choose another --cache-dir",
    )
    assert not out_dirs["docs"].exists() and not out_dirs["site"].exists()
    assert not list((out_dirs["cache"] / "runs").iterdir())  # no half-written entry left behind


@pytest.mark.parametrize(
    ("error", "advice"),
    [
        (OSError(errno.ENOSPC, "No space left on device"), "Free some disk space"),
        (PermissionError(errno.EACCES, "Permission denied", "/c/runs"), "Make the folder writable"),
        (FileExistsError(errno.EEXIST, "File exists", "/c/runs"), "Check that folder"),
    ],
)
def test_a_cache_write_that_fails_gets_the_advice_that_fits(error: OSError, advice: str) -> None:
    """A file in the way was told to free disk space."""
    from reportgen import cache

    message = str(cache._not_saved("trained run", Path("/c"), error))
    assert message.startswith(f"Could not save the trained run in /c ({error.strerror}")
    assert f"{advice}" in message and message.endswith("then build again.")
    assert ("at /c/runs" in message) is (error.filename is not None)
    if advice != "Free some disk space":
        assert "disk space" not in message


def test_a_data_file_replaced_after_the_build_named_it_is_refused_before_training(
    tmp_path: Path, earlier_build: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cache key names the data by the MD5 read first; a file replaced before training
    (another download into the same folder) must not be trained on under that key."""
    from reportgen import cache
    from tests.conftest import RETINAMNIST_COUNTS, write_synthetic_npz

    root = tmp_path / "data"
    write_synthetic_npz(root / "retinamnist.npz", RETINAMNIST_COUNTS, seed=3)  # not yet cached
    run_key = cache.run_key

    def replaced_after_keying(*args: Any, **kwargs: Any) -> str:
        key = run_key(*args, **kwargs)
        write_synthetic_npz(root / "retinamnist.npz", RETINAMNIST_COUNTS, seed=7)
        return key

    monkeypatch.setattr(cache, "run_key", replaced_after_keying)
    before = tree_digest(earlier_build["site"])
    args = synthetic_build_args(root, "--epochs", "1", *dir_args(earlier_build))
    result = CliRunner().invoke(main, args)
    assert_clean_failure(result, "changed while this build ran", "build again")
    assert tree_digest(earlier_build["site"]) == before


def test_missing_templates_or_mkdocs_config_are_reported_before_training(
    synthetic_retina_root: Path,
    out_dirs: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    training_calls: list[object],
) -> None:
    """As after `pip install .` from a wheel: the package without the repository beside it."""
    import reportgen.render
    import reportgen.site

    monkeypatch.chdir(tmp_path)  # no mkdocs.yml here either
    monkeypatch.setattr(reportgen.site, "PROJECT_ROOT", tmp_path / "site-packages")
    args = synthetic_build_args(synthetic_retina_root, "--epochs", "1", *dir_args(out_dirs))
    result = CliRunner().invoke(main, args)
    assert_clean_failure(result, "MkDocs configuration", "--no-site")
    assert not training_calls

    monkeypatch.setattr(reportgen.render, "TEMPLATES_DIR", tmp_path / "site-packages" / "t")
    result = CliRunner().invoke(main, [*args, "--no-site"])
    assert_clean_failure(result, "page templates are not in", "pip install -e .")
    assert not training_calls
    assert not out_dirs["docs"].exists()


def test_a_broken_mkdocs_config_is_reported_before_training(
    synthetic_retina_root: Path,
    out_dirs: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    training_calls: list[object],
) -> None:
    """A customised mkdocs.yml in the working folder names a plugin that is not installed."""
    from tests.conftest import REPO_ROOT

    work = tmp_path / "work"
    work.mkdir()
    shipped = (REPO_ROOT / "mkdocs.yml").read_text()
    assert "\n  - glightbox:" in shipped
    (work / "mkdocs.yml").write_text(
        shipped.replace("\n  - glightbox:", "\n  - no-such\n  - glightbox:")
    )
    monkeypatch.chdir(work)
    args = synthetic_build_args(synthetic_retina_root, "--epochs", "1", *dir_args(out_dirs))
    result = CliRunner().invoke(main, args)
    assert_clean_failure(
        result, "MkDocs configuration mkdocs.yml is not valid", "no-such", "--no-site"
    )
    assert not training_calls
    assert not out_dirs["docs"].exists()
    no_site = CliRunner().invoke(main, [*args, "--no-site"])  # the pages need no MkDocs config
    assert no_site.exit_code == 0, no_site.output
    assert len(training_calls) == 1  # the spy sees training when it happens


@pytest.mark.usefixtures("glightbox_without_selectolax")
def test_a_site_plugin_that_fails_to_import_is_reported_before_training(
    synthetic_retina_root: Path, out_dirs: dict[str, Path], training_calls: list[object]
) -> None:
    args = synthetic_build_args(synthetic_retina_root, "--epochs", "1", *dir_args(out_dirs))
    result = CliRunner().invoke(main, args)
    assert_clean_failure(
        result,
        "could not load a plugin, theme or hook",
        "selectolax",
        "pip install -e .",
        "--no-site",
    )
    assert not training_calls
    assert not out_dirs["docs"].exists()


def test_a_batch_larger_than_the_training_split_is_noted(
    synthetic_retina_root: Path, out_dirs: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Legal, but almost certainly a slip: 1,080 images in one batch make one step an epoch.
    (The note comes just before training, which is stopped there: what it trains is not the
    point.)"""
    import reportgen.runner
    from reportgen.errors import ReportgenError

    trained: list[int] = []

    def stop_at_training(data: Any, config: Any, **kwargs: Any) -> None:
        trained.append(config.batch_size)
        raise ReportgenError("stopped where training would start")

    monkeypatch.setattr(reportgen.runner, "run_training", stop_at_training)
    outputs: dict[int, str] = {}
    for batch_size in (5000, 100):
        args = synthetic_build_args(synthetic_retina_root, "--batch-size", str(batch_size))
        result = CliRunner().invoke(main, [*args, *dir_args(out_dirs)])
        assert_clean_failure(result, "stopped where training would start")
        outputs[batch_size] = result.output
    assert trained == [5000, 100]  # each build got as far as training
    assert "--batch-size 5000 is more than the 1,080 training images" in outputs[5000]
    assert "is more than the" not in outputs[100]


@pytest.mark.parametrize("option", ["--docs-dir", "--site-dir", "--cache-dir", "--data-root"])
def test_a_path_that_is_not_utf8_is_refused_before_any_work(option: str, tmp_path: Path) -> None:
    """A byte the file system allows but UTF-8 does not (\\xff, kept by Python as a surrogate)
    crashed the build at its very end, writing pages that quote the command."""
    bad = str(tmp_path / "bad") + "\udcffname"
    result = CliRunner().invoke(main, ["build", option, bad])
    assert result.exit_code == 2, result.output
    assert f"Invalid value for '{option}'" in result.output
    assert f"{tmp_path}/bad\\xffname is not valid UTF-8 text" in result.output
    assert "Traceback" not in result.output and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("command", "option", "example"),
    [
        ("build", "--docs-dir", "--docs-dir docs (. is the current folder)."),
        ("build", "--site-dir", "--site-dir site (. is the current folder)."),
        ("build", "--cache-dir", "--cache-dir .reportgen (. is the current folder)."),
        ("build", "--data-root", "--data-root ~/.medmnist (. is the current folder)."),
        ("build", "--experiments", "--experiments experiments.toml. An unset"),
        ("render", "--site-dir", "--site-dir site (. is the current folder)."),
        ("serve", "--docs-dir", "--docs-dir docs (. is the current folder)."),
    ],
)
def test_an_empty_path_is_refused_rather_than_taken_as_the_current_folder(
    command: str, option: str, example: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--cache-dir "$CACHE"` with CACHE unset: click read "" as ".", and a build filled the
    current folder with runs/ and references/."""
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, [command, option, ""])
    assert result.exit_code == 2, result.output
    assert f"Invalid value for '{option}': the path is empty: give one, e.g. {example}" in (
        result.output
    )
    assert "Traceback" not in result.output and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("quiet", [[], ["--quiet"]], ids=["", "quiet"])
def test_earlier_output_that_cannot_be_deleted_is_named_not_left_silently(
    quiet: list[str],
    earlier_build: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A subfolder of the old site this user may not delete in: the build succeeds, and says
    where the set-aside copy it could not delete lies."""
    import reportgen.output_folders

    real_rmtree = shutil.rmtree

    def undeletable_old_site(path: Path, *args: Any, **kwargs: Any) -> None:
        if not Path(path).name.startswith(".site.old-"):
            real_rmtree(path, *args, **kwargs)

    monkeypatch.setattr(reportgen.output_folders.shutil, "rmtree", undeletable_old_site)
    docs, site = _copy_of_earlier_output(earlier_build, tmp_path)
    args = ["render", "--docs-dir", str(docs), "--site-dir", str(site), *quiet]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    (left,) = [path for path in tmp_path.iterdir() if path.name.startswith(".site.old-")]
    assert (
        f"[reportgen] note: the earlier output set aside in {left} could not all be deleted"
        in result.output
    )
    assert "Delete it by hand" in result.output and (site / "index.html").is_file()
    assert not [path for path in tmp_path.iterdir() if path.name.startswith(".docs.old-")]
