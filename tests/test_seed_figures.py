"""The source notes' figures against the helper package: the ones that hold are reproduced, the
ones the chapters mark as errata are confirmed wrong (so an erratum cannot outlive its cause)."""

import torch

from onebyone import cost, models

H = W = 28
C_IN = 192


def test_five_by_five_branch_costs():
    """Lecture notes: 120,422,400 directly; ~2.4M + ~10M with a 16-channel bottleneck."""
    direct = cost.conv_mults(H, W, C_IN, 32, 5)
    reduce, conv5 = cost.conv_mults(H, W, C_IN, 16, 1), cost.conv_mults(H, W, 16, 32, 5)
    assert direct == 120_422_400
    assert round(reduce / 1e5) == 24 and round(conv5 / 1e6) == 10
    assert round(direct / (reduce + conv5)) == 10                  # "one tenth": holds
    assert round((reduce + conv5) / 1e4) == 1244 != 1204            # "1204万": erratum


def test_inception_3a_weights_and_channels():
    """387,072 and 157,184 weights; 416 and 256 output maps; not "nearly 4 times" in 3a."""
    arms = dict(c1=64, c3=128, c5=32)
    naive = cost.inception_params(C_IN, **arms, c3_reduce=None, c5_reduce=None, pool_proj=None,
                                  bias=False)
    reduced = cost.inception_params(C_IN, **arms, c3_reduce=96, c5_reduce=16, pool_proj=None,
                                    bias=False)
    full = cost.inception_params(C_IN, **arms, c3_reduce=96, c5_reduce=16, pool_proj=32,
                                 bias=False)
    assert (naive, reduced) == (387_072, 157_184)
    assert full == reduced + C_IN * 32 != 157_184                   # pool projection left out
    assert naive / full < 3                                         # 3a: not "nearly 4"
    assert models.Inception(C_IN, **arms, c3_reduce=None, c5_reduce=None,
                            pool_proj=None).out_channels == 416      # not 256 (lecture notes)
    assert models.Inception(C_IN, **arms, c3_reduce=96, c5_reduce=16,
                            pool_proj=32).out_channels == 256


def test_nearly_four_times_holds_over_googlenets_modules():
    """"Overall, nearly 4 times fewer convolution parameters": each of the nine modules against
    its naive counterpart on the same input. 3a and 3b save under 3×, every later module 3.5× to
    5.1×, and summed over the nine the saving rounds to 4 (the chapter's dropdown and summary)."""
    table = cost.googlenet_module_weights()
    ratio = {name: naive / real for name, (naive, real) in table.items()}
    assert ratio["3a"] < 3 and ratio["3b"] < 3
    later = [r for name, r in ratio.items() if name[0] != "3"]
    assert len(later) == 7 and 3.5 < min(later) and max(later) < 5.1
    overall = sum(n for n, _ in table.values()) / sum(r for _, r in table.values())
    assert round(overall) == 4 and overall > 4                      # "nearly 4": holds
    with torch.device("meta"):                                      # the snowball is more
        snowball = (cost.total_params(models.googlenet(naive=True))
                    / cost.total_params(models.googlenet()))
    assert round(snowball) == 14


def test_resnet_ratios():
    """589,824 and 69,632 per position; 8.5× (one 3×3 layer) and 16.94× (basic block) both hold."""
    one = cost.conv_params(256, 256, 3)
    bottleneck = (cost.conv_params(256, 64, 1) + cost.conv_params(64, 64, 3)
                  + cost.conv_params(64, 256, 1))
    assert (one, bottleneck) == (589_824, 69_632)
    assert round(one / bottleneck, 1) == 8.5
    assert round(2 * one / bottleneck, 2) == 16.94
    assert cost.conv_params(64, 256, 1) == 64 * 256


def test_model_sizes_are_megabytes():
    """AlexNet "230M" and NIN "29M" are float32 megabytes, not parameter counts."""
    with torch.device("meta"):
        alex, nin = cost.total_params(models.alexnet()), cost.total_params(models.nin())
    assert abs(cost.float32_megabytes(alex)[1] / 230 - 1) < 0.02    # MiB
    assert abs(cost.float32_megabytes(nin)[0] / 29 - 1) < 0.03      # MB
    assert alex < 230e6 / 3 and nin < 29e6 / 3                      # not 230M / 29M parameters


def test_googlenet_is_not_a_twelfth_of_alexnet():
    """"1/12 of AlexNet's parameters": the counts give about 1/9."""
    with torch.device("meta"):
        ratio = cost.total_params(models.alexnet()) / cost.total_params(models.googlenet())
    assert round(ratio) == 9                                        # not 12


def test_nin_sizes_are_those_of_the_released_model_in_mib():
    """The model zoo page of the authors' ImageNet NIN: "29MB", AlexNet "about 230MB", "one
    eighth the size". Its weights as float32 take 29 MiB to two digits; AlexNet's 230 MiB."""
    with torch.device("meta"):
        alex = cost.total_params(models.alexnet())
        released = cost.total_params(models.nin_released())
    assert round(cost.float32_megabytes(released)[1]) == 29              # MiB
    assert round(cost.float32_megabytes(released)[0]) == 30              # not 29 in MB
    assert round(cost.float32_megabytes(alex)[1], -1) == 230             # MiB, to 2 digits
    assert round(alex / released) == 8                                  # "one eighth"


# ResNet paper, Table 1: "FLOPs" (multiply-adds) of ResNet-18/34/50/101/152, in billions.
RESNET_TABLE1_GFLOPS = {18: 1.8, 34: 3.6, 50: 3.8, 101: 7.6, 152: 11.3}


def test_resnet_table1_flops_need_the_v1_layout():
    """With the stride on the first 1×1 (v1), every figure of Table 1 is met within 2%; with
    torchvision's v1.5 layout ResNet-50 costs over 5% more than the paper says."""
    for depth, paper in RESNET_TABLE1_GFLOPS.items():
        with torch.device("meta"):
            v1 = cost.total_mults(models.resnet(depth, layout="v1"), (3, 224, 224))
        assert abs(v1 / 1e9 / paper - 1) < 0.02, depth
    with torch.device("meta"):
        v15 = cost.total_mults(models.resnet(50, layout="v1.5"), (3, 224, 224))
    assert v15 / 1e9 / RESNET_TABLE1_GFLOPS[50] - 1 > 0.05


def test_googlenet_is_near_its_multiply_add_budget():
    """GoogLeNet paper: designed for "a computational budget of 1.5 billion multiply-adds"."""
    with torch.device("meta"):
        mults = cost.total_mults(models.googlenet(), (3, 224, 224))
    assert abs(mults / 1.5e9 - 1) < 0.06
