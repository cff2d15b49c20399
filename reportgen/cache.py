"""Trained runs cached on disk, keyed by config, data MD5 and code, and checked before reuse.

A run directory holds `run.json` (plain data), `arrays.npz` (test and validation labels and
probabilities, sample images) and `manifest.json`, which records the key and the SHA-256 of the
other two files. Any damage to any of them is detected on load, and the entry is removed and
retrained instead of shown. An entry is written in a locked staging folder and then moved into
place; a staging folder a dead process left behind is removed by the next write.
Reading a run needs numpy only, not torch.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import hashlib
import json
import os
import re
import secrets
import shutil
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import reportgen
from reportgen.config import BuildConfig, inert_fields
from reportgen.digest import file_digest, sources_digest
from reportgen.errors import ReportgenError

CACHE_FORMAT = 3  # 3: validation labels and probabilities kept beside the test ones
REFERENCE_FORMAT = 1  # a cached colour reference's file layout
MANIFEST = "manifest.json"
RUN_FILES = ("run.json", "arrays.npz")  # each checksummed in the manifest
ENTRY_LOCK_SECONDS = 120  # the longest wait for another build's read or write of an entry
# An entry being written: ".<key>-<token>" (a folder), locked through ".<key>-<token>.lock".
STAGING_NAME = re.compile(r"\.[0-9a-f]+-[0-9a-z_]+")
# A write takes seconds; a staging folder without a lock file (earlier versions took none) is
# taken for abandoned once it is this old.
UNLOCKED_STAGING_SECONDS = 3600
# Sources whose change alters what training produces; their text is part of every cache key.
# (tests/test_cache.py checks that this covers every module runner.py reaches.)
TRAINING_SOURCES = (
    "runner.py",
    "seeds.py",
    "data.py",
    "digest.py",
    "catalog.py",
    "model.py",
    "train.py",
    "device.py",
    "cuda_graph.py",
    "augment.py",
    "thresholds.py",
    "crossfit.py",
    "selection.py",
    "metrics.py",
    "confidence.py",
    "evaluate.py",
    "cache.py",
)


@dataclass(frozen=True)
class TrainedRun:
    """Everything a build needs from training, as plain data and arrays."""

    record: dict[str, Any]  # history, test summary, model description, environment, seconds
    test_labels: np.ndarray  # (N,) int64
    test_probabilities: np.ndarray  # (N, K) float64
    sample_images: np.ndarray  # (K, S, H, W, C) uint8: S training images per class
    sample_counts: np.ndarray  # (K,) how many of the S slots per class hold an image
    # What the final model predicts for the validation split, as test_probabilities for test (after
    # any tuned offsets): for choices made on validation after training, such as a referral
    # threshold. Empty where a build re-renders from results.json.
    val_labels: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    val_probabilities: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))


@functools.cache
def code_version() -> str:
    """reportgen's version plus a digest of the training code, read once per process (so editing
    the sources during a long build cannot change keys half way through it)."""
    return f"{reportgen.__version__}+{sources_digest(TRAINING_SOURCES)[:12]}"


def run_key(config: BuildConfig, data_md5: str) -> str:
    """The cache key of the run a config trains on a data file: the main build's run and an
    experiment run with the same settings share it (so the baseline is trained once). A field
    that changes nothing under the others (--width without --model wide_cnn) is keyed at its
    default: the run it would train is the same."""
    defaults, inert = BuildConfig().training_fields(), inert_fields(config)
    fields = {
        name: defaults[name] if name in inert else value
        for name, value in config.training_fields().items()
    }
    return cache_key(fields, data_md5, config.device)


def cache_key(training_fields: dict[str, object], data_md5: str, device: str) -> str:
    payload = json.dumps(
        {
            "format": CACHE_FORMAT,
            "config": training_fields,
            "data_md5": data_md5,
            "device": device,
            "code": code_version(),
        },
        sort_keys=True,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:20]


def save_run(run: TrainedRun, cache_dir: Path, key: str) -> Path:
    """Write the run atomically under cache_dir/runs/key and return that directory."""
    try:
        return _save_run(run, cache_dir, key)
    except TimeoutError:  # an OSError too, but not a full disk
        raise _locked_too_long(cache_dir / "runs" / key) from None
    except OSError as error:
        raise _not_saved("trained run", cache_dir, error) from None


# The folders under --cache-dir that hold its entries, and what each holds.
CACHE_FOLDERS = {"runs": "trained runs", "references": "colour references"}


def check_cache_folders(cache_dir: Path) -> None:
    """Fail before any training where something in the cache folder is in the way of the
    entries a build saves (a file where a folder of them belongs)."""
    for name, what in CACHE_FOLDERS.items():
        folder = cache_dir / name
        if folder.exists() and not folder.is_dir():
            raise ReportgenError(
                f"{folder} is a file, not a folder: reportgen keeps its cached {what} there. "
                "Move it away, or choose another --cache-dir."
            )


def _not_saved(what: str, cache_dir: Path, error: OSError) -> ReportgenError:
    """The advice that fits the failure: a full disk, a permission, or a path in the way."""
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        advice = "Free some disk space or choose another --cache-dir"
    elif error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        advice = "Make the folder writable or choose another --cache-dir"
    else:
        advice = "Check that folder, or choose another --cache-dir"
    at = f" at {error.filename}" if error.filename else ""
    return ReportgenError(
        f"Could not save the {what} in {cache_dir} ({error.strerror or error}{at}). "
        f"{advice}, then build again."
    )


def _reference_digest(reference: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(reference, sort_keys=True).encode()).hexdigest()


def save_reference(reference: dict[str, Any], cache_dir: Path, key: str) -> None:
    """Write a colour reference (plain data) atomically as cache_dir/references/key.json."""
    folder = cache_dir / "references"
    entry = {
        "format": REFERENCE_FORMAT,
        "key": key,
        "sha256": _reference_digest(reference),
        "reference": reference,
    }
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with staging_folder(folder, key) as staging:
            (staging / "reference.json").write_text(json.dumps(entry, indent=2))
            os.replace(staging / "reference.json", folder / f"{key}.json")
    except OSError as error:
        raise _not_saved("colour reference", cache_dir, error) from None


def load_reference(cache_dir: Path, key: str) -> dict[str, Any] | None:
    """The colour reference cached under key; None when absent or damaged (refitted then)."""
    try:
        entry = json.loads((cache_dir / "references" / f"{key}.json").read_text())
        reference = entry["reference"]
        sound = (
            entry["format"] == REFERENCE_FORMAT
            and entry["key"] == key
            and entry["sha256"] == _reference_digest(reference)
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return reference if sound and isinstance(reference, dict) else None


def _save_run(run: TrainedRun, cache_dir: Path, key: str) -> Path:
    runs_dir = cache_dir / "runs"
    runs_dir.mkdir(parents=True, exist_ok=True)
    target = runs_dir / key
    with staging_folder(runs_dir, key) as staging:
        np.savez(
            staging / "arrays.npz",
            test_labels=run.test_labels,
            test_probabilities=run.test_probabilities,
            sample_images=run.sample_images,
            sample_counts=run.sample_counts,
            val_labels=run.val_labels,
            val_probabilities=run.val_probabilities,
        )
        (staging / "run.json").write_text(json.dumps(run.record, indent=2))
        manifest = {
            "format": CACHE_FORMAT,
            "key": key,
            "sha256": {name: file_digest(staging / name, "sha256") for name in RUN_FILES},
        }
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2))
        with _entry_lock(runs_dir, key):  # no reader sees the gap between removal and rename
            if target.exists():
                shutil.rmtree(target)
            try:
                os.replace(staging, target)
            except OSError:
                if not target.is_dir():
                    raise
                # Another build saved the same key meanwhile; it is verified when loaded.
    return target


@contextlib.contextmanager
def staging_folder(folder: Path, key: str) -> Iterator[Path]:
    """A new folder in folder to write key's entry in before it is moved into place; removed
    afterwards. Its lock is held while this process writes it: a staging folder whose lock no
    live process holds was left by a write that died, and remove_stale_staging removes it."""
    from filelock import FileLock

    remove_stale_staging(folder)
    name = f".{key}-{secrets.token_hex(8)}"
    staging, lock_path = folder / name, folder / f"{name}.lock"
    # Locked before the folder exists, so that no folder is ever in sight unlocked while written.
    with FileLock(lock_path, timeout=ENTRY_LOCK_SECONDS):
        try:
            staging.mkdir()
            yield staging
        finally:
            shutil.rmtree(staging, ignore_errors=True)  # gone already once moved into place
            lock_path.unlink(missing_ok=True)


def remove_stale_staging(folder: Path) -> None:
    """Remove the staging folders in folder that no live process is writing: a build killed
    mid-write (or a machine that lost power) never ran staging_folder's clean-up."""
    from filelock import FileLock, Timeout

    names = {entry.name.removesuffix(".lock") for entry in folder.iterdir()}
    for name in sorted(name for name in names if STAGING_NAME.fullmatch(name)):
        staging, lock_path = folder / name, folder / f"{name}.lock"
        if not lock_path.exists():
            # Made by a reportgen that took no lock, or a write just finishing: age tells.
            with contextlib.suppress(FileNotFoundError):
                if time.time() - staging.stat().st_mtime > UNLOCKED_STAGING_SECONDS:
                    shutil.rmtree(staging, ignore_errors=True)
            continue
        try:
            with FileLock(lock_path, timeout=0):
                shutil.rmtree(staging, ignore_errors=True)
                lock_path.unlink(missing_ok=True)
        except Timeout:
            continue  # a live build is writing it


def _read_verified(run_dir: Path, key: str) -> TrainedRun:
    """The run in run_dir; ValueError when its manifest does not vouch for every file."""
    manifest = json.loads((run_dir / MANIFEST).read_text())
    if manifest["format"] != CACHE_FORMAT or manifest["key"] != key:
        raise ValueError("manifest is for another key or format")
    for name in RUN_FILES:
        if file_digest(run_dir / name, "sha256") != manifest["sha256"][name]:
            raise ValueError(f"{name} checksum mismatch")
    with np.load(run_dir / "arrays.npz") as arrays:
        return TrainedRun(
            record=json.loads((run_dir / "run.json").read_text()),
            test_labels=arrays["test_labels"],
            test_probabilities=arrays["test_probabilities"],
            sample_images=arrays["sample_images"],
            sample_counts=arrays["sample_counts"],
            val_labels=arrays["val_labels"],
            val_probabilities=arrays["val_probabilities"],
        )


def _entry_lock(runs_dir: Path, key: str) -> Any:
    """A lock on one cache entry, held while it is replaced or read, so that two builds sharing a
    cache folder never read an entry half replaced, nor remove one another's fresh entry. Each
    holds it for a second or so; a wait beyond ENTRY_LOCK_SECONDS is an error."""
    from filelock import FileLock

    return FileLock(runs_dir / f".{key}.lock", timeout=ENTRY_LOCK_SECONDS)


def _locked_too_long(run_dir: Path) -> ReportgenError:
    return ReportgenError(
        f"The cached run {run_dir} stayed locked for {ENTRY_LOCK_SECONDS} s: another build is "
        "stuck reading or writing it. Stop that build, or use another --cache-dir."
    )


def load_run(
    cache_dir: Path, key: str, on_damaged: Callable[[str], None] = lambda note: None
) -> TrainedRun | None:
    """The cached run for key, or None when absent or damaged. A damaged entry is removed, and
    on_damaged is told so (a note: the build that was to reuse it trains again instead)."""
    runs_dir = cache_dir / "runs"
    run_dir = runs_dir / key
    if not run_dir.is_dir():
        return None
    try:
        with _entry_lock(runs_dir, key):
            try:
                return _read_verified(run_dir, key)
            except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile):
                shutil.rmtree(run_dir, ignore_errors=True)
                on_damaged(
                    f"note: the cached run {run_dir} was damaged (it failed its checksum or could "
                    "not be read): it was removed, and the run is trained again"
                )
                return None
    except TimeoutError:
        raise _locked_too_long(run_dir) from None
