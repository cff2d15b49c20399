"""Stage 4: score the trained model on the test split and summarise it as plain data."""

from __future__ import annotations

from typing import Any

import numpy as np

from reportgen import confidence, metrics


def summarize_split(
    labels: np.ndarray, probabilities: np.ndarray, class_names: list[str]
) -> dict[str, Any]:
    """The headline metrics, confusion matrix and per-class report of one split, as JSON-ready
    data: all that validation needs.

    labels: (N,) true classes; probabilities: (N, K) softmax outputs.
    """
    n_classes = len(class_names)
    predictions = probabilities.argmax(axis=1)
    return {
        "n_images": int(labels.shape[0]),
        "accuracy": metrics.accuracy(labels, probabilities),
        "auc": metrics.mean_auc(labels, probabilities),
        "balanced_accuracy": metrics.balanced_accuracy(labels, predictions),
        "macro_f1": metrics.macro_f1(labels, predictions),
        "per_class_auc": metrics.per_class_auc(labels, probabilities),
        "confusion_matrix": metrics.confusion(labels, predictions, n_classes).tolist(),
        "report": metrics.classification_report_rows(labels, predictions, class_names),
    }


def summarize_test(
    labels: np.ndarray, probabilities: np.ndarray, class_names: list[str]
) -> dict[str, Any]:
    """Every test metric the pages show, as JSON-ready data: summarize_split's, with intervals,
    calibration and, for ordered grades, how far off the predictions are. (Validation gets
    summarize_split alone: resampling it for intervals no page shows would cost the most on the
    largest datasets.)

    labels: (N,) true classes; probabilities: (N, K) softmax outputs.
    """
    summary = summarize_split(labels, probabilities, class_names)
    predictions = probabilities.argmax(axis=1)
    matrix = np.asarray(summary["confusion_matrix"])
    return {
        **summary,
        # Read only where the classes are ordered grades (the ordinal-regression task).
        "ordinal": metrics.ordinal_errors(labels, predictions, len(class_names)),
        "confusion_matrix_normalized": metrics.row_normalized(matrix).tolist(),
        "intervals": confidence.metric_intervals(labels, probabilities),
        "calibration": confidence.reliability_bins(labels, probabilities),
    }
