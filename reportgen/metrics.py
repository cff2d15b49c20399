"""Pure classification metrics on numpy arrays, with MedMNIST's definitions.

Shapes: `labels` is (N,) of class indices, `probabilities` is (N, K) with rows summing to 1.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from sklearn.metrics import (
    cohen_kappa_score,
    confusion_matrix,
    f1_score,
    precision_recall_fscore_support,
    roc_auc_score,
)


def accuracy(labels: np.ndarray, probabilities: np.ndarray) -> float:
    """Share of images whose argmax class is the label (medmnist.evaluator.getACC)."""
    return float(np.mean(probabilities.argmax(axis=1) == labels))


def per_class_auc(labels: np.ndarray, probabilities: np.ndarray) -> list[float]:
    """One-vs-rest ROC AUC of each class; NaN for a class absent from, or alone in, labels."""
    aucs = []
    for k in range(probabilities.shape[1]):
        positives = labels == k
        if positives.all() or not positives.any():
            aucs.append(math.nan)
        else:
            aucs.append(float(roc_auc_score(positives, probabilities[:, k])))
    return aucs


def mean_auc(labels: np.ndarray, probabilities: np.ndarray) -> float:
    """Unweighted mean of the one-vs-rest AUCs (medmnist.evaluator.getAUC), over defined classes."""
    defined = [auc for auc in per_class_auc(labels, probabilities) if not math.isnan(auc)]
    return float(np.mean(defined)) if defined else math.nan


def balanced_accuracy(labels: np.ndarray, predictions: np.ndarray) -> float:
    """Mean recall over the classes present in labels (the ISIC challenge's metric).

    sklearn's balanced_accuracy_score returns the same, but warns where predictions name a class
    absent from labels, or where both hold one class: a split lacking classes (an unofficial
    file's) is not an error here, and the pages say which classes it lacks."""
    if labels.size == 0:
        return math.nan  # no image: nothing found or missed (numpy would warn of an empty mean)
    recalls = [np.mean(predictions[labels == k] == k) for k in np.unique(labels)]
    return float(np.mean(recalls))


def macro_f1(labels: np.ndarray, predictions: np.ndarray) -> float:
    """Mean F1 over the classes in labels or predictions (scikit-learn's default classes): a
    class in neither has no F1 (0 of 0). Every class of an official split is in its labels."""
    present = np.union1d(labels, predictions)
    return float(f1_score(labels, predictions, labels=present, average="macro", zero_division=0))


def confusion(labels: np.ndarray, predictions: np.ndarray, n_classes: int) -> np.ndarray:
    """(K, K) counts, true class per row, predicted class per column."""
    return confusion_matrix(labels, predictions, labels=range(n_classes))


def ordinal_errors(
    labels: np.ndarray, predictions: np.ndarray, n_classes: int
) -> dict[str, float | None]:
    """How far off predictions are when the classes are ordered grades: mean absolute error in
    grades, the share off by two grades or more, and quadratic weighted kappa (1: perfect
    agreement, 0: chance; None where it is undefined, e.g. one grade only)."""
    distance = np.abs(labels.astype(int) - predictions.astype(int))
    with warnings.catch_warnings():  # undefined (0 / 0) where both hold one grade: None below
        warnings.simplefilter("ignore")
        kappa = float(
            cohen_kappa_score(labels, predictions, labels=range(n_classes), weights="quadratic")
        )
    return {
        "mean_absolute_error": float(distance.mean()) if distance.size else None,
        "off_by_two_or_more": float((distance >= 2).mean()) if distance.size else None,
        "quadratic_weighted_kappa": None if math.isnan(kappa) else kappa,
    }


def row_normalized(matrix: np.ndarray) -> np.ndarray:
    """Each row divided by its sum: recall on the diagonal. A row of zeros (a class without test
    images) is NaN: it has no shares, and no recall."""
    sums = matrix.sum(axis=1, keepdims=True)
    return np.divide(matrix, sums, out=np.full(matrix.shape, math.nan), where=sums > 0)


def classification_report_rows(
    labels: np.ndarray, predictions: np.ndarray, class_names: list[str]
) -> dict[str, list[dict[str, float | int | str]]]:
    """Per-class precision, recall, F1 and support, and their macro and weighted averages.

    sklearn.metrics.classification_report's numbers, as plain rows, except that a class's score
    that divides 0 by 0 is NaN instead of its default 0: the precision of a class no image was
    called (no call to be right or wrong), the recall of a class absent from labels (no image to
    find or miss), the F1 of a class in neither. The averages are the report's own: over the
    classes in labels or predictions, an undefined precision counted as 0, except the macro
    average of recall, over the classes in labels (balanced accuracy).
    """
    class_ids = list(range(len(class_names)))
    precision, recall, f1, support = precision_recall_fscore_support(
        labels, predictions, labels=class_ids, zero_division=math.nan
    )
    classes = [
        {
            "index": k,
            "name": class_names[k],
            "precision": float(precision[k]),
            "recall": float(recall[k]),
            "f1": float(f1[k]),
            "support": int(support[k]),
        }
        for k in class_ids
    ]
    present = np.union1d(labels, predictions)
    averages = []
    for average in ("macro", "weighted"):
        p, r, f, _ = precision_recall_fscore_support(
            labels, predictions, labels=present, average=average, zero_division=0
        )
        if average == "macro":
            r = balanced_accuracy(labels, predictions)  # the mean recall of the classes there are
        averages.append(
            {
                "name": f"{average} avg",
                "precision": float(p),
                "recall": float(r),
                "f1": float(f),
                "support": int(support.sum()),
            }
        )
    return {"classes": classes, "averages": averages}
