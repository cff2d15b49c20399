"""The data file: hashed once per build, read without hashing again, yet refused when it changes
meanwhile."""

from __future__ import annotations

import builtins
import errno
import hashlib
import io
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from reportgen import data, fetch
from reportgen.cli import main
from reportgen.errors import ReportgenError
from reportgen.fetch import fetch_dataset_file
from reportgen.interrupt import Interrupted
from tests.conftest import RETINAMNIST_COUNTS, dir_args, synthetic_build_args, write_synthetic_npz


def _name_of(source: Any) -> Path | None:
    """The file a path or an open handle refers to, if either."""
    name = source if isinstance(source, str | os.PathLike) else getattr(source, "name", None)
    return Path(name).resolve() if isinstance(name, str | os.PathLike) else None


@pytest.fixture()
def data_file_uses(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[Path]]:
    """Each open, each MD5 hash through hashlib and each np.load of a file, by its resolved path."""
    uses: dict[str, list[Path]] = {"open": [], "md5": [], "np.load": []}
    file_digest, load, real_open = hashlib.file_digest, np.load, io.open

    def counted_open(file: Any, *args: Any, **kwargs: Any) -> Any:
        if (path := _name_of(file)) is not None:
            uses["open"].append(path)
        return real_open(file, *args, **kwargs)

    def counted_digest(handle: Any, algorithm: str, *args: Any, **kwargs: Any) -> Any:
        if algorithm == "md5" and (path := _name_of(handle)) is not None:
            uses["md5"].append(path)
        return file_digest(handle, algorithm, *args, **kwargs)

    def counted_load(source: Any, *args: Any, **kwargs: Any) -> Any:
        if (path := _name_of(source)) is not None:
            uses["np.load"].append(path)
        return load(source, *args, **kwargs)

    monkeypatch.setattr(io, "open", counted_open)  # what pathlib opens with
    monkeypatch.setattr(builtins, "open", counted_open)
    monkeypatch.setattr(hashlib, "file_digest", counted_digest)
    monkeypatch.setattr(np, "load", counted_load)
    return uses


def test_a_build_that_trains_hashes_the_data_file_once_and_reads_it_through_medmnist(
    synthetic_retina_root: Path, out_dirs: dict[str, Path], data_file_uses: dict[str, list[Path]]
) -> None:
    """Hashed once, for the MD5 the cache key names (the only hash, however written); read once
    by reportgen's checked read and once per split by medmnist's dataset classes, whose arrays
    training and the colour reference share."""
    args = synthetic_build_args(synthetic_retina_root, "--epochs", "1", "--no-site", "--quiet")
    result = CliRunner().invoke(main, [*args, *dir_args(out_dirs)])
    assert result.exit_code == 0, result.output
    data_path = (synthetic_retina_root / "retinamnist.npz").resolve()
    splits = len(data.SPLITS)
    assert data_file_uses["open"].count(data_path) == 2 + splits
    assert data_file_uses["md5"] == [data_path]
    assert data_file_uses["np.load"].count(data_path) == 1 + splits


def test_a_download_appears_whole_under_its_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """medmnist writes the file as it arrives: it does so in a folder of its own, renamed into
    place once whole, so no other build can find, or write, a half-downloaded file."""
    import medmnist.dataset

    root = tmp_path / "data"
    seen: list[tuple[Path, bool]] = []

    def download_arriving(self: Any) -> None:
        seen.append((Path(self.root), (root / "retinamnist.npz").exists()))
        write_synthetic_npz(Path(self.root) / "retinamnist.npz", RETINAMNIST_COUNTS)

    monkeypatch.setattr(medmnist.dataset.MedMNIST, "download", download_arriving)
    path = fetch_dataset_file("retinamnist", root)
    assert path == root / "retinamnist.npz" and path.is_file()
    [(written_in, already_there)] = seen
    assert written_in.parent == root and written_in != root and not already_there
    assert [entry.name for entry in root.iterdir()] == ["retinamnist.npz"]  # its folder is gone


def test_a_signal_during_a_download_stops_the_build_and_leaves_no_trace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """medmnist's bare `except:` turns anything raised in its download, the build's Interrupted
    too, into "Automatic download failed!": the signal still stops the build as a signal."""
    import torchvision.datasets.utils

    def stopped_half_way(url: str, root: str, filename: str, md5: str) -> None:
        (Path(root) / filename).write_bytes(b"half a file")
        raise Interrupted(signal.SIGINT)

    monkeypatch.setattr(torchvision.datasets.utils, "download_url", stopped_half_way)
    root = tmp_path / "new" / "data"
    with pytest.raises(Interrupted):
        fetch_dataset_file("retinamnist", root)
    assert list(tmp_path.iterdir()) == []  # neither the half file nor the folders made for it


def _certificate_refused() -> ssl.SSLCertVerificationError:
    error = ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate ...")
    error.verify_message = "unable to get local issuer certificate"
    return error


@pytest.mark.parametrize(
    ("failure", "reason"),
    [
        (
            urllib.error.URLError(socket.gaierror(-2, "Name or service not known")),
            "(no network connection to Zenodo: its name could not be looked up)",
        ),
        (
            urllib.error.URLError(OSError(errno.ENETUNREACH, "Network is unreachable")),
            "(no network connection to Zenodo (Network is unreachable))",
        ),
        (
            urllib.error.HTTPError("https://zenodo.org/x", 404, "NOT FOUND", None, None),  # type: ignore[arg-type]
            "(Zenodo answered HTTP 404 NOT FOUND)",
        ),
        (urllib.error.URLError(TimeoutError("timed out")), "(the connection to Zenodo timed out)"),
        (
            urllib.error.URLError(_certificate_refused()),
            "(no secure connection to Zenodo: unable to get local issuer certificate (a network",
        ),
        (
            ConnectionResetError(errno.ECONNRESET, "Connection reset by peer"),
            "(the connection to Zenodo broke off (Connection reset by peer))",
        ),
        (
            OSError(errno.ENOSPC, "No space left on device"),  # as a file write raises it
            "(could not write into {root}: No space left on device)",
        ),
    ],
    ids=[
        "no name lookup",
        "network unreachable",
        "HTTP 404",
        "timeout",
        "certificate refused",
        "connection reset",
        "disk full",
    ],
)
def test_a_failed_download_says_why_whatever_medmnist_wraps_it_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failure: OSError, reason: str
) -> None:
    """medmnist turns every failure into one RuntimeError ("Automatic download failed!"); the
    message names the real one. A full disk is not "no network", though the file it could not
    write lies in a folder named ".retinamnist.download-…"; an unreachable network, which
    urllib reports as an OSError too, is not a write failure."""
    import torchvision.datasets.utils

    def failing(url: str, root: str, filename: str, md5: str) -> None:
        raise failure

    monkeypatch.setattr(torchvision.datasets.utils, "download_url", failing)
    with pytest.raises(ReportgenError) as raised:
        fetch_dataset_file("retinamnist", tmp_path)
    message = str(raised.value)
    assert "could not be downloaded " + reason.format(root=tmp_path) in message, message
    assert "zenodo.org" in message  # where to get the file by hand
    if "space" in reason:
        assert "network" not in message and "connection" not in message
    assert list(tmp_path.iterdir()) == []  # the staging folder is gone


def test_a_data_folder_that_cannot_be_written_to_is_named_without_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An existing --data-root without the file and without write permission (root ignores
    permissions, so the refusal is simulated where the download's folder is made)."""

    def refused(*args: object, **kwargs: object) -> str:
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(fetch.tempfile, "mkdtemp", refused)
    with pytest.raises(ReportgenError) as raised:
        fetch_dataset_file("retinamnist", tmp_path)
    message = str(raised.value)
    assert f"retinamnist.npz is not in {tmp_path}" in message
    assert "cannot be written to (Permission denied)" in message
    assert "--data-root" in message and "zenodo.org" in message
    assert list(tmp_path.iterdir()) == []


def test_a_data_root_that_is_a_file_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "data"
    blocker.write_text("not a folder")
    monkeypatch.delenv("MEDMNIST_ROOT", raising=False)
    with pytest.raises(ReportgenError) as raised:
        fetch_dataset_file("retinamnist", blocker)
    assert f"--data-root {blocker} is a file, not a folder" in str(raised.value)
    assert "retinamnist.npz" in str(raised.value)
    assert blocker.read_text() == "not a folder"
    # Set by $MEDMNIST_ROOT (no --data-root given), the message names the variable.
    monkeypatch.setenv("MEDMNIST_ROOT", str(blocker))
    with pytest.raises(ReportgenError) as raised:
        fetch_dataset_file("retinamnist", blocker)
    assert f"$MEDMNIST_ROOT {blocker} is a file, not a folder" in str(raised.value)
    assert "Point --data-root at the folder that holds retinamnist.npz" in str(raised.value)


def test_a_data_root_that_cannot_be_made_is_named_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Simulated where the folder is made (root ignores permissions)."""

    def refused(self: Path, *args: object, **kwargs: object) -> None:
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(Path, "mkdir", refused)
    wanted = tmp_path / "new" / "data"
    with pytest.raises(ReportgenError) as raised:
        fetch_dataset_file("retinamnist", wanted)
    message = str(raised.value)
    assert f"Cannot create the data folder {wanted} (Permission denied)" in message
    assert "Choose a writable --data-root" in message
    assert list(tmp_path.iterdir()) == []


def _staging_folder(root: Path, name: str, owner: str | None, age_seconds: float = 0) -> Path:
    """A download's staging folder as a build leaves it: a half file, an owner line, times."""
    folder = root / f".retinamnist.download-{name}"
    folder.mkdir(parents=True)
    (folder / "retinamnist.npz").write_bytes(b"half a file")
    if owner is not None:
        (folder / fetch.OWNER_FILE).write_text(owner)
    when = time.time() - age_seconds
    for entry in [*folder.iterdir(), folder]:
        os.utime(entry, (when, when))
    return folder


def test_a_download_removes_the_folders_of_downloads_whose_builds_were_killed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A build killed mid-download (SIGKILL, a power cut) cannot remove its staging folder; the
    next download of that file does once it has been quiet a while, but never one that a running
    build still writes (nor one stalled for less than a day)."""
    import medmnist.dataset

    finished = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    dead_pid = int(finished.stdout)
    host = socket.gethostname()
    root = tmp_path / "data"
    day = fetch.ABANDONED_AFTER_SECONDS
    hour = 3600
    killed = _staging_folder(root, "killed", f"{host} {dead_pid}", age_seconds=hour)
    killed_now = _staging_folder(root, "killed-now", f"{host} {dead_pid}")  # may be another's
    running = _staging_folder(root, "running", f"{host} {os.getpid()}", age_seconds=hour)
    stalled = _staging_folder(root, "stalled", f"{host} {os.getpid()}", age_seconds=2 * day)
    elsewhere_old = _staging_folder(root, "elsewhere-old", f"other-host {os.getpid()}", 2 * day)
    elsewhere_new = _staging_folder(root, "elsewhere-new", f"other-host {dead_pid}", hour)
    unnamed_new = _staging_folder(root, "unnamed-new", None, hour)
    unnamed_old = _staging_folder(root, "unnamed-old", None, 2 * day)
    other_flag = root / ".pneumoniamnist.download-x"
    other_flag.mkdir()

    def download(self: Any) -> None:
        write_synthetic_npz(Path(self.root) / "retinamnist.npz", RETINAMNIST_COUNTS)

    monkeypatch.setattr(medmnist.dataset.MedMNIST, "download", download)
    fetch_dataset_file("retinamnist", root)
    left = {entry.name for entry in root.iterdir()}
    assert left == {
        "retinamnist.npz",
        *(f.name for f in (killed_now, running, elsewhere_new, unnamed_new, other_flag)),
    }
    removed = (killed, stalled, elsewhere_old, unnamed_old)
    assert not any(folder.exists() for folder in removed)


def test_a_downloads_staging_folder_names_its_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import medmnist.dataset

    owners: list[str] = []

    def download(self: Any) -> None:
        owners.append((Path(self.root) / fetch.OWNER_FILE).read_text())
        write_synthetic_npz(Path(self.root) / "retinamnist.npz", RETINAMNIST_COUNTS)

    monkeypatch.setattr(medmnist.dataset.MedMNIST, "download", download)
    fetch_dataset_file("retinamnist", tmp_path)
    assert owners == [f"{socket.gethostname()} {os.getpid()}\n"]


def _written_later(path: Path) -> None:
    """Date a file just rewritten a second later, as a write that came later than the build's
    hash would be. Without it a rewrite within one tick of the file system's clock (a few
    milliseconds on some) keeps the times the build saw, and the test would pass or fail by the
    clock. (reportgen has the same blind spot for such a write; any later one changes the times.)"""
    status = path.stat()
    os.utime(path, ns=(status.st_atime_ns, status.st_mtime_ns + 1_000_000_000))


@pytest.fixture()
def named(tmp_path: Path) -> data.DataFile:
    """A synthetic RetinaMNIST file as a build names it when it starts."""
    path = write_synthetic_npz(tmp_path / "retinamnist.npz", RETINAMNIST_COUNTS)
    return data.verify_dataset_file("retinamnist", path, allow_unofficial=True)


def test_a_file_left_alone_is_read_without_hashing_it_again(
    named: data.DataFile, data_file_uses: dict[str, list[Path]]
) -> None:
    loaded = data.read_dataset("retinamnist", named)
    assert loaded.md5 == named.md5 and len(loaded.train.labels) == 1080
    assert data_file_uses["md5"] == []


def test_a_file_touched_but_with_the_same_bytes_is_hashed_again_and_read(
    named: data.DataFile, data_file_uses: dict[str, list[Path]]
) -> None:
    named.path.write_bytes(named.path.read_bytes())  # new times: only the bytes can tell
    _written_later(named.path)
    loaded = data.read_dataset("retinamnist", named)
    assert loaded.md5 == named.md5
    assert data_file_uses["md5"] == [named.path.resolve()]


@pytest.mark.parametrize("how", ["rewritten in place", "replaced by a rename"])
def test_a_file_changed_after_it_was_named_is_refused(named: data.DataFile, how: str) -> None:
    if how == "rewritten in place":  # as a download into the same folder writes it
        write_synthetic_npz(named.path, RETINAMNIST_COUNTS, seed=1)
        _written_later(named.path)
    else:
        other = write_synthetic_npz(named.path.with_name("other.npz"), RETINAMNIST_COUNTS, seed=1)
        os.replace(other, named.path)
    with pytest.raises(ReportgenError, match=f"had MD5 {named.md5} when the build started and has"):
        data.read_dataset("retinamnist", named)


def test_the_splits_are_loaded_through_medmnists_dataset_classes(
    named: data.DataFile, monkeypatch: pytest.MonkeyPatch
) -> None:
    import medmnist

    loaded_splits: list[str] = []
    real_class = medmnist.RetinaMNIST

    class Recording(real_class):  # type: ignore[misc, valid-type]
        def __init__(self, split: str, **kwargs: Any) -> None:
            loaded_splits.append(split)
            super().__init__(split=split, **kwargs)

    monkeypatch.setattr(medmnist, "RetinaMNIST", Recording)
    loaded = data.read_dataset("retinamnist", named)
    assert loaded_splits == list(data.SPLITS)
    with np.load(named.path) as npz:
        assert np.array_equal(loaded.test.images, npz["test_images"])
        assert np.array_equal(loaded.test.labels, npz["test_labels"].reshape(-1))


def test_a_file_replaced_while_medmnist_reads_it_is_refused(
    named: data.DataFile, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_splits = data._medmnist_splits

    def load_while_another_replaces(info: dict[str, Any], path: Path) -> dict[str, Any]:
        splits = load_splits(info, path)
        other = write_synthetic_npz(path.with_name("other.npz"), RETINAMNIST_COUNTS, seed=1)
        os.replace(other, path)
        return splits

    monkeypatch.setattr(data, "_medmnist_splits", load_while_another_replaces)
    with pytest.raises(ReportgenError, match="was replaced while this build read it"):
        data.read_dataset("retinamnist", named)


def test_a_file_deleted_after_it_was_named_is_refused_with_a_message(named: data.DataFile) -> None:
    named.path.unlink()  # e.g. a clean-up while a long experiments build runs
    with pytest.raises(ReportgenError, match="can no longer be read"):
        data.read_dataset("retinamnist", named)


def test_a_file_written_to_while_it_is_read_is_refused(
    named: data.DataFile, monkeypatch: pytest.MonkeyPatch
) -> None:
    read_npz = data._read_npz

    def read_while_another_writes(handle: Any, path: Path) -> dict[str, np.ndarray]:
        arrays = read_npz(handle, path)
        with path.open("ab") as other_writer:
            other_writer.write(b"more")
        return arrays

    monkeypatch.setattr(data, "_read_npz", read_while_another_writes)
    with pytest.raises(ReportgenError, match="was written to while this build read it"):
        data.read_dataset("retinamnist", named)


def test_a_link_to_a_missing_data_file_is_named_as_such(tmp_path: Path) -> None:
    """Not "not found, downloading": the file is there, as a link whose target is gone."""
    (tmp_path / "retinamnist.npz").symlink_to(tmp_path / "moved" / "retinamnist.npz")
    with pytest.raises(ReportgenError) as raised:
        fetch_dataset_file("retinamnist", tmp_path)
    assert str(raised.value) == (
        f"{tmp_path / 'retinamnist.npz'} is a link to {tmp_path / 'moved' / 'retinamnist.npz'}, "
        "which does not exist. Point the link at the retinamnist data file, or remove it "
        "(reportgen then downloads the file there)."
    )
    assert (tmp_path / "retinamnist.npz").is_symlink()  # left as it was


def test_a_malformed_file_is_told_what_to_do_official_or_not() -> None:
    """Only the checksum is waived by --allow-unofficial-data; an official file that fails the
    checks (medmnist.INFO changed under it) is simply fetched again."""
    from reportgen.catalog import check_flag
    from reportgen.data import _check_arrays

    info = check_flag("retinamnist")
    short = (np.zeros((3, 28, 28, 3), np.uint8), np.zeros((3, 1), np.int64))
    for official, fix in ((True, "Download the official file again."),
                          (False, "waives the checksum only")):  # fmt: skip
        with pytest.raises(ReportgenError) as raised:
            _check_arrays("retinamnist", info, "test", short, official)
        assert "the test split has 3 images, but medmnist.INFO says" in str(raised.value)
        assert fix in str(raised.value)
