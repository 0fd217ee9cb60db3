"""The diagrams write the numbers the cost tools and torch compute, and follow the models."""

import matplotlib
import pytest
import torch

from onebyone import cost, diagrams, models


def texts(diagram):
    """Every string drawn on the diagram's figure."""
    return "\n".join(t.get_text() for t in diagram.figure.findobj(matplotlib.text.Text))


def test_layers_of_reads_channels_shapes_and_costs_from_torch():
    """Each conv box: torch's channels and shapes, cost's multiplications per position (equal
    to the hooked count over the output positions)."""
    block = models.mlpconv(5, 7, kernel_size=3, padding=1, mid_channels=11)
    layers = diagrams.layers_of(block, (5, 9, 9))
    counted = cost.count_model(block, (5, 9, 9))
    assert [(layer.in_shape, layer.out_shape) for layer in layers] == [
        (c.in_shape, c.out_shape) for c in counted]
    for layer, c in zip(layers, counted):
        assert layer.mults == c.mults // (c.out_shape[1] * c.out_shape[2])
        assert layer.params == c.params
        assert layer.extras == ("ReLU",)


@pytest.mark.parametrize("widths", [(64, None, 128, None, 32, None), (64, 96, 128, 16, 32, 32),
                                    (10, 4, 6, 3, 5, 2)])
def test_inception_diagram_writes_every_branch_and_the_sum(widths):
    """Channels on every branch and their sum are the module's; a changed model redraws."""
    module = models.Inception(48, *widths)
    d = diagrams.inception_diagram({"m": module}, (48, 8, 8))
    drawn = texts(d)
    c1, c3r, c3, c5r, c5, proj = widths
    parts = [c1, c3, c5, 48 if proj is None else proj]
    summed = " + ".join(map(str, parts)) + f" = {module.out_channels}"
    assert summed in drawn and summed in d.alt
    assert module(torch.zeros(1, 48, 8, 8)).shape[1] == module.out_channels == sum(parts)
    for conv in (m for m in module.modules() if isinstance(m, torch.nn.Conv2d)):
        k = conv.kernel_size[0]
        per_position = cost.conv_mults(1, 1, conv.in_channels, conv.out_channels, k)
        assert f"{conv.in_channels} → {conv.out_channels} channels" in drawn
        assert f"{per_position:,} mult. per position" in drawn


def test_residual_diagram_totals_equal_the_hooked_counts():
    """The body total per output position equals torch-hooked multiplications over the output
    positions, for stride 1 and 2 and both bottleneck layouts; the shortcut's cost is shown."""
    blocks = {"basic": models.BasicBlock(64, 64),
              "bottleneck": models.Bottleneck(256, 64, 256),
              "v1.5": models.Bottleneck(256, 128, 512, stride=2),
              "v1": models.Bottleneck(256, 128, 512, stride=2, stride_on="1x1")}
    d = diagrams.residual_diagram(blocks, size=(14, 14))
    drawn = texts(d)
    for block in blocks.values():
        shape = (block.body[0].in_channels, 14, 14)
        out = block(torch.zeros(1, *shape))
        positions = out.shape[2] * out.shape[3]
        body = cost.total_mults(block.body, shape) // positions
        assert f"body: {body:,} mult. per output position" in drawn
        assert f"body total {body:,}" in d.alt
    shortcut = cost.conv_mults(1, 1, 256, 512, 1)
    assert f"{shortcut:,} mult." in drawn
    assert "identity" in drawn


def test_heads_diagram_writes_torch_parameter_counts():
    """Both heads' parameters as cost.total_params counts them; the GAP head's average is drawn
    as a step with no parameters."""
    fc, gap = models.ShapeNet(4, "fc", image_size=24), models.ShapeNet(4, "gap", image_size=24)
    d = diagrams.heads_diagram({"fc": fc.head, "gap": gap.head}, (32, 6, 6))
    drawn = texts(d)
    for head in (fc.head, gap.head):
        own = max(p.numel() for p in head.parameters() if p.dim() > 1)
        assert own + 4 == cost.total_params(head)
        assert f"{cost.total_params(head):,} parameters" in drawn
    assert "global average pool" in drawn and "4 × 6 × 6 → 4" in drawn


def test_network_diagram_shapes_are_torch_shapes():
    """NIN's boxes carry block_rows' output shapes and parameters."""
    net = models.nin_released()
    d = diagrams.network_diagram(net, (3, 224, 224))
    drawn = texts(d)
    for row in cost.block_rows(net, (3, 224, 224)):
        if row.kind in ("Dropout", "Flatten"):
            continue
        shape = " × ".join(map(str, row.out_shape))
        assert f"output {shape}, {row.params:,} parameters" in drawn
    assert "384→1024" in drawn


def test_snowball_follows_the_modules():
    """Channels after each module, read from torch: naive widths grow, real ones do not."""
    with torch.device("meta"):
        naive, real = models.googlenet(naive=True), models.googlenet()
    channels = diagrams.inception_channels(naive)
    assert list(channels) == [spec[0] for spec in models.GOOGLENET_INCEPTIONS]
    assert channels["5b"] == naive[-1].in_features
    assert list(channels.values()) == sorted(channels.values())
    assert diagrams.inception_channels(real)["3a"] == 256
    d = diagrams.snowball_diagram({"naive": naive, "real": real})
    assert f"{channels['5b']:,} after 5b" in d.alt


def test_figure_directive_keeps_alt_on_one_line():
    text = diagrams.figure_directive("k", "fig-k", "two\n lines", "A caption.")
    assert ":alt: two lines\n" in text and text.startswith(":::{glue:figure} k\n")


def test_png_is_an_image_of_the_figure():
    d = diagrams.stacks_diagram({"c": torch.nn.Conv2d(3, 4, 1)}, (3, 5, 5))
    assert d.png().startswith(b"\x89PNG")


def test_depthwise_and_grouped_convolutions_are_named_and_counted_as_torch_runs_them():
    """A depthwise layer (groups = in = out) and a grouped one are told apart in their boxes;
    their multiplications per position are the hooked counts over the output positions."""
    block = torch.nn.Sequential(torch.nn.Conv2d(8, 8, 3, 2, 1, groups=8),
                                torch.nn.Conv2d(8, 12, 1, groups=4),
                                torch.nn.Conv2d(12, 12, 1))
    layers = diagrams.layers_of(block, (8, 10, 10))
    assert [layer.title for layer in layers] == [
        "3×3 depthwise conv, stride 2", "1×1 conv, 4 groups", "1×1 conv"]
    for layer, c in zip(layers, cost.count_model(block, (8, 10, 10))):
        assert layer.mults == c.mults // (c.out_shape[1] * c.out_shape[2])


def test_inverted_residual_folds_relu6_and_marks_only_the_block_that_adds_its_input():
    keep = models.InvertedResidual(8, 8, stride=1, expansion=4)
    down = models.InvertedResidual(8, 16, stride=2, expansion=4)
    layers = diagrams.layers_of(keep, (8, 6, 6))
    assert [layer.extras for layer in layers] == [("BN", "ReLU6"), ("BN", "ReLU6"), ("BN",)]
    d = diagrams.stacks_diagram({"keeps": keep, "halves": down}, (8, 6, 6))
    keeps, halves = d.alt.split(" halves, ")
    assert "input is added" in keeps and "input is added" not in halves
    drawn = texts(d)
    assert drawn.count("(input added to the output)") == 1 and "ReLU6" in drawn
    assert keep.residual and not down.residual  # what the marks follow
