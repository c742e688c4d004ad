"""Download the public datasets into the data root and verify a data root.

Two entry points, for ``reproduce data fetch [SETS...]`` and
``reproduce data check``:

* :func:`fetch` downloads each requested set from its original public source
  (:data:`SOURCES`), decodes every image, verifies the SHA-256 of its RGB
  pixels against the manifest shipped with the package (``manifest.tsv``, a
  copy of the ``images.tsv`` that describes the project's data folder), and
  writes the verified images as lossless WebP at the manifest paths
  (``benchmark/Set5/baby.webp``, ...). It returns a :class:`FetchResult`.
* :func:`check` verifies an existing data root against the manifest and
  returns a :class:`CheckResult` (missing, differing and extra files per set),
  so the command line can exit non-zero when anything is wrong.

The hash is taken over ``np.asarray(Image.open(p).convert("RGB")).tobytes()``,
so it does not depend on the file format: a PNG in the source archive and the
WebP written here hash the same when their pixels are the same.

Downloads go to ``<root>/.downloads/`` through a ``.part`` file; an interrupted
download resumes with an HTTP ``Range`` request on the next run (servers that
ignore ``Range`` send the whole file again, which is detected). Archives are
deleted once a run completes unless ``keep_downloads`` is set; a failed run
leaves them so the next run does not download them again.

The normal maps (``normals/``) are not fetched: they come from several
repositories in formats that need their own conversion (depth ``.npz``,
``.mat``), and the manifest does not list them. :func:`check` looks only at the
set folders of the manifest, so ``normals/`` and anything else in the data root
(DIV2K folders, ``.downloads/``) is neither checked nor reported as extra.
"""
from __future__ import annotations

import csv
import fnmatch
import hashlib
import http.client
import io
import os
import posixpath
import re
import tarfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
import zlib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import Callable, Iterable, Iterator, Mapping, Sequence

import numpy as np
from PIL import Image, UnidentifiedImageError, features

from ..errors import ReproduceError
from ..fileio import check_writable, write_atomic
from .locate import data_root

Log = Callable[[str], None]

MANIFEST_COLUMNS = ("path", "source_name", "width", "height", "source_mode", "rgb_sha256", "source_bytes", "bytes")
DOWNLOAD_DIR = ".downloads"
# Lossless WebP is exact whatever the effort; 4 is ~5x faster than 6 on the
# 1024-pixel Urban100 images for files only ~3 % larger.
WEBP_METHOD = 4
CHUNK = 1 << 20
USER_AGENT = "reproduce-data-fetch/1 (Python urllib)"
TIMEOUT_S = 60


# --------------------------------------------------------------------------
# The manifest
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class ManifestRow:
    """One image of the data layout, as listed in ``manifest.tsv``.

    Attributes:
        path: where the image lives under the data root (``benchmark/Set5/baby.webp``).
        source_name: the file name in the source archive (``baby.png``).
        width: image width in pixels.
        height: image height in pixels.
        rgb_sha256: SHA-256 of the decoded pixels after ``.convert("RGB")``.
    """
    path: str
    source_name: str
    width: int
    height: int
    rgb_sha256: str

    @property
    def set_name(self) -> str:
        """The set the image belongs to: the name of its folder (``Set5``)."""
        return PurePosixPath(self.path).parent.name

    @property
    def folder(self) -> str:
        """The set's folder relative to the data root (``benchmark/Set5``)."""
        return str(PurePosixPath(self.path).parent)


def load_manifest(path: str | os.PathLike | None = None) -> list[ManifestRow]:
    """Read a manifest TSV: the one shipped with the package unless ``path`` is given.

    Raises:
        ReproduceError: the file is missing or lacks the expected columns.
    """
    try:
        if path is None:
            text = resources.files(__package__).joinpath("manifest.tsv").read_text(encoding="utf-8")
        else:
            text = Path(path).read_text(encoding="utf-8")
    except OSError as e:
        raise ReproduceError(f"cannot read the image manifest {path or 'manifest.tsv'}: {e}") from e
    reader = csv.DictReader(io.StringIO(text), delimiter="\t")
    missing = [c for c in MANIFEST_COLUMNS if c not in (reader.fieldnames or ())]
    if missing:
        raise ReproduceError(f"the image manifest {path or 'manifest.tsv'} lacks the columns {', '.join(missing)}")
    return [ManifestRow(r["path"], r["source_name"], int(r["width"]), int(r["height"]), r["rgb_sha256"].lower())
            for r in reader]


def rows_by_set(rows: Iterable[ManifestRow]) -> dict[str, list[ManifestRow]]:
    """Group manifest rows by set name, keeping the manifest's order."""
    groups: dict[str, list[ManifestRow]] = {}
    for row in rows:
        groups.setdefault(row.set_name, []).append(row)
    return groups


def _as_rows(manifest: Sequence[ManifestRow] | str | os.PathLike | None) -> list[ManifestRow]:
    if manifest is None or isinstance(manifest, (str, os.PathLike)):
        return load_manifest(manifest)
    return list(manifest)


# --------------------------------------------------------------------------
# The source table
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class Source:
    """Where the images of a set can be downloaded, and how to read them.

    Attributes:
        url: an archive URL (``kind`` "zip" or "tar.gz"), or for ``kind``
            "file" a URL template with ``{source_name}`` for one image.
        kind: "zip", "tar.gz" or "file".
        pattern: glob (``fnmatch``) over archive member paths selecting the
            set's images; ``*`` also matches ``/`` so ``*/data/...`` skips the
            top folder GitHub archives add. Unused for "file".
        rename: maps a member's base name to the manifest ``source_name``
            (None: the base name is the source name). Only used to say which
            image differs: images are matched by their pixel hash.
        transform: applied to the decoded image before the RGB conversion,
            for sources whose pixels need e.g. a crop (None: as decoded).
        note: what is known (verified or not) about this source.
    """
    url: str
    kind: str
    pattern: str = "*"
    rename: Callable[[str], str | None] | None = None
    transform: Callable[[Image.Image], Image.Image] | None = None
    note: str = ""

    def __post_init__(self):
        if self.kind not in ("zip", "tar.gz", "file"):
            raise ReproduceError(f"unknown source kind {self.kind!r} for {self.url} (use zip, tar.gz or file)")
        if (self.kind == "file") != ("{source_name}" in self.url):
            raise ReproduceError(f"{self.url}: only a 'file' source has (and needs) a {{source_name}} placeholder")

    def matches(self, member: str) -> bool:
        """True if the archive member path is one of the set's images."""
        return fnmatch.fnmatchcase(member, self.pattern)

    def source_name(self, member: str) -> str | None:
        """The manifest ``source_name`` an archive member stands for (None if ``rename`` knows it not)."""
        base = posixpath.basename(member)
        return self.rename(base) if self.rename else base


def regex_rename(pattern: str, replacement: str) -> Callable[[str], str | None]:
    """A ``rename`` that rewrites names matching ``pattern`` (``re.fullmatch``) and drops the others."""
    compiled = re.compile(pattern)

    def rename(name: str) -> str | None:
        match = compiled.fullmatch(name)
        return match.expand(replacement) if match else None

    return rename


def numbered_rename(names: Sequence[str], pattern: str = r"img_(\d{3})\.png") -> Callable[[str], str | None]:
    """A ``rename`` for sets stored as ``img_001.png`` ... in a known order: number n -> ``names[n-1]``."""
    compiled = re.compile(pattern)

    def rename(name: str) -> str | None:
        match = compiled.fullmatch(name)
        if not match or not 1 <= int(match.group(1)) <= len(names):
            return None
        return names[int(match.group(1)) - 1]

    return rename


# Pinned commits: the file listings quoted in the notes below were checked in a
# stored index of GitHub at exactly these commits, and a commit archive stays
# the same when the branch moves on. None of these URLs
# could be downloaded from here (no internet): the per-image hash is what
# decides whether a source is right, so a wrong guess shows up as "differs" or
# "missing", never as wrong data.
_SELFEXSR = "https://github.com/jbhuang0604/SelfExSR/archive/18e00f2d1bd3941e9b8d4895d3541543ad86d5b2.zip"
_DCSCN = "https://github.com/jiny2001/dcscn-super-resolution/archive/27d8f11cd8b5d58de0b91128b4b6c72375c69e16.zip"
_DENOISING = "https://github.com/majedelhelou/denoising_datasets/archive/d3636716c8e3fb806f4395bbb3f2e4c0fde50700.zip"
_KODAK_ZELEX = "https://raw.githubusercontent.com/Zelex/images/d3dfc8447da5c8004e5848066ff01916267f99da/kodak/{source_name}"
_KODAK_R0K = "http://r0k.us/graphics/kodak/kodak/{source_name}"

# The usual (alphabetical) order of the classic sets, as numbered img_001...
SET5_NAMES = ("baby.png", "bird.png", "butterfly.png", "head.png", "woman.png")
SET14_NAMES = ("baboon.png", "barbara.png", "bridge.png", "coastguard.png", "comic.png", "face.png", "flowers.png",
               "foreman.png", "lenna.png", "man.png", "monarch.png", "pepper.png", "ppt3.png", "zebra.png")

# set name -> sources, tried in order until every image of the set is verified.
# Images are matched to manifest rows by pixel hash, so a fallback only fetches
# what the sources before it did not provide.
SOURCES: dict[str, tuple[Source, ...]] = {
    "Set5": (
        Source(_DCSCN, "zip", "*/data/set5/img_*.png", numbered_rename(SET5_NAMES),
               note="data/set5/img_001..005.png listed at this commit; the name order is assumed"),
        # SelfExSR crops each HR image to a multiple of the scale; the Set5
        # sizes are multiples of 4, so the x4 HR files are the full images.
        Source(_SELFEXSR, "zip", "*/data/Set5/image_SRF_4/img_*_SRF_4_HR.png",
               numbered_rename(SET5_NAMES, r"img_(\d{3})_SRF_4_HR\.png"),
               note="data/Set5/image_SRF_4 listed at this commit"),
    ),
    "Set14": (
        Source(_DCSCN, "zip", "*/data/set14/img_*.png", numbered_rename(SET14_NAMES),
               note="data/set14/img_001..014.png listed at this commit; the name order is assumed"),
        # The data README names these copies (CSet14) as the origin of the
        # manifest's Set14; the folder name CSet14 was NOT verified. SelfExSR's
        # Set14 is no fallback: comic, ppt3 and zebra have odd sizes, which its
        # per-scale crops cut.
        Source(_DENOISING, "zip", "*/CSet14/*.png", note="folder CSet14 not verified (taken from the data README)"),
    ),
    "B100": (
        # The x3 HR files: the 481x321 BSD originals cut to 480x321 (a multiple
        # of 3), the crop the manifest describes; the BSD ids come from the
        # manifest's source_name column.
        Source(_SELFEXSR, "zip", "*/data/BSD100/image_SRF_3/img_*_SRF_3_HR.png",
               note="data/BSD100/image_SRF_3/img_NNN_SRF_3_HR.png listed at this commit"),
    ),
    "Urban100": (
        # Every Urban100 size is a multiple of 4, so the x4 HR files are uncropped.
        Source(_SELFEXSR, "zip", "*/data/Urban100/image_SRF_4/img_*_SRF_4_HR.png",
               regex_rename(r"img_(\d{3})_SRF_4_HR\.png", r"img_\1.png"),
               note="data/Urban100/image_SRF_4 listed at this commit"),
    ),
    "SunHays80": (
        Source(_SELFEXSR, "zip", "*/data/Sun-Hays80/image_SRF_8/img_*_SRF_8_HR.png",
               note="data/Sun-Hays80/image_SRF_8/img_NNN_SRF_8_HR.png listed at this commit"),
    ),
    "T91": (
        # Not verified: the index holds no .bmp files of this repository; the
        # folder name comes from its README (``--dataset yang91``), beside the
        # verified data/bsd200 folder.
        Source(_DCSCN, "zip", "*/data/yang91/*.bmp", note="folder data/yang91 NOT verified"),
    ),
    "BSD200": (
        Source(_DCSCN, "zip", "*/data/bsd200/*.png", note="data/bsd200/<BSD id>.png listed at this commit"),
    ),
    "Kodak24": (
        # The listing at this commit shows kodak/kodim02..24.png; kodim01.png is
        # assumed beside them (NOT verified).
        Source(_KODAK_ZELEX, "file", note="kodak/kodim02..24.png listed at this commit; kodim01 assumed"),
        Source(_KODAK_R0K, "file", note="Rich Franzen's Kodak page; file URLs NOT verified"),
    ),
}


# --------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------

@dataclass
class SetFetchReport:
    """What :func:`fetch` got for one set.

    Attributes:
        name: the set.
        ok: images verified in place after the run (already there or written now).
        fetched: of those, images written by this run.
        failed: manifest paths whose source pixels differ from the manifest (not written).
        missing: manifest paths no source provided.
    """
    name: str
    ok: int = 0
    fetched: int = 0
    failed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (f"{self.name}: {self.ok} ok ({self.fetched} fetched, {self.ok - self.fetched} already there), "
                f"{len(self.failed)} differing, {len(self.missing)} missing")


@dataclass
class FetchResult:
    """The outcome of :func:`fetch`: one :class:`SetFetchReport` per requested set."""
    sets: dict[str, SetFetchReport] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when every requested image is verified in place."""
        return all(not r.failed and not r.missing for r in self.sets.values())

    def summary_lines(self) -> list[str]:
        return [r.summary() for r in self.sets.values()]


@dataclass
class SetCheckReport:
    """What :func:`check` found for one set (paths relative to the data root)."""
    name: str
    ok: int = 0
    missing: list[str] = field(default_factory=list)
    differing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (f"{self.name}: {self.ok} ok, {len(self.missing)} missing, {len(self.differing)} differing, "
                f"{len(self.extra)} extra")


@dataclass
class CheckResult:
    """The outcome of :func:`check`: one :class:`SetCheckReport` per checked set."""
    sets: dict[str, SetCheckReport] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when nothing is missing, differing or extra."""
        return all(not (r.missing or r.differing or r.extra) for r in self.sets.values())

    def counts(self) -> dict[str, int]:
        """Totals over all sets: ``ok``, ``missing``, ``differing``, ``extra``."""
        reports = self.sets.values()
        return {"ok": sum(r.ok for r in reports), "missing": sum(len(r.missing) for r in reports),
                "differing": sum(len(r.differing) for r in reports), "extra": sum(len(r.extra) for r in reports)}

    def summary_lines(self) -> list[str]:
        return [r.summary() for r in self.sets.values()]


# --------------------------------------------------------------------------
# Pixels
# --------------------------------------------------------------------------

def rgb_sha256(image: Image.Image) -> str:
    """SHA-256 of an image's pixels after ``.convert("RGB")``, the manifest's hash."""
    return hashlib.sha256(np.asarray(image.convert("RGB")).tobytes()).hexdigest()


def file_rgb_sha256(path: str | os.PathLike) -> str | None:
    """The manifest hash of an image file, or None if it cannot be decoded."""
    try:
        with Image.open(path) as image:
            return rgb_sha256(image)
    except (OSError, UnidentifiedImageError, ValueError):
        return None


def _decode(data: bytes, transform: Callable[[Image.Image], Image.Image] | None) -> Image.Image | None:
    """Decode image bytes to RGB (after ``transform``); None if they are no image."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            image = transform(image) if transform else image
            return image.convert("RGB")
    except (OSError, UnidentifiedImageError, ValueError):
        return None


def _write_webp(image: Image.Image, target: Path, expected: str) -> None:
    """Save ``image`` as lossless WebP at ``target`` atomically, after re-reading it to check the hash."""
    def write(tmp: Path) -> None:
        image.save(tmp, "WEBP", lossless=True, quality=100, method=WEBP_METHOD)
        # Lossless WebP is exact; re-reading guards against a broken libwebp
        # build, so that the layout never holds an unverified file.
        if file_rgb_sha256(tmp) != expected:
            raise ReproduceError(f"the WebP written for {target} does not read back with the same pixels: "
                                 "check Pillow's WebP support (python -m PIL.features)")

    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(target, write)
    except OSError as e:  # a full disk or a read-only folder: one line, nothing partial left
        raise ReproduceError(f"cannot write {target} ({e.strerror or e})") from None


# --------------------------------------------------------------------------
# Downloads
# --------------------------------------------------------------------------

class _SourceError(Exception):
    """A source could not be downloaded or read (a fallback source may still work)."""


def download_path(root: str | os.PathLike, url: str) -> Path:
    """Where :func:`fetch` keeps the download of ``url`` (its ``.part`` file is beside it).

    The name carries a hash of the URL, so two archives that are both called
    ``master.zip`` do not collide.
    """
    base = posixpath.basename(urllib.parse.urlsplit(url).path) or "download"
    base = re.sub(r"[^A-Za-z0-9._-]", "_", base)[-80:]
    return Path(root) / DOWNLOAD_DIR / f"{hashlib.sha1(url.encode()).hexdigest()[:10]}-{base}"


def download(url: str, dest: Path, log: Log) -> Path:
    """Download ``url`` to ``dest`` through ``dest.part``, resuming a partial ``.part`` file.

    A complete ``dest`` is reused as it is. A ``.part`` file left by an
    interrupted run is continued with ``Range: bytes=<size>-``; if the server
    answers with the whole file instead (no Range support) or with a range that
    does not start there, the download starts again from the beginning.

    Raises:
        urllib.error.HTTPError: the server refused the request (404, ...).
        _SourceError: the connection failed; the ``.part`` file is kept for the next run.
    """
    if dest.is_file():
        return dest
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ReproduceError(f"cannot create the download folder {dest.parent} ({e.strerror or e})") from None
    part = dest.with_name(dest.name + ".part")
    log(f"  downloading {url}")
    for _ in range(2):  # a second pass only after a refused resume
        offset = part.stat().st_size if part.is_file() else 0
        try:
            if _download_once(url, part, offset, log):
                os.replace(part, dest)
                return dest
        except urllib.error.HTTPError as e:
            if e.code != 416 or not offset:
                raise
            log(f"  the server refused to resume at byte {offset}; downloading {url} again")
        except (urllib.error.URLError, http.client.HTTPException, OSError) as e:
            reason = getattr(e, "reason", e)
            raise _SourceError(f"download of {url} failed ({reason}); run again to resume") from e
        part.unlink(missing_ok=True)
    raise _SourceError(f"download of {url} could not be resumed or restarted")


def _download_once(url: str, part: Path, offset: int, log: Log) -> bool:
    """One GET of ``url`` into ``part`` from ``offset``; False if the answer cannot continue ``part``."""
    headers = {"User-Agent": USER_AGENT}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=TIMEOUT_S) as response:
        if offset and response.status == 206:
            if _range_start(response.headers.get("Content-Range")) != offset:
                return False
            log(f"  resuming {url} at {offset / 1e6:.1f} MB")
            mode = "ab"
        else:
            if offset:
                log(f"  {url}: the server ignored the resume request; downloading it whole")
            offset, mode = 0, "wb"
        length = response.headers.get("Content-Length")
        total = offset + int(length) if length and length.isdigit() else None
        with open(part, mode) as out:
            got = _copy_with_progress(response, out, offset, total, url, log)
    if total is not None and got != total:
        raise http.client.IncompleteRead(b"", total - got)
    return True


def _range_start(content_range: str | None) -> int | None:
    """The first byte of a ``Content-Range: bytes a-b/n`` header."""
    match = re.match(r"\s*bytes\s+(\d+)-", content_range or "")
    return int(match.group(1)) if match else None


def _copy_with_progress(response, out, got: int, total: int | None, url: str, log: Log) -> int:
    """Copy the response body to ``out``, logging about every tenth (or every 100 MB); return the bytes held."""
    step = max(total // 10, CHUNK) if total else 100 * CHUNK
    next_report = got + step
    while chunk := response.read(CHUNK):
        out.write(chunk)
        got += len(chunk)
        if got >= next_report:
            of = f" of {total / 1e6:.1f}" if total else ""
            log(f"  {posixpath.basename(urllib.parse.urlsplit(url).path)}: {got / 1e6:.1f}{of} MB")
            next_report += step
    return got


# --------------------------------------------------------------------------
# Archives
# --------------------------------------------------------------------------

def _archive_members(path: Path, kind: str, wanted: Callable[[str], bool]) -> Iterator[tuple[str, bytes]]:
    """Yield (member path, contents) for each regular file of a zip or tar.gz archive that is ``wanted``.

    Members are read into memory, never extracted, so member paths (``..``,
    absolute names) cannot write outside the data root.

    Raises:
        _SourceError: the archive cannot be read; it is deleted so the next run downloads it again.
    """
    try:
        if kind == "zip":
            with zipfile.ZipFile(path) as archive:
                for info in archive.infolist():
                    if not info.is_dir() and wanted(info.filename):
                        yield info.filename, archive.read(info)
        elif kind == "tar.gz":
            with tarfile.open(path, "r:gz") as archive:
                for info in archive:
                    if info.isfile() and wanted(info.name):
                        yield info.name, archive.extractfile(info).read()
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, zlib.error, OSError) as e:
        path.unlink(missing_ok=True)
        raise _SourceError(f"the downloaded archive {path.name} is damaged ({e}); it was deleted, run again") from e


# --------------------------------------------------------------------------
# fetch
# --------------------------------------------------------------------------

class _Pending:
    """The images of one set still to fetch, looked up by hash and by source name."""

    def __init__(self, rows: Iterable[ManifestRow]):
        self.by_hash: dict[str, list[ManifestRow]] = {}
        self.by_name: dict[str, ManifestRow] = {}
        for row in rows:
            self.by_hash.setdefault(row.rgb_sha256, []).append(row)
            self.by_name[row.source_name] = row
        self.differing: dict[str, str] = {}  # path -> where the differing copy came from

    def __bool__(self) -> bool:
        return bool(self.by_name)

    def done(self, row: ManifestRow) -> None:
        self.by_name.pop(row.source_name, None)
        self.differing.pop(row.path, None)
        rows = self.by_hash.get(row.rgb_sha256, [])
        if row in rows:
            rows.remove(row)


def fetch(sets: Iterable[str] = (), root: str | os.PathLike | None = None, *,
          sources: Mapping[str, Sequence[Source]] | None = None,
          manifest: Sequence[ManifestRow] | str | os.PathLike | None = None,
          log: Log = print, keep_downloads: bool = False) -> FetchResult:
    """Download, verify and convert the named sets into the data root.

    Images already in place with the right pixels are kept (a set whose
    images are all there downloads nothing). Every fetched image is decoded,
    converted to RGB, checked against the manifest hash and written as
    lossless WebP at its manifest path, atomically. An image whose pixels
    differ is reported (``failed``) and not written. The normal maps
    (``normals/``) are not fetched.

    Args:
        sets: set names (case-insensitive); empty for every set of ``sources``.
        root: the data root (created if missing); ``$REPRODUCE_DATA`` or ``./data`` if None.
        sources: set name -> sources tried in order; :data:`SOURCES` by default.
        manifest: manifest rows or a manifest path; the shipped ``manifest.tsv`` by default.
        log: receives one line per step and the summary.
        keep_downloads: keep the archives in ``<root>/.downloads`` after a successful run.

    Returns:
        A :class:`FetchResult`; ``result.ok`` is False if any image failed or is missing.

    Raises:
        ReproduceError: an unknown set name (raised before any download), a
            data root that cannot be created, or a download that failed with
            no other source left for the set.
    """
    sources = SOURCES if sources is None else sources
    groups = rows_by_set(_as_rows(manifest))
    names = _resolve_sets(sets, list(sources), groups)
    root = _prepare_root(root)
    if not features.check("webp"):
        raise ReproduceError("this Pillow has no WebP support; install a Pillow wheel from PyPI")

    result, used = FetchResult(), set()
    for name in names:
        result.sets[name] = _fetch_set(name, groups[name], sources[name], root, log, used)
        log(result.sets[name].summary())
    if not keep_downloads:
        _remove_downloads(used, root)
    return result


def _resolve_sets(requested: Iterable[str], known: Sequence[str], groups: Mapping[str, list]) -> list[str]:
    """Canonical set names for ``requested`` (all of ``known`` if empty), all validated first."""
    lower = {k.lower(): k for k in known}
    requested = [requested] if isinstance(requested, str) else list(requested)
    unknown = [s for s in requested if s.lower() not in lower]
    if unknown:
        raise ReproduceError(f"unknown data set {', '.join(map(repr, unknown))}: use one of {', '.join(known)}")
    names = list(dict.fromkeys(lower[s.lower()] for s in requested)) or list(known)
    unlisted = [n for n in names if n not in groups]
    if unlisted:
        raise ReproduceError(f"the image manifest lists no images of {', '.join(unlisted)}")
    return names


def _prepare_root(root: str | os.PathLike | None) -> Path:
    root = data_root() if root is None else Path(root)
    if root.exists() and not root.is_dir():
        raise ReproduceError(f"the data root {root} is not a folder")
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ReproduceError(f"cannot write into the data root {root} ({e.strerror or e})") from None
    check_writable(root, "data root")
    return root


def _fetch_set(name: str, rows: list[ManifestRow], set_sources: Sequence[Source], root: Path, log: Log,
               used: set[Path]) -> SetFetchReport:
    """Fetch the images of one set that are not verified in place yet."""
    report = SetFetchReport(name)
    pending = _Pending(row for row in rows if file_rgb_sha256(root / row.path) != row.rgb_sha256)
    report.ok = len(rows) - len(pending.by_name)
    if not pending:
        log(f"{name}: all {len(rows)} images already verified")
        return report
    log(f"{name}: {len(pending.by_name)} of {len(rows)} images to fetch")
    for i, source in enumerate(set_sources):
        if not pending:
            break
        try:
            report.fetched += _fetch_from(source, pending, root, log, used)
        except (_SourceError, urllib.error.HTTPError) as e:
            message = str(e) if isinstance(e, _SourceError) else f"{source.url}: HTTP {e.code} {e.reason}"
            if i == len(set_sources) - 1:
                raise ReproduceError(f"{name}: {message}") from e
            log(f"  {message}; trying the next source")
    report.ok += report.fetched
    report.failed = sorted(pending.differing)
    report.missing = sorted(row.path for row in pending.by_name.values() if row.path not in pending.differing)
    _log_paths(log, [f"{p}: the source's pixels differ from the manifest ({pending.differing[p]}); not written"
                     for p in report.failed])
    _log_paths(log, [f"{p}: not found in any source" for p in report.missing])
    return report


def _fetch_from(source: Source, pending: _Pending, root: Path, log: Log, used: set[Path]) -> int:
    """Fetch what ``source`` has of the pending images; return how many were written."""
    if source.kind == "file":
        return _fetch_files(source, pending, root, log)
    archive = download(source.url, download_path(root, source.url), log)
    used.add(archive)
    written = 0
    # Every matching member is decoded and placed by its pixel hash, so a wrong
    # guess of a set's numbering cannot put an image at the wrong path.
    for member, data in _archive_members(archive, source.kind, source.matches):
        written += _take(data, f"{archive.name}:{member}", source.source_name(member), source, pending, root)
        if not pending:
            break
    return written


def _fetch_files(source: Source, pending: _Pending, root: Path, log: Log) -> int:
    """Fetch the pending images one file each from a ``{source_name}`` URL template."""
    written = 0
    for source_name in list(pending.by_name):
        url = source.url.format(source_name=urllib.parse.quote(source_name))
        dest = download_path(root, url)
        try:
            download(url, dest, log)
        except urllib.error.HTTPError as e:
            if e.code != 404:
                raise
            continue  # this source lacks the image: it stays pending for the next source
        try:
            written += _take(dest.read_bytes(), url, source_name, source, pending, root)
        finally:
            dest.unlink(missing_ok=True)
    return written


def _take(data: bytes, origin: str, source_name: str | None, source: Source, pending: _Pending, root: Path) -> int:
    """Verify one downloaded image and write it where its hash belongs; return how many files were written."""
    image = _decode(data, source.transform)
    digest = rgb_sha256(image) if image is not None else None
    rows = list(pending.by_hash.get(digest, ())) if digest else []
    for row in rows:
        _write_webp(image, root / row.path, row.rgb_sha256)
        pending.done(row)
    if not rows and source_name in pending.by_name:
        what = "not a readable image" if image is None else "pixels differ"
        pending.differing[pending.by_name[source_name].path] = f"{origin}: {what}"
    return len(rows)


def _log_paths(log: Log, lines: Sequence[str], limit: int = 10) -> None:
    """Log one line per image, up to ``limit`` (a wrong source would otherwise flood the log)."""
    for line in lines[:limit]:
        log(f"  {line}")
    if len(lines) > limit:
        log(f"  ... and {len(lines) - limit} more")


def _remove_downloads(paths: Iterable[Path], root: Path) -> None:
    """Delete the archives of a completed run, and the download folder if it is empty."""
    for path in paths:
        path.unlink(missing_ok=True)
    try:
        (root / DOWNLOAD_DIR).rmdir()
    except OSError:
        pass  # not empty (a .part of another run) or absent


# --------------------------------------------------------------------------
# check
# --------------------------------------------------------------------------

def check(root: str | os.PathLike | None = None, sets: Iterable[str] = (), *,
          manifest: Sequence[ManifestRow] | str | os.PathLike | None = None, log: Log = print) -> CheckResult:
    """Verify a data root against the manifest: missing, differing and extra images per set.

    Each manifest image is decoded and its RGB hash compared; a file that
    cannot be decoded counts as differing. Extra files are the files in a
    set's folder (recursively) that the manifest does not list; hidden files
    (temporary files of an interrupted write) are skipped. Folders outside the
    sets' folders, such as ``normals/`` and ``.downloads/``, are not looked at.

    Args:
        root: the data root; ``$REPRODUCE_DATA`` or ``./data`` if None.
        sets: set names (case-insensitive); empty for every set of the manifest.
        manifest: manifest rows or a manifest path; the shipped ``manifest.tsv`` by default.
        log: receives one line per problem and the summary.

    Returns:
        A :class:`CheckResult`; ``result.ok`` is False if anything is wrong.

    Raises:
        ReproduceError: an unknown set name or a data root that is not a folder.
    """
    groups = rows_by_set(_as_rows(manifest))
    names = _resolve_sets(sets, list(groups), groups)
    root = data_root() if root is None else Path(root)
    if not root.is_dir():
        raise ReproduceError(f"the data root {root} is not a folder (set REPRODUCE_DATA or run 'reproduce data fetch')")
    result = CheckResult()
    for name in names:
        result.sets[name] = _check_set(name, groups[name], root, log)
        log(result.sets[name].summary())
    return result


def _check_set(name: str, rows: list[ManifestRow], root: Path, log: Log) -> SetCheckReport:
    report = SetCheckReport(name)
    for row in rows:
        path = root / row.path
        if not path.is_file():
            report.missing.append(row.path)
        elif file_rgb_sha256(path) != row.rgb_sha256:
            report.differing.append(row.path)
        else:
            report.ok += 1
    listed = {row.path for row in rows}
    for folder in sorted({row.folder for row in rows}):
        report.extra += [p for p in _files_under(root, folder) if p not in listed]
    for kind, paths in (("missing", report.missing), ("differs", report.differing), ("extra", report.extra)):
        _log_paths(log, [f"{path}: {kind}" for path in paths])
    return report


def _files_under(root: Path, folder: str) -> list[str]:
    """Non-hidden files under ``root/folder``, as POSIX paths relative to ``root``."""
    base = root / folder
    if not base.is_dir():
        return []
    found = []
    for path in sorted(base.rglob("*")):
        rel = path.relative_to(root)
        if path.is_file() and not any(part.startswith(".") for part in rel.parts):
            found.append(rel.as_posix())
    return found
