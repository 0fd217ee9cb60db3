"""Sample one-by-one submissions get the scores they deserve under plain nbgrader autograde:
honest answers written differently from the solution score full marks; forbidden shortcuts
score zero on their item only. (Mutants of the solution are in test_mutants.py.)"""

import pytest
from graded_course import autograde_all, solution_code, submission
from learner_styles import STYLES

pytestmark = pytest.mark.xdist_group("nbgrader-course")

LOOPS_OVER_PIXELS = '''
def conv1x1(x, weight, bias=None):
    n, c_in, h, w = x.shape
    out = np.zeros((n, weight.shape[0], h, w))
    for i in range(h):
        for j in range(w):
            out[:, :, i, j] = x[:, :, i, j] @ weight.T   # (N, C_in) @ (C_in, C_out)
    if bias is not None:
        out += bias.reshape(1, -1, 1, 1)
    return out
'''
# a learner who builds new parameters instead of copying under no_grad
LINEAR_BY_PARAMETERS = STYLES[("one-by-one", "linear_as_conv1x1")]["new-parameters"]
USES_TORCH = '''
def conv1x1(x, weight, bias=None):
    b = None if bias is None else torch.from_numpy(bias)
    kernel = torch.from_numpy(weight)[:, :, None, None]
    return nn.functional.conv2d(torch.from_numpy(x), kernel, b).numpy()
'''
CALLS_REFERENCE = '''
from onebyone import models

def linear_as_conv1x1(linear):
    return models.linear_as_conv1x1(linear)
'''


@pytest.fixture(scope="module")
def graded():
    solved = solution_code("one-by-one")
    samples = {
        "honest-differently": {"conv1x1": LOOPS_OVER_PIXELS,
                               "linear_as_conv1x1": LINEAR_BY_PARAMETERS},
        "uses-torch": {"conv1x1": USES_TORCH},
        "calls-reference": {"linear_as_conv1x1": CALLS_REFERENCE},
    }
    jobs = {student: submission("one-by-one", solved | cells)
            for student, cells in samples.items()}
    return autograde_all({"one-by-one": jobs})["one-by-one"]


def test_honest_answers_written_differently_score_full_marks(graded):
    scores, maxima = graded
    assert scores["honest-differently"] == maxima


@pytest.mark.parametrize("student, item", [("uses-torch", "conv1x1"),
                                           ("calls-reference", "linear_as_conv1x1")])
def test_forbidden_shortcuts_score_zero_on_their_item_only(graded, student, item):
    scores, maxima = graded
    lost = {f"test_{item}_public", f"test_{item}_hidden"}
    assert scores[student] == {cell: 0.0 if cell in lost else points
                               for cell, points in maxima.items()}
