"""Stage 5: one function per figure; each writes one PNG and returns its path. Here the shared
helpers (style, saving, shortened names, titles), class prevalence, the sample grid, the confusion
matrix and the recall heat map; the line charts are in line_charts.py, and the narrow phone
renditions of these figures in phone_figures.py."""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.backend_bases import RendererBase
from matplotlib.transforms import Bbox

from reportgen.formatting import fmt_number

DPI = 110
SPLIT_COLOURS = {"train": "#3f51b5", "val": "#ff9800", "test": "#009688"}
SPLIT_HATCHES = {"train": "", "val": "///", "test": "..."}  # the splits apart without colour too
# Text sizes of every figure, larger than matplotlib's defaults, applied by @styled.
STYLE = {"font.size": 12, "axes.titlesize": 13, "legend.fontsize": 10.5}


def shortened(name: str, width: int = 28) -> str:
    return name if len(name) <= width else name[: width - 1] + "…"


def save_figure(fig: plt.Figure, path: Path, dpi: int = DPI, source: str | None = None) -> Path:
    """fig as a PNG cropped to what it draws, as bbox_inches="tight" crops it, with source (the
    data it shows) in small print under everything. matplotlib finds that crop by laying the
    whole figure out once more before drawing it (a third of a figure's time); the figure's own
    tight box, measured here, is the same crop without that pass (the PNGs are byte for byte the
    same: test_figures)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.set_dpi(dpi)
    renderer = fig.canvas.get_renderer()
    box = fig.get_tightbbox(renderer)  # inches
    if source is not None:
        box = Bbox.union([box, _stamp_source(fig, box, source, renderer)])
    fig.savefig(
        path,
        dpi=dpi,
        bbox_inches=box.padded(plt.rcParams["savefig.pad_inches"]),
        metadata=None if source is None else {"Description": source},
    )
    plt.close(fig)
    return path


def drawn_source(path: Path) -> str | None:
    """The source a figure was saved with (its PNG's Description), None if it has none."""
    from PIL import Image

    with Image.open(path) as image:
        return getattr(image, "text", {}).get("Description")


def _stamp_source(fig: plt.Figure, drawn: Bbox, source: str, renderer: RendererBase) -> Bbox:
    """source at the lower left of fig, under drawn (the box of all it draws, in inches): a
    figure copied out of its page still says which data it shows (an unofficial file's, say).
    Returns the line's own box, in inches."""
    gap = 0.12  # inches
    stamp = fig.text(
        drawn.x0 / fig.get_figwidth(),
        (drawn.y0 - gap) / fig.get_figheight(),
        source,
        ha="left",
        va="top",
        fontsize=9,
        color="#555555",
    )
    return stamp.get_window_extent(renderer).transformed(fig.dpi_scale_trans.inverted())


def styled(plot: Callable[..., Path]) -> Callable[..., Path]:
    """plot, drawn with STYLE's fonts (matplotlib's global settings are left as they were)."""

    @wraps(plot)
    def with_style(*args: Any, **kwargs: Any) -> Path:
        with plt.rc_context(STYLE):
            return plot(*args, **kwargs)

    return with_style


def split_shares(split_counts: list[int]) -> np.ndarray:
    """Each class's share of a split, in percent (zeros for an empty split)."""
    return 100 * np.asarray(split_counts) / max(sum(split_counts), 1)


@styled
def plot_class_prevalence(
    counts: dict[str, list[int]],
    class_names: list[str],
    path: Path,
    source: str | None = None,
) -> Path:
    """Grouped bars: share of each class (%) in each split."""
    fig, ax = plt.subplots(figsize=(9, 4.2))
    positions = np.arange(len(class_names))
    width = 0.8 / len(counts)
    for offset, (split, split_counts) in enumerate(counts.items()):
        shares = split_shares(split_counts)
        ax.bar(
            positions + offset * width,
            shares,
            width,
            label=split,
            color=SPLIT_COLOURS.get(split),
            hatch=SPLIT_HATCHES.get(split),
            edgecolor="white",  # the hatching's colour; no outline is drawn at line width 0
            linewidth=0,
        )
    ax.set_xticks(positions + width * (len(counts) - 1) / 2)
    ax.set_xticklabels([shortened(name) for name in class_names], rotation=30, ha="right")
    ax.set_ylabel("share of split (%)")
    ax.set_title("Class prevalence per split")
    ax.legend()
    ax.grid(axis="y", alpha=0.3)
    return save_figure(fig, path, source=source)


SAMPLE_GUTTER = 2  # blank pixels between sample images, at the images' own 28-pixel scale


def sample_mosaic(
    sample_images: np.ndarray, sample_counts: np.ndarray, columns: int, band: int = 0
) -> tuple[np.ndarray, list[int]]:
    """The sample images as one (rows, cols, C) uint8 image on white, drawn with one imshow (one
    axes per image took 0.7 s a figure): each class's block of ceil(S / columns) rows of images,
    SAMPLE_GUTTER apart, under a blank band of `band` pixel rows, with no image where the class
    has fewer than S. sample_images is (K, S, H, W, C); also returns each block's first row."""
    n_classes, per_class, height, width, channels = sample_images.shape
    rows = math.ceil(per_class / columns)
    cell_height, cell_width = height + SAMPLE_GUTTER, width + SAMPLE_GUTTER
    block = band + rows * cell_height
    mosaic = np.full(
        (n_classes * block - SAMPLE_GUTTER, columns * cell_width - SAMPLE_GUTTER, channels),
        255,
        dtype=np.uint8,
    )
    tops = [k * block for k in range(n_classes)]
    for k, top in enumerate(tops):
        for s in range(min(int(sample_counts[k]), per_class)):
            y = top + band + (s // columns) * cell_height
            x = (s % columns) * cell_width
            mosaic[y : y + height, x : x + width] = sample_images[k, s]
    return mosaic, tops


def show_mosaic(mosaic: np.ndarray, pixels_per_inch: float) -> tuple[plt.Figure, plt.Axes]:
    """A figure that is the mosaic alone, at pixels_per_inch of its pixels; axes in pixels."""
    fig = plt.figure(figsize=(mosaic.shape[1] / pixels_per_inch, mosaic.shape[0] / pixels_per_inch))
    ax = fig.add_axes((0, 0, 1, 1))
    if mosaic.shape[-1] == 1:
        ax.imshow(mosaic[..., 0], cmap="gray", vmin=0, vmax=255, interpolation="nearest")
    else:
        ax.imshow(mosaic, interpolation="nearest")
    ax.axis("off")
    return fig, ax


@styled
def plot_sample_grid(
    sample_images: np.ndarray,
    sample_counts: np.ndarray,
    class_names: list[str],
    path: Path,
    source: str | None = None,
) -> Path:
    """One row per class of training images; sample_images is (K, S, H, W, C) uint8."""
    n_classes, per_class, height = sample_images.shape[:3]
    mosaic, tops = sample_mosaic(sample_images, sample_counts, columns=per_class)
    # An inch per image; the class names sit left of the grid (bbox_inches="tight" widens the
    # saved image to hold them).
    fig, ax = show_mosaic(mosaic, height + SAMPLE_GUTTER)
    for name, top in zip(class_names, tops, strict=True):
        ax.text(-4, top + height / 2, shortened(name, 22), ha="right", va="center", fontsize=11)
    # Above the grid, a fixed 0.15 inch clear of it whatever the number of rows.
    fig.suptitle("Training images per class (seeded sample)", y=1 + 0.15 / n_classes, va="bottom")
    return save_figure(fig, path, source=source)


def titled(title: str, context: str | None) -> str:
    """A figure's title, under a line saying what it shows when that is not the build's own run
    (a variant's figure keeps its name and seed when downloaded on its own)."""
    return title if context is None else f"{context}\n{title}"


MISSING_CELL = ("–", "lightgrey")  # a heat map's cell without a value: its text, its colour


def cell_text(value: float, text_of: Callable[[float], str]) -> str:
    """A heat map cell's text: the value as text_of writes it, or a dash where it is missing
    (NaN: a class without test images has no recall, nor a row to share out)."""
    return MISSING_CELL[0] if math.isnan(value) else text_of(value)


@styled
def plot_confusion_matrix(
    matrix: list[list[float]],
    class_names: list[str],
    path: Path,
    normalized: bool,
    context: str | None = None,
    source: str | None = None,
) -> Path:
    """Heat map, true class per row; counts, or shares of each row when normalized."""
    values = np.asarray(matrix, dtype=float)
    size = max(5.0, 0.8 * len(class_names) + 2.5)
    fig, ax = plt.subplots(figsize=(size, size * 0.85))
    image = ax.imshow(values, cmap="Blues", vmin=0, vmax=1 if normalized else None)
    ax.set_facecolor(MISSING_CELL[1])  # shows through the cells imshow leaves out (NaN)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    threshold = (1 if normalized else np.nanmax(values)) / 2
    for (i, j), value in np.ndenumerate(values):
        ax.text(
            j,
            i,
            cell_text(value, lambda v: str(fmt_number(v, 2)) if normalized else f"{int(v)}"),
            ha="center",
            va="center",
            fontsize=11,
            color="white" if value > threshold else "black",
        )
    labels = [shortened(name, 18) for name in class_names]
    ax.set_xticks(range(len(labels)), labels, rotation=35, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(
        titled(
            "Confusion matrix, row-normalized" if normalized else "Confusion matrix, counts",
            context,
        )
    )
    return save_figure(fig, path, source=source)


@styled
def plot_recall_by_variant(
    variant_names: list[str],
    mean_recall: list[list[float]],
    class_names: list[str],
    path: Path,
    seeds: int = 1,
    source: str | None = None,
) -> Path:
    """Heat map of test recall, the mean over seeds runs: one row per variant, one column per
    class."""
    values = np.asarray(mean_recall, dtype=float)
    fig, ax = plt.subplots(
        figsize=(max(6.0, 1.1 * len(class_names) + 3), 0.45 * len(variant_names) + 2)
    )
    image = ax.imshow(values, cmap="viridis", vmin=0, vmax=1, aspect="auto")
    ax.set_facecolor(MISSING_CELL[1])  # shows through the cells imshow leaves out (NaN)
    colorbar = fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    colorbar.set_label("mean test recall" if seeds > 1 else "test recall", labelpad=8)
    for (i, j), value in np.ndenumerate(values):
        ax.text(
            j,
            i,
            cell_text(value, lambda v: str(fmt_number(v, 2))),
            ha="center",
            va="center",
            fontsize=10.5,
            color="black" if math.isnan(value) or value > 0.6 else "white",
        )
    ax.set_xticks(
        range(len(class_names)),
        [shortened(name, 18) for name in class_names],
        rotation=35,
        ha="right",
    )
    ax.set_yticks(range(len(variant_names)), variant_names)
    ax.set_title(
        f"Per-class recall on test, mean over {seeds} seeds"
        if seeds > 1
        else "Per-class recall on test"
    )
    return save_figure(fig, path, source=source)
