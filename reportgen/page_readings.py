"""What the pages say about one run, computed from its results.json data (no torch).

Each function turns part of the results into the plain values a template shows: how well each
class is found and what it is mistaken for, shares that add up to 100, the trend of the val loss,
the direction of miscalibration, the study's numbers beside this run's, and the next steps with
the numbers that motivate them.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from reportgen import metrics, study
from reportgen.config import BuildConfig, unmet_needs
from reportgen.formatting import is_score, rounded


def prevalence_rows(dataset: dict[str, Any]) -> list[dict[str, Any]]:
    counts = dataset["counts"]
    totals = {split: max(sum(values), 1) for split, values in counts.items()}
    return [
        {
            "name": name,
            "counts": {split: counts[split][k] for split in counts},
            "shares": {split: counts[split][k] / totals[split] for split in counts},
        }
        for k, name in enumerate(dataset["class_names"])
    ]


MIX_SHIFT = 0.05  # a class's share of test and of validation this far apart: splits drawn apart


def class_mix_shift(dataset: dict[str, Any]) -> dict[str, Any] | None:
    """The class whose share of the test images differs most from its share of the validation
    images, with both shares, where they differ by MIX_SHIFT or more (a split made from another
    part of the source, as MedMNIST's PneumoniaMNIST test split is); else None."""
    rows = [row for row in prevalence_rows(dataset) if {"val", "test"} <= row["shares"].keys()]
    if not rows or not sum(dataset["counts"]["val"]) or not sum(dataset["counts"]["test"]):
        return None
    row = max(rows, key=lambda row: abs(row["shares"]["test"] - row["shares"]["val"]))
    if abs(row["shares"]["test"] - row["shares"]["val"]) < MIX_SHIFT:
        return None
    return {"name": row["name"], "test": row["shares"]["test"], "val": row["shares"]["val"]}


# Which data, seed and hardware a run used: not part of the study's recipe.
NOT_RECIPE_FIELDS = frozenset({"dataset", "seed", "device"})


def recipe_changes(config: dict[str, Any]) -> dict[str, Any]:
    """The training settings of a results.json config that differ from the study's recipe
    (BuildConfig's defaults), leaving out the data, seed and device, and settings that change
    nothing under the others (config.unmet_needs)."""
    study_recipe = BuildConfig().training_fields()
    trained = {name: config[name] for name in study_recipe if name in config}
    # The study's recipe fills in what an older file's config lacks, as BuildConfig would.
    inert = unmet_needs({**study_recipe, **trained})
    return {
        name: value
        for name, value in trained.items()
        if value != study_recipe[name] and name not in NOT_RECIPE_FIELDS and name not in inert
    }


def study_comparison(results: dict[str, Any]) -> dict[str, Any] | None:
    """The study's numbers beside this run's, only for the study's own dataset, with the
    settings in which this run's recipe differs from the study's, and whether the run reproduces
    the study: its recipe unchanged, on the official file."""
    if results["dataset"]["flag"] != study.STUDY_DATASET:
        return None
    classes = results["test"]["report"]["classes"]
    train_counts = results["dataset"]["counts"]["train"]
    rows = []
    for row, quoted, prevalence, train_count in zip(
        classes,
        study.STUDY_TEST["per_class"],
        study.STUDY_TEST["prevalence_percent"],
        train_counts,
        strict=True,
    ):
        precision, recall, f1, support = quoted
        rows.append(
            {
                "name": row["name"],
                "study": {"precision": precision, "recall": recall, "f1": f1, "support": support},
                "run": row,
                "prevalence": {"study": prevalence, "run": 100 * train_count / sum(train_counts)},
            }
        )
    changes = recipe_changes(results["config"])
    return {
        "accuracy": study.STUDY_TEST["accuracy"],
        "auc": study.STUDY_TEST["auc"],
        "classes": rows,
        "recipe_changes": changes,
        "reproduction": results["dataset"]["official"] and not changes,
    }


def auc_extremes(test: dict[str, Any], class_names: list[str]) -> dict[str, Any] | None:
    """The classes with the lowest and the highest one-vs-rest test AUC (classes absent from test
    have none), for the figure's text alternative. None: no class has one."""
    scored = [
        {"name": name, "auc": auc}
        for name, auc in zip(class_names, test["per_class_auc"], strict=True)
        if auc is not None and not math.isnan(auc)
    ]
    if not scored:
        return None
    return {
        "low": min(scored, key=lambda row: row["auc"]),
        "high": max(scored, key=lambda row: row["auc"]),
    }


def with_option(command: str, option: str) -> str:
    """A shell command (as cli.shell_command writes it) with one more option, on a line of its
    own where the command already spans several."""
    return f"{command} \\\n    {option}" if "\n" in command else f"{command} {option}"


def percent_shares(counts: list[int], decimals: int = 1) -> list[float]:
    """Each count's share in percent at `decimals` places, rounded so that the shares add up to
    exactly 100 (largest remainder); all zeros when there is nothing to share."""
    total = sum(counts)
    if total == 0:
        return [0.0] * len(counts)
    units = 100 * 10**decimals
    exact = [units * count / total for count in counts]
    shares = [int(share) for share in exact]
    by_remainder = sorted(range(len(counts)), key=lambda i: exact[i] - shares[i], reverse=True)
    for i in by_remainder[: units - sum(shares)]:
        shares[i] += 1
    return [share / 10**decimals for share in shares]


def ordinal_reference(test: dict[str, Any], train_counts: list[int]) -> dict[str, Any]:
    """For ordered grades: metrics.ordinal_errors of always answering the most common training
    grade, and how many images of the highest grade were called the lowest (test split)."""
    matrix = test["confusion_matrix"]
    support = [sum(row) for row in matrix]
    labels = np.repeat(np.arange(len(support)), support)
    constant = np.full_like(labels, largest_class(train_counts))
    return {
        **metrics.ordinal_errors(labels, constant, len(support)),
        "highest_count": support[-1],
        "highest_called_lowest": matrix[-1][0],
    }


def finding_class(class_names: list[str]) -> int | None:
    """Of two classes one of which is normal, the other: the finding a test for it detects
    (PneumoniaMNIST's pneumonia). None for any other set of classes."""
    normal = [k for k, name in enumerate(class_names) if name.lower().startswith("normal")]
    return 1 - normal[0] if len(class_names) == 2 and len(normal) == 1 else None


def finding_rates(test: dict[str, Any], class_names: list[str]) -> dict[str, Any] | None:
    """The model read as a test for the finding (finding_class), in a clinician's words: its
    sensitivity is the finding's recall, its specificity the normal class's, each with its
    interval; its positive and negative predictive values are the two precisions, which depend
    on the test split's share of the finding. None where there is no finding class, or a class
    has no test images (no rate to read)."""
    finding = finding_class(class_names)
    if finding is None:
        return None
    normal = 1 - finding
    rows = {row["index"]: row for row in test["report"]["classes"]}
    recall_intervals = test["intervals"]["per_class_recall"]
    supports = [rows[finding]["support"], rows[normal]["support"]]
    if min(supports) == 0:
        return None
    return {
        "finding": class_names[finding],
        "normal": class_names[normal],
        "sensitivity": rows[finding]["recall"],
        "sensitivity_interval": recall_intervals[finding],
        "specificity": rows[normal]["recall"],
        "specificity_interval": recall_intervals[normal],
        "positive_predictive": rows[finding]["precision"],
        "negative_predictive": rows[normal]["precision"],
        "prevalence": supports[0] / sum(supports),
    }


def largest_class(counts: list[int]) -> int:
    """Index of the class with the most images (the first, on a tie)."""
    return counts.index(max(counts))


def smallest_class(counts: list[int]) -> int:
    """Index of the class with the fewest images (the first, on a tie)."""
    return counts.index(min(counts))


VAL_LOSS_MARGIN = 0.02  # a 2% change in val loss counts as a trend
RECENT_EPOCHS = 3  # "still falling": lower than this many epochs before the last


VAL_LOSS_JUMP = 2.0  # a last val loss this many times the one before: a jump, not a trend


def val_loss_trend(history: list[dict[str, Any]]) -> str:
    """ "jumped": the last val loss is VAL_LOSS_JUMP times the one before or more (one large
    step moved the network's decisions: instability, not the gradual rise of overfitting);
    "rising": it is VAL_LOSS_MARGIN or more above its best; "falling": it is the best, or that
    much below its value RECENT_EPOCHS epochs earlier (a one-epoch wiggle at the end does not
    hide a loss still coming down); else "flat"."""
    losses = [row["val_loss"] for row in history]
    last, best = losses[-1], min(losses)
    if len(losses) > 1 and last >= VAL_LOSS_JUMP * losses[-2]:
        return "jumped"
    if last >= (1 + VAL_LOSS_MARGIN) * best:
        return "rising"
    earlier = losses[max(0, len(losses) - 1 - RECENT_EPOCHS)]
    if last == best or last <= (1 - VAL_LOSS_MARGIN) * earlier:
        return "falling"
    return "flat"


def training_reading(
    history: list[dict[str, Any]], config: dict[str, Any] | None = None
) -> dict[str, Any]:
    """What the curves say: the val loss's trend (val_loss_trend), its lowest value and epoch,
    the last epoch's val and train losses, whether val loss ends below train loss (which puzzles
    a reader who expects the opposite), and how the training loss was measured unlike the val
    loss under config's settings (its plain cross-entropy on unchanged images)."""
    config = config or {}
    best = min(history, key=lambda row: row["val_loss"])
    last = history[-1]
    recent = history[max(0, len(history) - 1 - RECENT_EPOCHS)]  # what "still falling" compares to
    unlike_val = [
        phrase
        for applies, phrase in (
            (config.get("augment", False), "on augmented images"),
            (config.get("model") == "wide_cnn", "with dropout on"),
            (config.get("label_smoothing", 0.0) > 0, "against smoothed labels"),
            (config.get("loss_weighting", "none") != "none", "with class weights"),
            (config.get("sampler") == "balanced", "on class-balanced batches"),
        )
        if applies
    ]
    return {
        "train_loss_unlike_val": unlike_val,
        "trend": val_loss_trend(history),
        "best_epoch": best["epoch"],
        "best_val_loss": best["val_loss"],
        "last_epoch": last["epoch"],
        "last_val_loss": last["val_loss"],
        "last_train_loss": last["train_loss"],
        "recent_epoch": recent["epoch"],
        "recent_val_loss": recent["val_loss"],
        # The epoch before the last, which a "jumped" reading compares the last one with.
        "previous": history[-2] if len(history) > 1 else None,
        "last_val_auc": last.get("val_auc"),
        "last_val_accuracy": last.get("val_accuracy"),
        "val_below_train": last["val_loss"] < last["train_loss"],
    }


def _reads_the_same(value: float | None, other: float | None) -> bool:
    """Whether two numbers read the same as the pages print them (the num filter's 3 digits)."""
    if value is None or other is None:
        return value is other
    return rounded(value) == rounded(other)


def curves_reading(history: list[dict[str, Any]]) -> dict[str, Any]:
    """What a run's curves show, for a reader who cannot see them: the epoch of the lowest val
    loss and of the highest val AUC, each with its value, and both after the last epoch, with
    whether each reads the same as the extreme once rounded as the pages round it."""

    # A NaN (a diverged epoch, or a class absent from val; null once written to JSON) is never
    # the lowest or highest.
    def ranked(value: float | None, sign: float) -> tuple[bool, float]:
        absent = value is None or math.isnan(value)
        return (absent, 0.0 if absent else sign * value)

    lowest_loss = min(history, key=lambda row: ranked(row["val_loss"], 1.0))
    highest_auc = min(history, key=lambda row: ranked(row["val_auc"], -1.0))
    last = history[-1]
    return {
        "lowest_loss": {"epoch": lowest_loss["epoch"], "value": lowest_loss["val_loss"]},
        "highest_auc": {"epoch": highest_auc["epoch"], "value": highest_auc["val_auc"]},
        "last": {
            "epoch": last["epoch"],
            "loss": last["val_loss"],
            "auc": last["val_auc"],
            "loss_reads_lowest": _reads_the_same(last["val_loss"], lowest_loss["val_loss"]),
            "auc_reads_highest": _reads_the_same(last["val_auc"], highest_auc["val_auc"]),
        },
    }


CALIBRATION_MARGIN = 0.05  # a bin's accuracy this far from its confidence is clearly off


# A class the model gives to at least this many times as many test images as have it: its recall
# comes partly from answering it often, which the best-found finding says.
OVERCALLED = 2.0


def calibration_direction(bins: list[dict[str, Any]]) -> dict[str, Any]:
    """How many test images sit in bins where the model is clearly under-confident (right more
    often than its confidence says, by over CALIBRATION_MARGIN), clearly over-confident, or
    within the margin; its most confident occupied bin, and the bin holding the most images
    with its share of them where that is another bin (often the least confident answers)."""
    occupied = [row for row in bins if row["count"]]
    gaps = [(row["count"], row["accuracy"] - row["confidence"]) for row in occupied]
    largest = max(occupied, key=lambda row: row["count"], default=None)
    total = sum(row["count"] for row in occupied)
    return {
        "margin": CALIBRATION_MARGIN,
        "under": sum(count for count, gap in gaps if gap > CALIBRATION_MARGIN),
        "over": sum(count for count, gap in gaps if gap < -CALIBRATION_MARGIN),
        "close": sum(count for count, gap in gaps if abs(gap) <= CALIBRATION_MARGIN),
        "top_bin": occupied[-1] if occupied else None,
        "largest_bin": {**largest, "share": largest["count"] / total}
        if largest is not None and largest is not occupied[-1]
        else None,
        # A bin the summary names (the top one, the largest) is off its accuracy by more than
        # the margin: its probabilities are then to be read as scores.
        "shown_bins_off": any(
            abs(row["confidence"] - row["accuracy"]) > CALIBRATION_MARGIN
            for row in (occupied[-1:] + [largest])
            if row is not None
        ),
    }


def _mean_of_scores(values: list[float | None]) -> float | None:
    """The mean of the values that are scores (not None or NaN); None where none is."""
    scores = [value for value in values if is_score(value)]
    return sum(scores) / len(scores) if scores else None


def next_steps_view(
    results: dict[str, Any], zero_recall: list[str], reading: dict[str, Any]
) -> list[dict[str, Any]]:
    """The study's proposed steps, each with the numbers from this run that motivate it (reading:
    training_reading of its history). The rare classes are the half of the classes with the
    fewest training images, each with its test recall (None: no test image of it)."""
    counts = results["dataset"]["counts"]["train"]
    names = results["dataset"]["class_names"]
    largest, smallest = largest_class(counts), smallest_class(counts)
    recalls = [row["recall"] for row in results["test"]["report"]["classes"]]
    rare_ids = sorted(range(len(names)), key=lambda k: counts[k])[: max(1, len(names) // 2)]
    rare = [
        {"name": names[k], "prevalence": counts[k] / max(sum(counts), 1), "recall": recalls[k]}
        for k in rare_ids
    ]
    # Mean test recall of the rare classes and of the others (classes with test images only).
    rare_recall, other_recall = (
        _mean_of_scores([recalls[k] for k in range(len(names)) if (k in rare_ids) == rare_side])
        for rare_side in (True, False)
    )
    history = results["history"]
    return [
        {
            "key": key,
            "title": title,
            "largest": {"name": names[largest], "count": counts[largest]},
            "smallest": {"name": names[smallest], "count": counts[smallest]},
            "imbalance_ratio": counts[largest] / max(counts[smallest], 1),
            "zero_recall": zero_recall,
            "rare": rare,
            "rare_recall": rare_recall,
            "other_recall": other_recall,
            # Whether the rare classes are found less often than the others: the premise of
            # weighting the loss or the batches toward them (not so where they are over-called).
            "rare_lag": rare_recall is not None
            and other_recall is not None
            and rare_recall < other_recall,
            "best_val_epoch": reading["best_epoch"],
            "best_val_loss": reading["best_val_loss"],
            "final_val_loss": reading["last_val_loss"],
            "final_train_loss": reading["last_train_loss"],
            "epochs_run": reading["last_epoch"],
            "val_loss_trend": reading["trend"],
            "previous_val_loss": reading["previous"]["val_loss"] if reading["previous"] else None,
            "recent": history[max(0, len(history) - 1 - RECENT_EPOCHS)],
        }
        for key, title in study.NEXT_STEPS
    ]


ACCURACY_GAP = 0.1  # accuracy and balanced accuracy further apart than this tell different stories


def accuracy_gap(test: dict[str, Any]) -> str:
    """Where accuracy lies against balanced accuracy: "above" or "below" it by more than
    ACCURACY_GAP, else "close"."""
    gap = test["accuracy"] - test["balanced_accuracy"]
    if gap > ACCURACY_GAP:
        return "above"
    return "below" if gap < -ACCURACY_GAP else "close"


def half_width(interval: dict[str, float | None]) -> float | None:
    """Half an interval's width: the "about ±" a page quotes for any score near this one (an
    interval need not be symmetric about its estimate). None where it has no bounds."""
    if interval["low"] is None or interval["high"] is None:
        return None
    return (interval["high"] - interval["low"]) / 2


def untested_classes(test: dict[str, Any]) -> list[str]:
    """The classes without a test image, in class order (only an unofficial file lacks one)."""
    return [row["name"] for row in test["report"]["classes"] if row["support"] == 0]


def never_predicted(test: dict[str, Any], class_names: list[str]) -> list[str]:
    """The classes with test images that no test image was given, in class order (a class absent
    from test that is never given is no mistake)."""
    matrix = np.asarray(test["confusion_matrix"])
    called, present = matrix.sum(axis=0), matrix.sum(axis=1)
    return [name for k, name in enumerate(class_names) if called[k] == 0 and present[k] > 0]


def findings(
    test: dict[str, Any], class_names: list[str], prevalence: list[float]
) -> list[dict[str, Any]]:
    """Per class with test images, how well it is found and what it is most often mistaken for
    (a class absent from test has no recall: untested_classes names it).

    prevalence: share of each class in the training split. Sorted worst recall first.
    """
    matrix = np.asarray(test["confusion_matrix"])
    rows = []
    for row in test["report"]["classes"]:
        if row["support"] == 0:
            continue
        k = row["index"]
        errors = matrix[k].copy()
        errors[k] = 0
        confused_with = int(errors.argmax()) if errors.sum() else None
        predicted = int(matrix[:, k].sum())  # test images given this class
        rows.append(
            {
                "index": k,
                "name": class_names[k],
                "recall": row["recall"],
                "precision": row["precision"],
                "support": row["support"],
                "prevalence": prevalence[k],
                "missed": int(errors.sum()),
                "found": int(matrix[k, k]),
                "predicted": predicted,
                # Given to at least OVERCALLED times as many test images as have it.
                "overcalled": row["support"] > 0 and predicted >= OVERCALLED * row["support"],
                "confused_with": class_names[confused_with] if confused_with is not None else None,
                "confused_count": int(errors.max()) if errors.sum() else 0,
            }
        )
    return sorted(rows, key=lambda row: (row["recall"], row["prevalence"]))
