"""Score tables: scoring files, the fixed sample, and the check of recomputed rows."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from reproduce.errors import ReproduceError
from reproduce.metrics import psnr
from reproduce.perceptual import load_stlpips
from reproduce.scores import compare_recomputed, fixed_sample, read_scores, score_methods, settle_scores, weights_id, write_scores
from reproduce.scores import design_words, images_to_score, partial_path, scales_held, scoring_settings, split_design
from reproduce.scores import unscored_sets


def test_fixed_sample_is_stable_and_keeps_the_required_names():
    names = [f"img{i:03d}" for i in range(100)]
    a = fixed_sample(names, 12, seed=0, always=["img050", "img099"])
    assert a == fixed_sample(list(reversed(names)), 12, seed=0, always=["img099", "img050"])
    assert len(a) == 12 and {"img050", "img099"} <= set(a)
    assert fixed_sample(names, 12, seed=1) != fixed_sample(names, 12, seed=0)
    assert fixed_sample(names[:5], 12) == names[:5]


def _table(**override):
    rows = [{"method": m, "seed": -1 if m == "bicubic" else 0, "set": "S", "image": f"i{i}", "scale": 8,
             "psnr": 25.0 + i, "ssim": 0.7, "stlpips": 0.2} for m in ("bicubic", "LIIF") for i in range(3)]
    df = pd.DataFrame(rows)
    for (m, i, col), value in override.items():
        df.loc[(df.method == m) & (df.image == i), col] = value
    return df


def test_recomputed_rows_within_tolerance_pass_and_report_the_largest_difference():
    committed = _table()
    recomputed = committed.iloc[[0, 4]].copy()
    recomputed["psnr"] += 0.01
    report = compare_recomputed(committed, recomputed).set_index("metric")
    assert report.loc["psnr", "max_abs_diff"] == pytest.approx(0.01) and report.loc["psnr", "rows"] == 2


def test_recomputed_row_beyond_tolerance_fails_loudly():
    committed = _table()
    recomputed = committed.iloc[[4]].copy()
    recomputed["stlpips"] += 0.01
    with pytest.raises(ReproduceError, match=r"stlpips of LIIF on S/i1 x8 .* tolerance"):
        compare_recomputed(committed, recomputed)


def test_recomputed_row_missing_from_the_committed_table_fails():
    committed = _table()
    extra = committed.iloc[[0]].copy()
    extra["image"] = "new"
    with pytest.raises(ReproduceError, match="not in the committed scores"):
        compare_recomputed(committed, extra)


def test_write_and_read_scores_round_trip(tmp_path):
    path = write_scores(_table(), tmp_path / "scores" / "x.csv", {"commit": "abc"})
    back, prov = read_scores(path)
    assert prov == {"commit": "abc"} and list(back.columns[:7]) == ["method", "seed", "set", "image", "scale", "psnr", "ssim"]
    assert np.allclose(back["psnr"], _table()["psnr"])
    # a run record's duration at an earlier table is not the scoring's: left out
    _, prov = read_scores(write_scores(_table(), tmp_path / "d.csv", {"commit": "abc", "duration_s": 13.8}))
    assert prov == {"commit": "abc"}
    with pytest.raises(ReproduceError, match="no committed scores"):
        read_scores(tmp_path / "missing.csv")
    with pytest.raises(ValueError, match="lacks column"):
        write_scores(_table().drop(columns="ssim"), tmp_path / "y.csv", {})


def test_score_methods_reuses_ground_truth_features_with_the_same_distance(tmp_path, smooth_image):
    gt, a, b = tmp_path / "gt", tmp_path / "a", tmp_path / "b"
    for folder in (gt, a, b):
        folder.mkdir()
    rng = np.random.default_rng(0)
    for name in ("x", "y"):
        Image.fromarray(smooth_image).save(gt / f"{name}.png")
        for folder, noise in ((a, 5), (b, 20)):
            noisy = np.clip(smooth_image.astype(int) + rng.integers(-noise, noise + 1, smooth_image.shape), 0, 255)
            Image.fromarray(noisy.astype(np.uint8)).save(folder / f"{name}.png")
    lpips = load_stlpips("alex")
    rows = score_methods(["x", "y"], {"A": a, "B": b}, gt, {"psnr": lambda sr, hr: psnr(sr, hr, "div2k-rgb", 1)}, lpips=lpips)
    assert [(r["method"], r["image"]) for r in rows] == [("A", "x"), ("B", "x"), ("A", "y"), ("B", "y")]
    for r in rows:
        sr = torch.from_numpy(np.array(Image.open((a if r["method"] == "A" else b) / f"{r['image']}.png"))).permute(2, 0, 1).float() / 255
        hr = torch.from_numpy(smooth_image).permute(2, 0, 1).float() / 255
        with torch.no_grad():
            direct = float(lpips(sr.unsqueeze(0), hr.unsqueeze(0))[0])
        assert r["stlpips"] == pytest.approx(direct, rel=1e-5)
    by = {(r["method"], r["image"]): r for r in rows}
    assert by[("A", "x")]["psnr"] > by[("B", "x")]["psnr"] and by[("A", "x")]["stlpips"] < by[("B", "x")]["stlpips"]


def test_nan_on_one_side_only_is_a_difference():
    committed = _table()
    recomputed = committed.iloc[[1]].copy()
    recomputed["stlpips"] = float("nan")
    with pytest.raises(ReproduceError, match="stlpips of bicubic on S/i1 x8 is nan now"):
        compare_recomputed(committed, recomputed)


def test_names_that_look_like_numbers_or_missing_values_stay_text(tmp_path):
    table = _table()
    table["image"] = ["0012", "NA", "null"] * 2
    back, _ = read_scores(write_scores(table, tmp_path / "s.csv", {}))
    assert list(back["image"][:3]) == ["0012", "NA", "null"]
    assert len(compare_recomputed(back, table.iloc[[0, 1, 2]])) >= 1


WEIGHTS = {"LIIF": {"path": "liif.pt", "sha256": "aa"}}


def _committed(tmp_path, table=None, checkpoints=WEIGHTS):
    path = tmp_path / "s.csv"
    settled = settle_scores("full", _table() if table is None else table, path, {"commit": "c0ffee1234567", "device": "cpu"},
                            checkpoints)
    assert settled.check is None and settled.source == f"computed in this run ({len(settled.table)} rows)"
    return path


def test_settle_scores_full_writes_the_table_with_its_weights_and_sample_reads_it_back(tmp_path):
    path = _committed(tmp_path)
    assert read_scores(path)[1]["checkpoints"] == WEIGHTS
    sample = _table().iloc[[0, 3]]
    settled = settle_scores("sample", sample, path, {}, WEIGHTS)
    # the whole committed table (all 3 images of both methods) is what tables are rendered from
    assert len(settled.table) == 6 and set(settled.check["metric"]) == {"psnr", "ssim", "stlpips"}
    assert "read from the committed" in settled.source and "c0ffee1234" in settled.source and "2 rows (1 image)" in settled.source


def test_full_and_extend_render_from_the_rounded_file_like_a_later_sample_run(tmp_path):
    # values that differ only beyond the file's 6 significant digits: a tie once written
    fine = _table()
    fine.loc[3, "stlpips"], fine.loc[4, "psnr"] = 0.2000001, 26.00000049  # LIIF's i0 and i1
    path = tmp_path / "s.csv"
    full = settle_scores("full", fine, path, {"commit": "abc"}, WEIGHTS)
    sample = settle_scores("sample", fine.iloc[[0, 3]], path, {}, WEIGHTS)
    assert full.table.equals(sample.table)  # same rows, order and values, whatever the mode
    assert full.table.loc[3, "stlpips"] == 0.2 and full.table.loc[4, "psnr"] == 26.0
    assert full.table["image"].tolist() == fine["image"].tolist() and full.table.columns.tolist() == fine.columns.tolist()
    new = fine.query("method == 'LIIF'").assign(method="IPF", psnr=lambda d: d["psnr"] + 1e-7)
    weights = {**WEIGHTS, "IPF": {"path": "ipf.pt", "sha256": "ee"}}
    extended = settle_scores("extend", pd.concat([fine, new], ignore_index=True), path, {"commit": "def"}, weights)
    assert extended.table["psnr"].tolist() == [25.0, 26.0, 27.0] * 3


def test_settle_scores_narrows_the_committed_table_to_this_runs_design(tmp_path):
    wide = pd.concat([_table(), _table().assign(scale=4.0), _table().assign(set="T")], ignore_index=True)
    path = _committed(tmp_path, wide)
    settled = settle_scores("sample", _table().iloc[[0, 3]], path, {}, WEIGHTS, sets=["S"], scales=[8])
    assert set(settled.table["method"]) == {"bicubic", "LIIF"} and set(settled.table["scale"]) == {8.0}
    assert set(settled.table["set"]) == {"S"} and len(settled.table) == 6


def test_settle_scores_refuses_other_weights_missing_weights_and_other_images(tmp_path):
    path = _committed(tmp_path)
    sample = _table().iloc[[0, 3]]
    with pytest.raises(ReproduceError, match=r"other or more weights \(LIIF\)"):
        settle_scores("sample", sample, path, {}, {"LIIF": {"path": "liif.pt", "sha256": "bb"}})
    with pytest.raises(ReproduceError, match=r"other or more weights \(IPF\)"):
        settle_scores("sample", sample, path, {}, {**WEIGHTS, "IPF": {"path": "ipf.pt", "sha256": "cc"}})
    with pytest.raises(ReproduceError, match="holds? 3 images, this run selects 4"):
        settle_scores("sample", sample, path, {}, WEIGHTS, images=["i0", "i1", "i2", "i3"])
    settle_scores("sample", sample, path, {}, WEIGHTS, images=["i0", "i1", "i2"])


def test_settle_scores_fails_when_a_recomputed_value_moved_or_the_mode_is_unknown(tmp_path):
    path = _committed(tmp_path)
    moved = _table().iloc[[0, 4]].copy()
    moved.loc[moved["method"] == "LIIF", "psnr"] += 0.2
    with pytest.raises(ReproduceError, match="psnr of LIIF on S/i1"):
        settle_scores("sample", moved, path, {}, WEIGHTS)
    with pytest.raises(ReproduceError, match="'full', 'extend' or 'sample'"):
        settle_scores("some", moved, path, {}, WEIGHTS)


def test_images_to_score_full_limit_and_a_stable_sample(tmp_path):
    folder = tmp_path / "set"
    folder.mkdir()
    for i in range(9):
        Image.new("RGB", (4, 4)).save(folder / f"im{i}.png")
    assert images_to_score("full", [str(folder)], 3) is None
    assert images_to_score("full", [str(folder)], 3, limit=2) == {str(folder): ["im0", "im1"]}
    sample = images_to_score("sample", [str(folder)], 3)[str(folder)]
    assert len(sample) == 3 and sample == images_to_score("sample", [str(folder)], 3)[str(folder)]
    assert sample == fixed_sample([f"im{i}" for i in range(9)], 3, seed=0)
    # a table scored with a limit holds only the first images: its sample is drawn from those
    limited = images_to_score("sample", [str(folder)], 1, limit=4)[str(folder)]
    assert limited == fixed_sample([f"im{i}" for i in range(4)], 1, seed=0)
    assert all(images_to_score("sample", [str(folder)], 1, limit=4, seed=k)[str(folder)][0] in {"im0", "im1", "im2", "im3"}
               for k in range(20))  # whatever the draw
    assert images_to_score("sample", [str(folder)], 5, limit=2)[str(folder)] == ["im0", "im1"]
    with pytest.raises(ReproduceError, match="'full', 'extend' or 'sample'"):
        images_to_score("all", [str(folder)], 3)


def test_weights_id_depends_on_every_digest_and_not_on_order():
    a = {"LIIF": {"sha256": "aa"}, "IPF": {"sha256": "bb", "path": "x"}}
    b = {"IPF": {"sha256": "bb"}, "LIIF": {"sha256": "aa"}}
    assert weights_id(a) == weights_id(b) and len(weights_id(a)) == 12
    assert weights_id(a) != weights_id({**a, "IPF": {"sha256": "bc"}})
    assert weights_id(a) != weights_id({"LIIF": {"sha256": "aa"}})


def test_carried_rows_drop_only_changed_weights_and_keep_what_this_run_does_not_score(tmp_path):
    from reproduce.scores import carried_rows

    liif = _table().query("method == 'LIIF'")
    table = pd.concat([_table(), liif.assign(method="IPF"), liif.assign(method="old"), liif.assign(method="new")],
                      ignore_index=True)
    recorded = {"LIIF": {"sha256": "aa"}, "IPF": {"sha256": "bb"}, "old": {"sha256": "dd"}}
    path = write_scores(table, tmp_path / "s.csv", {"commit": "abc", "device": "cpu", "checkpoints": recorded})
    # IPF retrained; "old" not scored in this run (its checkpoint absent here); "new" has weights never recorded
    carried = carried_rows(path, {"LIIF": {"sha256": "aa"}, "IPF": {"sha256": "b2"}, "new": {"sha256": "ff"}})
    assert set(carried.rows["method"]) == {"bicubic", "LIIF", "old"} and len(carried.rows) == 9
    assert carried.dropped == ["IPF", "new"] and carried.checkpoints == {"LIIF": {"sha256": "aa"}, "old": {"sha256": "dd"}}
    # a table written before per-run parts existed: one part from its provenance, narrowed to the kept methods
    assert carried.parts == [{"rows": {"LIIF": 3, "bicubic": 3, "old": 3}, "commit": "abc", "device": "cpu"}]
    assert len(carried_rows(tmp_path / "none.csv", {}).rows) == 0


def test_settle_scores_extend_writes_carried_plus_new_rows_with_each_runs_share(tmp_path):
    path = _committed(tmp_path)  # bicubic + LIIF, commit c0ffee...
    new = _table().query("method == 'LIIF'").assign(method="IPF")
    design = pd.concat([_table().query("method == 'LIIF'"), new], ignore_index=True)
    weights = {**WEIGHTS, "IPF": {"path": "ipf.pt", "sha256": "ee"}}
    # carried rows found by settle_scores itself when not given
    settled = settle_scores("extend", design, path, {"commit": "fedcba987654", "device": "gpu"}, weights)
    assert len(settled.table) == 6 and set(settled.table["method"]) == {"LIIF", "IPF"}  # this run's design
    written, prov = read_scores(path)
    assert len(written) == 9 and set(written["method"]) == {"bicubic", "LIIF", "IPF"}  # bicubic kept though not in the design
    assert [p["rows"] for p in prov["parts"]] == [{"LIIF": 3, "bicubic": 3}, {"IPF": 3}]
    assert [p["commit"] for p in prov["parts"]] == ["c0ffee1234567", "fedcba987654"] and prov["checkpoints"] == weights
    assert settled.source.startswith("3 rows computed in this run (IPF), 3 carried over") and "9 rows" in settled.source
    # the extended table now passes a sample check with all three methods, and refuses one without IPF's weights
    sample = pd.concat([_table().iloc[[0, 3]], new.iloc[[1]]], ignore_index=True)
    assert len(settle_scores("sample", sample, path, {}, weights).table) == 9
    with pytest.raises(ReproduceError, match="other or more weights"):
        settle_scores("sample", _table().iloc[[0]], path, {}, WEIGHTS)


def test_settle_scores_extend_that_adds_nothing_leaves_the_file_as_it_was(tmp_path):
    path = _committed(tmp_path)
    before = (path.read_bytes(), path.with_suffix(".provenance.json").read_bytes())
    carried = _table().query("method == 'LIIF'")  # every row already committed with the same weights
    settled = settle_scores("extend", carried, path, {"commit": "fedcba987654", "device": "gpu"}, WEIGHTS)
    assert (path.read_bytes(), path.with_suffix(".provenance.json").read_bytes()) == before
    assert "unchanged (6 rows)" in settled.source and len(settled.table) == 3
    # new weights for a method (its rows dropped) or a new method's weights are changes: written
    settle_scores("extend", carried.iloc[:0], path, {"commit": "fedcba987654"}, {**WEIGHTS, "IPF": {"sha256": "ee"}})
    assert read_scores(path)[1]["commit"] == "fedcba987654"


def test_settle_scores_sample_refuses_a_table_with_other_methods(tmp_path):
    path = _committed(tmp_path)
    with pytest.raises(ReproduceError, match="hold methods"):
        settle_scores("sample", _table().query("method == 'LIIF'").iloc[[0]], path, {}, WEIGHTS)


def test_score_images_returns_reused_rows_without_recomputing_them(tmp_path, smooth_image):
    from reproduce.evaluate import score_images

    folder = tmp_path / "set"
    folder.mkdir()
    for name in ("a", "b"):
        Image.fromarray(smooth_image).save(folder / f"{name}.png")
    fresh = score_images("bicubic", "bicubic", [str(folder)], [2])
    reuse = fresh[fresh["image"] == "a"].assign(psnr=99.0)
    again = score_images("bicubic", "bicubic", [str(folder)], [2], reuse=pd.concat([reuse, reuse.assign(method="LIIF")]))
    assert again.set_index("image").loc["a", "psnr"] == 99.0  # taken as is
    assert again.set_index("image").loc["b", "psnr"] == pytest.approx(fresh.set_index("image").loc["b", "psnr"])
    assert set(again["method"]) == {"bicubic"} and len(again) == 2
    # the partial file of a resumable run keeps only rows computed there, never reused ones
    partial = tmp_path / "partial.csv"
    score_images("bicubic", "bicubic", [str(folder)], [2], reuse=reuse, partial=partial)
    assert pd.read_csv(partial)["image"].tolist() == ["b"]


def test_images_left_and_with_carried_for_an_extending_run(tmp_path):
    from reproduce.scores import carried_rows, images_left, with_carried

    path = _committed(tmp_path)  # bicubic and LIIF on i0-i2
    carried = carried_rows(path, WEIGHTS)
    names = ["i0", "i1", "i2", "i3"]
    assert images_left(carried, "LIIF", 0, names) == ["i3"]
    assert images_left(carried, "LIIF", 0, names, always=["i1"]) == ["i1", "i3"]  # a figure's image is recomputed
    assert images_left(carried, "IPF", 0, names) == names and images_left(None, "LIIF", 0, names) == names
    fresh = pd.DataFrame([{"method": "LIIF", "seed": 0, "set": "S", "image": i, "scale": 8, "psnr": p, "ssim": 0.7,
                           "stlpips": 0.2} for i, p in (("i1", 26.01), ("i3", 40.0))])
    rows, check = with_carried(carried, fresh, [("LIIF", 0)])
    assert sorted(rows["image"]) == names and set(rows["method"]) == {"LIIF"}  # bicubic not in this run
    assert rows.set_index("image").loc["i1", "psnr"] == 26.0  # the carried value is kept
    assert check.set_index("metric").loc["psnr", "max_abs_diff"] == pytest.approx(0.01)
    with pytest.raises(ReproduceError, match="psnr of LIIF on S/i1"):
        with_carried(carried, fresh.assign(psnr=[27.0, 40.0]), [("LIIF", 0)])


def test_check_mode_names_the_allowed_modes():
    from reproduce.errors import ReproduceError
    from reproduce.scores import check_mode

    assert check_mode("extend") == "extend"
    with pytest.raises(ReproduceError, match=r"scores must be 'full', 'extend' or 'sample', not 'fll'"):
        check_mode("fll")
    with pytest.raises(ReproduceError, match=r"scores must be 'full' or 'sample', not 'extend'"):
        check_mode("extend", ("full", "sample"))


def test_niqe_tolerance_and_per_call_overrides():
    committed = _table().assign(niqe=10.0)
    near, far = committed.iloc[[1]].copy(), committed.iloc[[1]].copy()
    near["niqe"] += 0.01  # float rounding on another CPU: accepted
    far["niqe"] += 0.2    # a changed model or metric: refused
    assert compare_recomputed(committed, near).set_index("metric").loc["niqe", "max_abs_diff"] == pytest.approx(0.01)
    with pytest.raises(ReproduceError, match="niqe of bicubic"):
        compare_recomputed(committed, far)
    with pytest.raises(ReproduceError, match="tolerance 0.001"):
        compare_recomputed(committed, near, {"niqe": 1e-3}, relative={})  # a caller may be stricter


def test_niqe_relative_tolerance_for_large_values():
    committed = _table().assign(niqe=36.821)
    rounding = committed.iloc[[1]].assign(niqe=36.993)  # the measured AVX2-vs-AMX fp32 difference: 0.47 %
    report = compare_recomputed(committed, rounding).set_index("metric")
    assert report.loc["niqe", "max_abs_diff"] == pytest.approx(0.172) and report.loc["niqe", "relative_tolerance"] == 0.01
    with pytest.raises(ReproduceError, match=r"niqe .*\(\|diff\| 0.50000 > tolerance 0.05 or 1% of the committed value\)"):
        compare_recomputed(committed, committed.iloc[[1]].assign(niqe=37.321))  # 1.4 %: beyond rounding
    with pytest.raises(ReproduceError, match="tolerance 0.05\\)"):
        compare_recomputed(committed, rounding, relative={})  # absolute only
    small = _table().assign(niqe=2.0)  # below 5: the absolute 0.05 is the larger bound
    assert len(compare_recomputed(small, small.iloc[[1]].assign(niqe=2.04)))
    with pytest.raises(ReproduceError):
        compare_recomputed(small, small.iloc[[1]].assign(niqe=2.06))
    mixed = _table().assign(psnr=30.0)
    with pytest.raises(ReproduceError, match="psnr"):  # no relative tolerance for PSNR: 0.06 dB is refused at any value
        compare_recomputed(mixed, mixed.iloc[[1]].assign(psnr=30.06))


def test_unscored_sets_only_in_sample_mode_and_only_sets_without_rows(tmp_path):
    path = _committed(tmp_path)  # the committed table holds set "S" only
    assert unscored_sets("sample", path, ["S", "Urban100", "T"]) == ["Urban100", "T"]
    assert unscored_sets("sample", path, ["S"]) == []
    assert unscored_sets("full", path, ["S", "Urban100"]) == [] and unscored_sets("extend", path, ["T"]) == []
    assert unscored_sets("sample", tmp_path / "none.csv", ["S"]) == []  # read_scores then says how to make it
    with pytest.raises(ReproduceError):
        unscored_sets("fast", path, ["S"])


def test_scoring_settings_follow_the_committed_table_in_sample_and_extend_mode(tmp_path):
    path = tmp_path / "s.csv"
    table = _table()  # ST-LPIPS at every row (x8): the committed metric scales are [8]
    settle_scores("full", table, path, {"bf16": False}, WEIGHTS)
    assert scoring_settings("sample", path, True, [4]) == (False, [8.0])  # checked as the rows were made
    assert scoring_settings("extend", path, True, []) == (False, [8.0])   # extended in kind
    assert scoring_settings("full", path, True, [4, 2]) == (True, [2.0, 4.0])
    settle_scores("full", table.assign(stlpips=float("nan")), path, {"bf16": True}, WEIGHTS)
    assert scoring_settings("sample", path, False, [4]) == (True, [])
    _committed(tmp_path)  # provenance without a precision: as given, either way
    assert scoring_settings("sample", path, True, [])[0] is True
    assert scoring_settings("sample", path, False, [])[0] is False
    assert scoring_settings("sample", tmp_path / "none.csv", True, [4]) == (True, [4.0])


def test_partial_path_changes_with_weights_precision_and_metric_design(tmp_path):
    base = partial_path(tmp_path, "03_evaluate", WEIGHTS, False, [4], ["stlpips", "niqe"])
    assert base.parent == tmp_path and base.name.startswith("03_evaluate-") and base.name.endswith("-fp32.partial.csv")
    assert partial_path(tmp_path, "03_evaluate", WEIGHTS, False, [4.0], ["niqe", "stlpips"]) == base  # order-free
    others = [partial_path(tmp_path, "03_evaluate", WEIGHTS, True, [4], ["stlpips", "niqe"]),
              partial_path(tmp_path, "03_evaluate", WEIGHTS, False, [], ["stlpips", "niqe"]),
              partial_path(tmp_path, "03_evaluate", WEIGHTS, False, [4, 12], ["stlpips", "niqe"]),
              partial_path(tmp_path, "03_evaluate", WEIGHTS, False, [4], ["stlpips"]),
              partial_path(tmp_path, "03_evaluate", {"LIIF": {"sha256": "0" * 64}}, False, [4], ["stlpips", "niqe"]),
              partial_path(tmp_path, "03_evaluate", WEIGHTS, True, [4], ["stlpips", "niqe"], emulated=True)]
    assert len({base, *others}) == 7
    assert others[-1].name.endswith("-bf16emu.partial.csv") and others[0].name.endswith("-bf16.partial.csv")
    assert partial_path(tmp_path, "03_evaluate", WEIGHTS, False, [4], ["stlpips", "niqe"], emulated=True) == base  # fp32


def test_split_design_holds_only_the_committed_set_scale_pairs_in_sample_mode(tmp_path):
    # the committed table: set S at x8 and x2, Urban100 at x2 only (a large set scored one scale per sitting)
    table = pd.concat([_table(), _table().assign(scale=2), _table().assign(set="Urban100", scale=2)], ignore_index=True)
    path = _committed(tmp_path, table)
    design = {"S": [2, 8, 12.5], "Urban100": [2, 8], "T": [2]}
    held, left = split_design("sample", path, design)
    assert held == {"S": [2.0, 8.0], "Urban100": [2.0]}  # T holds nothing: no entry, not an empty list
    assert left == {"S": [12.5], "Urban100": [8.0], "T": [2.0]}
    assert design_words(left) == "S at x12.5; Urban100 at x8; T at x2"
    assert scales_held([2, 8, 12.5, 30], held) == [2, 8]  # the notebook's values, in its order
    assert scales_held([8, 2], {"Urban100": [2.0]}) == [2] and scales_held([2], {}) == []
    assert split_design("sample", path, {"S": [8]}) == ({"S": [8.0]}, {})
    for mode in ("full", "extend"):  # these score every pair
        assert split_design(mode, path, design) == ({"S": [2.0, 8.0, 12.5], "Urban100": [2.0, 8.0], "T": [2.0]}, {})
    assert split_design("sample", tmp_path / "none.csv", {"S": [2]}) == ({"S": [2.0]}, {})  # read_scores explains
    assert split_design("sample", path, {"S": []}) == ({}, {})
    with pytest.raises(ReproduceError):
        split_design("fast", path, design)


def test_sample_check_is_narrowed_to_the_set_scale_pairs_of_the_design(tmp_path):
    table = pd.concat([_table(), _table().assign(set="Urban100", scale=2)], ignore_index=True)
    path = _committed(tmp_path, table)
    sample = table[table["set"] == "Urban100"].iloc[[0, 3]]  # one image of each method
    narrowed = settle_scores("sample", sample, path, {}, WEIGHTS, set_scales={"Urban100": [2]})
    assert len(narrowed.table) == len(table)  # S is not named: every scale of it stays
    only = settle_scores("sample", sample, path, {}, WEIGHTS, set_scales={"Urban100": [2], "S": []})
    assert set(only.table["set"]) == {"Urban100"} and len(only.table) == 6
    with pytest.raises(ReproduceError, match="hold methods"):  # nothing left after narrowing: the plain refusal
        settle_scores("sample", sample, path, {}, WEIGHTS, sets=["T"], set_scales={"T": [8]})


def test_resumed_rows_are_the_partial_files_keys_and_only_those_written_count(tmp_path):
    from reproduce.scores import resumed_rows, row_keys

    partial = tmp_path / "run.partial.csv"
    assert resumed_rows(None) == frozenset() and resumed_rows(partial) == frozenset()  # no file: nothing resumed
    _table().iloc[:4].to_csv(partial, index=False)
    keys = resumed_rows(partial)
    assert keys == set(row_keys(_table().iloc[:4]))  # typed as the computed rows' keys (seed int, scale float)
    # full mode: the rows "computed in this run" say how many were taken from the file
    path = tmp_path / "full.csv"
    settled = settle_scores("full", _table(), path, {"commit": "abc"}, WEIGHTS, resumed=keys)
    prov = read_scores(path)[1]
    assert "4 of them taken from its partial file" in prov["computed"]
    assert prov["parts"][0]["resumed_rows"] == 4 and "4 of them" in settled.source
    # a run that writes fewer rows than the file holds (a finished earlier run, then `limit`) counts only its own
    settled = settle_scores("full", _table().iloc[[0, 5]], path, {"commit": "abc"}, WEIGHTS, resumed=keys)
    assert read_scores(path)[1]["parts"][0]["resumed_rows"] == 1 and "1 of them" in settled.source
    # without resumed rows nothing is claimed about them
    settle_scores("full", _table(), path, {"commit": "abc"}, WEIGHTS)
    prov = read_scores(path)[1]
    assert prov["computed"] == "all rows computed in this run" and "resumed_rows" not in prov["parts"][0]
    # extend mode: only the new rows count (carried ones are not in the file); the carried part keeps its record
    new = _table().query("method == 'LIIF'").assign(method="IPF")
    weights = {**WEIGHTS, "IPF": {"path": "ipf.pt", "sha256": "ee"}}
    design = pd.concat([_table(), new], ignore_index=True)
    settled = settle_scores("extend", design, path, {"commit": "def"}, weights,
                            resumed=keys | set(row_keys(new.iloc[:2])))
    prov = read_scores(path)[1]
    assert [p.get("resumed_rows") for p in prov["parts"]] == [None, 2]
    assert "3 rows computed in this run (2 of them taken" in prov["computed"] and "2 of them" in settled.source


def test_weights_per_seed_carry_the_other_seeds_of_a_retrained_or_new_seed(tmp_path):
    from reproduce.scores import by_method_and_seed, carried_rows

    liif = _table().query("method == 'LIIF'")
    table = pd.concat([liif, liif.assign(seed=1, psnr=liif["psnr"] + 0.1), liif.assign(method="LIIF-c")],
                      ignore_index=True)
    recorded = {"LIIF-seed0": {"sha256": "a0"}, "LIIF-seed1": {"sha256": "a1"}, "LIIF-c-seed0": {"sha256": "c0"}}
    path = write_scores(table, tmp_path / "s.csv", {"commit": "abc", "device": "cpu", "checkpoints": recorded})
    # seed 1 retrained, seed 2 new: only seed 1's rows drop; seed 0 and the other arm are carried
    now = {"LIIF-seed0": {"sha256": "a0"}, "LIIF-seed1": {"sha256": "b1"}, "LIIF-seed2": {"sha256": "a2"}}
    carried = carried_rows(path, now, by_method_and_seed)
    assert sorted(set(zip(carried.rows["method"], carried.rows["seed"]))) == [("LIIF", 0), ("LIIF-c", 0)]
    assert carried.dropped == ["LIIF-seed1"]
    assert carried.parts == [{"rows": {"LIIF-c-seed0": 3, "LIIF-seed0": 3}, "commit": "abc", "device": "cpu"}]
    # keyed by method name instead, the table's per-seed records do not match "LIIF": every LIIF row drops
    assert carried_rows(path, {"LIIF": {"sha256": "zz"}}).dropped == ["LIIF"]
    # an extending run writes the new seed with its own share, counted per weights
    fresh = liif.assign(seed=2)
    settled = settle_scores("extend", pd.concat([carried.rows, fresh], ignore_index=True), path, {"commit": "def"},
                            {**now, "LIIF-c-seed0": recorded["LIIF-c-seed0"]}, carried=carried, key=by_method_and_seed)
    written, prov = read_scores(path)
    assert len(written) == 9 and prov["parts"][-1]["rows"] == {"LIIF-seed2": 3}
    assert "(LIIF-seed2)" in settled.source


def test_sample_size_per_set_and_unscored_weights(tmp_path):
    from reproduce.scores import unscored_weights

    folder = tmp_path / "set"
    folder.mkdir()
    for i in range(5):
        Image.new("RGB", (4, 4)).save(folder / f"im{i}.png")
    other = tmp_path / "other"
    other.mkdir()
    Image.new("RGB", (4, 4)).save(other / "x.png")
    chosen = images_to_score("sample", [str(folder), str(other)], {str(folder): 2})
    assert len(chosen[str(folder)]) == 2 and chosen[str(other)] == []  # a set not named: no image
    assert images_to_score("full", [str(folder)], {str(folder): 2}) is None
    path = write_scores(_table(), tmp_path / "s.csv", {"checkpoints": {"LIIF-seed0": {"sha256": "a0"}}})
    digests = {"LIIF-seed0": {"sha256": "a0"}, "LIIF-seed1": {"sha256": "a1"}, "LIIF-c-seed0": {"sha256": "c0"}}
    assert unscored_weights("sample", path, digests) == ["LIIF-seed1", "LIIF-c-seed0"]
    # retrained weights are not "unscored": the check itself refuses them
    assert unscored_weights("sample", path, {"LIIF-seed0": {"sha256": "changed"}}) == []
    with pytest.raises(ReproduceError, match="other or more weights"):
        settle_scores("sample", _table().iloc[[3]], path, {}, {"LIIF-seed0": {"sha256": "changed"}})
    assert unscored_weights("extend", path, digests) == [] and unscored_weights("sample", tmp_path / "no.csv", digests) == []
    # a table whose provenance records no weights cannot vouch for any
    bare = write_scores(_table(), tmp_path / "bare.csv", {"commit": "abc"})
    with pytest.raises(ReproduceError, match="record no weights"):
        unscored_weights("sample", bare, digests)
    # a sample run that recomputed nothing checks nothing: refused, not passed
    with pytest.raises(ReproduceError, match="nothing was recomputed"):
        settle_scores("sample", pd.DataFrame(), path, {}, {"LIIF-seed0": {"sha256": "a0"}})


def test_computing_devices_names_the_machines_behind_a_weights_key(tmp_path):
    from reproduce.scores import computing_devices
    amx, epyc = "Xeon (AMX), 2 threads", "EPYC (no AMX), 2 threads"
    parts = [{"rows": {"LIIF": 3}, "device": amx, "time": "t1"},
             {"rows": {"bicubic": 3}, "device": epyc, "time": "t2", "bf16_kernels": "emulated"},
             {"rows": {"LIIF": 2, "bicubic": 1}, "device": epyc, "time": "t3"}]  # an older part: no kernels recorded
    path = write_scores(_table(), tmp_path / "s.csv", {"device": epyc, "time": "t3", "bf16_kernels": "emulated",
                                                       "parts": parts})
    assert computing_devices(path, "LIIF") == [amx, f"{epyc}, bf16 emulated"]  # the head's run: its kernels
    assert computing_devices(path, "bicubic") == [f"{epyc}, bf16 emulated"]
    assert computing_devices(path) == [amx, f"{epyc}, bf16 emulated"]
    assert computing_devices(path, "SRGAN") == [] and computing_devices(tmp_path / "none.csv") == []
    plain = write_scores(_table(), tmp_path / "p.csv", {"device": amx, "time": "t1"})  # no parts: the head is the run
    assert computing_devices(plain) == [amx]
    # an older part of the same machine as a later one that records its kernels: named alike (one machine, not two)
    older = [{"rows": {"LIIF": 3}, "device": epyc, "time": "t1"},
             {"rows": {"LIIF": 3}, "device": epyc, "time": "t2", "bf16_kernels": "emulated"}]
    extended = write_scores(_table(), tmp_path / "e.csv", {"device": epyc, "time": "t2", "bf16_kernels": "emulated",
                                                           "parts": older})
    assert computing_devices(extended, "LIIF") == [f"{epyc}, bf16 emulated"]
