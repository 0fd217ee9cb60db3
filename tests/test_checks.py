"""The exercise checks: right answers pass; typical mistakes fail with a message naming them, and
no message tells the answer. Checks called here use the instructor's live reference (as the hidden
tests do) unless a test is about the stored one."""

import sys

import numpy as np
import pytest
import torch
from torch import nn

from onebyone import layers
from onebyone.checks import CheckFailure, check_equal, compare_arrays, display, reference
from onebyone.checks import one_by_one as check
from onebyone.tools import answers

X = np.random.default_rng(0).normal(size=(2, 4, 3, 5))
W = np.random.default_rng(1).normal(size=(4, 4))  # square, so a transposed weight fits
B = np.random.default_rng(2).normal(size=4)


@pytest.fixture(autouse=True)
def live_reference():
    with answers.live("one-by-one"):
        yield


def honest_conv1x1(x, weight, bias=None, groups=1):
    """Written another way than the solution: a loop over groups, tensordot."""
    n, c_in, h, w = x.shape
    per_in, per_out = c_in // groups, weight.shape[0] // groups
    parts = [np.tensordot(weight[g * per_out:(g + 1) * per_out],
                          x[:, g * per_in:(g + 1) * per_in], axes=([1], [1])).transpose(1, 0, 2, 3)
             for g in range(groups)]  # each (O/G, N, H, W) -> (N, O/G, H, W)
    out = np.concatenate(parts, axis=1)
    return out if bias is None else out + bias[None, :, None, None]


def failure(fn, *args, **kwargs):
    with pytest.raises(CheckFailure) as caught:
        fn(*args, **kwargs)
    return str(caught.value)


def test_an_honest_conv1x1_passes():
    check.conv1x1(honest_conv1x1, X, W, B)
    check.conv1x1(honest_conv1x1, X, W)
    check.conv1x1(honest_conv1x1, X, W[:, :2], B, groups=2)


@pytest.mark.parametrize("mistake, words", [
    (lambda x, w, b=None, g=1: honest_conv1x1(x, w, None, g), "bias was left out"),
    (lambda x, w, b=None, g=1: honest_conv1x1(x, w.T, b, g), "transposed"),
    (lambda x, w, b=None, g=1: np.maximum(honest_conv1x1(x, w, b, g), 0), "ReLU"),
    (lambda x, w, b=None, g=1: honest_conv1x1(x, w, b, g).transpose(0, 2, 3, 1), "shape"),
    (lambda x, w, b=None, g=1: honest_conv1x1(x, w, b, g) + 1e-3, "channels that differ"),
    (lambda x, w, b=None, g=1: honest_conv1x1(x, w, b, g).tolist(), "expected a NumPy array"),
    (lambda x, w, b=None, g=1: honest_conv1x1(x, w, b, g) * np.nan, "NaN"),
])
def test_typical_conv1x1_mistakes_are_named(mistake, words):
    assert words in failure(check.conv1x1, mistake, X, W, B)


def test_interleaved_groups_are_named():
    def interleaved(x, w, b=None, groups=1):
        c_in, c_out = x.shape[1], w.shape[0]
        into = [g + j * groups for g in range(groups) for j in range(c_in // groups)]
        out = [g + j * groups for g in range(groups) for j in range(c_out // groups)]
        result = np.empty((x.shape[0], c_out, *x.shape[2:]))
        result[:, out] = honest_conv1x1(x[:, into], w[out], b[out], groups)
        return result

    assert "consecutive" in failure(check.conv1x1, interleaved, X, W[:, :2], B, groups=2)


def test_a_wrong_array_message_shows_where_not_how_much():
    want = np.arange(6.0).reshape(2, 3) * 1.37
    got = want.copy()
    got[1, 2] += 0.5
    with pytest.raises(CheckFailure) as caught:
        compare_arrays(got, want, "item")
    message = str(caught.value)
    assert "(1, 2)" in message and "0.5" not in message and "6.85" not in message


def test_a_wrong_count_message_never_shows_the_expected_number():
    for got in (334, 336):
        with pytest.raises(CheckFailure) as caught:
            check_equal(got, 335, "count", [(336, "a known slip")])
        assert "335" not in str(caught.value)
    assert "too small" in failure(check_equal, 334, 335, "count")


def test_the_stored_reference_knows_only_the_public_inputs(tmp_path):
    live = answers.Live(answers.solution_namespace("one-by-one"))
    recorder = reference.Recorder(live)
    with reference.using(recorder):  # what `make exercises` does with each public test
        check.conv1x1(honest_conv1x1, X, W, B)
    reference.save(recorder.records, tmp_path / "one-by-one.npz")
    stored = reference.Stored.__new__(reference.Stored)
    stored.assignment, stored.records = "one-by-one", reference.load(tmp_path / "one-by-one.npz")
    np.testing.assert_array_equal(stored("conv1x1", X, W, B, 1), live("conv1x1", X, W, B, 1))
    with pytest.raises(reference.MissingCase):
        stored("conv1x1", X + 1, W, B, 1)
    # a learner who hard-codes the public outputs passes them and fails fresh inputs
    public = np.array(stored("conv1x1", X, W, B, 1))
    with reference.using(stored):
        check.conv1x1(lambda x, w, b=None, g=1: public.copy(), X, W, B)
    assert "wrong" in failure(check.conv1x1, lambda x, w, b=None, g=1: public.copy(), X, -W, B)


def test_the_kit_data_is_what_the_reference_gives_on_the_public_tests(tmp_path, monkeypatch):
    """The stored outputs are exactly those the release records (make exercises is up to date)."""
    monkeypatch.setattr(reference, "DATA", tmp_path)
    for path in sorted((reference.DATA_SHIPPED).glob("*.npz")):
        answers.record(path.stem)
        fresh, shipped = reference.load(tmp_path / path.name), reference.load(path)
        assert set(fresh) == set(shipped), f"{path.name} is stale: run `make exercises`"
        for key, value in fresh.items():
            np.testing.assert_equal(shipped[key], value)


def uses_torch(x, weight, bias=None, groups=1):
    kernel = torch.from_numpy(weight)[:, :, None, None]  # (C_out, C_in) -> (C_out, C_in, 1, 1)
    out = torch.nn.functional.conv2d(torch.from_numpy(x), kernel, groups=groups)
    return out.numpy() if bias is None else out.numpy() + bias[None, :, None, None]


def uses_the_kit(x, weight, bias=None, groups=1):
    return layers.conv1x1(x, weight, bias)


def helper_that_uses_torch(x):
    return torch.as_tensor(x).numpy()


def indirectly_uses_torch(x, weight, bias=None, groups=1):
    return helper_that_uses_torch(honest_conv1x1(x, weight, bias, groups))


@pytest.mark.parametrize("cheat, words", [
    (uses_torch, "torch"), (uses_the_kit, "onebyone"), (indirectly_uses_torch, "torch")])
def test_forbidden_shortcuts_score_zero_with_a_reason(cheat, words):
    message = failure(check.conv1x1, cheat, X, W, B)
    assert words in message and "scores zero" in message


def test_the_runtime_watch_catches_what_the_names_hide():
    def cheat(x, w, b=None, g=1):
        sneaky = getattr(__import__("onebyone.layers").layers, "conv" + "1x1")
        return sneaky(x, w, b)

    assert "onebyone" in failure(check.conv1x1, cheat, X, W, B)
    torch_by_name = lambda x, w, b=None, g=1: __import__("torch").from_numpy(x).numpy()  # noqa
    assert "torch" in failure(check.conv1x1, torch_by_name, X, W, B)


def honest_fc_as_conv(linear, channels, height, width):
    conv = nn.Conv2d(channels, linear.out_features, (height, width),
                     bias=linear.bias is not None)
    conv.load_state_dict({"weight": linear.weight.detach().clone().view(conv.weight.shape),
                          **({"bias": linear.bias.detach().clone()} if linear.bias is not None
                             else {})})
    return conv


def test_fc_as_conv_passes_and_catches_sharing_and_misplaced_weights():
    check.fc_as_conv(honest_fc_as_conv, 3, 2, 4, 5)
    check.fc_as_conv(honest_fc_as_conv, 2, 1, 1, 3, bias=False)

    def shared(linear, channels, height, width):
        conv = honest_fc_as_conv(linear, channels, height, width)
        conv.bias = linear.bias
        return conv

    def channels_last(linear, channels, height, width):
        conv = honest_fc_as_conv(linear, channels, height, width)
        with torch.no_grad():
            conv.weight.copy_(linear.weight.view(-1, height, width, channels).permute(0, 3, 1, 2))
        return conv

    assert "shares its tensors" in failure(check.fc_as_conv, shared, 3, 2, 4, 5)
    assert "wrong places" in failure(check.fc_as_conv, channels_last, 3, 2, 4, 5)
    assert "kernel" in failure(check.fc_as_conv, lambda lin, c, h, w: nn.Conv2d(c, 5, 1),
                               3, 2, 4, 5)
    assert "Conv2d" in failure(check.fc_as_conv, lambda lin, c, h, w: lin, 3, 2, 4, 5)


def test_the_notebook_traceback_keeps_the_learners_frames_only():
    def learners_own(x, w, b=None, g=1):
        return honest_conv1x1(x, w, b, g)[:, :1]

    try:
        check.conv1x1(learners_own, X, W, B)
    except CheckFailure:
        tb = sys.exc_info()[2]
    kept = display.learner_frames(tb)
    files = []
    while kept is not None:
        files.append(kept.tb_frame.f_code.co_filename)
        kept = kept.tb_next
    assert files and not [f for f in files if f.startswith(display.PACKAGE_DIR)]
    assert __file__ in files
