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


def _mounted_read_only(monkeypatch: pytest.MonkeyPatch, mount: Path) -> None:
    """os.statvfs as for a file system mounted read-only at mount (tests cannot mount one)."""
    real_statvfs = os.statvfs

    class ReadOnly:
        def __init__(self, real: os.statvfs_result) -> None:
            self.f_flag = real.f_flag | os.ST_RDONLY

    def statvfs(path: object) -> object:
        real = real_statvfs(path)
        return ReadOnly(real) if Path(path).resolve().is_relative_to(mount) else real

    monkeypatch.setattr(output_folders.os, "statvfs", statvfs)


@pytest.mark.skipif(not hasattr(os, "ST_RDONLY"), reason="POSIX only")
def test_a_folder_on_a_read_only_file_system_is_not_given_permission_advice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """chown and chmod cannot help on a read-only mount: the message says what it is."""
    mount = tmp_path / "mnt"
    (mount / "docs" / "data").mkdir(parents=True)
    (mount / "docs" / "data" / "results.json").write_text("{}")
    _mounted_read_only(monkeypatch, mount)
    _refuse_writing_to(monkeypatch, mount / "docs")  # as os.access says on a read-only mount
    with pytest.raises(ReportgenError) as raised:
        output_folders.check_output_dirs({"--docs-dir": mount / "docs"}, create=False)
    assert str(raised.value) == (
        f"Cannot replace --docs-dir {mount / 'docs'}: it is on a read-only file system. Choose "
        "another --docs-dir, on a writable disk."
    )
    _refuse_writing_to(monkeypatch, mount)
    with pytest.raises(ReportgenError) as raised:
        check_writable_folder(mount / "cache", "--cache-dir", create=False)
    assert str(raised.value) == (
        f"Cannot write {mount / 'cache'} (in {mount}): it is on a read-only file system. Choose "
        "another --cache-dir, on a writable disk."
    )


def test_an_output_folder_that_is_a_mount_point_is_refused_before_any_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A container's volume mounted at the site folder cannot be moved aside: the build failed
    at the swap, after all the training."""
    site = tmp_path / "site"
    (site / "data").mkdir(parents=True)
    (site / "data" / "results.json").write_text("{}")
    real_ismount = os.path.ismount
    monkeypatch.setattr(
        output_folders.os.path, "ismount", lambda path: Path(path) == site or real_ismount(path)
    )
    with pytest.raises(ReportgenError) as raised:
        output_folders.check_output_dirs({"--site-dir": site}, create=False)
    assert str(raised.value) == (
        f"--site-dir {site} is a mount point (another disk, or a container's volume). A build "
        "replaces its output folders whole by moving them aside, which a mount point cannot be. "
        f"Give a folder inside it, e.g. --site-dir {site / 'site'}."
    )


def test_a_bind_mount_from_the_same_file_system_is_found_in_the_mount_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """os.path.ismount compares devices, so it misses `mount --bind site site`."""
    site = tmp_path / "my site"
    site.mkdir()
    assert not os.path.ismount(site)
    table = tmp_path / "mountinfo"
    escaped = str(site).replace(" ", "\\040")
    table.write_text(
        "22 1 0:21 / /proc rw,nosuid - proc proc rw\n"
        f"95 30 8:1 {escaped} {escaped} rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
    )
    monkeypatch.setattr(output_folders, "MOUNT_TABLE", table)
    assert output_folders.is_mount_point(site)
    assert not output_folders.is_mount_point(tmp_path)
    monkeypatch.setattr(output_folders, "MOUNT_TABLE", tmp_path / "none")  # not Linux
    assert not output_folders.is_mount_point(site)
