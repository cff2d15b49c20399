"""The build's one run among the same recipe's runs with other seeds, as the Overview says it."""

from __future__ import annotations

from typing import Any

from reportgen.render import make_environment, page_context
from reportgen.seed_spread import recipe_over_seeds
from tests.conftest import make_results


def _experiments(accuracies: list[float], recalls: list[list[float]], config: dict) -> dict:
    runs = [
        {
            "seed": seed,
            "test": {
                "accuracy": accuracy,
                "auc": 0.7 + accuracy / 10,
                "balanced_accuracy": accuracy / 2,
                "per_class_recall": recall,
            },
        }
        for seed, (accuracy, recall) in enumerate(zip(accuracies, recalls, strict=True))
    ]
    return {"variants": [{"config": config, "runs": runs}]}


def test_the_spread_of_the_recipe_over_seeds_and_where_this_run_ranks() -> None:
    recalls = [[0.9, 0.0, 0.84], [0.8, 0.0, 0.44], [0.85, 0.0, 0.47]]
    spread = recipe_over_seeds(_experiments([0.53, 0.50, 0.52], recalls, {}), seed=0)
    assert spread is not None and spread["seeds"] == [0, 1, 2]
    assert spread["ranges"]["accuracy"] == {"low": 0.50, "high": 0.53}
    assert spread["class_recall"][2] == {"low": 0.44, "high": 0.84}
    assert spread["rank"] == "best"  # seed 0 is highest on all three
    assert recipe_over_seeds(_experiments([0.53, 0.50, 0.52], recalls, {}), 1)["rank"] == "worst"
    assert recipe_over_seeds(_experiments([0.53, 0.50, 0.52], recalls, {}), 2)["rank"] is None
    outside = recipe_over_seeds(_experiments([0.53, 0.50, 0.52], recalls, {}), seed=7)
    assert outside["rank"] is None and outside["seeds"] == [0, 1, 2]
    # One seed, or no experiments: nothing to say.
    assert recipe_over_seeds(_experiments([0.5], recalls[:1], {}), 0) is None
    assert recipe_over_seeds(None, 0) is None


def _index(results: dict[str, Any], spread: dict[str, Any] | None) -> str:
    template = make_environment().get_template("index.md.j2")
    return template.render({**page_context(results), "recipe_seeds": spread})


def test_the_overview_says_how_far_the_runs_numbers_and_findings_carry_over_to_other_seeds() -> (
    None
):
    results = make_results()
    names = results["dataset"]["class_names"]
    test = results["test"]
    # Three runs, this one (seed 0) the best on every headline number.
    accuracies = [test["accuracy"], test["accuracy"] - 0.03, test["accuracy"] - 0.01]
    classes = test["report"]["classes"]
    least = min(classes, key=lambda row: row["recall"])
    # Every seed finds the least-found class as often as this run does; the others vary.
    recalls = [
        [row["recall"] for row in classes],
        *[[row["recall"] if row is least else max(row["recall"] - 0.4, 0.0) for row in classes]]
        * 2,
    ]
    experiments = _experiments(accuracies, recalls, {})
    for run in experiments["variants"][0]["runs"]:
        run["test"]["auc"] = test["auc"] - (0.0 if run["seed"] == 0 else 0.02)
        run["test"]["balanced_accuracy"] = test["balanced_accuracy"] - 0.01 * run["seed"]
    page = _index(results, recipe_over_seeds(experiments, seed=0))
    assert "Over the 3 seeds of [Experiments](experiments.md), the same recipe scored" in page
    assert "this run is the best of them on all three, so its numbers show the recipe" in page
    best = max(test["report"]["classes"], key=lambda row: row["recall"])
    low = max(best["recall"] - 0.4, 0.0)
    assert f"{low:.2f}–{best['recall']:.2f} over the 3 seeds of the same recipe" in page
    # A recall every seed shares is said once, not as a range from a number to itself.
    same = f"{least['recall']:.2f}"
    assert f"; {same} with each of the 3 seeds of the same recipe)" in page
    assert f"{same}–{same}" not in page
    assert names[best["index"]] in page
    # Without experiments the run's numbers stand alone.
    alone = _index(results, None)
    assert "Over the 3 seeds" not in alone and "of the same recipe" not in alone


def test_the_model_card_says_where_its_one_run_ranks_among_the_recipes_seeds() -> None:
    context = page_context(make_results())
    cell = {"mean": 0.5, "sd": 0.02}
    context["experiments"] = {
        "one_seed": False,
        "seeds": [0, 1, 2],
        "screening": None,  # this hand-made view has no per-variant screening rows
        "baseline": {
            "cells": {"accuracy": cell, "auc": {"mean": 0.7, "sd": 0.01}, "balanced_accuracy": cell}
        },
    }
    body = make_environment().get_template("_model_card_body.md.j2")
    recalls = [[0.9, 0.0, 0.84], [0.8, 0.0, 0.44], [0.85, 0.0, 0.47]]
    experiments = _experiments([0.53, 0.50, 0.52], recalls, {})

    def one_run(seed: int) -> str:
        spread = recipe_over_seeds(experiments, seed)
        text = body.render({**context, "recipe_seeds": spread})
        (line,) = [line for line in text.splitlines() if line.startswith("- **One run.**")]
        return line

    assert "This run is the best of those seeds on all three of accuracy, AUC and balanced" in (
        one_run(0)
    )
    assert "at its luckiest: quote the means as the recipe's score." in one_run(0)
    # "All three" are the three the line gave.
    assert (
        "test accuracy is 0.500\u00a0±\u00a00.020, its AUC 0.700\u00a0±\u00a00.010 and its balanced "
        "accuracy 0.500\u00a0±\u00a00.020 (mean ± sample standard deviation"
    ) in one_run(0)
    assert "This run is the worst of those seeds on all three" in one_run(1)
    assert "best of those" not in one_run(2) and "worst of those" not in one_run(2)
