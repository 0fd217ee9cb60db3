"""Run nbgrader on a throwaway copy of the course, as an instructor would."""

import os
import pathlib
import shutil
import subprocess
import sys

from nbgrader.api import Gradebook

ROOT = pathlib.Path(__file__).resolve().parent.parent
BIN = pathlib.Path(sys.executable).parent  # nbgrader calls `alembic` by name: it must be on PATH


def nbgrader(course, *args):
    """Run an nbgrader command in `course`; fail with its output if it fails."""
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
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


def generate(course, assignment):
    """Release `assignment` into course/exercises with nbgrader; return the released notebook."""
    nbgrader(course, "generate_assignment", assignment, "--force")
    return course / "exercises" / assignment / f"{assignment}.ipynb"


def autograde(course, assignment, submissions):
    """Autograde {student: notebook text} with nbgrader; return {student: {grade_id: score}}."""
    for student, text in submissions.items():
        folder = course / "submitted" / student / assignment
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{assignment}.ipynb").write_text(text, encoding="utf-8")
    nbgrader(course, "autograde", assignment, "--create", "--force")
    scores = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        for student in submissions:
            submission = gradebook.find_submission(assignment, student)
            scores[student] = {grade.name: grade.score for notebook in submission.notebooks
                               for grade in notebook.grades}
    return scores


def max_scores(course, assignment):
    """{grade_id: max points} of the assignment's test cells, from the gradebook."""
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        notebook = gradebook.find_assignment(assignment).notebooks[0]
        return {cell.name: cell.max_score for cell in notebook.grade_cells}


def read_notebook(path):
    """A notebook as an nbformat node."""
    import nbformat

    return nbformat.read(str(path), as_version=4)


def solution_code(notebook, grade_id):
    """The source of the solution cell `grade_id` of a notebook."""
    for cell in notebook.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            return cell.source
    raise KeyError(f"no cell with grade_id {grade_id!r}")


def fill(release_path, answers):
    """A student's submission: the released notebook with solution cells replaced by `answers`
    ({grade_id: code}); returns the notebook's JSON text."""
    import nbformat

    notebook = read_notebook(release_path)
    for cell in notebook.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell.source = answers[grade_id]
    return nbformat.writes(notebook)
