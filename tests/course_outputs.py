"""The checkout's own course outputs (its gradebook, nbgrader's folders), set aside while a test
session grades with the checkout as its course, and put back after it, safely:

- one session at a time per checkout (an exclusive lock; the system drops it with the process);
- every move is a rename inside the checkout (atomic; no copy to another file system);
- a session that was killed is mended when the next one starts: its outputs removed, the
  instructor's put back. Two folders tell the state:
  SET_ASIDE: the instructor's outputs are there; what is in the checkout was made by tests;
  PUTTING_BACK: the instructor's outputs are there, nothing of the tests' is left in the
  checkout (moving in before the tests, or out after them).
"""

import contextlib
import fcntl
import pathlib
import shutil

# what `onebyone grade` and nbgrader's commands write in the course folder they run on
COURSE_OUTPUTS = ("gradebook.db", "submitted", "autograded", "feedback")
SET_ASIDE = ".tests-set-aside"
PUTTING_BACK = ".tests-set-aside.partial"
LOCK = ".tests-set-aside.lock"


class Busy(Exception):
    """Another test session holds the checkout."""


def _remove(path: pathlib.Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def _move_back(root: pathlib.Path, folder: pathlib.Path) -> None:
    for name in COURSE_OUTPUTS:
        if (folder / name).exists() or (folder / name).is_symlink():
            (folder / name).rename(root / name)
    folder.rmdir()


def _remove_tests_outputs(root: pathlib.Path) -> None:
    for name in COURSE_OUTPUTS:
        _remove(root / name)


def mend(root: pathlib.Path) -> bool:
    """Undo what a killed session left (True when there was something to undo)."""
    if (root / SET_ASIDE).is_dir():
        _remove_tests_outputs(root)
        (root / SET_ASIDE).rename(root / PUTTING_BACK)
    if (root / PUTTING_BACK).is_dir():
        _move_back(root, root / PUTTING_BACK)
        return True
    return False


def set_aside(root: pathlib.Path) -> None:
    staging = root / PUTTING_BACK
    staging.mkdir()
    for name in COURSE_OUTPUTS:
        if (root / name).exists() or (root / name).is_symlink():
            (root / name).rename(staging / name)
    staging.rename(root / SET_ASIDE)  # from here on, what appears in the checkout is the tests'


def put_back(root: pathlib.Path) -> None:
    _remove_tests_outputs(root)
    (root / SET_ASIDE).rename(root / PUTTING_BACK)
    _move_back(root, root / PUTTING_BACK)


@contextlib.contextmanager
def kept_as_they_were(root: pathlib.Path, on_mend=lambda: None):
    """The session's body runs with the checkout's outputs set aside (Busy: another session
    holds the checkout; `on_mend()` is called when a killed session's state was undone)."""
    with open(root / LOCK, "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise Busy(f"another test session is running on {root} (it holds {root / LOCK}): "
                       "wait for it to end") from None
        if mend(root):
            on_mend()
        set_aside(root)
        try:
            yield
        finally:
            put_back(root)
