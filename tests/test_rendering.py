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
    assert dom.find(string=lambda s: "42" in s) is not None  # outputs stay in both


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
