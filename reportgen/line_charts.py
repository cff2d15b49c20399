"""Stage 5, the line charts: loss and accuracy/AUC per epoch, ROC curves, the referral ROC curve
and the reliability diagram; each writes one PNG and returns its path.

Each also draws its phone rendition when called with phone=True: the same chart about
PHONE_WIDTH_INCHES wide at twice the pixels, so that its text stays 11 px or more in a phone's
360 px column (drawn 6-7 inches wide, it was 6-10 px there), with legends that would cover a
curve moved below the axes. Figures whose phone renditions are laid out differently (cells in
rows, bars across) have them in phone_figures.py.
"""

from __future__ import annotations

import math
import textwrap
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import MaxNLocator
from matplotlib.transforms import Bbox
from sklearn.metrics import roc_curve

from reportgen.figures import DPI, SPLIT_COLOURS, save_figure, shortened, styled, titled
from reportgen.formatting import fmt_number, is_missing
from reportgen.phone_layout import PHONE_DENSITY, PHONE_WIDTH_INCHES
from reportgen.referral import referral_score

# Okabe and Ito's palette, told apart with the common colour-vision deficiencies; per-class
# curves also differ in line style and marker, so no class is known by its colour alone.
CLASS_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000")
CLASS_LINESTYLES = ("-", "--", "-.", ":", (0, (5, 1)), (0, (3, 1, 1, 1, 1, 1)), (0, (1, 1)))
CLASS_MARKERS = ("o", "s", "^", "D", "v", "P", "X")
# Tick and axis labels reach up to 0.3 inches past a figure's left edge ("1000", a label of two
# lines); so drawn, a line chart's phone rendition stays within about PHONE_WIDTH_INCHES once
# cropped, which a phone's column shows at three quarters of its size or more.
LINE_CHART_PHONE_WIDTH = PHONE_WIDTH_INCHES - 0.3
CLOSE_POINTS = 0.08  # referral ROC points this close (in rate units) are named beside the curve


def _class_style(k: int) -> dict[str, Any]:
    """Colour, line style and marker of class k's curve (they repeat after seven classes)."""
    return {
        "color": CLASS_COLOURS[k % len(CLASS_COLOURS)],
        "linestyle": CLASS_LINESTYLES[k % len(CLASS_LINESTYLES)],
        "marker": CLASS_MARKERS[k % len(CLASS_MARKERS)],
    }


def _saved(fig: plt.Figure, path: Path, phone: bool, source: str | None) -> Path:
    return save_figure(fig, path, PHONE_DENSITY * DPI if phone else DPI, source=source)


def legend_below(fig: plt.Figure, lowest: plt.Axes, handles: list[Any], labels: list[str]) -> None:
    """The legend under everything the lowest axes draw (tick labels, axis label included),
    where it hides no curve, bar or point."""
    renderer = fig.canvas.get_renderer()
    gap = 0.08 * fig.dpi  # inches, in pixels
    bottom = (lowest.get_tightbbox(renderer).y0 - gap) / fig.bbox.height
    fig.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, bottom), frameon=False)


def _epoch_axis(ax: plt.Axes, epochs: list[int]) -> None:
    """Whole-epoch ticks, with half an epoch of margin (one epoch would otherwise get 0.96, 1.04)."""
    ax.set_xlim(min(epochs) - 0.5, max(epochs) + 0.5)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))


Limits = tuple[float, float]


@styled
def plot_loss_curves(
    history: list[dict[str, float]],
    path: Path,
    context: str | None = None,
    ylim: Limits | None = None,
    phone: bool = False,
    source: str | None = None,
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
    return _saved(fig, path, phone, source)


@styled
def plot_metric_curves(
    history: list[dict[str, float]],
    path: Path,
    context: str | None = None,
    ylims: dict[str, Limits | None] | None = None,
    phone: bool = False,
    source: str | None = None,
) -> Path:
    """Accuracy and AUC per epoch, train and val, one above the other. ylims: fixed y-axis
    limits per metric ("accuracy", "auc"; default: fitted)."""
    epochs = [row["epoch"] for row in history]
    fig, axes = plt.subplots(
        2, 1, figsize=(LINE_CHART_PHONE_WIDTH, 6.0) if phone else (6.5, 7.6), sharex=True
    )
    panels = (
        (axes[0], "accuracy", "accuracy", "Accuracy"),
        (axes[1], "auc", "AUC", "AUC"),  # the caption says which (one-vs-rest mean of many)
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
    return _saved(fig, path, phone, source)


def _finished_roc(
    fig: plt.Figure, ax: plt.Axes, path: Path, phone: bool, source: str | None
) -> Path:
    """A ROC chart with its legend at the lower right, where its curves rarely run (below the
    axes on a phone, where it would cover them) and a grid, saved."""
    if phone:
        legend_below(fig, ax, *ax.get_legend_handles_labels())
    else:
        ax.legend(loc="lower right")
    ax.grid(alpha=0.3)
    return _saved(fig, path, phone, source)


@styled
def plot_roc_curves(
    labels: np.ndarray,
    probabilities: np.ndarray,
    class_names: list[str],
    per_class_auc: list[float],
    path: Path,
    phone: bool = False,
    source: str | None = None,
) -> Path:
    """One-vs-rest ROC curve of every class present in labels; of two classes, the second's only
    (the first's is its mirror image, with the same AUC). On a phone the legend goes below."""
    binary = len(class_names) == 2
    fig, ax = plt.subplots(figsize=(LINE_CHART_PHONE_WIDTH, 4.0) if phone else (6.8, 6))
    for k, name in enumerate(class_names):
        if is_missing(per_class_auc[k]) or (binary and k == 0):
            continue
        fpr, tpr, _ = roc_curve(labels == k, probabilities[:, k])  # class k against the rest
        ax.plot(
            fpr,
            tpr,
            **_class_style(k),
            markevery=0.15,
            markersize=6,
            linewidth=1.6,
            label=f"{shortened(name, 24)} (AUC {fmt_number(per_class_auc[k])})",
        )
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1, label="chance")
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate (recall)")
    ax.set_title(
        f"ROC curve of {shortened(class_names[1], 24)} (test)"
        if binary
        else "One-vs-rest ROC curves (test)"
    )
    return _finished_roc(fig, ax, path, phone, source)


# Where a point's name may go, in rate units from the point, tried in turn: below right of the
# curve, then above left (a ROC curve runs from the bottom left to the top right), then further
# out where the first two are taken or run off the axes (points at the top left corner).
NAME_OFFSETS = ((0.12, -0.16), (-0.3, 0.09), (0.12, -0.3), (0.12, 0.06), (-0.3, -0.2))
POINT_CLEARANCE = 10  # points around a marked point that no name may cover


def _text_box(ax: plt.Axes, renderer: Any, spot: tuple[float, float], text: str) -> Bbox:
    """The display box of text set at spot (data units) as _name_points sets a name."""
    probe = ax.text(*spot, text, fontsize=10)
    box = probe.get_window_extent(renderer)
    probe.remove()
    return box


def _name_points(ax: plt.Axes, points: list[tuple[tuple[float, float], str, str]]) -> None:
    """Each (point, name, colour) named beside its point, joined to it by a thin line: at the
    first of NAME_OFFSETS where the name lies inside the axes and covers neither a point nor a
    name placed before it (else the first offset)."""
    renderer = ax.figure.canvas.get_renderer()
    ax.get_xlim(), ax.get_ylim()  # limits settled now, so display positions are final
    clearance = POINT_CLEARANCE * ax.figure.dpi / 72
    taken = []
    for point, _, _ in points:
        x, y = ax.transData.transform(point)
        taken.append(Bbox.from_extents(x - clearance, y - clearance, x + clearance, y + clearance))
    inside = ax.get_window_extent(renderer)
    for (x, y), name, colour in points:
        spots = [
            (min(max(x + dx, 0.02), 0.75), min(max(y + dy, 0.05), 0.97)) for dx, dy in NAME_OFFSETS
        ]
        boxes = [_text_box(ax, renderer, spot, name) for spot in spots]
        spot, box = next(
            (
                (spot, box)
                for spot, box in zip(spots, boxes, strict=True)
                if inside.x0 <= box.x0
                and box.x1 <= inside.x1
                and inside.y0 <= box.y0
                and box.y1 <= inside.y1
                and not any(box.overlaps(other) for other in taken)
            ),
            (spots[0], boxes[0]),
        )
        taken.append(box)
        ax.annotate(
            name,
            xy=(x, y),
            xytext=spot,
            color=colour,
            fontsize=10,
            arrowprops={"arrowstyle": "-", "color": colour, "linewidth": 1, "shrinkB": 8},
        )


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
    source: str | None = None,
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
    # The decision is a hollow ring, the threshold a smaller triangle drawn above it with a white
    # rim: where the two points nearly coincide, the triangle shows inside or across the ring.
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
            markeredgecolor="white",
            markeredgewidth=0.8,
            zorder=5,
            label="threshold set on validation",
        )
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1, label="chance")
    if validated is not None and math.dist(decision, validated) < CLOSE_POINTS:
        # Nearly on top of each other: each point gets its name beside it, so both can be told
        # apart.
        _name_points(
            ax,
            [(decision, "own decision", "#c62828"), (validated, "validation threshold", "#6a1b9a")],
        )
    ax.set_xlabel("1 − specificity (other images referred)")
    # Wrapped, not cut: a long group name ("malignant or pre-malignant lesion") takes two lines
    # (a third would widen the phone rendition beyond a phone's column).
    ax.set_ylabel("\n".join(textwrap.wrap(f"sensitivity ({group_name} referred)", 44)))
    ax.set_title("Referral ROC curve (test)")
    return _finished_roc(fig, ax, path, phone, source)


@styled
def plot_reliability_diagram(
    calibration: dict[str, Any], path: Path, phone: bool = False, source: str | None = None
) -> Path:
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
    top.set_title(f"Reliability diagram (test),{wrap}ECE {fmt_number(calibration['ece'])}")
    top.grid(alpha=0.3)
    bottom.bar(centres, [row["count"] for row in bins], width=width * 0.9, color="#009688")
    bottom.set_xlim(0, 1)
    bottom.set_xlabel(f"confidence{wrap}(probability of the predicted class)")
    bottom.set_ylabel("images")
    bottom.grid(axis="y", alpha=0.3)
    # Below the figure, where no bin's bar or dot can be hidden behind it.
    legend_below(fig, bottom, *top.get_legend_handles_labels())
    return _saved(fig, path, phone, source)
