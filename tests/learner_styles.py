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
}
