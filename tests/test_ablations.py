"""LIIF's ablation arms (issue 11): configs differ from LIIF's by exactly their change; the fixed-scale EDSR; the border-jump measure."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from reproduce import ablations
from reproduce.models import make


def _flat(d, prefix=""):
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


@pytest.mark.parametrize("arm", [a for a in ablations.ARMS if a.startswith("LIIF-")])
def test_each_liif_arm_is_one_change_from_liif(arm):
    base = _flat(ablations.arm_config("LIIF", 1, "configs/cpu", "runs/x"))
    other = _flat(ablations.arm_config(arm, 1, "configs/cpu", "runs/x"))
    changed = {k for k in base.keys() | other.keys() if base.get(k) != other.get(k)}
    assert changed == set(ablations.ARMS[arm][1]) | {"run.out_dir"}
    assert other["train.seed"] == 1 and other["run.out_dir"].endswith(f"{arm}-seed1")
    # The built models differ from LIIF in the component the arm removes, and only there.
    liif = make(ablations.arm_config("LIIF", 1, "configs/cpu", "runs/x")["model"])
    model = make(ablations.arm_config(arm, 1, "configs/cpu", "runs/x")["model"])
    flags = lambda m: (m.cell_decode, m.feat_unfold, m.local_ensemble, len(m.imnet.layers))  # noqa: E731
    expected = {"LIIF-c": (False, True, True, 9), "LIIF-u": (True, False, True, 9), "LIIF-e": (True, True, False, 9),
                "LIIF-d": (True, True, True, 5)}[arm]
    assert flags(liif) == (True, True, True, 9) and flags(model) == expected


def test_fixed_scale_arms_share_liif_data_and_schedule():
    liif = ablations.arm_config("LIIF", 0, "configs/cpu", "runs/x")
    for scale in (2, 3, 4):
        cfg = ablations.arm_config(f"EDSR-baseline-x{scale}", 0, "configs/cpu", "runs/x")
        assert cfg["model"]["args"]["scale"] == scale and cfg["train"]["patch"] == 48 * scale
        assert cfg["train"]["scale_min"] == cfg["train"]["scale_max"] == scale and cfg["valid"]["scale"] == scale
        for key in ("datasets", "steps", "lr", "schedule", "batch_size", "bf16", "repeat", "seed", "loss"):
            assert cfg["train"][key] == liif["train"][key], key
    with pytest.raises(Exception, match="unknown ablation arm"):
        ablations.checkpoint_path("x", "LIIF-z", 0)


def test_fixed_scale_edsr_uses_liif_encoder_and_resizes_other_scales():
    liif = make({"name": "liif", "args": {"encoder_spec": {"name": "edsr-baseline", "args": {"n_resblocks": 2, "n_feats": 8}},
                                          "imnet_spec": {"name": "mlp", "args": {"out_dim": 3, "hidden_list": [8]}}}})
    for scale in (2, 3, 4):
        net = make({"name": "edsr-baseline-fixed", "args": {"scale": scale, "n_resblocks": 2, "n_feats": 8}})
        assert net.encoder.state_dict().keys() == liif.encoder.state_dict().keys()
        lr = torch.rand(1, 3, 7, 9) * 2 - 1
        assert net(lr).shape == (1, 3, 7 * scale, 9 * scale)
        out = net.upscale_to(lr, (20, 30))
        assert out.shape == (1, 3, 20, 30)
    with pytest.raises(ValueError, match="x2, x3 or x4"):
        make({"name": "edsr-baseline-fixed", "args": {"scale": 5}})


def test_fixed_scale_edsr_trains_on_its_scale(tmp_path):
    from reproduce.config import load_config
    from reproduce.engine import read_log, train
    cfg = load_config(None, {
        "model": {"name": "edsr-baseline-fixed", "args": {"scale": 2, "n_resblocks": 1, "n_feats": 8}},
        "train": {"datasets": ["sample"], "limit": 2, "repeat": 1, "task": "image", "patch": 32, "scale_min": 2.0,
                  "scale_max": 2.0, "loss": "l1", "batch_size": 2, "steps": 2, "lr": 1e-3},
        "valid": {"dataset": "sample", "limit": 1, "crop": 48, "scale": 2, "every": 2},
        "run": {"out_dir": str(tmp_path / "run"), "log_every": 1, "checkpoint_every": 2}})
    train(cfg, log=lambda m: None)
    assert [r["step"] for r in read_log(tmp_path / "run") if "loss" in r] == [1, 2]


def test_model_overrides_change_one_argument():
    from reproduce.cli import dotted_overrides
    from reproduce.config import load_config
    cfg = load_config("configs/cpu/edsr-baseline-liif.yaml", dotted_overrides(["model.args.local_ensemble=false"]))
    assert cfg["model"]["args"]["local_ensemble"] is False
    assert cfg["model"]["args"]["encoder_spec"]["name"] == "edsr-baseline"  # the rest of the spec is kept


def test_border_jump_separates_blocky_from_smooth_upsampling():
    torch.manual_seed(0)
    lr = F.avg_pool2d(torch.rand(1, 3, 64, 80), 4)[0]  # a smooth-ish 16 x 20 image
    blocky = F.interpolate(lr[None], scale_factor=6, mode="nearest")[0]
    smooth = F.interpolate(lr[None], scale_factor=6, mode="bilinear", align_corners=False)[0]
    b, s = ablations.cell_border_jump(blocky, (16, 20)), ablations.cell_border_jump(smooth, (16, 20))
    assert b["inside"] == pytest.approx(0.0, abs=1e-7) and b["ratio"] > 100
    assert 0.5 < s["ratio"] < 2.0 and s["border"] > 0
    # A non-integer scale (x2.5) with ties: a blocky output made by LIIF's own nearest sampling
    # (grid_sample, ties to even) has no jump inside any of the cells the measure uses.
    from reproduce.coords import make_coord
    from reproduce.models.liif import _sample_nearest
    small = torch.rand(1, 3, 10, 8)
    coord = make_coord((25, 20)).unsqueeze(0)
    odd = _sample_nearest(small, coord)[0].T.reshape(3, 25, 20)
    assert ablations.cell_border_jump(odd, (10, 8))["inside"] == pytest.approx(0.0, abs=1e-7)


def _scores(effect=-0.1, seeds=(0, 1, 2), images=30, scales=(2.0, 12.0)):
    import numpy as np
    import pandas as pd
    rng = np.random.default_rng(0)
    rows = []
    for scale in scales:
        base = rng.normal(30, 2, images)
        for seed in seeds:
            run = rng.normal(0, 0.02)  # seed-to-seed offset of the whole run
            for i in range(images):
                liif = base[i] + run + rng.normal(0, 0.01)
                rows.append(("LIIF", seed, "Kodak24", f"im{i}", scale, liif))
                rows.append(("LIIF-e", seed, "Kodak24", f"im{i}", scale, liif + effect + rng.normal(0, 0.01)))
    return pd.DataFrame(rows, columns=["method", "seed", "set", "image", "scale", "psnr"])


def test_effect_table_pairs_seeds_and_carries_the_paper_delta():
    table = ablations.effect_table(_scores(), n_boot=2000)
    e = table[(table["method"] == "LIIF-e") & (table["scale"] == 12.0)].iloc[0]
    assert e["seeds"] == 3 and e["delta"] == pytest.approx(-0.1, abs=0.01) and e["ci_high"] < 0 < e["ci_high"] + 0.2
    assert e["paper_delta"] == pytest.approx(23.66 - 23.71)  # the paper's -e at x12
    ref = table[table["method"] == "LIIF"]
    assert ref["delta"].isna().all() and ref["paper_delta"].eq(0).all()
    none = ablations.effect_table(_scores(effect=0.0), n_boot=2000)
    n = none[none["method"] == "LIIF-e"]
    assert ((n["ci_low"] < 0) & (n["ci_high"] > 0)).all()  # no effect: every interval covers zero


def test_effect_table_pairs_only_shared_seeds():
    s = _scores(seeds=(0, 1, 2))
    unequal = s[~((s["method"] == "LIIF-e") & (s["seed"] == 2))]  # the arm has seeds 0, 1; LIIF 0, 1, 2
    row = ablations.effect_table(unequal, n_boot=500).query("method == 'LIIF-e'").iloc[0]
    assert row["paired_seeds"] == 2 and row["seeds"] == 2 and row["paired_images"] == 30
    disjoint = s[~((s["method"] == "LIIF-e") & (s["seed"] < 2)) & ~((s["method"] == "LIIF") & (s["seed"] == 2))]
    row = ablations.effect_table(disjoint, n_boot=500).query("method == 'LIIF-e'").iloc[0]
    assert np.isnan(row["delta"]) and np.isnan(row["ci_low"])  # no shared seed: no paired difference
    claims = ablations.ablation_claims(ablations.effect_table(disjoint, n_boot=500), "Kodak24")
    assert {c["verdict"] for c in claims if c["a"] == "LIIF-e"} == {"not tested"}
    one = s[s["seed"] == 0]
    c = [c for c in ablations.ablation_claims(ablations.effect_table(one, n_boot=500), "Kodak24") if c["a"] == "LIIF-e"][0]
    assert "training noise not covered" in c["scope"]


def test_seed_spread_and_detectable_difference():
    spread = ablations.seed_spread(_scores(seeds=(0, 1, 2, 3)))
    assert spread["seeds"].eq(4).all() and (spread["sd"] > 0.002).all() and (spread["sd"] < 0.06).all()
    assert ablations.detectable_difference(0.1, 2) == pytest.approx((1.959964 + 0.841621) * 0.1, rel=1e-4)
    assert ablations.detectable_difference(0.1, 8) == pytest.approx(ablations.detectable_difference(0.1, 2) / 2)
    assert ablations.detectable_difference(0.1, 2, df=2) > 1.8 * ablations.detectable_difference(0.1, 2)  # t, few seeds
    with pytest.raises(ValueError):
        ablations.detectable_difference(0.1, 0)


def test_claims_from_the_effect_table():
    effects = ablations.effect_table(_scores(effect=-0.1), n_boot=2000)
    rows = {(r["a"], r["scope"].split(";")[0].split(", ")[1]): r for r in ablations.ablation_claims(effects, "Kodak24")}
    assert rows[("LIIF-e", "x2")]["verdict"] == "reproduced"
    assert rows[("LIIF-e", "x2")]["scope"] == "Kodak24, x2, 3 paired seeds; seed-noise floor not measured"  # no noise given
    assert rows[("LIIF-e", "x2")]["n_images"] == 30
    assert rows[("LIIF-e", "x12")]["paper"] == pytest.approx(-0.05)
    assert rows[("LIIF-c", "x2")]["verdict"] == "not tested"  # no -c arm scored
    assert rows[("LIIF-c", "x2")]["scope"] == "Kodak24, x2; no scores for LIIF-c"
    assert rows[("LIIF-c", "x30")]["verdict"] == "not tested"
    gains = ablations.effect_table(_scores(effect=+0.1), n_boot=2000)
    assert {r["verdict"] for r in ablations.ablation_claims(gains, "Kodak24") if r["a"] == "LIIF-e"} == {"contradicted"}


def test_fixed_scale_claim_is_liif_minus_the_fixed_network():
    s = _scores(effect=-0.2, scales=(2.0,))
    s["method"] = s["method"].replace({"LIIF-e": "EDSR-baseline-x2"})
    rows = ablations.fixed_scale_claims(ablations.effect_table(s, n_boot=2000), "Kodak24")
    x2 = rows[0]
    assert x2["delta"] == pytest.approx(0.2, abs=0.02) and x2["ci_low"] > 0 and x2["verdict"] == "reproduced"
    assert x2["win_rate"] > 0.95  # LIIF better on (nearly) every image: the win rate is flipped with the sign
    assert x2["paper"] == pytest.approx(34.67 - 34.55)
    assert [r["verdict"] for r in rows[1:]] == ["not tested", "not tested"]
    assert x2["scope"].endswith("seed-noise floor not measured")  # no LIIF seeds here: the verdict rests on images


def test_cell_override_and_sharpness():
    from reproduce.engine import upscale
    from conftest import liif_spec
    torch.manual_seed(0)
    model = make(liif_spec()).eval()
    lr = torch.rand(3, 6, 7)
    normal = upscale(model, lr, (30, 35))
    assert torch.allclose(ablations.upscale_with_cell(model, lr, (30, 35), (30, 35), chunk=100), normal, atol=1e-6)
    assert not torch.allclose(ablations.upscale_with_cell(model, lr, (30, 35), (12, 14)), normal, atol=1e-3)
    img = torch.rand(3, 40, 40)
    blurred = F.avg_pool2d(img[None], 5, stride=1, padding=2, count_include_pad=False)[0]
    assert ablations.sharpness(img) > 2 * ablations.sharpness(blurred) and ablations.sharpness(torch.full((3, 9, 9), 0.5)) == 0


def test_arm_scales_fixed_networks_at_their_own_scale_and_every_arm_in_a_sample():
    from reproduce.ablations import arm_scales

    grid = [2, 3, 4, 12, 2.5]
    assert arm_scales("LIIF-c", grid) == [2.0, 3.0, 4.0, 12.0, 2.5]
    assert arm_scales("EDSR-baseline-x3", grid) == [3.0] and arm_scales("EDSR-baseline-x3", [2, 4]) == []
    assert arm_scales("LIIF", grid, sample_scales=[4, 12]) == [4.0, 12.0]
    # a fixed-scale arm with none of the sample's scales keeps its own, so its weights are still checked
    assert arm_scales("EDSR-baseline-x2", grid, sample_scales=[4, 12]) == [2.0]
    assert arm_scales("EDSR-baseline-x4", grid, sample_scales=[4, 12]) == [4.0]


def test_paired_precision_check_reports_the_shift_of_the_paired_difference():
    import torch.nn.functional as F

    from reproduce.ablations import paired_precision_check

    def nearest(lr, size):
        return F.interpolate(lr[None], size=tuple(size), mode="nearest")[0]

    def darker(lr, size):
        return nearest(lr, size) * 0.97

    out = paired_precision_check(nearest, darker, "sample", [2, 3], limit=2)
    assert list(out["scale"]) == [2.0, 3.0] and (out["images"] == 2).all() and (out["set"] == "sample").all()
    assert (out["delta_fp32"] > 0).all()  # the darker output is further from the ground truth
    # plain callables ignore bf16: the difference is the same in both precisions
    assert out["shift"].abs().max() < 1e-9 and out["max_abs_image_shift"].max() < 1e-9
    # models: bf16 autocast reaches both, so the per-image differences move a little, and only a little
    from conftest import liif_spec
    from reproduce.models import make

    torch.manual_seed(0)
    a, b = make(liif_spec()).eval(), make(liif_spec()).eval()
    out = paired_precision_check(a, b, "sample", [2], limit=1)
    assert 0 < out["max_abs_image_shift"].iloc[0] < 0.5
    assert out["shift"].iloc[0] == pytest.approx(out["delta_bf16"].iloc[0] - out["delta_fp32"].iloc[0])


def test_claims_carry_the_noise_level_of_their_paired_seeds():
    import pandas as pd
    scores = _scores(effect=-0.1)
    noise = ablations.seed_spread(scores)
    effects = ablations.effect_table(scores, n_boot=500)
    rows = {(r["a"], r["scope"].split(";")[0].split(", ")[1]): r
            for r in ablations.ablation_claims(effects, "Kodak24", noise=noise)}
    e2 = rows[("LIIF-e", "x2")]
    sd = noise[(noise["set"] == "Kodak24") & (noise["scale"] == 2.0)].iloc[0]["sd"]
    assert e2["detectable"] == pytest.approx(ablations.detectable_difference(sd, 3, df=2))
    assert e2["noise_floor"] == pytest.approx(4.302653 * sd * (2 / 3) ** 0.5, rel=1e-5)  # t_{0.975, 2 df}
    assert e2["noise_floor"] < 0.1 and e2["verdict"] == "reproduced"  # an effect above the floor keeps its verdict
    assert np.isnan(rows[("LIIF-c", "x2")]["detectable"])  # not tested: no noise level to quote
    without = ablations.ablation_claims(effects, "Kodak24")
    assert all(np.isnan(r["detectable"]) and np.isnan(r["noise_floor"]) for r in without)  # noise not measured
    one_seed = pd.DataFrame({"set": ["Kodak24"], "scale": [2.0], "seeds": [1], "mean": [30.0], "sd": [np.nan]})
    assert all(np.isnan(ablations.claim_noise(one_seed, "Kodak24", 2.0, 2)))
    assert all(np.isnan(ablations.claim_noise(noise, "Set14", 2.0, 2)))  # no row for the set
    known = pd.DataFrame({"set": ["Kodak24"], "scale": [2.0], "seeds": [3], "mean": [30.0], "sd": [0.01]})
    floor, detectable = ablations.claim_noise(known, "Kodak24", 2.0, 2)
    assert floor == pytest.approx(0.04303, abs=1e-5)  # 4.3027 * 0.01 * sqrt(2 / 2)
    assert detectable == pytest.approx((4.302653 + 1.060660) * 0.01, rel=1e-5)  # t quantiles 0.975 and 0.8, 2 df
    assert all(np.isnan(ablations.claim_noise(known, "Kodak24", 2.0, 0)))  # no paired seed
    assert all(np.isnan(ablations.claim_noise(known.assign(sd=np.nan, seeds=3), "Kodak24", 2.0, 2)))  # sd not a number


def test_an_effect_within_the_seed_noise_floor_is_within_noise_whatever_its_image_interval():
    import pandas as pd
    scores = _scores(effect=-0.1)
    effects = ablations.effect_table(scores, n_boot=500)
    loud = ablations.seed_spread(scores).assign(sd=0.5)  # LIIF's seeds spread far more than the effect
    rows = ablations.ablation_claims(effects, "Kodak24", noise=loud)
    e = [r for r in rows if r["a"] == "LIIF-e"]
    assert all(r["ci_high"] < 0 for r in e)  # the interval excludes zero ...
    assert {r["verdict"] for r in e} == {"within noise"}  # ... but the effect is within the floor
    assert "within the seed-noise floor" in ablations.claim_line(e[0])
    s = _scores(effect=-0.2, scales=(2.0,))
    s["method"] = s["method"].replace({"LIIF-e": "EDSR-baseline-x2"})
    fixed = ablations.fixed_scale_claims(ablations.effect_table(s, n_boot=500), "Kodak24",
                                         noise=ablations.seed_spread(s).assign(sd=0.5))
    assert fixed[0]["ci_low"] > 0 and fixed[0]["verdict"] == "within noise"
    quiet = ablations.fixed_scale_claims(ablations.effect_table(s, n_boot=500), "Kodak24", noise=ablations.seed_spread(s))
    assert quiet[0]["verdict"] == "reproduced" and quiet[0]["noise_floor"] < 0.2
    assert fixed[1]["verdict"] == "not tested" and set(fixed[1]) == set(fixed[0])  # one column set for every row
    assert set(e[0]) == set([r for r in rows if r["verdict"] == "not tested"][0])
    assert "within the seed-noise floor of 1.757 dB" in e[0]["scope"]  # the ledger keeps the scope: the reason travels with it
    without = ablations.ablation_claims(effects, "Kodak24")  # noise not measured: the interval alone decides
    assert {r["verdict"] for r in without if r["a"] == "LIIF-e"} == {"reproduced"}


def test_the_seed_noise_floor_boundary_is_within_noise():
    import pandas as pd
    from scipy import stats as sps
    row = {"claim": "c", "a": "LIIF-e", "b": "LIIF", "scope": "Kodak24, x2, 2 paired seeds", "delta": -0.05,
           "ci_low": -0.06, "ci_high": -0.04}
    sd = 0.05 / sps.t.ppf(0.975, 2)  # floor exactly 0.05 with 2 paired seeds
    noise = pd.DataFrame({"set": ["Kodak24"], "scale": [2.0], "seeds": [3], "mean": [30.0], "sd": [sd]})
    assert ablations._judged(row, -1, noise, "Kodak24", 2.0, 2)["verdict"] == "within noise"  # |delta| == floor
    assert ablations._judged({**row, "delta": -0.0501}, -1, noise, "Kodak24", 2.0, 2)["verdict"] == "reproduced"
    assert ablations._judged({**row, "delta": 0.06, "ci_low": 0.055, "ci_high": 0.065}, -1, noise, "Kodak24", 2.0, 2
                             )["verdict"] == "contradicted"


def test_claim_line_says_when_a_null_is_weak_evidence():
    base = {"claim": "without the local ensemble, LIIF loses", "a": "LIIF-e", "b": "LIIF", "scope": "Kodak24, x12, 2 paired seeds",
            "delta": -0.004, "ci_low": -0.02, "ci_high": 0.012, "verdict": "within noise", "paper": -0.05, "noise_floor": 0.05}
    small = ablations.claim_line({**base, "detectable": 0.08})
    assert "-0.004 dB [-0.020, +0.012]" in small and "paper -0.05" in small
    assert "detectable difference 0.080 dB" in small and "weak evidence either way" in small
    assert "seed-noise floor" not in small  # the interval covers zero: nothing to explain
    large = ablations.claim_line({**base, "detectable": 0.01})
    assert "weak evidence" not in large and "within noise" in large
    assert "argue against" not in large  # -0.05 lies inside [-0.02 - 0.05, 0.012 + 0.05]
    against = ablations.claim_line({**base, "detectable": 0.01, "paper": -0.14})
    assert "argue against an effect of the paper's size" in against and "[-0.070, +0.062]" in against
    unfloored = ablations.claim_line({**base, "detectable": 0.01, "paper": -0.05, "noise_floor": float("nan")})
    assert "argue against" in unfloored  # no floor recorded: the interval alone decides
    assert "noise not measured" in ablations.claim_line({**base, "detectable": float("nan")})
    shown = ablations.claim_line({**base, "verdict": "reproduced", "ci_high": -0.001, "detectable": 0.08})
    assert "weak evidence" not in shown  # an interval that excludes zero showed the effect
    assert "**not tested**" in ablations.claim_line({**base, "verdict": "not tested", "delta": None})


def test_measured_noise_reads_the_committed_scores(tmp_path):
    s = _scores().assign(ssim=0.9)
    path = tmp_path / "ablations.csv"
    assert ablations.measured_noise(path) is None  # no file: not measured
    s[s["seed"] == 0].to_csv(path, index=False)
    assert ablations.measured_noise(path) is None  # one LIIF seed: no spread
    s.to_csv(path, index=False)
    noise = ablations.measured_noise(path)
    expected = ablations.seed_spread(s)
    assert noise["sd"].to_numpy() == pytest.approx(expected["sd"].to_numpy()) and noise["seeds"].eq(3).all()


def test_claim_noise_with_one_trained_method():
    import pandas as pd
    known = pd.DataFrame({"set": ["Kodak24"], "scale": [2.0], "seeds": [3], "mean": [30.0], "sd": [0.01]})
    two, det_two = ablations.claim_noise(known, "Kodak24", 2.0, 1)
    one, det_one = ablations.claim_noise(known, "Kodak24", 2.0, 1, trained=1)
    assert one == pytest.approx(0.043027, rel=1e-4) and two == pytest.approx(one * 2 ** 0.5)
    assert det_one == pytest.approx(det_two / 2 ** 0.5)
    with pytest.raises(ValueError):
        ablations.claim_noise(known, "Kodak24", 2.0, 1, trained=3)


def _leads(lead2, lead4, seeds=(0, 1), images=20, lead3=None):
    """Scores of LIIF and the fixed-scale arms whose per-image lead over LIIF is about lead_s at x_s."""
    import pandas as pd
    rng = np.random.default_rng(3)
    rows = []
    for scale, lead in ((2.0, lead2), (4.0, lead4), (3.0, lead3)):
        if lead is None:
            continue
        base = rng.normal(30, 2, images)
        for seed in seeds:
            for i in range(images):
                liif = base[i] + rng.normal(0, 0.01)
                rows.append(("LIIF", seed, "Kodak24", f"im{i}", scale, liif))
                rows.append((f"EDSR-baseline-x{scale:g}", seed, "Kodak24", f"im{i}", scale, liif + lead + rng.normal(0, 0.02)))
    return pd.DataFrame(rows, columns=["method", "seed", "set", "image", "scale", "psnr"])


def test_lead_growth_tests_whether_the_fixed_scale_lead_grows_with_the_scale():
    grows = ablations.lead_growth(_leads(0.1, 0.3), "Kodak24", n_boot=2000)
    assert grows["delta"] == pytest.approx(0.2, abs=0.02) and grows["ci_low"] > 0 and grows["verdict"] == "reproduced"
    assert grows["n_images"] == 20 and grows["scope"] == "Kodak24, 2 paired seeds; seed-noise floor not measured" and grows["win_rate"] > 0.95
    shrinks = ablations.lead_growth(_leads(0.3, 0.1), "Kodak24", n_boot=2000)
    assert shrinks["delta"] == pytest.approx(-0.2, abs=0.02) and shrinks["verdict"] == "contradicted"
    flat = ablations.lead_growth(_leads(0.2, 0.2), "Kodak24", n_boot=2000)
    assert flat["ci_low"] < 0 < flat["ci_high"] and flat["verdict"] == "within noise"
    assert flat["scope"] == "Kodak24, 2 paired seeds"  # within noise by its interval: no floor to name
    # the seed-noise floor: sd 0.1 at x2 (3 LIIF seeds), 0.2 at x4 (4 seeds), 2 paired seeds
    # -> t_{0.975, 2 df (the fewer seeds)} * sqrt(2 * (0.01 + 0.04) / 2)
    import pandas as pd
    noise = pd.DataFrame({"set": ["Kodak24"] * 2, "scale": [2.0, 4.0], "seeds": [3, 4], "mean": [30.0, 28.0], "sd": [0.1, 0.2]})
    loud = ablations.lead_growth(_leads(0.1, 0.3), "Kodak24", noise=noise, n_boot=500)
    assert loud["noise_floor"] == pytest.approx(4.302653 * 0.05 ** 0.5, rel=1e-5)
    assert loud["verdict"] == "within noise" and "within the seed-noise floor of 0.962 dB" in loud["scope"]
    assert loud["detectable"] == pytest.approx((4.302653 + 1.060660) * 0.05 ** 0.5, rel=1e-5)
    assert "not in the paper's table" in ablations.claim_line(loud)
    with pytest.raises(ValueError, match="higher-is-better"):
        ablations.lead_growth(_leads(0.1, 0.3), "Kodak24", metric="stlpips", n_boot=50)
    assert loud["lead_small"] == pytest.approx(0.1, abs=0.01) and loud["lead_large"] == pytest.approx(0.3, abs=0.01)


def test_lead_growth_pairs_each_seed_and_image_across_the_two_scales():
    import pandas as pd
    lead2 = np.array([[0.1, 0.5, 0.3], [0.2, 0.0, 0.4]])  # seeds x images
    lead4 = np.array([[0.2, 0.4, 0.3], [0.1, 0.3, 0.1]])
    rows = []
    for scale, lead in ((2.0, lead2), (4.0, lead4)):
        for seed in (0, 1):
            for i in range(3):
                liif = 30 - scale + i + 0.5 * seed  # LIIF differs by image and seed: a mispairing shows
                rows += [("LIIF", seed, "Kodak24", f"im{i}", scale, liif),
                         (f"EDSR-baseline-x{scale:g}", seed, "Kodak24", f"im{i}", scale, liif + lead[seed, i])]
    s = pd.DataFrame(rows, columns=["method", "seed", "set", "image", "scale", "psnr"]).sample(frac=1, random_state=0)
    r = ablations.lead_growth(s, "Kodak24", 2.0, 4.0, n_boot=500)  # float scales name the same arms
    assert r["delta"] == pytest.approx((lead4 - lead2).mean()) and r["win_rate"] == pytest.approx(2.5 / 6)  # a tie counts 1/2
    assert r["b"] == "lead at x2" and r["claim"].endswith("from x2 to x4") and r["n_images"] == 3
    dropped = ablations.lead_growth(s[~((s["method"] == "LIIF") & (s["seed"] == 1) & (s["image"] == "im2"))], "Kodak24",
                                    n_boot=500)
    assert dropped["n_images"] == 2 and "2 of 3 images" in dropped["scope"]
    assert dropped["delta"] == pytest.approx((lead4 - lead2)[:, :2].mean())
    behind = ablations.lead_growth(s.assign(psnr=np.where(s["method"] == "LIIF", s["psnr"] + 1, s["psnr"])), "Kodak24",
                                   n_boot=500)
    assert "no lead at x2 and x4" in behind["scope"]  # the fixed networks trail LIIF: nothing to explain
    alone = s[(s["image"] == "im0") | (s["method"] != "LIIF")]
    assert ablations.lead_growth(alone, "Kodak24", n_boot=200)["verdict"] == "not tested"  # one complete image


def test_lead_growth_is_not_tested_without_every_arm_and_a_shared_seed():
    s = _leads(0.1, 0.3)
    none = ablations.lead_growth(s[s["method"] != "EDSR-baseline-x2"], "Kodak24", n_boot=200)
    assert none["verdict"] == "not tested" and "no scores for EDSR-baseline-x2 x2" in none["scope"]
    apart = s[~((s["method"] == "EDSR-baseline-x2") & (s["seed"] == 1)) & ~((s["method"] == "EDSR-baseline-x4") & (s["seed"] == 0))]
    assert "no seed shared" in ablations.lead_growth(apart, "Kodak24", n_boot=200)["scope"]
    one = ablations.lead_growth(s[~((s["method"] == "EDSR-baseline-x4") & (s["seed"] == 1))], "Kodak24", n_boot=200)
    assert one["scope"].startswith("Kodak24, 1 paired seed (interval over images only") and one["verdict"] == "reproduced"
    three = ablations.lead_growth(_leads(0.1, 0.3, lead3=0.2), "Kodak24", small=3, n_boot=200)
    assert three["delta"] == pytest.approx(0.1, abs=0.02) and three["b"] == "lead at x3"
    import pandas as pd
    assert ablations.lead_growth(pd.DataFrame(), "Kodak24")["verdict"] == "not tested"  # nothing scored yet


def test_fixed_scale_networks_carry_the_paper_delta_at_their_own_scale_and_share_one_panel():
    s = _leads(0.1, 0.3, lead3=0.2)
    effects = ablations.effect_table(s, n_boot=200)
    x2 = effects[effects["method"] == "EDSR-baseline-x2"].iloc[0]
    assert x2["paper_delta"] == pytest.approx(34.55 - 34.67) and x2["delta"] == pytest.approx(0.1, abs=0.02)
    panel = ablations.fixed_scale_rows(effects)
    assert list(panel["scale"]) == [2.0, 4.0, 3.0] and set(panel["method"]) == {ablations.FIXED_PANEL}
    assert panel["paper_delta"].tolist() == pytest.approx([34.55 - 34.67, 28.94 - 29.00, 30.90 - 30.96])
    elsewhere = s.assign(scale=s["scale"].replace({4.0: 6.0}))  # a fixed network scored off its scale: not its panel point
    assert 6.0 not in set(ablations.fixed_scale_rows(ablations.effect_table(elsewhere, n_boot=200))["scale"])
    import matplotlib
    matplotlib.use("Agg")
    from reproduce.figures import delta_vs_scale
    import pandas as pd
    fig = delta_vs_scale(pd.concat([effects, panel]), "Kodak24", [ablations.FIXED_PANEL], separate=[ablations.FIXED_PANEL])
    assert fig.axes[0].get_title() == f"{ablations.FIXED_PANEL} - LIIF"
    assert all(line.get_linestyle() in ("None", "") for line in fig.axes[0].get_lines() if len(line.get_xdata()) == 3)  # x2-x4, not the zero line
    joined = delta_vs_scale(pd.concat([effects, panel]), "Kodak24", [ablations.FIXED_PANEL])
    assert any(line.get_linestyle() == "-" for line in joined.axes[0].get_lines())  # one model's points: joined
