"""Per-image score tables: the source of every table, committed, and checked by recomputing a sample.

A score table (``results/scores/<notebook>.csv``) has one row per method x
seed x set x image x scale, columns :data:`SCORE_COLUMNS` plus metric columns
(``stlpips``, ``seconds``, ...); ``seed`` is -1 for methods without one
(bicubic). A full evaluation writes it with a provenance sidecar; the
``report`` profile then recomputes a fixed random sample of its rows and
stops with an error if any recomputed value differs from the committed one
beyond :data:`TOLERANCE`, before rendering the tables from the committed
scores. A reader can thus trust the full table while ``make reproduce``
pays for a sample.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import pandas as pd

from .errors import ReproduceError
from .fileio import write_text_atomic

SCORE_COLUMNS = ("method", "seed", "set", "image", "scale", "psnr", "ssim")
ROW_KEY = SCORE_COLUMNS[:5]  # one row per method x seed x set x image x scale
# Largest accepted |recomputed - committed| per metric. bf16 matmuls round
# differently on CPUs with and without AMX (and on GPUs), which moves a
# per-image PSNR by up to a few hundredths of a dB and ST-LPIPS in the fourth
# decimal; NIQE's local statistics amplify float rounding more (fp32 SRGAN
# outputs recomputed on another AMD EPYC host, 2026-12-04: NIQE 0.007 apart,
# against effects of 0.1 and more in the study); differences beyond these
# mean the code, data or weights changed.
TOLERANCE = {"psnr": 0.05, "ssim": 5e-4, "stlpips": 2e-3, "niqe": 0.05}
# ... or, where larger, this fraction of the committed value. NIQE inverts a
# covariance of few patches on a small image, where its values run to 30-80
# and fp32 rounding moves them in proportion: LIIF's x4 output of Set14/foreman
# scored fp32 on an AVX2-only AMD EPYC gave 36.821, recomputed fp32 on an Intel
# Xeon with AVX-512 and AMX 36.993 (0.47 %, 2026-12-04), while its PSNR, SSIM
# and ST-LPIPS agreed within the absolute tolerances above.
RELATIVE_TOLERANCE = {"niqe": 0.01}


def by_method(method: str, seed: int) -> str:
    """The weights key of a score row where each method has one set of weights (03, 04, 06, 08): its name."""
    return method


def by_method_and_seed(method: str, seed: int) -> str:
    """The weights key of a score row where a method has weights per seed (05's arms): ``<method>-seed<seed>``."""
    return f"{method}-seed{int(seed)}"


def _row_weights(rows: pd.DataFrame, key: Callable[[str, int], str]) -> pd.Series:
    """Each row's weights key (``key(method, seed)``), as a Series aligned with ``rows``."""
    return pd.Series([key(m, int(s)) for m, s in zip(rows["method"], rows["seed"])], index=rows.index, dtype=object)


def row_keys(table: pd.DataFrame) -> list[tuple]:
    """Each row's :data:`ROW_KEY` as a tuple, in row order (to test which rows of one table another holds)."""
    return list(table[list(ROW_KEY)].itertuples(index=False, name=None))


MODES = ("full", "extend", "sample")


def check_mode(mode: str, allowed: Iterable[str] = MODES) -> str:
    """``mode`` if it is one of ``allowed`` scoring modes (a notebook's ``scores`` parameter), else a one-line error.

    Raises:
        ReproduceError: ``mode`` is not allowed (named with the allowed ones).
    """
    allowed = tuple(allowed)
    if mode not in allowed:
        raise ReproduceError(f"scores must be {', '.join(repr(m) for m in allowed[:-1])} or {allowed[-1]!r}, not {mode!r}")
    return mode


def fixed_sample(names: Iterable[str], n: int, seed: int = 0, always: Iterable[str] = ()) -> list[str]:
    """``n`` names drawn without replacement by a seeded generator, plus ``always`` (sorted, unique).

    The draw depends only on the sorted names, ``n`` and ``seed``, so every
    run recomputes the same images.
    """
    pool = sorted(set(names))
    always = sorted(set(always) & set(pool))
    rest = [x for x in pool if x not in always]
    k = max(0, min(n - len(always), len(rest)))
    drawn = np.random.default_rng(seed).choice(len(rest), size=k, replace=False) if k else []
    return sorted(set(always) | {rest[i] for i in drawn})


def images_to_score(mode: str, sets: Iterable[str], sample_size: int | dict[str, int], limit: int | None = None,
                    seed: int = 0) -> dict[str, list[str]] | None:
    """Which images of each test set a scoring run scores: ``{set: [image names]}``, None for all.

    ``mode == "full"`` or ``"extend"``: every image (None), or the first
    ``limit`` of each set; ``"sample"``: :func:`fixed_sample` of
    ``sample_size`` per set (the same images on every run), to be checked
    against the committed full table, drawn from the first ``limit``
    images where a limit is given (those the committed table holds).
    ``sample_size`` may be ``{set: n}``: sets not named get no image (a
    notebook with many checkpoints checks each on a few small images).
    """
    from .data import dataset_files

    check_mode(mode)
    if mode != "sample":
        return None if limit is None else {s: [f.stem for f in dataset_files(s)[:limit]] for s in sets}
    size = (lambda s: int(sample_size.get(s, 0))) if isinstance(sample_size, dict) else (lambda s: int(sample_size))
    return {s: fixed_sample([f.stem for f in dataset_files(s)[:limit]], size(s), seed=seed) if size(s) else []
            for s in sets}


def unscored_sets(mode: str, path: str | Path, sets: Iterable[str]) -> list[str]:
    """The sets of ``sets`` that the committed table at ``path`` holds no row of, in ``"sample"`` mode.

    A full evaluation of a large set can take longer than one sitting on a
    slow CPU (Urban100: about 1000 output megapixels per method); until an
    ``"extend"`` run has scored it, a ``"sample"`` run leaves such a set out
    and the notebook names it, its claims ``not tested``, instead of failing
    or inventing rows. ``"full"`` and ``"extend"`` score every set: ``[]``.
    A missing table leaves nothing out here (:func:`read_scores` then says
    how to make it).
    """
    held = _sampled_values(mode, path, "set")
    return [] if held is None else [s for s in sets if s not in held]


def unscored_weights(mode: str, path: str | Path, digests: dict[str, dict]) -> list[str]:
    """The weights keys of ``digests`` the committed table at ``path`` was never scored with, in ``"sample"`` mode.

    A model trained in one sitting and scored in a later one (05's arms:
    about an hour of training each, then the scoring) is left out of a
    ``"sample"`` run, which the notebook says, instead of failing it;
    ``"extend"`` scores it. Only keys the table's provenance does not record
    count: a recorded key whose digest differs now (retrained or damaged
    weights) is not "unscored", and :func:`settle_scores` refuses it. ``[]``
    in ``"full"`` and ``"extend"`` mode or without a committed table.

    Raises:
        ReproduceError: the committed table holds rows but its provenance
            records no weights (nothing could be checked against them).
    """
    check_mode(mode)
    path = Path(path)
    if mode != "sample" or not path.is_file():
        return []
    table, provenance = read_scores(path)
    recorded = provenance.get("checkpoints") or {}
    if len(table) and not recorded:
        raise ReproduceError(f"the committed scores in {path} record no weights: rerun with scores='full'")
    return [k for k in digests if k not in recorded]


def _sampled_values(mode: str, path: str | Path, column: str) -> set | None:
    """The values of ``column`` in the committed table, in ``"sample"`` mode with a table; else None."""
    check_mode(mode)
    path = Path(path)
    if mode != "sample" or not path.is_file():
        return None
    return set(read_table(path)[column])


def split_design(mode: str, path: str | Path,
                 grid: dict[str, Iterable[float]]) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """A notebook's design ``{set: scales}`` split into what the committed table holds and what it does not yet.

    Returns ``(held, left_out)``, both ``{set: [scale, ...]}`` in ``grid``'s
    order without empty entries: a (set, scale) pair is held when the
    committed table at ``path`` has a row of that set at that scale. Only in
    ``"sample"`` mode with a committed table; otherwise everything is held
    (``"full"`` and ``"extend"`` score every pair; a missing table is
    :func:`read_scores`' to explain).

    Why pairs and not sets and scales apart: a large set is scored one
    scale per sitting (06 on Urban100: about an hour per scale on an AMX
    host), so for a while the table holds Urban100 at x2 but not at x4
    while other sets hold every scale; a sample run must check only what
    is there and name the rest (their claims ``not tested``).
    """
    grid = {s: [float(x) for x in xs] for s, xs in grid.items()}
    check_mode(mode)
    path = Path(path)
    if mode != "sample" or not path.is_file():
        return {s: xs for s, xs in grid.items() if xs}, {}
    table = read_table(path)
    pairs = set(zip(table["set"], table["scale"].astype(float)))
    held = {s: [x for x in xs if (s, x) in pairs] for s, xs in grid.items()}
    left = {s: [x for x in xs if (s, x) not in pairs] for s, xs in grid.items()}
    return {s: xs for s, xs in held.items() if xs}, {s: xs for s, xs in left.items() if xs}


def scales_held(scales: Iterable, grid: dict[str, Iterable[float]]) -> list:
    """The entries of ``scales`` that some set of ``grid`` (as :func:`split_design` returns) holds.

    In ``scales``' order and as given (a notebook's ``4`` stays ``4``), so
    tables and captions keep the scales as the notebook wrote them.
    """
    held = {float(x) for xs in grid.values() for x in xs}
    return [x for x in scales if float(x) in held]


def design_words(pairs: dict[str, Iterable[float]]) -> str:
    """``{"Urban100": [4, 12]}`` -> ``"Urban100 at x4, x12"`` (``"; "`` between sets), for a notebook's notes."""
    return "; ".join(f"{s} at {', '.join(f'x{float(x):g}' for x in xs)}" for s, xs in pairs.items())


def scoring_settings(mode: str, path: str | Path, bf16: bool,
                     metric_scales: Iterable[float]) -> tuple[bool, list[float]]:
    """The precision and perceptual-metric scales a scoring run uses: ``(bf16, metric_scales)``.

    In ``"full"`` mode, as given. In ``"sample"`` and ``"extend"`` mode, the
    committed table's: a sample is recomputed to check the committed rows,
    so it must be computed as they were (bf16 moves single-image PSNRs by
    hundredths of a dB, the size of :data:`TOLERANCE`, and a bf16 sample of
    fp32 rows would test the precision rather than the code; a committed
    row with ST-LPIPS at x12 cannot be checked by a sample without it); an
    extending run adds rows to that table, which must stay of one precision
    and one metric design (a different one needs ``"full"``). The committed
    precision is the provenance's ``bf16``; the metric scales are those at
    which any column beyond :data:`SCORE_COLUMNS` and ``seconds`` holds a
    value. A missing table, or one without a recorded precision, leaves the
    given values.
    """
    check_mode(mode)
    path = Path(path)
    scales = sorted(float(s) for s in metric_scales)
    if mode == "full" or not path.is_file():
        return bool(bf16), scales
    table, provenance = read_scores(path)
    recorded = provenance.get("bf16")
    extra = [c for c in table.columns if c not in (*SCORE_COLUMNS, "seconds")]
    measured = table[table[extra].notna().any(axis=1)]["scale"].unique() if extra else []
    return (bool(bf16) if recorded is None else bool(recorded)), sorted(float(s) for s in measured)


def weights_id(digests: dict[str, dict]) -> str:
    """A short id of a set of checkpoints (``{key: {"sha256": ...}}``): 12 hex digits, order-independent.

    Names a full run's resumable partial file, so rows scored with other
    weights are never reused.
    """
    import hashlib

    text = json.dumps({m: d["sha256"] for m, d in sorted(digests.items())}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def partial_path(folder: str | Path, stem: str, digests: dict[str, dict], bf16: bool = False,
                 metric_scales: Iterable[float] = (), metrics: Iterable[str] = (), emulated: bool = False) -> Path:
    """The resumable partial score file of a full or extending run: ``<folder>/<stem>-<id>-<fp32|bf16|bf16emu>.partial.csv``.

    ``<id>`` hashes the weights (:func:`weights_id`) and the metric design
    (the extra metrics' names and the scales they are measured at), so a
    rerun resumes only rows made with the same weights, precision and
    metrics: rows scored without ST-LPIPS are never resumed into a run that
    measures it. ``emulated``: bf16 computed by fp32 kernels
    (``reproduce.device.bf16_arithmetic``, a CPU without bf16 kernels),
    whose rows differ from native bf16's by the order of additions (NIQE
    by tenths on single images: ``benchmarks/bf16_emulation.py``), so the
    two never resume each other's rows: a table's provenance names only the
    machine of the process that wrote it. The code is not in the key (a
    resumed run may span sessions and commits); ``full`` after a change of
    the scoring code needs the old partial file deleted, which the
    notebooks' text says.
    """
    import hashlib

    design = json.dumps({"weights": weights_id(digests), "metrics": sorted(metrics),
                         "metric_scales": sorted(float(s) for s in metric_scales)}, sort_keys=True)
    key = hashlib.sha256(design.encode()).hexdigest()[:12]
    return Path(folder) / f"{stem}-{key}-{('bf16emu' if emulated else 'bf16') if bf16 else 'fp32'}.partial.csv"


def resumed_rows(partial: str | Path | None) -> frozenset[tuple]:
    """The row keys (:data:`ROW_KEY`) an earlier process left in this run's partial file (empty if there is none).

    Read before scoring and passed to :func:`settle_scores` as ``resumed``:
    the provenance then says how many of the rows this run wrote it took
    from the file instead of computing them (rows made with the same
    weights, precision and metrics, possibly at another commit: see
    :func:`partial_path`). A partial file is never deleted, so after a
    finished run it holds every row: only the keys this run writes count.
    """
    if partial is None or not Path(partial).is_file():
        return frozenset()
    return frozenset(row_keys(read_table(partial)))


def provenance_path(path: str | Path) -> Path:
    """Where a score table's provenance lives: ``<stem>.provenance.json`` beside it."""
    return Path(path).with_suffix(".provenance.json")


def read_provenance(path: str | Path) -> dict:
    """The provenance of the score table at ``path`` ({} when it has none)."""
    side = provenance_path(path)
    return json.loads(side.read_text()) if side.is_file() else {}


def write_scores(scores: pd.DataFrame, path: str | Path, provenance: dict) -> Path:
    """Write a score table (CSV) and ``<stem>.provenance.json`` beside it, atomically.

    ``provenance`` is a notebook's run record (``report.Run.info``); a
    ``duration_s`` in it is left out (a run's age when some table was saved,
    not the scoring's time, which the rows' ``seconds`` column records).
    """
    provenance = {k: v for k, v in provenance.items() if k != "duration_s"}
    missing = [c for c in SCORE_COLUMNS if c not in scores.columns]
    if missing:
        raise ValueError(f"score table lacks column(s) {', '.join(missing)}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ordered = list(SCORE_COLUMNS) + [c for c in scores.columns if c not in SCORE_COLUMNS]
    write_text_atomic(path, scores[ordered].to_csv(index=False, float_format="%.6g"))
    write_text_atomic(provenance_path(path), json.dumps(provenance, indent=2, default=str) + "\n")
    return path


def read_table(path: str | Path) -> pd.DataFrame:
    """A score table's CSV as written: names as text, metrics as numbers, seeds int and scales float."""
    # Names stay text: B100's ids must not become numbers, nor an image called "NA" a missing value.
    table = pd.read_csv(path, dtype={"image": str, "set": str, "method": str}, keep_default_na=False,
                        na_values={c: ["", "nan", "NaN"] for c in ("psnr", "ssim", "stlpips", "niqe", "seconds")})
    # "2" in the file is the scale 2.0 (pairs and merges compare scales as floats)
    return table.astype({c: t for c, t in (("seed", int), ("scale", float)) if c in table.columns})


def read_scores(path: str | Path) -> tuple[pd.DataFrame, dict]:
    """A committed score table and its provenance.

    Raises:
        ReproduceError: the file is missing (run the notebook with the full
            evaluation first) or lacks the score columns.
    """
    path = Path(path)
    if not path.is_file():
        raise ReproduceError(f"no committed scores at {path}: run the notebook with scores='full' once to make them")
    scores = read_table(path)
    missing = [c for c in SCORE_COLUMNS if c not in scores.columns]
    if missing:
        raise ReproduceError(f"{path} is not a score table (no {', '.join(missing)} column)")
    return scores, read_provenance(path)


def compare_recomputed(committed: pd.DataFrame, recomputed: pd.DataFrame,
                       tolerance: dict[str, float] | None = None,
                       relative: dict[str, float] | None = None) -> pd.DataFrame:
    """Check recomputed rows against the committed ones.

    A row passes where |recomputed - committed| is at most the metric's
    absolute ``tolerance`` (:data:`TOLERANCE`, updated by the argument) or,
    where larger, its ``relative`` tolerance times |committed|
    (:data:`RELATIVE_TOLERANCE` unless given; ``{}`` for absolute only).

    Returns:
        one row per metric: ``metric, rows, max_abs_diff, tolerance, relative_tolerance``.

    Raises:
        ReproduceError: a recomputed row has no committed counterpart, or a
            metric differs beyond its tolerance (the message names the worst
            row).
    """
    tolerance = {**TOLERANCE, **(tolerance or {})}
    relative = RELATIVE_TOLERANCE if relative is None else relative
    merged = recomputed.merge(committed, on=list(ROW_KEY), how="left", suffixes=("", "_committed"), indicator=True)
    unmatched = merged[merged["_merge"] != "both"]
    if len(unmatched):
        first = unmatched.iloc[0]
        raise ReproduceError(f"{len(unmatched)} recomputed row(s) are not in the committed scores, e.g. "
                             f"{first['method']} {first['set']}/{first['image']} x{first['scale']:g}")
    report = []
    for metric, tol in tolerance.items():
        if metric not in recomputed.columns or f"{metric}_committed" not in merged.columns:
            continue
        ours, theirs = merged[metric], merged[f"{metric}_committed"]
        mismatch = ours.isna() != theirs.isna()
        if mismatch.any():
            row = merged[mismatch].iloc[0]
            raise ReproduceError(f"{metric} of {row['method']} on {row['set']}/{row['image']} x{row['scale']:g} is "
                                 f"{row[metric]} now and {row[f'{metric}_committed']} in the committed scores")
        diff = (ours - theirs).abs()
        if diff.notna().sum() == 0:
            continue
        rel = relative.get(metric, 0.0)
        allowed = (theirs.abs() * rel).clip(lower=tol)  # per row: the absolute tolerance or the relative one
        report.append({"metric": metric, "rows": int(diff.notna().sum()), "max_abs_diff": float(diff.max()), "tolerance": tol,
                       "relative_tolerance": rel})
        over = diff > allowed
        if over.any():
            worst = (diff / allowed)[over].idxmax()
            row = merged.loc[worst]
            bound = f"tolerance {tol}" + (f" or {rel:.0%} of the committed value" if rel else "")
            raise ReproduceError(f"recomputed {metric} of {row['method']} on {row['set']}/{row['image']} x{row['scale']:g} is "
                                 f"{row[metric]:.5f}, committed {row[f'{metric}_committed']:.5f} (|diff| {diff[worst]:.5f} > "
                                 f"{bound}): code, data or weights changed; rerun the full evaluation")
    return pd.DataFrame(report)


@dataclass
class CarriedScores:
    """Committed rows an extending run keeps instead of recomputing (see :func:`carried_rows`).

    ``rows``: the score rows; ``checkpoints``: the recorded digests of the
    carried methods (``{method: {"path", "sha256"}}``); ``parts``: the runs
    that computed them, one dict each (``rows`` per method, ``commit``,
    ``dirty``, ``time``, ``device`` and library versions); ``dropped``: the
    methods whose committed rows were left out because their weights changed;
    ``recorded``: every digest the committed provenance records (rows or
    not), so an extending run can tell whether it changes the file.
    """
    rows: pd.DataFrame
    checkpoints: dict[str, dict]
    parts: list[dict]
    dropped: list[str]
    recorded: dict[str, dict] = field(default_factory=dict)


def _part(provenance: dict, rows: pd.DataFrame, resumed: int = 0, key: Callable[[str, int], str] = by_method) -> dict:
    """One run's share of a score table: how many rows of which weights it computed, where and when.

    ``resumed``: how many of those rows it took from its partial file,
    computed by an earlier process (:func:`resumed_rows`); recorded as
    ``resumed_rows`` when > 0. Rows are counted per weights key (``key``:
    :func:`by_method`, or :func:`by_method_and_seed` for one model per seed).
    """
    keep = ("commit", "dirty", "time", "device", "bf16_kernels", "python", "torch", "numpy", "pillow", "notebook", "profile")
    counts = rows.groupby(_row_weights(rows, key)).size() if len(rows) else pd.Series(dtype=int)
    return {"rows": {m: int(n) for m, n in sorted(counts.items())},
            **({"resumed_rows": int(resumed)} if resumed else {}),
            **{k: provenance[k] for k in keep if k in provenance}}


def computing_devices(path: str | Path, weights: str | None = None) -> list[str]:
    """The machines that computed a committed score table's rows, from its provenance's parts, in their order.

    ``weights``: only parts that computed rows of that weights key (as the
    parts count them: ``"IPF"``, ``"IPF-seed1"``); ``None``: every part.
    Each machine as its provenance names it, with ", bf16 emulated" where
    the part (or, for a table without parts, the table) records emulated
    bf16 kernels. ``[]`` without a table or provenance. Why it matters:
    rows of one weights key computed on different machines differ by the
    machines' arithmetic (NIQE by tenths on single images), which a
    comparison across them then counts as an effect or as noise.
    """
    committed = read_provenance(path) if Path(path).is_file() else {}
    if not committed:
        return []
    parts = committed.get("parts") or [committed]
    # parts written before parts kept bf16_kernels: a CPU's kernels follow from the CPU its device names
    # (reproduce.device.bf16_arithmetic reads the same flags), so any record of the same device says
    recorded = {r.get("device"): r["bf16_kernels"] for r in [committed, *parts] if r.get("bf16_kernels")}
    found = []
    for part in parts:
        if weights is not None and not (part.get("rows") or {}).get(weights):
            continue
        kernels = part.get("bf16_kernels") or recorded.get(part.get("device"))
        name = f"{part.get('device', 'unknown device')}{', bf16 emulated' if kernels == 'emulated' else ''}"
        if name not in found:
            found.append(name)
    return found


def _resumed_words(resumed: int) -> str:
    """The clause a provenance sentence gets for rows taken from a partial file."""
    return (f" ({resumed} of them taken from its partial file, computed by an earlier process with the same "
            "weights, precision and metrics)" if resumed else "")


def _count_resumed(rows: pd.DataFrame, resumed: Iterable[tuple]) -> int:
    """How many of ``rows`` have a key in ``resumed``."""
    resumed = set(resumed)
    return sum(k in resumed for k in row_keys(rows)) if resumed and len(rows) else 0


def carried_rows(path: str | Path, checkpoints: dict[str, dict],
                 key: Callable[[str, int], str] = by_method) -> CarriedScores:
    """The committed rows still valid for this run's weights: what an ``extend`` run need not recompute.

    ``checkpoints``: ``{weights key: {"sha256": ...}}`` of the weights this
    run scores, keyed by ``key(method, seed)`` (the method name by default;
    :func:`by_method_and_seed` where a method has weights per seed, so a new
    seed of an arm is scored while its other seeds are carried). A key's committed rows are dropped only
    when the digest differs from the recorded one (retrained weights) or when
    it has weights now but none were recorded; rows of methods this run does
    not score (an arm left out, a checkpoint absent here) are carried with
    their recorded digests, so an extending run never loses them. No
    committed file: nothing is carried.
    """
    path = Path(path)
    if not path.is_file():
        return CarriedScores(pd.DataFrame(columns=list(SCORE_COLUMNS)), {}, [], [])
    table, committed = read_scores(path)
    recorded = committed.get("checkpoints") or {}

    def valid(weights: str) -> bool:
        ours, theirs = checkpoints.get(weights), recorded.get(weights)
        if ours is None:
            return True  # not scored now (or without weights, bicubic): the committed rows stand
        return theirs is not None and ours["sha256"] == theirs["sha256"]

    weights = _row_weights(table, key)
    keep = weights.map(valid).astype(bool)
    rows = table[keep].reset_index(drop=True)
    kept = set(weights[keep])
    parts = committed.get("parts") or [_part(committed, table, key=key)]
    parts = [{**p, "rows": {m: n for m, n in p["rows"].items() if m in kept}} for p in parts]
    return CarriedScores(rows, {m: d for m, d in recorded.items() if m in kept}, [p for p in parts if p["rows"]],
                         sorted(set(weights[~keep])), recorded)


def images_left(carried: CarriedScores | None, method: str, seed: int, names: Iterable[str],
                always: Iterable[str] = ()) -> list[str]:
    """The images (in ``names``' order) an extending run still computes for one method and seed.

    Those without a carried row (any set or scale), plus ``always`` (images a
    figure shows, whose outputs are needed anyway; their recomputed scores
    then double as a check of the carried ones). No ``carried``: all names.
    """
    names, always = list(names), set(always)
    if carried is None or not len(carried.rows):
        return names
    rows = carried.rows
    have = set(rows.loc[rows["method"].eq(method) & rows["seed"].eq(seed), "image"])
    return [n for n in names if n not in have or n in always]


def with_carried(carried: CarriedScores, fresh: pd.DataFrame, pairs: Iterable[tuple[str, int]],
                 tolerance: dict[str, float] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """This run's rows in ``extend`` mode: the rows scored now plus the carried rows of the same methods.

    ``pairs``: the (method, seed) pairs this run scores. A row scored now
    that is also carried (an image recomputed for a figure) is checked
    against the carried one (:func:`compare_recomputed`, raises beyond
    ``tolerance``) and the carried value is kept, so the written table does
    not depend on which images a figure needed. Returns ``(rows, check)``.
    """
    pairs = {(m, int(s)) for m, s in pairs}
    mine = carried.rows[[(m, int(s)) in pairs for m, s in zip(carried.rows["method"], carried.rows["seed"])]]
    old = set(row_keys(mine))
    again = [k in old for k in row_keys(fresh)]
    check = compare_recomputed(mine, fresh[again], tolerance) if any(again) else pd.DataFrame()
    rows = pd.concat([mine, fresh[[not a for a in again]]], ignore_index=True)
    return rows, check


@dataclass
class SettledScores:
    """The rows a notebook renders its tables from, and where they came from.

    ``table``: score rows (:data:`SCORE_COLUMNS` + metrics); ``source``: one
    sentence for the reader (computed now, or read from the committed file
    with its time, commit and device, and how many rows were recomputed);
    ``check``: :func:`compare_recomputed`'s report in sample mode, else None.
    """
    table: pd.DataFrame
    source: str
    check: pd.DataFrame | None = None


def settle_scores(mode: str, computed: pd.DataFrame, path: str | Path, provenance: dict,
                  checkpoints: dict[str, dict], sets: Iterable[str] | None = None,
                  scales: Iterable[float] | None = None, images: Iterable[str] | None = None,
                  tolerance: dict[str, float] | None = None, carried: CarriedScores | None = None,
                  resumed: Iterable[tuple] = (), key: Callable[[str, int], str] = by_method,
                  set_scales: dict[str, Iterable[float]] | None = None) -> SettledScores:
    """The full-or-sample step every scoring notebook ends with.

    ``mode == "full"``: ``computed`` holds every row; it is written to
    ``path`` with ``provenance`` + ``checkpoints`` (``{key: {"path", "sha256"}}``
    of the weights scored) and is the table. ``mode == "extend"``: the same,
    except that ``computed`` may hold ``carried`` rows (:func:`carried_rows`,
    committed rows of unchanged weights, not recomputed): the written table is
    every carried row plus the new ones, and its provenance lists, per run,
    the methods and rows that run computed. ``mode == "sample"``: ``computed``
    holds a sample of the rows; the committed table at ``path`` is read,
    narrowed to ``sets`` / ``scales`` and, for the sets ``set_scales``
    (``{set: scales}``, as in ``evaluate.score_table``) names, to their
    scales, where given, and accepted only if

    * the weights in ``checkpoints`` are exactly those the committed
      provenance records, digest for digest (a new, missing or retrained
      model needs a full or extending run),
    * it holds the same (method, seed) pairs as ``computed``,
    * ``images``, where given, is exactly the committed image set,
    * every recomputed row matches its committed row within ``tolerance``
      (:data:`TOLERANCE` by default, see :func:`compare_recomputed`).

    ``resumed`` (full and extend mode): the row keys the partial file held
    before this run scored (:func:`resumed_rows`); the provenance and
    ``source`` say how many of the rows written were taken from it.
    ``key``: how a row's (method, seed) names its weights in ``checkpoints``
    (:func:`by_method`, or :func:`by_method_and_seed`; see :func:`carried_rows`).

    Raises:
        ReproduceError: an unknown mode, or any condition above fails (the
            message says what and to rerun with ``scores='full'``).
    """
    path = Path(path)
    if mode == "full":
        n = _count_resumed(computed, resumed)
        write_scores(computed, path, {**provenance, "checkpoints": checkpoints,
                                      "computed": "all rows computed in this run" + _resumed_words(n),
                                      "parts": [_part(provenance, computed, n, key)]})
        return SettledScores(_as_written(computed, path),
                             f"computed in this run ({len(computed)} rows{_resumed_words(n)})")
    if mode == "extend":
        return _extend(computed, path, provenance, checkpoints,
                       carried if carried is not None else carried_rows(path, checkpoints, key), resumed, key)
    if mode != "sample":
        raise ReproduceError(f"scores must be 'full', 'extend' or 'sample', not {mode!r}")
    if not len(computed):
        raise ReproduceError(f"nothing was recomputed to check the committed scores in {path} against (no sampled "
                             "image in the sets and scales of this run): name a scored set in sample_size")
    table, committed = read_scores(path)
    recorded = committed.get("checkpoints") or {}
    changed = sorted(k for k in set(checkpoints) | set(recorded)
                     if (recorded.get(k) or {}).get("sha256") != (checkpoints.get(k) or {}).get("sha256"))
    if changed:
        raise ReproduceError(f"the committed scores in {path} were made with other or more weights "
                             f"({', '.join(changed)}): rerun with scores='full' (or 'extend')")
    if sets is not None:
        table = table[table["set"].isin(list(sets))]
    if scales is not None:
        table = table[table["scale"].isin([float(s) for s in scales])]
    if set_scales is not None:
        limits = {s: {float(x) for x in xs} for s, xs in set_scales.items()}
        keep = [s not in limits or x in limits[s] for s, x in zip(table["set"], table["scale"].astype(float))]
        table = table[np.array(keep, dtype=bool)]  # an array: an empty list would select columns, not rows
    pairs, committed_pairs = (set(zip(t["method"], t["seed"].astype(int))) for t in (computed, table))
    if pairs != committed_pairs:
        raise ReproduceError(f"the committed scores in {path} hold methods {sorted(committed_pairs)}, this run scores "
                             f"{sorted(pairs)}: rerun with scores='full' (or 'extend')")
    if images is not None and set(table["image"]) != set(images):
        raise ReproduceError(f"the committed scores in {path} hold {table['image'].nunique()} images, this run selects "
                             f"{len(set(images))} (other images): rerun with scores='full'")
    check = compare_recomputed(table, computed, tolerance)
    n_images = computed.groupby("set")["image"].nunique().sum()
    source = (f"read from the committed `{path}` (computed {committed.get('time', '?')} at commit "
              f"{str(committed.get('commit'))[:10]} on {committed.get('device', '?')}); {len(computed)} rows "
              f"({n_images} image{'s' if n_images != 1 else ''}) recomputed now and found equal within tolerance")
    return SettledScores(table.reset_index(drop=True), source, check)


def _extend(computed: pd.DataFrame, path: Path, provenance: dict, checkpoints: dict[str, dict],
            carried: CarriedScores, resumed: Iterable[tuple] = (),
            key: Callable[[str, int], str] = by_method) -> SettledScores:
    """settle_scores' ``extend`` mode: carried rows + rows computed now, written with per-run provenance."""
    old = set(row_keys(carried.rows))
    new = computed[[k not in old for k in row_keys(computed)]]
    resumed = _count_resumed(new, resumed)
    written = pd.concat([carried.rows, new], ignore_index=True) if len(carried.rows) else new
    parts = carried.parts + ([_part(provenance, new, resumed, key)] if len(new) else [])
    recorded = {**carried.checkpoints, **checkpoints}
    # A run that adds and drops nothing leaves the file as it is: rewritten, its
    # provenance would name this run's commit, time and device for rows it
    # did not compute (each run's share is in ``parts``, but the head is what
    # a reader sees first), and lose the last computing run's summary.
    unchanged = not len(new) and not carried.dropped and path.is_file() and recorded == carried.recorded
    if not unchanged:
        write_scores(written, path, {**provenance, "checkpoints": recorded, "parts": parts,
                                     "computed": f"{len(new)} rows computed in this run{_resumed_words(resumed)}, "
                                                 f"{len(written) - len(new)} carried over from earlier runs with the "
                                                 "same weights"})
    reused = len(computed) - len(new)
    earlier = "; ".join(f"{', '.join(p['rows'])} at commit {str(p.get('commit'))[:10]} on {p.get('device', '?')}"
                        for p in carried.parts)
    source = (f"{len(new)} rows computed in this run"
              + (f" ({', '.join(sorted(set(_row_weights(new, key))))})" if len(new) else "")
              + _resumed_words(resumed)
              + (f", {reused} carried over from the committed scores of the same weights ({earlier})" if reused else "")
              + (f"; committed rows of {', '.join(carried.dropped)} dropped (weights changed)" if carried.dropped else "")
              + (f"; `{path}` unchanged ({len(written)} rows)" if unchanged else f"; `{path}` now holds {len(written)} rows"))
    return SettledScores(_as_written(computed.reset_index(drop=True), path), source)


def _as_written(rows: pd.DataFrame, path: Path) -> pd.DataFrame:
    """``rows`` as the file at ``path`` now holds them (6 significant digits), in ``rows``' order.

    A full or extending run renders its tables from these, so they equal
    what a later ``sample`` run renders from the committed file: the
    unrounded floats differ in the seventh digit, enough to move an interval
    bound or to turn a tie in a win rate into a win.
    """
    if not len(rows):
        return rows
    key = list(ROW_KEY)
    written = read_table(path).set_index(key)
    return written.loc[pd.MultiIndex.from_frame(rows[key])].reset_index()[list(rows.columns)]


def score_methods(names: Iterable[str], outputs: dict[str, Path], gt_dir: Path, metrics: dict[str, Callable],
                  lpips=None) -> list[dict]:
    """Score every method's output files against the ground-truth files, image by image.

    Args:
        names: image names; the files are ``<folder>/<name>.png``.
        outputs: method -> folder of its outputs; ``gt_dir``: folder of the ground truths.
        metrics: name -> ``fn(sr, hr)`` on (3, H, W) float tensors in [0, 1].
        lpips: an ST-LPIPS model (``perceptual.load_stlpips``), or None. Its
            ``stlpips`` column reuses the ground truth's features for every
            method (the trunk on a large image is the cost; the distance is
            the same as ``lpips(sr, hr)``).

    Returns:
        ``{"method", "image", <metric>: value, ..., "stlpips"}`` per method and image.
    """
    import torch

    from .data import read_image, to_tensor

    rows = []
    for name in names:
        hr = to_tensor(read_image(Path(gt_dir) / f"{name}.png"))
        with torch.no_grad():
            hr_feats = lpips.features(hr.unsqueeze(0)) if lpips is not None else None
        for method, folder in outputs.items():
            path = Path(folder) / f"{name}.png"
            sr = to_tensor(read_image(path))
            if sr.shape != hr.shape:
                raise ReproduceError(f"{path} is {tuple(sr.shape[1:])}, its ground truth {tuple(hr.shape[1:])}")
            row = {"method": method, "image": name, **{k: float(fn(sr, hr)) for k, fn in metrics.items()}}
            if lpips is not None:
                with torch.no_grad():
                    row["stlpips"] = float(lpips.compare_features(lpips.features(sr.unsqueeze(0)), hr_feats).sum())
            rows.append(row)
    return rows
