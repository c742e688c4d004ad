"""Working on the notebooks in an IDE: jupytext round trips leave the sources
alone, and a notebook run from notebooks/ (Jupyter's working directory) reads
and writes where `reproduce run` does."""
from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
NOTEBOOK_SOURCES = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.py"))


def _jupytext(*args: str, cwd: Path) -> None:
    # The jupytext CLI of the interpreter running the tests (the project's venv).
    subprocess.run([sys.executable, "-m", "jupytext", "--quiet", *args], cwd=cwd, check=True,
                   capture_output=True, text=True)


def _copy_with_config(source: Path, folder: Path) -> Path:
    shutil.copy(REPO / "notebooks" / "jupytext.toml", folder / "jupytext.toml")
    return Path(shutil.copy(source, folder / source.name))


def _parameters_tagged(ipynb: Path) -> bool:
    cells = json.loads(ipynb.read_text())["cells"]
    code = [c for c in cells if c["cell_type"] == "code"]
    return "parameters" in code[0]["metadata"].get("tags", [])


def _save_as_jupyter_would(ipynb: Path) -> None:
    """What running and saving the paired notebook in JupyterLab adds to it."""
    nb = json.loads(ipynb.read_text())
    nb["metadata"]["kernelspec"] = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
    nb["metadata"]["language_info"] = {"name": "python", "version": "3.11.9", "mimetype": "text/x-python"}
    for n, cell in enumerate(nb["cells"]):
        cell["metadata"].update({"jupyter": {"source_hidden": False}, "editable": True, "scrolled": True,
                                 "execution": {"iopub.status.busy": "2025-01-01T00:00:00Z"}})
        if cell["cell_type"] == "code":
            cell["execution_count"] = n
            cell["outputs"] = [{"output_type": "stream", "name": "stdout", "text": ["ok\n"]}]
    ipynb.write_text(json.dumps(nb, indent=1))
    later = ipynb.stat().st_mtime + 10
    os.utime(ipynb, (later, later))


@pytest.mark.parametrize("source", NOTEBOOK_SOURCES, ids=lambda p: p.stem)
def test_jupytext_sync_leaves_the_notebook_source_byte_identical(source, tmp_path):
    original = source.read_bytes()
    py = _copy_with_config(source, tmp_path)
    ipynb = py.with_suffix(".ipynb")

    _jupytext("--sync", py.name, cwd=tmp_path)  # first pairing: creates the .ipynb
    assert py.read_bytes() == original
    assert _parameters_tagged(ipynb)

    _jupytext("--to", "ipynb", py.name, cwd=tmp_path)  # opened afresh
    _jupytext("--sync", py.name, cwd=tmp_path)
    assert py.read_bytes() == original

    _save_as_jupyter_would(ipynb)  # run and saved in Jupyter: the .ipynb is now the newer side
    _jupytext("--sync", py.name, cwd=tmp_path)
    assert py.read_bytes() == original
    assert _parameters_tagged(ipynb)


def _setup_cell(source: Path) -> str:
    import jupytext

    code = [c for c in jupytext.read(source).cells if c.cell_type == "code"]
    assert "parameters" in code[0].metadata.get("tags", []), source.name
    return code[1].source


@pytest.mark.parametrize("source", NOTEBOOK_SOURCES, ids=lambda p: p.stem)
def test_notebook_run_from_the_notebooks_folder_works_in_the_repository_root(source, monkeypatch):
    body = ast.parse(_setup_cell(source)).body
    # The setup cell starts by entering the repository root, before anything reads a path.
    first_two = ast.Module(body=body[:2], type_ignores=[])
    assert ast.unparse(first_two) == "from reproduce.paths import enter_repository_root\nenter_repository_root()"

    monkeypatch.chdir(REPO / "notebooks")  # where Jupyter starts the kernel
    namespace = {"results_dir": "results", "config": "configs/cpu/edsr-baseline-liif.yaml"}
    exec(compile(first_two, source.name, "exec"), namespace)
    assert Path(namespace["results_dir"]).resolve() == REPO / "results"
    assert Path(namespace["config"]).resolve() == REPO / "configs" / "cpu" / "edsr-baseline-liif.yaml"


def test_enter_repository_root_from_any_directory(tmp_path, monkeypatch):
    from reproduce.paths import REPO_ROOT, enter_repository_root

    assert REPO_ROOT == REPO
    monkeypatch.chdir(tmp_path)
    assert enter_repository_root() == REPO
    assert Path("results").resolve() == REPO / "results"


def test_runner_paths_come_from_paths():
    from reproduce import paths, runner

    assert (runner.ROOT, runner.NOTEBOOKS, runner.PROFILES) == (paths.REPO_ROOT, paths.NOTEBOOKS, paths.PROFILES)
    assert runner.list_notebooks() == NOTEBOOK_SOURCES


@pytest.mark.parametrize("where", ["tmp", "notebooks"])
def test_data_root_is_the_repository_data_folder_whatever_the_working_directory(where, tmp_path, monkeypatch):
    from reproduce.data import data_root

    monkeypatch.delenv("REPRODUCE_DATA", raising=False)
    monkeypatch.chdir(tmp_path if where == "tmp" else REPO / "notebooks")
    assert data_root() == REPO / "data"
    monkeypatch.setenv("REPRODUCE_DATA", str(tmp_path))
    assert data_root() == tmp_path


def test_installed_package_falls_back_to_a_checkout_in_the_working_directory(tmp_path, monkeypatch):
    from reproduce import paths
    from reproduce.errors import ReproduceError

    site_packages = tmp_path / "site-packages"  # a non-editable install: no notebooks/ beside the package
    site_packages.mkdir()
    monkeypatch.setattr(paths, "_PACKAGE_PARENT", site_packages)
    monkeypatch.chdir(REPO)
    assert paths._find_root() == REPO
    monkeypatch.chdir(tmp_path)
    assert paths._find_root() == site_packages
    monkeypatch.setattr(paths, "REPO_ROOT", site_packages)
    with pytest.raises(ReproduceError, match="no repository checkout"):
        paths.enter_repository_root()
