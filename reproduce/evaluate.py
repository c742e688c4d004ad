"""Benchmark evaluation: PSNR/SSIM of a model (or bicubic) per dataset and scale.

Each dataset is scored with its community preset (``metrics.preset_for_dataset``:
benchmarks on Y with shave = scale, DIV2K-like sets on RGB with shave =
scale + 6); the figure for a set is the mean of per-image values. LR inputs
follow the test protocol of ``data.make_lr``.
"""
from __future__ import annotations

import csv
import hashlib
import io
from pathlib import Path
from typing import Callable, Iterable

import torch

from .data import EvalPairs, ImageSet, dataset_files, make_lr, read_image, to_tensor
from .engine.predict import upscale
from .fileio import write_text_atomic
from .imresize import imresize
from .metrics import preset_for_dataset, psnr, ssim
from .models.interface import is_image_to_image, is_implicit

COLUMNS = ("set", "scale", "psnr", "ssim")


def bicubic_upscale(lr: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """The bicubic baseline: MATLAB-bicubic upsampling of (3, h, w) [0, 1] to size, clamped."""
    return imresize(lr, size=tuple(size)).clamp_(0, 1)


def upscaler(method, chunk: int = 30000, bf16: bool = False,
             out_dtype: torch.dtype = torch.float32) -> Callable[[torch.Tensor, tuple[int, int]], torch.Tensor]:
    """``(lr (3, h, w) [0, 1], (H, W)) -> sr (3, H, W)`` for "bicubic", a model or a callable.

    ``out_dtype`` float32: values in [0, 1], clamped, not rounded (the
    evaluation protocol); uint8: rounded to 0..255 (files; a huge output
    stays 3 bytes per pixel). A callable is returned as it is.
    """
    if isinstance(method, str) and method == "bicubic":
        if out_dtype == torch.uint8:
            return lambda lr_t, size: bicubic_upscale(lr_t, size).mul_(255).round_().to(torch.uint8)
        return bicubic_upscale
    if is_implicit(method) or is_image_to_image(method):
        device = next(method.parameters()).device
        return lambda lr_t, size: upscale(method, lr_t.to(device), size, chunk=chunk, bf16=bf16, out_dtype=out_dtype).cpu()
    if callable(method) and not isinstance(method, torch.nn.Module):
        return method
    raise TypeError(f"cannot evaluate a {type(method).__name__}: expected 'bicubic', a super-resolution model or a callable")


# A folder of HR images given by path is scored like the classic benchmarks
# (Y channel, shave = scale) unless a preset is given.
DEFAULT_FOLDER_PRESET = "benchmark-y"


def preset_for_set(name: str, preset: str | None = None) -> str:
    """The metric preset of a named set (its own) or of a folder (``preset``, default benchmark-y)."""
    try:
        return preset_for_dataset(name)
    except ValueError:
        return preset or DEFAULT_FOLDER_PRESET


def evaluate(method, sets: Iterable[str], scales: Iterable[float], chunk: int = 30000, bf16: bool = False,
             limit: int | dict[str, int] | None = None, progress: Callable[[str], None] | None = None,
             extra_metrics: dict[str, Callable[[torch.Tensor, torch.Tensor], float]] | None = None,
             preset: str | None = None) -> list[dict]:
    """Score ``method`` on every set x scale.

    Args:
        method: ``"bicubic"``; an implicit model (``forward(inp, coord, cell)``,
            evaluated with ``engine.upscale``); or a callable
            ``(lr (3, h, w) in [0, 1], (H, W)) -> sr (3, H, W) in [0, 1]``.
        limit: first N images of every set, or ``{set: N}`` for some sets
            (None: all images).
        extra_metrics: name -> ``fn(sr, hr)`` on the un-shaved (3, H, W) [0, 1]
            pair, averaged like PSNR (e.g. ST-LPIPS).
        preset: metric preset of sets given as folders (named sets always
            use their community preset); default ``DEFAULT_FOLDER_PRESET``.

    Returns:
        rows ``{"set", "scale", "images", "psnr", "ssim", *extra}`` (dB and
        [0, 1]), one per set and scale; ``images`` is how many images were scored.
    """
    run = upscaler(method, chunk, bf16)
    rows = []
    for name in sets:
        n = limit.get(name) if isinstance(limit, dict) else limit
        images = ImageSet(name, limit=n)
        set_preset = preset_for_set(name, preset)
        for scale in scales:
            per_image = score_pairs(run, EvalPairs(images, scale), set_preset, scale, extra_metrics)
            metrics = [k for k in per_image[0] if k != "index"]
            row = {"set": name, "scale": scale, "images": len(per_image),
                   **{k: sum(r[k] for r in per_image) / len(per_image) for k in metrics}}
            rows.append(row)
            if progress:
                progress(format_row(row))
    return rows


def score_pairs(run: Callable[[torch.Tensor, tuple[int, int]], torch.Tensor], pairs: EvalPairs, preset: str, scale: float,
                extra_metrics: dict[str, Callable[[torch.Tensor, torch.Tensor], float]] | None = None) -> list[dict]:
    """Per-image scores of one upscaler on (LR, HR) pairs: the core of :func:`evaluate` and of validation.

    Args:
        run: ``(lr (3, h, w) [0, 1], (H, W)) -> sr (3, H, W) [0, 1]`` (see :func:`upscaler`).
        pairs: the protocol's (LR, HR) uint8 pairs at ``scale``.
        preset: metric preset name (shave and channel rules).

    Returns:
        ``{"index", "psnr", "ssim", *extra}`` per pair, in order.
    """
    extra_metrics = extra_metrics or {}
    out = []
    for i in range(len(pairs)):
        lr, hr = pairs[i]
        hr_t = to_tensor(hr)
        with torch.no_grad():
            sr = run(to_tensor(lr), tuple(hr_t.shape[-2:]))
        out.append({"index": i, "psnr": float(psnr(sr, hr_t, preset, scale)), "ssim": float(ssim(sr, hr_t, preset, scale)),
                    **{key: float(fn(sr, hr_t)) for key, fn in extra_metrics.items()}})
    return out


SAVE_EVERY_S = 60.0  # a resumable scoring run writes its partial file at least this often (and after every scale)


def score_images(method, name: str, sets: Iterable[str], scales: Iterable[float], *, seed: int = -1,
                 images: dict[str, Iterable[str]] | None = None, bf16: bool = False, chunk: int = 30000,
                 extra_metrics: dict[str, Callable[[torch.Tensor, torch.Tensor], float]] | None = None,
                 partial: str | Path | None = None, progress: Callable[[str], None] | None = None,
                 reuse=None):
    """Per-image scores of one method: the rows of a score table (``reproduce.scores``).

    Args:
        method: as in :func:`evaluate`; ``name`` and ``seed`` label its rows
            (seed -1 for methods without one).
        images: ``{set: image names}`` to score only those (file stems, e.g.
            a ``scores.fixed_sample``); sets not named score every image.
        extra_metrics: name -> ``fn(sr, hr)`` on the un-shaved (3, H, W)
            [0, 1] pair (ST-LPIPS, NIQE, ...).
        partial: a CSV that makes a long evaluation resumable: rows already
            in it (same method, seed, set, image, scale) are kept, not
            recomputed, and it is rewritten atomically after every set and
            scale, so an interrupted run loses at most one set x scale. The
            rows do not record the weights: name the file after them (the
            notebooks put the checkpoints' digests in its name).
        reuse: score rows (a DataFrame, e.g. ``scores.carried_rows(...).rows``)
            taken as already computed: rows of this method and seed are
            returned as they are, not recomputed. The caller vouches that
            they were made with the same weights.

    Returns:
        DataFrame with columns ``method, seed, set, image, scale, psnr, ssim``,
        the extra metrics and ``seconds`` (upscaling and scoring one image),
        one row per image and scale, in set, scale, image order.
    """
    import time

    import pandas as pd

    from .scores import ROW_KEY, read_table, row_keys

    run = upscaler(method, chunk, bf16)
    sets, scales = list(sets), list(scales)  # iterated more than once
    done = pd.DataFrame()
    if partial is not None and Path(partial).is_file():
        done = read_table(partial)
    reused = set()
    if reuse is not None and len(reuse):
        mine = reuse[reuse["method"].eq(name) & reuse["seed"].eq(seed)]
        # never written to the partial file: it holds only rows computed here, so a later full run
        # that resumes from it does not take committed rows for its own
        reused = set(row_keys(mine))
        done = pd.concat([done, mine], ignore_index=True).drop_duplicates(list(ROW_KEY)) if len(done) else mine
    have = set(row_keys(done)) if len(done) else set()
    rows = done.to_dict("records")
    saved_at = time.perf_counter()

    def save():
        # the rows computed here (never the reused ones), rewritten whole and atomically
        nonlocal saved_at
        Path(partial).parent.mkdir(parents=True, exist_ok=True)
        own = [r for r in rows if tuple(r[k] for k in ROW_KEY) not in reused]
        write_text_atomic(Path(partial), pd.DataFrame(own).to_csv(index=False, float_format="%.6g"))
        saved_at = time.perf_counter()

    for set_name in sets:
        files = dataset_files(set_name)
        if images is not None and set_name in images:
            wanted = set(images[set_name])
            unknown = wanted - {f.stem for f in files}
            if unknown:
                raise ValueError(f"{set_name} has no image(s) {', '.join(sorted(unknown))}")
            files = [f for f in files if f.stem in wanted]
        preset = preset_for_set(set_name)
        for scale in scales:
            todo = [f for f in files if (name, seed, set_name, f.stem, float(scale)) not in have]
            if not todo:
                continue
            for f in todo:
                start = time.perf_counter()
                row = score_pairs(run, EvalPairs([read_image(f)], scale), preset, scale, extra_metrics)[0]
                row.pop("index")
                rows.append({"method": name, "seed": seed, "set": set_name, "image": f.stem, "scale": float(scale),
                             **row, "seconds": time.perf_counter() - start})
                if partial is not None and time.perf_counter() - saved_at > SAVE_EVERY_S:
                    save()  # a slow set (Urban100 on a CPU) loses at most a minute of work when stopped
            if partial is not None:
                save()
            if progress:
                part = [r for r in rows if r["set"] == set_name and r["scale"] == float(scale) and r["method"] == name
                        and r["seed"] == seed]
                progress(f"{name:<12} {set_name:<9} x{scale:<5g} {len(part):>3} images  "
                         f"PSNR {sum(r['psnr'] for r in part) / len(part):.3f}")
    table = pd.DataFrame(rows)
    if len(table):
        table = table[table["method"].eq(name) & table["seed"].eq(seed) & table["set"].isin(sets)
                      & table["scale"].isin([float(s) for s in scales])]
        if images is not None:
            keep = table.apply(lambda r: r["set"] not in images or r["image"] in set(images[r["set"]]), axis=1)
            table = table[keep]
    return table.reset_index(drop=True)


def precision_rows(model, set_name: str, scales: Iterable[float], limit: int | None = None,
                   extra_metrics: dict[str, Callable[[torch.Tensor, torch.Tensor], float]] | None = None):
    """Per-image scores of ``model`` on the first ``limit`` images of ``set_name`` in fp32 and with bf16 autocast.

    The metrics themselves run in fp32 on both outputs: only the model's
    arithmetic changes.

    Returns a DataFrame ``set, image, scale, psnr, psnr_bf16`` (and the other
    columns of :func:`score_images`, ``extra_metrics`` included, the bf16
    ones suffixed ``_bf16``): the rows :func:`precision_check` and
    :func:`paired_precision` summarise.
    """
    images = None if limit is None else {set_name: [f.stem for f in dataset_files(set_name)[:limit]]}
    fp32 = score_images(model, "fp32", [set_name], scales, images=images, extra_metrics=extra_metrics)
    half = score_images(model, "bf16", [set_name], scales, images=images, bf16=True, extra_metrics=extra_metrics)
    return fp32.merge(half, on=["set", "image", "scale"], suffixes=("", "_bf16"))


def paired_precision(methods: dict[str, object], reference: str, set_name: str, scales: Iterable[float],
                     limit: int | None = None, metrics: Iterable[str] = ("psnr",),
                     extra_metrics: dict[str, Callable[[torch.Tensor, torch.Tensor], float]] | None = None):
    """Does bf16 move the paired differences to a reference? fp32 and bf16 side by side, per method, metric and scale.

    A study that scores in bf16 reads its verdicts off per-image differences
    between methods; a per-image bf16 shift matters only where it does not
    cancel in the difference. Scores every method (``reference`` included)
    on the first ``limit`` images of ``set_name`` in both precisions.

    Args:
        methods: label -> method as in :func:`evaluate` (``reference`` among them).
        metrics: columns compared: ``psnr``, ``ssim`` or a key of ``extra_metrics``.

    Returns:
        DataFrame ``set, method, metric, scale, images, delta_fp32,
        delta_bf16, shift, max_abs_image_shift``, one row per method other
        than the reference, metric and scale: the mean per-image (method -
        reference) difference in each precision (the metric's unit), their
        difference (bf16 - fp32) and the largest per-image |shift|.
    """
    import pandas as pd

    if reference not in methods:
        raise ValueError(f"the reference {reference!r} is not among the methods {sorted(methods)}")
    metrics = list(metrics)
    scores = {label: precision_rows(m, set_name, scales, limit, extra_metrics).set_index(["scale", "image"])
              for label, m in methods.items()}
    ref = scores[reference]
    parts = []
    for label, own in scores.items():
        if label == reference:
            continue
        for metric in metrics:
            d = pd.DataFrame({"fp32": own[metric] - ref[metric],
                              "bf16": own[f"{metric}_bf16"] - ref[f"{metric}_bf16"]}).reset_index()
            d["shift"] = d["bf16"] - d["fp32"]
            g = d.groupby("scale", sort=False).agg(
                images=("image", "nunique"), delta_fp32=("fp32", "mean"), delta_bf16=("bf16", "mean"),
                shift=("shift", "mean"), max_abs_image_shift=("shift", lambda x: float(x.abs().max()))).reset_index()
            g.insert(0, "metric", metric)
            g.insert(0, "method", label)
            parts.append(g)
    out = pd.concat(parts, ignore_index=True)
    out.insert(0, "set", set_name)
    return out[["set", "method", "metric", "scale", "images", "delta_fp32", "delta_bf16", "shift", "max_abs_image_shift"]]


def precision_check(model, set_name: str, scales: Iterable[float], limit: int | None = None):
    """PSNR of ``model`` on ``set_name`` in fp32 and with bf16 autocast, per scale: what bf16 costs in accuracy.

    Image by image, so that per-image shifts cannot cancel in a mean.
    Returns a DataFrame ``set, scale, images, psnr, psnr_bf16, difference,
    max_abs_image_difference``: set means in fp32 and bf16, the mean of the
    per-image differences bf16 - fp32 (dB) and the largest per-image |bf16 - fp32|.
    """
    both = precision_rows(model, set_name, scales, limit)
    both["d"] = both["psnr_bf16"] - both["psnr"]
    out = both.groupby(["set", "scale"], sort=False).agg(
        images=("image", "nunique"), psnr=("psnr", "mean"), psnr_bf16=("psnr_bf16", "mean"), difference=("d", "mean"),
        max_abs_image_difference=("d", lambda d: float(d.abs().max())))
    return out.reset_index()


def score_table(methods: dict[str, tuple[object, int]], sets: Iterable[str], scales: dict[str, Iterable[float]],
                *, metric_scales: Iterable[float] = (), extra_metrics: dict[str, Callable] | None = None,
                images: dict[str, Iterable[str]] | None = None, bf16: bool = False, partial: str | Path | None = None,
                reuse=None, set_scales: dict[str, Iterable[float]] | None = None,
                names: dict[str, str] | None = None, progress: Callable[[str], None] | None = None):
    """Per-image scores of several methods, each at its own scales: a notebook's whole score table.

    Args:
        methods: label -> (method, seed), method as in :func:`evaluate`
            ("bicubic" or a model; seed -1 for methods without one). The
            label is the rows' ``method`` unless ``names`` maps it to another
            (several seeds of one method: labels ``LIIF-seed0``,
            ``LIIF-seed1`` -> ``LIIF``).
        scales: name -> the scales that method is scored at (a x4-only
            network need not be scored at x30).
        metric_scales: the scales at which ``extra_metrics`` (ST-LPIPS,
            NIQE: costly on large images) are added; NaN elsewhere.
        images, bf16, partial, reuse, progress: as in :func:`score_images`
            (one ``partial`` file serves every method: it is keyed by row).
        set_scales: set -> the only scales it is scored at (each method at
            those of its own scales in the list); sets not named here get
            every scale. For sets whose large images make every scale
            costly (Urban100: about 1000 output megapixels per method over
            13 scales).
        names: label -> the ``method`` its rows carry (default: the label).

    Returns:
        the rows of :func:`score_images`: the scales without extra metrics
        method by method, then those with them image by image.
    """
    import pandas as pd

    with_metrics = {float(s) for s in metric_scales}
    sets = list(sets)
    limits = {k: {float(s) for s in v} for k, v in (set_scales or {}).items()}

    def allowed(set_name: str, chosen: list[float]) -> list[float]:
        return [s for s in chosen if set_name not in limits or s in limits[set_name]]

    # sets with the same scales are scored in one call (the unrestricted ones all together)
    groups: dict[tuple, list[str]] = {}
    for set_name in sets:
        groups.setdefault(("only", *sorted(limits[set_name])) if set_name in limits else ("all",), []).append(set_name)
    parts = []
    common = dict(bf16=bf16, partial=partial, reuse=reuse)
    names = names or {}
    for label, (method, seed) in methods.items():
        for group in groups.values():
            plain = allowed(group[0], [float(s) for s in scales[label] if float(s) not in with_metrics])
            if plain:
                parts.append(score_images(method, names.get(label, label), group, plain, seed=seed, images=images,
                                          progress=progress, **common))
    # Where the extra metrics are measured, image by image across the methods: a metric that keeps the
    # reference's features (ST-LPIPS) then computes them once per image, not once per method.
    for set_name in sets:
        stems = images[set_name] if images is not None and set_name in images else [f.stem for f in dataset_files(set_name)]
        measured = allowed(set_name, sorted(with_metrics))
        for k, image in enumerate(stems, 1):
            for label, (method, seed) in methods.items():
                chosen = allowed(set_name, [float(s) for s in scales[label] if float(s) in with_metrics])
                if chosen:
                    parts.append(score_images(method, names.get(label, label), [set_name], chosen, seed=seed,
                                              images={set_name: [image]}, extra_metrics=extra_metrics, **common))
            if progress and measured and k % 10 == 0 and k < len(stems):  # a large set takes hours on a CPU
                progress(f"{set_name:<9} {k}/{len(stems)} images scored with {', '.join(extra_metrics or {})}")
        if progress and measured and stems:
            progress(f"{set_name:<9} {len(stems)} images scored with {', '.join(extra_metrics or {})} at "
                     f"x{', x'.join(f'{s:g}' for s in measured)}")
    parts = [p for p in parts if len(p)]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def score_and_settle(mode: str, methods: dict[str, tuple[object, int]], scales: dict[str, Iterable[float]],
                     sets: Iterable[str], *, digests: dict[str, dict], scores_path: str | Path,
                     partial_dir: str | Path, provenance: dict, sample_size: int | dict[str, int],
                     limit: int | None = None,
                     bf16: bool = False, metric_scales: Iterable[float] = (),
                     extra_metrics: dict[str, Callable] | None = None,
                     set_scales: dict[str, Iterable[float]] | None = None, table_scales: Iterable[float] | None = None,
                     names: dict[str, str] | None = None, key: Callable[[str, int], str] | None = None,
                     progress: Callable[[str], None] | None = None):
    """A scoring notebook's whole score step, in the three modes of ``reproduce.scores``.

    Chooses the images (every image, the first ``limit``, or the fixed
    sample of ``sample_size`` per set), carries the committed rows of
    unchanged weights (``extend``), resumes from the partial file under
    ``partial_dir`` named after ``scores_path``'s stem and the weights,
    precision (native or emulated bf16, as ``provenance`` records it) and
    metric design (``full`` and ``extend``), scores with
    :func:`score_table`, then writes the committed table (``full``,
    ``extend``) or checks the recomputed sample against it (``sample``),
    with :func:`reproduce.scores.settle_scores`.

    Args:
        methods, scales, sets, metric_scales, extra_metrics, set_scales,
            names, bf16, progress: as in :func:`score_table`.
        digests: ``{weights key: {"path", "sha256"}}`` of the weights scored,
            keyed by ``key(method, seed)``.
        key: :func:`reproduce.scores.by_method` (default: one set of weights
            per method, ``digests`` keyed by method) or
            :func:`reproduce.scores.by_method_and_seed` (weights per seed,
            keyed ``<method>-seed<k>``, which is then also the label of
            ``methods``).
        provenance: the run's provenance (``report.Run.info``).
        table_scales: the scales the committed table is narrowed to in
            ``sample`` mode (all of them when None).

    Returns:
        ``(computed, settled)``: the rows scored (or carried) now, and the
        :class:`reproduce.scores.SettledScores` whose ``table`` the notebook
        renders from.
    """
    from .scores import by_method, carried_rows, images_to_score, partial_path, resumed_rows, settle_scores

    key = key or by_method
    sets = list(sets)
    chosen = images_to_score(mode, sets, sample_size, limit)
    carried = carried_rows(scores_path, digests, key) if mode == "extend" else None
    emulated = bool(bf16) and provenance.get("bf16_kernels") == "emulated"  # this run's arithmetic (provenance.provenance)
    partial = (partial_path(partial_dir, Path(scores_path).stem, digests, bf16, metric_scales, extra_metrics or {},
                            emulated) if mode != "sample" else None)
    resumed = resumed_rows(partial)  # rows an interrupted earlier process of this run left (the provenance says so)
    computed = score_table(methods, sets, scales, metric_scales=metric_scales, extra_metrics=extra_metrics,
                           images=chosen, bf16=bf16, partial=partial, reuse=carried.rows if carried else None,
                           set_scales=set_scales, names=names, progress=progress)
    settled = settle_scores(mode, computed, scores_path, provenance, digests, sets=sets, scales=table_scales,
                            carried=carried, resumed=resumed, key=key, set_scales=set_scales)
    return computed, settled


def file_digest(path: str | Path) -> str:
    """sha256 of a file (identifies a checkpoint in the evaluation cache)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def stlpips_metric(net: str = "alex") -> Callable[[torch.Tensor, torch.Tensor], float]:
    """ST-LPIPS distance of a (3, H, W) [0, 1] pair (whole image, fp32, no shave); lower is better.

    The trunk's features of the last reference image (``hr``, recognised by
    its content) are kept, so scoring several methods against one ground
    truth in a row runs the trunk on it once; the distance is the same as
    ``model(sr, hr)`` (the same features, compared the same way).
    """
    import hashlib

    from .perceptual import load_stlpips

    model = load_stlpips(net)
    last: dict = {}

    def distance(sr: torch.Tensor, hr: torch.Tensor) -> float:
        hr = hr.detach().float().contiguous()
        key = (tuple(hr.shape), hashlib.blake2b(hr.cpu().numpy().tobytes(), digest_size=16).digest())
        with torch.no_grad():
            if last.get("key") != key:
                last.clear()
                last.update(key=key, features=model.features(hr.unsqueeze(0)))
            return float(model.compare_features(model.features(sr.unsqueeze(0).float()), last["features"]).sum())
    return distance


def example_outputs(methods: dict[str, object], set_name: str, index: int, scale: float, bf16: bool = False,
                    chunk: int = 30000, with_input: bool = False) -> dict[str, torch.Tensor]:
    """Every method's output for one test image, for side-by-side figures.

    ``methods``: name -> "bicubic" or a model (as in :func:`evaluate`). The LR
    is made with the test protocol (``data.make_lr``). Returns
    ``{"<name> x<scale>": (3, H, W) [0, 1], ..., "ground truth": (3, H, W)}``,
    with ``with_input`` first ``"LR input (<w>x<h>)": (3, h, w)``.
    """
    hr_full = ImageSet(set_name, limit=index + 1)[index]
    lr, hr = make_lr(hr_full, scale)
    lr_t, hr_t = to_tensor(lr), to_tensor(hr)
    size = tuple(hr_t.shape[-2:])
    out = {f"LR input ({lr.shape[1]}x{lr.shape[0]})": lr_t} if with_input else {}
    for name, method in methods.items():
        with torch.no_grad():
            out[f"{name} x{scale:g}"] = upscaler(method, chunk, bf16)(lr_t, size)
    out["ground truth"] = hr_t
    return out


def crop_scores(outputs: dict[str, torch.Tensor], gt: torch.Tensor, box: tuple[int, int, int, int],
                lpips=None) -> dict[str, dict[str, float]]:
    """PSNR (RGB, no shave) and, with an ST-LPIPS model, its distance, of each output on one crop.

    outputs: name -> (3, H, W) in [0, 1]; gt likewise; box (y, x, h, w) in
    output pixels. What a figure's per-crop titles show: the crop's own
    numbers, not the whole image's.
    """
    y, x, h, w = box
    ref = gt[:, y:y + h, x:x + w]
    out = {}
    for name, img in outputs.items():
        crop = img[:, y:y + h, x:x + w]
        scores = {"psnr": float(psnr(crop, ref, "rgb-full", 1))}
        if lpips is not None:
            with torch.no_grad():
                scores["stlpips"] = float(lpips(crop.unsqueeze(0).float(), ref.unsqueeze(0).float())[0])
        out[name] = scores
    return out


def scored_row(lr: torch.Tensor, outputs: dict[str, torch.Tensor], hr: torch.Tensor, box: tuple[int, int, int, int],
               lpips=None) -> dict[str, torch.Tensor]:
    """The panels of one row of a crop figure (``figures.contact_sheet``): the input, each output, the truth.

    lr: (3, h, w) in [0, 1], shown whole (titled with its size) so the
    figure can outline the crop on it; outputs: name -> (3, H, W) in [0, 1];
    hr: (3, H, W); box (y, x, h, w) in output pixels. Each output's title
    carries the PSNR (RGB) and, with an ST-LPIPS model, the distance of the
    crop shown, not of the whole image.
    """
    scores = crop_scores(outputs, hr, box, lpips)
    images = {f"LR input ({lr.shape[-1]}x{lr.shape[-2]})": lr}
    for name, img in outputs.items():
        s = scores[name]
        images[f"{name}\n{s['psnr']:.2f} dB" + (f", ST-LPIPS {s['stlpips']:.3f}" if "stlpips" in s else "")] = img
    images["ground truth"] = hr
    return images


def crop_row(methods: dict[str, object], set_name: str, index: int, scale: float, box: tuple[int, int, int, int],
             lpips=None, chunk: int = 30000) -> tuple[str, dict, str]:
    """One row of a crop figure: the LR input (test protocol), every method's output and the ground truth.

    ``methods``: name -> "bicubic" or a model (as in :func:`evaluate`);
    titles as :func:`scored_row`. Returns ``(row label with the image's
    name, {title: image}, the image's name)``.
    """
    shown = example_outputs(methods, set_name, index, scale, chunk=chunk, with_input=True)
    hr_t = shown.pop("ground truth")
    lr_t = next(iter(shown.values()))
    images = scored_row(lr_t, {name: shown[f"{name} x{scale:g}"] for name in methods}, hr_t, box, lpips)
    stem = dataset_files(set_name)[index].stem
    return f"{set_name}/{stem} x{scale:g}", images, stem


def format_row(row: dict) -> str:
    return f"{row['set']:<10} x{row['scale']:<5g} {row['psnr']:8.3f} {row['ssim']:8.4f}"


def format_header() -> str:
    return f"{'set':<10} {'scale':<6} {'psnr':>8} {'ssim':>8}"


def format_table(rows: list[dict]) -> str:
    return "\n".join([format_header(), *(format_row(r) for r in rows)])


def write_csv(path, rows: list[dict]) -> None:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({"set": row["set"], "scale": f"{row['scale']:g}", "psnr": f"{row['psnr']:.4f}", "ssim": f"{row['ssim']:.5f}"})
    write_text_atomic(path, buf.getvalue())
