"""Which epoch a run keeps: the score epochs are compared by, the first best, and when early
stopping gives up. train_model applies the rule online; crossfit replays it on parts of val."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from reportgen import metrics


def selection_score(labels: np.ndarray, probabilities: np.ndarray, select_epoch: str) -> float:
    """The score an epoch is selected by: in train_model as it trains, and in crossfit."""
    if select_epoch == "val_auc":
        return metrics.mean_auc(labels, probabilities)
    if select_epoch == "val_balanced_accuracy":
        return metrics.balanced_accuracy(labels, probabilities.argmax(axis=1))
    raise ValueError(f"unknown epoch selection {select_epoch!r}")


def first_best(scores: Sequence[float]) -> int:
    """0-based index of the first highest score; a NaN score never wins (0 if all are NaN)."""
    best, best_score = 0, -math.inf
    for index, score in enumerate(scores):
        if score > best_score:
            best, best_score = index, score
    return best


def patience_ran_out(scores: Sequence[float], patience: int) -> bool:
    """Whether training stops after the last of these scores: `patience` epochs have passed
    without beating the best (patience 0: never stop early)."""
    return patience > 0 and len(scores) - 1 - first_best(scores) >= patience
