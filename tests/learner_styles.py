"""Correct answers to the module items written in other common styles than the solutions'.

Each is the source of a solution cell (what a student would type), keyed by assignment and cell;
tests/test_checks_styles.py runs them through the checks in this process and through
`onebyone grade`, and every one must earn full marks.
"""

STYLES = {
    ("resnet-bottleneck", "Bottleneck"): {
        "torchvision-shortcut-first": '''
class Bottleneck(nn.Module):
    def __init__(self, in_channels, mid_channels, out_channels, stride=1):
        super().__init__()
        self.downsample = None
        if stride != 1 or in_channels != out_channels:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                nn.BatchNorm2d(out_channels))
        self.conv1 = nn.Conv2d(in_channels, mid_channels, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(mid_channels)
        self.conv2 = nn.Conv2d(mid_channels, mid_channels, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(mid_channels)
        self.conv3 = nn.Conv2d(mid_channels, out_channels, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        out += identity
        return self.relu(out)
''',
        "named-attributes-functional-relu": '''
import torch.nn.functional as F

class Bottleneck(nn.Module):
    def __init__(self, in_channels, mid_channels, out_channels, stride=1):
        super().__init__()
        self.project = stride != 1 or in_channels != out_channels
        if self.project:
            self.proj_bn = nn.BatchNorm2d(out_channels)
            self.proj = nn.Conv2d(in_channels, out_channels, 1, stride, bias=False)
        self.expand = nn.Conv2d(mid_channels, out_channels, 1, bias=False)
        self.reduce = nn.Conv2d(in_channels, mid_channels, 1, bias=False)
        self.spatial = nn.Conv2d(mid_channels, mid_channels, 3, stride, padding=1, bias=False)
        self.norms = nn.ModuleList([nn.BatchNorm2d(out_channels), nn.BatchNorm2d(mid_channels),
                                    nn.BatchNorm2d(mid_channels)])

    def forward(self, x):
        expand_bn, spatial_bn, reduce_bn = self.norms
        y = F.relu(reduce_bn(self.reduce(x)))
        y = F.relu(spatial_bn(self.spatial(y)))
        y = expand_bn(self.expand(y))
        skip = self.proj_bn(self.proj(x)) if self.project else x
        return F.relu(y + skip)
''',
        "module-list-of-stages": '''
def conv_bn(c_in, c_out, k, stride=1, relu=True):
    layers = [nn.Conv2d(c_in, c_out, k, stride, padding=k // 2, bias=False),
              nn.BatchNorm2d(c_out)]
    return nn.Sequential(*layers, *([nn.ReLU(inplace=True)] if relu else []))

class Bottleneck(nn.Module):
    def __init__(self, in_channels, mid_channels, out_channels, stride=1):
        super().__init__()
        same = stride == 1 and in_channels == out_channels
        self.paths = nn.ModuleList([
            nn.Identity() if same else conv_bn(in_channels, out_channels, 1, stride, relu=False),
            nn.Sequential(conv_bn(in_channels, mid_channels, 1),
                          conv_bn(mid_channels, mid_channels, 3, stride),
                          conv_bn(mid_channels, out_channels, 1, relu=False)),
        ])

    def forward(self, x):
        shortcut, body = self.paths
        return torch.relu(shortcut(x) + body(x))
''',
    },
    ("one-by-one", "linear_as_conv1x1"): {
        "new-parameters": '''
def linear_as_conv1x1(linear):
    conv = nn.Conv2d(linear.in_features, linear.out_features, 1, bias=linear.bias is not None)
    conv.weight = nn.Parameter(linear.weight.detach()[:, :, None, None].clone())
    if linear.bias is not None:
        conv.bias = nn.Parameter(linear.bias.detach().clone())
    return conv
''',
        "copy-under-no-grad": '''
def linear_as_conv1x1(linear):
    out_f, in_f = linear.weight.shape
    conv = nn.Conv2d(in_f, out_f, kernel_size=(1, 1), bias=linear.bias is not None)
    with torch.no_grad():
        conv.weight.copy_(linear.weight.reshape(out_f, in_f, 1, 1))
        if conv.bias is not None:
            conv.bias.copy_(linear.bias)
    return conv
''',
        "data-attributes": '''
def linear_as_conv1x1(linear):
    conv = nn.Conv2d(linear.in_features, linear.out_features, 1)
    conv.weight.data = linear.weight.data.clone().unsqueeze(-1).unsqueeze(-1)
    if linear.bias is None:
        conv.bias = None
    else:
        conv.bias.data = linear.bias.data.clone()
    return conv
''',
    },
    ("network-in-network", "mlpconv"): {
        "list-inplace-relu": '''
def mlpconv(in_channels, out_channels, kernel_size, stride=1, padding=0):
    layers = [nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding)]
    for _ in range(2):
        layers += [nn.ReLU(inplace=True), nn.Conv2d(out_channels, out_channels, 1)]
    return nn.Sequential(*layers, nn.ReLU(inplace=True))
''',
        "named-ordered-dict": '''
from collections import OrderedDict

def mlpconv(in_channels, out_channels, kernel_size, stride=1, padding=0):
    return nn.Sequential(OrderedDict([
        ("spatial", nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride,
                              padding=padding)),
        ("relu0", nn.ReLU()),
        ("mlp1", nn.Conv2d(out_channels, out_channels, 1)),
        ("relu1", nn.ReLU()),
        ("mlp2", nn.Conv2d(out_channels, out_channels, 1)),
        ("relu2", nn.ReLU()),
    ]))
''',
        "nested-pairs": '''
def conv_relu(c_in, c_out, k, stride=1, padding=0):
    return nn.Sequential(nn.Conv2d(c_in, c_out, k, stride, padding), nn.ReLU())

def mlpconv(in_channels, out_channels, kernel_size, stride=1, padding=0):
    return nn.Sequential(conv_relu(in_channels, out_channels, kernel_size, stride, padding),
                         conv_relu(out_channels, out_channels, 1),
                         conv_relu(out_channels, out_channels, 1))
''',
    },
    ("network-in-network", "nin"): {
        "class-with-mean": '''
class NiN(nn.Module):
    def __init__(self, num_classes, in_channels):
        super().__init__()
        self.features = nn.Sequential(
            mlpconv(in_channels, 96, 11, stride=4), nn.MaxPool2d(3, 2),
            mlpconv(96, 256, 5, padding=2), nn.MaxPool2d(3, 2),
            mlpconv(256, 384, 3, padding=1), nn.MaxPool2d(3, 2), nn.Dropout(0.5))
        self.classes = mlpconv(384, num_classes, 3, padding=1)

    def forward(self, x):
        return self.classes(self.features(x)).mean(dim=(2, 3))

def nin(num_classes, in_channels=3):
    return NiN(num_classes, in_channels)
''',
        "loop-over-a-table": '''
def nin(num_classes, in_channels=3):
    table = [(in_channels, 96, 11, 4, 0), (96, 256, 5, 1, 2), (256, 384, 3, 1, 1)]
    layers = []
    for c_in, c_out, k, s, p in table:
        layers += [mlpconv(c_in, c_out, k, s, p), nn.MaxPool2d(kernel_size=3, stride=2)]
    layers += [nn.Dropout(p=0.5), mlpconv(384, num_classes, 3, 1, 1),
               nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(1)]
    return nn.Sequential(*layers)
''',
        "functional-pooling": '''
import torch.nn.functional as F

class GlobalAverage(nn.Module):
    def forward(self, x):
        return F.adaptive_avg_pool2d(x, 1).flatten(1)

def nin(num_classes, in_channels=3):
    return nn.Sequential(
        mlpconv(in_channels, 96, kernel_size=11, stride=4), nn.MaxPool2d(3, stride=2),
        mlpconv(96, 256, kernel_size=5, padding=2), nn.MaxPool2d(3, stride=2),
        mlpconv(256, 384, kernel_size=3, padding=1), nn.MaxPool2d(3, stride=2),
        nn.Dropout(0.5), mlpconv(384, num_classes, kernel_size=3, padding=1),
        GlobalAverage())
''',
    },
    ("inception-cost", "Inception"): {
        "torchvision-like": '''
class BasicConv(nn.Module):
    def __init__(self, c_in, c_out, k):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, kernel_size=k, padding=k // 2)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        return self.relu(self.conv(x))

class Inception(nn.Module):
    def __init__(self, in_channels, c1, c3_reduce, c3, c5_reduce, c5, pool_proj):
        super().__init__()
        self.branch1 = BasicConv(in_channels, c1, 1)
        self.branch2 = nn.Sequential(BasicConv(in_channels, c3_reduce, 1),
                                     BasicConv(c3_reduce, c3, 3))
        self.branch3 = nn.Sequential(BasicConv(in_channels, c5_reduce, 1),
                                     BasicConv(c5_reduce, c5, 5))
        self.branch4 = nn.Sequential(nn.MaxPool2d(3, 1, 1), BasicConv(in_channels, pool_proj, 1))

    def forward(self, x):
        return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)
''',
        "pool-branch-first-functional-relu": '''
import torch.nn.functional as F

class Inception(nn.Module):
    def __init__(self, in_channels, c1, c3_reduce, c3, c5_reduce, c5, pool_proj):
        super().__init__()
        self.pool_proj = nn.Conv2d(in_channels, pool_proj, 1)
        self.conv5 = nn.Conv2d(c5_reduce, c5, 5, padding=2)
        self.reduce5 = nn.Conv2d(in_channels, c5_reduce, 1)
        self.conv3 = nn.Conv2d(c3_reduce, c3, 3, padding=1)
        self.reduce3 = nn.Conv2d(in_channels, c3_reduce, 1)
        self.conv1 = nn.Conv2d(in_channels, c1, 1)

    def forward(self, x):
        pooled = F.relu(self.pool_proj(F.max_pool2d(x, 3, stride=1, padding=1)))
        five = F.relu(self.conv5(F.relu(self.reduce5(x))))
        three = F.relu(self.conv3(F.relu(self.reduce3(x))))
        one = F.relu(self.conv1(x))
        return torch.cat((one, three, five, pooled), dim=1)
''',
        "module-list": '''
class Inception(nn.Module):
    def __init__(self, in_channels, c1, c3_reduce, c3, c5_reduce, c5, pool_proj):
        super().__init__()
        def cr(c_in, c_out, k):
            return [nn.Conv2d(c_in, c_out, k, padding=(k - 1) // 2), nn.ReLU()]
        self.branches = nn.ModuleList([
            nn.Sequential(*cr(in_channels, c1, 1)),
            nn.Sequential(*cr(in_channels, c3_reduce, 1), *cr(c3_reduce, c3, 3)),
            nn.Sequential(*cr(in_channels, c5_reduce, 1), *cr(c5_reduce, c5, 5)),
            nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1), *cr(in_channels, pool_proj, 1)),
        ])

    def forward(self, x):
        return torch.cat([branch(x) for branch in self.branches], dim=1)
''',
    },
    ("global-average-pooling", "GAPHead"): {
        "sequential-inside": '''
class GAPHead(nn.Module):
    def __init__(self, in_channels, num_classes):
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(in_channels, num_classes, 1),
                                 nn.AdaptiveAvgPool2d(1), nn.Flatten())

    def forward(self, x):
        return self.net(x)
''',
        "functional-pool": '''
import torch.nn.functional as F

class GAPHead(nn.Module):
    def __init__(self, in_channels, num_classes):
        super().__init__()
        self.to_maps = nn.Conv2d(in_channels, num_classes, kernel_size=(1, 1), bias=True)

    def forward(self, x):
        return F.adaptive_avg_pool2d(self.to_maps(x), output_size=1).flatten(start_dim=1)
''',
        "flatten-then-mean": '''
class GAPHead(nn.Module):
    def __init__(self, in_channels, num_classes):
        super().__init__()
        self.layers = nn.ModuleDict({"score": nn.Conv2d(in_channels, num_classes, 1)})

    def forward(self, x):
        maps = self.layers["score"](x)
        return maps.flatten(2).mean(-1)  # (N, K, H*W) -> (N, K)
''',
    },
}
