"""Writing whole (onebyone/tools/files.py): the old file or the new one, never half, and nothing
left behind when a write fails."""

import os

import pytest

from onebyone.tools import files


def leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".partial"))


def test_a_file_is_replaced_in_one_step(tmp_path):
    path = tmp_path / "grades.csv"
    path.write_text("old")
    with files.written_whole(path, sync=True) as partial:
        partial.write_text("new")
        assert path.read_text() == "old"  # until the block ends, a reader sees the old file
        assert partial.parent == path.parent  # the same file system: os.replace is one step
    assert path.read_text() == "new" and leftovers(tmp_path) == []


def test_a_failed_write_keeps_the_old_file_and_leaves_nothing(tmp_path):
    path = tmp_path / "report.html"
    path.write_text("old")
    with pytest.raises(OSError), files.written_whole(path) as partial:
        partial.write_text("half")
        raise OSError(28, os.strerror(28))  # the disk is full
    assert path.read_text() == "old" and leftovers(tmp_path) == []


def test_a_folder_moves_into_place_unless_another_writer_came_first(tmp_path):
    folder = tmp_path / "sources"
    with files.written_whole(folder) as partial:
        (partial / "a").mkdir(parents=True)
        (partial / "a" / "x.ipynb").write_text("first")
    assert (folder / "a" / "x.ipynb").read_text() == "first"
    with pytest.raises(OSError), files.written_whole(folder) as partial:
        (partial / "a").mkdir(parents=True)
        (partial / "a" / "x.ipynb").write_text("second")
    assert (folder / "a" / "x.ipynb").read_text() == "first" and leftovers(tmp_path) == []


def test_two_writers_of_one_path_never_share_a_partial_file(tmp_path):
    path = tmp_path / "gradebook.db"
    with files.written_whole(path) as first, files.written_whole(path) as second:
        assert first != second
        first.write_text("one")
        second.write_text("two")
    assert path.read_text() == "one" and leftovers(tmp_path) == []
