"""Run nbgrader on a throwaway copy of the course, as an instructor would."""

import pathlib
import shutil
import subprocess

from nbgrader.api import Gradebook

from onebyone.tools import environment

ROOT = pathlib.Path(__file__).resolve().parent.parent
BIN = environment.env_bin()


def nbgrader(course, *args):
    """Run an nbgrader command in `course`; fail with its output if it fails."""
    env = environment.with_env_bin()  # nbgrader calls `alembic` by name
    done = subprocess.run([str(BIN / "nbgrader"), *args], cwd=course, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done


def make_course(tmp, assignments):
    """A fresh nbgrader course in `tmp` holding the given assignments' sources."""
    shutil.copy(ROOT / "nbgrader_config.py", tmp / "nbgrader_config.py")
    for assignment in assignments:
        shutil.copytree(ROOT / "solutions" / assignment, tmp / "solutions" / assignment)
    return tmp


def max_scores(course, assignment):
    """{grade_id: max points} of the assignment's test cells, from the gradebook."""
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        notebook = gradebook.find_assignment(assignment).notebooks[0]
        return {cell.name: cell.max_score for cell in notebook.grade_cells}
