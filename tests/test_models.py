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


@pytest.mark.parametrize("naive, projections", [(False, True), (True, True), (False, False)])
def test_googlenet_total_is_the_sum_of_its_parts(naive, projections):
    """GoogLeNet, its naive variant and the one without pool projections: stem + modules +
    classifier, by formula."""
    total = (cost.conv_params(3, 64, 7, bias=True) + cost.conv_params(64, 64, 1, bias=True)
             + cost.conv_params(64, 192, 3, bias=True))
    channels = 192
    for _, c1, c3r, c3, c5r, c5, proj in models.GOOGLENET_INCEPTIONS:
        if naive:
            c3r = c5r = None
        if naive or not projections:
            proj = None
        total += cost.inception_params(channels, c1, c3r, c3, c5r, c5, proj)
        channels = c1 + c3 + c5 + (channels if proj is None else proj)
    total += cost.linear_params(channels, 1000)
    with torch.device("meta"):
        net = models.googlenet(naive=naive, pool_projections=projections)
    assert cost.total_params(net) == total


def test_googlenet_without_pool_projections_snowballs_at_a_fraction_of_the_cost():
    """The inception chapter's question 2: dropping only the pool projections gives the naive
    network's width (4944 channels) but about 2.3× GoogLeNet's parameters, not the naive 13.9×."""
    with torch.device("meta"):
        real, naive = models.googlenet(), models.googlenet(naive=True)
        no_proj = models.googlenet(pool_projections=False)
    assert no_proj[-1].in_features == naive[-1].in_features == 4944
    ratio = cost.total_params(no_proj) / cost.total_params(real)
    assert round(ratio, 1) == 2.3
    assert round(cost.total_params(naive) / cost.total_params(real), 1) == 13.9


def _reached_by_perturbation(body, size):
    """Which output columns change when one input column is raised, for each input column.
    Positive weights and biases keep every ReLU open, so nothing hides a dependence."""
    body = copy.deepcopy(body)
    with torch.no_grad():
        for p in body.parameters():
            p.copy_(p.abs() + 0.1)
        base = body(torch.zeros(1, 1, size, size))
        seen = {}
        for column in range(size):
            x = torch.zeros(1, 1, size, size)
            x[..., column] = 100.0
            changed = (body(x) != base).any(dim=(0, 1, 2))   # (1, C, h, w) -> (w,)
            for c in changed.nonzero().flatten().tolist():
                seen.setdefault(c, []).append(column)
    return [(min(cols), max(cols)) for _, cols in sorted(seen.items())]


@pytest.mark.parametrize("size", [24, 32])
def test_receptive_columns_are_what_each_output_column_depends_on(size):
    body = models.shape_features()
    assert models.receptive_columns(body, size) == _reached_by_perturbation(body, size)


def test_only_the_last_feature_column_never_sees_a_training_shape():
    """The GAP chapter's question 2: training shapes start in columns 0-5 and are 7 wide, so
    they end by pixel 11. Of the 6 feature-map columns of a 24-pixel image, only the last sees
    no part of any of them: 4 classes × 32 channels × 6 rows = 768 fully connected weights."""
    seen = models.receptive_columns(models.shape_features(), 24)
    last_pixel = 5 + 7 - 1
    assert [c for c, (first, _) in enumerate(seen) if first > last_pixel] == [5]
    assert [c for c, (first, _) in enumerate(seen) if 5 < first <= last_pixel] == [4]
    assert seen[2] == (1, 18)                       # an interior cell sees 18 pixels
    fc = models.ShapeNet(4, "fc", image_size=24).head[1]
    assert fc.weight.numel() // 6 == 768            # one column of the 6


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


# --- The sixth chapter's networks: counts against the papers and torchvision -------------------

def _separable_stack_params(first, layers):
    """Stem + separable layers with their batch norms; returns (total, last channels)."""
    total, channels = first, 32
    for out, _ in layers:
        total += (cost.separable_params(channels, out, 3) + cost.batch_norm_params(channels)
                  + cost.batch_norm_params(out))
        channels = out
    return total, channels


def test_mobilenet_v1_matches_the_formula_and_the_paper():
    """MobileNet v1: total = stem + 13 separable layers + classifier; 7×7×1024 before pooling;
    569M multiply-adds at 224 (Howard et al. 2017) and 4.2M weights without batch norm."""
    net = models.mobilenet_v1()
    stem = cost.conv_params(3, 32, 3) + cost.batch_norm_params(32)
    body, channels = _separable_stack_params(stem, models.MOBILENET_V1_LAYERS)
    assert cost.total_params(net) == body + cost.linear_params(channels, 1000)
    assert net[:-3](torch.zeros(1, 3, 224, 224)).shape == (1, 1024, 7, 7)
    assert round(cost.total_mults(net, (3, 224, 224)) / 1e6) == 569
    split = cost.cost_by_kind(net, (3, 224, 224))
    weights = sum(p for p, _ in split.values()) - 1000  # without the classifier's biases
    assert round(weights / 1e5) == 42
    # the paper's Table 2 shares of the weights, to two decimals
    assert round(100 * split["1×1 (pointwise)"][0] / weights, 2) == 74.59
    assert round(100 * (split["fully connected"][0] - 1000) / weights, 2) == 24.33


def test_mobilenet_v2_matches_torchvision():
    """torchvision's mobilenet_v2 documents 3,504,872 parameters; its weight metadata gives 0.301
    GFLOPS (multiply-adds); the paper 300M multiply-adds, the authors' slim README 3.47M
    parameters (the count without batch norm)."""
    net = models.mobilenet_v2()
    assert cost.total_params(net) == 3_504_872
    mults = cost.total_mults(net, (3, 224, 224))
    assert round(mults / 1e9, 3) == 0.301 and round(mults / 1e8) == 3
    blocks = [m for m in net if isinstance(m, models.InvertedResidual)]
    assert len(blocks) == sum(n for _, _, n, _ in models.MOBILENET_V2_STAGES) == 17
    assert sum(b.residual for b in blocks) == 10
    bn = sum(p.numel() for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d)
             for p in m.parameters())
    assert round((cost.total_params(net) - bn) / 1e6, 2) == 3.47


def test_inverted_residual_shapes_and_linear_projection():
    block = models.InvertedResidual(8, 8, 1, 6)
    assert block.residual and block(torch.zeros(2, 8, 5, 5)).shape == (2, 8, 5, 5)
    assert not isinstance(list(block.body[-1])[-1], (torch.nn.ReLU, torch.nn.ReLU6))
    strided = models.InvertedResidual(8, 16, 2, 6)
    assert not strided.residual and strided(torch.zeros(1, 8, 7, 7)).shape == (1, 16, 4, 4)
    assert len(models.InvertedResidual(8, 8, 1, 1).body) == 2  # no expansion layer


def test_depthwise_half_never_mixes_channels_and_pointwise_never_looks_around():
    layer = models.DepthwiseSeparable(4, 6).eval()
    x = torch.randn(1, 4, 6, 6)
    poked = x.clone()
    poked[0, 2] += 1.0  # change one channel only
    with torch.no_grad():
        changed = (layer.depthwise(poked) - layer.depthwise(x)).abs().sum(dim=(0, 2, 3))
        assert torch.count_nonzero(changed) == 1 and changed[2] > 0
        pixel = x.clone()
        pixel[0, :, 3, 3] += 1.0  # change one position only
        moved = (layer.pointwise(pixel) - layer.pointwise(x)).abs().sum(dim=(0, 1))
        assert torch.count_nonzero(moved) == 1 and moved[3, 3] > 0


def _groups_seen(channels, groups):
    """For each group of the layer after a shuffle, the set of groups of the layer before it that
    its channels come from."""
    order = models.channel_shuffle(torch.arange(float(channels)).reshape(1, -1, 1, 1), groups)
    size = channels // groups
    old_group = (order.flatten() // size).long().tolist()  # old group of each shuffled channel
    return [set(old_group[g * size:(g + 1) * size]) for g in range(groups)]


def test_channel_shuffle_reaches_every_group_only_when_groups_are_wide_enough():
    """Each new group sees every old group when a group holds at least `groups` channels
    (ShuffleNet's 3 groups of 4 in the chapter; 2 of 3), but not with 4 groups of 2."""
    assert all(seen == {0, 1, 2} for seen in _groups_seen(12, 3))
    assert _groups_seen(6, 2) == [{0, 1}, {0, 1}]        # 0 3 1 | 4 2 5: not one from each
    assert _groups_seen(8, 4) == [{0, 1}, {2, 3}, {0, 1}, {2, 3}]  # 0 2 | 4 6 | 1 3 | 5 7


def test_channel_shuffle_and_channel_matrix():
    x = torch.arange(6.0).reshape(1, 6, 1, 1)
    assert models.channel_shuffle(x, 2).flatten().tolist() == [0, 3, 1, 4, 2, 5]
    assert models.channel_shuffle(models.channel_shuffle(x, 2), 3).equal(x)  # 2 then 3 undoes
    with pytest.raises(ValueError):
        models.channel_shuffle(x, 4)
    conv = torch.nn.Conv2d(6, 4, 1, groups=2, bias=False)
    dense = models.channel_matrix(conv)
    y = torch.randn(2, 6, 3, 3)
    assert torch.allclose(conv(y), torch.einsum("oc,nchw->nohw", dense, y), atol=1e-6)
    assert torch.count_nonzero(dense[:2, 3:]) == 0 and torch.count_nonzero(dense[2:, :3]) == 0


def test_squeezenet_matches_the_paper_and_torchvision():
    """SqueezeNet v1.0: 1,248,424 parameters (Iandola et al. 2016, Table 1; torchvision), 0.819
    GFLOPS in torchvision's weight metadata; 13×13×512 before conv10."""
    net = models.squeezenet()
    assert cost.total_params(net) == 1_248_424
    assert round(cost.total_mults(net, (3, 224, 224)) / 1e9, 3) == 0.819
    assert net[:-1](torch.zeros(1, 3, 224, 224)).shape == (1, 512, 13, 13)
    fire = models.Fire(96, 16, 64, 64)
    assert fire(torch.zeros(1, 96, 5, 5)).shape == (1, 128, 5, 5)


def test_squeezenet_at_227_as_the_released_caffe_file():
    """The authors' Caffe file crops 227×227 (conv1 gives the paper's 111×111) and pads conv10 by
    1: a 15×15 map where torchvision's has 13×13, i.e. (15² − 13²)·512·1000 more multiplications."""
    net = models.squeezenet()
    assert net[0](torch.zeros(1, 3, 227, 227)).shape[-1] == 111
    assert net[0](torch.zeros(1, 3, 224, 224)).shape[-1] == 109
    at_227 = cost.total_mults(net, (3, 227, 227))
    net[-1][1].padding = (1, 1)
    padded = cost.total_mults(net, (3, 227, 227))
    assert padded - at_227 == (15 * 15 - 13 * 13) * 512 * 1000
    assert round(padded / 1e9, 3) == 0.861 and round(at_227 / 1e9, 3) == 0.833


def test_squeeze_excitation_is_two_linear_layers_on_pooled_channels():
    se = models.SqueezeExcitation(32, reduction=8)
    x = torch.randn(2, 32, 4, 4)
    fc1, fc2 = torch.nn.Linear(32, 4), torch.nn.Linear(4, 32)
    with torch.no_grad():
        se.reduce.load_state_dict(models.linear_as_conv1x1(fc1).state_dict())
        se.expand.load_state_dict(models.linear_as_conv1x1(fc2).state_dict())
        scale = torch.sigmoid(fc2(torch.relu(fc1(x.mean(dim=(2, 3))))))   # (N, C)
        assert torch.allclose(se(x), x * scale[:, :, None, None], atol=1e-6)


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
