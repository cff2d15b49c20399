"""How sure the test numbers are: intervals over test images, and calibration.

Accuracy and AUC get percentile bootstrap intervals. A class's recall is a count, k of its n test
images found, so it gets the exact binomial (Clopper-Pearson) interval: a bootstrap of 0 of 20
found is 0.00-0.00, as if certain, where the exact upper bound is 0.17. Balanced accuracy, the
mean of those recalls, gets a Bayesian credible interval (after Brodersen et al., 2010): each
class's recall drawn from its Beta posterior, the draws averaged. A bootstrap would give a class
found in none of its images no width at all, and so leave out how far its recall may reach.

numpy, and scipy for the binomial interval. Shapes: `labels` is (N,) of class indices,
`probabilities` is (N, K) with rows summing to 1, `counts` is (B, N): how often each test image is
drawn in each of B bootstrap resamples. Every resample is scored as a weighted test set, so B
resamples cost a few (B, N) array operations instead of B calls into scikit-learn.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.stats import binomtest

BOOTSTRAP_RESAMPLES = 1000
BOOTSTRAP_SEED = 0
POSTERIOR_DRAWS = 20000
JEFFREYS_PRIOR = 0.5  # Beta(1/2, 1/2): the recall's prior, as in the Jeffreys binomial interval
INTERVAL_LEVEL = 0.95
CALIBRATION_BINS = 10


def resample_counts(n_items: int, n_resamples: int, seed: int) -> np.ndarray:
    """(B, N) int: how many times each of N items is drawn, with replacement, in each resample."""
    rng = np.random.default_rng(seed)
    drawn = rng.integers(0, n_items, size=(n_resamples, n_items))
    return counts_from_indices(drawn, n_items)


def counts_from_indices(indices: np.ndarray, n_items: int) -> np.ndarray:
    """(B, N) multiplicities from (B, M) drawn item indices."""
    n_resamples = indices.shape[0]
    offsets = n_items * np.arange(n_resamples)[:, None]
    flat = np.bincount((indices + offsets).ravel(), minlength=n_resamples * n_items)
    return flat.reshape(n_resamples, n_items)


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator, NaN where the denominator is 0."""
    out = np.full(np.broadcast(numerator, denominator).shape, np.nan)
    return np.divide(numerator, denominator, out=out, where=denominator > 0)


def _mean_defined(values: np.ndarray) -> np.ndarray:
    """Row means over the non-NaN entries of (B, K) values; NaN for a row with none."""
    defined = ~np.isnan(values)
    return _ratio(np.where(defined, values, 0.0).sum(axis=1), defined.sum(axis=1))


def weighted_auc(positive: np.ndarray, scores: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """(B,) ROC AUC of scores for the positive mask, each item weighted by its count in a row.

    positive, scores: (N,); counts: (B, N). The Mann-Whitney form, ties counted as one half:
    equal to sklearn's roc_auc_score on the resampled arrays. NaN where a row has no positive
    or no negative item.
    """
    order = np.argsort(scores, kind="stable")
    sorted_scores = scores[order]
    starts = np.flatnonzero(np.r_[True, sorted_scores[1:] != sorted_scores[:-1]])
    weights = counts[:, order].astype(float)
    is_positive = positive[order]
    positive_per_score = np.add.reduceat(weights * is_positive, starts, axis=1)
    negative_per_score = np.add.reduceat(weights * ~is_positive, starts, axis=1)
    negatives_below = np.cumsum(negative_per_score, axis=1) - negative_per_score
    wins = (positive_per_score * (negatives_below + 0.5 * negative_per_score)).sum(axis=1)
    pairs = positive_per_score.sum(axis=1) * negative_per_score.sum(axis=1)
    return _ratio(wins, pairs)


def resampled_metrics(
    labels: np.ndarray, probabilities: np.ndarray, counts: np.ndarray
) -> dict[str, np.ndarray]:
    """Accuracy, mean AUC and balanced accuracy (B,) and per-class recall (B, K) of each resample.

    Definitions as in reportgen.metrics (MedMNIST's): AUC is the mean one-vs-rest AUC over the
    classes defined in the resample; balanced accuracy the mean recall over classes present in it.
    """
    n_classes = probabilities.shape[1]
    correct = (probabilities.argmax(axis=1) == labels).astype(float)
    one_hot = np.eye(n_classes)[labels]
    weights = counts.astype(float)
    support = weights @ one_hot
    recall = _ratio(weights @ (one_hot * correct[:, None]), support)
    per_class_auc = np.stack(
        [weighted_auc(labels == k, probabilities[:, k], counts) for k in range(n_classes)], axis=1
    )
    return {
        "accuracy": _ratio(weights @ correct, weights.sum(axis=1)),
        "auc": _mean_defined(per_class_auc),
        "balanced_accuracy": _mean_defined(recall),
        "per_class_recall": recall,
    }


def percentile_interval(
    values: np.ndarray, level: float = INTERVAL_LEVEL
) -> tuple[float | None, float | None]:
    """(low, high) percentiles of the non-NaN values around the central `level` share; None if none."""
    finite = values[~np.isnan(values)]
    if finite.size == 0:
        return None, None
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(finite, [tail, 100 - tail])
    return float(low), float(high)


def _interval(estimate: float, values: np.ndarray, level: float) -> dict[str, float | None]:
    low, high = percentile_interval(values, level)
    return {"estimate": None if np.isnan(estimate) else float(estimate), "low": low, "high": high}


def recall_intervals(
    labels: np.ndarray, predicted: np.ndarray, n_classes: int, level: float = INTERVAL_LEVEL
) -> list[dict[str, float | None]]:
    """Per class: recall k / n on its n test images, with the exact binomial (Clopper-Pearson)
    interval at `level`; all None for a class without test images."""
    return [
        exact_interval(found, n, level)
        for found, n in class_tallies(labels, predicted, n_classes).tolist()
    ]


def exact_interval(
    successes: int, trials: int, level: float = INTERVAL_LEVEL
) -> dict[str, float | None]:
    """successes / trials with its exact binomial (Clopper-Pearson) interval; all None for no
    trials."""
    if trials == 0:
        return {"estimate": None, "low": None, "high": None}
    bounds = binomtest(successes, trials).proportion_ci(confidence_level=level, method="exact")
    return {"estimate": successes / trials, "low": bounds.low, "high": bounds.high}


def class_tallies(labels: np.ndarray, predicted: np.ndarray, n_classes: int) -> np.ndarray:
    """(K, 2) int: per class, its test images found and its test images."""
    one_hot = np.eye(n_classes, dtype=np.int64)[labels]
    return np.stack([one_hot[predicted == labels].sum(axis=0), one_hot.sum(axis=0)], axis=1)


def balanced_accuracy_interval(
    labels: np.ndarray,
    predicted: np.ndarray,
    n_classes: int,
    seed: int,
    draws: int = POSTERIOR_DRAWS,
    level: float = INTERVAL_LEVEL,
) -> dict[str, float | None]:
    """Balanced accuracy on the test images, with the central `level` of its posterior.

    After Brodersen et al. (2010): class k's recall, given k_found of its n_k images, has the
    posterior Beta(k_found + a, n_k - k_found + a); balanced accuracy's is that of the mean of
    independent draws, one per class with test images. The prior is Jeffreys' (a = 1/2). Classes
    without test images are left out, as in the estimate.
    """
    found, images = class_tallies(labels, predicted, n_classes)[np.unique(labels)].T
    if images.size == 0:
        return {"estimate": None, "low": None, "high": None}
    rng = np.random.default_rng(seed)
    recalls = rng.beta(
        found + JEFFREYS_PRIOR, images - found + JEFFREYS_PRIOR, (draws, images.size)
    )
    low, high = percentile_interval(recalls.mean(axis=1), level)
    return {"estimate": float(np.mean(found / images)), "low": low, "high": high}


def metric_intervals(
    labels: np.ndarray,
    probabilities: np.ndarray,
    n_resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
    level: float = INTERVAL_LEVEL,
) -> dict[str, Any]:
    """Every headline metric's interval over test images (each by its own method), as JSON data.

    Estimates are the metrics of the full test split. For accuracy and AUC, low and high bound
    the central `level` of the metrics of `n_resamples` seeded resamples of the test images (with
    replacement); balanced accuracy has its posterior interval (same seed), per-class recall
    exact binomial intervals.
    """
    everything = np.ones((1, labels.shape[0]), dtype=np.int64)
    estimates = resampled_metrics(labels, probabilities, everything)
    resampled = resampled_metrics(
        labels, probabilities, resample_counts(labels.shape[0], n_resamples, seed)
    )
    predicted, n_classes = probabilities.argmax(axis=1), probabilities.shape[1]
    return {
        "method": "percentile bootstrap over test images",
        "per_class_recall_method": "exact binomial (Clopper-Pearson)",
        "balanced_accuracy_method": "Bayesian credible interval of the mean recall, Jeffreys "
        "prior per class (adapted from Brodersen et al., 2010)",
        "resamples": n_resamples,
        "posterior_draws": POSTERIOR_DRAWS,
        "seed": seed,
        "level": level,
        **{
            name: _interval(float(estimates[name][0]), resampled[name], level)
            for name in ("accuracy", "auc")
        },
        "balanced_accuracy": balanced_accuracy_interval(
            labels, predicted, n_classes, seed, level=level
        ),
        "per_class_recall": recall_intervals(labels, predicted, n_classes, level),
    }


def reliability_bins(
    labels: np.ndarray, probabilities: np.ndarray, n_bins: int = CALIBRATION_BINS
) -> dict[str, Any]:
    """Top-label calibration: confidence (the predicted class's probability) against accuracy.

    Bins split [0, 1] into n_bins equal intervals (low, high], the first including 0. Each bin
    holds its image count, mean confidence and accuracy (None when empty). The expected
    calibration error is sum over bins of (count / N) * |accuracy - mean confidence|.
    """
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == labels
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    which = np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, n_bins - 1)
    count = np.bincount(which, minlength=n_bins)
    mean_confidence = _ratio(np.bincount(which, weights=confidence, minlength=n_bins), count)
    accuracy = _ratio(np.bincount(which, weights=correct.astype(float), minlength=n_bins), count)
    gaps = np.where(count > 0, np.abs(np.nan_to_num(accuracy - mean_confidence)), 0.0)
    n_items = max(labels.shape[0], 1)
    return {
        "n_bins": n_bins,
        "ece": float((count / n_items * gaps).sum()),
        "mean_confidence": float(confidence.mean()) if labels.size else None,
        "bins": [
            {
                "low": float(edges[b]),
                "high": float(edges[b + 1]),
                "count": int(count[b]),
                "confidence": None if count[b] == 0 else float(mean_confidence[b]),
                "accuracy": None if count[b] == 0 else float(accuracy[b]),
            }
            for b in range(n_bins)
        ],
    }
