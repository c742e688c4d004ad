"""Notebook wall times: the record `reproduce run` keeps, the other jobs' CPU share, the latest complete run."""
from __future__ import annotations


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
    # where the other jobs' CPU was not measured (no /proc), busy is unknown, not "no"
    unknown = [_entry("2026-04-01", "01_a", 5, others=None), _entry("2026-04-01", "02_b", 5)]
    table, summary = timings.timings_table(unknown, every)
    assert list(table["busy"]) == [None, False] and summary["busy"] is False
    empty, none = timings.timings_table(entries[2:], every)
    assert none is None and empty.empty
    text = timings.timings_markdown(entries, every)
    assert "**3.0 minutes**" in text and "Test CPU (AMX" in text and "beside other work" in text
    assert "No complete run" in timings.timings_markdown([], every)


def test_others_cpu_is_the_machines_busy_time_less_ours_and_our_running_descendants(monkeypatch):
    state = {"system": 1000.0, "own": 10.0, "live": {}}
    monkeypatch.setattr(timings, "_system_cpu_seconds", lambda: state["system"])
    monkeypatch.setattr(timings, "_own_cpu_seconds", lambda: state["own"])
    monkeypatch.setattr(timings, "_live_descendants_cpu", lambda: dict(state["live"]))
    before = timings.others_cpu_snapshot()
    # meanwhile the machine spent 100 s: 60 in our process and its reaped kernel, 25 in a kernel still
    # running (started meanwhile), 15 in others (whether or not they ended before the second reading)
    state.update(system=1100.0, own=70.0, live={4242: 25.0})
    assert timings.others_cpu_since(before) == 15.0
    state.update(system=1060.0)  # counters of different sources can disagree by a tick: never below zero
    assert timings.others_cpu_since(before) == 0.0
    monkeypatch.setattr(timings, "_system_cpu_seconds", lambda: None)  # no /proc/stat
    assert timings.others_cpu_snapshot() is None and timings.others_cpu_since(before) is None


def test_cpu_counters_read_this_machine():
    import subprocess
    import sys

    if timings._system_cpu_seconds() is None:  # not Linux
        return
    own = timings._own_cpu_seconds()
    # a child that is still running is one of our live descendants
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert child.pid in timings._live_descendants_cpu()
    finally:
        child.kill()
        child.wait()
    assert timings._own_cpu_seconds() >= own > 0 and timings._system_cpu_seconds() > 0


def test_a_run_records_an_invocation_id_that_sorts_by_time_and_does_not_collide():
    a, b = timings.new_invocation(), timings.new_invocation()
    assert a != b and a[:19] == b[:19]  # same second, different runs
    assert a[:4].isdigit() and a[10] == "T"
