"""The five most common mistakes of each module item get a message in a learner's words, never a
list of tensor shapes alone. Each mistake is the reference solution's style with one slip."""

import re

import numpy as np
import pytest
import torch
from torch import nn

from onebyone.checks import (
    global_average_pooling,
    inception_cost,
    network_in_network,
    one_by_one,
    resnet_bottleneck,
)
from onebyone.checks.core import CheckFailure

BOTTLENECK = '''
class Bottleneck(nn.Module):
    def __init__(self, in_channels, mid_channels, out_channels, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, mid_channels, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(mid_channels)
        self.conv2 = nn.Conv2d(mid_channels, mid_channels, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(mid_channels)
        self.conv3 = nn.Conv2d(mid_channels, out_channels, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_channels)
        self.shortcut = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                nn.BatchNorm2d(out_channels))

    def forward(self, x):
        y = torch.relu(self.bn1(self.conv1(x)))
        y = torch.relu(self.bn2(self.conv2(y)))
        return torch.relu(self.bn3(self.conv3(y)) + self.shortcut(x))
'''
MLPCONV = '''
def mlpconv(in_channels, out_channels, kernel_size, stride=1, padding=0):
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, padding=padding),
        nn.ReLU(),
        nn.Conv2d(out_channels, out_channels, 1), nn.ReLU(),
        nn.Conv2d(out_channels, out_channels, 1), nn.ReLU())
'''
NIN = MLPCONV + '''
def nin(num_classes, in_channels=3):
    return nn.Sequential(
        mlpconv(in_channels, 96, 11, stride=4), nn.MaxPool2d(3, stride=2),
        mlpconv(96, 256, 5, padding=2), nn.MaxPool2d(3, stride=2),
        mlpconv(256, 384, 3, padding=1), nn.MaxPool2d(3, stride=2), nn.Dropout(0.5),
        mlpconv(384, num_classes, 3, padding=1), nn.AdaptiveAvgPool2d(1), nn.Flatten())
'''
INCEPTION = '''
def conv(c_in, c_out, k):
    return nn.Sequential(nn.Conv2d(c_in, c_out, k, padding=k // 2), nn.ReLU())

class Inception(nn.Module):
    def __init__(self, in_channels, c1, c3_reduce, c3, c5_reduce, c5, pool_proj):
        super().__init__()
        self.b1 = conv(in_channels, c1, 1)
        self.b3 = nn.Sequential(conv(in_channels, c3_reduce, 1), conv(c3_reduce, c3, 3))
        self.b5 = nn.Sequential(conv(in_channels, c5_reduce, 1), conv(c5_reduce, c5, 5))
        self.bp = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1),
                                conv(in_channels, pool_proj, 1))

    def forward(self, x):
        return torch.cat([self.b1(x), self.b3(x), self.b5(x), self.bp(x)], dim=1)
'''
HEAD = '''
class GAPHead(nn.Module):
    def __init__(self, in_channels, num_classes):
        super().__init__()
        self.classify = nn.Conv2d(in_channels, num_classes, 1)

    def forward(self, x):
        return self.classify(x).mean(dim=(2, 3))
'''
LINEAR = '''
def linear_as_conv1x1(linear):
    conv = nn.Conv2d(linear.in_features, linear.out_features, 1, bias=linear.bias is not None)
    with torch.no_grad():
        conv.weight.copy_(linear.weight[:, :, None, None])
        if conv.bias is not None:
            conv.bias.copy_(linear.bias)
    return conv
'''


def defined(source, name):
    namespace = {"nn": nn, "torch": torch, "np": np}
    exec(compile(source, f"<{name}>", "exec"), namespace)
    return namespace[name]


def mutated(source, old, new):
    assert source.count(old) == 1, old
    return source.replace(old, new)


# (item, run the check on the learner's object, source, old, new, words the message must hold)
MISTAKES = [
    ("Bottleneck", lambda B: resnet_bottleneck.bottleneck(B, 8, 4, 16, stride=2), BOTTLENECK,
     "nn.BatchNorm2d(out_channels))", ")", "Your shortcut has no batch norm"),
    ("Bottleneck", lambda B: resnet_bottleneck.bottleneck(B, 16, 4, 16, stride=2), BOTTLENECK,
     "if stride != 1 or in_channels != out_channels:", "if in_channels != out_channels:",
     "Your shortcut has no projection, but the stride is 2"),
    ("Bottleneck", lambda B: resnet_bottleneck.bottleneck(B, 8, 4, 16, stride=2), BOTTLENECK,
     "3, stride=stride, padding=1", "3, padding=1", "your 3×3 convolution has stride 1, but the "
     "block should downsample"),
    ("Bottleneck", lambda B: resnet_bottleneck.bottleneck(B, 8, 4, 16), BOTTLENECK,
     "torch.relu(self.bn3(self.conv3(y)) + self.shortcut(x))",
     "torch.relu(self.bn3(self.conv3(y))) + self.shortcut(x)", "ReLU was applied before the "
     "addition"),
    ("Bottleneck", lambda B: resnet_bottleneck.bottleneck(B, 8, 4, 16), BOTTLENECK,
     "self.conv1 = nn.Conv2d(in_channels, mid_channels, 1, bias=False)",
     "self.conv1 = nn.Conv2d(in_channels, mid_channels, 1)", "takes bias=False"),
    ("linear_as_conv1x1", lambda f: one_by_one.linear_as_conv1x1(f, 6, 5), LINEAR,
     "            conv.bias.copy_(linear.bias)", "            pass",
     "the Linear's bias was not copied into the Conv2d"),
    ("linear_as_conv1x1", lambda f: one_by_one.linear_as_conv1x1(f, 6, 5), LINEAR,
     "        conv.weight.copy_(linear.weight[:, :, None, None])", "        pass",
     "the Linear's weights were not copied"),
    ("linear_as_conv1x1", lambda f: one_by_one.linear_as_conv1x1(f, 5, 5), LINEAR,
     "linear.weight[:, :, None, None]", "linear.weight.T[:, :, None, None]", "transposed"),
    ("linear_as_conv1x1", lambda f: one_by_one.linear_as_conv1x1(f, 6, 5), LINEAR,
     "bias=linear.bias is not None)", "bias=False)", "your Conv2d has none"),
    ("linear_as_conv1x1", lambda f: one_by_one.linear_as_conv1x1(f, 6, 5), LINEAR,
     "    return conv", "    return linear", "returned a Linear; expected torch.nn.Conv2d"),
    ("mlpconv", lambda f: network_in_network.mlpconv(f, 3, 8, 3, padding=1), MLPCONV,
     "nn.Conv2d(out_channels, out_channels, 1), nn.ReLU())",
     "nn.Conv2d(out_channels, out_channels, 1))", "the last ReLU is missing"),
    ("mlpconv", lambda f: network_in_network.mlpconv(f, 3, 8, 3, padding=1), MLPCONV,
     "stride=stride, padding=padding)", "stride=stride)", "it takes the block's padding (1)"),
    ("mlpconv", lambda f: network_in_network.mlpconv(f, 3, 8, 3, padding=1), MLPCONV,
     "nn.Conv2d(out_channels, out_channels, 1), nn.ReLU(),\n",
     "nn.Conv2d(out_channels, out_channels, kernel_size, padding=padding), nn.ReLU(),\n",
     "only the first one is k×k"),
    ("mlpconv", lambda f: network_in_network.mlpconv(f, 3, 8, 3, padding=1), MLPCONV,
     "        nn.ReLU(),\n", "", "the ReLU after the first convolution is missing"),
    ("mlpconv", lambda f: network_in_network.mlpconv(f, 3, 8, 3, padding=1), MLPCONV,
     "nn.Conv2d(out_channels, out_channels, 1), nn.ReLU(),\n",
     "nn.Conv2d(out_channels, out_channels, 1, bias=False), nn.ReLU(),\n",
     "a 1×1 convolution from 8 to 8 channels, with bias"),
    ("nin", lambda f: network_in_network.nin(f, 10), NIN,
     "nn.AdaptiveAvgPool2d(1)", "nn.AdaptiveMaxPool2d(1)", "maximum of each map"),
    ("nin", lambda f: network_in_network.nin(f, 10), NIN,
     "mlpconv(384, num_classes, 3, padding=1)",
     "mlpconv(384, 384, 3, padding=1), nn.Conv2d(384, num_classes, 1)",
     "four mlpconv blocks of three convolutions each"),
    ("nin", lambda f: network_in_network.nin(f, 10), NIN,
     "mlpconv(256, 384, 3, padding=1), nn.MaxPool2d(3, stride=2)",
     "mlpconv(256, 384, 3, padding=1), nn.MaxPool2d(3)",
     "your max pooling has a 3×3 window and stride 3"),
    ("nin", lambda f: network_in_network.nin(f, 10), NIN,
     "mlpconv(96, 256, 5, padding=2)", "mlpconv(96, 256, 5)",
     "your 5×5 convolution has padding 0; NiN pads it by 2"),
    ("nin", lambda f: network_in_network.nin(f, 10, in_channels=1), NIN,
     "mlpconv(in_channels, 96, 11, stride=4)", "mlpconv(3, 96, 11, stride=4)",
     "an 11×11 convolution from 1 to 96 channels"),
    ("Inception", lambda f: inception_cost.inception(f, 3, 2, 2, 4, 1, 2, 3, size=(5, 7)),
     INCEPTION, "nn.MaxPool2d(3, stride=1, padding=1)", "nn.MaxPool2d(3, padding=1)",
     "your max pooling has stride 3"),
    ("Inception", lambda f: inception_cost.inception(f, 3, 2, 2, 4, 1, 2, 3, size=(5, 7)),
     INCEPTION, "padding=k // 2", "padding=1", "convolution has padding 1; keeping the size"),
    ("Inception", lambda f: inception_cost.inception(f, 3, 2, 2, 4, 1, 2, 3, size=(5, 7)),
     INCEPTION, "[self.b1(x), self.b3(x), self.b5(x), self.bp(x)]",
     "[self.bp(x), self.b1(x), self.b3(x), self.b5(x)]", "concatenated in another order"),
    ("Inception", lambda f: inception_cost.inception(f, 3, 2, 2, 4, 1, 2, 3, size=(5, 7)),
     INCEPTION, "                                conv(in_channels, pool_proj, 1))",
     "                                nn.Conv2d(in_channels, pool_proj, 1))",
     "the pool branch's 1×1 projection has no ReLU"),
    ("Inception", lambda f: inception_cost.inception(f, 3, 2, 2, 4, 1, 2, 3, size=(5, 7)),
     INCEPTION, "conv(in_channels, c5_reduce, 1), conv(c5_reduce, c5, 5)",
     "conv(in_channels, c5, 5)", "The module has six convolutions"),
    ("GAPHead", lambda f: global_average_pooling.gap_head(f, 8, 3), HEAD,
     "self.classify(x).mean(dim=(2, 3))", "self.classify(x).amax(dim=(2, 3))", "max-pooled"),
    ("GAPHead", lambda f: global_average_pooling.gap_head(f, 8, 3), HEAD,
     "self.classify(x).mean(dim=(2, 3))", "self.classify(x).sum(dim=(2, 3))", "summed"),
    ("GAPHead", lambda f: global_average_pooling.gap_head(f, 8, 3), HEAD,
     "self.classify(x).mean(dim=(2, 3))", "torch.relu(self.classify(x)).mean(dim=(2, 3))",
     "a ReLU was applied to the class maps"),
    ("GAPHead", lambda f: global_average_pooling.gap_head(f, 8, 3), HEAD,
     "self.classify = nn.Conv2d(in_channels, num_classes, 1)",
     "self.classify = nn.Linear(in_channels, num_classes)", "Your head holds a Linear layer"),
    ("GAPHead", lambda f: global_average_pooling.gap_head(f, 8, 3), HEAD,
     "nn.Conv2d(in_channels, num_classes, 1)", "nn.Conv2d(in_channels, num_classes, 1, bias=False)",
     "needs its bias"),
]
IDS = [f"{item}-{i}" for i, (item, *_) in enumerate(MISTAKES)]


def message_of(item, run, source, old, new):
    with pytest.raises(CheckFailure) as failure:
        run(defined(mutated(source, old, new), item if item != "nin" else "nin"))
    return str(failure.value)


@pytest.mark.parametrize("item, run, source, old, new, words", MISTAKES, ids=IDS)
def test_a_common_mistake_gets_a_message_that_names_it(item, run, source, old, new, words):
    message = message_of(item, run, source, old, new)
    assert words in message, message
    # Never a list of tensor shapes alone: the message is mostly words.
    without_calls = re.sub(r"\w+\([^()]*\)", "", message)  # Bottleneck(8, 4, 16, 2): the item
    shapes = re.findall(r"\(\d+(?:, \d+)+\)", without_calls)
    assert len(shapes) <= 2, message


@pytest.mark.parametrize("item, source", [("Bottleneck", BOTTLENECK), ("mlpconv", MLPCONV),
                                          ("Inception", INCEPTION), ("GAPHead", HEAD),
                                          ("linear_as_conv1x1", LINEAR)])
def test_the_unmutated_sources_pass(item, source):
    run = next(r for i, r, *_ in MISTAKES if i == item)
    run(defined(source, item))
