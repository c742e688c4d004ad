"""Execute the study's notebooks with papermill: ``reproduce run``.

Notebooks are jupytext py:percent files ``notebooks/NN_name.py``. Each run
converts one to .ipynb, injects parameters (the profile's, then ``-p``
overrides, then ``profile``), executes it with the ``python3`` kernel in the
repository root (``reproduce.paths.REPO_ROOT``), and writes ``NN_name.ipynb`` with an HTML rendering beside
it to the profile's output folder (``results/notebooks``; ``{work}/notebooks``
for the smoke profile, ``runs/smoke`` or a test's temporary folder, so tests never overwrite the committed report). Papermill only warns about parameters a notebook does
not declare; here an override that no selected notebook declares is an error,
and a failing cell stops the run with the notebook and cell named. Each
executed notebook's wall time goes to ``timings.json`` in the output folder
(:mod:`reproduce.timings`).
"""
from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Callable

import yaml

from .errors import ReproduceError
from .fileio import write_text_atomic
# ROOT, NOTEBOOKS and PROFILES stay importable from here for existing callers.
from .paths import NOTEBOOKS, PROFILES, REPO_ROOT as ROOT, require_repository_root


def list_notebooks() -> list[Path]:
    require_repository_root()
    return sorted(p for p in NOTEBOOKS.glob("[0-9][0-9]_*.py"))


def resolve_notebooks(names: list[str] | None) -> list[Path]:
    """Notebook files for names like '02', '02_train', '02_train.py' or paths; all when empty."""
    available = list_notebooks()
    if not names:
        return available
    chosen = []
    for name in names:
        stem = Path(name).stem
        matches = [p for p in available if p.stem == stem or p.stem.split("_")[0] == stem]
        if len(matches) != 1:
            raise ReproduceError(f"no notebook {name!r}; available: {', '.join(p.stem for p in available)}")
        chosen.append(matches[0])
    return chosen


def load_profile(name: str, work: str | Path | None = None) -> tuple[dict, Path]:
    """A profile's parameter values (profiles/NAME.yaml, key ``parameters``) and output folder.

    A profile that writes only scratch outputs (``smoke``) names them under
    ``{work}``: the placeholder becomes ``work`` if given, else the profile's
    own ``work`` key (``runs/smoke``), in every string value and the output
    folder. Relative paths are relative to the repository root.
    """
    require_repository_root()
    path = PROFILES / f"{name}.yaml"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in PROFILES.glob("*.yaml")))
        raise ReproduceError(f"unknown profile {name!r}; known profiles: {known}")
    data = yaml.safe_load(path.read_text()) or {}
    root = str(work if work is not None else data.get("work", "runs/scratch"))
    return fill_work(dict(data.get("parameters") or {}), root), ROOT / fill_work(data.get("output", "results/notebooks"), root)


def fill_work(value, root: str):
    """``value`` with every ``{work}`` in its strings (nested in lists and dicts too) replaced by ``root``."""
    if isinstance(value, str):
        return value.replace("{work}", root)
    if isinstance(value, list):
        return [fill_work(v, root) for v in value]
    if isinstance(value, dict):
        return {k: fill_work(v, root) for k, v in value.items()}
    return value


def parse_overrides(pairs: list[str]) -> dict:
    """``key=value`` strings -> dict; values are parsed as YAML (lists, numbers, booleans).

    YAML 1.1 reads ``1e-3`` as a string; a value that Python reads as a
    number is taken as that number, as a user means it.
    """
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ReproduceError(f"parameter {pair!r} is not key=value")
        try:
            parsed = yaml.safe_load(value)
        except yaml.YAMLError as exc:
            problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            raise ReproduceError(f"cannot parse the value of {key.strip()!r} ({value!r}) as YAML: {problem}") from None
        if isinstance(parsed, str):
            try:
                parsed = float(parsed) if parsed.strip().lower() not in ("nan", "inf", "-inf", "infinity") else parsed
            except ValueError:
                pass
        out[key.strip()] = parsed
    return out


def notebook_parameters(py_path: Path, ipynb_path: Path) -> dict:
    """Convert a jupytext notebook to .ipynb; return its declared parameters (name -> info)."""
    import jupytext
    from papermill.inspection import inspect_notebook

    notebook = jupytext.read(py_path)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    jupytext.write(notebook, ipynb_path, fmt="ipynb")
    return inspect_notebook(str(ipynb_path))


def run(names: list[str] | None = None, profile: str = "report", overrides: dict | None = None,
        log: Callable[[str], None] = print, work: str | Path | None = None) -> list[Path]:
    """Execute notebooks in order; returns the executed .ipynb paths.

    ``work``: where a scratch profile's ``{work}`` outputs go (see
    :func:`load_profile`), so a test run writes nothing into the repository.
    """
    notebooks = resolve_notebooks(names)
    if "profile" in (overrides or {}):  # it would be replaced by the profile's name without a word
        raise ReproduceError(f"-p profile={overrides['profile']!r}: choose the profile with --profile, not -p")
    profile_values, output = load_profile(profile, work)
    return _execute(notebooks, profile, profile_values, overrides or {}, output, log)


def _execute(notebooks: list[Path], profile: str, profile_values: dict, overrides: dict, output: Path,
             log: Callable[[str], None]) -> list[Path]:
    import nbformat
    import papermill
    from papermill.exceptions import PapermillExecutionError

    from .provenance import git_state
    from .rendering import render
    from .timings import new_invocation, others_cpu_since, others_cpu_snapshot, record_timing, timing_entry, utc_now

    done, invocation = [], new_invocation()
    with tempfile.TemporaryDirectory() as tmp:
        declared = {nb: notebook_parameters(nb, Path(tmp) / f"{nb.stem}.ipynb") for nb in list_notebooks()}
        every = set().union(*(set(d) for d in declared.values()))
        unknown_profile = sorted(set(profile_values) - every)
        if unknown_profile:
            raise ReproduceError(f"profile {profile!r} sets parameter(s) no notebook declares: {', '.join(unknown_profile)}")
        selected = set().union(*(set(declared[nb]) for nb in notebooks))
        unknown = sorted(set(overrides) - selected)
        if unknown:
            raise ReproduceError(f"unknown parameter(s) {', '.join(unknown)}; the selected notebooks declare: {', '.join(sorted(selected))}")
        output.mkdir(parents=True, exist_ok=True)  # only once the parameters are known good
        for i, nb in enumerate(notebooks, 1):
            values = {**profile_values, **overrides, "profile": profile}
            params = {k: v for k, v in values.items() if k in declared[nb]}
            out = output / f"{nb.stem}.ipynb"
            log(f"[{i}/{len(notebooks)}] {nb.name} (profile {profile})")
            tic, started, others, code = time.perf_counter(), utc_now(), others_cpu_snapshot(), git_state()
            try:
                papermill.execute_notebook(str(Path(tmp) / f"{nb.stem}.ipynb"), str(out), parameters=params,
                                           kernel_name="python3", cwd=str(ROOT), progress_bar=True)
            except PapermillExecutionError as exc:
                raise ReproduceError(f"{nb.name}: cell {exc.exec_count} failed with {exc.ename}: {exc.evalue} "
                                     f"(executed notebook with the traceback: {out})") from None
            executed = nbformat.read(out, as_version=4)
            write_text_atomic(out.with_suffix(".html"), render(executed))
            write_text_atomic(out.with_suffix(".reader.html"), render(executed, hide_code=True))
            # the notebook's wall time, renderings included, and what else used the CPU meanwhile; bookkeeping
            # that fails (an odd /proc, a read-only folder) must not fail a run whose outputs are written
            try:
                record_timing(output, timing_entry(invocation, nb.stem, profile, overrides,
                                                   [n.stem for n in notebooks], started, time.perf_counter() - tic,
                                                   others_cpu_since(others), code))
            except Exception as exc:  # noqa: BLE001
                log(f"    (its wall time was not recorded: {type(exc).__name__}: {exc})")
            shown = out.relative_to(ROOT) if out.is_relative_to(ROOT) else out
            log(f"    done in {time.perf_counter() - tic:.0f} s -> {shown} (+ .html, .reader.html)")
            done.append(out)
    return done
