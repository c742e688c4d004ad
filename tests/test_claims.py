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
