"""Wall times of executed notebooks: what `make reproduce` measures, not what it is estimated to take.

Every ``reproduce run`` appends one entry per executed notebook to
``<output folder>/timings.json`` (``results/notebooks/timings.json`` for the
report): the notebook, profile, parameter overrides, start time, seconds,
the CPU (model and bf16 hardware: AMX makes a bf16 run about 2.5x faster
than the same run on an AVX2-only EPYC) and the CPU seconds that other
processes (not this one or its children, such as the notebook's kernel)
used meanwhile: a notebook that shared its cores with another job took
longer than it needs, and its time is an upper bound. Entries of one ``reproduce run``
share an ``invocation`` id, so the time of a whole ``make reproduce`` is the
sum over the latest invocation that executed every notebook.
``timings_table`` and ``benchmarks/reproduce_time.py`` read it back.
"""
from __future__ import annotations

import datetime as _dt
import json
import os
from pathlib import Path

import pandas as pd

from .fileio import write_text_atomic

FILE = "timings.json"
BUSY = 0.1  # other processes' CPU seconds per wall second above which a notebook counts as sharing its cores
KEEP = 300  # entries kept (the oldest are dropped): a few months of runs, a file of tens of KB


def read_timings(folder: str | Path) -> list[dict]:
    """The entries of ``<folder>/timings.json``, oldest first ([] when there is none or it is unreadable)."""
    path = Path(folder) / FILE
    try:
        entries = json.loads(path.read_text())
    except (OSError, ValueError):
        return []
    return entries if isinstance(entries, list) else []


def record_timing(folder: str | Path, entry: dict) -> Path:
    """Append one executed notebook's entry to ``<folder>/timings.json`` (rewritten atomically)."""
    path = Path(folder) / FILE
    entries = (read_timings(folder) + [entry])[-KEEP:]
    write_text_atomic(path, json.dumps(entries, indent=1, default=str) + "\n")
    return path


def utc_now() -> str:
    """The time now, UTC, ISO 8601 to the second: a notebook's start, and the id of a ``reproduce run``
    (its start time, shared by the notebooks it executes)."""
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def timing_entry(invocation: str, notebook: str, profile: str, overrides: dict, selected: list[str],
                 started: str, seconds: float, others_cpu_s: float | None) -> dict:
    """One notebook's entry: what ran, where, for how long, and how much CPU other jobs took meanwhile."""
    from .provenance import cpu_description, git_state

    return {"invocation": invocation, "selected": list(selected), "notebook": notebook, "profile": profile,
            "overrides": overrides, "started": started, "seconds": round(float(seconds), 1),
            "cpu": cpu_description(), "cores": os.cpu_count(),
            "others_cpu_s": None if others_cpu_s is None else round(float(others_cpu_s), 1), **git_state()}


def _processes() -> dict[int, tuple[int, float]]:
    """pid -> (parent pid, CPU seconds used so far) of every process /proc shows (Linux; {} elsewhere)."""
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    out = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            text = (entry / "stat").read_text()
        except OSError:
            continue  # ended meanwhile, or not ours to read
        # the command name (field 2) is in parentheses and may hold spaces: split after its closing one
        fields = text[text.rfind(")") + 2:].split()
        out[int(entry.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / tick)  # ppid, utime + stime
    return out


def others_cpu_snapshot() -> dict[int, float] | None:
    """CPU seconds so far of every process outside this one's tree; None where /proc is not there."""
    procs = _processes()
    if not procs:
        return None
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in procs.items():
        children.setdefault(ppid, []).append(pid)
    mine, todo = set(), [os.getpid()]
    while todo:
        pid = todo.pop()
        mine.add(pid)
        todo.extend(children.get(pid, []))
    return {pid: cpu for pid, (_, cpu) in procs.items() if pid not in mine}


def others_cpu_since(before: dict[int, float] | None) -> float | None:
    """CPU seconds other processes used since ``before`` (:func:`others_cpu_snapshot`); None if unknown.

    A process that started meanwhile counts whole; one that ended
    meanwhile is missed (its last share cannot be read any more).
    """
    after = others_cpu_snapshot()
    if before is None or after is None:
        return None
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items() if cpu >= before.get(pid, 0.0))


def timings_table(entries: list[dict], every: list[str]) -> tuple[pd.DataFrame, dict | None]:
    """The latest complete run of every notebook in ``every`` (stems), and a summary of it.

    Returns ``(table, summary)``: ``table`` has one row per notebook of the
    latest invocation that executed all of ``every`` with no override
    (columns ``notebook, profile, seconds, minutes, others_cpu_s, busy``;
    ``busy`` is true where other processes used more than 10 % of one core
    meanwhile, so the notebook probably shared its cores); ``summary`` holds
    ``invocation, profile, minutes, cpu, cores, commit, dirty, busy``. Both
    empty / None when no such run is recorded.
    """
    runs: dict[str, list[dict]] = {}
    for e in entries:
        runs.setdefault(e.get("invocation", ""), []).append(e)
    complete = [(inv, rows) for inv, rows in runs.items()
                if set(every) <= {r["notebook"] for r in rows} and not any(r.get("overrides") for r in rows)]
    if not complete:
        return pd.DataFrame(columns=["notebook", "profile", "seconds", "minutes", "others_cpu_s", "busy"]), None
    invocation, rows = max(complete, key=lambda item: item[0])
    table = pd.DataFrame([{k: r.get(k) for k in ("notebook", "profile", "seconds", "others_cpu_s")}
                          for r in rows if r["notebook"] in every])
    table["minutes"] = table["seconds"] / 60
    table["busy"] = table["others_cpu_s"].astype(float) > BUSY * table["seconds"]
    table = table[["notebook", "profile", "seconds", "minutes", "others_cpu_s", "busy"]].reset_index(drop=True)
    first = rows[0]
    summary = {"invocation": invocation, "profile": first.get("profile"), "minutes": float(table["minutes"].sum()),
               "cpu": first.get("cpu"), "cores": first.get("cores"), "commit": first.get("commit"),
               "dirty": first.get("dirty"), "busy": bool(table["busy"].any())}
    return table, summary


def timings_markdown(entries: list[dict], every: list[str]) -> str:
    """:func:`timings_table`'s latest complete run as Markdown: the table, the total and where it ran."""
    from .report import markdown_table

    table, summary = timings_table(entries, every)
    if summary is None:
        return "No complete run of every notebook (without parameter overrides) is recorded yet.\n"
    commit = str(summary["commit"])[:12] + (" (uncommitted changes)" if summary["dirty"] else "")
    lines = [f"Latest `reproduce run` of every notebook, profile `{summary['profile']}`, started "
             f"{summary['invocation']} at commit `{commit}` on {summary['cpu']}, {summary['cores']} cores: "
             f"**{summary['minutes']:.1f} minutes** for the notebooks (installing the environment not included).",
             "",
             markdown_table(table, ".1f"),
             "",
             "`others_cpu_s`: CPU seconds other processes used while the notebook ran; `busy`: more than "
             f"{BUSY:.0%} of one core, so the notebook probably shared its cores and its time is an upper bound."
             + (" **Some notebooks ran beside other work.**" if summary["busy"] else "")]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """``python -m reproduce.timings [FOLDER]``: print the latest complete run's times, write them to FOLDER/timings.md."""
    import sys

    from .paths import REPO_ROOT
    from .runner import list_notebooks

    args = sys.argv[1:] if argv is None else argv
    folder = Path(args[0]) if args else REPO_ROOT / "results" / "notebooks"
    text = timings_markdown(read_timings(folder), [p.stem for p in list_notebooks()])
    print(text, end="")
    if (folder / FILE).is_file():
        write_text_atomic(folder / "timings.md", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
