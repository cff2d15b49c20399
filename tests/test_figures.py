"""Figures readable without telling colours apart, and drawn without changing global settings."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from pathlib import Path

import matplotlib
import matplotlib.figure
import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg

from reportgen.figure_plan import FIGURE_SOURCES, shared_limits
from reportgen.figures import SAMPLE_GUTTER, plot_class_prevalence, sample_mosaic
from reportgen.line_charts import plot_roc_curves
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
    # 0.6675 (an AUC of 267 pairs out of 400) rounds half up, as the per-class table shows it;
    # Python's :.3f gives 0.667, the float below it.
    plot_roc_curves(
        labels, probabilities, ["normal", "pneumonia"], [0.6675, 0.6675], tmp_path / "r.png"
    )
    curves = [line.get_label() for line in drawn[0].axes[0].get_lines()]
    assert curves == ["pneumonia (AUC 0.668)", "chance"]


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
    from reportgen.line_charts import plot_referral_roc

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


@pytest.mark.parametrize("phone", [False, True], ids=["wide", "phone"])
@pytest.mark.parametrize(
    ("decision", "validated"),
    [((0.0, 1.0), (0.0, 0.92)), ((0.02, 0.97), (0.05, 0.99)), ((0.3, 0.85), (0.31, 0.86))],
    ids=["top-left-corner", "near-the-corner", "mid-curve"],
)
def test_referral_point_names_cover_neither_point_nor_each_other(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    decision: tuple[float, float],
    validated: tuple[float, float],
    phone: bool,
) -> None:
    """A near-perfect classifier puts both points at the top left, where the name placed above
    left of a point would run off the axes and onto the ring."""
    from matplotlib.text import Text

    from reportgen.line_charts import plot_referral_roc

    drawn: list[matplotlib.figure.Figure] = []
    monkeypatch.setattr(
        matplotlib.figure.Figure, "savefig", lambda self, *a, **kw: drawn.append(self)
    )
    labels = np.repeat(np.arange(5), 8)
    probabilities = np.eye(5)[labels] * 0.9 + 0.02
    plot_referral_roc(
        labels, probabilities, [2, 3, 4], "referable", 0.99, decision, tmp_path / "r.png",
        validated, phone=phone,
    )  # fmt: skip
    figure = drawn[0]
    canvas = FigureCanvasAgg(figure)  # the figure was closed once saved
    canvas.draw()
    ax, renderer = figure.axes[0], canvas.get_renderer()
    names = [Text.get_window_extent(text, renderer) for text in ax.texts]  # not their lines
    markers = {line.get_label(): line for line in ax.lines}  # the triangle shows in the ring
    ring = markers["the model's own decision"]
    assert markers["threshold set on validation"].get_zorder() > ring.get_zorder()
    assert len(names) == 2 and not names[0].overlaps(names[1])
    frame = ax.get_window_extent(renderer)
    reach = 8 * figure.dpi / 72  # the ring's radius (markersize 13) and a little more
    for box in names:
        assert (
            frame.x0 <= box.x0 and box.x1 <= frame.x1 and frame.y0 <= box.y0 <= box.y1 <= frame.y1
        )
        for point in (decision, validated):
            x, y = ax.transData.transform(point)
            assert not box.overlaps(
                matplotlib.transforms.Bbox.from_extents(x - reach, y - reach, x + reach, y + reach)
            )


def test_the_figures_digest_covers_every_module_that_draws_them() -> None:
    """A change to code that draws or computes a figure (a legend's rounding, an axis label's
    wording) must redraw it, not reuse the earlier build's PNG."""
    not_digested = {"errors.py"}  # message text only
    assert reportgen_imports("figure_plan.py") - not_digested == set(FIGURE_SOURCES)
    assert len(set(FIGURE_SOURCES)) == len(FIGURE_SOURCES)


DERMA_NAMES = [
    "actinic keratoses and intraepithelial carcinoma",
    "basal cell carcinoma",
    "benign keratosis-like lesions",
    "dermatofibroma",
    "melanoma",
    "melanocytic nevi",
    "vascular lesions",
]
PHONE_COLUMN = 358  # CSS pixels of Material's content column on a 390-pixel phone
TRAIN_COUNTS = [228, 359, 769, 80, 779, 4693, 99]  # DermaMNIST's


def _draw_wide_and_phone(folder: Path) -> tuple[dict[str, tuple[Path, Path]], tuple]:
    """Each figure that has a phone rendition, drawn both ways from DermaMNIST-sized data, in
    the order prevalence, samples, recall, confusion: ({name: (wide PNG, phone PNG)}, (the
    sample images, their counts, the recall and the confusion counts drawn))."""
    from reportgen.figures import plot_confusion_matrix, plot_recall_by_variant, plot_sample_grid
    from reportgen.phone_figures import (
        plot_class_prevalence_phone,
        plot_confusion_matrix_phone,
        plot_recall_by_variant_phone,
        plot_sample_grid_phone,
    )

    rng = np.random.default_rng(3)
    counts = {"train": TRAIN_COUNTS, "val": [33, 52, 110, 12, 111, 671, 14]}
    images = rng.integers(0, 256, (7, 8, 28, 28, 3), dtype=np.uint8)
    image_counts = np.array([8, 8, 8, 5, 8, 8, 8])
    variants = [f"variant-number-{i}" for i in range(16)]
    recall = rng.random((16, 7)).tolist()
    counts_matrix = rng.integers(0, 1400, (7, 7)).tolist()
    drawn = {
        "prevalence": (
            plot_class_prevalence(counts, DERMA_NAMES, folder / "p.png"),
            plot_class_prevalence_phone(counts, DERMA_NAMES, folder / "p.phone.png"),
        ),
        "samples": (
            plot_sample_grid(images, image_counts, DERMA_NAMES, folder / "s.png"),
            plot_sample_grid_phone(images, image_counts, DERMA_NAMES, folder / "s.phone.png"),
        ),
        "recall": (
            plot_recall_by_variant(variants, recall, DERMA_NAMES, folder / "r.png", 3),
            plot_recall_by_variant_phone(variants, recall, DERMA_NAMES, folder / "r.phone.png", 3),
        ),
        "confusion": (
            plot_confusion_matrix(counts_matrix, DERMA_NAMES, folder / "c.png", False),
            plot_confusion_matrix_phone(counts_matrix, DERMA_NAMES, folder / "c.phone.png", False),
        ),
    }
    return drawn, (images, image_counts, recall, counts_matrix)


def _png_width(path: Path) -> int:
    return int.from_bytes(path.read_bytes()[16:20], "big")


def _smallest_text(figure: matplotlib.figure.Figure) -> float:
    """The smallest font size, in points, of any visible text the figure shows."""
    texts = figure.findobj(lambda artist: isinstance(artist, matplotlib.text.Text))
    return min(
        text.get_fontsize() for text in texts if text.get_text().strip() and text.get_visible()
    )


def test_phone_renditions_keep_their_text_readable_in_a_phone_column(
    tmp_path: Path, drawn: list[matplotlib.figure.Figure]
) -> None:
    from reportgen.figures import DPI
    from reportgen.phone_figures import PHONE_DENSITY

    figures, _ = _draw_wide_and_phone(tmp_path)
    assert len(drawn) == 2 * len(figures)
    for index, (name, (wide, phone)) in enumerate(figures.items()):
        # A rendition is shown at 1/PHONE_DENSITY of its pixels, as the page's srcset says.
        shrink = min(1.0, PHONE_COLUMN / (_png_width(phone) / PHONE_DENSITY))
        assert shrink >= 0.75, name  # it nearly fits the column as drawn...
        assert PHONE_COLUMN / _png_width(wide) < 0.5, name  # ...the wide figure shrinks by half
        # Its smallest text, in CSS pixels on the phone: 10 or more.
        assert _smallest_text(drawn[2 * index + 1]) * DPI / 72 * shrink >= 10, name


def test_phone_renditions_show_the_same_data(
    tmp_path: Path, drawn: list[matplotlib.figure.Figure]
) -> None:
    from reportgen.phone_figures import NAME_BAND, SAMPLE_COLUMNS

    _, (images, image_counts, recall, counts_matrix) = _draw_wide_and_phone(tmp_path)
    prevalence, samples, heat_map, confusion = drawn[1], drawn[3], drawn[5], drawn[7]
    # Prevalence: a bar per class and split, every class named above its bars (the longest
    # name shortened).
    bars = prevalence.axes[0].containers
    assert [bar.get_label() for bar in bars] == ["train", "val"]
    expected_shares = 100 * np.array(TRAIN_COUNTS) / sum(TRAIN_COUNTS)
    assert bars[0].datavalues == pytest.approx(expected_shares)
    named = [text.get_text() for text in prevalence.axes[0].texts]
    assert named[1:] == DERMA_NAMES[1:] and named[0].endswith("…")
    # Samples: each class's images under its name, 4 to a row.
    assert np.array_equal(
        samples.axes[0].images[0].get_array(),
        sample_mosaic(images, image_counts, SAMPLE_COLUMNS, NAME_BAND)[0],
    )
    named = [text.get_text() for text in samples.axes[0].texts]
    assert named[1:] == DERMA_NAMES[1:] and named[0].endswith("…")
    # Recall: every value written in its cell, variant by variant.
    texts = [text.get_text() for text in heat_map.axes[0].texts]
    cells = [text for text in texts if re.fullmatch(r"[01]\.\d\d", text)]
    assert cells == [f"{value:.2f}" for row in recall for value in row]
    # 16 rows: the columns are named below the cells too, above the colour bar; the 7-row
    # confusion matrix names them on top only (from 8 rows it would name them below as well).
    heat_axes, colour_bar = heat_map.axes[0], heat_map.axes[-1]
    [below] = heat_axes.child_axes
    on_top = [label.get_text() for label in heat_axes.get_xticklabels()]
    assert [label.get_text() for label in below.get_xticklabels()] == on_top
    assert on_top[4] == "melanoma"
    renderer = FigureCanvasAgg(heat_map).get_renderer()  # the drawn figure is closed
    assert colour_bar.get_tightbbox(renderer).y1 < below.get_tightbbox(renderer).y0
    assert confusion.axes[0].child_axes == []

    # Confusion counts: each row under its numbered class name, the columns numbered alike.
    texts = [text.get_text() for text in confusion.axes[0].texts]
    assert texts[0] == "1  actinic keratoses and intr…" and texts[8] == "2  basal cell carcinoma"
    assert [texts[8 * i + 1 : 8 * i + 8] for i in range(7)] == [
        [str(value) for value in row] for row in counts_matrix
    ]
    labels = [label.get_text() for label in confusion.axes[0].get_xticklabels()]
    assert labels == ["1", "2", "3", "4", "5", "6", "7"]


def test_labels_below_a_phone_heat_map_leave_its_rows_their_height(
    tmp_path: Path, drawn: list[matplotlib.figure.Figure], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The labels below the cells and the colour bar's gap come on top of the figure's height,
    not out of its rows: each row's name keeps the room above its cells."""
    from reportgen import phone_figures

    recall = np.random.default_rng(5).random((16, 7)).tolist()
    variants = [f"variant-{i}" for i in range(16)]
    plot = phone_figures.plot_recall_by_variant_phone
    plot(variants, recall, DERMA_NAMES, tmp_path / "below.png", 3)
    monkeypatch.setattr(phone_figures, "LABELS_BELOW_FROM_ROWS", 100)
    plot(variants, recall, DERMA_NAMES, tmp_path / "top-only.png", 3)

    def row_inches(figure: matplotlib.figure.Figure) -> float:
        ax = figure.axes[0]
        bottom, top = ax.get_ylim()
        return ax.get_position().height * figure.get_figheight() / abs(bottom - top)

    with_labels, without = drawn
    assert len(with_labels.axes[0].child_axes) == 1 and without.axes[0].child_axes == []
    assert row_inches(with_labels) == pytest.approx(row_inches(without), rel=0.01)
    assert with_labels.get_figheight() > without.get_figheight() + 1  # the slanted names' room


def test_the_sample_mosaic_leaves_bands_gutters_and_missing_images_blank() -> None:
    images = np.arange(2 * 3 * 2 * 2).reshape(2, 3, 2, 2, 1).astype(np.uint8)  # all below 255
    mosaic, tops = sample_mosaic(images, np.array([3, 2]), columns=2, band=1)
    cell = 2 + SAMPLE_GUTTER
    assert tops == [0, 1 + 2 * cell]  # a band and two rows of images per class
    assert mosaic.shape == (2 * (1 + 2 * cell) - SAMPLE_GUTTER, 2 * cell - SAMPLE_GUTTER, 1)
    for k, s, row, column in [(0, 0, 0, 0), (0, 1, 0, 1), (0, 2, 1, 0), (1, 1, 0, 1)]:
        y, x = tops[k] + 1 + row * cell, column * cell
        assert np.array_equal(mosaic[y : y + 2, x : x + 2], images[k, s]), (k, s)
    assert (mosaic[tops[1] + 1 + cell :] == 255).all()  # the second class has 2 images: 1 row
    assert (mosaic[tops[1]] == 255).all() and (mosaic[:, 2:cell] == 255).all()  # band, gutter
    assert (mosaic < 255).sum() == 5 * 4  # five images of four pixels, nothing else


def test_the_reliability_legend_hides_no_bin(
    tmp_path: Path, drawn: list[matplotlib.figure.Figure]
) -> None:
    """A bin's bar and dot can reach anywhere in the plot (a well-calibrated 0.5-0.6 bin right
    under an upper-left legend, say), so the legend sits below the figure's axes."""
    from reportgen.line_charts import plot_reliability_diagram

    bins = [
        {"low": k / 10, "high": (k + 1) / 10, "count": 10, "accuracy": 0.95, "confidence": k / 10}
        for k in range(10)
    ]
    plot_reliability_diagram({"bins": bins, "ece": 0.1}, tmp_path / "reliability.png")
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    figure = drawn[0]
    renderer = FigureCanvasAgg(figure).get_renderer()  # closed after saving: draw it again
    [legend] = figure.legends
    assert {text.get_text() for text in legend.get_texts()} == {
        "accuracy in bin",
        "accuracy at the bin's mean confidence",
        "perfect calibration",
    }
    legend_top = legend.get_window_extent(renderer).y1
    assert all(legend_top < ax.get_tightbbox(renderer).y0 + 1 for ax in figure.axes)


@pytest.mark.parametrize("normalized", [False, True])
def test_phone_matrix_cells_hold_their_numbers_with_eleven_classes(
    tmp_path: Path, drawn: list[matplotlib.figure.Figure], normalized: bool
) -> None:
    """OrganAMNIST has 11 classes and counts of 5 digits: each cell's number stays in its cell
    (smaller type where it must), not run into its neighbours'."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.patches import Rectangle

    from reportgen.phone_figures import plot_confusion_matrix_phone

    rng = np.random.default_rng(4)
    counts = rng.integers(10000, 99999, (11, 11))
    matrix = (counts / counts.sum(1, keepdims=True)).tolist() if normalized else counts.tolist()
    names = [f"organ {k}" for k in range(11)]
    plot_confusion_matrix_phone(matrix, names, tmp_path / "m.png", normalized)
    figure = drawn[0]
    renderer = FigureCanvasAgg(figure).get_renderer()
    ax = figure.axes[0]
    cells = [
        patch.get_window_extent(renderer) for patch in ax.patches if isinstance(patch, Rectangle)
    ]
    numbers = [
        text for text in ax.texts if text.get_text()[:1].isdigit() and " " not in text.get_text()
    ]
    assert len(cells) == len(numbers) == 121
    for cell, number in zip(cells, numbers, strict=True):
        extent = number.get_window_extent(renderer)
        assert cell.x0 < extent.x0 and extent.x1 < cell.x1, number.get_text()


@pytest.mark.parametrize("dpi", [100, 200], ids=["wide", "phone density"])
def test_saved_figures_are_cropped_as_matplotlibs_tight_crop_would(
    tmp_path: Path, dpi: int
) -> None:
    """save_figure measures the crop itself instead of letting savefig lay the figure out twice;
    the PNG is the same, legend below the axes, slanted labels, colour bar and the line naming
    the data included."""
    import matplotlib.pyplot as plt

    from reportgen.figures import save_figure
    from reportgen.line_charts import plot_reliability_diagram
    from reportgen.phone_figures import plot_recall_by_variant_phone

    def drawn(how: str) -> Path:
        fig, ax = plt.subplots(figsize=(4, 3))
        image = ax.imshow(np.arange(12.0).reshape(3, 4))
        fig.colorbar(image, ax=ax, orientation="horizontal")
        ax.set_xticks(range(4), ["melanocytic nevi", "melanoma", "b", "c"], rotation=50)
        ax.plot([0, 3], [0, 2], label="a legend below")
        fig.legend(loc="upper center", bbox_to_anchor=(0.5, 0.0))
        path = tmp_path / f"{how}.png"
        if how == "ours":
            return save_figure(fig, path, dpi)
        fig.savefig(path, dpi=dpi, bbox_inches="tight")
        plt.close(fig)
        return path

    assert drawn("ours").read_bytes() == drawn("matplotlib").read_bytes()
    # And two of the build's own figures, drawn through save_figure and again with "tight".
    calibration = {
        "ece": 0.05,
        "bins": [
            {"low": k / 10, "high": (k + 1) / 10, "count": k, "accuracy": k / 10,
             "confidence": k / 10 + 0.05}
            for k in range(10)
        ],
    }  # fmt: skip
    recall = np.random.default_rng(0).random((9, 7)).tolist()
    saved = plt.Figure.savefig

    def tight(fig: plt.Figure, path: Path, **kwargs: object) -> None:
        saved(fig, path, **{**kwargs, "bbox_inches": "tight"})

    # The line naming the data, added under everything, is within the crop too.
    for draw in (
        lambda path: plot_reliability_diagram(calibration, path),
        lambda path: plot_reliability_diagram(calibration, path, source="Data: DermaMNIST"),
        lambda path: plot_recall_by_variant_phone(
            [f"v{i}" for i in range(9)], recall, DERMA_NAMES, path, 3, source="Data: X"
        ),
    ):
        ours = draw(tmp_path / "ours.png").read_bytes()
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(plt.Figure, "savefig", tight)
            theirs = draw(tmp_path / "theirs.png").read_bytes()
        assert ours == theirs


def _line_charts(folder: Path) -> dict[str, Callable[[bool], Path]]:
    """Each line chart, drawn from DermaMNIST-sized data, wide (False) or for phones (True)."""
    from reportgen.line_charts import (
        plot_loss_curves,
        plot_metric_curves,
        plot_referral_roc,
        plot_reliability_diagram,
    )

    rng = np.random.default_rng(4)
    history = [
        {f"{split}_{name}": float(value) for split in ("train", "val")
         for name, value in (("loss", 2 / epoch), ("accuracy", 0.6 + epoch / 50),
                             ("auc", 0.7 + epoch / 60))} | {"epoch": epoch}
        for epoch in range(1, 11)
    ]  # fmt: skip
    labels = np.repeat(np.arange(7), 30)
    probabilities = rng.dirichlet(np.ones(7), labels.size)
    calibration = {
        "ece": 0.071,
        "bins": [
            {"low": k / 10, "high": (k + 1) / 10, "count": 100 * k, "accuracy": k / 10,
             "confidence": k / 10 + 0.05}
            for k in range(10)
        ],
    }  # fmt: skip
    return {
        "loss": lambda phone: plot_loss_curves(history, folder / f"l{phone}.png", phone=phone),
        "metrics": lambda phone: plot_metric_curves(history, folder / f"m{phone}.png", phone=phone),
        "roc": lambda phone: plot_roc_curves(
            labels, probabilities, DERMA_NAMES, [0.812] * 7, folder / f"r{phone}.png", phone=phone
        ),
        "referral": lambda phone: plot_referral_roc(
            labels,
            probabilities,
            [0, 1, 4],
            "skin cancer or its precursors",
            0.8,
            (0.3, 0.85),
            folder / f"f{phone}.png",
            (0.32, 0.86),
            phone=phone,
        ),
        "reliability": lambda phone: plot_reliability_diagram(
            calibration, folder / f"c{phone}.png", phone=phone
        ),
    }


def _shown(figure: matplotlib.figure.Figure) -> list[tuple]:
    """What a figure shows as data: each axes' lines, bar heights and texts, and its legends'
    labels."""
    shown: list[tuple] = []
    for ax in figure.axes:
        shown += [(line.get_label(), *map(tuple, line.get_xydata())) for line in ax.get_lines()]
        shown += [tuple(container.datavalues) for container in ax.containers]
        shown += [text.get_text() for text in ax.texts]
    legends = [*figure.legends, *(ax.get_legend() for ax in figure.axes if ax.get_legend())]
    return shown + [sorted(text.get_text() for legend in legends for text in legend.get_texts())]


LEGENDS_BELOW_ON_PHONES = {"roc", "referral", "reliability"}  # the others fit inside the axes


@pytest.mark.parametrize("chart", ["loss", "metrics", "roc", "referral", "reliability"])
def test_line_charts_phone_renditions_show_the_same_data_in_readable_text(
    tmp_path: Path, drawn: list[matplotlib.figure.Figure], chart: str
) -> None:
    from reportgen.figures import DPI
    from reportgen.phone_figures import PHONE_DENSITY

    draw = _line_charts(tmp_path)[chart]
    wide_png, phone_png = draw(False), draw(True)
    wide, phone = drawn
    assert _shown(phone) == _shown(wide)
    # In a phone's column the wide figure's smallest text is under 10 CSS px; the rendition's,
    # shown at half its pixels and three quarters of that or more, is 10 or more.
    wide_shrink = PHONE_COLUMN / _png_width(wide_png)
    assert _smallest_text(wide) * DPI / 72 * wide_shrink < 10
    shrink = min(1.0, PHONE_COLUMN / (_png_width(phone_png) / PHONE_DENSITY))
    assert shrink >= 0.75
    assert _smallest_text(phone) * DPI / 72 * shrink >= 10
    # A legend moved below the axes lies under everything they draw, ticks and labels included
    # (on wide figures too, for the reliability diagram, whose bars fill its axes).
    assert len(phone.legends) == (chart in LEGENDS_BELOW_ON_PHONES)
    assert len(wide.legends) == (chart == "reliability")
    for figure in (wide, phone):
        renderer = FigureCanvasAgg(figure).get_renderer()
        for legend in figure.legends:
            lowest = min(ax.get_tightbbox(renderer).y0 for ax in figure.axes)
            assert legend.get_window_extent(renderer).y1 < lowest


def test_heat_maps_draw_a_missing_value_as_a_grey_dash(
    tmp_path: Path, drawn: list[matplotlib.figure.Figure]
) -> None:
    """A class without test images has no recall and its confusion row no shares (NaN): a dash
    on grey, where numpy's "nan" in white text on the colour map's white cell said nothing."""
    from matplotlib.colors import to_rgba

    from reportgen import metrics
    from reportgen.figures import MISSING_CELL, plot_confusion_matrix, plot_recall_by_variant
    from reportgen.phone_figures import plot_confusion_matrix_phone, plot_recall_by_variant_phone

    names = ["a", "b", "c"]
    shares = metrics.row_normalized(np.array([[3, 1, 0], [0, 0, 0], [1, 0, 1]]))
    assert np.isnan(shares[1]).all() and shares[0] == pytest.approx([0.75, 0.25, 0.0])
    recall = [[0.75, math.nan, 0.5], [0.5, math.nan, 1.0]]
    plot_confusion_matrix(shares.tolist(), names, tmp_path / "c.png", True)
    plot_recall_by_variant(["v", "w"], recall, names, tmp_path / "r.png", 3)
    plot_confusion_matrix_phone(shares.tolist(), names, tmp_path / "c.phone.png", True)
    plot_recall_by_variant_phone(["v", "w"], recall, names, tmp_path / "r.phone.png", 3)
    for figure, missing in zip(drawn, (3, 2, 3, 2), strict=True):
        texts = [text.get_text() for text in figure.axes[0].texts]
        assert texts.count(MISSING_CELL[0]) == missing and "nan" not in texts
    for wide in drawn[:2]:  # the cells imshow leaves out show the axes' grey
        assert wide.axes[0].get_facecolor() == to_rgba(MISSING_CELL[1])


def test_every_figure_names_its_data_under_everything_it_draws(
    tmp_path: Path, drawn: list[matplotlib.figure.Figure]
) -> None:
    """A figure copied out of its page still says which data it shows, and flags an unofficial
    file; the line sits below every axes and legend, covering none of them."""
    from reportgen.figure_plan import experiment_figure_jobs, figure_jobs, figure_source
    from tests.conftest import make_results

    results = make_results("dermamnist", official=False)
    source = figure_source(results["dataset"])
    assert source == "Data: DermaMNIST (unofficial file)"
    assert figure_source(make_results("retinamnist", official=True)["dataset"]) == (
        "Data: RetinaMNIST"
    )
    names = results["dataset"]["class_names"]
    labels = np.repeat(np.arange(len(names)), 4)
    probabilities = np.random.default_rng(0).dirichlet(np.ones(len(names)), len(labels))
    images = np.zeros((len(names), 2, 28, 28, 3), dtype=np.uint8)
    jobs = figure_jobs(results, labels, probabilities, images, np.full(len(names), 2), tmp_path)
    recall = [0.5] * len(names)
    history = results["history"][:1]
    variant = {"name": "baseline", "mean": {"per_class_recall": recall}, "runs": []}
    variant["runs"].append(
        {"seed": 0, "history": history, "confusion_matrix_normalized": np.eye(len(names)).tolist()}
    )
    experiment_jobs = experiment_figure_jobs(
        {"seeds": [0], "variants": [variant]}, results["dataset"], tmp_path
    )
    for job in [*jobs.values(), *experiment_jobs.values()]:
        job()
    assert len(drawn) == len(jobs) + len(experiment_jobs)
    for fig in drawn:
        renderer = FigureCanvasAgg(fig).get_renderer()  # a closed figure's canvas has none
        stamps = [text for text in fig.texts if text.get_text() == source]
        assert len(stamps) == 1, fig.texts
        top = stamps[0].get_window_extent(renderer).y1
        for above in [*fig.axes, *fig.legends]:
            assert above.get_tightbbox(renderer).y0 > top
