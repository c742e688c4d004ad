"""Paired comparisons: hand-made tables with known answers, and the edge cases."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from reproduce.stats import compare_methods, paired_difference, verdict


def test_constant_difference_has_a_zero_width_interval():
    a = np.array([30.0, 31.0, 28.0, 35.0])
    d = paired_difference(a, a - 0.25)
    assert d.delta == pytest.approx(0.25) and d.ci_low == pytest.approx(0.25) and d.ci_high == pytest.approx(0.25)
    assert d.win_rate == 1.0 and d.n_images == 4 and d.n_seeds == 1
    assert verdict(d, +1) == "reproduced" and verdict(d, -1) == "contradicted"


def test_pairing_removes_image_difficulty():
    # Image difficulty varies by 10 dB; A is 0.1 dB better on every image but one.
    rng = np.random.default_rng(1)
    b = rng.uniform(20, 30, size=50)
    a = b + 0.1
    a[0] = b[0] - 0.05
    d = paired_difference(a, b)
    assert 0 < d.ci_low < d.delta < d.ci_high
    assert d.win_rate == pytest.approx(49 / 50)
    # Unpaired, the same means would be hopeless: the spread of b alone is ~3 dB.
    assert b.std() > 20 * (d.ci_high - d.ci_low)


def test_interval_matches_the_normal_approximation():
    rng = np.random.default_rng(2)
    diff = rng.normal(0.3, 1.0, size=400)
    d = paired_difference(diff, np.zeros_like(diff), n_boot=20000)
    se = diff.std(ddof=1) / np.sqrt(len(diff))
    assert d.ci_low == pytest.approx(diff.mean() - 1.96 * se, abs=0.25 * se)
    assert d.ci_high == pytest.approx(diff.mean() + 1.96 * se, abs=0.25 * se)


def test_symmetric_noise_is_within_noise_and_ties_count_half():
    a = np.array([1.0, 2.0, 3.0, 4.0])
    b = np.array([2.0, 1.0, 4.0, 3.0])
    d = paired_difference(a, b)
    assert d.delta == 0 and verdict(d, +1) == "within noise" and verdict(d, -1) == "within noise"
    assert paired_difference(a, a).win_rate == 0.5


def test_lower_is_better_win_rate():
    d = paired_difference([0.1, 0.2, 0.3], [0.2, 0.3, 0.1], lower_is_better=True)
    assert d.win_rate == pytest.approx(2 / 3)


def test_seeds_widen_the_interval():
    # Per-seed offsets (training noise) of +-0.3 dB on top of a 0.1 dB effect.
    rng = np.random.default_rng(3)
    base = rng.normal(0, 0.05, size=(3, 60)) + 0.1
    noisy = base + np.array([[0.3], [-0.3], [0.0]])
    one = paired_difference(noisy[:1], np.zeros((1, 60)))
    three = paired_difference(noisy, np.zeros((3, 60)))
    assert three.n_seeds == 3
    assert (three.ci_high - three.ci_low) > 5 * (one.ci_high - one.ci_low)
    assert verdict(three, +1) == "within noise"


def test_bad_inputs():
    with pytest.raises(ValueError, match="equal non-empty"):
        paired_difference([1, 2], [1, 2, 3])
    with pytest.raises(ValueError, match="equal non-empty"):
        paired_difference([], [])
    with pytest.raises(ValueError, match="NaN"):
        paired_difference([1, float("nan")], [1, 2])
    with pytest.raises(ValueError):
        verdict(None, 0)
    assert verdict(None, +1) == "not tested"


def test_compare_methods_pairs_by_image_and_group():
    rows = []
    for scale in (2, 4):
        for i in range(5):
            rows.append({"method": "A", "seed": 0, "set": "S", "image": f"i{i}", "scale": scale, "psnr": 30 + i + (0.5 if scale == 2 else -0.5)})
            rows.append({"method": "B", "seed": 0, "set": "S", "image": f"i{4 - i}", "scale": scale, "psnr": 30 + (4 - i)})
    rows.append({"method": "B", "seed": 0, "set": "S", "image": "extra", "scale": 2, "psnr": 0.0})  # unpaired
    table = compare_methods(pd.DataFrame(rows), "psnr", "A", "B", n_boot=500)
    by_scale = table.set_index("scale")
    assert by_scale.loc[2, "delta"] == pytest.approx(0.5) and by_scale.loc[2, "n_images"] == 5
    assert by_scale.loc[4, "delta"] == pytest.approx(-0.5)
    assert list(table.columns[:5]) == ["set", "scale", "a", "b", "metric"]


def test_compare_methods_pairs_each_seed_and_image_of_shuffled_rows():
    """A = B + 0.1 on every (seed, set, image), with large image, seed and set offsets and the rows shuffled:
    correctly paired, every difference is 0.1, so the interval has no width and A wins everywhere; a mispairing
    of images, seeds or sets (two sets share image names) would spread the differences by whole dB."""
    rng = np.random.default_rng(3)
    rows = []
    for set_offset, set_name in ((0.0, "S"), (7.0, "T")):
        for seed in (0, 1, 2):
            for i in range(6):
                base = 25 + set_offset + 3.0 * seed + rng.normal(0, 4)
                rows.append({"method": "B", "seed": seed, "set": set_name, "image": f"i{i}", "scale": 4, "psnr": base})
                rows.append({"method": "A", "seed": seed, "set": set_name, "image": f"i{i}", "scale": 4, "psnr": base + 0.1})
    shuffled = pd.DataFrame(rows).sample(frac=1.0, random_state=1).reset_index(drop=True)
    d = compare_methods(shuffled, "psnr", "A", "B", by=("scale",), n_boot=500).iloc[0]
    assert d["n_images"] == 12 and d["delta"] == pytest.approx(0.1)
    assert d["ci_low"] == pytest.approx(0.1) and d["ci_high"] == pytest.approx(0.1) and d["win_rate"] == 1.0
    with pytest.raises(ValueError, match="more than one psnr row for seed 0, image S/i0"):
        compare_methods(pd.concat([shuffled, shuffled[(shuffled["method"] == "A") & (shuffled["image"] == "i0")
                                                      & (shuffled["set"] == "S") & (shuffled["seed"] == 0)]]),
                        "psnr", "A", "B", by=("scale",), n_boot=50)


def test_compare_methods_against_a_method_without_seeds():
    rows = [{"method": "A", "seed": s, "set": "S", "image": f"i{i}", "scale": 2, "stlpips": 0.1 + 0.01 * s} for s in (0, 1) for i in range(4)]
    rows += [{"method": "bicubic", "seed": -1, "set": "S", "image": f"i{i}", "scale": 2, "stlpips": 0.3} for i in range(4)]
    d = compare_methods(pd.DataFrame(rows), "stlpips", "A", "bicubic", n_boot=200).iloc[0]
    assert d["n_seeds"] == 2 and d["delta"] == pytest.approx(0.105 - 0.3) and d["win_rate"] == 1.0


def test_infinite_scores_and_intervals_are_refused():
    with pytest.raises(ValueError, match="infinity"):
        paired_difference([1.0, float("inf")], [1.0, 2.0])
    with pytest.raises(ValueError, match="not finite"):
        verdict({"ci_low": float("nan"), "ci_high": 1.0}, +1)


def test_summary_against_takes_one_scale():
    from reproduce.stats import summary_against

    rows = [{"method": m, "seed": 0, "set": "S", "image": "i", "scale": s, "psnr": 1.0, "ssim": 0.5, "stlpips": 0.1}
            for m in ("A", "B") for s in (2, 4)]
    with pytest.raises(ValueError, match="one set-up"):
        summary_against(pd.DataFrame(rows), "A")


def test_expanded_tail_shrinks_with_few_images_and_refuses_one():
    from reproduce.stats import expanded_tail

    assert expanded_tail(0.95, 5) == pytest.approx(0.001, abs=0.0005)
    assert expanded_tail(0.95, 14) == pytest.approx(0.0125, abs=0.001)
    assert 0.022 < expanded_tail(0.95, 100) < 0.025
    with pytest.raises(ValueError, match="at least 2"):
        expanded_tail(0.95, 1)
    with pytest.raises(ValueError, match="at least 2"):
        paired_difference([1.0], [0.5])


def test_interval_covers_about_95_percent_with_five_images():
    # The plain percentile interval covers a zero-mean effect only ~84 % of the time with 5 images.
    rng = np.random.default_rng(7)
    trials = 400
    covered = sum(
        (lambda d: d.ci_low <= 0 <= d.ci_high)(paired_difference(rng.standard_t(5, size=5), np.zeros(5), n_boot=2000, seed=k))
        for k in range(trials))
    assert covered / trials >= 0.92


def test_compare_methods_pairs_images_within_their_set():
    rows = [{"method": m, "seed": 0, "set": s, "image": f"i{i}", "scale": 2, "psnr": 30 + i + (1.0 if m == "A" else 0.0)
             + (0.5 if s == "T" and m == "A" else 0.0)} for m in ("A", "B") for s in ("S", "T") for i in range(6)]
    d = compare_methods(pd.DataFrame(rows), "psnr", "A", "B", by=("scale",), n_boot=200).iloc[0]
    assert d["n_images"] == 12 and d["delta"] == pytest.approx(1.25)  # 6 images of S (+1) and 6 of T (+1.5)


def test_floor_verdict_turns_only_effects_within_the_floor_into_within_noise():
    from reproduce.stats import floor_verdict
    assert floor_verdict("reproduced", 0.05, 0.05) == "within noise"  # at the floor: not exceeded
    assert floor_verdict("contradicted", -0.04, 0.05) == "within noise"  # either sign
    assert floor_verdict("reproduced", 0.0501, 0.05) == "reproduced"
    assert floor_verdict("reproduced", 0.01, float("nan")) == "reproduced"  # noise not measured
    assert floor_verdict("not tested", 0.0, 0.05) == "not tested"
    assert floor_verdict("within noise", 1.0, 0.05) == "within noise"
