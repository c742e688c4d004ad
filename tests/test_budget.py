"""The training budget read from checkpoints (reproduce.budget)."""
from pathlib import Path

from reproduce.budget import _validation, budget_row

ROOT = Path(__file__).resolve().parents[1]


def test_validation_in_words():
    assert _validation({"valid": {"dataset": "Kodak24", "scale": 4, "limit": 4, "crop": 256}}) == \
        "Kodak24 x4, 4 images, 256-px crops"
    assert _validation({"valid": {"dataset": "sample", "scale": 2.5}}) == "sample x2.5"
    assert _validation({}) == "-" and _validation({"valid": None}) == "-"


def test_budget_row_of_the_committed_liif_names_its_validation_set():
    row = budget_row(ROOT / "results/checkpoints/edsr-baseline-liif.pt")
    assert row["status"] == "trained" and row["data"] == "T91+BSD200"
    assert row["validation"].startswith("Kodak24 x4") and row["steps"] > 0
    assert budget_row(ROOT / "results/checkpoints/none.pt") == {"status": "missing (not trained yet)"}


def test_logged_hours_sums_intervals_and_lets_a_resumed_process_overwrite_a_step(tmp_path):
    import pytest
    from reproduce.budget import logged_hours
    from reproduce.engine.train import read_stored_log
    log = tmp_path / "run.log.jsonl"  # the log beside checkpoint run.pt
    lines = ['{"step": 50, "loss": 1, "it_per_s": 0.5}',   # 100 s
             '{"step": 100, "loss": 1, "it_per_s": 0.25}',  # 200 s
             '{"step": 100, "val_psnr": 30.0}',             # a validation line has no speed: ignored
             '{"step": 150, "loss": 1, "it_per_s": 0.1}',   # logged, then the process stopped before a checkpoint
             '{"step": 150, "loss": 1, "it_per_s": 1.0}',   # the resumed process: 50 s
             '{"step": 200, "loss": 1, "it_per_s": 1.0}',   # after the step asked for: not counted
             '{"step": 250, "loss": 1, "it_p']               # cut short by a killed process: skipped
    log.write_text("\n".join(lines) + "\n")
    with pytest.warns(UserWarning, match="torn last line"):
        records = read_stored_log(tmp_path / "run.pt")
    assert abs(logged_hours(records, 150) * 3600 - 350) < 1e-9
    assert abs(logged_hours(records, 100) * 3600 - 300) < 1e-9
    assert logged_hours(records, 0) == 0


def test_budget_row_of_a_resumed_run_adds_the_logged_earlier_processes():
    from reproduce.budget import budget_table, logged_hours
    from reproduce.engine.train import read_stored_log
    from reproduce.models import load_checkpoint
    path = ROOT / "results/checkpoints/ipf-nodual.pt"  # resumed at step 250, its log stored beside it
    prov = load_checkpoint(path)["provenance"]
    row = budget_row(path)
    assert row["resumed at step"] == prov["started_at_step"] > 0
    earlier = logged_hours(read_stored_log(path), prov["started_at_step"])
    assert earlier > 0.05 and abs(row["hours"] - (prov["seconds_since_start"] / 3600 + earlier)) < 1e-9
    single = budget_table({"LIIF": ROOT / "results/checkpoints/edsr-baseline-liif.pt"})
    assert "resumed at step" not in single  # no run resumed: no column
    assert "resumed at step" in budget_table({"IPF-d": path})
    from reproduce import ipf_study
    liif = ROOT / "results/checkpoints/edsr-baseline-liif.pt"
    assert "resumed at step" in ipf_study.budget_table({"IPF-nodual": path}, liif)  # IPF's own table: the same rule
    assert "resumed at step" not in ipf_study.budget_table({"IPF": ROOT / "results/checkpoints/ipf.pt"}, liif)
