"""Where the build's one run sits among the runs of the same recipe with other seeds.

The headline pages describe one training run. With experiments, the baseline variant is the same
recipe trained with several seeds (the build's run among them), so the pages can say how far its
numbers and findings carry over to another seed, and whether this run was a lucky one.
"""

from __future__ import annotations

from typing import Any

HEADLINE_METRICS = ("accuracy", "auc", "balanced_accuracy")


def _span(values: list[float] | tuple[float, ...]) -> dict[str, float]:
    """The lowest and highest value, shaped as an interval for the pages' range formatting."""
    return {"low": min(values), "high": max(values)}


def recipe_over_seeds(experiments: dict[str, Any] | None, seed: int) -> dict[str, Any] | None:
    """The baseline variant's test scores over its seeds: per headline metric the lowest and
    highest, per class the lowest and highest recall, and where the run with this seed ranks
    ("best" or "worst" on every headline metric, else None). None without experiments or with one
    seed. (The baseline variant has no overrides: experiments.py refuses them.)"""
    if experiments is None:
        return None
    baseline = experiments["variants"][0]
    runs = baseline["runs"]
    if len(runs) < 2:
        return None
    scores = {metric: [run["test"][metric] for run in runs] for metric in HEADLINE_METRICS}
    recalls = list(zip(*(run["test"]["per_class_recall"] for run in runs), strict=True))
    this_run = next((run for run in runs if run["seed"] == seed), None)
    rank = None
    if this_run is not None:
        mine = {metric: this_run["test"][metric] for metric in HEADLINE_METRICS}
        if all(mine[metric] >= max(scores[metric]) for metric in HEADLINE_METRICS):
            rank = "best"
        elif all(mine[metric] <= min(scores[metric]) for metric in HEADLINE_METRICS):
            rank = "worst"
    return {
        "seeds": [run["seed"] for run in runs],
        "ranges": {metric: _span(values) for metric, values in scores.items()},
        "class_recall": [_span(values) for values in recalls],
        "rank": rank,
    }
