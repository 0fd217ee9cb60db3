"""The checks' doors for torch modules (onebyone.checks.core and roles): construction, state
copying by role and comparison, on the reference modules and on deliberately wrong ones."""

import pytest
import torch
from torch import nn

from onebyone import models
from onebyone.checks import core, roles
from onebyone.checks.core import CheckFailure


def conv_norm():
    """A learner-side module (plain torch, nothing from onebyone) with batch norm."""
    return nn.Sequential(nn.Conv2d(3, 5, 3, padding=1, bias=False), nn.BatchNorm2d(5), nn.ReLU())


def test_copy_state_then_compare_passes_for_an_equal_structure():
    reference = core.randomize_state(conv_norm(), seed=1)
    x = torch.randn(2, 3, 5, 5, generator=torch.Generator().manual_seed(2))
    roles.compare_modules(conv_norm(), reference, x, "block", modes=("eval", "train"))
    mlp = nn.Sequential(nn.Conv2d(2, 4, 3), nn.ReLU(), nn.Conv2d(4, 4, 1), nn.ReLU(),
                        nn.Conv2d(4, 4, 1), nn.ReLU())
    roles.compare_modules(mlp, core.randomize_state(models.mlpconv(2, 4, 3), 5),
                         torch.randn(1, 2, 6, 6), "mlpconv")


def test_learner_modules_that_run_reference_code_are_refused():
    reference = core.randomize_state(models.GAPHead(4, 3), seed=1)
    with pytest.raises(CheckFailure, match="reference package"):
        roles.compare_modules(models.GAPHead(4, 3), reference, torch.randn(1, 4, 2, 2), "GAPHead")


def test_a_structural_difference_is_told_in_words_not_shapes():
    reference = core.randomize_state(models.Bottleneck(6, 3, 8, stride=2), 1)
    no_projection = models.Bottleneck(8, 3, 8)  # identity shortcut: a conv and a norm fewer
    x = torch.randn(1, 6, 4, 4)
    with pytest.raises(CheckFailure) as failure:
        roles.match(reference, no_projection, x, "Bottleneck",
                    explain=lambda missing, extra, units: "HINT")
    lines = str(failure.value).splitlines()
    assert lines[1] == "HINT"  # the guess at the mistake comes before the details
    assert "a 1×1 convolution from 6 to 8 channels, without bias" in lines[2]
    assert "a batch norm over 8 channels" in lines[2]
    assert "(8, 6, 1, 1)" not in str(failure.value)


def test_units_of_the_same_shape_are_told_apart_by_what_they_do():
    """Shortcut defined first, layers in another order: the roles are found by probing."""

    class Reordered(nn.Module):
        def __init__(self):
            super().__init__()
            self.skip = nn.Sequential(nn.Conv2d(4, 4, 1, 2, bias=False), nn.BatchNorm2d(4))
            self.c3 = nn.Conv2d(4, 4, 1, bias=False)
            self.n3, self.n2, self.n1 = (nn.BatchNorm2d(4) for _ in range(3))
            self.c2 = nn.Conv2d(4, 4, 3, 2, 1, bias=False)
            self.c1 = nn.Conv2d(4, 4, 1, bias=False)

        def forward(self, x):
            y = torch.relu(self.n1(self.c1(x)))
            y = torch.relu(self.n2(self.c2(y)))
            return torch.relu(self.n3(self.c3(y)) + self.skip(x))

    reference = core.randomize_state(models.Bottleneck(4, 4, 4, stride=2), 3)
    x = torch.randn(2, 4, 6, 6, generator=torch.Generator().manual_seed(4))
    learner = Reordered()
    found = roles.match(reference, learner, x, "Bottleneck")
    assert found["shortcut.0"] == "skip.0" and found["body.6"] == "c3"
    assert found["body.1"] == "n1" and found["body.4"] == "n2" and found["body.7"] == "n3"
    roles.compare_modules(learner, reference, x, "Bottleneck", modes=("eval", "train"))


def test_units_describe_layers_in_a_learners_words():
    units = roles.units(models.Bottleneck(4, 2, 8).state_dict())
    words = [roles.describe(u.signature) for u in units]
    assert words[0] == "a 1×1 convolution from 4 to 2 channels, without bias"
    assert words[1] == "a batch norm over 2 channels"
    assert roles.describe(roles.units(nn.Linear(3, 5).state_dict())[0].signature) == \
        "a Linear layer from 3 to 5 features, with bias"


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
        roles.compare_modules(Doubled(), reference, x, "GAPHead")


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
