"""A correct module written in another common style earns full marks (tests/learner_styles.py):
through the checks in this process, and through `onebyone grade`, where the learner's module is a
stand-in for an object in another process and the checks see it only through its state and its
outputs."""

import collections
import csv

import pytest
from graded_course import graded_code, solution_code, submission
from learner_styles import STYLES

from onebyone.tools import cli

CASES = [(assignment, cell, style) for (assignment, cell), styles in STYLES.items()
         for style in styles]
pytestmark = pytest.mark.xdist_group("nbgrader-course")


def test_every_module_item_has_three_styles_at_least():
    assert all(len(styles) >= 3 for styles in STYLES.values())


def item_tests(assignment, cell):
    return {grade_id: code for grade_id, code in graded_code(assignment).items()
            if grade_id in (f"test_{cell}_public", f"test_{cell}_hidden")}


@pytest.mark.parametrize("assignment, cell, style", CASES, ids=["/".join(c) for c in CASES])
def test_style_passes_the_items_tests_here(assignment, cell, style, capsys):
    setup = next(code for grade_id, code in _setup_cells(assignment))
    namespace = {"__name__": "__main__"}
    exec(compile(setup, "setup", "exec"), namespace)
    for grade_id, code in solution_code(assignment).items():
        source = STYLES[assignment, cell][style] if grade_id == cell else code
        exec(compile(source, grade_id, "exec"), namespace)
        if grade_id == cell:
            break
    for grade_id, code in item_tests(assignment, cell).items():
        exec(compile(code, grade_id, "exec"), namespace)
    printed = capsys.readouterr().out
    assert f"\u2713 {cell}: " in printed and "public check" in printed


def _setup_cells(assignment):
    import nbformat
    from course import ROOT

    path = ROOT / "solutions" / assignment / f"{assignment}.ipynb"
    notebook = nbformat.read(path, as_version=4)
    return [(c.metadata["nbgrader"]["grade_id"], c.source) for c in notebook.cells
            if c.metadata.get("nbgrader", {}).get("grade_id") == "setup"]


def test_every_style_earns_full_marks_through_the_grading_command(tmp_path):
    submitted = tmp_path / "submitted"
    for assignment, cell, style in CASES:
        cells = dict(solution_code(assignment)) | {cell: STYLES[assignment, cell][style]}
        folder = submitted / f"{cell}-{style}" / assignment
        folder.mkdir(parents=True)
        (folder / f"{assignment}.ipynb").write_text(submission(assignment, cells),
                                                    encoding="utf-8")
    out = tmp_path / "out"
    assert cli.main(["grade", str(submitted), "--out", str(out), "--jobs", "2"]) == 0
    scores = collections.defaultdict(dict)
    with open(out / "items.csv", newline="", encoding="utf-8") as table:
        for row in csv.DictReader(table):
            scores[row["student_id"]][row["grade_id"]] = (float(row["score"]),
                                                          float(row["max_score"]), row["message"])
    for assignment, cell, style in CASES:
        student = f"{cell}-{style}"
        for grade_id in item_tests(assignment, cell):
            score, maximum, message = scores[student][grade_id]
            assert score == maximum, f"{student} {grade_id}: {score}/{maximum}: {message}"
