"""Score tables: scoring files, the fixed sample, and the check of recomputed rows."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from reproduce.errors import ReproduceError
from reproduce.metrics import psnr
from reproduce.perceptual import load_stlpips
from reproduce.scores import compare_recomputed, fixed_sample, read_scores, score_methods, write_scores


def test_fixed_sample_is_stable_and_keeps_the_required_names():
    names = [f"img{i:03d}" for i in range(100)]
    a = fixed_sample(names, 12, seed=0, always=["img050", "img099"])
    assert a == fixed_sample(list(reversed(names)), 12, seed=0, always=["img099", "img050"])
    assert len(a) == 12 and {"img050", "img099"} <= set(a)
    assert fixed_sample(names, 12, seed=1) != fixed_sample(names, 12, seed=0)
    assert fixed_sample(names[:5], 12) == names[:5]


def _table(**override):
    rows = [{"method": m, "seed": -1 if m == "bicubic" else 0, "set": "S", "image": f"i{i}", "scale": 8,
             "psnr": 25.0 + i, "ssim": 0.7, "stlpips": 0.2} for m in ("bicubic", "LIIF") for i in range(3)]
    df = pd.DataFrame(rows)
    for (m, i, col), value in override.items():
        df.loc[(df.method == m) & (df.image == i), col] = value
    return df


def test_recomputed_rows_within_tolerance_pass_and_report_the_largest_difference():
    committed = _table()
    recomputed = committed.iloc[[0, 4]].copy()
    recomputed["psnr"] += 0.01
    report = compare_recomputed(committed, recomputed).set_index("metric")
    assert report.loc["psnr", "max_abs_diff"] == pytest.approx(0.01) and report.loc["psnr", "rows"] == 2


def test_recomputed_row_beyond_tolerance_fails_loudly():
    committed = _table()
    recomputed = committed.iloc[[4]].copy()
    recomputed["stlpips"] += 0.01
    with pytest.raises(ReproduceError, match=r"stlpips of LIIF on S/i1 x8 .* tolerance"):
        compare_recomputed(committed, recomputed)


def test_recomputed_row_missing_from_the_committed_table_fails():
    committed = _table()
    extra = committed.iloc[[0]].copy()
    extra["image"] = "new"
    with pytest.raises(ReproduceError, match="not in the committed scores"):
        compare_recomputed(committed, extra)


def test_write_and_read_scores_round_trip(tmp_path):
    path = write_scores(_table(), tmp_path / "scores" / "x.csv", {"commit": "abc"})
    back, prov = read_scores(path)
    assert prov == {"commit": "abc"} and list(back.columns[:7]) == ["method", "seed", "set", "image", "scale", "psnr", "ssim"]
    assert np.allclose(back["psnr"], _table()["psnr"])
    with pytest.raises(ReproduceError, match="no committed scores"):
        read_scores(tmp_path / "missing.csv")
    with pytest.raises(ValueError, match="lacks column"):
        write_scores(_table().drop(columns="ssim"), tmp_path / "y.csv", {})


def test_score_methods_reuses_ground_truth_features_with_the_same_distance(tmp_path, smooth_image):
    gt, a, b = tmp_path / "gt", tmp_path / "a", tmp_path / "b"
    for folder in (gt, a, b):
        folder.mkdir()
    rng = np.random.default_rng(0)
    for name in ("x", "y"):
        Image.fromarray(smooth_image).save(gt / f"{name}.png")
        for folder, noise in ((a, 5), (b, 20)):
            noisy = np.clip(smooth_image.astype(int) + rng.integers(-noise, noise + 1, smooth_image.shape), 0, 255)
            Image.fromarray(noisy.astype(np.uint8)).save(folder / f"{name}.png")
    lpips = load_stlpips("alex")
    rows = score_methods(["x", "y"], {"A": a, "B": b}, gt, {"psnr": lambda sr, hr: psnr(sr, hr, "div2k-rgb", 1)}, lpips=lpips)
    assert [(r["method"], r["image"]) for r in rows] == [("A", "x"), ("B", "x"), ("A", "y"), ("B", "y")]
    for r in rows:
        sr = torch.from_numpy(np.array(Image.open((a if r["method"] == "A" else b) / f"{r['image']}.png"))).permute(2, 0, 1).float() / 255
        hr = torch.from_numpy(smooth_image).permute(2, 0, 1).float() / 255
        with torch.no_grad():
            direct = float(lpips(sr.unsqueeze(0), hr.unsqueeze(0))[0])
        assert r["stlpips"] == pytest.approx(direct, rel=1e-5)
    by = {(r["method"], r["image"]): r for r in rows}
    assert by[("A", "x")]["psnr"] > by[("B", "x")]["psnr"] and by[("A", "x")]["stlpips"] < by[("B", "x")]["stlpips"]


def test_nan_on_one_side_only_is_a_difference():
    committed = _table()
    recomputed = committed.iloc[[1]].copy()
    recomputed["stlpips"] = float("nan")
    with pytest.raises(ReproduceError, match="stlpips of bicubic on S/i1 x8 is nan now"):
        compare_recomputed(committed, recomputed)


def test_names_that_look_like_numbers_or_missing_values_stay_text(tmp_path):
    table = _table()
    table["image"] = ["0012", "NA", "null"] * 2
    back, _ = read_scores(write_scores(table, tmp_path / "s.csv", {}))
    assert list(back["image"][:3]) == ["0012", "NA", "null"]
    assert len(compare_recomputed(back, table.iloc[[0, 1, 2]])) >= 1
