"""The test results read as a screening test: does an image go on to a specialist or not?

A clinician rarely asks which of seven lesions or five grades an image is; the question that
matters is whether it needs a specialist: a possibly malignant lesion, a retinopathy that should
be referred. Where sources.SCREENING_ENDPOINTS defines that group of classes for a dataset, the
model "refers" an image when it predicts any class of the group. A mistake within the group (grade
3 called grade 2) still refers the patient, so the group's sensitivity can be far higher than its
classes' recalls. Counts come from the test confusion matrix; intervals are exact binomial.

That decision is the model's own (the most probable class), not a threshold on any one score. The
referral AUC asks about ranking instead: the chance that the model's summed probability of the
group is higher for a random image of the group than for a random image outside it. Its ROC curve
shows what every threshold on that sum would give; the decision lies near it. A threshold read off
that curve would be fitted to test, so referral_operating_point sets one on validation instead
(for referral.TARGET_SENSITIVITY there) and counts what it does on test. Both need probabilities,
not counts, so they are computed where those are (results.assemble_results,
experiment_runs.run_entry) and kept beside the counts.

The arithmetic itself (counts, AUC, threshold) is in referral.py, numpy only; this module picks
the dataset's group of classes and shapes what the pages show.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from reportgen import sources
from reportgen.cache import TrainedRun
from reportgen.confidence import BOOTSTRAP_RESAMPLES, exact_interval
from reportgen.experiments import mean_sd
from reportgen.referral import (
    referral_auc,
    referral_operating_point,
    screening_counts,
    screening_rates,
)

SCREENING_RATES = ("sensitivity", "specificity", "referred_share")
# Test sensitivity and specificity at the threshold set on validation (referral_operating_point).
TARGET_NAMES = ("sensitivity", "specificity")
TARGET_RATES = tuple(f"target_{name}" for name in TARGET_NAMES)


def endpoint_of(dataset: dict[str, Any]) -> tuple[dict[str, Any], list[int]] | None:
    """The dataset's endpoint and the indices of the classes it refers; None where it has none,
    or its class names are not the ones the endpoint names (another file's labels)."""
    endpoint = sources.SCREENING_ENDPOINTS.get(dataset["flag"])
    if endpoint is None or not set(endpoint["classes"]) <= set(dataset["class_names"]):
        return None
    return endpoint, [dataset["class_names"].index(name) for name in endpoint["classes"]]


def referral_auc_of(
    dataset: dict[str, Any],
    labels: np.ndarray,
    probabilities: np.ndarray,
    resamples: int = BOOTSTRAP_RESAMPLES,
) -> dict[str, float | None] | None:
    """referral_auc for the dataset's endpoint; None where it has none (see endpoint_of)."""
    found = endpoint_of(dataset)
    return None if found is None else referral_auc(labels, probabilities, found[1], resamples)


def referral_operating_point_of(dataset: dict[str, Any], run: TrainedRun) -> dict[str, Any] | None:
    """referral_operating_point for the dataset's endpoint from a cache.TrainedRun's arrays; None
    where the dataset has none (see endpoint_of) or the run keeps no validation output."""
    found = endpoint_of(dataset)
    if found is None or run.val_labels.size == 0:
        return None
    return referral_operating_point(
        run.val_labels, run.val_probabilities, run.test_labels, run.test_probabilities, found[1]
    )


def screening_view(
    test: dict[str, Any],
    dataset: dict[str, Any],
    auc: dict[str, float | None] | None = None,
    operating_point: dict[str, Any] | None = None,
) -> dict[str, Any] | None:
    """The screening reading of a test summary as plain data (None: see endpoint_of), with the
    referral AUC and the threshold set on validation where results hold them (from
    referral_auc_of and referral_operating_point_of)."""
    found = endpoint_of(dataset)
    if found is None:
        return None
    endpoint, positive = found
    matrix = np.asarray(test["confusion_matrix"])
    counts = screening_counts(matrix, positive)
    referred_by_class = counts["referred_by_class"]
    supports = matrix.sum(axis=1).astype(int).tolist()
    names = dataset["class_names"]
    negatives = [k for k in range(len(referred_by_class)) if k not in positive]
    k = _largest_among(referred_by_class, negatives)
    most_referred_negative = (
        None
        if k is None
        else {"name": names[k], "referred": referred_by_class[k], "support": supports[k]}
    )
    # The class of the others referred most often by share, where that is another class (a small
    # class, such as the mildest grade, can be referred far more often than the largest).
    shares = {j: referred_by_class[j] / supports[j] for j in negatives if supports[j]}
    by_share = max(shares, key=shares.__getitem__, default=None)
    most_often_referred_negative = (
        None
        if by_share is None or by_share == k or shares[by_share] == 0
        else {
            "name": names[by_share],
            "referred": referred_by_class[by_share],
            "support": supports[by_share],
        }
    )
    # Sensitivity class by class within the group: a pooled rate can hide the class referred least.
    by_positive_class = []
    for k in positive:
        # The class its unreferred images were most often called, and how many (None: none).
        missed = _largest_among(matrix[k].tolist(), negatives)
        by_positive_class.append(
            {
                "name": names[k],
                "referred": referred_by_class[k],
                "support": supports[k],
                "sensitivity": exact_interval(referred_by_class[k], supports[k]),
                "missed_as": None
                if missed is None
                else {"name": names[missed], "count": int(matrix[k, missed])},
            }
        )
    # What the images of the group that were not referred were called, most often first.
    missed = matrix[np.ix_(positive, negatives)].sum(axis=0)
    missed_as = sorted(
        ({"name": names[k], "count": int(n)} for k, n in zip(negatives, missed, strict=True) if n),
        key=lambda row: -row["count"],
    )
    return {
        **endpoint,
        **counts,
        "missed_as": missed_as,
        "by_positive_class": by_positive_class,
        # The class of the group referred least often (None: no test image of the group).
        "least_referred": min(
            (row for row in by_positive_class if row["support"]),
            key=lambda row: row["referred"] / row["support"],
            default=None,
        ),
        "most_referred_negative": most_referred_negative,
        "most_often_referred_negative": most_often_referred_negative,
        "auc": auc,
        "operating_point": operating_point,
    }


def _largest_among(values: list[int], among: list[int]) -> int | None:
    """The index in `among` whose value is largest (the first on a tie); None where `among` is
    empty or all its values are 0."""
    if not among or max(values[k] for k in among) == 0:
        return None
    return max(among, key=lambda k: values[k])


def rate_columns(with_auc: bool, with_target: bool) -> tuple[str, ...]:
    """The rates screening_by_variant gives each variant, in the order of the page's columns:
    SCREENING_RATES, then the referral AUC and TARGET_RATES where the runs keep them."""
    return SCREENING_RATES + (("auc",) if with_auc else ()) + (TARGET_RATES if with_target else ())


def screening_by_variant(
    experiments: dict[str, Any], dataset: dict[str, Any]
) -> list[dict[str, Any]] | None:
    """Per variant of experiments.json, in its order: the mean and sd (each None for one run)
    over its runs of sensitivity, specificity and share referred (NaN where a split has no images
    to count), of the referral AUC ("auc") where every run keeps one, and of test sensitivity and
    specificity at the threshold set on validation (TARGET_RATES) where every run keeps them.
    None without an endpoint, or for a file whose runs keep no confusion-matrix counts (written
    before they were kept)."""
    found = endpoint_of(dataset)
    runs = [run for variant in experiments["variants"] for run in variant["runs"]]
    if found is None or not all("confusion_matrix" in run for run in runs):
        return None
    _, positive = found
    with_auc = all(run.get("referral_auc") is not None for run in runs)
    with_target = all(run.get("referral_at_target") is not None for run in runs)
    names = rate_columns(with_auc, with_target)
    rows = []
    for variant in experiments["variants"]:
        counts = [
            screening_counts(np.asarray(run["confusion_matrix"]), positive)
            for run in variant["runs"]
        ]
        rates = [
            {
                **screening_rates(run_counts),
                **({"auc": run["referral_auc"]} if with_auc else {}),
                **(
                    {f"target_{name}": run["referral_at_target"][name] for name in TARGET_NAMES}
                    if with_target
                    else {}
                ),
            }
            for run, run_counts in zip(variant["runs"], counts, strict=True)
        ]
        mean, sd = mean_sd(rates, names)
        # The fewest and most images of the group that one of its runs referred.
        referred = [run_counts["referred_positives"] for run_counts in counts]
        rows.append(
            {
                "name": variant["name"],
                "mean": mean,
                # One run: no spread to show (mean_sd's 0 would read as a certain rate).
                "sd": sd if len(rates) > 1 else dict.fromkeys(names),
                "referred": [min(referred), max(referred)],
            }
        )
    return rows
