"""Where the build's one run sits among the runs of the same recipe with other seeds.

The headline pages describe one training run. With experiments, the baseline variant is the same
recipe trained with several seeds (the build's run among them), so the pages can say how far its
numbers and findings carry over to another seed, and whether this run was a lucky one.
"""

from __future__ import annotations

from typing import Any

from reportgen.formatting import is_score

HEADLINE_METRICS = ("accuracy", "auc", "balanced_accuracy")


def _span(values: list[float | None] | tuple[float | None, ...]) -> dict[str, float | None]:
    """The lowest and highest value, shaped as an interval for the pages' range formatting;
    missing scores (null in experiments.json) left out, and both None where none is there."""
    scores = [value for value in values if is_score(value)]
    return {"low": min(scores), "high": max(scores)} if scores else {"low": None, "high": None}


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
    ranges = {metric: _span(values) for metric, values in scores.items()}
    recalls = list(zip(*(run["test"]["per_class_recall"] for run in runs), strict=True))
    this_run = next((run for run in runs if run["seed"] == seed), None)
    rank = None
    if this_run is not None:
        mine = {metric: this_run["test"][metric] for metric in HEADLINE_METRICS}
        # Ranked only where every headline score is there, in this run and the others.
        if all(is_score(value) for values in scores.values() for value in values):
            if all(mine[metric] >= ranges[metric]["high"] for metric in HEADLINE_METRICS):
                rank = "best"
            elif all(mine[metric] <= ranges[metric]["low"] for metric in HEADLINE_METRICS):
                rank = "worst"
    return {
        "seeds": [run["seed"] for run in runs],
        "ranges": ranges,
        "class_recall": [_span(values) for values in recalls],
        "rank": rank,
    }
