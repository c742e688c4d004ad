"""Figures that draw training logs: every run gets its row, with the logged points."""
import matplotlib

matplotlib.use("Agg")

from reproduce.figures import training_curves, training_curves_grid  # noqa: E402


def _log(n, val_every=2):
    return [{"step": s, "loss": 1.0 / s} for s in range(1, n + 1)] + \
           [{"step": s, "val_psnr": 20 + s / 10} for s in range(val_every, n + 1, val_every)]


def test_training_curves_grid_has_a_row_per_run_with_its_points():
    fig = training_curves_grid({"A": _log(10), "B": _log(6, val_every=3)}, "t")
    axes = fig.axes
    assert len(axes) == 4
    loss_a, val_a, loss_b, val_b = axes
    assert len(loss_a.lines[0].get_xdata()) == 10 and len(val_b.lines[0].get_xdata()) == 2
    assert val_a.lines[0].get_ydata()[-1] == 21.0 and "B" in loss_b.get_ylabel()


def test_training_curves_single_run():
    fig = training_curves(_log(4), "one")
    assert len(fig.axes) == 2 and fig.axes[0].get_yscale() == "log"


def test_difference_vs_scale_draws_each_set_in_its_colour():
    import pandas as pd
    from matplotlib.colors import to_hex

    from reproduce.figures import METHOD_COLOURS, SET_COLOURS, difference_vs_scale

    assert not set(SET_COLOURS.values()) & set(METHOD_COLOURS.values())
    diffs = pd.DataFrame({"set": ["Urban100", "Urban100", "Set5", "Set5"], "scale": [2.0, 4.0, 2.0, 4.0],
                          "delta": [0.5, 0.3, 0.4, 0.2], "ci_low": [0.4, 0.2, 0.3, 0.1], "ci_high": [0.6, 0.4, 0.5, 0.3]})
    fig = difference_vs_scale(diffs, "gain", paper={2.0: 0.1})
    lines = {c.get_label(): to_hex(c.lines[0].get_color()) for c in fig.axes[0].containers}  # one errorbar per set
    assert lines["Urban100"] == SET_COLOURS["Urban100"] and lines["Set5"] == SET_COLOURS["Set5"]


def test_delta_vs_scale_draws_ours_and_the_paper_with_the_paired_seeds_in_the_legend():
    import matplotlib.pyplot as plt
    import pandas as pd

    from reproduce.figures import delta_vs_scale
    effects = pd.DataFrame({"method": ["LIIF-c"] * 3, "set": ["Kodak24"] * 3, "scale": [2.0, 2.5, 30.0],
                            "paired_seeds": [1, 1, 1], "delta": [0.01, 0.0, 0.01], "ci_low": [-0.01, -0.01, -0.01],
                            "ci_high": [0.02, 0.01, 0.03], "paper_delta": [-0.14, float("nan"), 0.03]})
    fig = delta_vs_scale(effects, "Kodak24", ["LIIF-c", "LIIF-e"])  # an arm without rows is left out
    ax = fig.axes[0]
    assert len(fig.axes) == 1 and [t.get_text() for t in ax.get_xticklabels()] == ["x2", "x2.5", "x30"]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "ours (95 % CI, 1 paired seed)" in labels and "paper (DIV2K)" in labels
    paper = [line for line in ax.get_lines() if line.get_label() == "paper (DIV2K)"][0]
    assert list(paper.get_xdata()) == [2.0, 30.0]  # the scale without a paper number is not drawn
    plt.close(fig)
