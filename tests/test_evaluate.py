"""Per-image scoring of several methods (evaluate.score_table) and the bf16 precision check."""

import numpy as np
import pytest

import torch
import torch.nn.functional as F
from conftest import liif_spec

import reproduce.evaluate as ev
from reproduce.models import make


ONE_IMAGE = {"sample": ["chelsea"]}  # the smallest sample image (451 x 300): keeps the tests short


def _counting_method():
    """A callable method that records every call: nearest-neighbour upsampling (not bicubic)."""
    calls = []

    def method(lr, size):
        calls.append(tuple(size))
        return F.interpolate(lr[None], size=tuple(size), mode="nearest")[0]
    return method, calls


def test_score_table_scores_each_method_at_its_scales_and_metrics_only_where_asked(tmp_path):
    nearest, calls = _counting_method()
    methods = {"bicubic": ("bicubic", -1), "nearest": (nearest, 0)}
    t = ev.score_table(methods, ["sample"], {"bicubic": [2, 4], "nearest": [4]}, metric_scales=[4],
                       extra_metrics={"one": lambda sr, hr: 1.0}, images=ONE_IMAGE)
    n = t["image"].nunique()
    assert n == 1
    assert sorted(zip(t["method"], t["scale"])) == sorted([("bicubic", 2.0)] * n + [("bicubic", 4.0)] * n
                                                          + [("nearest", 4.0)] * n)
    assert len(calls) == n  # nearest only at x4
    assert (t.loc[t["scale"] == 4, "one"] == 1.0).all() and t.loc[t["scale"] == 2, "one"].isna().all()
    assert set(t.loc[t["method"] == "nearest", "seed"]) == {0} and set(t.loc[t["method"] == "bicubic", "seed"]) == {-1}
    # nearest-neighbour upsampling is worse than bicubic on natural images, image by image
    x4 = t[t["scale"] == 4].pivot_table(index="image", columns="method", values="psnr")
    assert (x4["bicubic"] > x4["nearest"]).all()


def test_score_table_resumes_from_its_partial_file(tmp_path):
    nearest, calls = _counting_method()
    partial = tmp_path / "scores.partial.csv"
    first = ev.score_table({"nearest": (nearest, 0)}, ["sample"], {"nearest": [2, 3]}, partial=partial, images=ONE_IMAGE)
    made = len(calls)
    again = ev.score_table({"nearest": (nearest, 0)}, ["sample"], {"nearest": [2, 3]}, partial=partial, images=ONE_IMAGE)
    assert made == len(first) and len(calls) == made  # nothing recomputed
    # read back from the file, written with 6 significant digits
    assert np.allclose(again["psnr"], first["psnr"], rtol=1e-5, atol=0)


def test_an_interrupted_scale_keeps_the_images_already_scored(tmp_path, monkeypatch):
    from reproduce.data import dataset_files

    monkeypatch.setattr(ev, "SAVE_EVERY_S", 0.0)  # save after every image
    nearest, calls = _counting_method()

    def dies_on_the_second_image(lr, size):
        if len(calls) == 1:
            raise KeyboardInterrupt  # stopped by hand in the middle of a scale
        return nearest(lr, size)

    two = {"sample": [f.stem for f in dataset_files("sample")[:2]]}
    partial = tmp_path / "scores.partial.csv"
    with pytest.raises(KeyboardInterrupt):
        ev.score_table({"m": (dies_on_the_second_image, 0)}, ["sample"], {"m": [2]}, partial=partial, images=two)
    import pandas as pd
    kept = pd.read_csv(partial)
    assert kept["image"].tolist() == two["sample"][:1] and len(calls) == 1
    again = ev.score_table({"m": (nearest, 0)}, ["sample"], {"m": [2]}, partial=partial, images=two)
    assert sorted(again["image"]) == sorted(two["sample"]) and len(calls) == 2  # only the second image is computed


def test_precision_check_compares_image_by_image():
    torch.manual_seed(0)
    model = make(liif_spec()).eval()
    check = ev.precision_check(model, "sample", [2], limit=2)
    assert check.columns.tolist() == ["set", "scale", "images", "psnr", "psnr_bf16", "difference", "max_abs_image_difference"]
    row = check.iloc[0]
    # the fp32 mean is the evaluation's own set mean, computed by the other path (evaluate)
    assert row["psnr"] == pytest.approx(ev.evaluate(model, ["sample"], [2], limit=2)[0]["psnr"], abs=1e-9)
    assert row["images"] == 2 and row["difference"] != 0  # bf16 was applied
    assert row["max_abs_image_difference"] >= abs(row["difference"]) and row["max_abs_image_difference"] < 1.0


def test_paired_precision_compares_each_method_with_the_reference_per_metric():
    nearest, _ = _counting_method()

    def brighter(lr, size):
        return (nearest(lr, size) + 0.05).clamp(0, 1)

    mean = lambda sr, hr: float(sr.mean())  # an extra metric: the output's mean value
    out = ev.paired_precision({"near": nearest, "bright": brighter, "bicubic": "bicubic"}, "near", "sample", [2, 3],
                              limit=1, metrics=["psnr", "mean"], extra_metrics={"mean": mean})
    assert out.columns.tolist() == ["set", "method", "metric", "scale", "images", "delta_fp32", "delta_bf16", "shift",
                                    "max_abs_image_shift"]
    assert sorted(set(out["method"])) == ["bicubic", "bright"]  # the reference has no row of its own
    assert len(out) == 2 * 2 * 2 and (out["images"] == 1).all()
    d = out.set_index(["method", "metric", "scale"]).sort_index()["delta_fp32"]
    assert (d.loc["bright", "mean"] > 0.04).all() and (d.loc["bright", "mean"] < 0.05 + 1e-6).all()  # method - reference
    assert (d.loc["bicubic", "psnr"] > 0).all()  # bicubic beats nearest-neighbour
    # neither callables nor bicubic use bf16: nothing moves
    assert out["shift"].abs().max() < 1e-9 and out["max_abs_image_shift"].max() < 1e-9
    with pytest.raises(ValueError, match="reference"):
        ev.paired_precision({"near": nearest}, "LIIF", "sample", [2], limit=1)


def test_paired_precision_sees_bf16_reach_a_model():
    torch.manual_seed(0)
    model = make(liif_spec()).eval()
    out = ev.paired_precision({"LIIF": model, "bicubic": "bicubic"}, "LIIF", "sample", [2], limit=1,
                              metrics=["psnr", "one"], extra_metrics={"one": lambda sr, hr: 1.0})
    psnr = out[out["metric"] == "psnr"].iloc[0]
    assert psnr["shift"] != 0 and psnr["max_abs_image_shift"] < 1.0  # bf16 moved LIIF, a little
    assert psnr["shift"] == pytest.approx(psnr["delta_bf16"] - psnr["delta_fp32"])
    assert out[out["metric"] == "one"]["shift"].abs().max() == 0  # a constant metric cannot move


def test_stlpips_metric_reuses_the_reference_features_without_changing_the_distance():
    import torch

    from reproduce.perceptual import load_stlpips

    torch.manual_seed(0)
    hr1, hr2 = torch.rand(3, 48, 40), torch.rand(3, 48, 40)
    srs = [torch.rand(3, 48, 40) for _ in range(3)]
    metric, model = ev.stlpips_metric("alex"), load_stlpips("alex")
    for sr, hr in ((srs[0], hr1), (srs[1], hr1), (srs[2], hr2), (srs[0], hr1), (hr1.clone(), hr1)):
        with torch.no_grad():
            expected = float(model(sr[None], hr[None])[0])
        assert metric(sr, hr) == pytest.approx(expected, rel=1e-6, abs=1e-9)
    assert metric(hr2.clone(), hr2) == 0.0  # identical images


def test_score_table_scores_a_set_with_its_own_scales_only(tmp_path):
    from PIL import Image

    from reproduce.data import dataset_files

    folder = tmp_path / "large"
    folder.mkdir()
    chelsea = [f for f in dataset_files("sample") if f.stem == "chelsea"][0]
    Image.open(chelsea).save(folder / "chelsea.png")
    nearest, calls = _counting_method()
    methods = {"bicubic": ("bicubic", -1), "nearest": (nearest, 0)}
    t = ev.score_table(methods, ["sample", str(folder)], {"bicubic": [2, 3, 4], "nearest": [3, 4]},
                       metric_scales=[4], extra_metrics={"one": lambda sr, hr: 1.0},
                       images={"sample": ["chelsea"]}, set_scales={str(folder): [2, 4]})
    got = sorted(zip(t["set"].map(lambda s: "large" if s.endswith("large") else s), t["method"], t["scale"]))
    assert got == sorted([("sample", "bicubic", 2.0), ("sample", "bicubic", 3.0), ("sample", "bicubic", 4.0),
                          ("sample", "nearest", 3.0), ("sample", "nearest", 4.0),
                          ("large", "bicubic", 2.0), ("large", "bicubic", 4.0), ("large", "nearest", 4.0)])
    assert len(calls) == 3  # nearest: sample x3, x4 and large x4 (its x3 is not in the large set's scales)
    assert (t.loc[t["scale"] == 4, "one"] == 1.0).all()  # the extra metrics where both lists allow x4
    # an empty list scores the set at no scale (not at every scale)
    t = ev.score_table({"bicubic": ("bicubic", -1)}, ["sample", str(folder)], {"bicubic": [2]},
                       images={"sample": ["chelsea"]}, set_scales={str(folder): []})
    assert set(t["set"]) == {"sample"}


def test_score_and_settle_full_then_sample_then_extend_with_a_resumed_partial_file(tmp_path):
    from reproduce.data import dataset_files
    from reproduce.scores import partial_path, read_scores

    nearest, calls = _counting_method()
    methods = {"bicubic": ("bicubic", -1), "nearest": (nearest, 0)}
    digests = {"nearest": {"path": "nearest.pt", "sha256": "aa"}}
    path, parts = tmp_path / "scores" / "07_x.csv", tmp_path / "partial"
    common = dict(digests=digests, scores_path=path, partial_dir=parts, sample_size=1)
    names = [f.stem for f in dataset_files("sample")]
    # an earlier process of this run scored one row before it stopped: the partial file is named
    # after the table's stem and the weights, and that row is resumed, not recomputed
    early = ev.score_table({"nearest": (nearest, 0)}, ["sample"], {"nearest": [2]},
                           partial=partial_path(parts, "07_x", digests), images={"sample": names[:1]})
    assert len(calls) == 1 and len(early) == 1
    computed, settled = ev.score_and_settle("full", methods, {"bicubic": [2], "nearest": [2]}, ["sample"],
                                            provenance={"commit": "abc"}, **common)
    assert len(calls) == len(names)  # the first image of nearest is not computed again
    assert sorted(computed["image"].unique()) == sorted(names) and len(computed) == 2 * len(names)
    table, prov = read_scores(path)
    assert len(table) == 2 * len(names) and prov["checkpoints"] == digests and prov["parts"][0]["resumed_rows"] == 1
    # `limit`: the first images only
    computed, _ = ev.score_and_settle("full", methods, {"bicubic": [2], "nearest": [2]}, ["sample"],
                                      provenance={"commit": "abc"}, limit=2, **common)
    assert sorted(computed["image"].unique()) == sorted(names[:2])
    # the partial file now holds every row of the finished run: only the 4 rows written count as taken from it
    assert read_scores(path)[1]["parts"][0]["resumed_rows"] == 4
    ev.score_and_settle("full", methods, {"bicubic": [2], "nearest": [2]}, ["sample"], provenance={"commit": "abc"},
                        **common)  # the whole table again (from the partial file)
    # sample mode recomputes the fixed sample (one image) and checks it against the committed table
    before = len(calls)
    computed, settled = ev.score_and_settle("sample", methods, {"bicubic": [2], "nearest": [2]}, ["sample"],
                                            provenance={}, **common)
    assert len(computed) == 2 and len(settled.table) == 2 * len(names) and settled.check is not None
    assert len(calls) - before == 1  # computed now, not read from the partial file
    # extend: a new scale is scored, the committed rows are carried, not recomputed
    before = len(calls)
    computed, settled = ev.score_and_settle("extend", methods, {"bicubic": [2, 3], "nearest": [2, 3]}, ["sample"],
                                            provenance={"commit": "def"}, **common)
    assert len(calls) - before == len(names)  # nearest at x3 on every image, nothing at x2
    table, prov = read_scores(path)
    assert len(table) == 4 * len(names) and [p["commit"] for p in prov["parts"]] == ["abc", "def"]


def test_emulated_bf16_never_resumes_rows_of_native_bf16(tmp_path):
    """Rows left by a process with native bf16 kernels (an AMX host) are not taken into a run that emulates bf16
    (an AVX2-only CPU), nor the other way round: the table's provenance names one machine's arithmetic."""
    from reproduce.data import dataset_files
    from reproduce.scores import partial_path, read_scores

    nearest, calls = _counting_method()
    digests = {"nearest": {"path": "nearest.pt", "sha256": "aa"}}
    path, parts = tmp_path / "scores" / "07_x.csv", tmp_path / "partial"
    names = [f.stem for f in dataset_files("sample")]
    ev.score_table({"nearest": (nearest, 0)}, ["sample"], {"nearest": [2]}, bf16=True,
                   partial=partial_path(parts, "07_x", digests, bf16=True), images={"sample": names[:1]})
    assert len(calls) == 1
    ev.score_and_settle("full", {"nearest": (nearest, 0)}, {"nearest": [2]}, ["sample"], digests=digests,
                        scores_path=path, partial_dir=parts, sample_size=1, bf16=True,
                        provenance={"commit": "abc", "bf16_kernels": "emulated"})
    assert len(calls) == 1 + len(names)  # the native row is computed again
    assert "resumed_rows" not in read_scores(path)[1]["parts"][0]
    assert partial_path(parts, "07_x", digests, bf16=True, emulated=True).is_file()


def test_score_and_settle_with_weights_per_seed_extends_by_a_new_seed_only(tmp_path):
    from reproduce.scores import by_method_and_seed, read_scores

    from reproduce.data import dataset_files

    nearest, calls = _counting_method()

    def seeded(k):
        """A different model per seed: nearest upsampling darkened by 0.02 k (so a label/seed mix-up shows)."""
        return lambda lr, size: nearest(lr, size) * (1 - 0.02 * k)

    models = {k: seeded(k) for k in range(3)}
    n = len(dataset_files("sample"))
    path = tmp_path / "ablations.csv"
    common = dict(scores_path=path, partial_dir=tmp_path / "partial", provenance={"commit": "abc"}, sample_size=1,
                  key=by_method_and_seed)

    def design(seeds):
        labels = {f"m-seed{k}": k for k in seeds}
        return dict(methods={lab: (models[k], k) for lab, k in labels.items()}, scales={lab: [2] for lab in labels},
                    digests={lab: {"path": f"{lab}.pt", "sha256": f"d{k}"} for lab, k in labels.items()},
                    names={lab: "m" for lab in labels})

    one = design([0, 1])
    computed, _ = ev.score_and_settle("full", one["methods"], one["scales"], ["sample"], digests=one["digests"],
                                      names=one["names"], **common)
    assert set(computed["method"]) == {"m"} and sorted(computed["seed"].unique()) == [0, 1] and len(calls) == 2 * n
    two = design([0, 1, 2])
    before = len(calls)
    computed, settled = ev.score_and_settle("extend", two["methods"], two["scales"], ["sample"],
                                            digests=two["digests"], names=two["names"], **common)
    assert len(calls) - before == n  # seed 2 on every image; seeds 0 and 1 carried
    table, prov = read_scores(path)
    assert len(table) == 3 * n and [p["rows"] for p in prov["parts"]] == [{"m-seed0": n, "m-seed1": n}, {"m-seed2": n}]
    # the sample check recomputes every seed's sampled image and accepts the table
    before = len(calls)
    computed, settled = ev.score_and_settle("sample", two["methods"], two["scales"], ["sample"],
                                            digests=two["digests"], names=two["names"], **common)
    assert len(calls) - before == 3 and settled.check is not None and len(settled.table) == 3 * n
    # each seed's rows are its own model's: the same as scoring that model alone
    for k in range(3):
        alone = ev.score_images(models[k], "m", ["sample"], [2], seed=k).set_index("image")["psnr"]
        mine = table[table["seed"] == k].set_index("image")["psnr"]
        assert mine.sort_index().to_numpy() == pytest.approx(alone.sort_index().to_numpy(), abs=1e-4)
    assert table.groupby("seed")["psnr"].mean().is_monotonic_decreasing  # darker with k: the seeds differ
