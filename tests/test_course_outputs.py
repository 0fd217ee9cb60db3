"""The test session's guard of the checkout's course outputs (tests/course_outputs.py): what an
instructor had there is back after a session, after a session killed at any of its moves, and
while one session runs another is refused."""

import pathlib
import subprocess
import sys

import course_outputs as outputs
import pytest


def _instructors(root: pathlib.Path) -> None:
    """A checkout holding a term's outputs (feedback/ absent: nothing there is made up)."""
    (root / "gradebook.db").write_bytes(b"the term's grades")
    (root / "submitted" / "ada" / "one-by-one").mkdir(parents=True)
    (root / "submitted" / "ada" / "one-by-one" / "one-by-one.ipynb").write_text("ada's")
    (root / "autograded").mkdir()
    (root / "autograded" / "kept.txt").write_text("kept")


def _tests_write(root: pathlib.Path) -> None:
    """What a grading test writes in the checkout it grades with."""
    (root / "gradebook.db").write_bytes(b"a test's gradebook")
    for name in ("submitted", "autograded", "feedback"):
        (root / name / "zoe").mkdir(parents=True, exist_ok=True)
        (root / name / "zoe" / "x.txt").write_text("a test's")


def _state(root: pathlib.Path) -> dict:
    return {str(p.relative_to(root)): p.read_bytes() if p.is_file() else None
            for p in sorted(root.rglob("*")) if p.name != outputs.LOCK}


def _session(root):
    with outputs.kept_as_they_were(root):
        assert not any((root / name).exists() for name in outputs.COURSE_OUTPUTS)
        _tests_write(root)


def test_a_session_leaves_the_checkout_as_it_was(tmp_path):
    _instructors(tmp_path)
    before = _state(tmp_path)
    _session(tmp_path)
    assert _state(tmp_path) == before


class Killed(BaseException):
    """The process dies here (no `finally` of ours may be trusted to run after it)."""


def test_a_session_killed_at_any_move_is_mended_by_the_next(tmp_path, monkeypatch):
    renames = []
    real_rename = pathlib.Path.rename

    def counting(self, target):
        renames.append(self)
        return real_rename(self, target)

    monkeypatch.setattr(pathlib.Path, "rename", counting)
    (tmp_path / "count").mkdir()
    _instructors(tmp_path / "count")
    _session(tmp_path / "count")
    moves = len(renames)
    assert moves >= 8  # 3 outputs and a folder, out and back

    for kill_at in range(moves + 1):
        root = tmp_path / f"killed-{kill_at}"
        root.mkdir()
        _instructors(root)
        before = _state(root)
        done = 0

        def dying(self, target, kill_at=kill_at):
            nonlocal done
            if done == kill_at:
                raise Killed
            done += 1
            return real_rename(self, target)

        monkeypatch.setattr(pathlib.Path, "rename", dying)
        with pytest.raises(Killed):
            with outputs.kept_as_they_were(root):
                _tests_write(root)
                raise Killed  # killed while the tests run, if not during a move before
        monkeypatch.setattr(pathlib.Path, "rename", real_rename)
        _session(root)  # the next session mends what the killed one left
        assert _state(root) == before, f"killed at move {kill_at}"


def test_a_second_session_on_the_same_checkout_is_refused(tmp_path):
    _instructors(tmp_path)
    before = _state(tmp_path)
    here = pathlib.Path(__file__).parent
    second = [sys.executable, "-c", f"import sys; sys.path.insert(0, {str(here)!r}); "
              "import course_outputs, pathlib\n"
              "try:\n"
              f"    with course_outputs.kept_as_they_were(pathlib.Path({str(tmp_path)!r})):\n"
              "        pass\n"
              "except course_outputs.Busy as busy:\n"
              "    print(busy); sys.exit(3)\n"]
    with outputs.kept_as_they_were(tmp_path):
        _tests_write(tmp_path)
        refused = subprocess.run(second, capture_output=True, text=True, timeout=60)
        assert refused.returncode == 3, refused.stderr
        assert "another test session is running" in refused.stdout
        assert (tmp_path / "feedback" / "zoe" / "x.txt").is_file()  # the first's, untouched
    assert _state(tmp_path) == before
    assert subprocess.run(second, capture_output=True, timeout=60).returncode == 0  # now free
