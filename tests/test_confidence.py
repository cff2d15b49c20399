"""Bootstrap intervals and calibration against hand-computed cases and scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import beta
from sklearn.metrics import balanced_accuracy_score, roc_auc_score

from reportgen import confidence, metrics
from tests.test_metrics import random_predictions


def test_counts_from_indices_counts_each_draw() -> None:
    drawn = np.array([[0, 0, 1], [2, 2, 2]])
    assert confidence.counts_from_indices(drawn, 3).tolist() == [[2, 1, 0], [0, 0, 3]]


def test_resample_counts_are_seeded_and_draw_n_items_each() -> None:
    first = confidence.resample_counts(50, 20, seed=3)
    assert first.shape == (20, 50)
    assert (first.sum(axis=1) == 50).all()
    assert np.array_equal(first, confidence.resample_counts(50, 20, seed=3))
    assert not np.array_equal(first, confidence.resample_counts(50, 20, seed=4))


def test_weighted_auc_by_hand() -> None:
    positive = np.array([True, True, False, False])
    scores = np.array([0.9, 0.4, 0.5, 0.1])
    # Pairs (pos, neg): 0.9>0.5, 0.9>0.1, 0.4<0.5, 0.4>0.1 -> 3 of 4.
    # Drawing the first positive twice adds two more winning pairs: 5 of 6.
    # Without the 0.1 negative, the 0.4 positive loses its only pair: 1 of 2.
    counts = np.array([[1, 1, 1, 1], [2, 1, 1, 1], [1, 1, 1, 0], [1, 1, 0, 0]])
    result = confidence.weighted_auc(positive, scores, counts)
    np.testing.assert_allclose(result[:3], [3 / 4, 5 / 6, 1 / 2])
    assert np.isnan(result[3])  # no negative drawn


def test_weighted_auc_counts_ties_as_half() -> None:
    positive = np.array([True, False, False])
    scores = np.array([0.5, 0.5, 0.2])
    assert confidence.weighted_auc(positive, scores, np.ones((1, 3)))[0] == pytest.approx(0.75)


def test_resampled_metrics_by_hand() -> None:
    labels = np.array([0, 0, 1, 1])
    probabilities = np.array(
        [[0.9, 0.1], [0.4, 0.6], [0.45, 0.55], [0.2, 0.8]]
    )  # predicts 0, 1, 1, 1
    counts = np.array([[1, 1, 1, 1], [2, 0, 0, 2], [0, 0, 2, 2]])
    result = confidence.resampled_metrics(labels, probabilities, counts)
    np.testing.assert_allclose(result["accuracy"], [0.75, 1.0, 1.0])
    np.testing.assert_allclose(result["per_class_recall"][:2], [[0.5, 1.0], [1.0, 1.0]])
    assert np.isnan(result["per_class_recall"][2, 0]) and result["per_class_recall"][2, 1] == 1.0
    np.testing.assert_allclose(result["balanced_accuracy"], [0.75, 1.0, 1.0])
    # Class 1 scores 0.55, 0.8 on its images and 0.1, 0.6 on class 0's: 3 of 4 pairs won;
    # class 0 scores 0.9, 0.4 on its images and 0.45, 0.2 on the others': also 3 of 4.
    assert result["auc"][0] == pytest.approx(3 / 4)
    assert result["auc"][1] == pytest.approx(1.0)
    assert np.isnan(result["auc"][2])  # one class only: AUC undefined


def test_resampled_metrics_equal_scikit_learn_on_the_resampled_arrays() -> None:
    labels, probabilities = random_predictions(300, 5, seed=7)
    drawn = np.random.default_rng(1).integers(0, 300, size=(6, 300))
    result = confidence.resampled_metrics(
        labels, probabilities, confidence.counts_from_indices(drawn, 300)
    )
    for b, rows in enumerate(drawn):
        sample_labels, sample_probabilities = labels[rows], probabilities[rows]
        predictions = sample_probabilities.argmax(axis=1)
        assert result["accuracy"][b] == pytest.approx(
            metrics.accuracy(sample_labels, sample_probabilities)
        )
        assert result["auc"][b] == pytest.approx(
            metrics.mean_auc(sample_labels, sample_probabilities)
        )
        assert result["balanced_accuracy"][b] == pytest.approx(
            balanced_accuracy_score(sample_labels, predictions)
        )
        assert result["auc"][b] == pytest.approx(
            np.mean(
                [roc_auc_score(sample_labels == k, sample_probabilities[:, k]) for k in range(5)]
            )
        )


def test_percentile_interval_by_hand() -> None:
    values = np.arange(101, dtype=float)
    assert confidence.percentile_interval(values, 0.95) == pytest.approx((2.5, 97.5))
    assert confidence.percentile_interval(np.array([np.nan, 1.0, 1.0]), 0.95) == (1.0, 1.0)
    assert confidence.percentile_interval(np.array([np.nan, np.nan])) == (None, None)


def test_metric_intervals_bracket_the_estimates_and_match_the_binomial_width() -> None:
    rng = np.random.default_rng(0)
    n = 2000
    labels = rng.integers(0, 2, size=n)
    correct = rng.random(n) < 0.8
    predicted = np.where(correct, labels, 1 - labels)
    probabilities = np.where(np.eye(2)[predicted] == 1, 0.7, 0.3)
    intervals = confidence.metric_intervals(labels, probabilities, n_resamples=1000, seed=0)
    accuracy = intervals["accuracy"]
    assert accuracy["estimate"] == pytest.approx(correct.mean())
    assert accuracy["low"] < accuracy["estimate"] < accuracy["high"]
    p = correct.mean()
    binomial_width = 2 * 1.96 * np.sqrt(p * (1 - p) / n)
    assert accuracy["high"] - accuracy["low"] == pytest.approx(binomial_width, rel=0.15)
    assert intervals["resamples"] == 1000 and intervals["seed"] == 0 and intervals["level"] == 0.95
    for row in intervals["per_class_recall"]:
        assert row["low"] <= row["estimate"] <= row["high"]


def test_recall_of_none_or_all_found_has_the_exact_binomial_bound() -> None:
    """0 of 20 found: a bootstrap gives 0.00-0.00; Clopper-Pearson's upper bound has the closed
    form 1 - (alpha / 2) ** (1 / n), and for all found the lower bound is (alpha / 2) ** (1 / n)."""
    labels = np.repeat([0, 1, 2], [20, 10, 30])
    predicted = np.repeat([1, 1, 0], [20, 10, 30])  # class 0 never found, class 1 always
    none_found, all_found, _ = confidence.recall_intervals(labels, predicted, 3)
    assert none_found["estimate"] == 0.0 and none_found["low"] == 0.0
    assert none_found["high"] == pytest.approx(1 - 0.025 ** (1 / 20))  # 0.168
    assert all_found["estimate"] == 1.0 and all_found["high"] == 1.0
    assert all_found["low"] == pytest.approx(0.025 ** (1 / 10))  # 0.692
    probabilities = np.eye(3)[predicted] * 0.7 + 0.1
    published = confidence.metric_intervals(labels, probabilities, n_resamples=50)
    assert published["per_class_recall"][0] == none_found


def test_balanced_accuracy_interval_of_one_class_is_the_jeffreys_interval() -> None:
    """With one class, the mean of the draws is that class's Beta(k + 1/2, n - k + 1/2) posterior:
    its percentiles are the Jeffreys interval, up to the sampling error of the draws."""
    labels, predicted = np.zeros(30, dtype=int), np.repeat([0, 1], [12, 18])
    interval = confidence.balanced_accuracy_interval(labels, predicted, 2, seed=0)
    assert interval["estimate"] == pytest.approx(12 / 30)
    expected = beta.ppf([0.025, 0.975], 12.5, 18.5)
    assert (interval["low"], interval["high"]) == pytest.approx(tuple(expected), abs=0.005)


def test_a_class_never_found_widens_the_balanced_accuracy_interval() -> None:
    """Three classes, the third (20 images) never found. A bootstrap keeps its recall at 0 in every
    resample; the posterior lets it reach up, so the upper bound moves up and the estimate, the
    metric of the test split, stays inside."""
    labels = np.repeat([0, 1, 2], [200, 100, 20])
    rng = np.random.default_rng(1)
    predicted = np.where(rng.random(labels.size) < 0.7, labels, (labels + 1) % 2)
    predicted[labels == 2] = 0
    probabilities = np.eye(3)[predicted] * 0.7 + 0.1
    intervals = confidence.metric_intervals(labels, probabilities, seed=0)
    balanced = intervals["balanced_accuracy"]
    assert balanced["estimate"] == pytest.approx(
        metrics.balanced_accuracy(labels, predicted), abs=1e-12
    )
    assert balanced["low"] < balanced["estimate"] < balanced["high"]
    counts = confidence.resample_counts(labels.size, 1000, seed=0)
    resampled = confidence.resampled_metrics(labels, probabilities, counts)["balanced_accuracy"]
    _, bootstrap_high = confidence.percentile_interval(resampled)
    assert balanced["high"] > bootstrap_high + 0.01
    assert intervals["balanced_accuracy_method"].startswith("Bayesian credible interval")


def test_balanced_accuracy_interval_leaves_out_classes_without_test_images() -> None:
    labels, predicted = np.array([0, 0, 2, 2]), np.array([0, 1, 2, 2])
    interval = confidence.balanced_accuracy_interval(labels, predicted, 3, seed=0)
    assert interval["estimate"] == pytest.approx(0.75)
    empty = confidence.balanced_accuracy_interval(np.array([], int), np.array([], int), 3, seed=0)
    assert empty == {"estimate": None, "low": None, "high": None}


def test_metric_intervals_are_seeded() -> None:
    # (Their speed shows in a build's stage timings, not in a timed test: see benchmarks/.)
    labels, probabilities = random_predictions(2005, 7, seed=0)
    first = confidence.metric_intervals(labels, probabilities, seed=5)
    assert first == confidence.metric_intervals(labels, probabilities, seed=5)
    assert first != confidence.metric_intervals(labels, probabilities, seed=6)
    assert first["auc"]["estimate"] == pytest.approx(metrics.mean_auc(labels, probabilities))


def test_a_class_absent_from_the_test_split_has_no_recall_interval() -> None:
    labels = np.array([0, 0, 1, 1, 0])
    probabilities = np.tile([0.5, 0.3, 0.2], (5, 1))
    intervals = confidence.metric_intervals(labels, probabilities, n_resamples=50)
    assert intervals["per_class_recall"][2] == {"estimate": None, "low": None, "high": None}


def test_reliability_bins_and_ece_by_hand() -> None:
    labels = np.array([0, 1, 0, 0])
    probabilities = np.array([[0.95, 0.05], [0.95, 0.05], [0.65, 0.35], [0.65, 0.35]])
    calibration = confidence.reliability_bins(labels, probabilities, n_bins=10)
    bins = calibration["bins"]
    assert [row["count"] for row in bins] == [0, 0, 0, 0, 0, 0, 2, 0, 0, 2]
    assert bins[6]["confidence"] == pytest.approx(0.65) and bins[6]["accuracy"] == 1.0
    assert bins[9]["confidence"] == pytest.approx(0.95) and bins[9]["accuracy"] == 0.5
    assert bins[0]["confidence"] is None and bins[0]["accuracy"] is None
    # Half the images are 0.35 under-confident, half 0.45 over-confident.
    assert calibration["ece"] == pytest.approx(0.5 * 0.35 + 0.5 * 0.45)
    assert (bins[6]["low"], bins[6]["high"]) == pytest.approx((0.6, 0.7))


def test_reliability_bin_edges_are_closed_on_the_right() -> None:
    probabilities = np.array([[0.7, 0.3], [0.5, 0.5], [1.0, 0.0]])
    bins = confidence.reliability_bins(np.array([0, 0, 0]), probabilities, n_bins=10)["bins"]
    assert bins[6]["count"] == 1 and bins[4]["count"] == 1 and bins[9]["count"] == 1


def test_a_perfectly_calibrated_model_has_zero_ece() -> None:
    labels = np.array([0, 0, 0, 1])  # 0.75 confident in class 0, right 3 times of 4
    probabilities = np.tile([0.75, 0.25], (4, 1))
    assert confidence.reliability_bins(labels, probabilities)["ece"] == pytest.approx(0.0)
