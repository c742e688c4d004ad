"""The check that a rerun left the study's numbers unchanged."""
from __future__ import annotations

import numpy as np
import pandas as pd

from reproduce.output_check import compare_table, main


def test_identical_tolerated_and_changed_tables():
    ref = pd.DataFrame({"method": ["A", "B"], "psnr": [30.0, np.nan], "gain": [np.inf, 1.0]})
    assert compare_table(ref, ref.copy()) == ("identical", 0.0)
    status, worst = compare_table(ref, ref.assign(psnr=[30.0 + 1e-12, np.nan]))
    assert status == "within tolerance" and 0 < worst < 1e-9
    assert compare_table(ref, ref.assign(psnr=[30.01, np.nan]))[0].startswith("numbers differ (max |diff| 0.01")
    assert compare_table(ref, ref.assign(psnr=[30.0, 1.0]))[0] == "missing values differ in psnr"
    assert compare_table(ref, ref.assign(gain=[1.0, 1.0]))[0].startswith("numbers differ")  # inf -> finite
    assert compare_table(ref, ref.assign(method=["A", "C"]))[0] == "text differs in method, row 1: 'B' -> 'C'"
    assert compare_table(ref, ref.iloc[:1])[0] == "rows differ: 2 -> 1"
    assert compare_table(ref, ref.rename(columns={"gain": "g"}))[0].startswith("columns differ")


def test_committed_tables_equal_themselves_and_a_bad_commit_is_one_error_line(capsys):
    assert main(["HEAD"]) in (0, 1)  # 1 only if the working tree's tables differ from HEAD's
    out = capsys.readouterr().out
    assert "tables unchanged" in out
    assert main(["no-such-commit-xyz"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: git could not read 'no-such-commit-xyz'") and err.count("\n") == 1
