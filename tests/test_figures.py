"""Figures readable without telling colours apart, and drawn without changing global settings."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import matplotlib.figure
import numpy as np
import pytest

from reportgen.figure_plan import FIGURE_SOURCES, shared_limits
from reportgen.figures import plot_class_prevalence, plot_roc_curves
from tests.conftest import reportgen_imports


@pytest.fixture()
def drawn(monkeypatch: pytest.MonkeyPatch) -> list[matplotlib.figure.Figure]:
    """Each figure saved during the test, in order, kept open for inspection."""
    saved: list[matplotlib.figure.Figure] = []
    real_savefig = matplotlib.figure.Figure.savefig

    def savefig(self: matplotlib.figure.Figure, *args: object, **kwargs: object) -> None:
        saved.append(self)
        real_savefig(self, *args, **kwargs)

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", savefig)
    return saved


def test_roc_curves_tell_classes_apart_by_line_and_marker_and_leave_rcparams_alone(
    tmp_path: Path, drawn: list[matplotlib.figure.Figure]
) -> None:
    font_size = matplotlib.rcParams["font.size"]
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(7), 10)
    probabilities = rng.dirichlet(np.ones(7), 70)
    path = plot_roc_curves(labels, probabilities, list("abcdefg"), [0.6] * 7, tmp_path / "roc.png")
    assert path.is_file()
    curves = [line for line in drawn[0].axes[0].get_lines() if line.get_label() != "chance"]
    assert len(curves) == 7
    # Seven classes, seven markers (and line styles): none is known by its colour alone.
    assert len({line.get_marker() for line in curves}) == 7
    assert drawn[0].axes[0].title.get_fontsize() > 12  # STYLE's larger text applied...
    assert matplotlib.rcParams["font.size"] == font_size  # ...inside its own context only


def test_class_prevalence_tells_the_splits_apart_by_hatching(
    tmp_path: Path, drawn: list[matplotlib.figure.Figure]
) -> None:
    counts = {"train": [50, 30, 20], "val": [5, 3, 2], "test": [10, 6, 4]}
    plot_class_prevalence(counts, ["a", "b", "c"], tmp_path / "prevalence.png")
    bars = drawn[0].axes[0].containers
    assert [bar.get_label() for bar in bars] == ["train", "val", "test"]
    hatches = [{patch.get_hatch() or "" for patch in bar.patches} for bar in bars]
    assert all(len(hatch) == 1 for hatch in hatches)  # one pattern per split...
    assert len({hatch.pop() for hatch in hatches}) == 3  # ...and a different one for each


def test_of_two_classes_the_roc_figure_draws_the_second_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    drawn: list[matplotlib.figure.Figure] = []
    monkeypatch.setattr(
        matplotlib.figure.Figure, "savefig", lambda self, *a, **kw: drawn.append(self)
    )
    labels = np.repeat([0, 1], 20)
    probabilities = np.random.default_rng(1).dirichlet(np.ones(2), 40)
    plot_roc_curves(labels, probabilities, ["normal", "pneumonia"], [0.7, 0.7], tmp_path / "r.png")
    curves = [line.get_label() for line in drawn[0].axes[0].get_lines()]
    assert curves == ["pneumonia (AUC 0.700)", "chance"]


def test_shared_limits_hold_every_finite_value_within_bounds() -> None:
    assert shared_limits([0.2, 0.4]) == pytest.approx((0.19, 0.41))
    assert shared_limits([0.0, 1.0], 0.0, 1.0) == (0.0, 1.0)  # the margin stays within bounds
    assert shared_limits([0.5, float("nan"), 0.7]) == pytest.approx((0.49, 0.71))
    assert shared_limits([float("inf")]) is None  # nothing to scale by: each figure fits its own
    assert shared_limits([0.3, 0.3]) == pytest.approx((0.25, 0.35))  # a flat curve still gets room


@pytest.mark.parametrize(("validated", "named"), [((0.31, 0.86), True), ((0.6, 0.95), False)])
def test_referral_points_close_together_are_named_beside_the_curve(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, validated: tuple[float, float], named: bool
) -> None:
    from reportgen.figures import plot_referral_roc

    drawn: list[matplotlib.figure.Figure] = []
    monkeypatch.setattr(
        matplotlib.figure.Figure, "savefig", lambda self, *a, **kw: drawn.append(self)
    )
    labels = np.repeat(np.arange(5), 8)
    probabilities = np.random.default_rng(2).dirichlet(np.ones(5), 40)
    plot_referral_roc(
        labels,
        probabilities,
        [2, 3, 4],
        "referable",
        0.7,
        (0.3, 0.85),
        tmp_path / "r.png",
        validated,
    )
    texts = [text.get_text() for text in drawn[0].axes[0].texts]
    assert texts == (["own decision", "validation threshold"] if named else [])


def test_the_figures_digest_covers_every_module_that_draws_them() -> None:
    """A change to code that draws or computes a figure (a legend's rounding, an axis label's
    wording) must redraw it, not reuse the earlier build's PNG."""
    not_digested = {"errors.py"}  # message text only
    assert reportgen_imports("figure_plan.py") - not_digested == set(FIGURE_SOURCES)
    assert len(set(FIGURE_SOURCES)) == len(FIGURE_SOURCES)
