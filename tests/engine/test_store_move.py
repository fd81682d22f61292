"""Moving a clip folder tree: renamed or copied, interrupted anywhere, resumed, nothing lost."""

from collections.abc import Callable
import hashlib
import os
from pathlib import Path

import pytest

from custom_components.hearthcam.engine.errors import StorageError
from custom_components.hearthcam.engine.store_move import move_tree


class CrashError(Exception):
    """Stands for the process dying at one step of the move."""


def make_tree(root: Path, files: int = 4) -> dict[str, str]:
    """A clip store's kind of tree (clips, thumbnails, sidecars); returns path -> sha256."""
    tree: dict[str, str] = {}
    for n in range(files):
        day = root / f"cam{n % 2}" / f"2026-03-1{n % 3}"
        day.mkdir(parents=True, exist_ok=True)
        for suffix, size in ((".mp4", 40_000 + n), (".jpg", 3_000), (".json", 200)):
            path = day / f"12000{n}-1{suffix}"
            path.write_bytes(os.urandom(size))
            tree[str(path.relative_to(root))] = _sha(path)
    return tree


def snapshot(root: Path) -> dict[str, str]:
    """Every regular file below root, by relative path, with its sha256."""
    return {
        str(path.relative_to(root)): _sha(path)
        for path in root.rglob("*")
        if path.is_file() and not path.is_symlink()
    }


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def crash_at(step: int) -> Callable[[str, str], None]:
    """A step hook that dies at the step-th durable step (0-based)."""
    seen = [0]

    def hook(_what: str, _relative: str) -> None:
        if seen[0] == step:
            raise CrashError
        seen[0] += 1

    return hook


def count_steps(source: Path, target: Path) -> int:
    """Steps a whole move of source takes (run on a copy of the tree)."""
    steps: list[str] = []
    move_tree(source, target, lambda what, rel: steps.append(f"{what} {rel}"))
    return len(steps)


def test_a_move_on_one_disk_renames_every_file(tmp_path: Path) -> None:
    """Same filesystem: every file renamed, none copied, the old folder gone."""
    source, target = tmp_path / "media" / "hearthcam", tmp_path / "config" / ".cache" / "clips"
    tree = make_tree(source)
    report = move_tree(source, target)
    assert snapshot(target) == tree
    assert not source.exists()
    assert (report.files, report.copied, report.complete) == (len(tree), 0, True)
    assert report.bytes == sum((target / rel).stat().st_size for rel in tree)


def test_a_move_across_disks_copies_checks_then_removes(
    tmp_path: Path, tmpfs: Callable[[str], Path]
) -> None:
    """Another filesystem: each file copied, compared, placed, and only then removed."""
    source, target = tmpfs("4m") / "hearthcam", tmp_path / "clips"
    tree = make_tree(source)
    steps: list[str] = []
    report = move_tree(source, target, lambda what, rel: steps.append(f"{what} {rel}"))
    assert snapshot(target) == tree
    assert not source.exists()
    assert report.copied == report.files == len(tree)
    first = min(tree)
    assert steps[:3] == [f"copied {first}", f"placed {first}", f"removed {first}"]


@pytest.mark.parametrize("across_disks", [False, True])
def test_an_interrupted_move_loses_nothing_and_finishes_next_time(
    tmp_path: Path, tmpfs: Callable[[str], Path], *, across_disks: bool
) -> None:
    """Killed at every step in turn: nothing is lost, and the next run completes the move."""
    disk = tmpfs("16m") if across_disks else tmp_path / "same-disk"
    probe_tree = make_tree(disk / "probe", files=3)
    total = count_steps(disk / "probe", tmp_path / "probe-target")
    assert total == len(probe_tree) * (3 if across_disks else 1)
    for step in range(total):
        source, target = disk / f"run{step}", tmp_path / f"target{step}"
        tree = make_tree(source, files=3)
        with pytest.raises(CrashError):
            move_tree(source, target, crash_at(step))
        # At the crash every file is whole in the source, the target, or both.
        left = snapshot(source) if source.exists() else {}
        placed = {rel: sha for rel, sha in snapshot(target).items() if not rel.endswith(".moving")}
        assert {**left, **placed} == tree
        for rel, sha in placed.items():
            assert tree[rel] == sha
        report = move_tree(source, target)
        assert report.complete
        assert snapshot(target) == tree, f"after a crash at step {step}"
        assert not source.exists()


def test_a_different_file_in_the_way_is_never_overwritten_nor_its_source_removed(
    tmp_path: Path,
) -> None:
    """A name taken by different bytes in the target: both kept, reported as a conflict."""
    source, target = tmp_path / "old", tmp_path / "new"
    tree = make_tree(source, files=1)
    clash = min(tree)
    (target / clash).parent.mkdir(parents=True)
    (target / clash).write_bytes(b"something else")
    report = move_tree(source, target)
    assert report.conflicts == [clash]
    assert _sha(source / clash) == tree[clash]
    assert (target / clash).read_bytes() == b"something else"
    assert {rel: sha for rel, sha in snapshot(target).items() if rel != clash} == {
        rel: sha for rel, sha in tree.items() if rel != clash
    }


def test_symlinks_are_neither_followed_nor_moved(tmp_path: Path) -> None:
    """A link planted in the old folder stays there; what it points at is not touched."""
    outside = tmp_path / "secret.txt"
    outside.write_text("not footage")
    source, target = tmp_path / "old", tmp_path / "new"
    tree = make_tree(source, files=1)
    (source / "cam0" / "link.mp4").symlink_to(outside)
    (source / "linked-dir").symlink_to(tmp_path, target_is_directory=True)
    report = move_tree(source, target)
    assert snapshot(target) == tree
    assert sorted(report.skipped) == ["cam0/link.mp4", "linked-dir"]
    assert (source / "cam0" / "link.mp4").is_symlink()
    assert outside.read_text() == "not footage"


def test_a_target_inside_the_source_is_refused(tmp_path: Path) -> None:
    """Moving a folder into itself would chase its own files: refused, nothing changed."""
    source = tmp_path / "old"
    tree = make_tree(source, files=1)
    with pytest.raises(StorageError, match="into itself"):
        move_tree(source, source / "inner")
    assert snapshot(source) == tree


def test_nothing_to_move(tmp_path: Path) -> None:
    """No old folder: an empty report, and the target is not even created."""
    report = move_tree(tmp_path / "absent", tmp_path / "new")
    assert (report.files, report.complete) == (0, True)
    assert not (tmp_path / "new").exists()
