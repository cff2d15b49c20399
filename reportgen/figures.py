"""Stage 5: one function per figure; each writes one PNG and returns its path."""

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
from matplotlib.ticker import MaxNLocator
from sklearn.metrics import roc_curve

from reportgen.formatting import fmt_number
from reportgen.phone_layout import PHONE_DENSITY, PHONE_WIDTH_INCHES
from reportgen.referral import referral_score

DPI = 110
SPLIT_COLOURS = {"train": "#3f51b5", "val": "#ff9800", "test": "#009688"}
SPLIT_HATCHES = {"train": "", "val": "///", "test": "..."}  # the splits apart without colour too
# Okabe and Ito's palette, told apart with the common colour-vision deficiencies; per-class
# curves also differ in line style and marker, so no class is known by its colour alone.
CLASS_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000")
CLASS_LINESTYLES = ("-", "--", "-.", ":", (0, (5, 1)), (0, (3, 1, 1, 1, 1, 1)), (0, (1, 1)))
CLASS_MARKERS = ("o", "s", "^", "D", "v", "P", "X")
# The line charts below draw a phone rendition too when called with phone=True: about
# PHONE_WIDTH_INCHES wide at twice the pixels, so that their text stays 11 px or more in a
# phone's 360 px column (drawn 6-7 inches wide, it was 6-10 px there). Figures whose phone
# renditions are laid out differently (cells in rows, bars across) are in phone_figures.py.
STYLE = {"font.size": 12, "axes.titlesize": 13, "legend.fontsize": 10.5}
# Tick and axis labels reach up to 0.3 inches past a figure's left edge ("1000", a label of two
# lines); so drawn, a line chart's phone rendition stays within about PHONE_WIDTH_INCHES once
# cropped, which a phone's column shows at three quarters of its size or more.
LINE_CHART_PHONE_WIDTH = PHONE_WIDTH_INCHES - 0.3
CLOSE_POINTS = 0.08  # referral ROC points this close (in rate units) are named beside the curve


def shortened(name: str, width: int = 28) -> str:
    return name if len(name) <= width else name[: width - 1] + "…"


def save_figure(fig: plt.Figure, path: Path, dpi: int = DPI) -> Path:
    """fig as a PNG cropped to what it draws, as bbox_inches="tight" crops it. matplotlib finds
    that crop by laying the whole figure out once more before drawing it (a third of a figure's
    time); the figure's own tight box, measured here, is the same crop without that pass (the
    PNGs are byte for byte the same: test_figures)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.set_dpi(dpi)
    box = fig.get_tightbbox(fig.canvas.get_renderer()).padded(plt.rcParams["savefig.pad_inches"])
    fig.savefig(path, dpi=dpi, bbox_inches=box)
    plt.close(fig)
    return path


def _saved(fig: plt.Figure, path: Path, phone: bool) -> Path:
    return save_figure(fig, path, PHONE_DENSITY * DPI if phone else DPI)


def legend_below(fig: plt.Figure, lowest: plt.Axes, handles: list[Any], labels: list[str]) -> None:
    """The legend under everything the lowest axes draw (tick labels, axis label included),
    where it hides no curve, bar or point."""
    renderer = fig.canvas.get_renderer()
    gap = 0.08 * fig.dpi  # inches, in pixels
    bottom = (lowest.get_tightbbox(renderer).y0 - gap) / fig.bbox.height
    fig.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, bottom), frameon=False)


def styled(plot: Callable[..., Path]) -> Callable[..., Path]:
    """plot, drawn with STYLE's fonts (matplotlib's global settings are left as they were)."""

    @wraps(plot)
    def with_style(*args: Any, **kwargs: Any) -> Path:
        with plt.rc_context(STYLE):
            return plot(*args, **kwargs)

    return with_style


def _class_style(k: int) -> dict[str, Any]:
    """Colour, line style and marker of class k's curve (they repeat after seven classes)."""
    return {
        "color": CLASS_COLOURS[k % len(CLASS_COLOURS)],
        "linestyle": CLASS_LINESTYLES[k % len(CLASS_LINESTYLES)],
        "marker": CLASS_MARKERS[k % len(CLASS_MARKERS)],
    }


def split_shares(split_counts: list[int]) -> np.ndarray:
    """Each class's share of a split, in percent (zeros for an empty split)."""
    return 100 * np.asarray(split_counts) / max(sum(split_counts), 1)


@styled
def plot_class_prevalence(counts: dict[str, list[int]], class_names: list[str], path: Path) -> Path:
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
    return save_figure(fig, path)


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
    sample_images: np.ndarray, sample_counts: np.ndarray, class_names: list[str], path: Path
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
    return save_figure(fig, path)


def _epoch_axis(ax: plt.Axes, epochs: list[int]) -> None:
    """Whole-epoch ticks, with half an epoch of margin (one epoch would otherwise get 0.96, 1.04)."""
    ax.set_xlim(min(epochs) - 0.5, max(epochs) + 0.5)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))


def titled(title: str, context: str | None) -> str:
    """A figure's title, under a line saying what it shows when that is not the build's own run
    (a variant's figure keeps its name and seed when downloaded on its own)."""
    return title if context is None else f"{context}\n{title}"


Limits = tuple[float, float]


@styled
def plot_loss_curves(
    history: list[dict[str, float]],
    path: Path,
    context: str | None = None,
    ylim: Limits | None = None,
    phone: bool = False,
) -> Path:
    """Train and val loss per epoch; ylim: fixed y-axis limits (default: fitted to the data)."""
    epochs = [row["epoch"] for row in history]
    fig, ax = plt.subplots(figsize=(LINE_CHART_PHONE_WIDTH, 3.2) if phone else (6.5, 4))
    ax.plot(epochs, [row["train_loss"] for row in history], marker="o", label="train")
    ax.plot(epochs, [row["val_loss"] for row in history], marker="s", label="val")
    ax.set_xlabel("epoch")
    _epoch_axis(ax, epochs)
    ax.set_ylabel("cross-entropy loss")
    if ylim is not None:
        ax.set_ylim(*ylim)
    ax.set_title(titled("Loss per epoch", context))
    ax.legend()
    ax.grid(alpha=0.3)
    return _saved(fig, path, phone)


@styled
def plot_metric_curves(
    history: list[dict[str, float]],
    path: Path,
    context: str | None = None,
    ylims: dict[str, Limits | None] | None = None,
    phone: bool = False,
) -> Path:
    """Accuracy and AUC per epoch, train and val, one above the other. ylims: fixed y-axis
    limits per metric ("accuracy", "auc"; default: fitted)."""
    epochs = [row["epoch"] for row in history]
    fig, axes = plt.subplots(
        2, 1, figsize=(LINE_CHART_PHONE_WIDTH, 6.0) if phone else (6.5, 7.6), sharex=True
    )
    panels = (
        (axes[0], "accuracy", "accuracy", "Accuracy"),
        (axes[1], "auc", "AUC (mean one-vs-rest)", "AUC"),
    )
    for ax, metric, label, name in panels:
        ax.plot(epochs, [row[f"train_{metric}"] for row in history], marker="o", label="train")
        ax.plot(epochs, [row[f"val_{metric}"] for row in history], marker="s", label="val")
        _epoch_axis(ax, epochs)
        ax.set_ylabel(label)
        if ylims is not None and ylims[metric] is not None:
            ax.set_ylim(*ylims[metric])
        ax.set_title(titled(f"{name} per epoch", context if ax is axes[0] else None))
        ax.legend()
        ax.grid(alpha=0.3)
    axes[1].set_xlabel("epoch")
    return _saved(fig, path, phone)


@styled
def plot_confusion_matrix(
    matrix: list[list[float]],
    class_names: list[str],
    path: Path,
    normalized: bool,
    context: str | None = None,
) -> Path:
    """Heat map, true class per row; counts, or shares of each row when normalized."""
    values = np.asarray(matrix, dtype=float)
    size = max(5.0, 0.8 * len(class_names) + 2.5)
    fig, ax = plt.subplots(figsize=(size, size * 0.85))
    image = ax.imshow(values, cmap="Blues", vmin=0, vmax=1 if normalized else None)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    threshold = (1 if normalized else values.max()) / 2
    for (i, j), value in np.ndenumerate(values):
        text = f"{value:.2f}" if normalized else f"{int(value)}"
        ax.text(
            j,
            i,
            text,
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
    return save_figure(fig, path)


@styled
def plot_roc_curves(
    labels: np.ndarray,
    probabilities: np.ndarray,
    class_names: list[str],
    per_class_auc: list[float],
    path: Path,
    phone: bool = False,
) -> Path:
    """One-vs-rest ROC curve of every class present in labels; of two classes, the second's only
    (the first's is its mirror image, with the same AUC). On a phone the legend goes below."""
    binary = len(class_names) == 2
    fig, ax = plt.subplots(figsize=(LINE_CHART_PHONE_WIDTH, 4.0) if phone else (6.8, 6))
    for k, name in enumerate(class_names):
        if np.isnan(per_class_auc[k]) or (binary and k == 0):
            continue
        fpr, tpr, _ = roc_curve(labels == k, probabilities[:, k])  # class k against the rest
        ax.plot(
            fpr,
            tpr,
            **_class_style(k),
            markevery=0.15,
            markersize=6,
            linewidth=1.6,
            label=f"{shortened(name, 24)} (AUC {per_class_auc[k]:.3f})",
        )
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1, label="chance")
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate (recall)")
    ax.set_title(
        f"ROC curve of {shortened(class_names[1], 24)} (test)"
        if binary
        else "One-vs-rest ROC curves (test)"
    )
    if phone:
        legend_below(fig, ax, *ax.get_legend_handles_labels())
    else:
        ax.legend(loc="lower right")
    ax.grid(alpha=0.3)
    return _saved(fig, path, phone)


@styled
def plot_referral_roc(
    labels: np.ndarray,
    probabilities: np.ndarray,
    positive: list[int],
    group_name: str,
    auc: float,
    decision: tuple[float, float],
    path: Path,
    validated: tuple[float, float] | None = None,
    phone: bool = False,
) -> Path:
    """ROC curve of the referral score (the summed probability of the group's classes), with the
    model's own decision (the most probable class) as a dot: decision is its (1 - specificity,
    sensitivity), the screening table's. validated: the same for the threshold set on validation
    (a triangle), where there is one."""
    fpr, tpr, _ = roc_curve(np.isin(labels, positive), referral_score(probabilities, positive))
    fig, ax = plt.subplots(figsize=(LINE_CHART_PHONE_WIDTH, 4.0) if phone else (6, 5.6))
    # The AUC rounded as the pages round it, so legend and text agree.
    label = f"every threshold (AUC {fmt_number(auc, 2)})"
    ax.plot(fpr, tpr, color=SPLIT_COLOURS["test"], label=label)
    # The decision is a hollow ring drawn above the triangle: where the two points nearly
    # coincide, both stay visible.
    ax.plot(
        *decision,
        "o",
        color="#c62828",
        markersize=13,
        markerfacecolor="none",
        markeredgewidth=2.2,
        zorder=4,
        label="the model's own decision",
    )
    if validated is not None:
        ax.plot(
            *validated,
            "^",
            color="#6a1b9a",
            markersize=8,
            zorder=3,
            label="threshold set on validation",
        )
    if validated is not None and math.dist(decision, validated) < CLOSE_POINTS:
        # Nearly on top of each other: each point gets its name beside it, on either side of the
        # curve (above it is the top left, below it the bottom right), so both can be told apart.
        for (x, y), (dx, dy), text, colour in (
            (decision, (0.12, -0.16), "own decision", "#c62828"),
            (validated, (-0.3, 0.09), "validation threshold", "#6a1b9a"),
        ):
            ax.annotate(
                text,
                xy=(x, y),
                xytext=(min(max(x + dx, 0.02), 0.75), min(max(y + dy, 0.05), 0.97)),
                color=colour,
                fontsize=10,
                arrowprops={"arrowstyle": "-", "color": colour, "linewidth": 1, "shrinkB": 8},
            )
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1, label="chance")
    ax.set_xlabel("1 − specificity (other images referred)")
    wrap = "\n" if phone else " "  # a long label takes two lines on a phone
    ax.set_ylabel(f"sensitivity{wrap}({shortened(group_name, 32)} referred)")
    ax.set_title("Referral ROC curve (test)")
    if phone:
        legend_below(fig, ax, *ax.get_legend_handles_labels())
    else:
        ax.legend(loc="lower right")
    ax.grid(alpha=0.3)
    return _saved(fig, path, phone)


@styled
def plot_recall_by_variant(
    variant_names: list[str],
    mean_recall: list[list[float]],
    class_names: list[str],
    path: Path,
    seeds: int = 1,
) -> Path:
    """Heat map of test recall, the mean over seeds runs: one row per variant, one column per
    class."""
    values = np.asarray(mean_recall, dtype=float)
    fig, ax = plt.subplots(
        figsize=(max(6.0, 1.1 * len(class_names) + 3), 0.45 * len(variant_names) + 2)
    )
    image = ax.imshow(values, cmap="viridis", vmin=0, vmax=1, aspect="auto")
    colorbar = fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    colorbar.set_label("mean test recall" if seeds > 1 else "test recall", labelpad=8)
    for (i, j), value in np.ndenumerate(values):
        ax.text(
            j,
            i,
            f"{value:.2f}",
            ha="center",
            va="center",
            fontsize=10.5,
            color="black" if value > 0.6 else "white",
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
    return save_figure(fig, path)


@styled
def plot_reliability_diagram(calibration: dict[str, Any], path: Path, phone: bool = False) -> Path:
    """Accuracy against mean confidence per confidence bin, over a histogram of images per bin."""
    bins = calibration["bins"]
    filled = [row for row in bins if row["count"] > 0]
    centres = [(row["low"] + row["high"]) / 2 for row in bins]
    width = bins[0]["high"] - bins[0]["low"]
    wrap = "\n" if phone else " "  # a long title or label takes two lines on a phone
    fig, (top, bottom) = plt.subplots(
        2,
        1,
        figsize=(LINE_CHART_PHONE_WIDTH, 5.0) if phone else (6.2, 6.4),
        sharex=True,
        gridspec_kw={"height_ratios": [3, 1]},
    )
    top.bar(
        [(row["low"] + row["high"]) / 2 for row in filled],
        [row["accuracy"] for row in filled],
        width=width * 0.9,
        color="#3f51b5",
        alpha=0.8,
        label="accuracy in bin",
    )
    top.plot(
        [row["confidence"] for row in filled],
        [row["accuracy"] for row in filled],
        "o",
        color="#ff9800",
        label="accuracy at the bin's mean confidence",
    )
    top.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1, label="perfect calibration")
    top.set_ylim(0, 1)
    top.set_ylabel("accuracy")
    top.set_title(f"Reliability diagram (test),{wrap}ECE {calibration['ece']:.3f}")
    top.grid(alpha=0.3)
    bottom.bar(centres, [row["count"] for row in bins], width=width * 0.9, color="#009688")
    bottom.set_xlim(0, 1)
    bottom.set_xlabel(f"confidence{wrap}(probability of the predicted class)")
    bottom.set_ylabel("images")
    bottom.grid(axis="y", alpha=0.3)
    # Below the figure, where no bin's bar or dot can be hidden behind it.
    handles, labels = top.get_legend_handles_labels()
    if phone:
        legend_below(fig, bottom, handles, labels)
    else:
        fig.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0.04), frameon=False)
    return _saved(fig, path, phone)
