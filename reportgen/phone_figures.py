"""Stage 5, for phones: narrow renditions of the figures too wide to read on a phone's screen.

A figure drawn about 9 inches wide shrinks to a third of its size in a phone's 360 px column, and
its text to 5-8 px. These draw the same data about 4 inches wide, stacked instead of side by side,
so that their text stays near 12-15 px; the pages show them below Material's phone breakpoint
(mkdocs_hooks.py) and keep the wide figure for larger screens and the zoomed view.
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.patches import Rectangle

from reportgen.figures import (
    DPI,
    SAMPLE_GUTTER,
    SPLIT_COLOURS,
    SPLIT_HATCHES,
    sample_mosaic,
    save_figure,
    shortened,
    show_mosaic,
    styled,
)

PHONE_WIDTH_INCHES = 4.2  # the drawing area; labels and margins add about half an inch
SAMPLE_COLUMNS = 4  # training images per row of the phone sample grid
NAME_WIDTH = 30  # characters of a class or variant name shown above its row
NAME_BAND = 11  # pixel rows, at the sample images' own scale, for a class's name above them
# Drawn at twice the pixels of the wide figures and shown at half size (srcset's "2x"): most
# phones' screens have two or three pixels to the CSS pixel, and their text stays sharp.
PHONE_DENSITY = 2


def _save(fig: plt.Figure, path: Path) -> Path:
    return save_figure(fig, path, dpi=PHONE_DENSITY * DPI)


@styled
def plot_class_prevalence_phone(
    counts: dict[str, list[int]], class_names: list[str], path: Path
) -> Path:
    """Horizontal bars: share of each class (%) in each split, one group per class with its name
    above it, so that long class names need no width of their own."""
    splits = list(counts)
    bar = 0.8 / len(splits)
    step = 1.45  # one group of bars (0.8) and the line of its name above it
    fig, ax = plt.subplots(figsize=(PHONE_WIDTH_INCHES, 0.9 * len(class_names) + 1.3))
    for offset, split in enumerate(splits):
        shares = 100 * np.asarray(counts[split]) / max(sum(counts[split]), 1)
        ax.barh(
            np.arange(len(class_names)) * step + offset * bar,
            shares,
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
    return _save(fig, path)


@styled
def plot_sample_grid_phone(
    sample_images: np.ndarray, sample_counts: np.ndarray, class_names: list[str], path: Path
) -> Path:
    """The sample grid, SAMPLE_COLUMNS images a row, each class's block under its name;
    sample_images is (K, S, H, W, C) uint8."""
    height = sample_images.shape[2]
    mosaic, tops = sample_mosaic(sample_images, sample_counts, SAMPLE_COLUMNS, NAME_BAND)
    fig, ax = show_mosaic(mosaic, height + SAMPLE_GUTTER)  # an inch per image
    for name, top in zip(class_names, tops, strict=True):
        ax.text(0, top + NAME_BAND - 2, shortened(name, NAME_WIDTH), va="bottom")
    fig.suptitle("Training images per class\n(seeded sample)", y=1.0, va="bottom")
    return _save(fig, path)


@styled
def plot_recall_by_variant_phone(
    variant_names: list[str],
    mean_recall: list[list[float]],
    class_names: list[str],
    path: Path,
    seeds: int = 1,
) -> Path:
    """The recall heat map with each variant's name above its row of cells, so that the cells
    take the whole width: one row per variant, one column per class."""
    values = np.asarray(mean_recall, dtype=float)
    n_variants, n_classes = values.shape
    step = 1.6  # one row of cells (1.0) and the line of its name above it
    norm, cmap = Normalize(0, 1), plt.get_cmap("viridis")
    fig, ax = plt.subplots(
        figsize=(max(3.2, min(PHONE_WIDTH_INCHES, 0.6 * n_classes)), 0.72 * n_variants + 1.9)
    )
    for i, name in enumerate(variant_names):
        y = i * step
        ax.text(-0.5, y - 0.58, shortened(name, NAME_WIDTH), va="bottom")
        for j, value in enumerate(values[i]):
            colour = "lightgrey" if math.isnan(value) else cmap(norm(value))
            ax.add_patch(Rectangle((j - 0.5, y - 0.5), 1, 1, facecolor=colour, edgecolor="white"))
            text = "–" if math.isnan(value) else f"{value:.2f}"
            ax.text(j, y, text, ha="center", va="center", color="black" if value > 0.6 else "white")
    ax.set_xlim(-0.5, n_classes - 0.5)
    ax.set_ylim((n_variants - 1) * step + 0.5, -1.05)
    ax.xaxis.tick_top()
    short_names = [shortened(name, 16) for name in class_names]
    rotate = max(len(name) for name in short_names) > 3
    ax.set_xticks(
        range(n_classes),
        short_names,
        rotation=50 if rotate else 0,
        ha="left" if rotate else "center",
        rotation_mode="anchor",
    )
    ax.tick_params(length=0)
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)
    colorbar = fig.colorbar(
        ScalarMappable(norm, cmap), ax=ax, orientation="horizontal", fraction=0.04, pad=0.02
    )
    colorbar.set_label("mean test recall" if seeds > 1 else "test recall")
    ax.set_title(
        f"Per-class recall on test,\nmean over {seeds} seeds"
        if seeds > 1
        else "Per-class recall on test",
        pad=12,
    )
    return _save(fig, path)
