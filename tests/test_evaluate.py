"""Multi-method evaluation with the on-disk score cache."""
import json
import math

import torch.nn.functional as F

import reproduce.evaluate as ev


def _counting_method():
    """A callable method that records every call: nearest-neighbour upsampling (not bicubic)."""
    calls = []

    def method(lr, size):
        calls.append(tuple(size))
        return F.interpolate(lr[None], size=tuple(size), mode="nearest")[0]
    return method, calls


def _without_stlpips(rows):
    return [{k: v for k, v in r.items() if k != "stlpips"} for r in rows]


def test_cache_hit_makes_no_method_calls(tmp_path):
    method, calls = _counting_method()
    first = ev.evaluate_methods({"nn": (method, "nn-v1")}, ["sample"], [2, 3], limit=1, cache_dir=tmp_path)
    assert len(calls) == 2  # computed: 1 image x 2 scales
    assert len(list(tmp_path.glob("*.json"))) == 2  # one cache file per (set, scale)
    assert all(math.isfinite(r["psnr"]) and r["images"] == 1 for r in first)

    again = ev.evaluate_methods({"nn": (method, "nn-v1")}, ["sample"], [2, 3], limit=1, cache_dir=tmp_path)
    assert len(calls) == 2  # same identity: read back, the method is not called at all
    assert all(math.isnan(r["stlpips"]) for r in first + again)  # NaN != NaN: compare the rest
    assert _without_stlpips(again) == _without_stlpips(first)

    # The rows really come from the files: an edited cache file is what is returned.
    for path in tmp_path.glob("*.json"):
        row = json.loads(path.read_text())
        path.write_text(json.dumps({**row, "psnr": 123.0}))
    edited = ev.evaluate_methods({"renamed": (method, "nn-v1")}, ["sample"], [2, 3], limit=1, cache_dir=tmp_path)
    assert len(calls) == 2 and [r["psnr"] for r in edited] == [123.0, 123.0]
    assert [r["method"] for r in edited] == ["renamed", "renamed"]  # the name is not part of the key

    # Another identity, other images, or no cache at all: computed again.
    ev.evaluate_methods({"nn": (method, "nn-v2")}, ["sample"], [2], limit=1, cache_dir=tmp_path)
    assert len(calls) == 3
    ev.evaluate_methods({"nn": (method, "nn-v1")}, ["sample"], [2], limit=2, cache_dir=tmp_path)
    assert len(calls) == 5
    ev.evaluate_methods({"nn": (method, "nn-v1")}, ["sample"], [3], limit=1, cache_dir=None)
    assert len(calls) == 6


def test_per_method_scales_and_stlpips_only_where_asked(tmp_path):
    methods = {"a": ("bicubic", "bicubic"), "b": ("bicubic", "bicubic")}
    rows = ev.evaluate_methods(methods, ["sample"], {"a": [2, 4], "b": [4]}, limit=1, stlpips_scales=[4],
                               cache_dir=tmp_path)
    assert [(r["method"], r["scale"]) for r in rows] == [("a", 2), ("a", 4), ("b", 4)]
    assert math.isnan(rows[0]["stlpips"]) and 0 < rows[1]["stlpips"] < 1
    assert rows[1]["stlpips"] == rows[2]["stlpips"]  # same identity: the second is a cache hit
