"""The training budget read from checkpoints (reproduce.budget)."""
from pathlib import Path

import pandas as pd

from reproduce.budget import _validation, budget_row, budget_table, with_integer_counts
from reproduce.report import markdown_table

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


def test_a_missing_checkpoint_does_not_turn_counts_into_floats():
    table = budget_table({"LIIF": ROOT / "results/checkpoints/edsr-baseline-liif.pt", "absent": ROOT / "none.pt"})
    row = markdown_table(table).splitlines()[2]  # the LIIF row
    cells = dict(zip(table.columns, (c.strip() for c in row.strip("|").split("|"))))
    assert cells["steps"] == str(table.at[0, "steps"]) and "." not in cells["steps"]
    assert cells["seed"] == "0" and cells["batch"] == "16"
    assert markdown_table(table).splitlines()[3].count("| - ") >= 5  # the missing row: dashes, not "nan"
    assert "16," in table.to_csv(index=False).splitlines()[1]  # the CSV too


def test_integer_counts_leave_fractional_and_text_columns_alone():
    table = with_integer_counts(pd.DataFrame({"steps": [100.0, float("nan")], "batch": [1.5, 2.0],
                                              "hours": [1.0, 2.0], "seed": ["a", "b"]}))
    assert table["steps"].tolist()[0] == 100 and type(table["steps"].tolist()[0]) is int
    assert pd.isna(table["steps"].tolist()[1])
    assert table["batch"].tolist() == [1.5, 2.0] and table["hours"].dtype == float and table["seed"].tolist() == ["a", "b"]
