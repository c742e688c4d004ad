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
    assert g.loc[("benchmarks", 12.0), "n_images"] == 40
    assert g.loc[("Kodak24", 2.0), "paper (DIV2K)"] == pytest.approx(34.67 - 34.64)
    assert g.loc[("benchmarks", 12.0), "paper (DIV2K)"] == pytest.approx(23.71 - 23.55)


def test_evaluate_claims_verdicts_per_set():
    values = {}
    for s, gain in (("A", 3.0), ("B", 1.0), ("C", 0.0)):
        for scale in (4, 30):
            values[("bicubic", s, scale)] = 25.0
            values[("LIIF", s, scale)] = 25.0 + gain
    claims = headline.evaluate_claims(table(values, noise=0.3), n_boot=2000)
    def by(set_name, start):
        return [c.verdict for c in claims if c.scope.startswith(set_name + ",") and c.claim.startswith(start)]
    assert len(claims) == 9
    assert by("A", "LIIF reaches the study's bar") == ["reproduced"]
    assert by("B", "LIIF reaches the study's bar") == ["contradicted"]
    assert by("C", "LIIF beats bicubic inside") == ["within noise"]
    assert by("B", "LIIF beats bicubic far outside") == ["reproduced"]
    assert all("x30" in c.scope for c in claims if "far outside" in c.claim)


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
