"""Notebook wall times: the record `reproduce run` keeps, the other jobs' CPU share, the latest complete run."""
from __future__ import annotations

import os

from reproduce import timings


def _entry(invocation, notebook, seconds, others=0.0, overrides=None, commit="c0ffee"):
    return {"invocation": invocation, "notebook": notebook, "profile": "report", "overrides": overrides or {},
            "seconds": seconds, "others_cpu_s": others, "cpu": "Test CPU (AMX, AVX-512 BF16)", "cores": 2,
            "commit": commit, "dirty": False}


def test_record_timing_appends_and_keeps_the_newest(tmp_path, monkeypatch):
    assert timings.read_timings(tmp_path) == []
    (tmp_path / timings.FILE).write_text("{torn")
    assert timings.read_timings(tmp_path) == []  # unreadable: starts afresh rather than failing a run
    monkeypatch.setattr(timings, "KEEP", 3)
    for i in range(5):
        timings.record_timing(tmp_path, _entry("a", f"0{i}_x", i))
    assert [e["notebook"] for e in timings.read_timings(tmp_path)] == ["02_x", "03_x", "04_x"]


def test_timings_table_takes_the_latest_complete_run_without_overrides():
    every = ["01_a", "02_b"]
    entries = [_entry("2026-01-01", "01_a", 60), _entry("2026-01-01", "02_b", 120, others=30),
               _entry("2026-02-01", "01_a", 30),  # incomplete: 02_b never ran in this invocation
               _entry("2026-03-01", "01_a", 10, overrides={"scores": "full"}),
               _entry("2026-03-01", "02_b", 10, overrides={"scores": "full"})]  # not the report's design
    table, summary = timings.timings_table(entries, every)
    assert summary["invocation"] == "2026-01-01" and summary["minutes"] == 3.0
    assert list(table["notebook"]) == every
    # 30 CPU seconds of other work in 120 s is 25 % of a core: busy; none in 01_a
    assert list(table["busy"]) == [False, True] and summary["busy"]
    empty, none = timings.timings_table(entries[2:], every)
    assert none is None and empty.empty
    text = timings.timings_markdown(entries, every)
    assert "**3.0 minutes**" in text and "Test CPU (AMX" in text and "beside other work" in text
    assert "No complete run" in timings.timings_markdown([], every)


def test_others_cpu_leaves_out_this_process_tree_and_counts_new_and_grown_processes(monkeypatch):
    me = os.getpid()
    # pid -> (parent, CPU seconds): our kernel (a child) and its helper (a grandchild) are ours
    procs = {1: (0, 100.0), me: (1, 5.0), 700: (me, 50.0), 701: (700, 1.0), 900: (1, 10.0)}
    monkeypatch.setattr(timings, "_processes", lambda: dict(procs))
    before = timings.others_cpu_snapshot()
    assert set(before) == {1, 900}
    procs.update({700: (me, 80.0), 701: (700, 9.0), 900: (1, 12.5), 950: (1, 3.0)})  # 950 started meanwhile
    del procs[1]  # ended meanwhile: its last share is missed, never negative
    assert timings.others_cpu_since(before) == 5.5  # 900's 2.5 s and the new 950's 3 s; our tree's 38 s not
    monkeypatch.setattr(timings, "_processes", dict)  # no /proc
    assert timings.others_cpu_snapshot() is None and timings.others_cpu_since(None) is None


def test_processes_reads_this_machine():
    procs = timings._processes()
    if not procs:  # not Linux
        return
    parent, cpu = procs[os.getpid()]
    assert parent == os.getppid() and cpu > 0  # this test process has used some CPU
