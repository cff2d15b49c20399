"""Which figures a build draws, from which data, and whether the last build's can be reused.

figures.py, line_charts.py and phone_figures.py draw one figure per function; this module lists
the calls for a build's pages (figure_jobs) and its Experiments page (experiment_figure_jobs),
and digests their inputs.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from reportgen.digest import file_digest, sources_digest
from reportgen.experiments import variant_slug
from reportgen.figures import (
    plot_class_prevalence,
    plot_confusion_matrix,
    plot_recall_by_variant,
    plot_sample_grid,
    shortened,
)
from reportgen.formatting import is_score
from reportgen.line_charts import (
    Limits,
    plot_loss_curves,
    plot_metric_curves,
    plot_referral_roc,
    plot_reliability_diagram,
    plot_roc_curves,
)
from reportgen.phone_figures import (
    plot_class_prevalence_phone,
    plot_confusion_matrix_phone,
    plot_recall_by_variant_phone,
    plot_sample_grid_phone,
)
from reportgen.referral import screening_counts, screening_rates
from reportgen.screening import endpoint_of

# Of a variant's name in the line above a phone rendition's title (13-point text within about 4
# inches, the seed after it).
PHONE_NAME_CHARACTERS = 26


def shared_limits(
    values: list[float], floor: float = 0.0, ceiling: float | None = None
) -> Limits | None:
    """y-axis limits that hold every finite value with a 5% margin, kept within [floor, ceiling]:
    one scale for the same curve of every variant, so their heights compare across tabs. None
    (each figure fits its own) when no value is finite (a missing one is None or NaN)."""
    finite = [value for value in values if is_score(value)]
    if not finite:
        return None
    low, high = min(finite), max(finite)
    margin = 0.05 * (high - low or 1.0)
    top = high + margin if ceiling is None else min(ceiling, high + margin)
    return (max(floor, low - margin), top)


def validated_point(operating_point: dict[str, Any] | None) -> tuple[float, float] | None:
    """(1 - specificity, sensitivity) on test at the threshold set on validation, if any."""
    if operating_point is None:
        return None
    test = operating_point["test"]
    if test["sensitivity"]["estimate"] is None or test["specificity"]["estimate"] is None:
        return None
    return (1 - test["specificity"]["estimate"], test["sensitivity"]["estimate"])


def figure_source(dataset: dict[str, Any]) -> str:
    """The line under every figure that names its data, flagging an unofficial file."""
    flag = "" if dataset["official"] else " (unofficial file)"
    return f"Data: {dataset['name']}{flag}"


def _with_source(jobs: dict[str, Callable[[], Path]], source: str) -> dict[str, Callable[[], Path]]:
    return {key: partial(job, source=source) for key, job in jobs.items()}


def experiment_figure_jobs(
    experiments: dict[str, Any], dataset: dict[str, Any], figures_dir: Path
) -> dict[str, Callable[[], Path]]:
    """Like figure_jobs, for the Experiments page: the recall heat map, and each variant's loss
    curves, accuracy/AUC curves and confusion matrix (first seed), each with its phone
    rendition; figure_source of dataset (results.json's) under each."""
    class_names = dataset["class_names"]
    variants = experiments["variants"]
    heat_map = (
        [variant["name"] for variant in variants],
        [variant["mean"]["per_class_recall"] for variant in variants],
        class_names,
    )
    seeds = len(experiments["seeds"])
    jobs: dict[str, Callable[[], Path]] = {
        "experiments/recall_by_variant": partial(
            plot_recall_by_variant,
            *heat_map,
            figures_dir / "experiments" / "recall_by_variant.png",
            seeds,
        ),
        "experiments/recall_by_variant.phone": partial(
            plot_recall_by_variant_phone,
            *heat_map,
            figures_dir / "experiments" / "recall_by_variant.phone.png",
            seeds,
        ),
    }
    # Every variant's curves on the same scales, so that flipping between their tabs compares
    # heights as well as shapes.
    rows = [row for variant in variants for row in variant["runs"][0]["history"]]
    loss_ylim = shared_limits([row[f"{split}_loss"] for row in rows for split in ("train", "val")])
    metric_ylims = {
        metric: shared_limits(
            [row[f"{split}_{metric}"] for row in rows for split in ("train", "val")], 0.0, 1.0
        )
        for metric in ("accuracy", "auc")
    }
    for variant in variants:
        slug, first = variant_slug(variant["name"]), variant["runs"][0]
        # The line naming the variant above a figure's title; a phone's is shortened to fit.
        contexts = {
            "": f"{variant['name']}, seed {first['seed']}",
            ".phone": f"{shortened(variant['name'], PHONE_NAME_CHARACTERS)}, seed {first['seed']}",
        }
        for suffix, context in contexts.items():
            for name, plot, limits in (
                ("loss", plot_loss_curves, loss_ylim),
                ("metrics", plot_metric_curves, metric_ylims),
            ):
                jobs[f"experiments/{slug}_{name}{suffix}"] = partial(
                    plot,
                    first["history"],
                    figures_dir / "experiments" / f"{slug}_{name}{suffix}.png",
                    context,
                    limits,
                    phone=bool(suffix),
                )
            jobs[f"experiments/{slug}_confusion{suffix}"] = partial(
                plot_confusion_matrix_phone if suffix else plot_confusion_matrix,
                first["confusion_matrix_normalized"],
                class_names,
                figures_dir / "experiments" / f"{slug}_confusion{suffix}.png",
                normalized=True,
                context=context,
            )
    return _with_source(jobs, figure_source(dataset))


# Under data/: the digest of the inputs the figures were drawn from, then each figure's SHA-256
# and path under figures/ (sha256sum's format), so a reused folder can be checked file by file.
DIGEST_FILE = "figures.sha256"


def figures_manifest(digest: str, figures_dir: Path) -> str:
    """DIGEST_FILE's text for the figures now in figures_dir, drawn from inputs with digest."""
    files = sorted(path for path in figures_dir.rglob("*") if path.is_file())
    lines = [
        f"{file_digest(path, 'sha256')}  {path.relative_to(figures_dir).as_posix()}"
        for path in files
    ]
    return "\n".join([digest, *lines]) + "\n"


def reusable_figures(manifest: str, digest: str, figures_dir: Path) -> bool:
    """Whether figures_dir holds, unchanged, every figure a manifest lists for these inputs."""
    first, *lines = manifest.splitlines() or [""]
    if first != digest or not lines:
        return False
    for line in lines:
        expected, _, name = line.partition("  ")
        path = figures_dir / name
        if not path.is_file() or file_digest(path, "sha256") != expected:
            return False
    return True


# The code that draws the figures or computes what they show, whose text is part of the digest:
# every reportgen module this one reaches but errors.py, which holds message text only.
# (tests/test_figures.py checks that it lists exactly those.)
FIGURE_SOURCES = (
    "figure_plan.py",
    "figures.py",
    "line_charts.py",
    "phone_figures.py",
    "phone_layout.py",
    "screening.py",
    "referral.py",
    "confidence.py",
    "formatting.py",
    "sources.py",
    "experiments.py",
    "study.py",
    "config.py",
    "seeds.py",
    "cache.py",
    "digest.py",
)


def inputs_digest(
    results: dict[str, Any],
    test_labels: np.ndarray,
    test_probabilities: np.ndarray,
    experiments: dict[str, Any] | None,
) -> str:
    """SHA-256 of everything the figures show, and of the code that draws them (FIGURE_SOURCES):
    equal means redraw-free. The sample grid's images are named by the run's cache key (its code,
    settings and data file), which a re-render, without the images, still has."""
    test = results["test"]
    shown = {
        "source": figure_source(results["dataset"]),
        "classes": results["dataset"]["class_names"],
        "counts": results["dataset"]["counts"],
        "history": results["history"],
        "confusion": [
            test["confusion_matrix"],
            test["confusion_matrix_normalized"],
            test["per_class_auc"],
        ],
        "calibration": test.get("calibration"),
        "run": results.get("cache", {}).get("key"),
        # None without a screening endpoint.
        "referral": [results.get("referral_auc"), results.get("referral_operating_point")],
        "experiments": None
        if experiments is None
        else [
            [
                v["name"],
                v["runs"][0]["seed"],
                v["mean"]["per_class_recall"],
                v["runs"][0]["history"],
                v["runs"][0]["confusion_matrix_normalized"],
            ]
            for v in experiments["variants"]
        ],
    }
    digest = hashlib.sha256(sources_digest(FIGURE_SOURCES).encode())
    digest.update(json.dumps(shown, sort_keys=True, default=str).encode())
    for array in (test_labels, test_probabilities):
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


FIGURE_FILES = {
    "prevalence": "class_prevalence.png",
    "prevalence_phone": "class_prevalence.phone.png",  # phone_figures.py's narrow renditions
    "samples": "sample_grid.png",
    "samples_phone": "sample_grid.phone.png",
    "loss": "loss_curves.png",
    "loss_phone": "loss_curves.phone.png",  # the line charts' phone renditions (phone=True)
    "metrics": "accuracy_auc_curves.png",
    "metrics_phone": "accuracy_auc_curves.phone.png",
    "confusion_counts": "confusion_matrix_counts.png",
    "confusion_counts_phone": "confusion_matrix_counts.phone.png",
    "confusion_normalized": "confusion_matrix_normalized.png",
    "confusion_normalized_phone": "confusion_matrix_normalized.phone.png",
    "roc": "roc_curves.png",
    "roc_phone": "roc_curves.phone.png",
    "reliability": "reliability_diagram.png",
    "reliability_phone": "reliability_diagram.phone.png",
    "referral_roc": "referral_roc.png",
    "referral_roc_phone": "referral_roc.phone.png",
}


def _line_chart_jobs(
    key: str, plot: Callable[..., Path], path: dict[str, Path], *args: Any, **kwargs: Any
) -> dict[str, Callable[[], Path]]:
    """A line chart's job and its phone rendition's (line_charts.py draws both): key and
    key + "_phone", each drawing into its own file of path."""
    return {
        f"{key}{suffix}": partial(
            plot, *args, path=path[f"{key}{suffix}"], phone=bool(suffix), **kwargs
        )
        for suffix in ("", "_phone")
    }


def figure_jobs(
    results: dict[str, Any],
    test_labels: np.ndarray,
    test_probabilities: np.ndarray,
    sample_images: np.ndarray | None,
    sample_counts: np.ndarray | None,
    figures_dir: Path,
) -> dict[str, Callable[[], Path]]:
    """One call per figure of the site, each drawing into figures_dir with figure_source under
    it; the sample grids only when images are given. Calling them is the work; listing them
    first lets a caller show progress."""
    names = results["dataset"]["class_names"]
    test = results["test"]
    path = {key: figures_dir / file for key, file in FIGURE_FILES.items()}
    jobs: dict[str, Callable[[], Path]] = {
        "prevalence": partial(
            plot_class_prevalence, results["dataset"]["counts"], names, path["prevalence"]
        ),
        "prevalence_phone": partial(
            plot_class_prevalence_phone,
            results["dataset"]["counts"],
            names,
            path["prevalence_phone"],
        ),
        **_line_chart_jobs("loss", plot_loss_curves, path, results["history"]),
        **_line_chart_jobs("metrics", plot_metric_curves, path, results["history"]),
        **{
            f"confusion_{kind}{suffix}": partial(
                plot, test[matrix], names, path[f"confusion_{kind}{suffix}"], normalized=normalized
            )
            for kind, matrix, normalized in (
                ("counts", "confusion_matrix", False),
                ("normalized", "confusion_matrix_normalized", True),
            )
            for suffix, plot in (
                ("", plot_confusion_matrix),
                ("_phone", plot_confusion_matrix_phone),
            )
        },
        **_line_chart_jobs("reliability", plot_reliability_diagram, path, test["calibration"]),
    }
    if any(is_score(auc) for auc in test["per_class_auc"]):  # else a test split of one class
        jobs |= _line_chart_jobs(
            "roc",
            plot_roc_curves,
            path,
            test_labels,
            test_probabilities,
            names,
            test["per_class_auc"],
        )
    endpoint = endpoint_of(results["dataset"])
    if endpoint is not None and results["referral_auc"]["estimate"] is not None:
        rates = screening_rates(screening_counts(np.asarray(test["confusion_matrix"]), endpoint[1]))
        jobs |= _line_chart_jobs(
            "referral_roc",
            plot_referral_roc,
            path,
            test_labels,
            test_probabilities,
            endpoint[1],
            endpoint[0]["name"],
            results["referral_auc"]["estimate"],
            (1 - rates["specificity"], rates["sensitivity"]),
            validated=validated_point(results["referral_operating_point"]),
        )
    if sample_images is not None and sample_counts is not None:
        for key, plot in (("samples", plot_sample_grid), ("samples_phone", plot_sample_grid_phone)):
            jobs[key] = partial(plot, sample_images, sample_counts, names, path[key])
    return _with_source(jobs, figure_source(results["dataset"]))
