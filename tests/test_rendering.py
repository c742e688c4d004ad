"""The reader renderings: a table of contents whose links resolve, and a version without code (DOM checks)."""
from __future__ import annotations

import nbformat
import pytest
from bs4 import BeautifulSoup

from reproduce.rendering import contents, render, with_contents


def _notebook():
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# 99 · A title\n\nThe question."),
        nbformat.v4.new_code_cell("secret_code_line = 41 + 1\nprint(secret_code_line)",
                                  outputs=[nbformat.v4.new_output("stream", name="stdout", text="42\n")], execution_count=1),
        nbformat.v4.new_markdown_cell("## First section\n\nText."),
        nbformat.v4.new_markdown_cell("### A sub-section, with *emphasis*"),
        nbformat.v4.new_markdown_cell("## Closing: what we found"),
    ]
    return nb


@pytest.mark.parametrize("hide_code", [False, True])
def test_contents_link_every_section_to_an_existing_anchor(hide_code):
    dom = BeautifulSoup(render(_notebook(), hide_code=hide_code), "html.parser")
    nav = dom.find("nav", id="contents")
    assert nav is not None and nav.find_parent("body") is not None
    links = [(a["href"], a.get_text()) for a in nav.find_all("a")]
    assert [text for _, text in links] == ["First section", "A sub-section, with emphasis", "Closing: what we found"]
    for href, _ in links:
        assert href.startswith("#") and dom.find(id=href[1:]) is not None, href
    assert any(pre.get_text().strip() == "42" for pre in dom.find_all("pre"))  # the printed output stays in both


def test_reader_version_hides_code_but_keeps_outputs():
    full, reader = render(_notebook()), render(_notebook(), hide_code=True)
    assert "secret_code_line" in BeautifulSoup(full, "html.parser").get_text()
    assert "secret_code_line" not in BeautifulSoup(reader, "html.parser").get_text()
    assert "The question." in BeautifulSoup(reader, "html.parser").get_text()


def test_pages_without_sections_are_left_alone_and_non_pages_refused():
    page = "<html><body><h1 id='t'>Only a title</h1></body></html>"
    assert with_contents(page) == page and contents(page) == []
    with pytest.raises(ValueError, match="no <body>"):
        with_contents('<h2 id="x">x</h2>')


def test_markdown_table_marks_the_best_value_within_groups():
    import pandas as pd

    from reproduce.report import markdown_table

    df = pd.DataFrame({"scale": [4, 4, 8, 8], "method": ["A", "B", "A", "B"], "psnr": [30.0, 31.0, 25.0, 24.5],
                       "stlpips": [0.2, 0.3, 0.41, 0.4]})
    lines = markdown_table(df, ".2f", best={"psnr": "max", "stlpips": "min"}, within=["scale"]).splitlines()[2:]
    assert lines[0] == "| 4 | A | 30.00 | **0.20** |" and lines[1] == "| 4 | B | **31.00** | 0.30 |"
    assert lines[2] == "| 8 | A | **25.00** | 0.41 |" and lines[3] == "| 8 | B | 24.50 | **0.40** |"
    overall = markdown_table(df, ".2f", best={"psnr": "max"}).splitlines()[2:]
    assert sum("**" in line for line in overall) == 1 and "**31.00**" in overall[1]
    with pytest.raises(ValueError, match="max' or 'min"):
        markdown_table(df, best={"psnr": "highest"})


def test_figures_carry_provenance_in_png_metadata(tmp_path):
    import json

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from PIL import Image

    from reproduce.report import Run, save_figure

    fig, ax = plt.subplots()
    ax.plot([0, 1])
    path = save_figure(fig, "probe", tmp_path, run=Run("99_probe", "smoke"))
    text = Image.open(path).text
    info = json.loads(text["Comment"])
    assert "99_probe" in text["Source"] and info["notebook"] == "99_probe" and "commit" in info and "device" in info


def test_saved_tables_carry_their_caption_and_marks(tmp_path):
    import pandas as pd

    from reproduce.report import Run, save_table

    df = pd.DataFrame({"method": ["A", "B"], "psnr": [30.0, 31.0]})
    save_table(df, "t", tmp_path, Run("99_probe", "smoke"), caption="**Ours**, on 2 images; paper: none.", best={"psnr": "max"})
    md = (tmp_path / "t.md").read_text()
    assert md.startswith("**Ours**, on 2 images; paper: none.") and "**31.000**" in md and "99_probe" in md
    assert list(pd.read_csv(tmp_path / "t.csv")["psnr"]) == [30.0, 31.0]  # the CSV holds the plain numbers


def test_saved_tables_stamp_their_duration_without_changing_the_run_record(tmp_path):
    """A table's provenance gets the run's age; ``run.info``, which notebooks pass on as the
    provenance of score tables, does not keep that age (it would be stale there)."""
    import json

    import pandas as pd

    from reproduce.report import Run, save_table

    run = Run("99_probe", "smoke")
    save_table(pd.DataFrame({"psnr": [30.0]}), "t", tmp_path, run)
    assert json.loads((tmp_path / "t.provenance.json").read_text())["duration_s"] >= 0
    assert "duration_s" not in run.info and run.finish()["notebook"] == "99_probe"


def test_drop_table_removes_a_saved_table_and_only_it(tmp_path):
    import pandas as pd

    from reproduce.report import Run, drop_table, save_table

    run = Run("99_probe", "smoke")
    save_table(pd.DataFrame({"psnr": [30.0]}), "gone", tmp_path, run)
    save_table(pd.DataFrame({"psnr": [31.0]}), "kept", tmp_path, run)
    removed = drop_table("gone", tmp_path)
    assert sorted(p.name for p in removed) == ["gone.csv", "gone.md", "gone.provenance.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept.csv", "kept.md", "kept.provenance.json"]
    assert drop_table("gone", tmp_path) == []  # nothing left to remove is no error
