"""Upscaling image files, one or many, with one model load: the engine of ``reproduce upscale``.

Everything a user can get wrong is checked before any pixel is computed:
output format and folder, an output that is the input, an existing output
without ``overwrite``, an output size below the input size (these models
upscale), and an output too large for the size limit or for the memory
available. Each output is written atomically (never a partial file). In a
batch, a file that fails is reported and the batch goes on.

Conversions are said, not hidden: a grayscale input gives a grayscale output
(the three channels of the model's output averaged, so the file has one
channel); alpha is composited over white and dropped; 16-bit and 32-bit
pixels are reduced to 8 bits; of an animated image the first frame is used;
the EXIF orientation is applied.
"""
from __future__ import annotations

import glob
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import torch

from .data.images import IMAGE_SUFFIXES, WIDE_INTEGER_MODES, list_images, open_image, to_tensor
from .errors import ReproduceError
from .fileio import atomic_path, check_writable

OUTPUT_FORMATS = {".png": "PNG", ".webp": "WEBP", ".bmp": "BMP", ".jpg": "JPEG", ".jpeg": "JPEG",
                  ".tif": "TIFF", ".tiff": "TIFF"}
# Largest side each format can store (the encoders refuse more, after the work is done).
MAX_SIDE = {"WEBP": 16383, "JPEG": 65500}
# The largest output we make: 400 megapixels (20000 x 20000) is far beyond any
# use of these models and still fits the streamed uint8 output in ~1.2 GB.
MAX_OUTPUT_MEGAPIXELS = 400
# Peak memory, by kind of method (estimates with margin), per output pixel and
# per input pixel. Implicit models stream queries into a uint8 output (3
# bytes, copied once more by PIL when saving) but hold per-input-pixel maps:
# encoder features and the 256-channel projected codes (LIIF) or the
# 576-channel unfolded features (MetaSR), float32. Bicubic holds a few float32
# copies of the output. Image-to-image networks hold 64-channel float32
# activations at the output size (SRCNN) or at 4x the input (SRResNet).
BYTES_PER_OUTPUT_PIXEL = {"implicit": 8, "bicubic": 64, "image": 600}
BYTES_PER_INPUT_PIXEL = {"implicit": 4096, "bicubic": 64, "image": 600 * 16}
BYTES_PER_QUERY = 1024  # one chunk of queries in flight (coordinates, gathered codes, MLP activations)


@dataclass(frozen=True)
class Job:
    """One file to upscale: ``source`` image -> ``target`` path (format from its suffix)."""
    source: Path
    target: Path


@dataclass
class FileResult:
    """What happened to one job: sizes as (H, W), seconds of compute, notes, or the error."""
    job: Job
    in_size: tuple[int, int] | None = None
    out_size: tuple[int, int] | None = None
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    error: str | None = None
    skipped: bool = False


def hw(size: tuple[int, int]) -> str:
    """A size as ``HxW``, rows first like ``--size``."""
    return f"{size[0]}x{size[1]}"


def _count(n: int) -> str:
    """An integer for a message: digits with separators, or its order of magnitude when absurdly long."""
    return f"{n:,}" if n < 10**15 else f"about 10^{len(str(n)) - 1}"


def output_format(path: Path) -> str:
    fmt = OUTPUT_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ReproduceError(f"cannot tell the output format from {path.name!r}; use one of {', '.join(OUTPUT_FORMATS)}")
    return fmt


def expand_inputs(inputs: Iterable[str]) -> tuple[list[Path], bool]:
    """Image files named by ``inputs`` (files, folders, or glob patterns), and whether it is a batch.

    A folder contributes its image files (sorted by name, not recursive); a
    pattern its matching files. It is a batch when more than one input is
    given or any input is a folder or a pattern, even if it matches one file.

    Raises:
        ReproduceError: an input matches nothing.
    """
    files, batch = [], False
    inputs = list(inputs)
    for text in inputs:
        path = Path(text)
        if path.is_dir():
            found, batch = list_images(path), True
            if not found:
                raise ReproduceError(f"no images ({', '.join(IMAGE_SUFFIXES)}) in folder {path}")
        elif path.exists() or not glob.has_magic(text):
            found = [path]  # a missing plain path is reported when it is read, per file
        else:
            found = sorted(Path(p) for p in glob.glob(text)
                           if Path(p).is_file() and Path(p).suffix.lower() in IMAGE_SUFFIXES and not Path(p).name.startswith("."))
            batch = True
            if not found:
                raise ReproduceError(f"no image files ({', '.join(IMAGE_SUFFIXES)}) match {text!r}")
        files.extend(found)
    return files, batch or len(inputs) > 1


def plan_jobs(inputs: Iterable[str], output: str | os.PathLike, overwrite: bool = False,
              skip_existing: bool = False, suffix: str = ".png") -> tuple[list[Job], list[Job], bool]:
    """Pair each input with its output path; check every output before any work.

    A single input file goes to ``output`` (a file path). A batch goes into
    the folder ``output`` (created if its parent exists) as ``<stem><suffix>``.

    Returns:
        (jobs to run, jobs skipped because their output exists and
        ``skip_existing``, whether it is a batch).

    Raises:
        ReproduceError: unknown output format, missing or unwritable output
            folder, an output equal to its input, two inputs with one output
            name, or an existing output without ``overwrite``/``skip_existing``.
    """
    files, batch = expand_inputs(inputs)
    output = Path(output)
    if batch:
        output_format(Path(f"x{suffix}"))
        if output.exists() and not output.is_dir():
            raise ReproduceError(f"several inputs need an output folder, but {output} is a file")
        if not output.exists() and not output.parent.is_dir():
            raise ReproduceError(f"output folder does not exist: {output.parent}")
        jobs = [Job(f, output / f"{f.stem}{suffix}") for f in files]
    else:
        if output.is_dir():  # before the format: a folder's name has no suffix to read one from
            raise ReproduceError(f"{output} is a folder; give an output file name (e.g. {output / (files[0].stem + '.png')})")
        output_format(output)
        jobs = [Job(files[0], output)]
    seen: dict[Path, Path] = {}
    for job in jobs:
        target = job.target.resolve()
        if job.source.exists() and target == job.source.resolve():
            raise ReproduceError(f"the output {job.target} is the input file; choose another output")
        if target in seen:
            raise ReproduceError(f"{seen[target].name} and {job.source.name} would both be written to {job.target}")
        seen[target] = job.source
    existing = [j for j in jobs if j.target.exists()]
    if existing and not (overwrite or skip_existing):
        more = f" and {len(existing) - 1} more" if len(existing) > 1 else ""
        raise ReproduceError(f"{existing[0].target} already exists{more}; pass --overwrite to replace"
                             + (" or --skip-existing to keep" if batch else "") + " it")
    folder = jobs[0].target.parent
    if batch and not folder.exists():
        try:
            folder.mkdir()
        except OSError as exc:
            raise ReproduceError(f"cannot create the output folder {folder} ({exc.strerror or exc})") from None
    if not folder.is_dir():
        raise ReproduceError(f"output folder does not exist: {folder}")
    check_writable(folder)
    if skip_existing and not overwrite:
        return [j for j in jobs if not j.target.exists()], existing, batch
    return jobs, [], batch


def output_size(in_size: tuple[int, int], scale: float | None = None, size: tuple[int, int] | None = None) -> tuple[int, int]:
    """The (H, W) of the output for ``scale`` or an explicit ``size``.

    Raises:
        ReproduceError: ``size`` is smaller than the input in either
            dimension (the same rule as a scale below 1).
    """
    if size is None:
        h, w = in_size[0] * scale, in_size[1] * scale  # floats: an absurd scale gives inf, never an overflow
        if not h * w <= MAX_OUTPUT_MEGAPIXELS * 1e6:
            raise ReproduceError(f"scale {scale:g} makes the {hw(in_size)} input about {h:.3g}x{w:.3g}, over the limit "
                                 f"of {MAX_OUTPUT_MEGAPIXELS} megapixels; use a smaller scale")
        return max(1, round(h)), max(1, round(w))
    if size[0] < in_size[0] or size[1] < in_size[1]:
        raise ReproduceError(f"size {hw(size)} is smaller than the input ({hw(in_size)}): these models upscale; "
                             f"use a size of at least {hw(in_size)}")
    return size


def available_memory_bytes() -> int | None:
    """MemAvailable from /proc/meminfo (Linux), else None (unknown: not checked)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def check_budget(size: tuple[int, int], kind: str, in_size: tuple[int, int] = (1, 1), chunk: int = 30000,
                 available: int | None = None) -> None:
    """Refuse an output over :data:`MAX_OUTPUT_MEGAPIXELS` or over the memory available.

    The memory estimate counts the output, the input-side maps of the method
    kind and, for implicit models, one chunk of queries.

    Raises:
        ReproduceError: naming the size, the limit and the memory needed.
    """
    if size[0] * size[1] > MAX_OUTPUT_MEGAPIXELS * 10**6:  # Python ints: exact however large the size
        raise ReproduceError(f"output {_count(size[0])}x{_count(size[1])} ({_count(size[0] * size[1] // 10**6)} "
                             f"megapixels) is over the limit of {MAX_OUTPUT_MEGAPIXELS} megapixels; use a smaller "
                             "scale or size")
    needed = (size[0] * size[1] * BYTES_PER_OUTPUT_PIXEL[kind] + in_size[0] * in_size[1] * BYTES_PER_INPUT_PIXEL[kind]
              + (chunk * BYTES_PER_QUERY if kind == "implicit" else 0))
    available = available_memory_bytes() if available is None else available
    if available is not None and needed > available:
        raise ReproduceError(f"upscaling {hw(in_size)} to {hw(size)} needs about {needed / 2**30:.1f} GiB of memory "
                             f"with this model, {available / 2**30:.1f} GiB available; use a smaller input, scale, size or --chunk")


def check_format_size(size: tuple[int, int], path: Path) -> None:
    """Refuse an output larger than its file format can store (WebP 16383 px, JPEG 65500 px a side)."""
    fmt = output_format(path)
    limit = MAX_SIDE.get(fmt)
    if limit is not None and max(size) > limit:
        raise ReproduceError(f"{fmt} stores at most {limit} pixels a side, the output is {hw(size)}; write a .png or .tif")


def method_kind(method) -> str:
    """``implicit`` (queried in chunks), ``image`` (image-to-image network) or ``bicubic``."""
    from .models.interface import is_image_to_image, is_implicit

    if isinstance(method, str) and method == "bicubic":
        return "bicubic"
    if is_implicit(method):
        return "implicit"
    if is_image_to_image(method):
        return "image"
    raise ReproduceError(f"a {type(method).__name__} does not upscale images (not a super-resolution model)")


def make_upscaler(method, chunk: int = 30000, bf16: bool = False) -> Callable[[torch.Tensor, tuple[int, int]], torch.Tensor]:
    """``(lr (3, h, w) float [0, 1], (H, W)) -> (3, H, W) uint8``: ``evaluate.upscaler`` with 8-bit output."""
    from .evaluate import upscaler

    return upscaler(method, chunk, bf16, out_dtype=torch.uint8)


def upscale_file(upscaler: Callable, kind: str, job: Job, scale: float | None = None,
                 size: tuple[int, int] | None = None, chunk: int = 30000) -> FileResult:
    """Read, check, upscale and write one file; errors are returned in the result, not raised.

    Any exception of one file (a user error, a full disk, an encoder's
    refusal, memory running out) is reported for that file; a batch goes on.
    """
    from PIL import Image

    result = FileResult(job)
    try:
        img = open_image(job.source)
        result.in_size = img.pixels.shape[:2]
        result.out_size = output_size(result.in_size, scale, size)
        check_format_size(result.out_size, job.target)
        check_budget(result.out_size, kind, result.in_size, chunk)
        if img.rotated:
            result.notes.append("EXIF orientation applied")
        if img.alpha:
            result.notes.append("alpha channel composited over white and dropped (the output has no alpha)")
        if img.frames > 1:
            result.notes.append(f"first of {img.frames} frames used")
        if img.mode in (*WIDE_INTEGER_MODES, "F"):  # the models read and write 8 bits per channel
            result.notes.append(f"{img.mode} pixels reduced to 8 bits (the output has 8 bits per channel)")
        tic = time.perf_counter()
        with torch.no_grad():
            sr = upscaler(to_tensor(img.pixels), result.out_size)
        result.seconds = time.perf_counter() - tic
        array = sr.permute(1, 2, 0).numpy()
        if img.grayscale:  # one channel in, one channel out: the mean of the model's three
            array = ((array[..., 0].astype(np.uint16) + array[..., 1] + array[..., 2] + 1) // 3).astype(np.uint8)
        with atomic_path(job.target) as tmp:
            Image.fromarray(array).save(tmp, format=output_format(job.target))
    except ReproduceError as exc:
        result.error = str(exc)
    except OSError as exc:  # e.g. the disk filled up while saving: no partial file is left
        result.error = f"cannot write {job.target} ({exc.strerror or exc})"
    except Exception as exc:  # noqa: BLE001  (one file's failure must not end a batch with a traceback)
        result.error = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else 'no message'}"
    return result


def upscale_files(method, jobs: list[Job], scale: float | None = None, size: tuple[int, int] | None = None,
                  chunk: int = 30000, bf16: bool = False, progress: bool = False,
                  report: Callable[[FileResult], None] | None = None) -> list[FileResult]:
    """Upscale every job with one model; a failing file does not stop the others.

    Args:
        method: ``"bicubic"`` or a model from ``reproduce.models.load`` (on its device).
        scale / size: one of them (output (H, W) = round(scale * (h, w)), or size).
        progress: show a progress bar on stderr.
        report: called with each result as it is done.

    Returns:
        one :class:`FileResult` per job, in order.
    """
    from tqdm import tqdm

    kind = method_kind(method)
    upscaler = make_upscaler(method, chunk, bf16)
    results = []
    for job in tqdm(jobs, desc="upscale", unit="image", disable=not progress, leave=False):
        result = upscale_file(upscaler, kind, job, scale, size, chunk)
        results.append(result)
        if report:
            report(result)
    return results
