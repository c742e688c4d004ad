"""HTML renderings of an executed notebook for readers: a table of contents, and a version without code.

``reproduce run`` writes two files per notebook: ``<name>.html`` (every cell,
as executed) and ``<name>.reader.html`` (the narrative, tables and figures
only: code cells hidden, their outputs kept), both opening with a table of
contents that links every section heading (``##`` and ``###``) of the
notebook. The links point at the ids nbconvert gives the headings, read from
the rendered page itself, so they cannot drift from it.
"""
from __future__ import annotations

import html as html_lib
import re

_HEADING = re.compile(r'<h([23]) id="([^"]+)"[^>]*>(.*?)</h\1>', re.S)
_TAGS = re.compile(r"<[^>]+>")


def contents(page: str) -> list[tuple[int, str, str]]:
    """The section headings of a rendered page: (level 2 or 3, id, text), in order."""
    out = []
    for level, anchor, inner in _HEADING.findall(page):
        text = html_lib.unescape(_TAGS.sub("", inner)).replace("¶", "").strip()
        out.append((int(level), anchor, text))
    return out


def with_contents(page: str) -> str:
    """``page`` with a table of contents inserted at the top of its body (unchanged if it has no sections)."""
    entries = contents(page)
    if not entries:
        return page
    items = "\n".join(f'<li class="toc-h{level}"><a href="#{anchor}">{html_lib.escape(text)}</a></li>'
                      for level, anchor, text in entries)
    nav = ('<nav id="contents" style="margin:1em 2em;padding:0.5em 1em;border:1px solid #ccc;max-width:60em">'
           '<strong>Contents</strong><ul style="margin:0.3em 0">\n' + items + "\n</ul></nav>\n"
           "<style>.toc-h3{margin-left:1.5em;font-size:0.95em}</style>\n")
    match = re.search(r"<body[^>]*>", page)
    if match is None:
        raise ValueError("not an HTML page: no <body> tag")
    return page[:match.end()] + "\n" + nav + page[match.end():]


def render(notebook, hide_code: bool = False) -> str:
    """An executed notebook (nbformat node) as one HTML page with a table of contents.

    ``hide_code``: leave out code cells' inputs and prompts (the reader's
    version); markdown, tables, figures and printed output stay.
    """
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(exclude_input=hide_code, exclude_input_prompt=hide_code, exclude_output_prompt=hide_code)
    page, _ = exporter.from_notebook_node(notebook)
    return with_contents(page)
