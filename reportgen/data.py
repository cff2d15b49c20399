"""Stage 1: find, verify and load a MedMNIST split through the `medmnist` package."""

from __future__ import annotations

import contextlib
import hashlib
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from reportgen.catalog import SUPPORTED_TASKS, class_names_of, is_3d, medmnist_info, supported_flags
from reportgen.errors import ReportgenError

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


def file_md5(path: Path) -> str:
    digest = hashlib.md5()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_flag(flag: str) -> dict[str, Any]:
    """INFO[flag] for a flag reportgen can train, else a ReportgenError naming the choices."""
    info = medmnist_info()
    choices = ", ".join(supported_flags())
    if flag not in info:
        raise ReportgenError(
            f"Unknown dataset '{flag}': medmnist has no such flag. Choose one of: {choices}."
        )
    if is_3d(flag) or info[flag]["task"] not in SUPPORTED_TASKS:
        kind = "a 3D dataset" if is_3d(flag) else f"a '{info[flag]['task']}' task"
        raise ReportgenError(
            f"Dataset '{flag}' is {kind}, which reportgen does not train yet "
            f"(it trains 2D {', '.join(SUPPORTED_TASKS)} tasks). Choose one of: {choices}."
        )
    return info[flag]


def _missing_file_message(flag: str, info: dict[str, Any], path: Path, reason: str) -> str:
    return (
        f"{path.name} is not in {path.parent} and could not be downloaded ({reason}).\n"
        f"Download it on a machine with internet access from\n  {info['url']}\n"
        f"(MD5 {info['MD5']}), put it at\n  {path}\n"
        "or point --data-root (or $MEDMNIST_ROOT) at the folder that holds it."
    )


def fetch_dataset_file(flag: str, data_root: Path) -> Path:
    """The path of `<flag>.npz` under data_root, downloading it with medmnist when absent."""
    info = check_flag(flag)
    path = data_root / f"{flag}.npz"
    if path.is_file():
        return path
    if path.exists():
        raise ReportgenError(
            f"{path} is not a regular file (a folder or device), so it cannot be the {flag} data "
            f"file. Remove it or point --data-root at the folder that holds {flag}.npz."
        )
    if data_root.exists() and not data_root.is_dir():
        raise ReportgenError(
            f"--data-root {data_root} is a file, not a folder. Point it at the folder that "
            f"holds {flag}.npz."
        )
    # The folders made here for the download, so that a failed one leaves no trace of them.
    created = [folder for folder in (data_root, *data_root.parents) if not folder.exists()]
    try:
        data_root.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ReportgenError(
            f"Cannot create the data folder {data_root} ({error.strerror}). "
            "Choose a writable --data-root."
        ) from None
    import medmnist  # imports torch; only needed to download or load

    dataset_class = getattr(medmnist, info["python_class"])
    try:
        dataset_class(split="test", root=str(data_root), download=True)
    except Exception as error:  # noqa: BLE001  medmnist wraps every download failure in a bare RuntimeError
        partial = data_root / f"{flag}.npz"
        if partial.exists() and file_md5(partial) != info["MD5"]:
            partial.unlink()
        for folder in created:  # deepest first; only while still empty
            with contextlib.suppress(OSError):
                folder.rmdir()
        reason = "no network connection to Zenodo" if "download" in str(error) else str(error)
        message = _missing_file_message(flag, info, path, reason)
        if created:
            message += f"\n(The folder {data_root} did not exist either: check its spelling.)"
        raise ReportgenError(message) from None
    return path


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
    flag: str, info: dict[str, Any], name: str, images: np.ndarray, labels: np.ndarray
) -> None:
    problem = _array_problem(flag, info, name, images, labels)
    if problem:
        raise ReportgenError(
            f"The {flag} file does not match the MedMNIST format: {problem}. "
            "Download the official file again."
        )


_READ_ERRORS = (OSError, ValueError, zipfile.BadZipFile, EOFError, zlib.error)


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    """Every MedMNIST array of the file, read through a handle that is closed whatever fails.

    (numpy leaves its own handle open when a truncated zip fails to open.)
    """
    with path.open("rb") as handle:
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


def _read_splits(flag: str, info: dict[str, Any], path: Path) -> dict[str, Split]:
    import medmnist  # imports torch; only needed to download or load

    # Checked with our own reads first: medmnist's loader leaves its file open when a read fails.
    arrays = _read_npz(path)
    for name in SPLITS:
        _check_arrays(flag, info, name, arrays[f"{name}_images"], arrays[f"{name}_labels"])
    dataset_class = getattr(medmnist, info["python_class"])
    splits = {}
    for name in SPLITS:
        dataset = dataset_class(split=name, root=str(path.parent))
        images = np.asarray(dataset.imgs)
        labels = np.asarray(dataset.labels).reshape(-1).astype(np.int64)
        if images.ndim == 3:  # grayscale files store (N, 28, 28); training wants a channel axis
            images = images[..., np.newaxis]
        splits[name] = Split(images=images, labels=labels)
    return splits


def verify_dataset_file(flag: str, path: Path, allow_unofficial: bool) -> tuple[str, bool]:
    """(md5, official) of the file; a ReportgenError when it is unofficial and not allowed."""
    info = check_flag(flag)
    md5 = file_md5(path)
    official = md5 == info["MD5"]
    if not official and not allow_unofficial:
        raise ReportgenError(
            f"{path} has MD5 {md5}, but the official {flag}.npz has {info['MD5']}: it is not the "
            "MedMNIST release file (changed, truncated or made elsewhere). Download the official "
            f"file from {info['url']}, or pass --allow-unofficial-data to use it anyway; every "
            "page will then carry a warning naming the file and its MD5."
        )
    return md5, official


def check_unchanged(path: Path, expected_md5: str, md5: str | None = None) -> None:
    """A ReportgenError when the file (MD5 md5, hashed here if not given) no longer has the MD5
    the build named its data by when it started."""
    md5 = md5 if md5 is not None else file_md5(path)
    if md5 != expected_md5:
        raise ReportgenError(
            f"{path} changed while this build ran: it had MD5 {expected_md5} when the build "
            f"started and has {md5} now. Wait until whatever writes it has finished (another "
            "download into the same folder?), then build again."
        )


def load_dataset(
    flag: str, data_root: Path, allow_unofficial: bool, expected_md5: str | None = None
) -> LoadedDataset:
    """Fetch, verify and load all three splits of a MedMNIST 2D dataset. expected_md5: the MD5
    the caller has already named the data by (in a run's cache key): a file that no longer has
    it is an error, so a run is never trained on other data than its key and pages name."""
    info = check_flag(flag)
    path = fetch_dataset_file(flag, data_root)
    md5, official = verify_dataset_file(flag, path, allow_unofficial)
    if expected_md5 is not None:
        check_unchanged(path, expected_md5, md5)
    splits = _read_splits(flag, info, path)
    return LoadedDataset(
        flag=flag,
        info=info,
        file=path.resolve(),
        md5=md5,
        official=official,
        train=splits["train"],
        val=splits["val"],
        test=splits["test"],
    )


def class_counts(labels: np.ndarray, n_classes: int) -> list[int]:
    """Images per class, for labels of shape (N,)."""
    return np.bincount(labels, minlength=n_classes).tolist()
