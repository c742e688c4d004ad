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
