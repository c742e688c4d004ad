"""Multi-method evaluation with the on-disk score cache."""
import math

import reproduce.evaluate as ev


def test_scores_are_cached_per_identity_and_reused(tmp_path, monkeypatch):
    calls = []
    real = ev.evaluate

    def counting(method, sets, scales, **kw):
        calls.append((list(sets), list(scales), bool(kw.get("extra_metrics"))))
        return real(method, sets, scales, **kw)

    monkeypatch.setattr(ev, "evaluate", counting)
    methods = {"bicubic": ("bicubic", "bicubic")}
    first = ev.evaluate_methods(methods, ["sample"], [2, 3], limit=1, cache_dir=tmp_path)
    assert len(calls) == 2 and all(math.isnan(r["stlpips"]) for r in first)
    again = ev.evaluate_methods(methods, ["sample"], [2, 3], limit=1, cache_dir=tmp_path)
    def strip(rows):
        return [{k: v for k, v in r.items() if k != "stlpips"} for r in rows]
    assert len(calls) == 2 and strip(again) == strip(first)  # read back from the cache
    ev.evaluate_methods({"bicubic": ("bicubic", "bicubic-v2")}, ["sample"], [2], limit=1, cache_dir=tmp_path)
    ev.evaluate_methods(methods, ["sample"], [2], limit=2, cache_dir=tmp_path)  # other images: another key
    assert len(calls) == 4


def test_per_method_scales_and_stlpips_only_where_asked(tmp_path):
    methods = {"a": ("bicubic", "bicubic"), "b": ("bicubic", "bicubic")}
    rows = ev.evaluate_methods(methods, ["sample"], {"a": [2, 4], "b": [4]}, limit=1, stlpips_scales=[4],
                               cache_dir=tmp_path)
    assert [(r["method"], r["scale"]) for r in rows] == [("a", 2), ("a", 4), ("b", 4)]
    assert math.isnan(rows[0]["stlpips"]) and 0 < rows[1]["stlpips"] < 1
    assert rows[1]["stlpips"] == rows[2]["stlpips"]  # same identity: the second is a cache hit
