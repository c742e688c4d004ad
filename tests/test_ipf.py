"""IPF: the model against independent references, its training wiring, the study's helpers and claims."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from conftest import liif_spec
from reproduce.models import LIIF, load, make


def ipf_spec(**args):
    return {"name": "ipf", "args": {"base_spec": liif_spec(), "flow_blocks": 1, "flow_feats": 8,
                                    "flow_hidden": [16, 16], "conf_hidden": [8], **args}}


def grid(size, b=1):
    from reproduce.coords import make_cell, make_coord
    coord = make_coord(size).unsqueeze(0).expand(b, -1, -1)
    return coord, make_cell(coord, size)


def kick(model, seed=0):
    """Give g (and C) non-zero last layers, as training would, so offsets are not all zero."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for mlp in [model.flow] + ([model.conf] if model.conf is not None else []):
            last = mlp.layers[-1]
            last.weight.copy_(torch.randn(last.weight.shape, generator=gen) * 0.5)
            last.bias.copy_(torch.randn(last.bias.shape, generator=gen) * 0.5)
    return model


def test_ipf_starts_as_its_liif():
    from reproduce.engine.predict import upscale
    torch.manual_seed(0)
    model = make(ipf_spec()).eval()
    lr = torch.rand(3, 9, 11)
    assert torch.equal(upscale(model, lr, (23, 30)), upscale(model.base, lr, (23, 30)))


def test_decode_is_the_liif_queried_at_the_shifted_coordinate():
    """Independent reference: the plain (official-formula) LIIF queried at coord + c * offset."""
    torch.manual_seed(1)
    model = kick(make(ipf_spec()).eval())
    plain = LIIF(**{k: v for k, v in liif_spec()["args"].items()}, fast=False).eval()
    plain.load_state_dict(model.base.state_dict())
    inp = torch.rand(1, 3, 7, 9) * 2 - 1
    coord, cell = grid((17, 20))
    with torch.no_grad():
        prepared = model.prepare(model.encode(inp))
        offset, conf = model.flow_field(prepared, coord, cell)
        assert offset.abs().max() > 0.05 and offset.abs().max() < model.max_offset
        shifted = (coord + conf * offset * torch.tensor([2 / 7, 2 / 9])).clamp(-1 + 1e-6, 1 - 1e-6)
        expected = plain(inp, shifted, cell)
        assert torch.allclose(model.decode(prepared, coord, cell), expected, atol=1e-5)


def test_flow_reads_the_nearest_flow_vector():
    """g sees the P vector of the LR pixel under the query, its offset from that pixel's centre and the cell, (y, x) each."""
    torch.manual_seed(2)
    model = kick(make(ipf_spec()).eval())
    h, w = 5, 7  # not square, and uneven offsets below: a y/x mix-up changes the input of g
    inp = torch.rand(1, 3, h, w) * 2 - 1
    centre = lambda i, n: -1 + (2 * i + 1) / n  # noqa: E731
    with torch.no_grad():
        prepared = model.prepare(model.encode(inp))
        # Two queries in LR pixel (1, 2), then one in pixel (1, 3).
        coord = torch.tensor([[[centre(1, h), centre(2, w)], [centre(1, h) + 0.13, centre(2, w) - 0.05],
                               [centre(1, h), centre(3, w)]]])
        cell = torch.tensor([[[0.1, 0.03]] * 3])
        p = prepared.flow[0, :, 1, 2]
        rel = torch.tensor([0.13 * h, -0.05 * w])
        x = torch.cat([p, rel, torch.tensor([0.1 * h, 0.03 * w])])
        expected = model.max_offset * torch.tanh(model.flow(x.unsqueeze(0)) / model.max_offset)
        offset, _ = model.flow_field(prepared, coord, cell)
        assert torch.allclose(offset[0, 1], expected[0], atol=1e-5)
        assert not torch.allclose(offset[0, 2], offset[0, 0])


def test_zero_confidence_gives_liif_and_training_outputs_match_inference():
    torch.manual_seed(3)
    model = kick(make(ipf_spec()).eval())
    inp = torch.rand(2, 3, 6, 6) * 2 - 1
    coord, cell = grid((15, 15), b=2)
    with torch.no_grad():
        outs = model.training_outputs(inp, (15, 15))
        assert set(outs) == {"flow", "dual"} and outs["flow"].shape == (2, 3, 15, 15)
        flow = model(inp, coord, cell).transpose(1, 2).reshape(2, 3, 15, 15)
        assert torch.allclose(outs["flow"], flow, atol=1e-5)
        assert not torch.allclose(outs["flow"], outs["dual"], atol=1e-3)  # the confidence changes the shift
        model.conf.layers[-1].bias.fill_(-60.0)  # c = sigmoid(-60) ~ 0: no shift at all
        liif = model.base(inp, coord, cell)
        assert torch.allclose(model(inp, coord, cell), liif, atol=1e-5)
    # With autograd, as in training: the same images.
    with torch.no_grad():
        model.conf.layers[-1].bias.fill_(0.0)
    outs = model.training_outputs(inp, (15, 15))
    assert outs["flow"].requires_grad
    with torch.no_grad():
        assert torch.allclose(outs["flow"], model(inp, coord, cell).transpose(1, 2).reshape(2, 3, 15, 15), atol=1e-5)
    no_dual = make(ipf_spec(dual=False))
    assert set(no_dual.training_outputs(inp, (15, 15))) == {"flow"}
    no_conf = kick(make(ipf_spec(confidence=False)).eval())
    assert no_conf.conf is None and set(no_conf.training_outputs(inp, (15, 15))) == {"flow"}  # I^d = I^f: once


def test_the_base_liif_is_frozen_by_the_model_itself():
    model = make(ipf_spec())
    assert not any(p.requires_grad for p in model.base.parameters())
    assert all(p.requires_grad for n, p in model.named_parameters() if not n.startswith("base."))


def test_ipf_step_sums_every_term_of_every_output():
    from reproduce.engine.adversarial import AdversarialStep
    torch.manual_seed(6)
    model = kick(make(ipf_spec()))
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], 1e-4)
    step = AdversarialStep({"discriminator": {"name": "srgan-discriminator", "args": {"patch": 32, "n_feats": 4}},
                            "content": "vgg", "adv_weight": 5e-3, "pixel_weight": 1e-2, "pixel_loss": "l1"},
                           torch.device("cpu"), 1e-4)
    loss = step(model, opt, {"inp": torch.rand(2, 3, 12, 12), "gt": torch.rand(2, 3, 32, 32)}, torch.device("cpu"), False)
    t = step.last
    expected = sum(t[f"{o}_content"] + 5e-3 * t[f"{o}_adversarial"] + 1e-2 * t[f"{o}_pixel"] for o in ("flow", "dual"))
    assert loss == pytest.approx(expected, rel=1e-5)
    assert t["flow_pixel"] != t["dual_pixel"]  # two different images were scored


def test_tiled_encoding_covers_the_flow_encoder_too():
    from reproduce.engine.predict import encode_tiled
    torch.manual_seed(4)
    model = make(ipf_spec()).eval()
    assert model.encoder_radius == model.base.encoder.radius + model.flow_encoder.radius
    inp = torch.rand(1, 3, 21, 19) * 2 - 1
    with torch.no_grad():
        assert torch.allclose(encode_tiled(model, inp, tile=8), model.encode(inp), atol=1e-5)


def test_ipf_trains_only_its_flow_and_loads_as_a_model(tmp_path):
    from reproduce.config import load_config
    from reproduce.engine import read_log, train
    from reproduce.engine.predict import upscale
    from reproduce.models import load_checkpoint, save_checkpoint

    liif = make(liif_spec())
    init = tmp_path / "liif.pt"
    save_checkpoint(init, liif, liif_spec())
    cfg = load_config(None, {
        "model": ipf_spec(),
        "train": {"datasets": ["sample"], "limit": 2, "repeat": 1, "task": "image", "patch": 32, "scale_min": 1.0,
                  "scale_max": 4.0, "scale_per_batch": True, "freeze": ["base"], "batch_size": 2, "steps": 3, "lr": 1e-3},
        "gan": {"discriminator": {"name": "srgan-discriminator", "args": {"patch": 32, "n_feats": 4}}, "init": str(init),
                "init_into": "base", "adv_weight": 5e-3, "pixel_weight": 1e-2, "pixel_loss": "l1"},
        "valid": {"dataset": "sample", "limit": 1, "crop": 48, "every": 3},
        "run": {"out_dir": str(tmp_path / "run"), "log_every": 1, "checkpoint_every": 3},
    })
    last = train(cfg, log=lambda m: None)
    sd = load_checkpoint(last)["state_dict"]
    assert all(torch.equal(sd[f"base.{k}"], v) for k, v in liif.state_dict().items())  # LIIF frozen
    fresh = make(ipf_spec()).state_dict()
    assert not torch.equal(sd["flow.layers.4.weight"], fresh["flow.layers.4.weight"])  # g moved off zero
    records = read_log(tmp_path / "run")
    terms = {"flow_content", "flow_adversarial", "flow_pixel", "dual_content", "dual_adversarial", "dual_pixel", "d_loss"}
    assert terms <= set(records[0]) and all(np.isfinite(records[0][k]) for k in terms)
    assert any("val_psnr" in r for r in records)
    model = load(last)
    out = upscale(model, torch.rand(3, 10, 13), (27, 35), chunk=100)  # x2.7, non-integer, several chunks
    assert out.shape == (3, 27, 35) and torch.isfinite(out).all()
    # A run saved before a config key existed (here: gan.init_into, gan.pixel_loss) still resumes.
    ckpt = torch.load(last, weights_only=True)
    del ckpt["config"]["gan"]["init_into"], ckpt["config"]["gan"]["pixel_loss"]
    ckpt["config"]["train"]["steps"] = 4
    torch.save(ckpt, last)
    cfg["train"]["steps"] = 4
    cfg["gan"]["init_into"], cfg["gan"]["pixel_loss"] = "", "mse"  # the defaults, as an old run had them
    train(cfg, resume=True, log=lambda m: None)
    assert load_checkpoint(last)["step"] == 4


def test_config_names_of_submodules_are_checked(tmp_path):
    from reproduce.config import load_config
    from reproduce.engine.train import build_training
    from reproduce.errors import ReproduceError

    cfg = load_config(None, {"model": ipf_spec(), "train": {"freeze": ["bsae"]}})
    with pytest.raises(ReproduceError, match="no submodule 'bsae'.*base"):
        build_training(cfg, torch.device("cpu"), 1, False, lambda m: None)
    disc = {"name": "srgan-discriminator", "args": {"patch": 32, "n_feats": 4}}
    cfg = load_config(None, {"model": ipf_spec(), "gan": {"discriminator": disc, "init_into": "base"}})
    with pytest.raises(ReproduceError, match="init_into.*no checkpoint"):
        build_training(cfg, torch.device("cpu"), 1, False, lambda m: None)
    cfg = load_config(None, {"model": ipf_spec(), "train": {"compile": True}, "gan": {"discriminator": disc}})
    with pytest.raises(ReproduceError, match="compile"):
        build_training(cfg, torch.device("cpu"), 1, False, lambda m: None)


def test_batches_share_one_scale_and_crops_do_not_depend_on_the_grouping(smooth_image):
    from reproduce.data.datasets import ImageCrops
    images = [smooth_image, smooth_image[::-1].copy(), smooth_image[:, ::-1].copy()]
    grouped = ImageCrops(images, patch=32, scale_min=1.0, scale_max=4.0, seed=3, scale_group=4)
    sizes = [[grouped[(k % 3, k)]["inp"].shape[-1] for k in range(b * 4, b * 4 + 4)] for b in range(6)]
    assert all(len(set(s)) == 1 for s in sizes) and len({s[0] for s in sizes}) > 1
    other = ImageCrops(images, patch=32, scale_min=1.0, scale_max=4.0, seed=3, scale_group=2)
    assert torch.equal(grouped[(1, 5)]["gt"], other[(1, 5)]["gt"])  # same crop, maybe another scale


def test_flow_colours():
    from reproduce.ipf_study import flow_to_rgb, flow_wheel
    offsets = np.array([[[0.0, 0.0, 1.0, 0.5]], [[0.0, 2.0, 0.0, 0.0]]])  # (dy, dx): none, right (clipped), down, half down
    rgb = flow_to_rgb(offsets, max_magnitude=1.0)[0]
    assert np.allclose(rgb[0], 1.0)                       # no offset: white
    assert np.allclose(rgb[1], [1.0, 0.0, 0.0])           # +x, saturated: red
    assert rgb[2][1] > rgb[2][0] and rgb[2][2] < 0.05     # +y: hue 1/4 (yellow-green)
    assert np.allclose(rgb[3].min(), 0.5)                 # half the magnitude: half saturated
    assert flow_wheel(16).shape == (16, 16, 3)


def _table(rows):
    return pd.DataFrame(rows, columns=["method", "seed", "set", "image", "scale", "psnr", "ssim", "stlpips", "niqe"])


def test_ipf_claims_verdicts():
    from reproduce.ipf_study import ipf_claims
    rng = np.random.default_rng(0)
    rows = []
    for i in range(20):
        base = rng.uniform(0.1, 0.3)
        rows.append(("LIIF", 0, "Set14", f"im{i}", 4.0, 27 + rng.normal(), 0.8, base, 6.0 + rng.normal() * 0.1))
        rows.append(("IPF", 0, "Set14", f"im{i}", 4.0, 26 + rng.normal() * 0.1 + (rows[-1][5] - 27), 0.78,
                     base - 0.03 + rng.normal() * 0.005, rows[-1][8] + (0.3 if i % 2 else -0.3)))  # NIQE: no change on average
    claims = {(c.b, c.metric): c for c in ipf_claims(_table(rows), [4], n_boot=2000)}
    assert claims[("LIIF", "stlpips")].verdict == "reproduced"
    assert claims[("LIIF", "niqe")].verdict == "within noise"
    assert claims[("IPF", "psnr")].verdict == "reproduced"            # LIIF has the higher PSNR
    assert claims[("IPF-noconf", "stlpips")].verdict == "not tested"  # arm not scored
    flipped = _table(rows).assign(method=lambda d: d["method"].map({"LIIF": "IPF", "IPF": "LIIF"}))
    assert {(c.b, c.metric): c for c in ipf_claims(flipped, [4], n_boot=2000)}[("LIIF", "stlpips")].verdict == "contradicted"


def test_precision_sensitivity_moves_each_interval_back_by_its_bf16_shift():
    from reproduce.ipf_study import precision_sensitivity
    claims = pd.DataFrame([
        # a - b with an interval clear of zero by 0.5: a shift of 0.2 leaves it there
        dict(claim="IPF is sharper than LIIF, by NIQE", a="IPF", b="LIIF", metric="niqe", scope="Set14, x3",
             delta=-1.0, ci_low=-1.5, ci_high=-0.5, verdict="reproduced"),
        # an interval that just includes zero: moved back by a positive shift it would exclude it
        dict(claim="the confidence function helps, by NIQE", a="IPF", b="IPF-noconf", metric="niqe", scope="Set14, x3",
             delta=-0.45, ci_low=-1.0, ci_high=0.04, verdict="within noise"),
        dict(claim="the confidence function helps, by ST-LPIPS", a="IPF", b="IPF-noconf", metric="stlpips",
             scope="Set14, x3", delta=-0.01, ci_low=-0.02, ci_high=-0.005, verdict="reproduced"),
        dict(claim="untested", a="IPF", b="LIIF", metric="niqe", scope="Set14, x3", delta=None, ci_low=None,
             ci_high=None, verdict="not tested"),
        dict(claim="no check at this scale", a="IPF", b="LIIF", metric="niqe", scope="Set14, x30",
             delta=-1.0, ci_low=-1.5, ci_high=-0.5, verdict="reproduced"),
    ])
    check = pd.DataFrame([dict(method="IPF", metric="niqe", scale=3.0, shift=0.2),
                          dict(method="IPF-noconf", metric="niqe", scale=3.0, shift=-0.1),
                          dict(method="IPF", metric="stlpips", scale=3.0, shift=0.0002),
                          dict(method="IPF-noconf", metric="stlpips", scale=3.0, shift=0.0001)])
    out = precision_sensitivity(claims, check).set_index("claim")
    assert len(out) == 3  # the untested claim and the scale without a check are left out
    first = out.loc["IPF is sharper than LIIF, by NIQE"]
    assert first["bf16_shift"] == pytest.approx(0.2)  # LIIF, the reference, has no shift of its own
    assert first["fp32_low"] == pytest.approx(-1.7) and not first["sensitive"]
    conf = out.loc["the confidence function helps, by NIQE"]
    assert conf["bf16_shift"] == pytest.approx(0.3)  # shift(IPF) - shift(IPF-noconf)
    assert conf["fp32_high"] == pytest.approx(-0.26) and conf["sensitive"]  # in fp32 the interval would exclude zero
    assert not out.loc["the confidence function helps, by ST-LPIPS", "sensitive"]
    # the same interval moved the other way across zero at its lower end
    moved = precision_sensitivity(claims.iloc[[2]].assign(ci_low=0.00005, ci_high=0.01), check)
    assert moved["sensitive"].item() and moved["fp32_low"].item() < 0
    two_sets = pd.concat([check.assign(set="Set14"), check.assign(set="B100", shift=0.0)])
    with pytest.raises(ValueError, match="pass one set's rows"):  # one shift per method, metric and scale is read
        precision_sensitivity(claims, two_sets)


def test_score_images_resumes_without_recomputing(tmp_path):
    from reproduce.evaluate import bicubic_upscale, score_images
    calls = []

    def method(lr, size):
        calls.append(size)
        return bicubic_upscale(lr, size)

    partial = tmp_path / "partial.csv"
    first = score_images(method, "bic", ["sample"], [2, 3], partial=partial)
    n = len(calls)
    assert n == len(first) == 2 * first["image"].nunique() and set(first.columns) >= {"psnr", "ssim", "seconds"}
    again = score_images(method, "bic", ["sample"], [2, 3], partial=partial)
    assert len(calls) == n  # nothing recomputed
    pd.testing.assert_frame_equal(first[["image", "scale", "psnr"]], again[["image", "scale", "psnr"]], atol=1e-5)
    one = first["image"].iloc[0]
    only = score_images(method, "bic", ["sample"], [2], images={"sample": [one]})
    assert list(only["image"]) == [one] and only["psnr"].iloc[0] == pytest.approx(first["psnr"].iloc[0], abs=1e-9)
    with pytest.raises(ValueError, match="no image"):
        score_images(method, "bic", ["sample"], [2], images={"sample": ["nope"]})


def test_crop_row_shows_the_protocol_input_each_output_with_its_crop_scores_and_the_truth(tmp_path, smooth_image):
    from PIL import Image

    from reproduce.data import make_lr, to_tensor
    from reproduce.engine import upscale
    from reproduce.evaluate import crop_row, crop_scores

    folder = tmp_path / "set"
    folder.mkdir()
    Image.fromarray(smooth_image).save(folder / "a.png")
    Image.fromarray(smooth_image[::-1].copy()).save(folder / "b.png")
    model = make(liif_spec()).eval()
    box = (4, 6, 12, 16)
    label, images, stem = crop_row({"bicubic": "bicubic", "LIIF": model}, str(folder), 1, 2, box)
    assert stem == "b" and label == f"{folder}/b x2"
    lr, hr = make_lr(smooth_image[::-1].copy(), 2)
    titles = list(images)
    assert titles[0] == f"LR input ({lr.shape[1]}x{lr.shape[0]})" and titles[-1] == "ground truth"
    assert torch.equal(images[titles[0]], to_tensor(lr)) and torch.equal(images["ground truth"], to_tensor(hr))
    with torch.no_grad():
        liif = upscale(model, to_tensor(lr), tuple(hr.shape[:2]))
    assert torch.equal(images[titles[2]], liif)
    expected = crop_scores({"LIIF": images[titles[2]]}, to_tensor(hr), box)["LIIF"]["psnr"]
    assert titles[1].startswith("bicubic\n") and titles[2] == f"LIIF\n{expected:.2f} dB"


def test_ablation_rows_compare_each_arm_with_the_full_ipf_per_metric():
    from reproduce.ipf_study import ablation_rows

    rows = []
    for j in range(5):
        for method, lp, psnr in (("IPF", 0.20, 25.0), ("IPF-nodual", 0.25, 25.5), ("LIIF", 0.40, 27.0)):
            rows.append({"method": method, "seed": 0, "set": "S", "image": f"i{j}", "scale": 4.0,
                         "stlpips": lp + 0.01 * j, "psnr": psnr + j})
    table = ablation_rows(pd.DataFrame(rows), metrics=("stlpips", "niqe", "psnr"), n_boot=200)
    assert set(table["method"]) == {"IPF", "IPF-nodual"} and set(table["metric"]) == {"stlpips", "psnr"}  # no niqe column
    arm = table[table["method"] == "IPF-nodual"].set_index("metric")
    assert arm.loc["stlpips", "delta"] == pytest.approx(0.05) and arm.loc["psnr", "delta"] == pytest.approx(0.5)
    assert table.loc[table["method"] == "IPF", "delta"].isna().all()
    assert ablation_rows(pd.DataFrame(rows).query("method != 'IPF'")).empty


def _seeded(effect, seed_shift, n=20, seeds=(0, 1, 2), rng_seed=1):
    """IPF with several seeds (each shifted by seed_shift[k]) and, at seed 0, LIIF and IPF-noconf (IPF + effect)."""
    rng = np.random.default_rng(rng_seed)
    rows = []
    for i in range(n):
        base = rng.uniform(0.1, 0.3)
        set_name = "Set14" if i % 2 else "B100"
        rows.append(("LIIF", 0, set_name, f"im{i}", 4.0, 27.0, 0.8, base, 6.0))
        for k in seeds:
            rows.append(("IPF", k, set_name, f"im{i}", 4.0, 26.0 + seed_shift[k], 0.78, base - 0.03 + seed_shift[k] / 100,
                         5.0 + seed_shift[k]))
        rows.append(("IPF-noconf", 0, set_name, f"im{i}", 4.0, 26.0, 0.78, base - 0.03 + effect + rng.normal() * 1e-4, 5.0))
    return _table(rows)


def test_seed_noise_pools_the_images_every_seed_scored_and_gives_the_floor():
    from scipy import stats as sps

    from reproduce.ipf_study import noise_floor, seed_noise
    table = _seeded(0.0, {0: 0.0, 1: 0.1, 2: -0.2})
    table = table[~((table["method"] == "IPF") & (table["seed"] == 2) & (table["image"] == "im0"))]  # one image fewer
    noise = seed_noise(table).set_index("metric")
    assert noise.loc["psnr", "images"] == 19 and noise.loc["psnr", "seeds"] == 3 and noise.loc["psnr", "sets"] == "B100+Set14"
    assert noise.loc["psnr", "sd"] == pytest.approx(np.std([26.0, 26.1, 25.8], ddof=1))
    assert noise.loc["stlpips", "sd"] == pytest.approx(np.std([0.0, 0.001, -0.002], ddof=1))
    floor, source = noise_floor(seed_noise(table), "psnr", 4, trained=2)
    assert floor == pytest.approx(sps.t.ppf(0.975, 2) * noise.loc["psnr", "sd"] * 2 ** 0.5)
    assert noise_floor(seed_noise(table), "psnr", 4, trained=1)[0] == pytest.approx(floor / 2 ** 0.5)
    assert "3 seeds on B100+Set14" in source
    assert np.isnan(noise_floor(seed_noise(table), "psnr", 8, trained=2)[0])  # no row at x8
    assert np.isnan(noise_floor(None, "psnr", 4, trained=2)[0])
    one = seed_noise(table[table["seed"] == 0])
    assert one["seeds"].eq(1).all() and one["sd"].isna().all() and np.isnan(noise_floor(one, "psnr", 4, 2)[0])


def test_ipf_claims_read_each_verdict_against_the_training_noise_floor():
    from scipy import stats as sps

    from reproduce.ipf_study import ipf_claims, seed_noise
    # IPF-noconf is worse than IPF by 0.002 ST-LPIPS on every image (an interval far from zero) ...
    table = _seeded(0.002, {0: 0.0, 1: 0.1, 2: -0.2})
    one_model = table[(table["method"] != "IPF") | (table["seed"] == 0)]
    plain = {(c.b, c.metric): c for c in ipf_claims(one_model, [4], n_boot=500)}
    conf = plain[("IPF-noconf", "stlpips")]
    assert conf.verdict == "reproduced" and "training noise not measured" in conf.scope
    # ... but IPF's own seeds spread by 0.001-0.002 in ST-LPIPS: the effect is within the floor
    noisy = {(c.b, c.metric): c for c in ipf_claims(one_model, [4], n_boot=500, noise=seed_noise(table))}
    conf = noisy[("IPF-noconf", "stlpips")]
    assert conf.verdict == "within noise" and "training-noise floor" in conf.scope and "not exceeded" in conf.scope
    assert conf.delta == pytest.approx(plain[("IPF-noconf", "stlpips")].delta)  # the interval is the same
    # IPF - LIIF in PSNR is 1 dB; the seeds spread by 0.15 dB: the claim stands, its floor said in dB
    cost = noisy[("IPF", "psnr")]
    floor_vs_liif = sps.t.ppf(0.975, 2) * np.std([26.0, 26.1, 25.8], ddof=1)  # trained = 1: LIIF is the shared base
    assert cost.verdict == "reproduced" and f"floor {floor_vs_liif:.3f} dB (IPF's seed spread, 3 seeds on B100+Set14)" in cost.scope
    assert "not exceeded" not in cost.scope and "assumed for both arms" in conf.scope
    with pytest.raises(ValueError, match="one seed per method"):
        ipf_claims(table, [4], n_boot=100)


def test_precision_sensitivity_reads_the_scale_of_a_scope_with_a_floor():
    """The scale is the ', x<scale>' after the sets, not any later 'x<digits>' (a set given as a folder named
    photos_x14, named again in the floor's source)."""
    from reproduce.ipf_study import precision_sensitivity
    claims = pd.DataFrame([dict(claim="c", a="IPF", b="LIIF", metric="niqe", delta=-1.0, ci_low=-1.5, ci_high=-0.5,
                                verdict="reproduced",
                                scope="Set14+photos_x14, x3; training-noise floor 0.25 (IPF's seed spread, 3 seeds on "
                                      "Set14+photos_x14)")])
    check = pd.DataFrame([dict(method="IPF", metric="niqe", scale=3.0, shift=0.2),
                          dict(method="IPF", metric="niqe", scale=14.0, shift=5.0)])
    out = precision_sensitivity(claims, check)
    assert out["bf16_shift"].item() == pytest.approx(0.2)


def test_budget_rows_name_the_extra_seeds_and_refuse_unknown_arms(tmp_path):
    from pathlib import Path

    from reproduce.errors import ReproduceError
    from reproduce.ipf_study import budget_table, seed_checkpoint_path
    root = Path(__file__).resolve().parents[1]
    liif = root / "results/checkpoints/edsr-baseline-liif.pt"
    assert seed_checkpoint_path("store", 0) == Path("store/ipf.pt")
    assert seed_checkpoint_path("store", 2) == Path("store/ipf-seeds/ipf-seed2.pt")
    table = budget_table({"IPF": root / "results/checkpoints/ipf.pt", "IPF-seed1": seed_checkpoint_path(tmp_path, 1)}, liif)
    assert table.loc[1, "tests"] == "the full model with seed 1: IPF's training noise" and table.loc[1, "status"] != "trained"
    with pytest.raises(ReproduceError, match="unknown IPF arm 'IPF-seed0'"):
        budget_table({"IPF-seed0": tmp_path / "x.pt"}, liif)


def test_precision_sensitivity_reads_the_moved_claim_against_the_floor():
    from reproduce.ipf_study import precision_sensitivity
    scope = "B100+Set14, x3"
    claims = pd.DataFrame([
        # within the floor (0.99 between arms) already: its interval reaching zero when moved changes nothing
        dict(claim="small", a="IPF", b="IPF-noconf", metric="niqe", scope=scope, delta=-0.2, ci_low=-0.3, ci_high=-0.1,
             verdict="within noise"),
        # beyond the floor by 0.1: moved back by a shift of 0.3 it falls within it
        dict(claim="edge", a="IPF", b="LIIF", metric="niqe", scope=scope, delta=-0.8, ci_low=-1.2, ci_high=-0.5,
             verdict="reproduced"),
    ])
    check = pd.DataFrame([dict(method="IPF", metric="niqe", scale=3.0, shift=-0.3),
                          dict(method="IPF-noconf", metric="niqe", scale=3.0, shift=-0.1)])  # "small" moves by +0.2
    noise = pd.DataFrame([dict(metric="niqe", scale=3.0, sets="B100+Set14", images=10, seeds=3, mean=5.0, sd=0.0)])
    from scipy import stats as sps
    sd = 0.7 / sps.t.ppf(0.975, 2)  # floor against LIIF 0.7, between arms 0.99
    noise["sd"] = sd
    out = precision_sensitivity(claims, check, noise=noise).set_index("claim")
    assert not out.loc["small", "sensitive"] and out.loc["small", "fp32_verdict"] == "within noise"
    assert out.loc["edge", "sensitive"] and out.loc["edge", "fp32_verdict"] == "within noise"  # -0.8 + 0.3 = -0.5
    plain = precision_sensitivity(claims, check).set_index("claim")  # no floor: the interval alone decides
    assert plain.loc["small", "sensitive"] and not plain.loc["edge", "sensitive"]


def test_hardware_note_speaks_only_when_the_seeds_were_scored_elsewhere():
    from reproduce.ipf_study import hardware_note
    amx, epyc = ["Xeon (AMX)"], ["EPYC, bf16 emulated"]
    assert hardware_note(amx, amx) is None and hardware_note(amx, []) is None
    bare = hardware_note(amx, epyc)
    assert "Xeon (AMX)" in bare and "EPYC, bf16 emulated" in bare and "Not measured here" in bare
    check = {"method": "IPF", "seed": 0, "set": "Set14", "provenance": {"device": "EPYC, 1 threads"},
             "rows": [{"image": f"i{k % 6}"} for k in range(36)], "summary": {"emulated": {
        "mean_dpsnr": -1e-5, "max_abs_dpsnr": 0.0013, "max_abs_dstlpips": 0.0001, "max_abs_dniqe": 0.74,
        "mean_dstlpips_by_scale": {"2": -1e-5, "4": 2e-5}, "mean_dniqe_by_scale": {"2": 0.057, "3": -0.123}}}}
    measured = hardware_note(amx, epyc, check)
    assert "on EPYC, 1 threads, 36 rows, 6 images of Set14" in measured
    assert "NIQE by -0.123 to +0.057 in a scale's mean" in measured and "over those 6 images only" in measured
    assert "Not measured here" in hardware_note(amx, epyc, {**check, "method": "LIIF-d"})  # a check of other weights
    assert "(at most 0.740 on one image)" in measured and "ST-LPIPS by -0.00001 to +0.00002" in measured and "Not measured" not in measured


def _spread(means: dict[int, float], images: int = 3, scale: float = 3.0) -> pd.DataFrame:
    """IPF rows whose per-seed mean NIQE at ``scale`` is ``means[seed]`` (every image the same)."""
    return pd.DataFrame([dict(method="IPF", seed=s, set="Set14", image=f"i{k}", scale=scale, niqe=m)
                         for s, m in means.items() for k in range(images)])


def test_machine_floor_range_moves_seed_0_by_the_measured_shift():
    from reproduce.ipf_study import machine_floor_range
    spread = _spread({0: 10.0, 1: 11.0, 2: 12.4})
    constant = {"method": "IPF", "seed": 0, "rows": [dict(image=f"i{k}", scale=3.0, dniqe_emulated=1.0) for k in range(4)]}
    row = machine_floor_range(spread, constant).iloc[0]
    # no spread in the shift: seed 0 at 11 exactly, sd of (11, 11, 12.4)
    assert row["shift"] == pytest.approx(1.0) and row["shift_low"] == pytest.approx(1.0) and row["images"] == 4
    assert row["sd"] == pytest.approx(np.std([10, 11, 12.4], ddof=1))
    assert row["sd_min"] == pytest.approx(np.std([11, 11, 12.4], ddof=1))
    assert row["sd_max"] == pytest.approx(row["sd_min"])
    from scipy import stats as sps
    varied = {**constant, "rows": [dict(image=f"i{k}", scale=3.0, dniqe_emulated=d) for k, d in enumerate([0.0, 1.0, 2.0, 3.0])]}
    row = machine_floor_range(spread, varied).iloc[0]
    half = sps.t.ppf(0.975, 3) * np.std([0, 1, 2, 3], ddof=1) / 2
    assert row["shift_low"] == pytest.approx(1.5 - half) and row["shift_high"] == pytest.approx(1.5 + half)
    # the least sd is where seed 0 meets the others' mean (11.7 = 10 + 1.7, inside; off the grid), the greatest at an end
    assert row["sd_min"] == pytest.approx(np.std([11.7, 11, 12.4], ddof=1))
    ends = [np.std([10 + s, 11, 12.4], ddof=1) for s in (1.5 - half, 1.5 + half)]
    assert row["sd_max"] == pytest.approx(max(ends))
    with pytest.raises(ValueError, match="IPF seed 0"):
        machine_floor_range(spread, {**varied, "seed": 1})
    assert machine_floor_range(_spread({0: 1.0, 1: 2.0}, scale=4.0), varied).empty  # the check holds x3 only


def test_machine_sensitivity_flags_a_verdict_the_floor_range_can_turn():
    from scipy import stats as sps

    from reproduce.ipf_study import machine_sensitivity
    scope = "Kodak24+Set14, x3"
    claims = pd.DataFrame([
        dict(claim="edge", a="IPF", b="LIIF", metric="niqe", scope=scope, delta=-0.8, ci_low=-1.2, ci_high=-0.5,
             verdict="reproduced"),
        dict(claim="far", a="IPF", b="LIIF", metric="niqe", scope=scope, delta=-5.0, ci_low=-6.0, ci_high=-4.0,
             verdict="reproduced"),
        dict(claim="null", a="IPF", b="IPF-noconf", metric="niqe", scope=scope, delta=0.1, ci_low=-0.2, ci_high=0.4,
             verdict="within noise"),
        dict(claim="other scale", a="IPF", b="LIIF", metric="niqe", scope="Set14, x4", delta=-0.8, ci_low=-1.2,
             ci_high=-0.5, verdict="reproduced")])
    t = sps.t.ppf(0.975, 2)
    noise = pd.DataFrame([dict(metric="niqe", scale=3.0, sets="Kodak24+Set14", images=38, seeds=3, mean=17.0,
                               sd=0.7 / t)])  # floor against LIIF 0.7
    ranges = pd.DataFrame([dict(metric="niqe", scale=3.0, sd_min=0.1 / t, sd_max=1.0 / t)])
    out = machine_sensitivity(claims, noise, ranges).set_index("claim")
    assert list(out.index) == ["edge", "far", "null"]  # no range at x4
    assert out.loc["edge", "floor"] == pytest.approx(0.7) and out.loc["edge", "floor_max"] == pytest.approx(1.0)
    assert out.loc["edge", "verdict_max"] == "within noise" and out.loc["edge", "sensitive"]
    assert not out.loc["far", "sensitive"] and not out.loc["null", "sensitive"]  # an interval over zero stays within noise
    assert out.loc["null", "floor_min"] == pytest.approx(0.1 * np.sqrt(2))  # two trained arms


def test_repeat_shift_pairs_seed_0_of_the_two_tables_by_image():
    from reproduce.ipf_study import repeat_shift
    rows = lambda seed, values, method="IPF": pd.DataFrame(  # noqa: E731
        [dict(method=method, seed=seed, set="Set14", image=f"i{k}", scale=3.0, niqe=v) for k, v in enumerate(values)])
    main = pd.concat([rows(0, [10.0, 11.0, 12.0]), rows(0, [1.0, 1.0, 1.0], method="LIIF")])
    seeds = pd.concat([rows(0, [10.5, 11.0, 12.1]), rows(1, [50.0, 50.0, 50.0])])  # seed 1 is no repeat
    out = repeat_shift(main, seeds).iloc[0]
    assert out["metric"] == "niqe" and out["images"] == 3
    assert out["delta"] == pytest.approx(0.2) and out["max_abs"] == pytest.approx(0.5)
    assert out["ci_low"] <= 0.2 <= out["ci_high"]
    assert repeat_shift(main, rows(1, [1.0, 2.0, 3.0])).empty  # no seed 0 in the seeds' table: nothing to pair
