"""One throwaway nbgrader course per test session, shared by the tests that need it.

Every assignment of solutions/ is released once (one `nbgrader generate_assignment` call), and
each assignment's submissions are autograded together (one `nbgrader autograde` call for all of
them), however many tests look at the results.
"""

import atexit
import concurrent.futures
import functools
import pathlib
import shutil
import tempfile

import nbformat
from course import ROOT, make_course, max_scores, nbgrader
from nbgrader.api import Gradebook

from onebyone.tools.release import assignments

SOLUTION_MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")


@functools.cache
def course():
    """A course folder holding every assignment's source and its release, made once."""
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="onebyone-course-"))
    atexit.register(shutil.rmtree, tmp, True)
    make_course(tmp, assignments(ROOT))
    nbgrader(tmp, "generate_assignment", "--assignment=*", "--force")
    return tmp


def released(assignment):
    """The notebook nbgrader releases for `assignment`, as nbformat."""
    path = course() / "exercises" / assignment / f"{assignment}.ipynb"
    return nbformat.read(path, as_version=4)


def grade_id(cell):
    return cell.metadata.get("nbgrader", {}).get("grade_id")


@functools.cache
def solution_code(assignment):
    """{grade_id: the solution cell's code without the solution markers} of an assignment."""
    path = ROOT / "solutions" / assignment / f"{assignment}.ipynb"
    source = nbformat.read(path, as_version=4)
    code = {}
    for cell in source.cells:
        if cell.metadata.get("nbgrader", {}).get("solution") and cell.cell_type == "code":
            lines = [line for line in cell.source.splitlines()
                     if line.strip() not in SOLUTION_MARKERS]
            code[grade_id(cell)] = "\n".join(lines)
    return code


@functools.cache
def graded_code(assignment):
    """{grade_id: code} of an assignment's test cells, hidden tests included."""
    path = ROOT / "solutions" / assignment / f"{assignment}.ipynb"
    source = nbformat.read(path, as_version=4)
    return {grade_id(cell): cell.source for cell in source.cells
            if cell.metadata.get("nbgrader", {}).get("grade")}


def submission(assignment, cells=None):
    """The released notebook with its solution cells filled in from {grade_id: code}."""
    notebook = released(assignment)
    for cell in notebook.cells:
        if cells and grade_id(cell) in cells:
            cell.source = cells[grade_id(cell)]
    return nbformat.writes(notebook)


def chinese_submission(assignment, cells):
    """The Chinese notebook (exercises/<id>/zh_CN/<id>.ipynb) with its solution cells filled in
    from {grade_id: code}: what a student of the Chinese edition submits."""
    from onebyone.tools.chinese_notebooks import chinese_path

    notebook = nbformat.read(chinese_path(ROOT / "exercises" / assignment / f"{assignment}.ipynb"),
                             as_version=4)
    for cell in notebook.cells:
        if grade_id(cell) in cells:
            cell.source = cells[grade_id(cell)]
    return nbformat.writes(notebook)


def _autograde(folder, assignment, submissions):
    """Autograde {student: notebook text} in a copy of the course; {student: {grade_id: score}}."""
    for student, text in submissions.items():
        target = folder / "submitted" / student / assignment
        target.mkdir(parents=True, exist_ok=True)
        (target / f"{assignment}.ipynb").write_text(text, encoding="utf-8")
    nbgrader(folder, "autograde", assignment, "--create", "--force")
    with Gradebook(f"sqlite:///{folder / 'gradebook.db'}") as gradebook:
        return {student: {grade.name: grade.score
                          for notebook in gradebook.find_submission(assignment, student).notebooks
                          for grade in notebook.grades}
                for student in submissions}


def autograde_all(jobs, workers=2):
    """Autograde several assignments: {assignment: {student: notebook text}} -> scores.

    Each assignment gets its own copy of the released course (its own gradebook), so two of
    them can be graded at once on two cores.
    """
    base = course()

    def one(assignment):
        folder = base.parent / f"{base.name}-grade-{assignment}"
        shutil.rmtree(folder, ignore_errors=True)
        shutil.copytree(base, folder)
        atexit.register(shutil.rmtree, folder, True)
        scores = _autograde(folder, assignment, jobs[assignment])
        return assignment, scores, max_scores(folder, assignment)

    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        return {a: (scores, maxima) for a, scores, maxima in pool.map(one, sorted(jobs))}
