"""reproduce.cost: parameters, multiply-adds per output pixel (against a hand count), timing, the cost table."""
import math

import pytest
import torch

from conftest import liif_spec
from reproduce.cost import cost_table, count_parameters, macs_per_pixel, reference_path, seconds_per_megapixel
from reproduce.models import make


def tiny_liif():
    torch.manual_seed(0)
    return make(liif_spec()).eval()  # EDSR-baseline 8 features, 1 residual block; MLP 16-16


def test_macs_per_pixel_match_a_hand_count_of_the_reference_path():
    f, n = 8, 1
    encoder = 9 * (3 * f + 2 * n * f * f + f * f)        # 3x3 convs: head, one residual block, tail; per LR pixel
    mlp_in = 9 * f + 2 + 2                                # unfolded code, relative coordinate, cell
    decoder = 4 * (mlp_in * 16 + 16 * 16 + 16 * 3)        # local ensemble: 4 queries per output pixel
    model = tiny_liif()
    assert macs_per_pixel(model, lr_size=(32, 32), scale=4) == pytest.approx(decoder + encoder / 16)
    assert model.fast  # counted on a copy: the model itself keeps its fast path
    assert reference_path(model) is not model and not reference_path(model).fast
    assert math.isnan(macs_per_pixel("bicubic"))


def test_parameters_and_timing():
    model = tiny_liif()
    assert count_parameters(model) == sum(p.numel() for p in model.parameters()) > 0
    assert count_parameters("bicubic") == 0
    s = seconds_per_megapixel(model, lr_size=(16, 16), scale=2, repeats=1)
    assert 0 < s < 1000


def test_cost_table_rows_and_bf16_column():
    table = cost_table({"bicubic": "bicubic", "LIIF": tiny_liif()}, lr_size=(16, 16), bf16=False, repeats=1)
    assert table.columns.tolist() == ["method", "parameters", "MACs per output pixel", "s/MP fp32", "s/MP bf16"]
    assert table["method"].tolist() == ["bicubic", "LIIF"]
    assert table["s/MP bf16"].isna().all() and (table["s/MP fp32"] > 0).all()
    assert math.isnan(table.loc[0, "MACs per output pixel"]) and table.loc[1, "MACs per output pixel"] > 0
    with_bf16 = cost_table({"LIIF": tiny_liif()}, lr_size=(8, 8), bf16=True, repeats=1)
    assert with_bf16.loc[0, "s/MP bf16"] > 0
