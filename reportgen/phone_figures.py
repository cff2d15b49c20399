"""Stage 5, for phones: narrow renditions of the figures too wide to read on a phone's screen.

A figure drawn about 9 inches wide shrinks to a third of its size in a phone's 360 px column, and
its text to 5-8 px. These draw the same data about 4 inches wide, stacked instead of side by side,
so that their text stays near 12-15 px; the pages show them below Material's phone breakpoint
(mkdocs_hooks.py) and keep the wide figure for larger screens and the zoomed view.

These are laid out differently from their wide figures (rows of cells, bars across). The line
charts keep their layout in a narrower frame, so line_charts.py draws their renditions itself
(phone=True).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.patches import Rectangle

from reportgen.figures import (
    DPI,
    MISSING_CELL,
    SAMPLE_GUTTER,
    SPLIT_COLOURS,
    SPLIT_HATCHES,
    cell_text,
    sample_mosaic,
    save_figure,
    shortened,
    show_mosaic,
    split_shares,
    styled,
    titled,
)
from reportgen.formatting import fmt_number
from reportgen.phone_layout import PHONE_DENSITY, PHONE_WIDTH_INCHES

SAMPLE_COLUMNS = 4  # training images per row of the phone sample grid
NAME_WIDTH = 30  # characters of a class or variant name shown above its row
NAME_BAND = 11  # pixel rows, at the sample images' own scale, for a class's name above them


def _save(fig: plt.Figure, path: Path, source: str | None) -> Path:
    return save_figure(fig, path, dpi=PHONE_DENSITY * DPI, source=source)


@styled
def plot_class_prevalence_phone(
    counts: dict[str, list[int]],
    class_names: list[str],
    path: Path,
    source: str | None = None,
) -> Path:
    """Horizontal bars: share of each class (%) in each split, one group per class with its name
    above it, so that long class names need no width of their own."""
    splits = list(counts)
    bar = 0.8 / len(splits)
    step = 1.45  # one group of bars (0.8) and the line of its name above it
    fig, ax = plt.subplots(figsize=(PHONE_WIDTH_INCHES, 0.9 * len(class_names) + 1.3))
    for offset, split in enumerate(splits):
        ax.barh(
            np.arange(len(class_names)) * step + offset * bar,
            split_shares(counts[split]),
            bar,
            label=split,
            color=SPLIT_COLOURS.get(split),
            hatch=SPLIT_HATCHES.get(split),
            edgecolor="white",
            linewidth=0,
        )
    for k, name in enumerate(class_names):
        ax.text(0, k * step - bar / 2 - 0.08, shortened(name, NAME_WIDTH), va="bottom")
    ax.set_ylim(len(class_names) * step - step + 0.8, -0.75)  # top to bottom, names included
    ax.set_yticks([])
    ax.set_xlabel("share of split (%)")
    ax.set_title("Class prevalence per split")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=len(splits), frameon=False)
    ax.grid(axis="x", alpha=0.3)
    return _save(fig, path, source)


@styled
def plot_sample_grid_phone(
    sample_images: np.ndarray,
    sample_counts: np.ndarray,
    class_names: list[str],
    path: Path,
    source: str | None = None,
) -> Path:
    """The sample grid, SAMPLE_COLUMNS images a row, each class's block under its name;
    sample_images is (K, S, H, W, C) uint8."""
    height = sample_images.shape[2]
    mosaic, tops = sample_mosaic(sample_images, sample_counts, SAMPLE_COLUMNS, NAME_BAND)
    fig, ax = show_mosaic(mosaic, height + SAMPLE_GUTTER)  # an inch per image
    for name, top in zip(class_names, tops, strict=True):
        ax.text(0, top + NAME_BAND - 2, shortened(name, NAME_WIDTH), va="bottom")
    fig.suptitle("Training images per class\n(seeded sample)", y=1.0, va="bottom")
    return _save(fig, path, source)


ROW_STEP = 1.6  # a row of cells (1.0 high) and the line of its name above it
CELLS_MARGIN = 0.03  # of the figure's width, each side of the cells
ROTATED_LABELS_RIGHT = 0.8  # where the cells end when the column labels slant
DIGIT_WIDTH = 0.64  # a digit's width in DejaVu Sans, in ems
# From this many rows (the recall heat map's variants; a confusion matrix of 8 classes or more),
# a phone shows the top of the cells no longer while reading the bottom rows: the columns are
# named below the cells too.
LABELS_BELOW_FROM_ROWS = 8


def _rows_of_cells(
    fig: plt.Figure,
    values: np.ndarray,
    row_names: list[str],
    column_labels: list[str],
    norm: Normalize,
    cmap_name: str,
    dark_text: Callable[[float], bool],
    text_of: Callable[[float], str],
) -> plt.Axes:
    """A heat map laid out for a phone: values (R, C) as rows of cells, each under its row's
    name so that the cells take most of the width, column labels on top and a colour bar below.
    dark_text(value) picks black text on a cell over white; NaN cells are grey."""
    n_rows, n_columns = values.shape
    cmap = plt.get_cmap(cmap_name)
    rotate = max(len(label) for label in column_labels) > 3
    # Labels slanted up to the right need room past the last column.
    right = ROTATED_LABELS_RIGHT if rotate else 1 - 2 * CELLS_MARGIN  # room for the bar's "1.0"
    fig.subplots_adjust(left=CELLS_MARGIN, right=right)
    ax = fig.add_subplot()
    texts = [[cell_text(value, text_of) for value in row] for row in values]
    # As large as STYLE's text, or smaller where the longest cell text (a count of 5 digits, or
    # 11 columns) would not fit its cell's width with some room to spare.
    cell_points = fig.get_figwidth() * (right - CELLS_MARGIN) / n_columns * 72
    longest = max(len(text) for row in texts for text in row)
    font_size = min(plt.rcParams["font.size"], 0.85 * cell_points / (DIGIT_WIDTH * longest))
    for i, name in enumerate(row_names):
        y = i * ROW_STEP
        ax.text(-0.5, y - 0.58, shortened(name, NAME_WIDTH), va="bottom")
        for j, value in enumerate(values[i]):
            missing = math.isnan(value)
            colour = MISSING_CELL[1] if missing else cmap(norm(value))
            ax.add_patch(Rectangle((j - 0.5, y - 0.5), 1, 1, facecolor=colour, edgecolor="white"))
            text_colour = "black" if missing or dark_text(value) else "white"
            ax.text(
                j,
                y,
                texts[i][j],
                ha="center",
                va="center",
                color=text_colour,
                fontsize=font_size,
            )
    ax.set_xlim(-0.5, n_columns - 0.5)
    ax.set_ylim((n_rows - 1) * ROW_STEP + 0.5, -1.05)
    ax.xaxis.tick_top()
    ax.set_xticks(
        range(n_columns),
        column_labels,
        rotation=50 if rotate else 0,
        ha="left" if rotate else "center",
        rotation_mode="anchor",
    )
    ax.tick_params(length=0)
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)
    if n_rows >= LABELS_BELOW_FROM_ROWS:
        below = ax.secondary_xaxis("bottom")
        below.set_xticks(
            range(n_columns),
            column_labels,
            rotation=-50 if rotate else 0,
            ha="left" if rotate else "center",
            rotation_mode="anchor",
        )
        below.tick_params(length=0)
        below.spines["bottom"].set_visible(False)
    return ax


def _depth_below(fig: plt.Figure, ax: plt.Axes) -> float:
    """How far, in inches, the axes' drawing reaches below its cells (column labels there)."""
    renderer = fig.canvas.get_renderer()
    return max(0.0, (ax.get_window_extent(renderer).y0 - ax.get_tightbbox(renderer).y0) / fig.dpi)


COLOUR_BAR_FRACTION = 0.04  # of the cells' axes, taken by the colour bar
COLOUR_BAR_GAP = 0.2  # inches between the cells (or the column labels below them) and the bar


def _colour_bar(fig: plt.Figure, ax: plt.Axes, norm: Normalize, cmap_name: str, label: str) -> None:
    """A horizontal colour bar below the cells, clear of any column labels there. matplotlib
    takes the bar and its gap out of the cells' axes: the figure grows at the bottom by as much
    as the labels and the gap need, so that rows keep their height (and each row's name the
    room above its cells) with labels below or without."""
    height = fig.get_figheight()
    box = ax.get_position()
    before = box.height * height  # inches
    gap = COLOUR_BAR_GAP + _depth_below(fig, ax)
    # The cells' height with a bar that takes only its own fraction and a gap of 2% of them.
    cells = before * (1 - COLOUR_BAR_FRACTION - 0.02)
    needed = (cells + gap) / (1 - COLOUR_BAR_FRACTION)
    if needed > before:
        grown = height + needed - before
        top_margin = (1 - box.y1) * height
        fig.set_figheight(grown)
        top = 1 - top_margin / grown
        fig.subplots_adjust(top=top, bottom=top - needed / grown)  # the bar follows the grid
    colorbar = fig.colorbar(
        ScalarMappable(norm, cmap_name),
        ax=ax,
        orientation="horizontal",
        fraction=COLOUR_BAR_FRACTION,
        pad=gap / max(needed, before),
    )
    colorbar.set_label(label)


def _phone_figure(columns: int, rows: int) -> plt.Figure:
    """A figure for _rows_of_cells: 0.6 inch a column within the phone width, 0.72 a row."""
    return plt.figure(figsize=(max(3.2, min(PHONE_WIDTH_INCHES, 0.6 * columns)), 0.72 * rows + 1.9))


@styled
def plot_recall_by_variant_phone(
    variant_names: list[str],
    mean_recall: list[list[float]],
    class_names: list[str],
    path: Path,
    seeds: int = 1,
    source: str | None = None,
) -> Path:
    """The recall heat map with each variant's name above its row of cells: one row per
    variant, one column per class."""
    values = np.asarray(mean_recall, dtype=float)
    fig = _phone_figure(len(class_names), len(variant_names))
    norm = Normalize(0, 1)
    ax = _rows_of_cells(
        fig,
        values,
        variant_names,
        [shortened(name, 16) for name in class_names],
        norm,
        "viridis",
        dark_text=lambda value: value > 0.6,
        text_of=lambda value: str(fmt_number(value, 2)),
    )
    _colour_bar(fig, ax, norm, "viridis", "mean test recall" if seeds > 1 else "test recall")
    ax.set_title(
        f"Per-class recall on test,\nmean over {seeds} seeds"
        if seeds > 1
        else "Per-class recall on test",
        pad=12,
    )
    return _save(fig, path, source)


@styled
def plot_confusion_matrix_phone(
    matrix: list[list[float]],
    class_names: list[str],
    path: Path,
    normalized: bool,
    context: str | None = None,
    source: str | None = None,
) -> Path:
    """The confusion matrix with each true class's name above its row of cells. Columns are
    named by class when every name is short (grades, say), by the rows' numbers otherwise."""
    values = np.asarray(matrix, dtype=float)
    short = max(len(name) for name in class_names) <= 8
    row_names = class_names if short else [f"{k}  {name}" for k, name in enumerate(class_names, 1)]
    columns = class_names if short else [str(k) for k in range(1, len(class_names) + 1)]
    top = 1.0 if normalized else max(float(np.nanmax(values)), 1.0)
    norm = Normalize(0, top)
    fig = _phone_figure(len(class_names), len(class_names))
    ax = _rows_of_cells(
        fig,
        values,
        row_names,
        columns,
        norm,
        "Blues",
        dark_text=lambda value: value <= top / 2,
        text_of=lambda value: str(fmt_number(value, 2)) if normalized else f"{int(value)}",
    )
    _colour_bar(fig, ax, norm, "Blues", "share of the row" if normalized else "test images")
    title = "Confusion matrix, row-normalized" if normalized else "Confusion matrix, counts"
    ax.set_title(titled(f"{title}\nrows: true class, columns: predicted", context), pad=12)
    return _save(fig, path, source)
