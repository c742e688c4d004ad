"""Did a rerun change the study's numbers? Compare result tables with those of a commit.

``make reproduce`` rewrites every table under ``results/``; a refactor that
should not change any number is checked by comparing each CSV table with the
same file at a reference commit: same columns, same rows, numbers equal
within a tolerance (text cells exactly). Provenance sidecars and rendered
notebooks are expected to differ and are not compared.

    python -m reproduce.output_check HEAD~3        # results/*.csv and results/scores/*.csv
"""
from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from .paths import REPO_ROOT


def compare_table(reference: pd.DataFrame, new: pd.DataFrame, tolerance: float = 1e-9) -> tuple[str, float]:
    """``(status, max_abs_diff)`` of two tables: "identical", "within tolerance", or what differs.

    Numbers compare with ``|a - b| <= tolerance`` (NaN equals NaN); text
    cells exactly; column names, their order and the row count must agree.
    """
    if list(reference.columns) != list(new.columns):
        return f"columns differ: {sorted(set(reference.columns) ^ set(new.columns)) or 'order'}", float("nan")
    if len(reference) != len(new):
        return f"rows differ: {len(reference)} -> {len(new)}", float("nan")
    worst = 0.0
    for col in reference.columns:
        a, b = reference[col], new[col]
        if pd.api.types.is_numeric_dtype(a) and pd.api.types.is_numeric_dtype(b):
            x, y = a.to_numpy(dtype=float), b.to_numpy(dtype=float)
            if not np.array_equal(np.isnan(x), np.isnan(y)):
                return f"missing values differ in {col}", float("nan")
            with np.errstate(invalid="ignore"):  # inf - inf
                diff = np.where(x == y, 0.0, np.abs(x - y))[~np.isnan(x)]
            diff = np.nan_to_num(diff, nan=np.inf)  # inf against a finite number or -inf
            worst = max(worst, float(diff.max()) if diff.size else 0.0)
        elif not a.astype(str).equals(b.astype(str)):
            first = int(np.flatnonzero(a.astype(str).to_numpy() != b.astype(str).to_numpy())[0])
            return f"text differs in {col}, row {first}: {a.iloc[first]!r} -> {b.iloc[first]!r}", float("nan")
    if worst > tolerance:
        return f"numbers differ (max |diff| {worst:.3g} > {tolerance:g})", worst
    return ("identical" if worst == 0 else "within tolerance"), worst


def tables_at(commit: str, pattern: str = "results") -> dict[str, str]:
    """{path: CSV text} of every ``*.csv`` under ``pattern`` at ``commit`` (git)."""
    names = subprocess.run(["git", "ls-tree", "-r", "--name-only", commit, "--", pattern], cwd=REPO_ROOT,
                           capture_output=True, text=True, check=True).stdout.split()
    return {n: subprocess.run(["git", "show", f"{commit}:{n}"], cwd=REPO_ROOT, capture_output=True, text=True,
                              check=True).stdout for n in names if n.endswith(".csv")}


def compare_with_commit(commit: str, tolerance: float = 1e-9, root: Path = REPO_ROOT) -> pd.DataFrame:
    """One row per CSV table under ``results/`` at ``commit`` or now: ``table, status, max_abs_diff``."""
    before = tables_at(commit)
    now = {str(p.relative_to(root)): p.read_text() for p in (root / "results").rglob("*.csv")}
    rows = []
    for name in sorted(set(before) | set(now)):
        if name not in now:
            rows.append({"table": name, "status": "removed", "max_abs_diff": float("nan")})
        elif name not in before:
            rows.append({"table": name, "status": "new", "max_abs_diff": float("nan")})
        else:
            read = lambda text: pd.read_csv(io.StringIO(text), keep_default_na=False, na_values=["", "nan", "NaN"])  # noqa: E731
            status, worst = compare_table(read(before[name]), read(now[name]), tolerance)
            rows.append({"table": name, "status": status, "max_abs_diff": worst})
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m reproduce.output_check", description=__doc__.split("\n\n")[0])
    parser.add_argument("commit", help="reference commit (e.g. HEAD, main~2)")
    parser.add_argument("--tolerance", type=float, default=1e-9, help="largest accepted |difference| of a number")
    args = parser.parse_args(argv)
    try:
        table = compare_with_commit(args.commit, args.tolerance)
    except subprocess.CalledProcessError as exc:
        print(f"error: git could not read {args.commit!r}: {exc.stderr.strip()}", file=sys.stderr)
        return 2
    print(table.to_string(index=False))
    changed = table[~table["status"].isin(["identical", "within tolerance"])]
    print(f"\n{len(table) - len(changed)} of {len(table)} tables unchanged; {len(changed)} changed, new or removed.")
    return 1 if len(changed) else 0


if __name__ == "__main__":
    sys.exit(main())
