"""Correct answers to the module items written in other common styles than the solutions'.

Each is the source of a solution cell (what a student would type), keyed by assignment and cell;
tests/test_checks_styles.py runs them through the checks in this process and through
`onebyone grade`, and every one must earn full marks.
"""

STYLES = {
    ("resnet-bottleneck", "PreActBottleneck"): {
        "attributes-projection-first": '''
class PreActBottleneck(nn.Module):
    def __init__(self, in_channels, mid_channels, out_channels, stride=1):
        super().__init__()
        self.shortcut = None
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False)
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.conv1 = nn.Conv2d(in_channels, mid_channels, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(mid_channels)
        self.conv2 = nn.Conv2d(mid_channels, mid_channels, 3, stride, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(mid_channels)
        self.conv3 = nn.Conv2d(mid_channels, out_channels, 1, bias=False)

    def forward(self, x):
        out = torch.relu(self.bn1(x))
        shortcut = self.shortcut(out) if self.shortcut is not None else x
        out = self.conv1(out)
        out = self.conv2(torch.relu(self.bn2(out)))
        out = self.conv3(torch.relu(self.bn3(out)))
        return out + shortcut
''',
        "functional-relu-norms-in-a-list": '''
import torch.nn.functional as F

class PreActBottleneck(nn.Module):
    def __init__(self, in_channels, mid_channels, out_channels, stride=1):
        super().__init__()
        self.norms = nn.ModuleList([nn.BatchNorm2d(in_channels), nn.BatchNorm2d(mid_channels),
                                    nn.BatchNorm2d(mid_channels)])
        self.convs = nn.ModuleList([
            nn.Conv2d(in_channels, mid_channels, kernel_size=1, bias=False),
            nn.Conv2d(mid_channels, mid_channels, kernel_size=3, stride=stride, padding=1,
                      bias=False),
            nn.Conv2d(mid_channels, out_channels, kernel_size=1, bias=False)])
        self.project = (nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False)
                        if stride != 1 or in_channels != out_channels else nn.Identity())
        self.identity = stride == 1 and in_channels == out_channels

    def forward(self, x):
        pre = F.relu(self.norms[0](x))
        shortcut = x if self.identity else self.project(pre)
        out = self.convs[0](pre)
        for norm, conv in zip(self.norms[1:], self.convs[1:]):
            out = conv(F.relu(norm(out)))
        return out + shortcut
''',
        "in-place-relu-sequential-body": '''
class PreActBottleneck(nn.Module):
    def __init__(self, in_channels, mid_channels, out_channels, stride=1):
        super().__init__()
        self.preact = nn.Sequential(nn.BatchNorm2d(in_channels), nn.ReLU(inplace=True))
        self.residual = nn.Sequential(
            nn.Conv2d(in_channels, mid_channels, 1, bias=False),
            nn.BatchNorm2d(mid_channels), nn.ReLU(inplace=True),
            nn.Conv2d(mid_channels, mid_channels, 3, stride=stride, padding=1, bias=False),
            nn.BatchNorm2d(mid_channels), nn.ReLU(inplace=True),
            nn.Conv2d(mid_channels, out_channels, 1, bias=False))
        self.needs_projection = stride != 1 or in_channels != out_channels
        if self.needs_projection:
            self.downsample = nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False)

    def forward(self, x):
        pre = self.preact(x.clone())
        shortcut = self.downsample(pre) if self.needs_projection else x
        return self.residual(pre) + shortcut
''',
    },
    ("inception-cost", "Inception"): {
        "flat-attributes-pool-first": '''
class Inception(nn.Module):
    def __init__(self, in_channels, c1, c3_reduce, c3, c5_reduce, c5, pool_proj):
        super().__init__()
        self.pool = nn.MaxPool2d(kernel_size=3, stride=1, padding=1)
        self.pool_conv = nn.Conv2d(in_channels, pool_proj, kernel_size=1)
        self.b1 = nn.Conv2d(in_channels, c1, kernel_size=1)
        self.b3a = nn.Conv2d(in_channels, c3_reduce, kernel_size=1)
        self.b3b = nn.Conv2d(c3_reduce, c3, kernel_size=3, padding=1)
        self.b5a = nn.Conv2d(in_channels, c5_reduce, kernel_size=1)
        self.b5b = nn.Conv2d(c5_reduce, c5, kernel_size=3, padding=1)
        self.b5c = nn.Conv2d(c5, c5, kernel_size=3, padding=1)

    def forward(self, x):
        relu = torch.relu
        one = relu(self.b1(x))
        three = relu(self.b3b(relu(self.b3a(x))))
        five = relu(self.b5c(relu(self.b5b(relu(self.b5a(x))))))
        pool = relu(self.pool_conv(self.pool(x)))
        return torch.cat([one, three, five, pool], dim=1)
''',
        "module-list-of-branches": '''
def branch(*layers):
    out = []
    for layer in layers:
        out += [layer, nn.ReLU(inplace=True)] if isinstance(layer, nn.Conv2d) else [layer]
    return nn.Sequential(*out)

class Inception(nn.Module):
    def __init__(self, in_channels, c1, c3_reduce, c3, c5_reduce, c5, pool_proj):
        super().__init__()
        self.branches = nn.ModuleList([
            branch(nn.Conv2d(in_channels, c1, 1)),
            branch(nn.Conv2d(in_channels, c3_reduce, 1), nn.Conv2d(c3_reduce, c3, 3, padding=1)),
            branch(nn.Conv2d(in_channels, c5_reduce, 1), nn.Conv2d(c5_reduce, c5, 3, padding=1),
                   nn.Conv2d(c5, c5, 3, padding=1)),
            branch(nn.MaxPool2d(3, 1, 1), nn.Conv2d(in_channels, pool_proj, 1)),
        ])

    def forward(self, x):
        return torch.cat([b(x) for b in self.branches], 1)
''',
        "functional-pool-and-relu": '''
import torch.nn.functional as F

class Inception(nn.Module):
    def __init__(self, in_channels, c1, c3_reduce, c3, c5_reduce, c5, pool_proj):
        super().__init__()
        self.reduce5 = nn.Conv2d(in_channels, c5_reduce, 1)
        self.reduce3 = nn.Conv2d(in_channels, c3_reduce, 1)
        self.direct = nn.Conv2d(in_channels, c1, 1)
        self.conv5_first = nn.Conv2d(c5_reduce, c5, 3, padding=1)
        self.conv5_second = nn.Conv2d(c5, c5, 3, padding=1)
        self.conv3 = nn.Conv2d(c3_reduce, c3, 3, padding=1)
        self.project = nn.Conv2d(in_channels, pool_proj, 1)

    def forward(self, x):
        five = F.relu(self.conv5_second(F.relu(self.conv5_first(F.relu(self.reduce5(x))))))
        three = F.relu(self.conv3(F.relu(self.reduce3(x))))
        pooled = F.relu(self.project(F.max_pool2d(x, 3, stride=1, padding=1)))
        return torch.cat((F.relu(self.direct(x)), three, five, pooled), dim=1)
''',
    },
    ("pointwise-today", "ShuffleUnit"): {
        "functional-shuffle-with-permute": '''
import torch.nn.functional as F

def shuffle(x, groups):
    n, c, h, w = x.shape
    return x.reshape(n, groups, c // groups, h, w).permute(0, 2, 1, 3, 4).reshape(n, c, h, w)

class ShuffleUnit(nn.Module):
    def __init__(self, channels, mid_channels, groups):
        super().__init__()
        self.groups = groups
        self.conv1 = nn.Conv2d(channels, mid_channels, 1, groups=groups, bias=False)
        self.bn1 = nn.BatchNorm2d(mid_channels)
        self.conv2 = nn.Conv2d(mid_channels, mid_channels, 3, padding=1, groups=mid_channels,
                               bias=False)
        self.bn2 = nn.BatchNorm2d(mid_channels)
        self.conv3 = nn.Conv2d(mid_channels, channels, 1, groups=groups, bias=False)
        self.bn3 = nn.BatchNorm2d(channels)

    def forward(self, x):
        out = shuffle(F.relu(self.bn1(self.conv1(x))), self.groups)
        out = self.bn3(self.conv3(self.bn2(self.conv2(out))))
        return F.relu(out + x)
''',
        "shuffle-as-a-module-in-sequential": '''
class Shuffle(nn.Module):
    def __init__(self, groups):
        super().__init__()
        self.groups = groups

    def forward(self, x):
        n, c, h, w = x.shape
        return x.view(n, self.groups, -1, h, w).transpose(1, 2).flatten(1, 2)

class ShuffleUnit(nn.Module):
    def __init__(self, channels, mid_channels, groups):
        super().__init__()
        self.branch = nn.Sequential(
            nn.Conv2d(channels, mid_channels, 1, groups=groups, bias=False),
            nn.BatchNorm2d(mid_channels), nn.ReLU(inplace=True), Shuffle(groups),
            nn.Conv2d(mid_channels, mid_channels, 3, 1, 1, groups=mid_channels, bias=False),
            nn.BatchNorm2d(mid_channels),
            nn.Conv2d(mid_channels, channels, 1, groups=groups, bias=False),
            nn.BatchNorm2d(channels))

    def forward(self, x):
        return torch.relu(x + self.branch(x))
''',
        "channel-index-shuffle": '''
class ShuffleUnit(nn.Module):
    def __init__(self, channels, mid_channels, groups):
        super().__init__()
        per = mid_channels // groups
        self.order = [b * per + j for j in range(per) for b in range(groups)]
        self.gconv1 = nn.Conv2d(channels, mid_channels, 1, groups=groups, bias=False)
        self.norm1 = nn.BatchNorm2d(mid_channels)
        self.dwconv = nn.Conv2d(mid_channels, mid_channels, 3, padding=1, groups=mid_channels,
                                bias=False)
        self.norm2 = nn.BatchNorm2d(mid_channels)
        self.gconv2 = nn.Conv2d(mid_channels, channels, 1, groups=groups, bias=False)
        self.norm3 = nn.BatchNorm2d(channels)

    def forward(self, x):
        y = torch.relu(self.norm1(self.gconv1(x)))[:, self.order]
        y = self.norm3(self.gconv2(self.norm2(self.dwconv(y))))
        return torch.relu(y + x)
''',
    },
}
