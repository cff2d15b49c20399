"""Rendered Markdown: snapshots from fixed results, escaping of data text, per-dataset wording."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from reportgen.render import PAGES, escape_markdown, render_pages
from tests.conftest import make_results

SNAPSHOTS = Path(__file__).parent / "snapshots"
UPDATE_HINT = "If the change is intended, refresh with: REPORTGEN_UPDATE_SNAPSHOTS=1 python -m pytest tests/test_render.py"


@pytest.mark.parametrize("page", list(PAGES))
def test_pages_match_snapshots(page: str) -> None:
    rendered = render_pages(make_results())[page]
    snapshot = SNAPSHOTS / page
    if os.environ.get("REPORTGEN_UPDATE_SNAPSHOTS"):
        snapshot.parent.mkdir(exist_ok=True)
        snapshot.write_text(rendered)
    assert rendered == snapshot.read_text(), UPDATE_HINT


def test_html_and_markdown_in_class_names_render_as_text() -> None:
    names = ["<script>alert(1)</script>", "a | b", "*bold*", "# heading", "under_score", "ok", "[link](x)"]
    pages = render_pages(make_results(class_names=names))
    results_page = pages["results.md"]
    assert "<script>" not in results_page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in results_page
    assert r"| a \| b |" in results_page
    assert r"\*bold\*" in results_page and r"\# heading" in results_page
    assert r"\[link\](x)" in results_page


def test_escape_markdown_leaves_plain_text_alone() -> None:
    assert escape_markdown("melanocytic nevi") == "melanocytic nevi"
    assert escape_markdown("0.838") == "0.838"


def test_other_datasets_never_name_dermamnist_and_official_files_carry_no_warning() -> None:
    pages = render_pages(make_results(flag="retinamnist", official=True))
    for name, text in pages.items():
        body = text.split("## The MedMNIST collection")[0]
        assert "DermaMNIST" not in body and "dermamnist" not in body, name
        assert "RetinaMNIST" in text, name
        assert "Unofficial" not in text and '!!! info "Data: RetinaMNIST"' in text, name
    assert "The study vs this run" not in pages["index.md"]


def test_dermamnist_dataset_page_names_its_origin_and_split() -> None:
    page = render_pages(make_results())["dataset.md"]
    assert "HAM10000" in page and "10,015" in page and "7:1:2" in page
    assert "12 2D and 6 3D" in page
