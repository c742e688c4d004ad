"""Wall times of executed notebooks: what `make reproduce` measures, not what it is estimated to take.

Every ``reproduce run`` appends one entry per executed notebook to
``<output folder>/timings.json`` (``results/notebooks/timings.json`` for the
report): the notebook, profile, parameter overrides, start time, seconds,
the CPU (model and bf16 hardware: AMX makes a bf16 run about 2.5x faster
than the same run on an AVX2-only EPYC) and the CPU seconds that other
processes used meanwhile (the machine's CPU time less this process's and
its children's, the notebook's kernel among them): a notebook that shared
its cores with another job took longer than it needs, and its time is an
upper bound. Entries of one ``reproduce run``
share an ``invocation`` id, so the time of a whole ``make reproduce`` is the
sum over the latest invocation that executed every notebook.
``timings_table`` and ``benchmarks/reproduce_time.py`` read it back.
"""
from __future__ import annotations

import datetime as _dt
import json
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from .fileio import write_text_atomic

FILE = "timings.json"
BUSY = 0.1  # other processes' CPU seconds per wall second above which a notebook counts as sharing its cores
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100  # /proc counts CPU time in ticks
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
    """Append one executed notebook's entry to ``<folder>/timings.json`` (rewritten atomically).

    Two runs writing to one folder at once take turns (a lock file beside
    it, where the OS has ``fcntl``), so neither loses the other's entry.
    """
    path = Path(folder) / FILE
    with _locked(path.with_name(FILE + ".lock")):
        entries = (read_timings(folder) + [entry])[-KEEP:]
        write_text_atomic(path, json.dumps(entries, indent=1, default=str) + "\n")
    return path


@contextmanager
def _locked(lock: Path) -> Iterator[None]:
    """An exclusive advisory lock on ``lock`` for the ``with`` block (no lock where ``fcntl`` is missing)."""
    try:
        import fcntl
    except ImportError:  # not a Unix
        yield
        return
    with open(lock, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def utc_now() -> str:
    """The time now, UTC, ISO 8601 to the second (a notebook's start)."""
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def new_invocation() -> str:
    """The id shared by the notebooks one ``reproduce run`` executes: its start time and a random suffix
    (two runs started in the same second stay apart; ids sort by time)."""
    return f"{utc_now()}-{uuid.uuid4().hex[:6]}"


def timing_entry(invocation: str, notebook: str, profile: str, overrides: dict, selected: list[str],
                 started: str, seconds: float, others_cpu_s: float | None, code: dict | None = None) -> dict:
    """One notebook's entry: what ran, where, for how long, and how much CPU other jobs took meanwhile.

    ``code``: the commit and dirty flag at the notebook's start (``provenance.git_state()``; read now
    when None), since a notebook may rewrite tracked files (``09_summary`` the README).
    """
    from .provenance import cpu_description, git_state

    return {"invocation": invocation, "selected": list(selected), "notebook": notebook, "profile": profile,
            "overrides": overrides, "started": started, "seconds": round(float(seconds), 1),
            "cpu": cpu_description(), "cores": os.cpu_count(),
            "others_cpu_s": None if others_cpu_s is None else round(float(others_cpu_s), 1),
            **(code if code is not None else git_state())}


def _system_cpu_seconds() -> float | None:
    """CPU seconds the whole machine has spent busy since boot (all cores; from /proc/stat), None without it."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()
    except (OSError, IndexError):
        return None
    if not fields or fields[0] != "cpu":
        return None
    # user nice system idle iowait irq softirq steal ...: busy = all but idle and iowait
    ticks = [int(v) for v in fields[1:9]]
    return (sum(ticks) - ticks[3] - ticks[4]) / _CLOCK_TICKS


def _own_cpu_seconds() -> float:
    """CPU seconds of this process and its finished (waited-for) children, such as an executed notebook's kernel."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def _live_descendants_cpu() -> dict[int, float]:
    """pid -> CPU seconds of every running descendant of this process (a kernel not yet reaped); {} without /proc."""
    procs = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            text = (entry / "stat").read_text()
            # the command name (field 2) is in parentheses and may hold spaces: split after its closing one
            fields = text[text.rfind(")") + 2:].split()
            procs[int(entry.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS)
        except (OSError, ValueError, IndexError):
            continue  # ended meanwhile, or not ours to read
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in procs.items():
        children.setdefault(ppid, []).append(pid)
    out, todo = {}, list(children.get(os.getpid(), []))
    while todo:
        pid = todo.pop()
        out[pid] = procs[pid][1]
        todo.extend(children.get(pid, []))
    return out


def others_cpu_snapshot() -> tuple[float, float, dict[int, float]] | None:
    """The CPU counters :func:`others_cpu_since` needs; None where the machine has no /proc/stat."""
    system = _system_cpu_seconds()
    return None if system is None else (system, _own_cpu_seconds(), _live_descendants_cpu())


def others_cpu_since(before: tuple[float, float, dict[int, float]] | None) -> float | None:
    """CPU seconds other processes used since ``before`` (:func:`others_cpu_snapshot`); None if unknown.

    The machine's busy time less this process's, its reaped children's and
    its running descendants' (all processes count, even those that started
    and ended meanwhile). Counters tick at 1/100 s: small values are noise.
    """
    after = others_cpu_snapshot()
    if before is None or after is None:
        return None
    (system0, own0, live0), (system1, own1, live1) = before, after
    ours = own1 - own0 + sum(cpu - live0.get(pid, 0.0) for pid, cpu in live1.items())
    return max(0.0, system1 - system0 - ours)


def timings_table(entries: list[dict], every: list[str]) -> tuple[pd.DataFrame, dict | None]:
    """The latest complete run of every notebook in ``every`` (stems), and a summary of it.

    Returns ``(table, summary)``: ``table`` has one row per notebook of the
    latest invocation that executed all of ``every`` with no override
    (columns ``notebook, profile, seconds, minutes, others_cpu_s, busy``;
    ``busy`` is true where other processes used more than :data:`BUSY` of
    one core meanwhile, so the notebook probably shared its cores; None
    where that was not measured); ``summary`` holds
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
    table["busy"] = [None if pd.isna(o) else bool(o > BUSY * t) for o, t in zip(table["others_cpu_s"], table["seconds"])]
    table = table[["notebook", "profile", "seconds", "minutes", "others_cpu_s", "busy"]].reset_index(drop=True)
    first = rows[0]
    summary = {"invocation": invocation, "profile": first.get("profile"), "minutes": float(table["minutes"].sum()),
               "cpu": first.get("cpu"), "cores": first.get("cores"), "commit": first.get("commit"),
               "dirty": first.get("dirty"), "busy": any(b is True for b in table["busy"])}
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
