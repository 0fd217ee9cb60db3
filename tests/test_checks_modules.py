"""The checks' doors for torch modules (onebyone.checks.core): construction, state copying and
comparison, on the reference modules and on deliberately wrong ones."""

import pytest
import torch
from torch import nn

from onebyone import models
from onebyone.checks import core
from onebyone.checks.core import CheckFailure


def conv_norm():
    """A learner-side module (plain torch, nothing from onebyone) with batch norm."""
    return nn.Sequential(nn.Conv2d(3, 5, 3, padding=1, bias=False), nn.BatchNorm2d(5), nn.ReLU())


def test_copy_state_then_compare_passes_for_an_equal_structure():
    reference = core.randomize_state(conv_norm(), seed=1)
    x = torch.randn(2, 3, 5, 5, generator=torch.Generator().manual_seed(2))
    core.compare_modules(conv_norm(), reference, x, "block", modes=("eval", "train"))
    mlp = nn.Sequential(nn.Conv2d(2, 4, 3), nn.ReLU(), nn.Conv2d(4, 4, 1), nn.ReLU(),
                        nn.Conv2d(4, 4, 1), nn.ReLU())
    core.compare_modules(mlp, core.randomize_state(models.mlpconv(2, 4, 3), 5),
                         torch.randn(1, 2, 6, 6), "mlpconv")


def test_learner_modules_that_run_reference_code_are_refused():
    reference = core.randomize_state(models.GAPHead(4, 3), seed=1)
    with pytest.raises(CheckFailure, match="reference package"):
        core.compare_modules(models.GAPHead(4, 3), reference, torch.randn(1, 4, 2, 2), "GAPHead")


def test_copy_state_names_both_structures_when_they_differ():
    reference = models.Bottleneck(6, 3, 8, stride=2)
    no_projection = models.Bottleneck(8, 3, 8)  # identity shortcut: six tensors fewer
    with pytest.raises(CheckFailure) as failure:
        core.copy_state(reference, no_projection, "Bottleneck", hint=lambda want, got: "HINT")
    lines = str(failure.value).splitlines()
    assert lines[1] == "HINT"  # the guess at the mistake comes before the details
    assert "First difference, tensor #0" in lines[2] and "(3, 6, 1, 1)" in lines[2]
    assert lines[3].startswith("All 18 of yours") and lines[4].startswith("All 24 of the ref")


def test_randomized_batch_norm_is_far_from_its_defaults():
    """Running statistics away from (0, 1): a missing batch norm would change the output."""
    norm = core.randomize_state(nn.BatchNorm2d(16), seed=3)
    assert not torch.allclose(norm.running_mean, torch.zeros(16))
    assert not torch.allclose(norm.running_var, torch.ones(16))
    assert not torch.allclose(norm.weight, torch.ones(16))
    assert bool((norm.running_var > 0).all())


def test_the_same_weights_in_a_wrong_forward_are_caught():
    """Same structure, so the state copies; the output then tells the mistake."""
    reference = core.randomize_state(models.GAPHead(4, 3), seed=4)
    x = torch.randn(2, 4, 3, 3)

    class Doubled(nn.Module):
        def __init__(self):
            super().__init__()
            self.classify = nn.Conv2d(4, 3, 1)

        def forward(self, x):
            return 2 * self.classify(x).mean(dim=(2, 3))

    with pytest.raises(CheckFailure, match="values are wrong"):
        core.compare_modules(Doubled(), reference, x, "GAPHead")


def test_construct_learner_refuses_a_subclass_of_the_reference():
    class Copied(models.Inception):
        pass

    with pytest.raises(CheckFailure, match="from onebyone"):
        core.construct_learner(Copied, 3, 2, 2, 4, 1, 2, 3, item="Inception")


def test_construct_learner_refuses_a_class_that_builds_the_reference_inside():
    class Wrapper(nn.Module):
        def __init__(self, in_channels, num_classes):
            super().__init__()
            from onebyone import models as hidden

            self.head = hidden.GAPHead(in_channels, num_classes)

    with pytest.raises(CheckFailure, match="reference package"):
        core.construct_learner(Wrapper, 4, 3, item="GAPHead")


def relu_only():
    return nn.ReLU()


def test_construct_learner_wants_a_module():
    with pytest.raises(CheckFailure, match="expected a torch.nn.Sequential"):
        core.construct_learner(relu_only, item="mlpconv", expected=nn.Sequential)


def test_forward_turns_a_learner_error_into_a_message():
    broken = nn.Conv2d(3, 4, 1)
    with pytest.raises(CheckFailure, match=r"failed on an input of shape \(1, 5, 2, 2\)"):
        core.forward(broken, torch.zeros(1, 5, 2, 2), "head")
