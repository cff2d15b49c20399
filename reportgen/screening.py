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
(for TARGET_SENSITIVITY there) and counts what it does on test. Both need probabilities, not
counts, so they are computed where those are (results.assemble_results, experiment_runs.run_entry)
and kept beside the counts.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from reportgen import sources
from reportgen.cache import TrainedRun
from reportgen.confidence import (
    BOOTSTRAP_RESAMPLES,
    BOOTSTRAP_SEED,
    exact_interval,
    percentile_interval,
    resample_counts,
    weighted_auc,
)
from reportgen.experiments import mean_sd

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


def referral_score(probabilities: np.ndarray, positive: list[int]) -> np.ndarray:
    """(N,) the model's probability that each image belongs to the group: its classes' sum."""
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
    no interval with resamples=0."""
    in_group = np.isin(labels, positive)
    score = referral_score(probabilities, positive)
    estimate = float(weighted_auc(in_group, score, np.ones((1, labels.shape[0])))[0])
    low = high = None
    if resamples > 0 and not math.isnan(estimate):
        counts = resample_counts(labels.shape[0], resamples, BOOTSTRAP_SEED)
        low, high = percentile_interval(weighted_auc(in_group, score, counts))
    return {"estimate": None if math.isnan(estimate) else estimate, "low": low, "high": high}


def referral_auc_of(
    dataset: dict[str, Any],
    labels: np.ndarray,
    probabilities: np.ndarray,
    resamples: int = BOOTSTRAP_RESAMPLES,
) -> dict[str, float | None] | None:
    """referral_auc for the dataset's endpoint; None where it has none (see endpoint_of)."""
    found = endpoint_of(dataset)
    return None if found is None else referral_auc(labels, probabilities, found[1], resamples)


# The sensitivity a referral threshold is set for on validation (a choice, not a standard: screening
# favours finding the cases over sparing the rest, and a tenth missed is a common line to draw).
TARGET_SENSITIVITY = 0.9


def referral_operating_point(
    val_labels: np.ndarray,
    val_probabilities: np.ndarray,
    test_labels: np.ndarray,
    test_probabilities: np.ndarray,
    positive: list[int],
    target: float = TARGET_SENSITIVITY,
) -> dict[str, Any] | None:
    """A referral threshold set on validation, then applied unchanged to test.

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
        "auc": auc,
        "operating_point": operating_point,
    }


def _largest_among(values: list[int], among: list[int]) -> int | None:
    """The index in `among` whose value is largest (the first on a tie); None where `among` is
    empty or all its values are 0."""
    if not among or max(values[k] for k in among) == 0:
        return None
    return max(among, key=lambda k: values[k])


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
    names = SCREENING_RATES + (("auc",) if with_auc else ()) + (TARGET_RATES if with_target else ())
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
        found = [run_counts["referred_positives"] for run_counts in counts]
        # The fewest and most images of the group that one of its runs referred.
        rows.append(
            {
                "name": variant["name"],
                "mean": mean,
                # One run: no spread to show (mean_sd's 0 would read as a certain rate).
                "sd": sd if len(rates) > 1 else dict.fromkeys(names),
                "referred": [min(found), max(found)],
            }
        )
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
    cleared = positives + negatives - referred
    return {
        "positives": positives,
        "negatives": negatives,
        "referred_positives": referred_positives,
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
