"""Tests that test the tests: wrong solutions ("mutants") must lose points, and only where wrong.

For every assignment, nbgrader autogrades, in one run, the released notebook filled with
- the reference solution (full marks),
- nothing (the untouched release: zero),
- each mutant of tests/mutants.py: the reference solution with one realistic mistake. It must lose
  points on the items it breaks and keep every point of the other items.
A mutant that keeps its points means a test is missing.
"""

import collections
import functools

import pytest
from graded_course import autograde_all, solution_code, submission
from mutants import MUTANTS

from onebyone.release import assignments

ASSIGNMENTS = assignments()
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


@functools.cache
def graded():
    """{assignment: ({student: {grade_id: score}}, {grade_id: max score})}, autograded once."""
    jobs = {}
    for assignment in ASSIGNMENTS:
        students = {"reference": submission(assignment, solution_code(assignment)),
                    "release": submission(assignment)}
        for mutant in BY_ASSIGNMENT[assignment]:
            students[mutant.name] = submission(assignment, mutated_cells(mutant))
        jobs[assignment] = students
    return autograde_all(jobs)


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
    untested = {item_of(t) for t in maxima} - {i for m in mutants for i in m.breaks}
    assert not untested, f"{assignment}: no mutant breaks the items {sorted(untested)}"
    for mutant in mutants:
        assert mutant.cell in solution_code(assignment), f"{mutant.id}: unknown cell"
        assert set(mutant.breaks) <= {item_of(t) for t in maxima}, f"{mutant.id}: unknown item"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_reference_solution_scores_full_marks(assignment):
    scores, maxima = graded()[assignment]
    assert scores["reference"] == maxima


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_untouched_release_scores_zero(assignment):
    scores, maxima = graded()[assignment]
    assert set(scores["release"]) == set(maxima)
    assert all(not score for score in scores["release"].values()), scores["release"]


@pytest.mark.parametrize("mutant", MUTANTS, ids=[m.id for m in MUTANTS])
def test_mutant_loses_points_only_where_it_is_wrong(mutant):
    scores, maxima = graded()[mutant.assignment]
    items = item_scores(scores[mutant.name], maxima)
    survived = [item for item in mutant.breaks if items[item][0] >= items[item][1]]
    assert not survived, (f"{mutant.id} keeps full marks on {survived}: a test is missing "
                          f"(item scores: {items})")
    collateral = {item: score for item, score in items.items()
                  if item not in mutant.breaks and score[0] < score[1]}
    assert not collateral, f"{mutant.id} also lost points on {collateral}"
