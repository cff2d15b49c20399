"""The arithmetic of a referral decision: pure numpy functions of labels, probabilities and counts.

A group of classes (`positive`, their indices) is the one a clinician would send on to a
specialist; the model "refers" an image when it predicts any class of the group. screening_counts
counts that decision from a confusion matrix. referral_score sums the group's probabilities, which
referral_auc ranks and referral_operating_point thresholds on validation. Which classes form the
group, and how the pages read these numbers, is screening.py's concern.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from reportgen.confidence import (
    BOOTSTRAP_RESAMPLES,
    BOOTSTRAP_SEED,
    exact_interval,
    percentile_interval,
    resample_counts,
    weighted_auc,
)

# The sensitivity a referral threshold is set for on validation (a choice, not a standard: screening
# favours finding the cases over sparing the rest, and a tenth missed is a common line to draw).
TARGET_SENSITIVITY = 0.9


def referral_score(probabilities: np.ndarray, positive: list[int]) -> np.ndarray:
    """The model's probability that each image belongs to the group: its classes' sum.

    probabilities: (N, K) softmax outputs; positive: indices into K. Returns (N,).
    """
    return probabilities[:, positive].sum(axis=1)


def referral_auc(
    labels: np.ndarray,
    probabilities: np.ndarray,
    positive: list[int],
    resamples: int = BOOTSTRAP_RESAMPLES,
) -> dict[str, float | None]:
    """ROC AUC of referral_score for membership of the group (ties count half), with a 95%
    percentile bootstrap interval over test images (the resamples of
    confidence.metric_intervals; resamples without an image of the group, or without any other,
    are left out). None throughout where the images hold no member of the group or no other image;
    no interval with resamples=0.

    labels: (N,) true classes; probabilities: (N, K) softmax outputs; positive: indices into K.
    """
    in_group = np.isin(labels, positive)
    score = referral_score(probabilities, positive)
    estimate = float(weighted_auc(in_group, score, np.ones((1, labels.shape[0])))[0])
    low = high = None
    if resamples > 0 and not math.isnan(estimate):
        counts = resample_counts(labels.shape[0], resamples, BOOTSTRAP_SEED)
        low, high = percentile_interval(weighted_auc(in_group, score, counts))
    return {"estimate": None if math.isnan(estimate) else estimate, "low": low, "high": high}


def referral_operating_point(
    val_labels: np.ndarray,
    val_probabilities: np.ndarray,
    test_labels: np.ndarray,
    test_probabilities: np.ndarray,
    positive: list[int],
    target: float = TARGET_SENSITIVITY,
) -> dict[str, Any] | None:
    """A referral threshold set on validation, then applied unchanged to test.

    val_labels: (M,) and test_labels: (N,) true classes; val_probabilities: (M, K) and
    test_probabilities: (N, K) softmax outputs; positive: indices into K.

    The threshold is the highest summed probability of the group (referral_score) that refers at
    least `target` of the validation images of the group: an image is referred when its score is
    at least the threshold. Only validation labels choose it. Returns the threshold, what it gives
    on validation and, counted as screening_counts counts, on test. None where validation holds no
    image of the group or no other image, or test holds none to count.
    """
    val_in_group = np.isin(val_labels, positive)
    if val_in_group.all() or not val_in_group.any() or test_labels.size == 0:
        return None
    val_score = referral_score(val_probabilities, positive)
    group_scores = np.sort(val_score[val_in_group])[::-1]
    needed = math.ceil(target * group_scores.size - 1e-9)  # images of the group to refer
    threshold = float(group_scores[needed - 1])
    val_referred = val_score >= threshold
    test_in_group = np.isin(test_labels, positive)
    test_referred = referral_score(test_probabilities, positive) >= threshold
    # A 2x2 confusion matrix (rows: not in group, in group; columns: not referred, referred).
    matrix = np.array(
        [
            [np.sum(~test_in_group & ~test_referred), np.sum(~test_in_group & test_referred)],
            [np.sum(test_in_group & ~test_referred), np.sum(test_in_group & test_referred)],
        ]
    )
    return {
        "target_sensitivity": target,
        "threshold": threshold,
        "val": {
            "positives": int(val_in_group.sum()),
            "negatives": int((~val_in_group).sum()),
            "sensitivity": float(val_referred[val_in_group].mean()),
            "specificity": float((~val_referred[~val_in_group]).mean()),
        },
        "test": {
            key: value
            for key, value in screening_counts(matrix, [1]).items()
            if key != "referred_by_class"
        },
    }


def screening_counts(matrix: np.ndarray, positive: list[int]) -> dict[str, Any]:
    """From a confusion matrix and the group's class indices: how many of the group's images are
    referred (sensitivity), how many of the others are not (specificity), and how many images in
    all are referred.

    matrix: (K, K) counts, rows true class, columns predicted; positive: indices into K.
    "referred_by_class" is a list of K: per true class, its images referred.
    """
    in_group = np.zeros(matrix.shape[0], dtype=bool)
    in_group[positive] = True
    positives = int(matrix[in_group].sum())
    negatives = int(matrix[~in_group].sum())
    referred_positives = int(matrix[np.ix_(in_group, in_group)].sum())
    cleared_negatives = int(matrix[np.ix_(~in_group, ~in_group)].sum())
    referred = int(matrix[:, in_group].sum())
    cleared = positives + negatives - referred
    return {
        "positives": positives,
        "negatives": negatives,
        "referred_positives": referred_positives,
        "missed_positives": positives - referred_positives,
        "cleared_negatives": cleared_negatives,
        "referred": referred,
        "cleared": cleared,  # images not referred
        "sensitivity": exact_interval(referred_positives, positives),
        "specificity": exact_interval(cleared_negatives, negatives),
        # Of the images referred, how many belong to the group (positive predictive value).
        "precision": exact_interval(referred_positives, referred),
        # Of the images not referred, how many rightly so (negative predictive value).
        "npv": exact_interval(cleared_negatives, cleared),
        "referred_share": referred / max(positives + negatives, 1),
        # How common the group is among these images: what the predictive value rests on.
        "prevalence": positives / max(positives + negatives, 1),
        "referred_by_class": matrix[:, in_group].sum(axis=1).astype(int).tolist(),
    }


def screening_rates(counts: dict[str, Any]) -> dict[str, float]:
    """screening_counts' sensitivity, specificity and share referred as numbers (NaN: none)."""
    return {
        name: math.nan if value is None else value
        for name, value in (
            ("sensitivity", counts["sensitivity"]["estimate"]),
            ("specificity", counts["specificity"]["estimate"]),
            ("referred_share", counts["referred_share"]),
        )
    }
