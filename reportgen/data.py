"""Stage 1: find a MedMNIST file (downloading it through the `medmnist` package), verify it and
load its splits through medmnist's dataset classes.

A build hashes the file once (verify_dataset_file) and reads it in read_dataset: checked by our
own read, then loaded by medmnist's dataset classes, refused if it was replaced or rewritten
since it was hashed."""

from __future__ import annotations

import contextlib
import os
import shlex
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np

from reportgen.catalog import (
    check_flag,
    class_names_of,
)
from reportgen.digest import stream_digest
from reportgen.errors import ReportgenError
from reportgen.fetch import fetch_dataset_file

SPLITS = ("train", "val", "test")
NPZ_KEYS = tuple(f"{split}_{part}" for split in SPLITS for part in ("images", "labels"))


@dataclass(frozen=True)
class Split:
    images: np.ndarray  # (N, 28, 28, C) uint8, C = 1 or 3
    labels: np.ndarray  # (N,) int64 class indices


@dataclass(frozen=True)
class LoadedDataset:
    flag: str
    info: dict[str, Any]  # medmnist.INFO[flag]
    file: Path
    md5: str
    official: bool  # the file's MD5 equals medmnist.INFO[flag]["MD5"]
    train: Split
    val: Split
    test: Split

    @property
    def class_names(self) -> list[str]:
        return class_names_of(self.info)

    def split(self, name: str) -> Split:
        return {"train": self.train, "val": self.val, "test": self.test}[name]


@dataclass(frozen=True)
class DataFile:
    """A data file as the build named it when it started."""

    path: Path
    md5: str
    official: bool  # md5 equals medmnist.INFO[flag]["MD5"]
    # The file's (device, inode, size, mtime, ctime) as hashed: a later read that finds them
    # unchanged trusts md5 instead of hashing the file again (any write changes the ctime).
    identity: tuple[int, ...]


def _identity(file: IO[bytes] | Path) -> tuple[int, ...]:
    """An open file's, or a path's, (device, inode, size, mtime, ctime)."""
    status = file.stat() if isinstance(file, Path) else os.fstat(file.fileno())
    return (status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns, status.st_ctime_ns)


def _array_problem(
    flag: str, info: dict[str, Any], name: str, images: np.ndarray, labels: np.ndarray
) -> str | None:
    """What is wrong with one split's raw arrays (labels as stored, (N,) or (N, 1)), else None."""
    channels = info["n_channels"]
    expected_shape = (28, 28) if channels == 1 else (28, 28, channels)
    n_classes = len(info["label"])
    if images.dtype != np.uint8:
        return f"{name}_images has dtype {images.dtype}, expected uint8 pixels"
    if images.ndim == 0 or images.shape[1:] != expected_shape:
        expected = ", ".join(map(str, expected_shape))
        return f"{name}_images has shape {images.shape}, expected (N, {expected})"
    if not np.issubdtype(labels.dtype, np.integer):
        return f"{name}_labels has dtype {labels.dtype}, expected integer class indices"
    if labels.ndim not in (1, 2) or labels.shape[1:] not in ((), (1,)):
        return f"{name}_labels has shape {labels.shape}, expected one class index per image, (N, 1)"
    if labels.shape[0] != images.shape[0]:
        return f"{name}_labels has {labels.shape[0]} rows but {name}_images has {images.shape[0]}"
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        return (
            f"{name}_labels holds values from {labels.min()} to {labels.max()}, "
            f"outside the {n_classes} classes 0..{n_classes - 1}"
        )
    if images.shape[0] != info["n_samples"][name]:
        return (
            f"the {name} split has {images.shape[0]} images, but medmnist.INFO says "
            f"{flag} has {info['n_samples'][name]}"
        )
    return None


def _check_arrays(
    flag: str,
    info: dict[str, Any],
    name: str,
    arrays: tuple[np.ndarray, np.ndarray],
    official: bool,
) -> None:
    """arrays: the split's images and labels. official: whether the file's MD5 is the official
    one (an unofficial file, let in by --allow-unofficial-data, is told what that waives)."""
    problem = _array_problem(flag, info, name, *arrays)
    if problem:
        fix = (
            "Download the official file again."
            if official
            else "--allow-unofficial-data waives the checksum only: the file must still hold the "
            "official splits, image shapes and labels. Fix the file, or use the official one."
        )
        raise ReportgenError(
            f"The {flag} file does not match the MedMNIST format: {problem}. {fix}"
        )


_READ_ERRORS = (OSError, ValueError, zipfile.BadZipFile, EOFError, zlib.error)


def _read_npz(handle: IO[bytes], path: Path) -> dict[str, np.ndarray]:
    """Every MedMNIST array of the file open as handle (at path), read to check the file.

    (Read through the caller's handle: numpy leaves its own open when a truncated zip fails.)
    """
    try:
        npz = np.load(handle)
    except _READ_ERRORS as error:
        raise ReportgenError(
            f"{path} cannot be read as a MedMNIST .npz file ({error}). It may be truncated or "
            "not an npz file at all: delete it and download it again."
        ) from None
    with npz:
        missing = [key for key in NPZ_KEYS if key not in npz.files]
        if missing:
            raise ReportgenError(
                f"{path} lacks the arrays {', '.join(missing)} that every MedMNIST file has. "
                "Download the official file again."
            )
        try:
            arrays = {key: npz[key] for key in NPZ_KEYS}
        except _READ_ERRORS as error:
            raise ReportgenError(
                f"{path} is damaged: its arrays cannot be read ({error}). "
                "Delete it and download it again."
            ) from None
    not_arrays = [key for key, value in arrays.items() if not isinstance(value, np.ndarray)]
    if not_arrays:  # npz members without the .npy header come back as raw bytes
        raise ReportgenError(
            f"{path} is damaged: {', '.join(not_arrays)} are not numpy arrays. "
            "Delete it and download it again."
        )
    return arrays


def _medmnist_splits(info: dict[str, Any], path: Path) -> dict[str, Split]:
    """The three splits as medmnist's own dataset classes load them from path."""
    import medmnist  # imports torch; only needed to download or load

    dataset_class = getattr(medmnist, info["python_class"])
    splits = {}
    for name in SPLITS:
        dataset = dataset_class(split=name, root=str(path.parent))
        splits[name] = _split_of(np.asarray(dataset.imgs), np.asarray(dataset.labels))
    return splits


def _split_of(images: np.ndarray, labels: np.ndarray) -> Split:
    """A split as training wants it: a channel axis on grey images (stored (N, 28, 28)), and
    labels (N,) int64 (stored (N, 1) uint8)."""
    if images.ndim == 3:
        images = images[..., np.newaxis]
    return Split(images=images, labels=labels.reshape(-1).astype(np.int64))


def verify_dataset_file(flag: str, path: Path, allow_unofficial: bool) -> DataFile:
    """The file, hashed; a ReportgenError when it is unofficial and not allowed."""
    info = check_flag(flag)
    try:
        opened = path.open("rb")
    except OSError as error:
        raise ReportgenError(
            f"Cannot read the data file {path} ({error.strerror}). Let this user read it "
            f"(e.g. chmod u+r {shlex.quote(str(path))}), or point --data-root at a folder with a "
            "readable copy."
        ) from None
    with opened as handle:
        identity = _identity(handle)  # before hashing: a write meanwhile changes it too
        md5 = stream_digest(handle, "md5")
        official = md5 == info["MD5"]
        # Through the same handle: the build opens the file a known number of times.
        archive = official or zipfile.is_zipfile(handle)
        empty = not archive and os.fstat(handle.fileno()).st_size == 0
    if not archive:  # --allow-unofficial-data would not help
        raise ReportgenError(
            f"{path} is not the MedMNIST release file, nor an npz file at all (a zip archive of "
            f"NumPy arrays): it is {'empty' if empty else 'truncated or another kind of file'}. "
            f"Delete it and download the official file from {info['url']}."
        )
    if not official and not allow_unofficial:
        raise ReportgenError(
            f"{path} has MD5 {md5}, but the official {flag}.npz has {info['MD5']}: it is not the "
            "MedMNIST release file (changed, truncated or made elsewhere). Download the official "
            f"file from {info['url']}, or pass --allow-unofficial-data to use it anyway; every "
            "page will then carry a warning naming the file and its MD5."
        )
    return DataFile(path=path, md5=md5, official=official, identity=identity)


def _changed_error(data_file: DataFile, now: str) -> ReportgenError:
    return ReportgenError(
        f"{data_file.path} changed while this build ran: it had MD5 {data_file.md5} when the "
        f"build started and {now}. Wait until whatever writes it has finished (another download "
        "into the same folder?), then build again."
    )


@contextlib.contextmanager
def _open_unchanged(data_file: DataFile) -> Iterator[IO[bytes]]:
    """The file open for reading, refused (a ReportgenError) when it no longer has the MD5 the
    build named its runs and pages by, or when it is written to while the caller reads it."""
    try:
        opened = data_file.path.open("rb")
    except OSError as error:  # deleted or moved since it was hashed
        raise _changed_error(
            data_file, f"can no longer be read ({error.strerror or error})"
        ) from None
    with opened as handle:
        identity = _identity(handle)
        if identity != data_file.identity:  # touched or replaced since hashed: compare bytes
            md5 = stream_digest(handle, "md5")
            if md5 != data_file.md5:
                raise _changed_error(data_file, f"has {md5} now")
            handle.seek(0)
        yield handle
        if _identity(handle) != identity:
            raise _changed_error(data_file, "was written to while this build read it")


def read_dataset(flag: str, data_file: DataFile) -> LoadedDataset:
    """All three splits of a verified file, which must still be the file data_file names (so a
    run is never trained on other data than its cache key and pages name)."""
    info = check_flag(flag)
    with _open_unchanged(data_file) as handle:
        # Checked with our own read first: medmnist's loader leaves its file open when a read
        # fails, and names no fix.
        arrays = _read_npz(handle, data_file.path)
        for name in SPLITS:
            split = (arrays[f"{name}_images"], arrays[f"{name}_labels"])
            _check_arrays(flag, info, name, split, data_file.official)
        del arrays
        splits = _medmnist_splits(info, data_file.path)
        try:
            at_path = _identity(data_file.path)
        except OSError:  # removed while medmnist read it
            at_path = None
        if at_path != _identity(handle):
            raise _changed_error(data_file, "was replaced while this build read it")
    return LoadedDataset(
        flag=flag,
        info=info,
        file=data_file.path.resolve(),
        md5=data_file.md5,
        official=data_file.official,
        train=splits["train"],
        val=splits["val"],
        test=splits["test"],
    )


def locate_dataset(flag: str, data_root: Path, allow_unofficial: bool) -> DataFile:
    """Fetch `<flag>.npz` under data_root (downloading it when absent) and verify it."""
    return verify_dataset_file(flag, fetch_dataset_file(flag, data_root), allow_unofficial)


def load_dataset(flag: str, data_root: Path, allow_unofficial: bool) -> LoadedDataset:
    """Fetch, verify and load all three splits of a MedMNIST 2D dataset."""
    return read_dataset(flag, locate_dataset(flag, data_root, allow_unofficial))


def class_counts(labels: np.ndarray, n_classes: int) -> list[int]:
    """Images per class, for labels of shape (N,)."""
    return np.bincount(labels, minlength=n_classes).tolist()
