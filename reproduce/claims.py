"""Claims as tested code: a claim is a function from per-image score tables to a verdict with its interval.

This module holds the building block every notebook uses for "A beats B":
:func:`paired_claim` pairs two methods image by image, takes the bootstrap
interval of ``reproduce.stats`` and words the verdict (reproduced /
contradicted / within noise / not tested). The study's ledger of the
paper's and the source reports' claims (issue 9) is to be built from these
results; notebooks never type a threshold of their own.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

from .stats import LOWER_IS_BETTER, compare_methods, verdict


@dataclass(frozen=True)
class ClaimResult:
    """One claim, tested: ``a`` is better than ``b`` on ``metric`` (over ``scope``)."""
    claim: str
    a: str
    b: str
    metric: str
    scope: str
    delta: float | None
    ci_low: float | None
    ci_high: float | None
    win_rate: float | None
    n_images: int
    verdict: str

    def as_dict(self) -> dict:
        return asdict(self)

    def sentence(self, unit: str = "") -> str:
        """The claim and its evidence in one line of Markdown, numbers as computed."""
        if self.verdict == "not tested":
            return f"* {self.claim}: **not tested** ({self.scope})."
        unit = f" {unit}" if unit else ""
        return (f"* {self.claim} ({self.scope}): {self.a} − {self.b} = {self.delta:+.3f}{unit} "
                f"[{self.ci_low:+.3f}, {self.ci_high:+.3f}] over {self.n_images} images, {self.a} better on "
                f"{self.win_rate:.0%} of them: **{self.verdict}**.")


def paired_claim(scores, a: str, b: str, metric: str, *, claim: str | None = None, scope: str = "all images",
                 n_boot: int = 10000) -> ClaimResult:
    """Test "``a`` is better than ``b`` on ``metric``" on a long score table of one set-up.

    Better means higher, except for the metrics in ``stats.LOWER_IS_BETTER``
    (ST-LPIPS, NIQE, angular errors, ...). A method missing from the table
    gives ``not tested``; several scales are refused (test one set-up at a time).
    """
    better = "lower" if metric in LOWER_IS_BETTER else "higher"
    claim = claim or f"{a} has {better} {metric} than {b}"
    present = set(scores["method"])
    if a not in present or b not in present:
        return ClaimResult(claim, a, b, metric, f"{scope}; no scores for {', '.join(m for m in (a, b) if m not in present)}",
                           None, None, None, None, 0, "not tested")
    if scores["scale"].nunique() != 1:
        raise ValueError(f"paired_claim tests one set-up; the table holds scales {sorted(scores['scale'].unique())}")
    row = compare_methods(scores, metric, a, b, by=("scale",), n_boot=n_boot).iloc[0]
    sign = -1 if metric in LOWER_IS_BETTER else 1
    return ClaimResult(claim, a, b, metric, scope, float(row["delta"]), float(row["ci_low"]), float(row["ci_high"]),
                       float(row["win_rate"]), int(row["n_images"]), verdict(row, sign))


def trend_claim(x, y, claimed_sign: int, *, claim: str, a: str, b: str, metric: str, scope: str,
                level: float = 0.95) -> ClaimResult:
    """Test "``y`` rises (claimed_sign +1) or falls (-1) with ``x``" by the least-squares slope and its t interval.

    For curves of one run, where there are no images to resample: e.g. the
    validation gap between two models against the training step ("MetaSR
    catches up": the gap LIIF - MetaSR falls with the step). ``delta`` is the
    slope per unit of ``x``; the interval is the OLS t interval, which
    assumes independent noise around a straight line (state this beside the
    verdict). Fewer than 3 points give "not tested".
    """
    import numpy as np
    from scipy import stats as sps

    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"x and y need the same 1-D shape, got {x.shape} and {y.shape}")
    if len(x) < 3:
        return ClaimResult(claim, a, b, metric, f"{scope}; fewer than 3 points", None, None, None, None, len(x), "not tested")
    fit = sps.linregress(x, y)
    half = sps.t.ppf(0.5 + level / 2, len(x) - 2) * fit.stderr
    low, high = fit.slope - half, fit.slope + half
    return ClaimResult(claim, a, b, metric, scope, float(fit.slope), float(low), float(high), None, len(x),
                       verdict({"ci_low": low, "ci_high": high}, claimed_sign))
