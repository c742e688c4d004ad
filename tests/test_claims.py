"""paired_claim: verdicts on hand-made score tables, including the edge cases."""
from __future__ import annotations

import pandas as pd
import pytest

from reproduce.claims import paired_claim


def table(offset_a: float, metric: str = "psnr", noise: tuple = (0.0,) * 6):
    rows = []
    for i, n in enumerate(noise):
        rows.append({"method": "A", "seed": 0, "set": "S", "image": f"i{i}", "scale": 8, metric: 20 + i + offset_a + n})
        rows.append({"method": "B", "seed": -1, "set": "S", "image": f"i{i}", "scale": 8, metric: 20 + i})
    return pd.DataFrame(rows)


def test_reproduced_and_contradicted():
    assert paired_claim(table(0.3), "A", "B", "psnr").verdict == "reproduced"
    r = paired_claim(table(-0.3), "A", "B", "psnr")
    assert r.verdict == "contradicted" and r.delta == pytest.approx(-0.3) and r.win_rate == 0
    assert "contradicted" in r.sentence("dB") and "-0.300 dB" in r.sentence("dB")


def test_lower_is_better_metrics_flip_the_claim():
    r = paired_claim(table(-0.05, "stlpips"), "A", "B", "stlpips")
    assert r.claim == "A has lower stlpips than B" and r.verdict == "reproduced" and r.win_rate == 1


def test_within_noise():
    r = paired_claim(table(0.0, noise=(0.5, -0.5, 0.4, -0.4, 0.1, -0.1)), "A", "B", "psnr")
    assert r.verdict == "within noise" and r.ci_low < 0 < r.ci_high


def test_missing_method_is_not_tested_and_many_scales_are_refused():
    r = paired_claim(table(0.3), "A", "IPF", "psnr")
    assert r.verdict == "not tested" and "no scores for IPF" in r.scope and "not tested" in r.sentence()
    two = pd.concat([table(0.3), table(0.3).assign(scale=4)])
    with pytest.raises(ValueError, match="one set-up"):
        paired_claim(two, "A", "B", "psnr")


def test_trend_claim_slope_interval_and_verdicts():
    import numpy as np

    from reproduce.claims import trend_claim
    x = np.arange(10) * 500.0
    noise = np.array([0.01, -0.01, 0.0, 0.01, -0.02, 0.02, 0.0, -0.01, 0.01, -0.01])
    falling = trend_claim(x, 0.4 - 2e-5 * x + noise, -1, claim="gap shrinks", a="A", b="B", metric="psnr", scope="val")
    assert falling.delta == pytest.approx(-2e-5, rel=0.2) and falling.ci_high < 0 and falling.verdict == "reproduced"
    flat = trend_claim(x, 0.3 + noise, -1, claim="gap shrinks", a="A", b="B", metric="psnr", scope="val")
    assert flat.ci_low < 0 < flat.ci_high and flat.verdict == "within noise"
    rising = trend_claim(x, 0.3 + 2e-5 * x + noise, -1, claim="gap shrinks", a="A", b="B", metric="psnr", scope="val")
    assert rising.verdict == "contradicted"
    assert trend_claim(x[:2], x[:2], 1, claim="c", a="A", b="B", metric="m", scope="s").verdict == "not tested"


def gap_table(gaps: dict[float, list[float]], metric: str = "psnr"):
    """A and B on three images of two sets; A - B at scale s on image j is gaps[s][j]."""
    rows = []
    for scale, per_image in gaps.items():
        for j, g in enumerate(per_image):
            set_name, image = ("S", f"i{j}") if j < 3 else ("T", f"i{j - 3}")  # same names in two sets
            base = 30 - scale + j
            rows.append({"method": "A", "seed": 0, "set": set_name, "image": image, "scale": scale, metric: base + g})
            rows.append({"method": "B", "seed": 0, "set": set_name, "image": image, "scale": scale, metric: base})
    return pd.DataFrame(rows)


def test_gap_growth_claim_hand_computed():
    from reproduce.claims import gap_growth_claim

    # per image: outside mean - inside mean = (0.3 - 0.1), (0.5 - 0.1), (0.1 - 0.1), ... -> mean 0.2
    gaps = {2: [0.1] * 6, 4: [0.1] * 6, 8: [0.3, 0.5, 0.1, 0.3, 0.5, 0.1], 16: [0.3, 0.5, 0.1, 0.3, 0.5, 0.1]}
    r = gap_growth_claim(gap_table(gaps), "A", "B", "psnr", [2, 4], [8, 16], claim="grows")
    assert r.delta == pytest.approx(0.2) and r.n_images == 6  # S/i0 and T/i0 are different images
    assert r.verdict == "reproduced" and r.win_rate == pytest.approx(5 / 6) and r.a == "gap at x8/16"  # 2 ties: 1/2 each
    # the gap shrinking outside (largest inside, as our LIIF - MetaSR at this budget) contradicts the claim
    shrinking = {2: [0.4] * 6, 4: [0.3, 0.35, 0.3, 0.3, 0.35, 0.3], 8: [0.1, 0.12, 0.1, 0.1, 0.1, 0.11], 16: [0.0] * 6}
    assert gap_growth_claim(gap_table(shrinking), "A", "B", "psnr", [2, 4], [8, 16], claim="grows").verdict == "contradicted"


def test_gap_growth_claim_lower_is_better_and_missing_scales():
    from reproduce.claims import gap_growth_claim

    # ST-LPIPS: A lower by 0.1 outside, equal inside -> A's advantage grows
    gaps = {2: [0.0, 0.01, -0.01, 0.0, 0.01, -0.01], 8: [-0.1, -0.12, -0.09, -0.1, -0.11, -0.1]}
    r = gap_growth_claim(gap_table(gaps, "stlpips"), "A", "B", "stlpips", [2], [8], claim="grows")
    assert r.verdict == "reproduced" and r.delta == pytest.approx(0.1033, abs=1e-3)
    r = gap_growth_claim(gap_table(gaps), "A", "B", "psnr", [2], [8, 30], claim="grows")
    assert r.verdict == "not tested" and "A x30" in r.scope and "B x30" in r.scope


def test_claims_by_set_and_gain_against_published():
    from reproduce.claims import claims_by_set, gain_against_published

    t = gap_table({4: [0.5, 0.6, 0.4, -0.5, -0.6, -0.4]})
    by_set = claims_by_set(t, "A", "B", "psnr", claim="A beats B")
    assert [(c.scope, c.verdict) for c in by_set] == [("S, x4", "reproduced"), ("T, x4", "contradicted")]
    by_set = claims_by_set(t, "A", "B", "psnr", claim="A beats B", sets=["T", "U"])
    assert [c.verdict for c in by_set] == ["contradicted", "not tested"] and by_set[1].scope.startswith("U")
    gains = gain_against_published(t, "A", "B", {"S": 2.0})
    assert gains["set"].tolist() == ["S", "T"] and gains["delta"].tolist() == pytest.approx([0.5, -0.5])
    assert gains.loc[0, "fraction"] == pytest.approx(0.25) and pd.isna(gains.loc[1, "fraction"])
    with pytest.raises(ValueError, match="one scale"):
        gain_against_published(gap_table({2: [0.1] * 6, 4: [0.1] * 6}), "A", "B", {})


def test_validation_gap_and_catching_up_claim():
    from reproduce.claims import catching_up_claim, validation_gap

    steps = range(500, 5001, 500)
    liif = [{"step": s, "loss": 0.1} for s in steps] + [{"step": s, "val_psnr": 28 + s / 5000} for s in steps]
    closing = [{"step": s, "val_psnr": 28 + s / 5000 - 0.5 + s / 20000} for s in steps]  # gap 0.5 - s/20000
    gap = validation_gap(liif, closing, after_step=1000)
    assert gap["step"].tolist() == list(range(1500, 5001, 500)) and gap["gap"].iloc[0] == pytest.approx(0.425)
    r = catching_up_claim(liif, closing, "LIIF", "MetaSR", after_step=1000)
    assert r.verdict == "reproduced" and r.delta == pytest.approx(-0.05)  # per 1000 steps
    wobble = [0.31, 0.33, 0.30, 0.34, 0.32, 0.31, 0.33, 0.32, 0.30, 0.34]
    flat = [{"step": s, "val_psnr": 28 + s / 5000 - w} for s, w in zip(steps, wobble)]
    assert catching_up_claim(liif, flat, "LIIF", "MetaSR", after_step=1000).verdict == "within noise"
    widening = [{"step": s, "val_psnr": 28 + s / 5000 - s / 10000} for s in steps]
    assert catching_up_claim(liif, widening, "LIIF", "MetaSR").verdict == "contradicted"


def test_trend_claim_sentence_words_a_slope():
    from reproduce.claims import trend_claim

    r = trend_claim([1, 2, 3, 4], [0.4, 0.3, 0.2, 0.1], -1, claim="gap falls", a="A", b="B", metric="psnr", scope="steps")
    assert r.sentence("dB") == "* gap falls (steps): slope of A − B -0.100 dB [-0.100, -0.100] over 4 points: **reproduced**."


def test_still_improving_claim_uses_the_last_part_of_the_run():
    from reproduce.claims import still_improving_claim

    steps = list(range(500, 6001, 500))
    # climbs fast, then flat with scatter over the second half: "still improving" cannot be told from flat
    wobble = [0.02, -0.03, 0.01, 0.03, -0.02, 0.0, 0.02]
    plateau = [{"step": s, "val_psnr": 25 + min(s, 3000) / 1000 + (wobble[(s // 500) % 7] if s >= 3000 else 0)}
               for s in steps]
    r = still_improving_claim(plateau + [{"step": 6000, "loss": 0.1}], "LIIF")
    assert r.verdict == "within noise" and r.n_images == 7  # validations at steps 3000..6000
    assert "steps 3000-6000" in r.scope and "slope of LIIF " in r.sentence("dB")
    rising = [{"step": s, "val_psnr": 25 + s / 1000} for s in steps]
    r = still_improving_claim(rising, "LIIF", last_fraction=0.25)
    assert r.verdict == "reproduced" and r.delta == pytest.approx(1.0) and r.n_images == 4
    falling = [{"step": s, "val_psnr": 30 - s / 1000} for s in steps]
    assert still_improving_claim(falling, "LIIF").verdict == "contradicted"
    assert still_improving_claim(rising[:2], "LIIF").verdict == "not tested"
    with pytest.raises(ValueError, match="last_fraction"):
        still_improving_claim(rising, "LIIF", last_fraction=0)


def test_training_summary_reads_the_checkpoint_record():
    from reproduce.budget import training_summary

    ckpt = {"step": 6000, "config": {"train": {"bf16": True, "datasets": ["t91", "b200"]}},
            "provenance": {"seconds_since_start": 7200.0, "started_at_step": 2000, "commit": "abcdef0123456789",
                           "dirty": True, "device": "cpu (AMD EPYC)"}}
    s = training_summary(ckpt)
    assert s["fraction of the paper's schedule"] == "0.60%" and s["training wall time (h)"] == 2.0
    assert s["mean speed (steps/s)"] == pytest.approx(4000 / 7200, abs=0.005)  # only the last process's steps
    assert s["trained at commit"] == "abcdef012345 (dirty)" and s["datasets"] == "t91, b200"
    bare = training_summary({"step": 10})
    assert bare["training wall time (h)"] is None and bare["trained at commit"] is None and bare["datasets"] is None


def test_catching_up_needs_b_behind_a():
    from reproduce.claims import catching_up_claim

    steps = range(500, 5001, 500)
    liif = [{"step": s, "val_psnr": 28 + s / 5000} for s in steps]
    ahead_and_pulling_away = [{"step": s, "val_psnr": 28 + s / 5000 + 0.1 + s / 20000} for s in steps]  # gap < 0, falling
    r = catching_up_claim(liif, ahead_and_pulling_away, "LIIF", "MetaSR")
    assert r.verdict == "not tested" and "not behind" in r.scope


def _noise(sd: float, set_name: str = "S", scale: float = 8.0, seeds: int = 3) -> pd.DataFrame:
    """LIIF's seed spread as ablations.seed_spread gives it: one set and scale."""
    return pd.DataFrame({"set": [set_name], "scale": [scale], "seeds": [seeds], "mean": [30.0], "sd": [sd]})


def test_with_training_noise_turns_an_effect_within_the_floor_into_within_noise():
    from reproduce.claims import with_training_noise
    result = paired_claim(table(0.3), "A", "B", "psnr")
    assert result.verdict == "reproduced" and result.ci_low > 0.29  # the image interval alone excludes zero
    quiet = with_training_noise(result, _noise(0.01), "S", 8)
    assert quiet.verdict == "reproduced"
    assert "training-noise floor 0.061 dB" in quiet.scope  # 4.3027 * 0.01 * sqrt(2): two one-seed networks
    loud = with_training_noise(result, _noise(0.1), "S", 8)  # floor 0.61 dB > 0.3 dB
    assert loud.verdict == "within noise" and "not exceeded" in loud.scope and loud.delta == result.delta
    one = with_training_noise(result, _noise(0.06), "S", 8, trained=1)  # against bicubic: floor 4.3027 * 0.06 = 0.26
    assert one.verdict == "reproduced" and "floor 0.258 dB" in one.scope
    assert with_training_noise(result, _noise(0.06), "S", 8).verdict == "within noise"  # two trained: 0.365 dB
    contradicted = with_training_noise(paired_claim(table(-0.3), "A", "B", "psnr"), _noise(0.1), "S", 8)
    assert contradicted.verdict == "within noise"  # the floor works on both sides


def test_with_training_noise_says_when_nothing_is_measured():
    from reproduce.claims import with_training_noise
    result = paired_claim(table(0.3), "A", "B", "psnr")
    for noise, set_name, scale in ((None, "S", 8), (_noise(0.1), "Other", 8), (_noise(0.1), "S", 4),
                                   (_noise(0.1, seeds=1), "S", 8)):
        r = with_training_noise(result, noise, set_name, scale)
        assert r.verdict == "reproduced" and r.scope.endswith("training noise not measured here")
    lpips = paired_claim(table(-0.3, metric="stlpips"), "A", "B", "stlpips")
    assert with_training_noise(lpips, _noise(1.0), "S", 8).scope.endswith("not measured here")  # PSNR spread only
    missing = paired_claim(table(0.3).query("method == 'A'"), "A", "B", "psnr")
    assert with_training_noise(missing, _noise(0.1), "S", 8) == missing  # not tested stays as it is


def test_with_training_noise_reads_a_margin_claim_at_its_margin():
    from reproduce.claims import margin_claim, with_training_noise
    bar = margin_claim(table(2.3), "A", "B", "psnr", 2.0)
    assert bar.verdict == "reproduced"
    assert with_training_noise(bar, _noise(0.01), "S", 8, trained=1, margin=2.0).verdict == "reproduced"  # 0.3 > 0.043
    assert with_training_noise(bar, _noise(0.1), "S", 8, trained=1, margin=2.0).verdict == "within noise"  # 0.3 < 0.43


def test_with_floor_reads_a_lower_is_better_margin_claim_at_its_margin():
    """"A beats B by more than 0.05 in ST-LPIPS" means A - B < -0.05: an effect of -0.059 is 0.009 past the
    margin, inside a floor of 0.02 (not 0.109 away from it, as delta - margin would say)."""
    from reproduce.claims import margin_claim, with_floor
    bar = margin_claim(table(-0.059, metric="stlpips"), "A", "B", "stlpips", 0.05)
    assert bar.verdict == "reproduced"
    assert with_floor(bar, 0.02, "test", margin=0.05).verdict == "within noise"
    assert with_floor(bar, 0.005, "test", margin=0.05).verdict == "reproduced"  # 0.009 past the margin > 0.005
    short = margin_claim(table(-0.02, metric="stlpips"), "A", "B", "stlpips", 0.05)  # 0.03 short of the margin
    assert short.verdict == "contradicted"
    assert with_floor(short, 0.02, "test", margin=0.05).verdict == "contradicted"
    assert with_floor(short, 0.04, "test", margin=0.05).verdict == "within noise"


def test_floor_verdict_refuses_a_verdict_without_an_effect():
    from reproduce.stats import floor_verdict
    with pytest.raises(ValueError, match="no effect size"):
        floor_verdict("reproduced", float("nan"), 0.1)
    assert floor_verdict("not tested", float("nan"), 0.1) == "not tested"
    assert floor_verdict("within noise", float("nan"), float("nan")) == "within noise"
