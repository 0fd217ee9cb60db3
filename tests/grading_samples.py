"""Sample submissions for the grading tests, made from the release and solution notebooks by
editing cells (honest, wrong, broken, hostile), and a plain in-process grader to compute what an
honest notebook deserves (the second way of computing every expected score)."""

import contextlib
import copy
import functools
import io
import json
import pathlib
import shutil
import warnings

import nbformat
from nbgrader import utils

from onebyone.tools.bench import grading as bench_grading

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _gid(cell):
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def source_notebook(assignment, course=ROOT):
    return nbformat.read(course / "solutions" / assignment / f"{assignment}.ipynb", as_version=4)


def release_notebook(assignment, course=ROOT):
    return nbformat.read(course / "exercises" / assignment / f"{assignment}.ipynb", as_version=4)


def solution_code(assignment, grade_id, course=ROOT):
    """The instructor's solution of one cell, without nbgrader's markers."""
    cell = next(c for c in source_notebook(assignment, course).cells if _gid(c) == grade_id)
    return bench_grading.solution_code(cell)


def honest(assignment, course=ROOT):
    """The release with every solution cell filled in with the instructor's solution."""
    return bench_grading.honest_notebook(assignment, course)


def set_code(notebook, grade_id, code):
    """Replace the source of the cell `grade_id`; returns the notebook."""
    next(c for c in notebook.cells if _gid(c) == grade_id).source = code
    return notebook


def add_after(notebook, grade_id, code):
    """Insert a student's code cell right after the cell `grade_id` (None: at the top)."""
    index = 0 if grade_id is None else \
        1 + next(i for i, c in enumerate(notebook.cells) if _gid(c) == grade_id)
    notebook.cells.insert(index, nbformat.v4.new_code_cell(code))
    return notebook


def dumps(notebook):
    return nbformat.writes(notebook)


def write_class(folder, assignment, submissions):
    """{student: notebook text or None (folder without a notebook) or (filename, text)} into
    nbgrader's submitted layout."""
    for student, content in submissions.items():
        where = folder / student / assignment
        where.mkdir(parents=True, exist_ok=True)
        if content is None:
            continue
        name, text = content if isinstance(content, tuple) else (f"{assignment}.ipynb", content)
        (where / name).write_text(text, encoding="utf-8")


def copy_course(target, assignments):
    """A throwaway course folder with the given assignments' sources and releases."""
    for assignment in assignments:
        for part in ("solutions", "exercises"):
            shutil.copytree(ROOT / part / assignment, target / part / assignment)
    return target


def reference_scores(notebook, assignment, course=ROOT):
    """See _reference_scores (cached: the same notebook is scored once)."""
    return dict(_reference_scores(nbformat.writes(notebook), assignment, str(course)))


@functools.cache
def _reference_scores(text, assignment, course):
    """{grade_id: points} the way a plain notebook run grades it: the student's code cells and
    the instructor's test cells (hidden tests included) in one namespace, in notebook order.
    Only for trusted (non-hostile) samples: it runs them in this process."""
    notebook, course = nbformat.reads(text, as_version=4), pathlib.Path(course)
    tests = {_gid(c): c for c in source_notebook(assignment, course).cells
             if utils.is_grade(c) and c.cell_type == "code"}
    namespace, scores = {"__name__": "__main__"}, {}
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()), \
            warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for cell in copy.deepcopy(notebook).cells:
            if cell.cell_type != "code":
                continue
            test = tests.get(_gid(cell))
            try:
                exec(compile(test.source if test else cell.source, "<cell>", "exec"), namespace)
                passed = True
            except Exception:
                passed = False
            if test is not None:
                scores[_gid(cell)] = float(test.metadata.nbgrader["points"]) if passed else 0.0
    return tuple(scores.items())


def read_csv(path):
    import csv

    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def as_json(notebook):
    return json.loads(nbformat.writes(notebook))
