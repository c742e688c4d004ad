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
