"""The Experiments page's data: each variant's row against the baseline, and the choice made on
validation, from experiments.json alone (no torch)."""

from __future__ import annotations

from typing import Any

import numpy as np
from markupsafe import Markup

from reportgen import referral, screening, study
from reportgen.experiments import SUMMARY_METRICS, mean_sd, variant_slug
from reportgen.formatting import escape_markdown, fmt_number, is_score, rounded
from reportgen.page_readings import (
    OVERCALLED,
    curves_reading,
    finding_class,
    largest_class,
    recipe_changes,
    smallest_class,
)
from reportgen.results import PLAN_FILE
from reportgen.variant_comparisons import (
    COMPARED_COLUMNS,
    NOISE_LEVEL,
    best_rivals,
    difference_reading,
    longer_training,
    no_spread,
    selection_margin,
    single_network_version,
)

# The table's columns that compare with the baseline: the metrics, then the focus class's recall.
TABLE_COLUMNS = (*SUMMARY_METRICS, "focus_recall")


def _focus_class(dataset: dict[str, Any]) -> tuple[int, str]:
    """The class the experiments table follows, and why: melanoma where it exists ("melanoma");
    of two classes one of which is normal, the other, the finding to detect ("finding": in
    PneumoniaMNIST, pneumonia, though normal is the rarer); else the rarest class ("rarest")."""
    names = dataset["class_names"]
    if "melanoma" in names:
        return names.index("melanoma"), "melanoma"
    finding = finding_class(names)
    if finding is not None:
        return finding, "finding"
    return smallest_class(dataset["counts"]["train"]), "rarest"


COLLAPSED_RECALL = (0.95, 0.10)  # the largest class found this often, every other this rarely


def collapsed_onto(mean_recall: list[float], dataset: dict[str, Any]) -> str | None:
    """The largest training class, where a variant finds it nearly always and every other class
    rarely (mean test recall): a model that answers almost only that class. Else None. A class
    without test images (its recall missing) counts for neither."""
    largest = largest_class(dataset["counts"]["train"])
    others = [recall for k, recall in enumerate(mean_recall) if k != largest and is_score(recall)]
    if (
        others  # with no other class measured, nothing says the others are rarely found
        and is_score(mean_recall[largest])
        and mean_recall[largest] >= COLLAPSED_RECALL[0]
        and max(others) <= COLLAPSED_RECALL[1]
    ):
        return str(dataset["class_names"][largest])
    return None


# A recommended variant whose validation score runs this far above its test score gets a note:
# picking the best of many on few validation images favours luck there.
VAL_OVER_TEST_NOTABLE = 0.03


def _called(runs: list[dict[str, Any]], k: int, rightly: bool = False) -> dict[str, float]:
    """Mean and sd over runs of how many test images each run called class k (rightly: only
    those that are k), counted from each run's confusion matrix."""
    matrices = [np.asarray(run["confusion_matrix"]) for run in runs]
    counts = [{"called": float(m[k, k] if rightly else m[:, k].sum())} for m in matrices]
    mean, sd = mean_sd(counts, ("called",))
    return {"mean": mean["called"], "sd": sd["called"]}


def _column_stat(variant: dict[str, Any], column: str, stat: str, focus: int) -> float:
    """A variant's mean or sd (stat) over seeds for one table column."""
    if column == "focus_recall":
        return variant[stat]["per_class_recall"][focus]
    return variant[stat][column]


# A difference in the focus class's recall worth this many test images or fewer is also said in
# images: a recall of +0.050 can be one image of twenty, which no mark of seed noise conveys.
FEW_IMAGES = 2


def image_difference(
    delta_recall: float, n_images: int, focus: str, steady: bool = True
) -> Markup | None:
    """ "1 more of the 20 *grade 4* images found": a small difference in the focus class's recall
    in images; None for none or for more than FEW_IMAGES. steady: every run of both found as many
    images as the others (no spread); else the difference is an average per run."""
    images = delta_recall * n_images
    if abs(images) < 0.05 or abs(images) > FEW_IMAGES + 1e-9:
        return None
    whole = abs(images - round(images)) < 1e-9
    count = fmt_number(abs(images), 0 if whole else 1)
    direction = "more" if images > 0 else "fewer"
    found = "found" if whole and steady else "found per run, on average"
    return Markup(
        f"{count} {direction} of the {n_images} *{escape_markdown(focus)}* images {found}"
    )


def _versus_baseline(
    cells: dict[str, dict[str, Any]],
    base_cells: dict[str, dict[str, Any]],
    n: int,
    baseline_n: int,
    focus: dict[str, Any],
) -> dict[str, dict[str, Any]]:
    """Per column: the variant's and the baseline's means (the pages show the difference of the
    two as rounded), how the pages qualify it (variant_comparisons.difference_reading), and for
    the focus class's recall (focus: its "name" and test "images") a small difference in images."""
    return {
        column: _compared(
            (cells[column]["mean"], cells[column]["sd"], n),
            (base_cells[column]["mean"], base_cells[column]["sd"], baseline_n),
            (focus["name"], focus["images"]) if column == "focus_recall" else None,
        )
        for column in TABLE_COLUMNS
    }


def _compared(
    variant: tuple[float, float | None, int],
    baseline: tuple[float, float | None, int],
    recall_of: tuple[str, int] | None = None,
) -> dict[str, Any]:
    """A variant's mean against the baseline's, each given as (mean, sd, runs): both means, how
    the pages qualify the difference (variant_comparisons.difference_reading) and, for a class's
    recall (recall_of: its name and test images), a small difference in images."""
    (mean, sd, n), (base, base_sd, base_n) = variant, baseline
    reading = difference_reading(mean, sd, n, base, base_sd, base_n)
    images = None  # also where the pages say "no change", however many images rounding hides
    if recall_of is not None and reading != "same" and is_score(mean) and is_score(base):
        name, n_images = recall_of
        # One run each (no sd) or every run alike: whole images, not an average.
        steady = all(value is None or no_spread(value) for value in (sd, base_sd))
        images = image_difference(mean - base, n_images, name, steady=steady)
    return {"mean": mean, "baseline": base, "reading": reading, "images": images}


def close_focus_leader(
    recommended: dict[str, Any], selection: dict[str, Any] | None, focus: dict[str, Any]
) -> dict[str, Any] | None:
    """Of the variants the validation split cannot tell from the recommended one (selection's
    `close`), the one that finds the focus class most often on test, where it does so beyond
    seed noise: what the near tie leaves to weigh (it also calls the class more often), for the
    reader, never a choice. focus: the class's "name" and test "images"."""
    close = [] if selection is None else selection["close"]
    scored = [row for row in close if is_score(row["cells"]["focus_recall"]["mean"])]
    if not scored or not is_score(recommended["cells"]["focus_recall"]["mean"]):
        return None
    leader = max(scored, key=lambda row: row["cells"]["focus_recall"]["mean"])
    mine, theirs = leader["cells"]["focus_recall"], recommended["cells"]["focus_recall"]
    compared = _compared(
        (mine["mean"], mine["sd"], leader["n_runs"]),
        (theirs["mean"], theirs["sd"], recommended["n_runs"]),
        (focus["name"], focus["images"]),
    )
    if compared["reading"] != "beyond" or compared["mean"] < compared["baseline"]:
        return None
    return {"row": leader, **compared}


# A fall in a class's recall smaller than this that seed noise can explain is not named (one
# image in twenty); a larger one is, marked as within seed noise.
NAMED_FALL = 0.05


def recall_falls(
    row: dict[str, Any], baseline: dict[str, Any], dataset: dict[str, Any], focus: int
) -> list[dict[str, Any]]:
    """The classes besides the focus class (whose recall the pages give anyway) that a variant
    finds less often than the baseline, largest fall first: each with its mean test recall and
    the baseline's, how the pages qualify the difference (difference_reading: within seed noise
    is said, not hidden, as for the other columns; over 3 seeds Welch's test misses large
    falls) and, where small, the difference in images. Falls that round away are left out, and
    so are those under NAMED_FALL that seed noise can explain."""
    falls = []
    for k, name in enumerate(dataset["class_names"]):
        mean, base = row["per_class_mean_recall"][k], baseline["per_class_mean_recall"][k]
        if k == focus or not (is_score(mean) and is_score(base)) or mean >= base:
            continue
        fall = _compared(
            (mean, row["per_class_sd_recall"][k], row["n_runs"]),
            (base, baseline["per_class_sd_recall"][k], baseline["n_runs"]),
            (name, dataset["counts"]["test"][k]),
        )
        if fall["reading"] == "same" or (fall["reading"] == "noise" and base - mean < NAMED_FALL):
            continue
        falls.append({"name": name, **fall})
    return sorted(falls, key=lambda fall: fall["mean"] - fall["baseline"])


# The settings the Experiments page's glossary explains, each with whether a run's settings use it.
GLOSSARY_SETTINGS = {
    "effective_number": lambda config: config.get("loss_weighting") == "effective_number",
    "schedule": lambda config: config.get("schedule", "constant") != "constant",
    "adamw": lambda config: config.get("optimizer") == "adamw",
    "label_smoothing": lambda config: config.get("label_smoothing", 0.0) > 0,
    "ensemble": lambda config: config.get("ensemble", 1) > 1,
    "wide_cnn": lambda config: config.get("model") == "wide_cnn",
    "tta": lambda config: bool(config.get("tta")),
}


def glossary_terms(rows: list[dict[str, Any]]) -> list[str]:
    """The GLOSSARY_SETTINGS some variant's runs use: the page explains those, not the rest."""
    configs = [row["first_run"]["config"] for row in rows]
    return [term for term, used in GLOSSARY_SETTINGS.items() if any(map(used, configs))]


def _focus_entry(dataset: dict[str, Any], focus: int) -> dict[str, Any]:
    """The focus class as the comparisons name it: its "name" and its number of test "images"."""
    return {"name": dataset["class_names"][focus], "images": dataset["counts"]["test"][focus]}


def _variant_rows(
    experiments: dict[str, Any], dataset: dict[str, Any], focus: int
) -> list[dict[str, Any]]:
    """One row per variant, the baseline first: its cells (mean, sd, best in column), its
    differences from the baseline, and what the page says about it."""
    variants = experiments["variants"]
    # The best mean per column among those there are (a missing score is no one's best).
    best = {
        column: max(
            (
                mean
                for variant in variants
                if is_score(mean := _column_stat(variant, column, "mean", focus))
            ),
            default=None,
        )
        for column in TABLE_COLUMNS
    }
    rows: list[dict[str, Any]] = []
    for variant in variants:
        # With one seed there is no spread between runs: mean_sd's 0 would read as a certain score.
        spread = len(variant["runs"]) > 1
        cells: dict[str, dict[str, Any]] = {}
        for column in TABLE_COLUMNS:
            mean = _column_stat(variant, column, "mean", focus)
            cells[column] = {
                "mean": mean,
                "sd": _column_stat(variant, column, "sd", focus) if spread else None,
                # Not the focus recall: a variant can buy it by calling many more images so.
                # Best as the page shows it: a tie to three decimals is bold in both rows.
                "best": column != "focus_recall"
                and is_score(mean)
                and rounded(mean) >= rounded(best[column]),
            }
        called = _called(variant["runs"], focus)
        cells["focus_called"] = {**called, "sd": called["sd"] if spread else None, "best": False}
        rightly = _called(variant["runs"], focus, rightly=True)
        cells["focus_rightly"] = {**rightly, "sd": rightly["sd"] if spread else None, "best": False}
        base_cells = rows[0]["cells"] if rows else cells  # the baseline is the first variant
        rows.append(
            {
                "name": variant["name"],
                "slug": variant_slug(variant["name"]),
                "description": variant["description"],
                "config": variant["config"],
                "steps": variant["steps"],
                "cells": cells,
                "val_balanced_accuracy": variant["val_mean"]["balanced_accuracy"],
                # None with one seed, and for older experiments.json files, which have no val_sd.
                "val_sd_balanced_accuracy": variant.get("val_sd", {}).get("balanced_accuracy")
                if spread
                else None,
                "versus_baseline": _versus_baseline(
                    cells,
                    base_cells,
                    len(variant["runs"]),
                    len(variants[0]["runs"]),
                    _focus_entry(dataset, focus),
                ),
                "recommended": variant["name"] == experiments["recommended"],
                "per_class_mean_recall": variant["mean"]["per_class_recall"],
                "collapsed_onto": collapsed_onto(variant["mean"]["per_class_recall"], dataset),
                "per_class_sd_recall": variant["sd"]["per_class_recall"]
                if spread
                else [None] * len(dataset["class_names"]),
                "first_run": variant["runs"][0],
                "first_curves": curves_reading(variant["runs"][0]["history"]),
                # The diagonal of the confusion matrix its figure draws (None for a class
                # without test images, whose row there is all zeros).
                "first_recall": [
                    {"name": name, "recall": row[k] / sum(row) if sum(row) else None}
                    for k, (name, row) in enumerate(
                        zip(
                            dataset["class_names"],
                            variant["runs"][0]["confusion_matrix"],
                            strict=True,
                        )
                    )
                ],
                "n_runs": len(variant["runs"]),
                # Test scores by seed, for comparisons seed by seed (single_network_version).
                "test_by_seed": {run["seed"]: run["test"] for run in variant["runs"]},
                # How many epochs each run trained and which it kept (None where not recorded).
                "epochs_by_run": [
                    {"trained": run.get("epochs_run"), "kept": run.get("selected_epoch")}
                    for run in variant["runs"]
                ],
                "train_seconds": sum(run["train_seconds"] for run in variant["runs"])
                / len(variant["runs"]),
            }
        )
    # A network is listed under one variant and linked to from the others that train it: under
    # the recommended variant (whose details are open), else the first.
    listing_order = sorted(rows, key=lambda row: not row["recommended"])  # stable: then in order
    for row in rows:
        model = row["first_run"].get("model")
        lister = next(
            (
                other
                for other in listing_order
                if model and other["first_run"].get("model") == model
            ),
            row,
        )
        row["same_network_as"] = (
            None
            if lister is row
            else {
                "name": lister["name"],
                "slug": lister["slug"],
                "networks": lister["first_run"]["config"].get("ensemble", 1),
            }
        )
    return rows


def experiments_view(
    experiments: dict[str, Any] | None, dataset: dict[str, Any]
) -> dict[str, Any] | None:
    """Rows of the experiments table with the best value per column marked, plus deltas vs baseline.
    A row's settings are its first run's: the build's, then the variant's overrides."""
    if experiments is None:
        return None
    focus, focus_reason = _focus_class(dataset)
    rows = _variant_rows(experiments, dataset, focus)
    best_val = max(row["val_balanced_accuracy"] for row in rows)
    for row in rows:
        row["val_best"] = rounded(row["val_balanced_accuracy"]) >= rounded(best_val)
    for row in rows:
        # A variant that collapsed onto one class is said so instead: every other class falls.
        row["recall_falls"] = (
            [] if row["collapsed_onto"] else recall_falls(row, rows[0], dataset, focus)
        )
    recommended = next(row for row in rows if row["recommended"])
    labels = {
        **{column: COMPARED_COLUMNS[column] for column in ("accuracy", "auc", "balanced_accuracy")},
        "focus_recall": f"{dataset['class_names'][focus]} recall",
    }
    # The headline differences of the recommended variant from the baseline that the pages mark
    # as within seed noise, and those every seed of both gave alike (no test can judge them).
    readings = {
        column: None if recommended is rows[0] else recommended["versus_baseline"][column]
        for column in labels
    }

    def read_as(kind: str) -> list[tuple[str, dict[str, Any]]]:
        """The headline columns whose difference from the baseline reads as kind, by label."""
        return [
            (labels[column], entry)
            for column, entry in readings.items()
            if entry and entry["reading"] == kind
        ]

    recommended_within_noise = [label for label, _ in read_as("noise")]
    recommended_alike = [
        {"label": label, "images": entry["images"]} for label, entry in read_as("alike")
    ]
    # ...and those that read the same as the baseline's at three decimals: no gain at all.
    recommended_same = [label for label, _ in read_as("same")]
    # ...and those Welch's test tells from seed noise, with their direction (a lower accuracy
    # the page would otherwise leave to the reader to spot).
    recommended_beyond_noise = [
        {"label": label, "higher": entry["mean"] > entry["baseline"]}
        for label, entry in read_as("beyond")
    ]
    # Whether the recommended variant calls the focus class for OVERCALLED times as many test
    # images as hold it or more: its focus recall then comes from answering so often.
    focus_images = dataset["counts"]["test"][focus]
    recommended_overcalls = (
        focus_images > 0
        and is_score(recommended["cells"]["focus_called"]["mean"])
        and recommended["cells"]["focus_called"]["mean"] >= OVERCALLED * focus_images
    )
    screening_rows = screening.screening_by_variant(experiments, dataset)
    if screening_rows is not None:
        base_rates = screening_rows[0]
        for row, reading in zip(rows, screening_rows, strict=True):
            # Each rate against the baseline's, as the pages qualify a difference ("noise":
            # within seed noise; None with one seed).
            versus_baseline = {
                rate: difference_reading(
                    reading["mean"][rate],
                    reading["sd"][rate],
                    row["n_runs"],
                    base_rates["mean"][rate],
                    base_rates["sd"][rate],
                    rows[0]["n_runs"],
                )
                for rate in ("sensitivity", "specificity")
            }
            row["screening"] = {**reading, "versus_baseline": versus_baseline}
    # Whether those readings include the referral AUC and the rates at the threshold set on
    # validation (files written before them do not).
    screening_auc = screening_rows is not None and "auc" in screening_rows[0]["mean"]
    screening_target = (
        screening_rows is not None and screening.TARGET_RATES[0] in screening_rows[0]["mean"]
    )
    seeds = experiments["seeds"]
    one_seed = len(seeds) == 1  # each variant one run: no spread between runs to show or test
    selection = selection_margin(recommended, rows)
    return {
        "seeds": seeds,
        "one_seed": one_seed,
        "seed_phrase": f"one run, seed {seeds[0]}" if one_seed else f"mean of {len(seeds)} seeds",
        "recommended": experiments["recommended"],
        # Per column, how many variants cannot be told from a bold mean (the same to three
        # decimals, or within seed noise of any mean tied for the bold), and whether the
        # baseline is one of them (None with one seed: no spread to judge by).
        "best_rivals": None
        if one_seed
        else [
            {
                "label": COMPARED_COLUMNS[entry["column"]],
                "count": len(entry["rivals"]),
                "baseline": rows[0]["name"] in entry["rivals"],
            }
            for entry in best_rivals(rows, SUMMARY_METRICS)
        ],
        "selection": selection,
        "close_focus_leader": close_focus_leader(
            recommended, selection, _focus_entry(dataset, focus)
        ),
        # Comparisons with the baseline per column, and how many of them would pass Welch's test
        # by chance alone if no variant changed anything.
        "compared": len(rows) - 1,
        "chance_passes": NOISE_LEVEL * (len(rows) - 1),
        # Whether the recommended variant's validation score runs well above its test score.
        "val_over_test_notable": recommended["val_balanced_accuracy"]
        - recommended["cells"]["balanced_accuracy"]["mean"]
        > VAL_OVER_TEST_NOTABLE,
        # "mean validation balanced accuracy": with one seed, no mean.
        "selection_metric": experiments["selection_metric"].removeprefix("mean ")
        if one_seed
        else experiments["selection_metric"],
        "focus_class": dataset["class_names"][focus],
        "focus_reason": focus_reason,  # melanoma, finding (not normal) or rarest: the page says
        "focus_test_images": dataset["counts"]["test"][focus],
        "rows": rows,
        "baseline": rows[0],
        # Where the build's own settings, which the baseline runs, differ from the study's recipe.
        "recipe_changes": recipe_changes(rows[0]["first_run"]["config"]),
        "recommended_row": recommended,
        "glossary": glossary_terms(rows),
        "recommended_within_noise": recommended_within_noise,
        "recommended_alike": recommended_alike,
        "recommended_same": recommended_same,
        "recommended_beyond_noise": recommended_beyond_noise,
        "recommended_overcalls": recommended_overcalls,
        "single_network": single_network_version(recommended, rows),
        "longer_training": longer_training(rows),
        # The experiments file published beside experiments.json (older builds have none).
        "plan_file": PLAN_FILE.as_posix() if experiments.get("plan_toml") else None,
        "references": experiments["references"],
        "by_step": {
            key: [row for row in rows if key in row["steps"]] for key, _ in study.NEXT_STEPS
        },
        # Variants that try ideas the study did not propose (not the baseline itself).
        "beyond_steps": [row for row in rows[1:] if not row["steps"]],
        # Each variant's screening reading, in the order of `rows` (None: none to show).
        "screening": screening_rows,
        "screening_auc": screening_auc,
        "screening_target": screening_target,
        # The rates of each reading the screening table shows, in its column order.
        "screening_columns": list(screening.rate_columns(screening_auc, screening_target)),
        "target_sensitivity": referral.TARGET_SENSITIVITY,
        # Variants whose reported probabilities are re-weighted by tuned per-class offsets.
        "offset_variants": [
            row for row in rows if row["first_run"]["config"].get("threshold_tuning")
        ],
    }
