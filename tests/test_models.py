"""The reference networks against closed-form counts from onebyone.cost, and their shapes."""

import copy

import pytest
import torch

from onebyone import cost, models


def test_alexnet_params_match_the_layer_by_layer_formula():
    """AlexNet's count, with and without the two-GPU split, is the sum of its layers' formulas."""
    for groups in (1, 2):
        convs = (cost.conv_params(3, 96, 11, bias=True)
                 + cost.conv_params(96, 256, 5, bias=True, groups=groups)
                 + cost.conv_params(256, 384, 3, bias=True)
                 + cost.conv_params(384, 384, 3, bias=True, groups=groups)
                 + cost.conv_params(384, 256, 3, bias=True, groups=groups))
        fcs = (cost.linear_params(256 * 6 * 6, 4096) + cost.linear_params(4096, 4096)
               + cost.linear_params(4096, 1000))
        assert cost.total_params(models.alexnet(groups=groups)) == convs + fcs


def test_alexnet_output_shape_and_depth():
    """A 227×227 image gives 1000 scores; 5 convolutions + 3 linear layers make 8."""
    net = models.alexnet()
    rows = cost.layer_rows(net, (3, 227, 227))
    assert rows[-1].out_shape == (1000,)
    assert [r.out_shape for r in rows if r.kind == "Flatten"] == [(256 * 6 * 6,)]
    assert cost.weight_depth(net) == 8


@pytest.mark.parametrize("spec", models.GOOGLENET_INCEPTIONS, ids=lambda s: s[0])
def test_inception_modules_match_the_formula(spec):
    """Each GoogLeNet module: torch's count = cost.inception_params; channels add up."""
    name, c1, c3r, c3, c5r, c5, proj = spec
    c_in = 256  # any input width: the formula and the module must agree
    module = models.Inception(c_in, c1, c3r, c3, c5r, c5, proj)
    assert cost.total_params(module) == cost.inception_params(c_in, c1, c3r, c3, c5r, c5, proj)
    out = module(torch.zeros(1, c_in, 7, 7))
    assert out.shape == (1, c1 + c3 + c5 + proj, 7, 7)
    assert cost.total_mults(module, (c_in, 7, 7)) == cost.inception_mults(
        7, 7, c_in, c1, c3r, c3, c5r, c5, proj)


def test_naive_inception_passes_the_pool_branch_through():
    """Without a pool projection the pool branch keeps all input channels: 64+128+32+192."""
    module = models.Inception(192, 64, None, 128, None, 32, None)
    assert module(torch.zeros(1, 192, 28, 28)).shape == (1, 416, 28, 28)
    assert cost.total_params(module) == cost.inception_params(192, 64, None, 128, None, 32, None)


@pytest.mark.parametrize("naive", [False, True])
def test_googlenet_total_is_the_sum_of_its_parts(naive):
    """GoogLeNet (and its naive variant): stem + modules + classifier, by formula."""
    total = (cost.conv_params(3, 64, 7, bias=True) + cost.conv_params(64, 64, 1, bias=True)
             + cost.conv_params(64, 192, 3, bias=True))
    channels = 192
    for _, c1, c3r, c3, c5r, c5, proj in models.GOOGLENET_INCEPTIONS:
        if naive:
            c3r = c5r = proj = None
        total += cost.inception_params(channels, c1, c3r, c3, c5r, c5, proj)
        channels = c1 + c3 + c5 + (channels if proj is None else proj)
    total += cost.linear_params(channels, 1000)
    assert cost.total_params(models.googlenet(naive=naive)) == total


def test_googlenet_shapes_and_depth():
    """224×224 -> 28×28×192 before 3a, 7×7×1024 after 5b, 1000 scores; 22 layers deep."""
    net = models.googlenet()
    rows = cost.layer_rows(net, (3, 224, 224))
    pools = [r.out_shape for r in rows if r.kind == "MaxPool2d" and r.name.count(".") == 0]
    assert pools == [(64, 56, 56), (192, 28, 28), (480, 14, 14), (832, 7, 7)]
    assert rows[-1].out_shape == (1000,)
    assert cost.weight_depth(net) == 22


def test_nin_table_adds_up():
    """NIN's layer table: its parameters sum to the model's; the last map is one per class."""
    net = models.nin(num_classes=10)
    rows = cost.layer_rows(net, (3, 224, 224))
    assert sum(r.params for r in rows) == cost.total_params(net)
    assert rows[-1].out_shape == (10,)
    assert cost.weight_depth(net) == 12  # four mlpconv blocks of three layers


def test_resnet_blocks_match_the_formula():
    """Basic and bottleneck blocks, with identity and projection shortcuts."""
    for c_in, c_out, stride in [(64, 64, 1), (64, 128, 2)]:
        block = models.BasicBlock(c_in, c_out, stride)
        assert cost.total_params(block) == cost.basic_block_params(c_in, c_out, stride)
    for c_in, mid, c_out, stride in [(256, 64, 256, 1), (64, 64, 256, 1), (256, 128, 512, 2)]:
        block = models.Bottleneck(c_in, mid, c_out, stride)
        assert cost.total_params(block) == cost.bottleneck_params(c_in, mid, c_out, stride)
        out = block(torch.zeros(1, c_in, 8, 8))
        assert out.shape == (1, c_out, 8 // stride, 8 // stride)
    assert isinstance(models.Bottleneck(256, 64, 256).shortcut, torch.nn.Identity)
    assert not isinstance(models.Bottleneck(64, 64, 256).shortcut, torch.nn.Identity)


def _resnet_formula(depth):
    """ResNet's parameters by the closed forms: stem, every block, classifier."""
    kind, counts = models.RESNET_STAGES[depth]
    total = cost.conv_params(3, 64, 7) + cost.batch_norm_params(64)
    channels = 64
    for stage, count in enumerate(counts):
        width = 64 * 2 ** stage
        for index in range(count):
            stride = 2 if stage > 0 and index == 0 else 1
            if kind == "basic":
                total += cost.basic_block_params(channels, width, stride)
                channels = width
            else:
                total += cost.bottleneck_params(channels, width, 4 * width, stride)
                channels = 4 * width
    return total + cost.linear_params(channels, 1000)


@pytest.mark.parametrize("depth", sorted(models.RESNET_STAGES))
def test_resnet_totals_and_depth(depth):
    """Every ResNet depth: total = closed form, and its name is its weight depth."""
    net = models.resnet(depth)
    assert cost.total_params(net) == _resnet_formula(depth)
    assert cost.weight_depth(net) == depth


def test_resnet50_output_shape():
    """A small image still gives one score per class (the average pool adapts)."""
    assert models.resnet(50, num_classes=7)(torch.zeros(2, 3, 64, 64)).shape == (2, 7)


def test_resnet_rejects_unknown_depth():
    with pytest.raises(ValueError, match="known depths"):
        models.resnet(42)


def test_shape_nets():
    """The experiment's nets: the same body, a head with and without position-specific weights."""
    gap, fc = models.ShapeNet(4, "gap"), models.ShapeNet(4, "fc")
    x = torch.zeros(3, 1, 32, 32)
    assert gap(x).shape == fc(x).shape == (3, 4)
    assert gap.class_maps(x).shape == (3, 4, 8, 8)
    body = cost.total_params(gap.features)
    assert cost.total_params(gap) - body == cost.conv_params(32, 4, 1, bias=True)
    assert cost.total_params(fc) - body == cost.linear_params(32 * 8 * 8, 4)
    with pytest.raises(TypeError):
        fc.class_maps(x)
    with pytest.raises(ValueError):
        models.ShapeNet(4, "mlp")


def test_float32_megabytes():
    """Four bytes per number; MB and MiB differ by 1.048576."""
    mb, mib = cost.float32_megabytes(2**18)
    assert mib == 1.0 and mb == pytest.approx(1.048576)


@pytest.mark.parametrize("make, shape", [(lambda: models.googlenet(), (3, 224, 224)),
                                         (lambda: models.resnet(18), (3, 64, 64))])
def test_block_rows_and_kinds_account_for_every_parameter(make, shape):
    """Per-block rows and per-kind sums both add up to the model's total."""
    net = make()
    total = cost.total_params(net)
    assert sum(r.params for r in cost.block_rows(net, shape)) == total
    assert sum(cost.params_by_kind(net).values()) == total


def test_nin_released_is_the_caffe_model_zoo_layout():
    """The authors' released ImageNet NIN: the layer-by-layer formula, Caffe's map sizes, and
    only its last block differs from the compact `nin`."""
    layers = [(3, 96, 11), (96, 96, 1), (96, 96, 1), (96, 256, 5), (256, 256, 1), (256, 256, 1),
              (256, 384, 3), (384, 384, 1), (384, 384, 1), (384, 1024, 3), (1024, 1024, 1),
              (1024, 1000, 1)]
    net = models.nin_released()
    assert cost.total_params(net) == sum(cost.conv_params(i, o, k, bias=True)
                                         for i, o, k in layers)
    pooled = [r.out_shape for r in cost.block_rows(net, (3, 224, 224)) if r.kind == "MaxPool2d"]
    assert pooled == [(96, 27, 27), (256, 13, 13), (384, 6, 6)]  # Caffe rounds up
    assert cost.weight_depth(net) == 12
    compact = models.nin()
    first_three = slice(0, 6)
    assert cost.total_params(net[first_three]) == cost.total_params(compact[first_three])


def test_mlpconv_mid_channels():
    """The micro network's hidden width can differ from the block's output width."""
    block = models.mlpconv(8, 5, kernel_size=3, mid_channels=16)
    assert [m.out_channels for m in block if isinstance(m, torch.nn.Conv2d)] == [16, 16, 5]
    assert block(torch.zeros(1, 8, 6, 6)).shape == (1, 5, 4, 4)


def test_bottleneck_v1_layout_moves_only_the_stride():
    """stride_on="1x1" (the paper's models) = the v1.5 block with the stride moved, same weights."""
    torch.manual_seed(0)
    v15 = models.Bottleneck(16, 8, 32, stride=2).eval()
    v1 = models.Bottleneck(16, 8, 32, stride=2, stride_on="1x1").eval()
    v1.load_state_dict(v15.state_dict())
    assert v1.body[0].stride == (2, 2) and v1.body[3].stride == (1, 1)
    moved = copy.deepcopy(v15)
    moved.body[0].stride, moved.body[3].stride = (2, 2), (1, 1)
    x = torch.randn(2, 16, 9, 9)
    with torch.no_grad():
        assert torch.equal(v1(x), moved(x))
        assert v1(x).shape == v15(x).shape == (2, 32, 5, 5)
    with pytest.raises(ValueError, match="stride_on"):
        models.Bottleneck(16, 8, 32, stride_on="3×3")


@pytest.mark.parametrize("depth", sorted(models.RESNET_STAGES))
def test_resnet_layouts_share_weights_and_differ_in_cost_only_with_bottlenecks(depth):
    """v1 and v1.5 have the same parameters; only bottleneck networks differ in multiplications,
    and v1 (stride on the 1×1) is the cheaper: its 3×3 runs on the smaller map."""
    with torch.device("meta"):
        v1, v15 = models.resnet(depth, layout="v1"), models.resnet(depth, layout="v1.5")
    assert cost.total_params(v1) == cost.total_params(v15)
    m1, m15 = cost.total_mults(v1, (3, 224, 224)), cost.total_mults(v15, (3, 224, 224))
    if models.RESNET_STAGES[depth][0] == "basic":
        assert m1 == m15
    else:
        assert m1 < m15
    with pytest.raises(ValueError, match="layout"):
        models.resnet(depth, layout="v2")


def test_counting_on_meta_equals_counting_on_cpu():
    """A model built on "meta" (no weights) gives the same layer costs as a real one."""
    with torch.device("meta"):
        meta = models.resnet(18)
    assert cost.count_model(meta, (3, 64, 64)) == cost.count_model(models.resnet(18),
                                                                   (3, 64, 64))


def test_additions_against_multiplications_and_torch_flop_counter():
    """A dot product of n terms takes n multiplications and n - 1 additions (n with a bias);
    torch's FLOP counter counts 2 per multiply-add, one addition more per output than exact."""
    from torch.utils.flop_counter import FlopCounterMode

    h = w = 7
    mults = cost.conv_mults(h, w, 12, 5, 3)
    assert cost.conv_adds(h, w, 12, 5, 3, bias=True) == mults
    assert cost.conv_adds(h, w, 12, 5, 3) == mults - h * w * 5
    conv = torch.nn.Conv2d(12, 5, 3, padding=1, bias=False)
    with FlopCounterMode(display=False) as counter:
        conv(torch.zeros(1, 12, h, w))
    assert counter.get_total_flops() == 2 * mults


# --- The real-digits experiments -----------------------------------------------------------------

def test_gap_head_params_two_ways():
    """The GAP head of the digits experiment: counted from the module, and by the formula of a
    1×1 convolution with bias (16 maps -> 10 classes: 16·10 weights + 10 biases)."""
    head = models.ShapeNet(10, "gap", image_size=24, width=16).head
    assert cost.total_params(head) == cost.conv_params(16, 10, 1, bias=True) == 16 * 10 + 10


def test_fc_head_params_two_ways():
    """The flatten + fully connected head: 16 maps of 6×6 after two 2×2 pools of 24×24."""
    head = models.ShapeNet(10, "fc", image_size=24, width=16).head
    assert cost.total_params(head) == cost.linear_params(16 * 6 * 6, 10) == 16 * 36 * 10 + 10


def test_plain_block_is_the_basic_block_without_the_addition():
    """Same layers and weights; the output is ReLU(body(x)) against ReLU(body(x) + x)."""
    torch.manual_seed(0)
    plain = models.PlainBlock(6)
    residual = models.BasicBlock(6, 6)
    residual.load_state_dict(plain.state_dict())  # the same keys: the shortcut has no weights
    x = torch.randn(2, 6, 5, 5)
    with torch.no_grad():
        body = plain.body(x)
        assert torch.equal(plain(x), torch.relu(body))
        assert torch.equal(residual(x), torch.relu(body + x))
        assert not torch.equal(plain(x), residual(x))


@pytest.mark.parametrize("blocks", [1, 3, 9])
def test_stacked_nets_depth_params_and_twins(blocks):
    """2·blocks + 2 layers with weights; plain and residual twins have the same parameters and,
    built from the same seed, the same initial weights; (N, 1, 8, 8) -> (N, 10)."""
    nets = []
    for residual in (False, True):
        torch.manual_seed(3)
        nets.append(models.stacked_net(blocks, residual, width=8))
    plain, residual = nets
    for net in nets:
        assert cost.weight_depth(net) == 2 * blocks + 2
        assert net(torch.zeros(2, 1, 8, 8)).shape == (2, 10)
    per_block = 2 * (cost.conv_params(8, 8, 3) + cost.batch_norm_params(8))
    stem = cost.conv_params(1, 8, 3) + cost.batch_norm_params(8)
    expected = stem + blocks * per_block + cost.linear_params(8, 10)
    assert cost.total_params(plain) == cost.total_params(residual) == expected
    for a, b in zip(plain.state_dict().values(), residual.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    assert sum(isinstance(m, models.PlainBlock) for m in plain.modules()) == blocks
    assert not any(isinstance(m, models.PlainBlock) for m in residual.modules())
