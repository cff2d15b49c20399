"""check_writable_folder's refusals: each names the folder and what to choose instead."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from reportgen import output_folders
from reportgen.errors import ReportgenError
from reportgen.output_folders import check_writable_folder


def _refuse_writing_to(monkeypatch: pytest.MonkeyPatch, refused: Path) -> None:
    """os.access as for a user without write permission on refused (root has it everywhere)."""
    real_access = os.access
    monkeypatch.setattr(
        output_folders.os,
        "access",
        lambda path, mode: Path(path) != refused and real_access(path, mode),
    )


@pytest.mark.parametrize("exists", [True, False], ids=["the folder", "a folder above it"])
def test_without_create_a_folder_that_cannot_be_written_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, exists: bool
) -> None:
    folder = tmp_path / "cache" if exists else tmp_path / "cache" / "deeper"
    (tmp_path / "cache").mkdir()
    _refuse_writing_to(monkeypatch, tmp_path / "cache")
    with pytest.raises(ReportgenError) as raised:
        check_writable_folder(folder, "--cache-dir", create=False)
    message = str(raised.value)
    where = f"to {folder}" if exists else f"{folder} (in {tmp_path / 'cache'})"
    assert f"Cannot write {where}: permission denied. Choose a writable --cache-dir." == message
    assert not (tmp_path / "cache" / "deeper").exists()


def test_a_folder_that_cannot_be_made_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(self: Path, *args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "mkdir", full)
    folder = tmp_path / "docs"
    with pytest.raises(ReportgenError) as raised:
        check_writable_folder(folder, "output folder")
    assert str(raised.value) == (
        f"Cannot create {folder} (No space left on device). Choose a writable output folder."
    )


def test_a_made_folder_that_cannot_be_written_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "site"
    _refuse_writing_to(monkeypatch, folder)
    with pytest.raises(ReportgenError) as raised:
        check_writable_folder(folder, "output folder")
    assert str(raised.value) == (
        f"Cannot write to {folder}: permission denied. Choose a writable output folder."
    )


def test_a_writable_folder_is_made_and_accepted(tmp_path: Path) -> None:
    folder = tmp_path / "a" / "b"
    check_writable_folder(folder, "output folder")
    assert folder.is_dir()


def test_an_output_reached_through_a_link_is_staged_under_its_real_name(tmp_path: Path) -> None:
    """The lock and the clean-up of a killed build's staging name the real folder; so must the
    staging folder, or another build of that real folder would take it for a dead build's."""
    (tmp_path / "html").mkdir()
    (tmp_path / "site").symlink_to(tmp_path / "html")
    with output_folders.staging_dir_for(tmp_path / "site") as staging:
        assert staging.name.startswith(".html.staging-")
        assert output_folders._staging_dirs_of((tmp_path / "site").resolve()) == [staging]


def test_only_staging_folders_made_for_the_target_are_taken_for_a_killed_builds(
    tmp_path: Path,
) -> None:
    names = [
        ".docs[1].staging-abcd1234",  # a glob would read the brackets as a pattern
        ".docs[1].staging-x",  # not mkdtemp's 8 characters
        ".docs[1].staging-abcd1234.staging-efgh5678",  # the staging of a target of that name
        ".docs[12].staging-abcd1234",
    ]
    for name in names:
        (tmp_path / name).mkdir()
    assert output_folders._staging_dirs_of(tmp_path / "docs[1]") == [tmp_path / names[0]]


def test_a_loop_of_links_is_nothing_there_as_path_exists_said(tmp_path: Path) -> None:
    from reportgen.paths import stat_or_none

    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    assert stat_or_none(loop) is None
    assert stat_or_none(loop / "below") is None
