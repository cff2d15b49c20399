"""reportgen's metrics equal MedMNIST's evaluator and scikit-learn on the same predictions."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from medmnist.evaluator import getACC, getAUC
from sklearn.metrics import balanced_accuracy_score, classification_report, f1_score

from reportgen import metrics
from reportgen.evaluate import summarize_test


def random_predictions(n: int, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, k, size=n)
    labels[:k] = np.arange(k)  # every class present
    logits = rng.normal(size=(n, k)) + 1.5 * np.eye(k)[labels]
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return labels, probabilities


@pytest.mark.parametrize(
    ("k", "task"), [(7, "multi-class"), (5, "ordinal-regression"), (2, "binary-class")]
)
def test_accuracy_and_auc_equal_medmnist_evaluator(k: int, task: str) -> None:
    labels, probabilities = random_predictions(500, k, seed=k)
    assert metrics.accuracy(labels, probabilities) == pytest.approx(
        getACC(labels, probabilities, task)
    )
    assert metrics.mean_auc(labels, probabilities) == pytest.approx(
        getAUC(labels, probabilities, task)
    )


@pytest.mark.filterwarnings("ignore:y_pred contains classes not in y_true")
@pytest.mark.filterwarnings("ignore:A single label was found")
@pytest.mark.parametrize(
    ("labels", "predictions"),
    [([0, 0, 2, 2, 2], [0, 1, 2, 3, 2]), ([0, 0, 0], [0, 0, 0]), ([1, 1, 1], [1, 0, 4])],
    ids=["predicts-absent-classes", "one-class-in-both", "one-class-in-labels"],
)
def test_balanced_accuracy_on_a_split_lacking_classes_is_scikit_learns_without_warnings(
    labels: list[int], predictions: list[int]
) -> None:
    labels_array, predictions_array = np.array(labels), np.array(predictions)
    expected = balanced_accuracy_score(labels_array, predictions_array)  # warns: ignored above
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert metrics.balanced_accuracy(labels_array, predictions_array) == pytest.approx(expected)


def test_summary_equals_scikit_learn() -> None:
    labels, probabilities = random_predictions(800, 7, seed=1)
    names = [f"class {k}" for k in range(7)]
    summary = summarize_test(labels, probabilities, names)
    predictions = probabilities.argmax(axis=1)
    assert summary["balanced_accuracy"] == pytest.approx(
        balanced_accuracy_score(labels, predictions)
    )
    assert summary["macro_f1"] == pytest.approx(f1_score(labels, predictions, average="macro"))
    expected = classification_report(labels, predictions, output_dict=True, zero_division=0)
    for row in summary["report"]["classes"]:
        reference = expected[str(row["index"])]
        for field in ("precision", "recall", "f1"):
            assert row[field] == pytest.approx(reference[field if field != "f1" else "f1-score"])
        assert row["support"] == reference["support"]
    for row in summary["report"]["averages"]:
        assert row["f1"] == pytest.approx(expected[row["name"]]["f1-score"])
        assert row["recall"] == pytest.approx(expected[row["name"]]["recall"])


def test_confusion_matrix_rows_sum_to_class_support() -> None:
    labels, probabilities = random_predictions(600, 7, seed=2)
    summary = summarize_test(labels, probabilities, [str(k) for k in range(7)])
    matrix = np.asarray(summary["confusion_matrix"])
    assert matrix.sum(axis=1).tolist() == np.bincount(labels, minlength=7).tolist()
    assert [row["support"] for row in summary["report"]["classes"]] == matrix.sum(axis=1).tolist()
    normalized = np.asarray(summary["confusion_matrix_normalized"])
    np.testing.assert_allclose(normalized.sum(axis=1), 1)
    np.testing.assert_allclose(
        np.diag(normalized), [row["recall"] for row in summary["report"]["classes"]]
    )


def test_majority_class_predictor_has_chance_balanced_accuracy() -> None:
    labels = np.array([0] * 90 + [1] * 5 + [2] * 5)
    probabilities = np.tile([0.8, 0.1, 0.1], (100, 1))
    summary = summarize_test(labels, probabilities, ["a", "b", "c"])
    assert summary["accuracy"] == pytest.approx(0.9)
    assert summary["balanced_accuracy"] == pytest.approx(1 / 3)
    assert summary["auc"] == pytest.approx(0.5)


def test_auc_skips_a_class_absent_from_labels() -> None:
    labels, probabilities = random_predictions(300, 3, seed=3)
    labels[labels == 2] = 0
    per_class = metrics.per_class_auc(labels, probabilities)
    assert np.isnan(per_class[2]) and not np.isnan(per_class[0])
    assert metrics.mean_auc(labels, probabilities) == pytest.approx(np.mean(per_class[:2]))


def test_results_json_publishes_grade_errors_only_for_ordered_grades() -> None:
    from reportgen.results import published_test

    labels, predictions = np.array([0, 1, 2, 2]), np.array([0, 2, 2, 0])
    test = {"accuracy": 0.5, "ordinal": metrics.ordinal_errors(labels, predictions, 3)}
    assert published_test(test, "ordinal-regression") == test
    for task in ("multi-class", "binary-class"):
        assert published_test(test, task) == {"accuracy": 0.5}
    assert "ordinal" in test  # the cached record keeps it


def test_ordinal_errors_by_hand() -> None:
    labels, predictions = np.array([0, 1, 2, 4]), np.array([0, 2, 0, 4])  # off by 0, 1, 2, 0
    errors = metrics.ordinal_errors(labels, predictions, 5)
    assert errors["mean_absolute_error"] == pytest.approx(0.75)
    assert errors["off_by_two_or_more"] == pytest.approx(0.25)
    assert metrics.ordinal_errors(labels, labels, 5)["quadratic_weighted_kappa"] == 1.0
    reversed_grades = metrics.ordinal_errors(labels, 4 - labels, 5)["quadratic_weighted_kappa"]
    assert reversed_grades < 0  # worse than chance
    one_grade = metrics.ordinal_errors(np.zeros(3, int), np.zeros(3, int), 5)
    assert one_grade["quadratic_weighted_kappa"] is None and one_grade["mean_absolute_error"] == 0


def test_a_class_absent_from_labels_has_no_recall_but_keeps_sklearns_other_numbers() -> None:
    labels, predictions = np.array([0, 0, 1, 1]), np.array([0, 2, 1, 1])
    report = metrics.classification_report_rows(labels, predictions, ["a", "b", "c"])
    rows = report["classes"]
    assert [row["support"] for row in rows] == [2, 2, 0]
    macro, weighted = report["averages"]  # recall over the classes there are: balanced accuracy
    assert macro["recall"] == 0.75 == metrics.balanced_accuracy(labels, predictions)
    assert weighted["recall"] == 0.75  # c weighs nothing there
    assert [row["recall"] for row in rows[:2]] == [0.5, 1.0]
    assert np.isnan(rows[2]["recall"])  # no image of c to find or miss (sklearn says 0)
    assert rows[2]["precision"] == 0.0 == rows[2]["f1"]  # called once, wrongly: both measured
    assert macro["f1"] == pytest.approx((2 / 3 + 1 + 0) / 3)  # c's F1 of 0 counts


def test_a_class_never_called_has_no_precision_but_the_averages_count_it_as_sklearn_does() -> None:
    labels, predictions = np.array([0, 0, 1, 1, 2]), np.array([0, 0, 0, 0, 2])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no UndefinedMetricWarning: 0 of 0 is NaN, on purpose
        report = metrics.classification_report_rows(labels, predictions, ["a", "b", "c", "d"])
    rows = {row["name"]: row for row in report["classes"]}
    assert np.isnan(rows["b"]["precision"])  # never called: no call to score
    assert rows["b"]["recall"] == 0.0 == rows["b"]["f1"]  # both its images missed: measured
    assert all(np.isnan(rows["d"][score]) for score in ("precision", "recall", "f1"))
    expected = classification_report(
        labels, predictions, labels=[0, 1, 2], output_dict=True, zero_division=0
    )
    macro, weighted = report["averages"]
    for ours, name in ((macro, "macro avg"), (weighted, "weighted avg")):
        assert ours["precision"] == pytest.approx(expected[name]["precision"])  # b counts 0
        assert ours["f1"] == pytest.approx(expected[name]["f1-score"])
    assert macro["f1"] == pytest.approx(metrics.macro_f1(labels, predictions))


def test_macro_f1_leaves_out_a_class_in_neither_labels_nor_predictions() -> None:
    labels = predictions = np.zeros(4, int)  # one class, all right: an unofficial file can
    assert metrics.macro_f1(labels, predictions) == 1.0  # not 1 / K for K classes
    assert metrics.macro_f1(np.array([0, 1]), np.array([0, 0])) == pytest.approx((2 / 3 + 0) / 2)


def test_balanced_accuracy_of_no_images_is_missing_without_a_warning() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isnan(metrics.balanced_accuracy(np.array([], int), np.array([], int)))
