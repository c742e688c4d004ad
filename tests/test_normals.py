"""Normal maps: geometry, decomposition and its inverse, degradation, folds, metrics, integration, fine-tuning."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from reproduce.models import load, make, save_checkpoint
from reproduce.normals import data, geometry, integrate, metrics
from reproduce.normals import evaluate as nevaluate
from reproduce.normals import finetune as ft
from reproduce.normals import methods
from tests.conftest import liif_spec


def random_normals(h=12, w=15, seed=0, min_z=0.05):
    g = torch.Generator().manual_seed(seed)
    v = torch.randn(3, h, w, generator=g)
    v[2] = v[2].abs() + min_z * 4
    return geometry.renormalise(v)


def test_encode_decode_round_trip_and_axis_convention():
    n = random_normals()
    assert torch.allclose(geometry.decode(geometry.encode(n)), n, atol=1e-6)
    # white (1, 1, 1) decodes to the diagonal; mid-grey-blue (0.5, 0.5, 1) is the camera-facing normal
    assert torch.allclose(geometry.decode(torch.tensor([0.5, 0.5, 1.0]).view(3, 1, 1)).flatten(), torch.tensor([0.0, 0.0, 1.0]))


def test_rotation_maps_z_to_shape_and_is_orthonormal():
    s = random_normals(seed=1)
    rot = geometry.rotation_to(s)
    z = torch.tensor([0.0, 0.0, 1.0])
    assert torch.allclose(rot @ z, s.permute(1, 2, 0), atol=1e-6)
    eye = torch.eye(3).expand_as(rot)
    assert torch.allclose(rot.transpose(-1, -2) @ rot, eye, atol=1e-5)
    assert torch.allclose(torch.linalg.det(rot), torch.ones(rot.shape[:2]), atol=1e-5)


def test_decompose_then_recompose_returns_the_input():
    n, shape = random_normals(seed=2), random_normals(seed=3)
    detail = geometry.decompose(n, shape)
    assert torch.allclose(detail.norm(dim=0), torch.ones(detail.shape[1:]), atol=1e-5)
    assert torch.allclose(geometry.recompose(shape, detail), n, atol=1e-5)
    # a normal equal to its shape has detail (0, 0, 1); detail keeps the angle to the shape
    assert torch.allclose(geometry.decompose(shape, shape), torch.tensor([0.0, 0.0, 1.0]).view(3, 1, 1).expand_as(shape), atol=1e-5)
    facing = torch.tensor([0.0, 0.0, 1.0]).view(3, 1, 1).expand_as(shape)
    assert torch.allclose(geometry.angular_error(detail, facing), geometry.angular_error(n, shape), atol=1e-2)


def test_shape_component_is_a_masked_local_mean():
    const = geometry.renormalise(torch.tensor([0.3, -0.2, 0.9]).view(3, 1, 1).expand(3, 20, 20).clone())
    mask = torch.zeros(20, 20, dtype=torch.bool)
    mask[5:15, 5:15] = True
    weird = torch.where(mask, const, geometry.renormalise(torch.tensor([-0.9, 0.9, 0.1]).view(3, 1, 1)).expand_as(const))
    # outside pixels do not leak into the shape of the object, even at its border
    assert torch.allclose(geometry.shape_component(weird, mask)[:, mask], const[:, mask], atol=1e-5)
    # without a mask they do
    assert not torch.allclose(geometry.shape_component(weird)[:, mask], const[:, mask], atol=1e-2)


def test_read_map_decodes_files_masks_and_background(tmp_path):
    from PIL import Image
    rgb = np.full((6, 7, 3), 255, np.uint8)
    rgb[2:4, 2:5] = (128, 128, 255)
    mask = np.zeros((6, 7), np.uint8)
    mask[2:4, 2:5] = 255
    Image.fromarray(rgb).save(tmp_path / "normal_map.png")
    Image.fromarray(mask).save(tmp_path / "mask.png")
    m = data.read_map(tmp_path)
    assert m.mask.sum() == 6 and m.depth is None and m.K is None
    assert torch.allclose(m.normals[:, 3, 3], torch.tensor([0.0, 0.0, 1.0]), atol=0.01)
    assert torch.equal(m.normals[:, 0, 0], torch.tensor([0.0, 0.0, 1.0]))  # white background replaced by facing


def test_degrade_gives_consistent_lr_map_and_mask():
    m = data.synthetic_map(64, 80)
    lr, lr_mask, hr_size = data.degrade(m.normals, m.mask, 3)
    assert lr.shape == (3, 21, 26) and lr_mask.shape == (21, 26) and hr_size == (63, 78)
    facing = torch.tensor([0.0, 0.0, 1.0])
    assert torch.equal(lr[:, ~lr_mask], facing.view(3, 1).expand(3, int((~lr_mask).sum())))
    assert torch.allclose(lr.norm(dim=0), torch.ones(21, 26), atol=1e-5)
    assert abs(lr_mask.float().mean() - m.mask.float().mean()) < 0.05


def test_folds_are_disjoint_and_training_never_sees_a_test_object():
    objects = ["ball", "bear", "buddha", "cat", "cow", "goblet", "harvest", "pot1", "pot2", "reading"]
    folds = data.folds(objects, 5)
    assert sorted(o for f in folds for o in f) == objects and all(len(f) == 2 for f in folds)
    maps = [data.NormalMap(n, "DiLiGenT", torch.zeros(3, 1, 1), torch.ones(1, 1, dtype=torch.bool)) for n in objects]
    maps.append(data.NormalMap("Fig4_reading", "other", torch.zeros(3, 1, 1), torch.ones(1, 1, dtype=torch.bool)))
    for tested in folds:
        names = [m.name for m in data.training_maps(maps, tested)]
        assert not set(names) & set(tested)
        assert ("Fig4_reading" in names) == ("reading" not in tested)  # a crop of reading counts as reading
    with pytest.raises(Exception):
        data.folds(objects, 11)


def test_angular_stats_and_psnr_on_known_errors():
    gt = random_normals(10, 10, seed=4)
    mask = torch.ones(10, 10, dtype=torch.bool)
    # rotate every normal by 10 degrees about an axis perpendicular to it
    axis = geometry.renormalise(torch.cross(gt, torch.tensor([1.0, 0, 0]).view(3, 1, 1).expand_as(gt), dim=0))
    a = math.radians(10)
    pred = gt * math.cos(a) + torch.cross(axis, gt, dim=0) * math.sin(a)
    stats = metrics.angular_stats(pred, gt, mask)
    assert stats["mean_angle"] == pytest.approx(10, abs=1e-3) and stats["median_angle"] == pytest.approx(10, abs=1e-3)
    assert stats["within_5"] == 0 and stats["within_11_25"] == 1 and stats["within_22_5"] == 1
    shifted = geometry.decode(geometry.encode(gt) + 0.01)
    # PSNR counts the masked pixels only
    half = torch.zeros(10, 10, dtype=torch.bool)
    half[:5] = True
    worse = pred.clone()
    worse[:, 5:] = -gt[:, 5:]
    assert metrics.encoded_psnr(worse, gt, half) == pytest.approx(metrics.encoded_psnr(pred, gt, half))
    assert metrics.encoded_psnr(gt, gt, mask) == math.inf and metrics.encoded_psnr(shifted, gt, mask) > 30


def test_detail_energy_is_zero_on_a_plane_and_grows_with_bumps():
    plane = geometry.renormalise(torch.tensor([0.2, 0.1, 1.0]).view(3, 1, 1).expand(3, 30, 30).clone())
    mask = torch.ones(30, 30, dtype=torch.bool)
    assert metrics.detail_energy(plane, mask) < 1e-3
    bumpy = data.synthetic_map(30, 30)
    assert metrics.detail_energy(bumpy.normals, bumpy.mask) > 1.0


def sphere_case():
    import scipy.ndimage as ndimage
    normals, mask, depth, K = integrate.sphere()
    return normals, ndimage.binary_erosion(mask, iterations=2), depth, K


def test_integrator_recovers_a_sphere_under_perspective():
    normals, mask, depth, K = sphere_case()
    est = integrate.integrate(normals, mask, K)
    relief = np.nanmax(depth[mask]) - np.nanmin(depth[mask])
    assert integrate.made(est, depth, mask) < 0.002 * relief
    assert np.isnan(est[~mask]).all()
    # the sign convention matters: y flipped (image rows taken as up) is far off
    flipped = normals * np.array([1, -1, 1]).reshape(3, 1, 1)
    assert integrate.made(integrate.integrate(flipped, mask, K), depth, mask) > 0.05 * relief


def test_made_is_scale_invariant_and_measures_absolute_error():
    depth = np.array([[10.0, 11.0], [12.0, 13.0]])
    mask = np.ones((2, 2), bool)
    assert integrate.made(depth / 7, depth, mask) == pytest.approx(0.0)
    off = depth.copy()
    off[0, 0] += 1.0  # median ratio stays 1
    assert integrate.made(off, depth, mask) == pytest.approx(0.25)
    assert integrate.made(off, depth, mask, where=np.array([[True, False], [False, False]])) == pytest.approx(1.0)


def test_normal_liif_is_liif_with_a_mean_shift():
    spec = liif_spec()
    torch.manual_seed(0)
    liif = make(spec).eval()
    shifted = make({"name": "liif-normals", "args": {**spec["args"], "data_mean": [0.5, 0.5, 0.5]}}).eval()
    shifted.load_state_dict(liif.state_dict())
    inp = torch.rand(1, 3, 8, 9) * 2 - 1
    coord = torch.rand(1, 20, 2) * 2 - 1
    cell = torch.full((1, 20, 2), 2 / 16)
    with torch.no_grad():
        assert torch.allclose(shifted(inp, coord, cell), liif(inp, coord, cell), atol=1e-6)
        mean = [0.42, 0.43, 0.84]
        other = make({"name": "liif-normals", "args": {**spec["args"], "data_mean": mean}}).eval()
        other.load_state_dict(liif.state_dict())
        delta = (0.5 - torch.tensor(mean)) / 0.5
        expected = liif(inp + delta.view(1, 3, 1, 1), coord, cell) - delta
        assert torch.allclose(other(inp, coord, cell), expected, atol=1e-6)
    assert "shift" not in other.state_dict()  # derived from the spec, not stored


def test_training_samples_are_deterministic_and_flips_change_signs():
    maps = [data.synthetic_map(64, 80, seed=s) for s in range(2)]
    cfg = ft.FinetuneConfig(inp_size=12, scale_max=4, sample_q=32, seed=3)
    a, b = ft.make_sample(maps, cfg, 7), ft.make_sample(maps, cfg, 7)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["gt"], ft.make_sample(maps, cfg, 8)["gt"])
    assert a["inp"].shape == (3, 12, 12) and a["gt"].shape == (32, 3) and float(a["gt"].min()) >= 0
    n, mask = maps[0].normals, maps[0].mask
    fn, fm = ft._flip(n, mask, True, False)
    assert torch.equal(fm, mask.flip(-1)) and torch.allclose(fn[0], -n[0].flip(-1)) and torch.allclose(fn[1:], n[1:].flip(-1))
    fn, _ = ft._flip(n, mask, False, True)
    assert torch.allclose(fn[1], -n[1].flip(-2)) and torch.allclose(fn[0], n[0].flip(-2))


def test_sampled_queries_lie_on_the_object():
    m = data.synthetic_map(64, 80)
    cfg = ft.FinetuneConfig(inp_size=12, scale_max=2, sample_q=200, min_coverage=0.3, seed=1)
    s = ft.make_sample([m], cfg, 0)
    # the targets are object normals, never the background's exact (0, 0, 1)
    facing = geometry.encode(torch.tensor([0.0, 0.0, 1.0]))
    assert not (s["gt"] == facing).all(dim=1).any()


def test_dataset_mean_of_detail_components_is_near_facing():
    maps = [data.synthetic_map(64, 80, seed=s) for s in range(2)]
    plain, detail = ft.dataset_mean(maps, False), ft.dataset_mean(maps, True)
    assert len(plain) == 3 and detail[2] > plain[2] and abs(detail[0] - 0.5) < 0.02


def test_finetune_stores_half_precision_weights_that_load(tmp_path):
    torch.manual_seed(0)
    init = tmp_path / "init.pt"
    save_checkpoint(init, make(liif_spec()), liif_spec())
    maps = [data.synthetic_map(64, 80, seed=s) for s in range(2)]
    cfg = ft.FinetuneConfig(steps=3, batch_size=2, inp_size=12, scale_max=3, sample_q=32, log_every=1, decomposition=True)
    out = ft.finetune(init, maps, cfg, tmp_path / "ft.pt", log=lambda s: None)
    raw = torch.load(out, weights_only=True)
    assert all(v.dtype == torch.float16 for v in raw["state_dict"].values() if v.is_floating_point())
    assert "optimizer" not in raw and raw["config"]["finetune"]["decomposition"] is True
    model = load(out)
    assert type(model).__name__ == "NormalMapLIIF" and model.data_mean == ft.dataset_mean(maps, True)
    assert len(out.with_suffix(".log.jsonl").read_text().splitlines()) == 3
    # weights changed from the initialisation
    before = torch.load(init, weights_only=True)["state_dict"]
    assert any(not torch.equal(v.half(), raw["state_dict"][k]) for k, v in before.items())
    lr, lr_mask, size = data.degrade(maps[0].normals, maps[0].mask, 2)
    sr = methods.model_on_detail(model, lr, lr_mask, size)
    assert sr.shape == (3, *size) and torch.allclose(sr.norm(dim=0), torch.ones(size), atol=1e-4)


def test_windowed_evaluation_matches_the_whole_map_and_scores_rows():
    m = data.synthetic_map(64, 80)
    m.normals = geometry.fill_background(m.normals, m.mask)
    lr, lr_mask, size = data.degrade(m.normals, m.mask, 2)
    small = torch.zeros_like(lr_mask)
    small[10:20, 12:25] = lr_mask[10:20, 12:25]
    whole = methods.bicubic(lr, small, size)
    part = nevaluate.run_windowed(methods.bicubic, lr, small, 2, margin=4)
    hr_small = torch.zeros(size, dtype=torch.bool)
    hr_small[20:40, 24:50] = True
    assert torch.allclose(part[:, hr_small], whole[:, hr_small], atol=1e-5)
    rows = nevaluate.evaluate_map(m, {"bicubic": methods.bicubic}, [2, 4], fold=0)
    assert [(r["method"], r["scale"]) for r in rows] == [("bicubic", 2), ("bicubic", 4)]
    assert rows[0]["mean_angle"] < rows[1]["mean_angle"] and 0 < rows[0]["within_22_5"] <= 1 and math.isnan(rows[0]["made_mm"])


def test_figures_draw_error_maps_and_surfaces():
    import matplotlib
    matplotlib.use("Agg")
    from reproduce.normals import figures

    normals, mask, depth, K = integrate.sphere(32, 40, radius=12)
    enc = nevaluate.to_uint8(torch.from_numpy(normals))
    fig = figures.angular_error_maps(enc, {"same": enc, "flipped": enc[:, ::-1].copy()}, mask)
    assert len(fig.axes) == 3
    fig = figures.surfaces({"gt": depth, "again": depth}, K, stride=2)
    assert len(fig.axes) == 2
    assert len(figures._grid_triangles(np.ones((3, 4), bool))) == 2 * 2 * 3


def test_smoothness_claim_reads_the_detail_ratio():
    import pandas as pd

    from reproduce.normals import report

    rows = pd.DataFrame({"method": ["m"] * 7, "scale": [8] * 7, "object": list("abcdefg"), "fold": [0, 0, 1, 1, 2, 2, 3],
                         "detail_ratio": [0.5, 0.6, 0.7, 0.55, 0.65, 0.6, 3.0], "gt_detail_energy": [4.0] * 6 + [0.5]})
    claim = report.smoothness_claim(rows, "m", 8)
    # the low-detail object g (ratio 3.0) is left out; the mean is over logs
    assert claim.verdict == "reproduced" and claim.n_images == 6 and "left out: g" in claim.scope
    assert claim.delta == pytest.approx(np.log([0.5, 0.6, 0.7, 0.55, 0.65, 0.6]).mean())
    assert "smoother than the truth on 100% of 6 objects" in report.smoothness_sentence(claim)
    assert report.smoothness_claim(rows, "m", 8, min_energy=0.0).n_images == 7
    rows["detail_ratio"] = [0.5, 2.0, 0.9, 1.1, 1.0, 1.0, 1.0]
    assert report.smoothness_claim(rows, "m", 8).verdict == "within noise"
    assert report.smoothness_claim(rows, "other", 8).verdict == "not tested"


def test_detail_depth_claim_pairs_errors_per_object():
    import pandas as pd

    from reproduce.normals import report

    rows = pd.DataFrame({"method": ["m"] * 5, "scale": [4] * 5, "object": list("abcde"), "fold": [0, 0, 1, 1, 2],
                         "made_mm": [1.0, 2.0, 3.0, 4.0, np.nan], "made_detail_mm": [1.5, 2.4, 3.6, 4.5, 1.0]})
    claim = report.detail_depth_claim(rows, "m", 4)
    assert claim.n_images == 4 and claim.delta == pytest.approx(0.5) and claim.verdict == "reproduced"
    assert "larger on the high-detail pixels for 100% of 4 objects" in report.detail_depth_sentence(claim)
    summary = report.summary(rows, metrics=("made_mm",))
    assert summary["made_mm"].iloc[0] == pytest.approx(2.5) and summary["made_mm_fold_sd"].iloc[0] == pytest.approx(np.std([1.5, 3.5], ddof=1))


def test_budget_table_and_fold_methods_read_the_stored_models(tmp_path):
    from reproduce.errors import ReproduceError

    torch.manual_seed(0)
    init = tmp_path / "init.pt"
    save_checkpoint(init, make(liif_spec()), liif_spec())
    maps = [data.synthetic_map(64, 80, seed=s) for s in range(2)]
    cfg = ft.FinetuneConfig(steps=1, batch_size=1, inp_size=12, scale_max=2, sample_q=16, log_every=1)
    folder = tmp_path / "normals"
    ft.finetune(init, maps, cfg, ft.checkpoint_path(folder, "map", 0), log=lambda s: None)
    table = ft.budget_table(folder, [["elsewhere"]], init)
    assert list(table["variant"]) == ["map"] and table["start checked"].iloc[0] == "sha256 match" and table["steps"].iloc[0] == 1
    with pytest.raises(ReproduceError, match="object its fold tests"):
        ft.budget_table(folder, [["synthetic0"]], init)
    other = tmp_path / "other.pt"
    save_checkpoint(other, make(liif_spec()), liif_spec(), step=5)
    with pytest.raises(ReproduceError, match="another LIIF"):
        ft.budget_table(folder, [["elsewhere"]], other)
    chosen, missing = methods.fold_methods(None, folder, 0)
    assert list(chosen) == ["bicubic", "LIIF fine-tuned (map)"] and missing == ["LIIF (photographs)", "LIIF fine-tuned (detail)"]
    lr, lr_mask, size = data.degrade(maps[0].normals, maps[0].mask, 2)
    assert chosen["LIIF fine-tuned (map)"](lr, lr_mask, size).shape == (3, *size)
