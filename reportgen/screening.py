"""The test results read as a screening test: does an image go on to a specialist or not?

A clinician rarely asks which of seven lesions or five grades an image is; the question that
matters is whether it needs a specialist: a possibly malignant lesion, a retinopathy that should
be referred. Where sources.SCREENING_ENDPOINTS defines that group of classes for a dataset, the
model "refers" an image when it predicts any class of the group. A mistake within the group (grade
3 called grade 2) still refers the patient, so the group's sensitivity can be far higher than its
classes' recalls. Counts come from the test confusion matrix; intervals are exact binomial.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from reportgen import sources
from reportgen.confidence import exact_interval
from reportgen.experiments import mean_sd

SCREENING_RATES = ("sensitivity", "specificity", "referred_share")


def endpoint_of(dataset: dict[str, Any]) -> tuple[dict[str, Any], list[int]] | None:
    """The dataset's endpoint and the indices of the classes it refers; None where it has none,
    or its class names are not the ones the endpoint names (another file's labels)."""
    endpoint = sources.SCREENING_ENDPOINTS.get(dataset["flag"])
    if endpoint is None or not set(endpoint["classes"]) <= set(dataset["class_names"]):
        return None
    return endpoint, [dataset["class_names"].index(name) for name in endpoint["classes"]]


def screening_view(test: dict[str, Any], dataset: dict[str, Any]) -> dict[str, Any] | None:
    """The screening reading of a test summary as plain data (None: see endpoint_of)."""
    found = endpoint_of(dataset)
    if found is None:
        return None
    endpoint, positive = found
    matrix = np.asarray(test["confusion_matrix"])
    counts = screening_counts(matrix, positive)
    referred_by_class = counts["referred_by_class"]
    negatives = [k for k in range(len(referred_by_class)) if k not in positive]
    most_referred_negative = None
    if negatives and max(referred_by_class[k] for k in negatives) > 0:
        k = max(negatives, key=lambda k: referred_by_class[k])  # on a tie, the first class
        most_referred_negative = {
            "name": dataset["class_names"][k],
            "referred": referred_by_class[k],
            "support": int(matrix[k].sum()),
        }
    return {**endpoint, **counts, "most_referred_negative": most_referred_negative}


def screening_by_variant(
    experiments: dict[str, Any], dataset: dict[str, Any]
) -> list[dict[str, Any]] | None:
    """Per variant of experiments.json, in its order: the mean and sd over its runs of
    sensitivity, specificity and share referred (NaN where a split has no images to count). None
    without an endpoint, or for a file whose runs keep no confusion-matrix counts (written before
    they were kept)."""
    found = endpoint_of(dataset)
    runs = [run for variant in experiments["variants"] for run in variant["runs"]]
    if found is None or not all("confusion_matrix" in run for run in runs):
        return None
    _, positive = found
    rows = []
    for variant in experiments["variants"]:
        rates = [
            screening_rates(screening_counts(np.asarray(run["confusion_matrix"]), positive))
            for run in variant["runs"]
        ]
        mean, sd = mean_sd(rates, SCREENING_RATES)
        rows.append({"name": variant["name"], "mean": mean, "sd": sd})
    return rows


def screening_counts(matrix: np.ndarray, positive: list[int]) -> dict[str, Any]:
    """From a confusion matrix (rows true, columns predicted) and the group's class indices:
    how many of the group's images are referred (sensitivity), how many of the others are not
    (specificity), and how many images in all are referred."""
    in_group = np.zeros(matrix.shape[0], dtype=bool)
    in_group[positive] = True
    positives = int(matrix[in_group].sum())
    negatives = int(matrix[~in_group].sum())
    referred_positives = int(matrix[np.ix_(in_group, in_group)].sum())
    cleared_negatives = int(matrix[np.ix_(~in_group, ~in_group)].sum())
    referred = int(matrix[:, in_group].sum())
    return {
        "positives": positives,
        "negatives": negatives,
        "referred_positives": referred_positives,
        "cleared_negatives": cleared_negatives,
        "referred": referred,
        "sensitivity": exact_interval(referred_positives, positives),
        "specificity": exact_interval(cleared_negatives, negatives),
        # Of the images referred, how many belong to the group (positive predictive value).
        "precision": exact_interval(referred_positives, referred),
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
