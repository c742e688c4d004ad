"""The claims ledger: notebooks' claim tables gathered, pending claims named, bad tables refused."""
from __future__ import annotations

import json

import pandas as pd
import pytest

from reproduce import ledger
from reproduce.claims import ClaimResult


def write_claims(folder, name, notebook, verdicts, profile="report"):
    rows = [ClaimResult(f"claim {k}", "A", "B", "psnr", "all images", 0.1 * k, 0.05 * k - 0.1, 0.2 * k, 0.6, 10, v).as_dict()
            for k, v in enumerate(verdicts)]
    pd.DataFrame(rows).to_csv(folder / f"{name}_claims.csv", index=False)
    (folder / f"{name}_claims.provenance.json").write_text(json.dumps({"notebook": notebook, "profile": profile}))


def test_collect_gathers_tables_and_adds_pending(tmp_path):
    write_claims(tmp_path, "normals", "07_normals", ["reproduced", "within noise"])
    write_claims(tmp_path, "thumbnails", "08_thumbnails", ["contradicted"], profile="smoke")
    table = ledger.collect(tmp_path)
    assert list(table.columns) == ledger.COLUMNS
    tested = table[table["verdict"] != "not tested"]
    assert list(tested["notebook"]) == ["07_normals", "07_normals", "08_thumbnails"]
    assert tested["claim"].iloc[0] == "claim 0 [psnr]" and tested["ours"].iloc[1] == pytest.approx(0.1)
    assert tested["budget"].iloc[0] == ledger.NOTEBOOK_CONTEXT["07_normals"][1]
    assert tested["budget"].iloc[2].startswith("profile smoke")  # a smoke run's models are not the committed ones
    assert (table["verdict"] == "not tested").sum() == len(ledger.PENDING)
    counts = ledger.verdict_counts(table).set_index("notebook")
    assert counts.loc["07_normals", "reproduced"] == 1 and counts.loc["08_thumbnails", "contradicted"] == 1
    pending_notebook = ledger.PENDING[0][2]
    assert counts.loc[pending_notebook, "not tested"] == sum(1 for p in ledger.PENDING if p[2] == pending_notebook)


def test_no_tables_gives_only_the_pending_claims(tmp_path):
    table = ledger.collect(tmp_path)
    assert len(table) == len(ledger.PENDING) and set(table["verdict"]) == {"not tested"}


def test_bad_claim_tables_are_refused(tmp_path):
    write_claims(tmp_path, "x", "07_normals", ["holds"])
    with pytest.raises(ValueError, match="verdicts outside"):
        ledger.collect(tmp_path)
    pd.DataFrame({"claim": ["c"], "verdict": ["reproduced"]}).to_csv(tmp_path / "x_claims.csv", index=False)
    with pytest.raises(ValueError, match="not a claims table"):
        ledger.collect(tmp_path)


def test_ablation_overview_sets_liifs_and_ipfs_arms_side_by_side(tmp_path):
    assert ledger.ablation_overview(tmp_path).empty and list(ledger.ablation_overview(tmp_path).columns) == ledger.ABLATION_COLUMNS
    pd.DataFrame([{"method": "LIIF", "set": "Kodak24", "scale": 2.0, "seeds": 3, "mean": 30.0},
                  {"method": "LIIF-c", "set": "Kodak24", "scale": 2.0, "seeds": 2, "mean": 29.9, "delta": -0.1,
                   "ci_low": -0.15, "ci_high": -0.05, "paper_delta": -0.14}]).to_csv(tmp_path / "ablations.csv", index=False)
    pd.DataFrame([{"method": "IPF", "metric": "stlpips", "set": "Set14", "scale": 4.0, "seeds": 1},
                  {"method": "IPF-nodual", "metric": "stlpips", "set": "Set14", "scale": 4.0, "seeds": 1, "delta": 0.02,
                   "ci_low": 0.01, "ci_high": 0.03}]).to_csv(tmp_path / "ipf_ablations.csv", index=False)
    table = ledger.ablation_overview(tmp_path)
    assert list(table["method"]) == ["LIIF-c", "IPF-nodual"] and list(table["reference"]) == ["LIIF", "IPF"]
    assert list(table["metric"]) == ["psnr", "stlpips"] and list(table["notebook"]) == ["05_ablations", "06_ipf"]
    assert table["delta"].tolist() == pytest.approx([-0.1, 0.02]) and pd.isna(table.loc[1, "paper_delta"])


def test_glance_counts_verdicts_and_names_the_untested(tmp_path):
    write_claims(tmp_path, "normals", "07_normals", ["reproduced", "within noise", "reproduced"])
    text = ledger.glance(ledger.collect(tmp_path), stamp="ledger of commit abc")
    row = next(line for line in text.splitlines() if line.startswith("| 07_normals"))
    pending_07 = sum(nb == "07_normals" for _, _, nb, _ in ledger.PENDING)
    assert [c.strip() for c in row.strip("|").split("|")] == ["07_normals", "2", "0", "1", str(pending_07)]  # VERDICTS order
    total = next(line for line in text.splitlines() if line.startswith("| **all**"))
    assert total.strip("|").split("|")[-1].strip() == str(len(ledger.PENDING))  # not tested: the pending claims
    for _, claim, notebook, reason in ledger.PENDING:
        assert f"* {claim} (`{notebook}`): {reason}" in text
    assert text.endswith("ledger of commit abc")


def test_update_readme_rewrites_only_the_block(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"# Title\n\nBefore.\n\n{ledger.GLANCE_START}\nold\n{ledger.GLANCE_END}\n\nAfter.\n")
    ledger.update_readme(readme, "new table\n")
    assert readme.read_text() == f"# Title\n\nBefore.\n\n{ledger.GLANCE_START}\nnew table\n{ledger.GLANCE_END}\n\nAfter.\n"
    ledger.update_readme(readme, "new table")  # idempotent
    assert readme.read_text().count("new table") == 1
    from reproduce.errors import ReproduceError

    readme.write_text("# Title without markers\n")
    with pytest.raises(ReproduceError, match="markers"):
        ledger.update_readme(readme, "x")
    assert readme.read_text() == "# Title without markers\n"  # untouched
