"""Decision thresholds as per-class log-prior offsets, tuned on validation data only.

Prediction becomes argmax_k(log p_k + b_k). Offsets b are found by exact coordinate ascent to
maximise balanced accuracy on the validation split; they are then applied unchanged to the test
split (reportgen/crossfit.py scores them honestly on val).
Shapes: labels (N,), probabilities (N, K), offsets (K,).
"""

from __future__ import annotations

import numpy as np

MAX_OFFSET = 5.0  # bound on |b_k| in log-probability units, against extreme shifts on tiny classes
# Thresholds tried per class and round: quantiles of the margins where a prediction flips.
CANDIDATES = 64


def _log_scores(probabilities: np.ndarray) -> np.ndarray:
    return np.log(np.clip(probabilities, 1e-12, None))


def _balanced_accuracy_rows(
    labels: np.ndarray, predictions: np.ndarray, n_classes: int
) -> np.ndarray:
    """Balanced accuracy of each row of predictions (C, N) against labels (N,)."""
    recalls = []
    for k in range(n_classes):
        members = labels == k
        if members.any():
            recalls.append((predictions[:, members] == k).mean(axis=1))
    return np.mean(recalls, axis=0)


def apply_offsets(probabilities: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Probabilities re-weighted by exp(offsets) and renormalised (a prior shift)."""
    scores = _log_scores(probabilities) + offsets[None, :]
    scores -= scores.max(axis=1, keepdims=True)
    weights = np.exp(scores)
    return weights / weights.sum(axis=1, keepdims=True)


def tune_offsets(
    val_labels: np.ndarray, val_probabilities: np.ndarray, rounds: int = 3
) -> np.ndarray:
    """Offsets maximising validation balanced accuracy; ties keep the offset nearest zero."""
    n_classes = val_probabilities.shape[1]
    scores = _log_scores(val_probabilities)
    offsets = np.zeros(n_classes)
    best = _balanced_accuracy_rows(
        val_labels, (scores + offsets).argmax(axis=1)[None, :], n_classes
    )[0]
    for _ in range(rounds):
        improved = False
        for k in range(n_classes):
            others = scores + offsets
            others[:, k] = -np.inf
            runner_up = others.argmax(axis=1)
            # Class k wins image i exactly when b_k exceeds margins[i].
            margins = others.max(axis=1) - scores[:, k]
            candidates = np.quantile(margins, np.linspace(0, 1, CANDIDATES)) + 1e-9
            candidates = np.unique(np.clip(np.append(candidates, 0.0), -MAX_OFFSET, MAX_OFFSET))
            predictions = np.where(margins[None, :] < candidates[:, None], k, runner_up[None, :])
            accuracy = _balanced_accuracy_rows(val_labels, predictions, n_classes)
            top = accuracy.max()
            if top > best + 1e-12:
                winners = candidates[accuracy >= top - 1e-12]
                offsets[k] = winners[np.abs(winners).argmin()]
                best, improved = top, True
        if not improved:
            break
    return offsets
