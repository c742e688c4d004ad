"""Where datasets live: the data root and the folder of each named dataset.

The data root is ``$REPRODUCE_DATA`` if set, else ``data/`` in the repository
root (``reproduce.paths.REPO_ROOT``, whatever the working directory). Inside it the
project's layout (data/README.md) is tried first, then the usual public
layouts a user may already have (the DIV2K release folders, the EDSR
benchmark archive with ``HR/`` sub-folders). A name that is an existing
folder path is used as it is. ``sample`` is always available: a few
photographs shipped inside scikit-image, so every command runs on a fresh
machine without any download.
"""
from __future__ import annotations

import os
from pathlib import Path

from ..errors import ReproduceError
from ..paths import REPO_ROOT
from .images import list_images

# name -> candidate folders relative to the data root, in order of preference.
DATASETS: dict[str, tuple[str, ...]] = {
    "T91": ("train/T91", "T91"),
    "BSD200": ("train/BSD200", "BSD200"),
    "SunHays80": ("train/SunHays80", "SunHays80"),
    "DIV2K-train": ("DIV2K_train_HR", "div2k/DIV2K_train_HR", "DIV2K/DIV2K_train_HR"),
    "DIV2K-valid": ("DIV2K_valid_HR", "div2k/DIV2K_valid_HR", "DIV2K/DIV2K_valid_HR"),
    "Kodak24": ("valid/Kodak24", "Kodak24", "benchmark/Kodak24"),
    "Set5": ("benchmark/Set5",),
    "Set14": ("benchmark/Set14",),
    "B100": ("benchmark/B100", "benchmark/BSD100"),
    "Urban100": ("benchmark/Urban100",),
}
# Photographs (and one grayscale image) shipped in scikit-image's data folder.
SAMPLE_FILES = ("astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg", "motorcycle_left.png", "camera.png")
HOW_TO_GET = "see data/README.md for how to get the datasets, set REPRODUCE_DATA to their folder, or use the embedded 'sample' set"


def data_root() -> Path:
    """``$REPRODUCE_DATA`` if set (a relative value is taken from the working
    directory), else ``REPO_ROOT / "data"`` whatever the working directory."""
    return Path(os.environ.get("REPRODUCE_DATA") or REPO_ROOT / "data")


def canonical_name(name: str) -> str:
    """Case-insensitive lookup of a dataset name (``set5`` -> ``Set5``)."""
    for known in (*DATASETS, "sample"):
        if known.lower() == name.lower():
            return known
    return name


def dataset_files(name: str) -> list[Path]:
    """The image files of a named dataset (or of a folder given by path), sorted.

    Raises:
        ReproduceError: the dataset is unknown, missing or empty; the message
            names every folder that was tried.
    """
    name = canonical_name(name)
    if name == "sample":
        return sample_files()
    if name not in DATASETS:
        if Path(name).is_dir():
            return _files_or_error(name, [Path(name)])
        raise ReproduceError(f"unknown dataset {name!r}: use one of {', '.join([*DATASETS, 'sample'])} or a folder path")
    root = data_root()
    candidates = []
    for rel in DATASETS[name]:
        folder = root / rel
        # The EDSR benchmark archive keeps HR images in HR/ beside LR_bicubic/.
        candidates += [folder / "HR", folder] if (folder / "HR").is_dir() else [folder]
    return _files_or_error(name, candidates)


def sample_files() -> list[Path]:
    import skimage.data

    folder = Path(skimage.data.__file__).parent
    files = [folder / f for f in SAMPLE_FILES if (folder / f).is_file()]
    if not files:
        raise ReproduceError(f"the embedded sample images are missing from {folder} (reinstall scikit-image)")
    return files


def _files_or_error(name: str, candidates: list[Path]) -> list[Path]:
    for folder in candidates:
        if folder.is_dir():
            files = list_images(folder)
            if files:
                return files
    where = ", ".join(str(c) for c in candidates)
    source = "$REPRODUCE_DATA" if os.environ.get("REPRODUCE_DATA") else "the repository's data/ (REPRODUCE_DATA is not set)"
    raise ReproduceError(f"dataset {name!r} not found or empty: looked in {where} (data root from {source}); {HOW_TO_GET}")
