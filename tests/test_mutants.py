"""Tests that test the tests: wrong solutions ("mutants") must lose points, and only where wrong.

For every assignment, nbgrader autogrades, in one run, the released notebook filled with
- the reference solution (full marks),
- nothing (the untouched release: zero),
- the reference solution in the Chinese notebook (full marks: it is graded as the English one),
- each mutant of tests/mutants.py: the reference solution with one realistic mistake. It must lose
  points on the items it breaks and keep every point of the other items.
A mutant that keeps its points means a test is missing.
"""

import collections
import csv
import functools
import re

import pytest
from graded_course import (
    autograde_all,
    chinese_submission,
    graded_code,
    solution_code,
    submission,
)
from mutants import MUTANTS

from onebyone.tools import cli
from onebyone.tools.release import assignments

ASSIGNMENTS = assignments()
# One nbgrader course per session: with pytest-xdist (--dist loadgroup) keep these tests together.
pytestmark = pytest.mark.xdist_group("nbgrader-course")
BY_ASSIGNMENT = collections.defaultdict(list)
for _mutant in MUTANTS:
    BY_ASSIGNMENT[_mutant.assignment].append(_mutant)


def mutated_cells(mutant):
    """The assignment's solution code with the mutant's mistake in its cell."""
    cells = dict(solution_code(mutant.assignment))
    code = cells[mutant.cell]
    for old, new in mutant.edits:
        assert code.count(old) == 1, (
            f"{mutant.id}: {old!r} occurs {code.count(old)} times in cell {mutant.cell!r}; "
            "the mutant no longer matches the solution")
        code = code.replace(old, new)
    cells[mutant.cell] = code
    return cells


def _names_in(code, names):
    return {name for name in names if re.search(rf"\b{re.escape(name)}\b", code)}


@functools.cache
def reach(assignment):
    """{solution cell: the items whose tests run its code}, read from the notebook's code.

    A test cell runs the solution cells it names, and those run the cells they name in turn
    (nin_vs_fc calls nin, which calls mlpconv). Solution cells are named after what they define.
    """
    code = solution_code(assignment)
    calls = {cell: _names_in(text, code) for cell, text in code.items()}
    runs = {}
    for cell in code:  # everything a cell's code runs, itself included
        todo, seen = [cell], set()
        while todo:
            current = todo.pop()
            if current not in seen:
                seen.add(current)
                todo.extend(calls[current])
        runs[cell] = seen
    found = collections.defaultdict(set)
    for test_id, text in graded_code(assignment).items():
        for named in _names_in(text, code):
            for cell in runs[named]:
                found[cell].add(item_of(test_id))
    return found


def mutant_reach(mutant):
    return reach(mutant.assignment)[mutant.cell]


def pack(mutants):
    """Group mutants into submissions whose reaches do not overlap.

    No two mutants of a group can touch the same item, so each lost point is owed to exactly one
    of them, and each is still checked for losing points outside its breaks: one autograded
    notebook then tests several mistakes, which keeps the suite fast.
    """
    groups = []
    for mutant in mutants:
        for group in groups:
            if all(not mutant_reach(mutant) & mutant_reach(other) for other in group):
                group.append(mutant)
                break
        else:
            groups.append([mutant])
    return groups


def group_name(index):
    return f"mutants-{index:02d}"


@functools.cache
def groups(assignment):
    return pack(BY_ASSIGNMENT[assignment])


@functools.cache
def jobs():
    """{assignment: {student: notebook text}}: the reference, the release and the mutants."""
    jobs = {}
    for assignment in ASSIGNMENTS:
        students = {"reference": submission(assignment, solution_code(assignment)),
                    "release": submission(assignment),
                    "chinese": chinese_submission(assignment, solution_code(assignment))}
        for index, group in enumerate(groups(assignment)):
            cells = dict(solution_code(assignment))
            for mutant in group:
                cells[mutant.cell] = mutated_cells(mutant)[mutant.cell]
            students[group_name(index)] = submission(assignment, cells)
        jobs[assignment] = students
    return jobs


@functools.cache
def graded():
    """{assignment: ({student: {grade_id: score}}, {grade_id: max score})}, autograded once."""
    return autograde_all(jobs())


def mutant_scores(mutant):
    """{item: (score, max)} of the submission holding `mutant`, and that submission's group."""
    scores, maxima = graded()[mutant.assignment]
    for index, group in enumerate(groups(mutant.assignment)):
        if mutant in group:
            return item_scores(scores[group_name(index)], maxima), group
    raise AssertionError(f"{mutant.id} is in no group")


def item_of(test_id):
    """test_<item>_public / test_<item>_hidden -> <item>."""
    return test_id.removeprefix("test_").rsplit("_", 1)[0]


def item_scores(scores, maxima):
    """{item: (score, max score)} summed over the item's public and hidden test cells."""
    items = collections.defaultdict(lambda: [0.0, 0.0])
    for test_id, maximum in maxima.items():
        items[item_of(test_id)][0] += scores.get(test_id) or 0.0
        items[item_of(test_id)][1] += maximum
    return {item: tuple(pair) for item, pair in items.items()}


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_assignment_has_five_mutants_covering_every_item(assignment):
    mutants = BY_ASSIGNMENT[assignment]
    assert len(mutants) >= 5, f"{assignment} has {len(mutants)} mutants; five at least"
    _, maxima = graded()[assignment]
    points = collections.Counter()
    for test_id, maximum in maxima.items():
        points[item_of(test_id)] += maximum
    # an item worth no points (a property checked for the learner) needs no mutant
    untested = {item for item, total in points.items() if total} - {
        i for m in mutants for i in m.breaks}
    assert not untested, f"{assignment}: no mutant breaks the items {sorted(untested)}"
    for mutant in mutants:
        assert mutant.cell in solution_code(assignment), f"{mutant.id}: unknown cell"
        assert set(mutant.breaks) <= {item_of(t) for t in maxima}, f"{mutant.id}: unknown item"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_reference_solution_scores_full_marks(assignment):
    scores, maxima = graded()[assignment]
    assert scores["reference"] == maxima


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_the_chinese_notebook_with_the_reference_solution_scores_full_marks(assignment):
    """Plain nbgrader grades the Chinese notebook as the English one (and `onebyone grade`
    agrees with nbgrader on it: the test below)."""
    scores, maxima = graded()[assignment]
    assert scores["chinese"] == maxima


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_untouched_release_scores_zero(assignment):
    scores, maxima = graded()[assignment]
    assert set(scores["release"]) == set(maxima)
    assert all(not score for score in scores["release"].values()), scores["release"]


@pytest.mark.parametrize("mutant", MUTANTS, ids=[m.id for m in MUTANTS])
def test_mutant_loses_points_only_where_it_is_wrong(mutant):
    items, group = mutant_scores(mutant)
    assert set(mutant.breaks) <= mutant_reach(mutant), (
        f"{mutant.id} claims to break {mutant.breaks}, but cell {mutant.cell!r} only reaches "
        f"{sorted(mutant_reach(mutant))}")
    survived = [item for item in mutant.breaks if items[item][0] >= items[item][1]]
    assert not survived, (f"{mutant.id} keeps full marks on {survived}: a test is missing "
                          f"(item scores: {items})")
    collateral = {item: items[item] for item in mutant_reach(mutant)
                  if item not in mutant.breaks and items[item][0] < items[item][1]}
    assert not collateral, f"{mutant.id} also lost points on {collateral}"
    untouched = set(items) - set().union(*(mutant_reach(m) for m in group))
    lost = {item: items[item] for item in untouched if items[item][0] < items[item][1]}
    assert not lost, f"the submission holding {mutant.id} lost points no mutant reaches: {lost}"


def test_the_grading_command_agrees_with_nbgrader_on_every_submission(tmp_path):
    """`onebyone grade` (sandboxed, tests run outside the student's process) and plain
    nbgrader autograde give every test cell of every honest-but-wrong submission the same score."""
    submitted = tmp_path / "submitted"
    for assignment, students in jobs().items():
        for student, text in students.items():
            folder = submitted / student / assignment
            folder.mkdir(parents=True)
            (folder / f"{assignment}.ipynb").write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    assert cli.main(["grade", str(submitted), "--out", str(out), "--jobs", "2"]) == 0
    with open(out / "items.csv", newline="", encoding="utf-8") as table:
        ours = collections.defaultdict(dict)
        for row in csv.DictReader(table):
            ours[row["student_id"], row["assignment_id"]][row["grade_id"]] = float(row["score"])
    for assignment, (scores, _) in graded().items():
        for student, by_cell in scores.items():
            assert ours[student, assignment] == by_cell, f"{assignment}/{student}"
