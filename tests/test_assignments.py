"""The assignment pipeline: nbgrader releases, grades the solution full and the release zero,
and sample submissions get the scores they deserve."""

import json
import re

import pytest

from onebyone import release
import course

ROOT = course.ROOT
ASSIGNMENTS = release.assignments()
MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")


def cells(path):
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def test_every_assignment_has_a_source_and_a_release():
    assert "one-by-one" in ASSIGNMENTS
    for assignment in ASSIGNMENTS:
        assert (ROOT / "exercises" / assignment / f"{assignment}.ipynb").is_file()
    released = sorted(p.name for p in (ROOT / "exercises").iterdir() if p.is_dir())
    assert released == ASSIGNMENTS, "exercises/ holds a folder with no source in solutions/"


@pytest.mark.parametrize("folder", ["solutions", "exercises"])
def test_no_notebook_has_committed_outputs(folder):
    for path in (ROOT / folder).glob("*/*.ipynb"):
        for cell in cells(path):
            if cell["cell_type"] == "code":
                assert not cell["outputs"], f"{path} has outputs: clear them before committing"
                assert cell["execution_count"] is None, f"{path} has execution counts"


def test_releases_hold_no_solution_or_hidden_test_text():
    for assignment in ASSIGNMENTS:
        text = (ROOT / "exercises" / assignment / f"{assignment}.ipynb").read_text("utf-8")
        for marker in MARKERS:
            assert marker not in text, f"exercises/{assignment} still holds {marker!r}"


def test_sources_mark_their_solutions_and_hidden_tests():
    for assignment in ASSIGNMENTS:
        text = (ROOT / "solutions" / assignment / f"{assignment}.ipynb").read_text("utf-8")
        for marker in MARKERS:
            assert marker in text, f"solutions/{assignment} has no {marker!r}"


@pytest.fixture(scope="module")
def one_by_one_course(tmp_path_factory):
    """A throwaway nbgrader course holding the one-by-one source, released with nbgrader."""
    folder = course.make_course(tmp_path_factory.mktemp("course"), ASSIGNMENTS)
    for assignment in ASSIGNMENTS:
        course.generate(folder, assignment)
    return folder


def test_exercises_are_exactly_what_nbgrader_generates(one_by_one_course):
    for assignment in ASSIGNMENTS:
        fresh = one_by_one_course / "exercises" / assignment / f"{assignment}.ipynb"
        committed = ROOT / "exercises" / assignment / f"{assignment}.ipynb"
        assert fresh.read_text("utf-8") == committed.read_text("utf-8"), (
            f"exercises/{assignment} is stale: run `make exercises` and commit the result")


SOURCE = course.read_notebook(ROOT / "solutions/one-by-one/one-by-one.ipynb")
SOLVED = {grade_id: re.sub(r" *### (BEGIN|END) SOLUTION\n", "",
                           course.solution_code(SOURCE, grade_id))
          for grade_id in ("conv1x1", "linear_as_conv1x1", "conv1x1_cost")}

HONEST_BY_LOOPS = SOLVED | {"conv1x1": '''
def conv1x1(x, weight, bias=None):
    n, c_in, h, w = x.shape
    out = np.zeros((n, weight.shape[0], h, w))
    for i in range(h):
        for j in range(w):
            out[:, :, i, j] = x[:, :, i, j] @ weight.T   # (N, C_in) @ (C_in, C_out)
    if bias is not None:
        out += bias.reshape(1, -1, 1, 1)
    return out
'''}
FORGETS_BIAS = SOLVED | {"conv1x1": '''
def conv1x1(x, weight, bias=None):
    return np.einsum("oc,nchw->nohw", weight, x)
'''}
USES_TORCH = SOLVED | {"conv1x1": '''
def conv1x1(x, weight, bias=None):
    b = None if bias is None else torch.from_numpy(bias)
    kernel = torch.from_numpy(weight)[:, :, None, None]
    return nn.functional.conv2d(torch.from_numpy(x), kernel, b).numpy()
'''}
CALLS_REFERENCE = SOLVED | {"linear_as_conv1x1": '''
from onebyone import models

def linear_as_conv1x1(linear):
    return models.linear_as_conv1x1(linear)
'''}
COUNTS_BIAS_ALWAYS = SOLVED | {"conv1x1_cost": '''
def conv1x1_cost(h, w, c_in, c_out, bias):
    return c_in * c_out + c_out, h * w * c_in * c_out
'''}


def test_submissions_get_the_scores_they_deserve(one_by_one_course):
    release_nb = one_by_one_course / "exercises/one-by-one/one-by-one.ipynb"
    submissions = {
        "solution": (ROOT / "solutions/one-by-one/one-by-one.ipynb").read_text("utf-8"),
        "untouched": release_nb.read_text("utf-8"),
        "honest": course.fill(release_nb, HONEST_BY_LOOPS),
        "forgets-bias": course.fill(release_nb, FORGETS_BIAS),
        "uses-torch": course.fill(release_nb, USES_TORCH),
        "calls-reference": course.fill(release_nb, CALLS_REFERENCE),
        "counts-bias-always": course.fill(release_nb, COUNTS_BIAS_ALWAYS),
    }
    scores = course.autograde(one_by_one_course, "one-by-one", submissions)
    full = course.max_scores(one_by_one_course, "one-by-one")
    zero = dict.fromkeys(full, 0.0)
    assert scores["solution"] == full
    assert scores["honest"] == full
    assert scores["untouched"] == zero
    assert scores["forgets-bias"] == full | {"test_conv1x1_public": 0.0,
                                             "test_conv1x1_hidden": 0.0}
    assert scores["uses-torch"] == full | {"test_conv1x1_public": 0.0, "test_conv1x1_hidden": 0.0}
    assert scores["calls-reference"] == full | {"test_linear_as_conv1x1_public": 0.0,
                                                "test_linear_as_conv1x1_hidden": 0.0}
    assert scores["counts-bias-always"] == full | {"test_conv1x1_cost_public": 0.0,
                                                   "test_conv1x1_cost_hidden": 0.0}
