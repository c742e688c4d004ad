"""Helpers the notebooks use to record, show and save results.

Every table is written as CSV and Markdown with a provenance sidecar
(``<name>.provenance.json``: commit, profile, seed, device, time, duration),
so each number in results/ can be traced to the code and settings behind it.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import pandas as pd

from .fileio import write_atomic, write_text_atomic
from .provenance import provenance


class Run:
    """Provenance of one notebook execution; ``finish()`` returns it with the duration so far."""

    def __init__(self, notebook: str, profile: str, device: str = "cpu", **extra):
        self.started = time.perf_counter()
        self.info = provenance(device, notebook=notebook, profile=profile, **extra)

    def finish(self) -> dict:
        """``info`` plus ``duration_s`` (seconds since the run started), as a new dict.

        ``info`` itself is left alone: notebooks pass it on as the provenance of
        score tables, where a duration stamped at some earlier saved table would
        be wrong (a 1.5-hour scoring run once recorded 13.8 s that way).
        """
        return {**self.info, "duration_s": round(time.perf_counter() - self.started, 1)}

    def markdown(self) -> str:
        i = self.info
        commit = (i.get("commit") or "unknown")[:12] + (" (uncommitted changes)" if i.get("dirty") else "")
        extra = ", ".join(f"{k} {v}" for k, v in i.items() if k not in
                          {"commit", "dirty", "time", "python", "torch", "numpy", "pillow", "device", "notebook", "profile", "duration_s"})
        return (f"**Provenance**: notebook `{i['notebook']}`, profile `{i['profile']}`, commit `{commit}`, "
                f"{i['device']}, torch {i['torch']}, started {i['time']}" + (f", {extra}" if extra else "") + ".")


def save_table(df: pd.DataFrame, name: str, results_dir: str | Path, run: Run, floatfmt: str = ".3f",
               caption: str = "", best: dict[str, str] | None = None, within: list[str] | None = None) -> Path:
    """Write ``name``.csv, ``name``.md and ``name``.provenance.json under ``results_dir``.

    ``caption`` (what the numbers are, and the caveats a reader needs: data,
    budget, whose numbers are whose) opens the ``.md`` file, so the table
    never travels without it; ``best``/``within`` mark the best values as in
    :func:`markdown_table`.
    """
    results_dir = Path(results_dir)
    results_dir.mkdir(parents=True, exist_ok=True)
    write_text_atomic(results_dir / f"{name}.csv", df.to_csv(index=False))
    head = f"{caption}\n\n" if caption else ""
    write_text_atomic(results_dir / f"{name}.md", f"{head}{markdown_table(df, floatfmt, best, within)}\n\n{run.markdown()}\n")
    write_text_atomic(results_dir / f"{name}.provenance.json", json.dumps(run.finish(), indent=2) + "\n")
    return results_dir / f"{name}.csv"


def drop_table(name: str, results_dir: str | Path) -> list[Path]:
    """Remove ``name``.csv, ``.md`` and ``.provenance.json`` under ``results_dir`` where they exist; the removed paths.

    For a table a notebook writes only under some condition (e.g. scores from
    two machines): when the condition no longer holds, the table of an
    earlier run must not stay behind looking current.
    """
    gone = []
    for suffix in (".csv", ".md", ".provenance.json"):
        path = Path(results_dir) / f"{name}{suffix}"
        if path.is_file():
            path.unlink()
            gone.append(path)
    return gone


def save_figure(fig, name: str, figures_dir: str | Path, dpi: int = 110, run: Run | None = None) -> Path:
    """Save a matplotlib figure as PNG (atomically).

    With ``run``, the PNG carries the run's provenance in its metadata
    (``Source``: the notebook; ``Comment``: the provenance as JSON: commit,
    dirty flag, versions, device, profile), so a figure found alone still
    says where it came from (``PIL.Image.open(path).text``).
    """
    figures_dir = Path(figures_dir)
    figures_dir.mkdir(parents=True, exist_ok=True)
    path = figures_dir / f"{name}.png"
    metadata = None
    if run is not None:
        metadata = {"Source": f"notebook {run.info.get('notebook')} of the reproduce package",
                    "Comment": json.dumps(run.finish(), default=str)}
    write_atomic(path, lambda tmp: fig.savefig(tmp, dpi=dpi, bbox_inches="tight", format="png", metadata=metadata))
    return path


def markdown_table(df: pd.DataFrame, floatfmt: str = ".3f", best: dict[str, str] | None = None,
                   within: list[str] | None = None) -> str:
    """A GitHub-flavoured Markdown table (floats formatted with ``floatfmt``, NaN as '-').

    ``best``: column -> "max" or "min"; the best value of each such column is
    set in bold, among the rows that share the values of the ``within``
    columns (e.g. the methods at one scale), or among all rows. Ties are all
    marked; the comparison is on the values as printed.
    """
    def cell(v):
        if isinstance(v, float):
            return "-" if v != v else format(v, floatfmt)
        return str(v)
    marked = set()
    for col, how in (best or {}).items():
        if how not in ("max", "min"):
            raise ValueError(f"best[{col!r}] must be 'max' or 'min', got {how!r}")
        if col not in df.columns:
            continue
        # one key column as a scalar: pandas warns on (and will change) single-element lists
        keys = (within[0] if len(within) == 1 else list(within)) if within else None
        groups = df.groupby(keys, sort=False).groups.values() if within else [df.index]
        for index in groups:
            printed = {i: cell(df.at[i, col]) for i in index if pd.notna(df.at[i, col])}
            if not printed:
                continue
            values = {i: float(p) for i, p in printed.items()}
            target = max(values.values()) if how == "max" else min(values.values())
            marked |= {(i, col) for i, v in values.items() if v == target}
    rows = [[str(c) for c in df.columns], ["---"] * len(df.columns)]
    for i, row in zip(df.index, df.itertuples(index=False)):
        rows.append([f"**{cell(v)}**" if (i, c) in marked else cell(v) for c, v in zip(df.columns, row)])
    return "\n".join("| " + " | ".join(r) + " |" for r in rows)
