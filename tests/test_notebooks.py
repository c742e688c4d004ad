"""The notebook pipeline: every notebook runs with the smoke profile through the runner."""
from __future__ import annotations

import pytest

from reproduce.cli import main
from reproduce.errors import ReproduceError
from reproduce.runner import ROOT, list_notebooks, parse_overrides, resolve_notebooks, run


@pytest.fixture(scope="module")
def smoke_work(tmp_path_factory):
    """The smoke run's scratch folder: outside the repository."""
    return tmp_path_factory.mktemp("smoke")


@pytest.fixture(scope="module")
def smoke_run(smoke_work):
    before = _repository_files()
    done = run(None, "smoke", log=lambda m: None, work=smoke_work)
    after = _repository_files()
    return done, sorted(p for p in after if before.get(p) != after[p])


def _repository_files():
    """{path: (mtime, size)} of the repository's files, less the virtual environment, Python's caches and other runs.

    ``runs/smoke`` and ``runs/scores`` (the smoke outputs' and the partial
    score files' default homes) are in; other ``runs/*`` folders are left out, as
    a training run of the developer's may write there meanwhile. Comparing
    stamps, not names, catches a file rewritten in place as well as a new one.
    """
    skip = {".venv", ".git", "__pycache__", ".pytest_cache", ".ipynb_checkpoints"}
    files = {}
    for p in ROOT.rglob("*"):
        parts = p.relative_to(ROOT).parts
        if skip & set(parts) or (parts[0] == "runs" and len(parts) > 1 and parts[1] not in ("smoke", "scores")):
            continue
        if p.is_file():
            stat = p.stat()
            files[p] = (stat.st_mtime_ns, stat.st_size)
    return files


@pytest.mark.slow
def test_every_notebook_runs_with_the_smoke_profile(smoke_run, smoke_work):
    done, new_in_repository = smoke_run
    assert [p.stem for p in done] == [p.stem for p in list_notebooks()]
    assert new_in_repository == []  # every output, run folder and cache went to the scratch folder (none written here)
    for path in done:
        assert path.parent == smoke_work / "notebooks"
        assert path.with_suffix(".html").stat().st_size > 10_000
        assert path.with_suffix(".reader.html").stat().st_size > 5_000  # the code-hidden rendering
    tables = smoke_work / "results"
    assert (tables / "evaluate_liif.csv").exists() and (tables / "evaluate_liif.provenance.json").exists()
    assert (smoke_work / "figures" / "evaluate_gain_vs_scale.png").exists()
    assert any((smoke_work / "scores-partial").glob("03_evaluate-*.partial.csv"))  # 03's resumable score file
    # every notebook's wall time is recorded beside the executed notebooks, as one complete run
    from reproduce.timings import read_timings, timings_table

    entries = read_timings(smoke_work / "notebooks")
    table, summary = timings_table(entries, [p.stem for p in list_notebooks()])
    assert len(entries) == len(done) and summary is not None and summary["profile"] == "smoke"
    assert table["seconds"].gt(0).all() and summary["minutes"] == pytest.approx(table["seconds"].sum() / 60)


def _check_score_table(path, methods):
    """A score table of the smoke run: every row finite and in range, ST-LPIPS where computed."""
    import numpy as np
    import pandas as pd

    table = pd.read_csv(path)
    assert len(table) > 0 and methods <= set(table["method"]), path.name
    assert table["images"].ge(1).all() and table["scale"].gt(1).all(), path.name
    scores = table[["psnr", "ssim"]].to_numpy(dtype=float)
    assert np.isfinite(scores).all(), path.name
    assert table["psnr"].between(5, 80).all() and table["ssim"].between(-1, 1).all(), path.name
    lpips = table["stlpips"].dropna()
    assert len(lpips) > 0 and np.isfinite(lpips).all() and lpips.ge(0).all(), path.name
    bicubic = table[table["method"] == "bicubic"].sort_values("scale")
    assert bicubic["psnr"].is_monotonic_decreasing, path.name  # a larger scale loses more detail


@pytest.mark.slow
def test_smoke_tables_hold_finite_numbers_in_range(smoke_run, smoke_work):
    import re

    import numpy as np
    import pandas as pd

    results = smoke_work / "results"
    _check_score_table(results / "evaluate_liif.csv", {"bicubic", "LIIF"})
    _check_score_table(results / "comparison.csv", {"bicubic", "LIIF", "MetaSR", "SRCNN"})
    sets = pd.read_csv(results / "datasets.csv", dtype={"widths": str, "heights": str})
    assert {"train", "valid", "test"} <= set(sets["role"])
    assert sets["images"].ge(1).all() and np.isfinite(sets["megapixels"]).all()
    for row in sets.itertuples():
        (w0, w1), (h0, h1) = (map(int, re.fullmatch(r"(\d+)-(\d+)", r).groups()) for r in (row.widths, row.heights))
        assert 0 < w0 <= w1 and 0 < h0 <= h1, row
        # the total pixel count lies between n images of the smallest and of the largest size (1e-6 MP printed)
        assert row.images * w0 * h0 - 1 <= row.megapixels * 1e6 <= row.images * w1 * h1 + 1, row


@pytest.mark.slow
def test_evaluate_and_compare_score_every_image_and_claim(smoke_run, smoke_work):
    """03/04 on the smoke profile: one per-image row per method x image x scale, and claim tables with verdicts."""
    import numpy as np
    import pandas as pd

    from reproduce.stats import VERDICTS

    scores = smoke_work / "results" / "scores"
    liif = pd.read_csv(scores / "03_evaluate.csv")
    base = pd.read_csv(scores / "04_compare.csv")
    assert set(liif["method"]) == {"bicubic", "LIIF"}
    assert set(base["method"]) == {"MetaSR", "SRCNN", "SRResNet", "SRGAN"}  # LIIF's rows are not scored twice
    for table, arbitrary in ((liif, {"bicubic", "LIIF"}), (base, {"MetaSR", "SRCNN"})):
        assert not table.duplicated(["method", "seed", "set", "image", "scale"]).any()
        n_images = table["image"].nunique()
        per_method = table.groupby("method")["scale"].nunique()
        assert all(per_method[m] == 4 for m in arbitrary)  # smoke scales 2, 2.5, 4, 6
        assert table.groupby(["method", "scale"]).size().eq(n_images).all()  # every image at every scale
        x4 = table[table["scale"] == 4]
        assert np.isfinite(x4[["stlpips", "niqe"]].to_numpy()).all()  # perceptual metrics at x4 ...
        assert table.loc[table["scale"] != 4, ["stlpips", "niqe"]].isna().all().all()  # ... and only there
    assert set(base.loc[base["method"].isin(["SRResNet", "SRGAN"]), "scale"]) == {2.0, 4.0}  # x4 networks: x2-x4
    for name in ("evaluate_claims", "comparison_claims"):
        claims = pd.read_csv(smoke_work / "results" / f"{name}.csv")
        assert len(claims) > 0 and set(claims["verdict"]) <= set(VERDICTS), name
        tested = claims[claims["verdict"] != "not tested"]
        assert np.isfinite(tested[["delta", "ci_low", "ci_high"]].to_numpy()).all(), name
        assert (tested["ci_low"] <= tested["delta"]).all() and (tested["delta"] <= tested["ci_high"]).all(), name
    cost = pd.read_csv(smoke_work / "results" / "comparison_cost.csv").set_index("method")
    assert set(cost.index) == {"bicubic", "LIIF", "MetaSR", "SRCNN", "SRResNet", "SRGAN"}
    assert cost.loc["bicubic", "parameters"] == 0 and cost.drop("bicubic")["parameters"].gt(0).all()
    assert cost.drop("bicubic")["MACs per output pixel"].gt(0).all() and cost["s/MP fp32"].gt(0).all()
    assert (smoke_work / "figures" / "comparison_training_curves.png").is_file()


def test_notebooks_have_a_parameters_cell_first():
    import jupytext

    for path in list_notebooks():
        code = [c for c in jupytext.read(path).cells if c.cell_type == "code"]
        assert "parameters" in code[0].metadata.get("tags", []), path.name


def test_unknown_parameter_is_an_error(capsys, tmp_path):
    assert main(["run", "01", "--profile", "smoke", "--work", str(tmp_path), "-p", "no_such_knob=3"]) == 2
    assert "unknown parameter" in capsys.readouterr().err
    assert not (tmp_path / "notebooks").exists()  # nothing created before the parameters are checked
    assert main(["run", "01", "--profile", "smoke", "--work", str(tmp_path), "-p", "profile=paper"]) == 2
    err = capsys.readouterr().err
    assert "--profile" in err and err.count("\n") == 1  # not silently replaced by the profile's name


def test_failing_cell_names_notebook_and_cell(capsys, tmp_path):
    code = main(["run", "02_train", "--profile", "smoke", "--work", str(tmp_path), "-p", "config=configs/missing.yaml"])
    err = capsys.readouterr().err
    assert code == 2 and "02_train.py: cell" in err and "config not found" in err
    assert str(tmp_path / "notebooks" / "02_train.ipynb") in err  # the executed notebook went to the scratch folder


def test_selection_and_overrides():
    assert [p.stem for p in resolve_notebooks(["02", "01_data.py"])] == ["02_train", "01_data"]
    with pytest.raises(ReproduceError, match="no notebook"):
        resolve_notebooks(["99"])
    assert parse_overrides(["scales=[2, 4]", "limit=3", "name=Set5"]) == {"scales": [2, 4], "limit": 3, "name": "Set5"}
    with pytest.raises(ReproduceError, match="key=value"):
        parse_overrides(["oops"])
    with pytest.raises(ReproduceError, match="unknown profile"):
        run(["01"], "nonexistent")


@pytest.mark.slow
def test_thumbnail_notebook_tables_hold_finite_scores(smoke_run, smoke_work):
    """08 on the smoke profile: every method scored on every image, numbers finite and in range."""
    import numpy as np
    import pandas as pd

    results = smoke_work / "results"
    scores = pd.read_csv(results / "scores" / "08_thumbnails.csv")
    assert set(scores["method"]) == {"bicubic", "SRCNN", "MetaSR", "LIIF", "IPF"}
    assert scores.groupby("method")["image"].nunique().eq(4).all()
    assert np.isfinite(scores[["psnr", "ssim", "stlpips", "seconds"]].to_numpy()).all()
    assert scores["psnr"].between(5, 80).all() and scores["ssim"].between(-1, 1).all() and scores["stlpips"].ge(0).all()
    table = pd.read_csv(results / "thumbnails.csv")
    assert table.loc[table["method"] != "LIIF", "Δpsnr vs LIIF"].str.match(r"^[+-]\d+\.\d+ \[[+-]\d+\.\d+, [+-]\d+\.\d+\]$").all()
    assert (smoke_work / "figures" / "thumbnails_contact_sheet.png").stat().st_size > 10_000


@pytest.mark.slow
def test_thumbnails_extend_adds_a_network_and_keeps_the_committed_rows(smoke_run, smoke_work):
    """08 with scores=extend: IPF (trained by 06) added to a table without it, the other rows kept."""
    import json

    import pandas as pd

    path = smoke_work / "results" / "scores" / "08_thumbnails.csv"
    run(["08"], "smoke", {"scores": "full", "networks": ["SRCNN", "MetaSR", "LIIF"]}, log=lambda m: None, work=smoke_work)
    before = pd.read_csv(path)
    assert "IPF" not in set(before["method"])
    run(["08"], "smoke", {"scores": "extend", "networks": ["SRCNN", "MetaSR", "LIIF", "IPF"]}, log=lambda m: None,
        work=smoke_work)
    after = pd.read_csv(path)
    assert set(after["method"]) == set(before["method"]) | {"IPF"}
    assert after[after["method"] == "IPF"]["image"].nunique() == before["image"].nunique()
    key = ["method", "image"]
    kept = before.merge(after, on=key, suffixes=("", "_after"))
    assert len(kept) == len(before) and (kept["psnr"] == kept["psnr_after"]).all()  # carried, not recomputed
    parts = json.loads(path.with_suffix(".provenance.json").read_text())["parts"]
    assert [sorted(p["rows"]) for p in parts] == [sorted(set(before["method"])), ["IPF"]]
    claims = pd.read_csv(smoke_work / "results" / "thumbnails_claims.csv")
    assert claims["claim"].str.startswith("IPF gives better x8 thumbnails than").sum() == 2 * len(set(before["method"]))


@pytest.mark.slow
def test_normals_notebook_tables_hold_finite_scores(smoke_run, smoke_work):
    """07 on the smoke profile (synthetic maps): the issue's columns, every method, values in range, verdicts worded."""
    import numpy as np
    import pandas as pd

    from reproduce.stats import VERDICTS

    results = smoke_work / "results"
    rows = pd.read_csv(results / "normals.csv")
    assert list(rows.columns[:9]) == ["method", "scale", "fold", "object", "mean_angle", "median_angle", "within_11_25", "psnr", "made_mm"]
    assert {"bicubic", "LIIF (photographs)", "LIIF fine-tuned (map)", "LIIF fine-tuned (detail)"} <= set(rows["method"])
    methods = rows[rows["method"] != "ground-truth normals"]
    assert methods["mean_angle"].between(0, 180).all() and methods["within_11_25"].between(0, 1).all()
    assert np.isfinite(methods["psnr"]).all()
    integrated = methods[methods["scale"] == 4]
    assert np.isfinite(integrated["made_mm"]).all() and integrated["made_mm"].ge(0).all()
    integration = pd.read_csv(results / "normals_integration.csv")
    assert len(integration) == 2 and integration["made_mm"].lt(1.0).all()  # spheres: relief about 30 units
    claims = pd.read_csv(results / "normals_claims.csv")
    assert set(claims["verdict"]) <= set(VERDICTS) and len(claims) >= 9


@pytest.mark.slow
def test_summary_notebook_builds_the_ledger(smoke_run, smoke_work):
    """09 on the smoke profile: the ledger holds 07's and 08's claims, worded with the four verdicts only."""
    import pandas as pd

    from reproduce.ledger import COLUMNS, PENDING
    from reproduce.stats import VERDICTS

    table = pd.read_csv(smoke_work / "results" / "claims.csv")
    assert list(table.columns) == COLUMNS and set(table["verdict"]) <= set(VERDICTS)
    assert {"07_normals", "08_thumbnails"} <= set(table.loc[table["verdict"] != "not tested", "notebook"])
    assert (table["verdict"] == "not tested").sum() >= len(PENDING)


@pytest.mark.slow
def test_smoke_ipf_scores_and_claims(smoke_run, smoke_work):
    """06_ipf on the smoke profile: every arm scored per image, every metric finite and in range, claims worded."""
    import numpy as np
    import pandas as pd

    from reproduce.stats import VERDICTS

    results = smoke_work / "results"
    scores = pd.read_csv(results / "scores" / "ipf.csv")
    assert {"bicubic", "LIIF", "SRResNet", "SRGAN", "IPF", "IPF-noconf", "IPF-nodual", "LIIF-GAN"} <= set(scores["method"])
    assert scores.groupby("method")["image"].nunique().eq(2).all()  # eval_limit: 2 in the smoke profile
    values = scores[["psnr", "ssim", "stlpips", "niqe"]].to_numpy(dtype=float)
    assert np.isfinite(values).all()
    assert scores["psnr"].between(5, 80).all() and scores["stlpips"].between(0, 1.5).all() and scores["niqe"].gt(0).all()
    claims = pd.read_csv(results / "ipf_claims.csv")
    assert len(claims) == 9 and set(claims["verdict"]) <= set(VERDICTS) and "not tested" not in set(claims["verdict"])
    ablation = pd.read_csv(results / "ipf_ablations.csv")
    arms = ablation[ablation["method"] != "IPF"]
    assert set(arms["method"]) == {"IPF-noconf", "IPF-nodual", "LIIF-GAN"} and set(arms["metric"]) == {"stlpips", "niqe", "psnr"}
    assert ((arms["ci_low"] <= arms["delta"]) & (arms["delta"] <= arms["ci_high"])).all()
    overview = pd.read_csv(results / "ablations_overview.csv")  # 09 sets them beside LIIF's arms
    assert {"IPF-nodual", "LIIF-c"} <= set(overview["method"]) and set(overview["notebook"]) == {"05_ablations", "06_ipf"}
    budget = pd.read_csv(results / "ipf_budget.csv")
    assert (budget.loc[budget["arm"].str.startswith("IPF"), "LIIF weights vs committed"] == "identical").all()
    assert budget.set_index("arm").loc["IPF-seed1", "seed"] == 1  # the extra seed that measures IPF's training noise
    seeds = pd.read_csv(results / "scores" / "ipf_seeds.csv")
    # seed 0 is scored into the seeds' table too (the spread within one table): on one machine it repeats the main table
    assert set(seeds["method"]) == {"IPF"} and set(seeds["seed"]) == {0, 1} and np.isfinite(seeds["stlpips"]).all()
    again = seeds[seeds["seed"] == 0].merge(scores[scores["method"] == "IPF"], on=["set", "image", "scale"])
    assert len(again) == (seeds["seed"] == 0).sum() > 0
    for metric in ("psnr", "stlpips", "niqe"):
        assert np.allclose(again[f"{metric}_x"], again[f"{metric}_y"], atol=1e-4), metric
    repeat = pd.read_csv(results / "ipf_seed0_repeat.csv")  # the notebook's own account of that repeat
    assert set(repeat["metric"]) == {"psnr", "stlpips", "niqe"} and repeat["max_abs"].le(1e-4).all()
    noise = pd.read_csv(results / "ipf_noise.csv")
    assert noise["seeds"].eq(2).all() and set(noise["metric"]) == {"psnr", "stlpips", "niqe"} and noise["sd"].ge(0).all()
    assert claims["scope"].str.contains("training-noise floor").all()  # every verdict read against IPF's seed spread


@pytest.mark.slow
def test_smoke_ablation_tables(smoke_run, smoke_work):
    """05_ablations on the smoke profile: every arm trained and scored, noise from two LIIF seeds, claims worded."""
    import numpy as np
    import pandas as pd

    from reproduce.stats import VERDICTS

    results = smoke_work / "results"
    scores = pd.read_csv(results / "scores" / "ablations.csv")
    assert {"LIIF", "LIIF-c", "LIIF-u", "LIIF-e", "LIIF-d", "EDSR-baseline-x2", "EDSR-baseline-x3"} <= set(scores["method"])
    assert sorted(scores.loc[scores["method"] == "LIIF", "seed"].unique()) == [0, 1]
    assert np.isfinite(scores[["psnr", "ssim"]].to_numpy(dtype=float)).all()
    noise = pd.read_csv(results / "ablations_noise.csv")
    assert noise["seeds"].eq(2).all() and noise["sd"].ge(0).all() and noise["detectable (dB)"].gt(0).all()
    effects = pd.read_csv(results / "ablations.csv")
    arms = effects[effects["method"] != "LIIF"]
    assert arms["delta"].notna().all() and (arms["ci_low"] <= arms["delta"]).all() and (arms["delta"] <= arms["ci_high"]).all()
    claims = pd.read_csv(results / "ablations_claims.csv")
    assert set(claims["verdict"]) <= set(VERDICTS) and (claims["verdict"] != "not tested").sum() >= 5
    tested = claims[claims["verdict"] != "not tested"]
    assert tested["detectable"].gt(0).all()  # every verdict carries the noise level behind it
    hypotheses = pd.read_csv(results / "ablations_hypotheses.csv")  # our own hypothesis, kept apart from the paper's claims
    assert set(hypotheses["verdict"]) <= set(VERDICTS)
    x2_x3 = hypotheses[hypotheses["claim"].str.endswith("from x2 to x3")].iloc[0]  # both fixed arms trained in smoke
    assert x2_x3["verdict"] != "not tested" and x2_x3["ci_low"] <= x2_x3["delta"] <= x2_x3["ci_high"]
    border = pd.read_csv(results / "ablations_border_jump.csv").set_index("arm")
    assert border.loc["LIIF-e", "ratio"] > border.loc["LIIF", "ratio"]  # no ensemble: jumps at LR-cell borders
    for figure in ("ablations_ensemble_x30", "ablations_cell_x30"):  # the mechanism crops
        assert (smoke_work / "figures" / f"{figure}.png").is_file()


def test_smoke_profile_writes_under_its_work_folder(tmp_path):
    from reproduce.runner import load_profile

    def strings(value):
        if isinstance(value, str):
            yield value
        elif isinstance(value, (list, dict)):
            for v in value.values() if isinstance(value, dict) else value:
                yield from strings(v)

    values, output = load_profile("smoke", work=tmp_path)
    assert output == tmp_path / "notebooks" and values["checkpoint_dir"] == f"{tmp_path}/checkpoints"
    assert not any("{work}" in s or s.startswith("runs/") for s in strings(values))
    values, output = load_profile("smoke")
    assert output == ROOT / "runs" / "smoke" / "notebooks" and values["results_dir"] == "runs/smoke/results"
    report, output = load_profile("report")
    assert output == ROOT / "results" / "notebooks" and not any("{work}" in s for s in strings(report))


@pytest.mark.slow
def test_ipf_scores_a_large_set_one_scale_per_sitting(smoke_run, smoke_work, tmp_path):
    """06 with a set scored at one scale only: the sample run checks what is held and names the rest.

    The way Urban100 is scored (an hour per scale): an ``extend`` run for one
    (set, scale), then a ``sample`` run over the whole design, whose tables
    and claims pool, at each scale, only the sets the committed scores hold.
    """
    import shutil

    import pandas as pd

    from reproduce.data.locate import sample_files

    other = tmp_path / "other"  # a second set, scored at x2 only; the smoke table holds 'sample' at x4 only
    other.mkdir()
    for f in sample_files():
        if f.name in ("chelsea.png", "coffee.png"):
            shutil.copy(f, other / f.name)
    work = tmp_path / "work"  # a copy: the other tests read the smoke run's own outputs
    shutil.copytree(smoke_work, work)
    results = work / "results"
    before = pd.read_csv(results / "scores" / "ipf.csv")
    # train=False as in the report profile (the smoke profile trains; its finished runs would only be stored again)
    run(["06"], "smoke", {"scores": "extend", "train": False, "eval_sets": [str(other)], "eval_scales": [2]},
        log=lambda m: None, work=work)
    after = pd.read_csv(results / "scores" / "ipf.csv")
    assert set(zip(after["set"], after["scale"])) == {("sample", 4.0), (str(other), 2.0)}
    added = after[after["set"] == str(other)]
    assert len(after) == len(before) + len(added), (len(before), len(after), len(added))  # the old rows carried
    assert added.groupby("method")["image"].nunique().eq(2).all() and added["method"].nunique() == before["method"].nunique()
    run(["06"], "smoke", {"scores": "sample", "train": False, "eval_sets": ["sample", str(other)],
                          "eval_scales": [2, 4]}, log=lambda m: None, work=work)
    claims = pd.read_csv(results / "ipf_claims.csv")
    first = claims[claims["claim"] == claims["claim"].iloc[0]]
    scopes = dict(zip(first["scope"].str.extract(r", x(\d+)")[0], first["scope"]))
    assert scopes["2"].startswith(f"{other}, x2") and scopes["4"].startswith("sample, x4")  # each pools what it holds
    summary = pd.read_csv(results / "ipf.csv")
    assert set(summary["scale"]) == {2, 4} and set(summary.loc[summary["scale"] == 2, "sets"]) == {str(other)}
    executed = (work / "notebooks" / "06_ipf.ipynb").read_text()
    assert f"sample at x2; {other} at x4" in executed  # named as not scored yet
    assert f"Means over every scored image of sample at x4; {other} at x2" in executed  # the plane says what it pools
