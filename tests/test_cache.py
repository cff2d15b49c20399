"""The run cache: its key covers config, data and code; a damaged entry is retrained, never shown."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from reportgen import cache
from reportgen.cli import main
from reportgen.config import BuildConfig
from reportgen.errors import ReportgenError
from reportgen.results import json_safe
from tests.conftest import dir_args, reportgen_imports, synthetic_build_args


def test_code_version_covers_every_module_training_runs() -> None:
    # errors.py holds message text only; config.py's training fields are in the key as values
    # (what training computes from them, such as the ensemble's seeds, lives in hashed modules);
    # fetch.py (and what only it imports) only finds or downloads the data file, whose MD5 is in
    # the key.
    not_digested = {"errors.py", "config.py"}
    trained_by = reportgen_imports("runner.py", not_followed=frozenset({"fetch.py"}))
    assert trained_by - not_digested <= set(cache.TRAINING_SOURCES)


def _another_value(value: object) -> object:
    """A value of the same type that differs (valid or not: the key only has to tell them apart)."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value + 1
    if isinstance(value, str):
        return value + "-other"
    if value is None:
        return "something"
    raise AssertionError(f"no other value for {value!r}")


def test_a_field_that_changes_nothing_leaves_the_key_as_it_is() -> None:
    """--width 64 with the study's CNN trains the same run as without it: one cache entry."""
    assert cache.run_key(BuildConfig(width=64), "a" * 32) == cache.run_key(BuildConfig(), "a" * 32)
    assert cache.run_key(BuildConfig(optimizer="adamw", momentum=0.9), "a" * 32) == (
        cache.run_key(BuildConfig(optimizer="adamw"), "a" * 32)
    )
    wide = BuildConfig(model="wide_cnn")
    assert cache.run_key(dataclasses.replace(wide, width=64), "a" * 32) != cache.run_key(
        wide, "a" * 32
    )


def test_cache_key_changes_with_every_training_field_the_data_and_the_code(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fields = BuildConfig().training_fields()
    key = cache.cache_key(fields, "a" * 32, "cpu")
    for name, value in fields.items():
        other = _another_value(value)
        assert other != value
        assert cache.cache_key({**fields, name: other}, "a" * 32, "cpu") != key, name
    assert cache.cache_key(fields, "b" * 32, "cpu") != key
    assert cache.cache_key(fields, "a" * 32, "cuda") != key
    monkeypatch.setattr(cache, "code_version", lambda: "0.1.0+othercode")
    assert cache.cache_key(fields, "a" * 32, "cpu") != key


@pytest.fixture(scope="module")
def cached_build(
    earlier_build: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """A copy of earlier_build's cache, which holds exactly one run, with the arguments of a
    build that reuses it (--no-site and --quiet are no training settings: the same key)."""
    cache_dir = tmp_path_factory.mktemp("cached") / "cache"
    shutil.copytree(earlier_build["cache"], cache_dir)
    args = synthetic_build_args(str(earlier_build["data"]), "--epochs", "1", "--no-site", "--quiet")
    results = json.loads((earlier_build["docs"] / "data" / "results.json").read_text())
    return {"dirs": {"cache": cache_dir}, "args": args, "results": results}


def _damage(kind: str, run_dir: Path) -> None:
    if kind == "run.json edited":  # still valid JSON, only a number changed
        record = json.loads((run_dir / "run.json").read_text())
        record["test"]["accuracy"] = 0.123456
        (run_dir / "run.json").write_text(json.dumps(record, indent=2))
    elif kind == "arrays.npz flipped byte":
        data = bytearray((run_dir / "arrays.npz").read_bytes())
        data[len(data) // 2] ^= 0xFF
        (run_dir / "arrays.npz").write_bytes(bytes(data))
    elif kind == "arrays.npz missing":
        (run_dir / "arrays.npz").unlink()
    elif kind == "manifest garbage":
        (run_dir / cache.MANIFEST).write_text("{not json")
    else:
        raise AssertionError(kind)


DAMAGES = ["run.json edited", "arrays.npz flipped byte", "arrays.npz missing", "manifest garbage"]


@pytest.mark.parametrize("kind", DAMAGES)
def test_a_damaged_cache_entry_is_not_read(
    kind: str, cached_build: dict[str, Any], tmp_path: Path
) -> None:
    cache_dir = tmp_path / "cache"
    shutil.copytree(cached_build["dirs"]["cache"], cache_dir)
    key = cached_build["results"]["cache"]["key"]
    assert cache.load_run(cache_dir, key) is not None  # the copy is sound before the damage
    _damage(kind, cache_dir / "runs" / key)
    notes: list[str] = []
    assert cache.load_run(cache_dir, key, on_damaged=notes.append) is None
    damaged = cache_dir / "runs" / key
    assert notes == [
        (
            f"note: the cached run {damaged} was damaged (it failed its checksum or could not be "
            "read): it was removed, and the run is trained again"
        )
    ]
    assert cache.load_run(cache_dir, key, on_damaged=notes.append) is None  # gone: no more notes
    assert len(notes) == 1


def test_a_build_retrains_a_damaged_cache_entry_not_uses_it(
    cached_build: dict[str, Any], tmp_path: Path
) -> None:
    """The build on an entry that load_run refuses (above: each kind of damage): run.json
    edited, still valid JSON with only a number changed, which a build must not show."""
    dirs = {name: tmp_path / name for name in ("docs", "site", "cache")}
    shutil.copytree(cached_build["dirs"]["cache"], dirs["cache"])
    key = cached_build["results"]["cache"]["key"]
    run_dir = dirs["cache"] / "runs" / key
    # (The key below is the entry's, so the build found the entry it was meant to reuse.)
    _damage("run.json edited", run_dir)

    result = CliRunner().invoke(main, [*cached_build["args"], *dir_args(dirs)])

    assert result.exit_code == 0, result.output
    assert f"note: the cached run {run_dir} was damaged" in result.output  # why it trained
    results = json.loads((dirs["docs"] / "data" / "results.json").read_text())
    assert results["cache"] == {"key": key, "reused": False}
    assert results["timings"]["train"] > 0
    assert results["test"] == cached_build["results"]["test"]  # retrained: same seed, same numbers
    assert results["test"]["accuracy"] != 0.123456
    rebuilt = cache.load_run(dirs["cache"], key)
    assert rebuilt is not None
    # The entry keeps NaN (a never-called class's precision) where results.json writes null.
    assert json_safe(rebuilt.record["test"]) == cached_build["results"]["test"]
    entries = (dirs["cache"] / "runs").iterdir()
    assert sorted(path.name for path in entries if path.suffix != ".lock") == [key]  # no staging


def test_an_entry_another_build_holds_is_waited_for_then_named(
    cached_build: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reading and replacing an entry take its lock: a reader never sees it half replaced, nor
    removes another build's fresh entry as damaged. A lock held too long ends in a clear error."""
    from filelock import FileLock

    cache_dir = tmp_path / "cache"
    shutil.copytree(cached_build["dirs"]["cache"], cache_dir)
    key = cached_build["results"]["cache"]["key"]
    run = cache.load_run(cache_dir, key)
    assert run is not None
    monkeypatch.setattr(cache, "ENTRY_LOCK_SECONDS", 0.2)
    with FileLock(cache_dir / "runs" / f".{key}.lock"):  # another build, mid-replace
        with pytest.raises(ReportgenError, match="stayed locked for 0.2 s"):
            cache.load_run(cache_dir, key)
        with pytest.raises(ReportgenError, match="stayed locked for 0.2 s"):
            cache.save_run(run, cache_dir, key)
    assert (cache_dir / "runs" / key).is_dir()  # neither call removed the entry
    saved = cache.save_run(run, cache_dir, key)  # once released, both work
    reread = cache.load_run(cache_dir, key)
    assert saved == cache_dir / "runs" / key and reread is not None
    assert reread.record == run.record


def _small_run() -> cache.TrainedRun:
    return cache.TrainedRun(
        record={"test": {"accuracy": 0.5}},
        test_labels=np.array([0, 1]),
        test_probabilities=np.full((2, 2), 0.5),
        sample_images=np.zeros((2, 1, 28, 28, 3), dtype=np.uint8),
        sample_counts=np.ones(2, dtype=np.int64),
    )


# A build killed while it writes an entry: its process ends inside np.savez.
_KILLED_MID_WRITE = """
import os, sys
from pathlib import Path
import numpy as np
from reportgen import cache
from tests.test_cache import _small_run

np.savez = lambda *args, **kwargs: os._exit(9)
cache.save_run(_small_run(), Path(sys.argv[1]), "a" * 20)
"""


def test_staging_a_dead_write_left_is_removed_by_the_next_write_and_a_live_one_kept(
    tmp_path: Path,
) -> None:
    cache_dir = tmp_path / "cache"
    runs_dir = cache_dir / "runs"
    killed = subprocess.run(
        [sys.executable, "-c", _KILLED_MID_WRITE, str(cache_dir)],
        cwd=Path(__file__).parent.parent,
        check=False,
    )
    assert killed.returncode == 9
    dead = [path.name for path in runs_dir.iterdir() if path.is_dir()]
    assert len(dead) == 1 and dead[0].startswith("." + "a" * 20 + "-")  # left behind
    # Staging without a lock file, as earlier versions made it: abandoned only once old.
    unlocked_old, unlocked_new = runs_dir / f".{'c' * 20}-old", runs_dir / f".{'c' * 20}-new"
    unlocked_old.mkdir()
    unlocked_new.mkdir()
    hours_ago = time.time() - 2 * 3600
    os.utime(unlocked_old, (hours_ago, hours_ago))

    with cache.staging_folder(runs_dir, "b" * 20) as live:  # another build, mid-write
        cache.save_run(_small_run(), cache_dir, "d" * 20)
        left = {path.name for path in runs_dir.iterdir()}
        assert left == {
            "d" * 20,
            f".{'d' * 20}.lock",
            live.name,
            f"{live.name}.lock",
            unlocked_new.name,
        }
    assert {path.name for path in runs_dir.iterdir()} == {
        "d" * 20,
        f".{'d' * 20}.lock",
        unlocked_new.name,
    }
    assert cache.load_run(cache_dir, "d" * 20) is not None
