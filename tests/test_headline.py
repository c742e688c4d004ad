"""The headline tables and claims of 03/04 (reproduce.headline), on hand-made score tables."""
import numpy as np
import pandas as pd
import pytest

from reproduce import headline
from reproduce.claims import margin_claim


def table(values: dict, n_images: int = 20, seed: int = 0, noise: float = 0.05) -> pd.DataFrame:
    """A score table: ``values[(method, set, scale)]`` = mean PSNR; per-image noise shared by method pairs."""
    rng = np.random.default_rng(seed)
    base = {}
    rows = []
    for (method, set_name, scale), value in values.items():
        # image j of a set has the same difficulty for every method, so differences pair
        diff = base.setdefault((set_name, scale), rng.normal(0, 1.0, n_images))
        own = rng.normal(0, noise, n_images)
        for j in range(n_images):
            rows.append({"method": method, "seed": -1 if method == "bicubic" else 0, "set": set_name,
                         "image": f"img{j:02d}", "scale": float(scale), "psnr": value + diff[j] + own[j],
                         "ssim": 0.8, "stlpips": np.nan})
    return pd.DataFrame(rows)


def test_set_means_counts_images_and_skips_missing_metric():
    t = table({("LIIF", "A", 4): 25.0, ("LIIF", "A", 2): 30.0}, n_images=5, noise=0.0)
    t.loc[t["scale"] == 4, "stlpips"] = 0.2
    m = headline.set_means(t)
    assert list(m["images"]) == [5, 5] and list(m["scale"]) == [2.0, 4.0]  # scales ascend whatever the row order
    assert m.loc[m["scale"] == 2, "stlpips"].isna().all() and m.loc[m["scale"] == 4, "stlpips"].item() == pytest.approx(0.2)
    assert m.loc[m["scale"] == 2, "psnr"].item() == pytest.approx(t[t["scale"] == 2]["psnr"].mean())
    wide = headline.wide_by_scale(m, "stlpips", digits=3)
    assert list(wide.columns) == ["set", "method", "x4"]
    wide = headline.wide_by_scale(m, "psnr")
    assert list(wide.columns) == ["set", "method", "x2", "x4"]


def test_benchmarks_label_names_the_benchmarks_without_scores():
    four = table({("LIIF", s, 2): 30.0 for s in headline.BENCHMARKS}, n_images=2)
    assert headline.benchmarks_label(four) == "benchmarks" and headline.pooled_scope(four) == "pooled benchmarks"
    three = four[four["set"] != "Urban100"]
    assert headline.benchmarks_label(three) == "benchmarks except Urban100 (not scored)"
    assert headline.pooled_scope(three) == "pooled benchmarks except Urban100 (not scored)"
    assert headline.benchmarks_label(four[four["set"] == "Kodak24"]) == "benchmarks (none scored)"


def test_pooled_keeps_images_of_different_sets_apart():
    t = table({("LIIF", "Set5", 2): 30.0, ("LIIF", "Set14", 2): 29.0, ("LIIF", "Kodak24", 2): 28.0}, n_images=3)
    p = headline.pooled(t)
    assert set(p["set"]) == {"benchmarks"} and p["image"].nunique() == 6
    assert not p["image"].str.startswith("Kodak24").any()


def test_published_gain_is_the_papers_liif_minus_bicubic():
    g = headline.published_gain(4)
    assert g["Set5"] == pytest.approx(32.50 - 28.42)      # RDN-LIIF (LIIF Table 2) - classic bicubic
    assert g["Urban100"] == pytest.approx(26.68 - 23.14)
    assert g["Kodak24"] == pytest.approx(29.00 - 26.66)   # DIV2K-valid EDSR-baseline (LIIF Table 1)
    assert set(headline.published_gain(12)) == {"Kodak24"}


def test_div2k_comparison_gain_and_fraction():
    t = table({("bicubic", "Kodak24", 2): 30.0, ("LIIF", "Kodak24", 2): 31.5,
               ("bicubic", "Kodak24", 4): 26.0, ("LIIF", "Kodak24", 4): 27.0})
    d = headline.div2k_comparison(t, n_boot=2000).set_index("scale")
    assert d.loc[2, "our gain"] == pytest.approx(1.5, abs=0.05)
    assert d.loc[2, "ci_low"] < d.loc[2, "our gain"] < d.loc[2, "ci_high"]
    assert d.loc[4, "fraction"] == pytest.approx(d.loc[4, "our gain"] / (29.00 - 26.66))
    assert d.loc[2, "images"] == 20 and d.loc[30, "images"] == 0 and np.isnan(d.loc[30, "our gain"])


def test_benchmark_comparison_puts_our_means_beside_rdn_liif():
    t = table({("LIIF", "Set5", 4): 30.0, ("bicubic", "Set5", 4): 28.0}, n_images=5)
    b = headline.benchmark_comparison(t).set_index(["set", "scale"])
    assert b.loc[("Set5", 4), "paper RDN-LIIF"] == 32.50
    assert b.loc[("Set5", 4), "ours LIIF"] == pytest.approx(t[t.method == "LIIF"]["psnr"].mean())
    assert b.loc[("Set14", 4), "images"] == 0 and np.isnan(b.loc[("Set14", 4), "ours LIIF"])


def test_gap_by_scale_on_stand_in_and_pooled_benchmarks():
    values = {}
    for scale, gap in ((2, 0.0), (12, 0.4)):
        for s in ("Kodak24", "Set5", "Urban100"):
            values[("MetaSR", s, scale)] = 25.0
            values[("LIIF", s, scale)] = 25.0 + gap
    g = headline.gap_by_scale(table(values), n_boot=2000).set_index(["set", "scale"])
    assert g.loc[("Kodak24", 12.0), "delta"] == pytest.approx(0.4, abs=0.05)
    pooled = "Set5+Urban100"  # benchmarks scored at the same scales, pooled and named
    assert g.loc[(pooled, 12.0), "n_images"] == 40
    assert g.loc[("Kodak24", 2.0), "paper (DIV2K)"] == pytest.approx(34.67 - 34.64)
    assert g.loc[(pooled, 12.0), "paper (DIV2K)"] == pytest.approx(23.71 - 23.55)


def test_a_benchmark_scored_at_fewer_scales_is_not_pooled_with_the_others():
    # each set has its own constant gap; Urban100 stops at x8: pooling it would make the gap "fall" after x8
    values = {}
    for s, gap, scales in (("Set5", 0.1, (2, 3, 4, 8, 12)), ("Set14", 0.1, (2, 3, 4, 8, 12)), ("Urban100", 0.6, (2, 3, 4, 8))):
        for scale in scales:
            values[("MetaSR", s, scale)] = 25.0
            values[("LIIF", s, scale)] = 25.0 + gap
    t = table(values, noise=0.01)
    labels = [label for label, _ in headline.benchmark_groups(t)]
    assert labels == ["Set5+Set14", "Urban100"]
    g = headline.gap_by_scale(t, n_boot=500).set_index(["set", "scale"])
    assert g.loc[("Set5+Set14", 8.0), "delta"] == pytest.approx(g.loc[("Set5+Set14", 12.0), "delta"], abs=0.02)
    assert g.loc[("Urban100", 8.0), "delta"] == pytest.approx(0.6, abs=0.02) and ("Urban100", 12.0) not in g.index
    growth = [c for c in headline.comparison_claims(t, n_boot=500) if c.claim.startswith("LIIF's lead")]
    assert [c.scope.split(";")[0] for c in growth] == ["Kodak24", "Set5+Set14", "Urban100"]
    assert growth[2].a == "gap at x8" and growth[1].a == "gap at x8/12" and growth[2].n_images == 20


def test_wide_by_scale_orders_columns_by_scale_whatever_set_comes_first():
    t = table({("LIIF", "Urban100", 2): 30.0, ("LIIF", "Urban100", 8): 25.0, ("LIIF", "Set5", 2): 31.0,
               ("LIIF", "Set5", 2.5): 30.0, ("LIIF", "Set5", 12): 24.0}, n_images=2)
    wide = headline.wide_by_scale(headline.set_means(t), "psnr")
    assert list(wide.columns) == ["set", "method", "x2", "x2.5", "x8", "x12"]
    assert wide["set"].tolist() == ["Urban100", "Set5"] and pd.isna(wide.loc[0, "x12"])


def test_evaluate_claims_verdicts_per_set_and_scale():
    # gains differ between x4 and x30, so a claim read at the wrong scale gets the wrong verdict
    gains = {"A": (3.0, 0.0), "B": (1.0, 2.0), "C": (0.0, 1.0)}
    values = {}
    for s, (g4, g30) in gains.items():
        for scale, gain in ((4, g4), (30, g30)):
            values[("bicubic", s, scale)] = 25.0
            values[("LIIF", s, scale)] = 25.0 + gain
    claims = headline.evaluate_claims(table(values, noise=0.3), n_boot=2000)
    def by(set_name, start):
        return [c.verdict for c in claims if c.scope.startswith(set_name + ",") and c.claim.startswith(start)]
    assert len(claims) == 9
    assert by("A", "LIIF reaches the study's bar") == ["reproduced"]      # x4 gain 3 dB
    assert by("B", "LIIF reaches the study's bar") == ["contradicted"]    # x4 gain 1 dB (x30's 2 dB must not count)
    assert by("A", "LIIF beats bicubic far outside") == ["within noise"]  # x30 gain 0
    assert by("C", "LIIF beats bicubic inside") == ["within noise"]
    assert by("C", "LIIF beats bicubic far outside") == ["reproduced"]
    assert all("x30" in c.scope for c in claims if "far outside" in c.claim)
    # a set scored at fewer scales is tested far out at its own largest scale
    fewer = table({("bicubic", "U", 4): 25.0, ("LIIF", "U", 4): 27.0, ("bicubic", "U", 8): 25.0,
                   ("LIIF", "U", 8): 25.5}, noise=0.1)
    far = [c for c in headline.evaluate_claims(pd.concat([table(values), fewer]), n_boot=500) if "far outside" in c.claim]
    assert [c.scope.split(";")[0] for c in far] == ["A, x30", "B, x30", "C, x30", "U, x8"]
    assert far[-1].verdict == "reproduced"
    # the far scale of a set can be given (its design's largest, x8 for Urban100), and must lie outside x1-x4
    claims = headline.evaluate_claims(pd.concat([table(values), fewer]), far_scales={"U": 4, "Urban100": 8},
                                      sets=["U", "Urban100"], n_boot=500)
    far = [c for c in claims if "far outside" in c.claim]
    assert [c.verdict for c in far] == ["not tested", "not tested"]
    assert "inside the training scales" in far[0].scope and far[1].scope.startswith("Urban100, x8")
    # a declared set without scores gets its three claims, not tested, instead of vanishing
    claims = headline.evaluate_claims(table(values, noise=0.3), sets=["A", "Urban100"], n_boot=500)
    assert len(claims) == 6 and [c.verdict for c in claims[3:]] == ["not tested"] * 3
    assert all(c.scope.startswith("Urban100, x") for c in claims[3:])
    # LIIF's measured seed spread: a floor above C's 1 dB gain at x30 makes it within noise; unmeasured sets say so
    noise = pd.DataFrame({"set": ["C", "A"], "scale": [30.0, 4.0], "seeds": [3, 3], "mean": [25.0, 25.0], "sd": [0.3, 0.001]})
    plain = headline.evaluate_claims(table(values, noise=0.3), n_boot=2000)
    assert [c.verdict for c in plain if c.scope.startswith("C, x30")] == ["reproduced"]  # without the noise
    claims = headline.evaluate_claims(table(values, noise=0.3), noise=noise, n_boot=2000)
    c30 = [c for c in claims if c.scope.startswith("C, x30")][0]
    assert c30.verdict == "within noise" and "training-noise floor 1.291 dB" in c30.scope  # 4.3027 * 0.3, one trained
    a4 = [c for c in claims if c.scope.startswith("A, x4") and "inside" in c.claim][0]
    assert a4.verdict == "reproduced" and "floor 0.004 dB" in a4.scope
    assert all(c.scope.endswith("not measured here") for c in claims if c.scope.startswith("B,"))


def x4_table(n_images: int = 20, seed: int = 3) -> pd.DataFrame:
    """x4 scores of LIIF, SRResNet, SRGAN, SRCNN on Set5 and Set14: SRGAN trades PSNR for ST-LPIPS and NIQE."""
    rng = np.random.default_rng(seed)
    means = {"LIIF": (30.0, 0.20, 6.0), "SRResNet": (30.2, 0.18, 6.0), "SRGAN": (28.5, 0.10, 4.0),
             "SRCNN": (29.0, 0.25, 7.0)}
    rows = []
    for set_name in ("Set5", "Set14"):
        hard = rng.normal(0, 1.0, n_images)
        for method, (p, l, n) in means.items():
            for j in range(n_images):
                rows.append({"method": method, "seed": 0, "set": set_name, "image": f"img{j:02d}", "scale": 4.0,
                             "psnr": p + hard[j] + rng.normal(0, 0.05), "ssim": 0.8,
                             "stlpips": l + 0.01 * hard[j] + rng.normal(0, 0.005), "niqe": n + rng.normal(0, 0.1)})
    return pd.DataFrame(rows)


def test_comparison_claims_srgan_srresnet_and_set5_directions():
    claims = {(c.claim, c.scope.split(";")[0]): c for c in headline.comparison_claims(x4_table(), logs=None, n_boot=2000)}
    pooled = "pooled benchmarks except B100, Urban100 (not scored), x4"
    assert claims[("SRGAN gives up PSNR against SRResNet", pooled)].verdict == "reproduced"
    assert claims[("SRGAN has lower ST-LPIPS than SRResNet", pooled)].verdict == "reproduced"
    assert claims[("SRGAN has lower NIQE than SRResNet", pooled)].verdict == "reproduced"
    # a benchmark without scores stays in the ledger as not tested, per set
    for set_name in ("B100", "Urban100"):
        missing = claims[("LIIF has higher PSNR than SRResNet at x4", set_name)]
        assert missing.verdict == "not tested" and "no scores" in missing.scope
    liif_res = claims[("LIIF has lower ST-LPIPS than SRResNet at x4", "Set14, x4")]
    assert liif_res.verdict == "contradicted" and "one trained model" in liif_res.scope
    assert claims[("LIIF has higher PSNR than SRResNet at x4", "Set5, x4")].verdict == "contradicted"
    assert claims[("LIIF has higher PSNR than SRCNN (course report, Set5)", "Set5, x4")].verdict == "reproduced"
    assert claims[("LIIF has higher PSNR than SRGAN (course report, Set5)", "Set5, x4")].delta == pytest.approx(1.5, abs=0.1)


def test_srgan_psnr_drop_sign_and_published():
    d = headline.srgan_psnr_drop(x4_table(), n_boot=1000).set_index("set")
    assert d.loc["Set5", "delta"] == pytest.approx(-1.7, abs=0.1)  # SRGAN - SRResNet
    assert d.loc["Set5", "published"] < 0 and d.loc["Set5", "ci_high"] < 0


def test_against_reference_uses_the_same_images_for_every_method():
    t = x4_table(n_images=6)
    t.loc[(t["method"] == "SRGAN") & (t["set"] == "Set5") & (t["image"] == "img00"), "niqe"] = np.nan
    a = headline.against_reference(t, "LIIF", 4).set_index(["set", "method"])
    assert (a.loc["Set5", "images"] == 5).all() and (a.loc["Set14", "images"] == 6).all()
    kept = t[(t["set"] == "Set5") & (t["image"] != "img00")]
    assert a.loc[("Set5", "LIIF"), "psnr"] == pytest.approx(kept[kept["method"] == "LIIF"]["psnr"].mean())


def test_report_set5_table_puts_ours_beside_the_report_and_classic():
    r = headline.report_set5_table(headline.set_means(x4_table())).set_index("method")
    assert r.loc["SRGAN", "ours PSNR"] == pytest.approx(x4_table().query("method == 'SRGAN' and set == 'Set5'")["psnr"].mean())
    assert r.loc["bicubic", "images"] == 0 and np.isnan(r.loc["bicubic", "ours PSNR"])
    from reproduce import paper
    assert r.loc["SRGAN", "classic PSNR"] == paper.CLASSIC_X4["SRGAN"]["Set5"][0]


def test_margin_claim_for_a_lower_is_better_metric():
    rows = []
    for j in range(30):
        rows += [{"method": "A", "seed": 0, "set": "S", "image": str(j), "scale": 4.0, "stlpips": 0.2 + 0.001 * (j % 3)},
                 {"method": "B", "seed": 0, "set": "S", "image": str(j), "scale": 4.0, "stlpips": 0.3}]
    t = pd.DataFrame(rows)
    assert margin_claim(t, "A", "B", "stlpips", 0.05, n_boot=1000).verdict == "reproduced"
    assert margin_claim(t, "A", "B", "stlpips", 0.2, n_boot=1000).verdict == "contradicted"
    assert margin_claim(t, "A", "B", "stlpips", 0.099, n_boot=1000).verdict == "within noise"
    assert margin_claim(t, "A", "C", "stlpips", 0.05).verdict == "not tested"
    with pytest.raises(ValueError):
        margin_claim(t, "A", "B", "stlpips", -1)


def test_comparison_claims_gap_growth_and_missing_methods():
    values = {}
    for s in ("Kodak24", "Set5", "Set14"):
        for scale in (2, 3, 4, 6, 12, 18, 24, 30):
            values[("MetaSR", s, scale)] = 25.0
            values[("LIIF", s, scale)] = 25.0 + (0.0 if scale <= 4 else 0.5)
    claims = headline.comparison_claims(table(values, noise=0.1), logs=None, n_boot=2000)
    growth = [c for c in claims if c.claim.startswith("LIIF's lead")]
    assert [c.verdict for c in growth] == ["reproduced", "reproduced"]
    per_scale = {c.scope.split(",")[1].strip(): c.verdict for c in claims if c.claim == "LIIF has higher PSNR than MetaSR"}
    assert per_scale["x12"] == "reproduced" and per_scale["x2"] == "within noise"
    assert all(c.verdict == "not tested" for c in claims if "SRGAN" in c.claim or "SRResNet" in c.claim or "catching" in c.claim)


def test_comparison_claims_read_one_model_psnr_claims_against_the_measured_noise():
    t = x4_table()
    noise = pd.DataFrame({"set": ["Set14", "Set5"], "scale": [4.0, 4.0], "seeds": [3, 3], "mean": [28.0, 30.0],
                          "sd": [0.2, 0.0001]})
    claims = {(c.claim, c.scope.split(";")[0]): c for c in headline.comparison_claims(t, noise=noise, n_boot=1000)}
    plain = {(c.claim, c.scope.split(";")[0]): c for c in headline.comparison_claims(t, n_boot=1000)}
    key = ("LIIF has higher PSNR than SRResNet at x4", "Set14, x4")
    assert plain[key].verdict == "contradicted"  # SRResNet 0.2 dB ahead, image interval excludes zero
    assert claims[key].verdict == "within noise" and "floor 1.217 dB" in claims[key].scope  # 4.3027 * 0.2 * sqrt(2)
    set5 = ("LIIF has higher PSNR than SRCNN (course report, Set5)", "Set5, x4")
    assert claims[set5].verdict == plain[set5].verdict == "reproduced" and "floor 0.001 dB" in claims[set5].scope
    lpips = ("LIIF has lower ST-LPIPS than SRResNet at x4", "Set14, x4")
    assert claims[lpips].scope.endswith("not measured here") and claims[lpips].verdict == plain[lpips].verdict
    pooled = [c for c in claims.values() if c.scope.startswith("pooled")]
    assert pooled and all(c.scope.endswith("not measured here") for c in pooled)
    assert all("gap's shape not measured" in c.scope for c in claims.values() if c.claim.startswith("LIIF's lead"))
