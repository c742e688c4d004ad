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
from typing import Iterable

from .stats import LOWER_IS_BETTER, compare_methods, floor_verdict, verdict


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
        if self.win_rate is None:  # a slope (trend_claim): no images to win on
            who = self.a if self.b in ("", "-") else f"{self.a} − {self.b}"  # one curve, or the gap between two
            return (f"* {self.claim} ({self.scope}): slope of {who} {self.delta:+.3f}{unit} "
                    f"[{self.ci_low:+.3f}, {self.ci_high:+.3f}] over {self.n_images} points: **{self.verdict}**.")
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


def with_floor(result: ClaimResult, floor: float, source: str, *, margin: float = 0.0, unit: str = " dB",
               fmt: str = ".3f", unmeasured: str = "training noise not measured here") -> ClaimResult:
    """A claim read against a training-noise ``floor`` in the metric's units (NaN: not measured).

    An effect within the floor (for a margin claim, a distance to the margin
    within it) is "within noise", whatever its interval (``stats.floor_verdict``);
    the scope gains the floor and ``source`` (where the floor comes from),
    and says when it was not exceeded, or gains ``unmeasured`` where the
    floor is NaN. A "not tested" result is returned as it is. The one
    wording behind :func:`with_training_noise` (LIIF's spread, PSNR) and
    ``ipf_study.ipf_claims`` (IPF's spread, every metric).
    """
    if result.verdict == "not tested":
        return result
    if floor != floor:  # NaN: nothing measured for this metric, set and scale
        return ClaimResult(**{**result.as_dict(), "scope": f"{result.scope}; {unmeasured}"})
    scope = f"{result.scope}; training-noise floor {floor:{fmt}}{unit} ({source})"
    # a margin is a size in the claim's direction (margin_claim): for a lower-is-better metric "beats by
    # margin" means delta < -margin, so the distance to the margin is -delta - margin, not delta - margin
    sign = -1 if result.metric in LOWER_IS_BETTER else 1
    said = floor_verdict(result.verdict, sign * result.delta - margin, floor)
    if said != result.verdict:
        scope += ", not exceeded"
    return ClaimResult(**{**result.as_dict(), "scope": scope, "verdict": said})


def with_training_noise(result: ClaimResult, noise, set_name: str, scale: float, *, trained: int = 2,
                        margin: float = 0.0) -> ClaimResult:
    """A one-model-per-method claim read against LIIF's measured training noise.

    The interval of :func:`paired_claim` covers the test images, not the
    choice of seed. ``noise`` (LIIF's seed-to-seed spread,
    ``ablations.measured_noise``) gives the floor that training noise alone
    exceeds 5 % of the time between ``trained`` one-seed networks
    (``ablations.claim_noise``, assuming every network's seeds spread as
    LIIF's do): a PSNR effect within it (for a margin claim, a distance to
    the margin within it) is "within noise", whatever its interval
    (:func:`with_floor`). The scope gains the floor, or says that training
    noise is not measured (another metric, a set or scale 05 does not score,
    no noise table). A "not tested" result is returned as it is.
    """
    from .ablations import claim_noise

    if result.verdict == "not tested":
        return result
    floor = claim_noise(noise, set_name, scale, 1, trained=trained)[0] if result.metric == "psnr" else float("nan")
    # PSNR: higher is better, the margin above zero
    return with_floor(result, floor, "LIIF's seed spread", margin=margin)


def margin_claim(scores, a: str, b: str, metric: str, margin: float, *, claim: str | None = None,
                 scope: str = "all images", n_boot: int = 10000) -> ClaimResult:
    """Test "``a`` beats ``b`` on ``metric`` by more than ``margin``" (e.g. a quality bar: bicubic + 2 dB).

    As :func:`paired_claim`, but the interval of the mean difference is
    compared with ``margin`` instead of zero: "reproduced" if it lies wholly
    beyond the margin, "contradicted" if wholly short of it, "within noise"
    if it contains it. For lower-is-better metrics "beats by ``margin``"
    means ``a - b < -margin``. ``delta`` and the interval stay the plain
    differences ``a - b`` (the margin is in the claim's wording).
    """
    if margin < 0:
        raise ValueError(f"margin is a size ({margin} given): the direction comes from the metric")
    lower = metric in LOWER_IS_BETTER
    claim = claim or f"{a} beats {b} on {metric} by more than {margin:g}"
    result = paired_claim(scores, a, b, metric, claim=claim, scope=scope, n_boot=n_boot)
    if result.verdict == "not tested":
        return result
    sign = -1.0 if lower else 1.0
    shifted = {"ci_low": min(sign * result.ci_low, sign * result.ci_high) - margin,
               "ci_high": max(sign * result.ci_low, sign * result.ci_high) - margin}
    return ClaimResult(**{**result.as_dict(), "verdict": verdict(shifted, +1)})


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


def gap_growth_claim(scores, a: str, b: str, metric: str, inside, outside, *, claim: str, scope: str = "all images",
                     n_boot: int = 10000) -> ClaimResult:
    """Test "``a``'s advantage over ``b`` is larger at the ``outside`` scales than at the ``inside`` ones".

    The shape of a gap, not its sign: LIIF's paper finds LIIF - MetaSR small
    inside the training scales (x2-x4) and larger beyond them. Per image
    (paired by ``set``/``image``; averaged over a method's seeds) the
    advantage at scale s is g(s) = a - b (b - a for lower-is-better
    metrics); the per-image statistic is mean g over ``outside`` minus mean
    g over ``inside``, and its mean over images gets a bootstrap interval.
    Only images scored by both methods at every listed scale count
    (``n_images``); ``win_rate`` is the fraction of images whose gap grows
    (ties count one half).
    A method or scale without scores gives "not tested".
    """
    import numpy as np
    import pandas as pd

    from .stats import paired_difference

    inside, outside = [float(s) for s in inside], [float(s) for s in outside]
    label_a, label_b = f"gap at x{_scales(outside)}", f"gap at x{_scales(inside)}"
    part = scores[scores["method"].isin([a, b]) & scores["scale"].isin(inside + outside)].dropna(subset=[metric])
    wide = part.assign(key=part["set"] + "/" + part["image"]).pivot_table(
        index="key", columns=["method", "scale"], values=metric, aggfunc="mean")
    needed = pd.MultiIndex.from_product([[a, b], inside + outside])
    if not set(needed) <= set(wide.columns):
        missing = sorted({f"{m} x{s:g}" for m, s in needed if (m, s) not in wide.columns})
        return ClaimResult(claim, label_a, label_b, metric, f"{scope}; no scores for {', '.join(missing)}",
                           None, None, None, None, 0, "not tested")
    wide = wide[needed].dropna()
    sign = -1.0 if metric in LOWER_IS_BETTER else 1.0
    gap = sign * (wide[a] - wide[b])  # images x scales: a's advantage
    grown = gap[outside].mean(axis=1).to_numpy()
    base = gap[inside].mean(axis=1).to_numpy()
    diff = paired_difference(grown, base, n_boot=n_boot)
    return ClaimResult(claim, label_a, label_b, metric, scope, diff.delta, diff.ci_low, diff.ci_high,
                       diff.win_rate, diff.n_images, verdict(diff, +1))  # ties count one half, as everywhere


def _scales(scales) -> str:
    """``[6.0, 12.0, 30.0]`` -> ``"6/12/30"``."""
    return "/".join(f"{s:g}" for s in scales)


def claims_by_set(scores, a: str, b: str, metric: str, *, claim: str, caveat: str = "",
                  sets: Iterable[str] | None = None, n_boot: int = 10000) -> list[ClaimResult]:
    """:func:`paired_claim` on each test set of a one-scale score table: the per-set spread of "a beats b".

    ``caveat`` (e.g. "one trained model per method") is added to every scope.
    ``sets``: the sets the claim is about, in order (default: those in the
    table, sorted); a set without rows gets ``not tested`` rather than
    dropping out of the ledger.
    """
    out = []
    names = sorted(set(scores["set"])) if sets is None else list(sets)
    for set_name in names:
        part = scores[scores["set"] == set_name]
        scale = part["scale"].unique()
        where = f"{set_name}, x{scale[0]:g}" if len(scale) == 1 else set_name
        where += f"; {caveat}" if caveat else ""
        out.append(paired_claim(part, a, b, metric, claim=claim, scope=where, n_boot=n_boot))
    return out


def gain_against_published(scores, method: str, reference: str, published: dict[str, float], *,
                           metric: str = "psnr", n_boot: int = 10000):
    """Our gain of ``method`` over ``reference`` per set, beside the published gain and as a fraction of it.

    ``scores``: a one-scale score table; ``published``: {set: the papers'
    gain} (e.g. LIIF - bicubic at x4 from ``reproduce.paper``). Returns one
    row per set: ``set, n_images, delta, ci_low, ci_high, published,
    fraction`` (delta / published; NaN where nothing is published). A
    measurement, not a verdict: the published gains come from a far larger
    training budget.
    """
    import pandas as pd

    from .stats import compare_methods

    if scores["scale"].nunique() != 1:
        raise ValueError(f"gain_against_published takes one scale; the table holds {sorted(scores['scale'].unique())}")
    diffs = compare_methods(scores, metric, method, reference, by=("set",), n_boot=n_boot)
    if diffs.empty:
        return pd.DataFrame(columns=["set", "n_images", "delta", "ci_low", "ci_high", "published", "fraction"])
    diffs["published"] = [published.get(s, float("nan")) for s in diffs["set"]]
    diffs["fraction"] = diffs["delta"] / diffs["published"]
    return diffs[["set", "n_images", "delta", "ci_low", "ci_high", "published", "fraction"]].sort_values("set",
                                                                                                        ignore_index=True)


def validation_gap(log_a: list[dict], log_b: list[dict], after_step: int = 0):
    """Validation PSNR of two training runs at their shared validation steps, and the gap ``a - b``.

    ``log_*``: training logs (``engine.read_stored_log``), whose validation
    records carry ``step`` and ``val_psnr``. Returns a DataFrame ``step, a,
    b, gap`` for the steps after ``after_step`` that both runs validated at.
    """
    import pandas as pd

    def curve(log):
        return pd.Series({r["step"]: r["val_psnr"] for r in log if "val_psnr" in r}, dtype=float)

    both = pd.concat({"a": curve(log_a), "b": curve(log_b)}, axis=1).dropna()
    both = both[both.index > after_step].rename_axis("step").reset_index()
    return both.assign(gap=both["a"] - both["b"])


def catching_up_claim(log_a: list[dict], log_b: list[dict], a: str, b: str, *, after_step: int = 0) -> ClaimResult:
    """Test "``b`` is further from convergence than ``a``": the validation gap ``a - b`` falls with the step.

    The explanation sometimes offered for a gap at a short budget (MetaSR's
    meta-upscale module still catching up with LIIF's decoder). Slope of the
    gap against the step after ``after_step`` (skip the warm-up, where both
    curves climb fast), per 1000 steps, with its OLS interval
    (:func:`trend_claim`): "reproduced" if the gap shrinks, "contradicted"
    if it grows, "within noise" if the slope cannot be told from flat. One
    run per model and validation images that are few: say so beside it.
    """
    gap = validation_gap(log_a, log_b, after_step)
    claim = f"{b} is still catching up with {a} (the gap falls)"
    if len(gap) and gap["gap"].mean() <= 0:  # b is not behind: there is no gap for "catching up" to explain
        return ClaimResult(claim, a, b, "val_psnr", f"{b} is not behind {a} on validation (mean gap "
                           f"{gap['gap'].mean():+.3f} dB); one run each", None, None, None, None, len(gap), "not tested")
    return trend_claim(gap["step"] / 1000, gap["gap"], -1, claim=claim, a=a, b=b, metric="val_psnr",
                       scope=f"validation PSNR gap per 1000 steps, steps {after_step + 1}-"
                             f"{int(gap['step'].max()) if len(gap) else '?'}; one run each")


def still_improving_claim(log: list[dict], name: str, *, last_fraction: float = 0.5) -> ClaimResult:
    """Test "``name`` was still improving when training stopped": validation PSNR rises over the run's last part.

    ``log``: a training log (``engine.read_stored_log``). The slope of
    validation PSNR against the step (dB per 1000 steps) over the validations
    in the last ``last_fraction`` of the steps, with its OLS interval
    (:func:`trend_claim`): "reproduced" if it still rises, "contradicted" if
    it falls, "within noise" if flat cannot be ruled out. One run: the
    interval covers the scatter of the validations, not another seed.
    """
    if not 0 < last_fraction <= 1:
        raise ValueError(f"last_fraction must be in (0, 1], got {last_fraction}")
    curve = [(r["step"], r["val_psnr"]) for r in log if "val_psnr" in r]
    last = max((s for s, _ in curve), default=0)
    tail = [(s, v) for s, v in curve if s >= last * (1 - last_fraction)]
    return trend_claim([s / 1000 for s, _ in tail], [v for _, v in tail], +1,
                       claim=f"{name} was still improving when training stopped", a=name, b="-", metric="val_psnr",
                       scope=f"validation PSNR per 1000 steps over the last {last_fraction:.0%} of the run "
                             f"(steps {tail[0][0] if tail else '?'}-{last}); one run")
