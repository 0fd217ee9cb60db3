"""Sample one-by-one submissions get the scores they deserve under plain nbgrader autograde:
honest answers written differently from the solution score full marks; forbidden shortcuts
score zero on their item only. (Mutants of the solution are in test_mutants.py.)"""

import pytest
from graded_course import autograde_all, solution_code, submission

pytestmark = pytest.mark.xdist_group("nbgrader-course")

LOOPS_OVER_PIXELS = '''
def conv1x1(x, weight, bias=None, groups=1):
    n, c_in, h, w = x.shape
    c_out = weight.shape[0]
    out = np.zeros((n, c_out, h, w))
    for g in range(groups):
        ins = slice(g * c_in // groups, (g + 1) * c_in // groups)
        outs = slice(g * c_out // groups, (g + 1) * c_out // groups)
        for i in range(h):
            for j in range(w):
                out[:, outs, i, j] = x[:, ins, i, j] @ weight[outs].T  # (N, C/G) @ (C/G, O/G)
    if bias is not None:
        out += bias.reshape(1, -1, 1, 1)
    return out
'''
# a learner who builds new parameters from clones instead of copying under no_grad
FC_BY_PARAMETERS = '''
def fc_as_conv(linear, channels, height, width):
    conv = nn.Conv2d(channels, linear.out_features, kernel_size=(height, width),
                     bias=linear.bias is not None)
    conv.weight = nn.Parameter(linear.weight.detach().clone().reshape(conv.weight.shape))
    if linear.bias is not None:
        conv.bias = nn.Parameter(linear.bias.detach().clone())
    return conv
'''
USES_TORCH = '''
def conv1x1(x, weight, bias=None, groups=1):
    b = None if bias is None else torch.from_numpy(bias)
    kernel = torch.from_numpy(weight)[:, :, None, None]
    return nn.functional.conv2d(torch.from_numpy(x), kernel, b, groups=groups).numpy()
'''
CALLS_THE_KIT = '''
from onebyone import models

def fc_as_conv(linear, channels, height, width):
    small = nn.Linear(channels * height * width, linear.out_features)
    small.load_state_dict(linear.state_dict())
    conv = models.linear_as_conv1x1(small)
    return nn.Conv2d(channels, linear.out_features, (height, width))
'''


@pytest.fixture(scope="module")
def graded():
    solved = solution_code("one-by-one")
    samples = {
        "honest-differently": {"conv1x1": LOOPS_OVER_PIXELS, "fc_as_conv": FC_BY_PARAMETERS},
        "uses-torch": {"conv1x1": USES_TORCH},
        "calls-the-kit": {"fc_as_conv": CALLS_THE_KIT},
    }
    jobs = {student: submission("one-by-one", solved | cells)
            for student, cells in samples.items()}
    return autograde_all({"one-by-one": jobs})["one-by-one"]


def test_honest_answers_written_differently_score_full_marks(graded):
    scores, maxima = graded
    assert scores["honest-differently"] == maxima


@pytest.mark.parametrize("student, item", [("uses-torch", "conv1x1"),
                                           ("calls-the-kit", "fc_as_conv")])
def test_forbidden_shortcuts_score_zero_on_their_item_only(graded, student, item):
    scores, maxima = graded
    lost = {f"test_{item}_public", f"test_{item}_hidden"}
    assert scores[student] == {cell: 0.0 if cell in lost else points
                               for cell, points in maxima.items()}
