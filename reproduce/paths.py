"""Where the repository is: the one place paths are anchored.

Every relative path the project uses (notebook parameters such as
``results_dir = "results"`` or ``config = "configs/cpu/..."``, the data root
``data/``, profiles' output folders) is relative to the repository root, the
checkout that holds ``notebooks/``, ``profiles/``, ``configs/`` and ``data/``:

* ``REPO_ROOT`` is the parent of the ``reproduce`` package folder, which is
  the checkout for a source tree or an editable install (``pip install -e``).
* For a regular (non-editable) install the package lives in site-packages,
  whose parent holds no ``notebooks/``; ``REPO_ROOT`` is then the current
  working directory if it holds ``notebooks/``. If neither holds it,
  ``REPO_ROOT`` stays the package's parent and nothing fails at import:
  only what needs the checkout raises (``enter_repository_root``, the
  runner listing notebooks or reading a profile).

Papermill (``reproduce run``) executes notebooks with the working directory
set to ``REPO_ROOT``; Jupyter starts kernels in the notebook's folder
(``notebooks/``). Each notebook therefore calls ``enter_repository_root()``
first, so relative paths mean the same in both.
"""
from __future__ import annotations

import os
from pathlib import Path

from .errors import ReproduceError

_PACKAGE_PARENT = Path(__file__).resolve().parent.parent


def _is_checkout(folder: Path) -> bool:
    return (folder / "notebooks").is_dir()


def _find_root() -> Path:
    if _is_checkout(_PACKAGE_PARENT):
        return _PACKAGE_PARENT
    cwd = Path.cwd().resolve()
    if _is_checkout(cwd):
        return cwd
    return _PACKAGE_PARENT


REPO_ROOT: Path = _find_root()
NOTEBOOKS: Path = REPO_ROOT / "notebooks"
PROFILES: Path = REPO_ROOT / "profiles"


def require_repository_root() -> Path:
    """``REPO_ROOT``, or an error saying how to get a checkout if it holds no ``notebooks/``."""
    if not _is_checkout(REPO_ROOT):
        raise ReproduceError(
            f"no repository checkout found: neither {_PACKAGE_PARENT} (the package's parent) nor the working "
            f"directory holds notebooks/; run from the repository root or install it with `pip install -e .`")
    return REPO_ROOT


def enter_repository_root() -> Path:
    """Make the repository root the working directory and return it.

    Notebooks call this first so that relative paths (``results/``,
    ``figures/``, ``configs/``) resolve the same whether the kernel was
    started by papermill (already in the root) or by Jupyter in ``notebooks/``.
    """
    root = require_repository_root()
    os.chdir(root)
    return root
