"""Property-based: text from data shows as text on the site, whatever Markdown or HTML it holds.

Pages are converted with Python-Markdown and the extensions of the shipped mkdocs.yml, as MkDocs
does. Two properties: the HTML has the same tags as a build whose text is plain (data cannot add a
<script>, a table cell or emphasis), and the text itself is on the page, unchanged.
"""

from __future__ import annotations

import copy
import functools
from html.parser import HTMLParser
from typing import Any

import markdown
import yaml
from hypothesis import example, given, settings
from hypothesis import strategies as st

from reportgen.render import PAGES, render_pages
from reportgen.site import PROJECT_ROOT
from tests.conftest import make_results

EXAMPLES = settings(max_examples=30, deadline=None)

# Pieces that mean something to Markdown, HTML or the templates, plus ordinary text.
PIECES = [
    "<script>",
    "</script>",
    "<b>",
    "<",
    ">",
    "&",
    "&amp;",
    "&#60;",
    "|",
    "*",
    "**",
    "#",
    "_",
    "`",
    "``",
    "[",
    "](",
    ")",
    "!",
    "{",
    "}",
    "\\",
    "~",
    "-",
    "+",
    "1.",
    ":",
    '"',
    "'",
    "$",
    " ",
    "  ",
    "\n",
    "a",
    "Zz",
    "é",
    "σ",
    "2",
    "!!! note",
]
DATA_TEXT = st.lists(st.sampled_from(PIECES), min_size=1, max_size=12).map("".join)
# Class names as medmnist.INFO has them: no surrounding blanks, no line breaks.
CLASS_NAME = DATA_TEXT.map(lambda text: " ".join(text.split())).filter(bool)
# Paths and command lines: every line holds something. A fenced code block drops blank edge lines,
# so a text that is only line breaks (hypothesis found "\n") has no same-shape plain twin to compare.
PATH_TEXT = DATA_TEXT.filter(lambda text: all(line.strip() for line in text.split("\n")))


@functools.cache
def _markdown() -> markdown.Markdown:
    entries = yaml.safe_load((PROJECT_ROOT / "mkdocs.yml").read_text())["markdown_extensions"]
    names = [entry if isinstance(entry, str) else next(iter(entry)) for entry in entries]
    configs = {
        next(iter(entry)): next(iter(entry.values()))
        for entry in entries
        if isinstance(entry, dict)
    }
    return markdown.Markdown(extensions=names, extension_configs=configs)


class _Page(HTMLParser):
    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.texts: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if (
            tag != "span"
        ):  # Pygments wraps the tokens of a code block in spans: they follow its text
            self.tags.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag != "span":
            self.tags.append(f"/{tag}")

    def handle_data(self, data: str) -> None:
        self.texts.append(data)

    @property
    def text(self) -> str:
        return " ".join(" ".join(self.texts).split())


def _site_pages(results: dict[str, Any]) -> dict[str, _Page]:
    converter = _markdown()
    return {
        name: _Page(converter.reset().convert(text)) for name, text in render_pages(results).items()
    }


def _shown(text: str) -> str:
    return " ".join(text.split())


@functools.cache
def _plain_class_pages() -> dict[str, _Page]:
    return _site_pages(make_results(class_names=[f"class {k}" for k in range(7)]))


@EXAMPLES
@given(st.lists(CLASS_NAME, min_size=7, max_size=7, unique=True))  # DermaMNIST's 7, study table too
def test_class_names_render_as_text(names: list[str]) -> None:
    pages = _site_pages(make_results(class_names=names))
    plain = _plain_class_pages()
    for page in PAGES:
        assert pages[page].tags == plain[page].tags, page
    for name in names:
        assert _shown(name) in pages["results.md"].text, name


@functools.cache
def _plain_results() -> dict[str, Any]:
    return make_results()


def _with_data_text(text: str) -> dict[str, Any]:
    """Results whose user-supplied text (data path, command line) is text."""
    results = copy.deepcopy(_plain_results())
    results["dataset"]["file"] = text
    results["config"]["data_root"] = text
    results["command"] = text
    results["rebuild_command"] = text
    return results


@functools.cache
def _plain_data_pages(lines: int) -> dict[str, _Page]:
    """The pages with a plain path and command line of this many lines: code blocks get one
    line-number anchor (<a>) per line, so a text is compared with as many plain lines."""
    return _site_pages(_with_data_text("\n".join("plain" for _ in range(lines))))


@EXAMPLES
@given(PATH_TEXT)
@example("&#")  # in a code span, once swallowed the page's text up to its next inline HTML
def test_paths_and_command_lines_render_as_text(text: str) -> None:
    pages = _site_pages(_with_data_text(text))
    plain = _plain_data_pages(len(text.split("\n")))
    for page in PAGES:
        assert pages[page].tags == plain[page].tags, page
    assert _shown(text) in pages["reproducibility.md"].text
