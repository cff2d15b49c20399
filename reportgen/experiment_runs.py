"""Run an experiment plan: every variant for every seed, each run cached like the main build's."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from reportgen import cache
from reportgen.config import BuildConfig
from reportgen.data import LoadedDataset
from reportgen.experiments import REFERENCES, ExperimentPlan, recommend, run_metrics, summarize_variant


def run_entry(seed: int, key: str, run: cache.TrainedRun, reused: bool) -> dict[str, Any]:
    """What experiments.json keeps of one run: metrics, selection, curves and confusion matrix."""
    record = run.record
    return {
        "seed": seed,
        "key": key,
        "reused": reused,
        "test": run_metrics(record["test"]),
        "val": run_metrics(record["val"]),
        "selected_epoch": record["selection"]["selected_epoch"],
        "epochs_run": record["selection"]["epochs_run"],
        "train_seconds": record["seconds"]["train"],
        "history": record["history"],
        "confusion_matrix_normalized": record["test"]["confusion_matrix_normalized"],
        "per_class": record["test"]["report"]["classes"],
    }


def run_plan(
    base: BuildConfig,
    plan: ExperimentPlan,
    data_md5: str,
    load_dataset: Callable[[], LoadedDataset],
    on_run: Callable[[str, int], None] = lambda name, seed: None,
) -> dict[str, Any]:
    """experiments.json: every variant's runs, mean and sd over seeds, and the recommended variant.

    load_dataset is called only when a run is not cached (and should load at most once).
    """
    from reportgen.runner import run_training  # noqa: PLC0415  (imports torch)

    variants = []
    for variant in plan.variants:
        runs = []
        for seed in plan.seeds:
            on_run(variant.name, seed)
            config = plan.config_for(base, variant, seed)
            key = cache.cache_key(config.training_fields(), data_md5, config.device)
            run = None if base.retrain else cache.load_run(base.cache_dir, key)
            reused = run is not None
            if run is None:
                run = run_training(load_dataset(), config)
                cache.save_run(run, base.cache_dir, key)
            runs.append(run_entry(seed, key, run, reused))
        variants.append(summarize_variant(variant, runs))
    return {
        "dataset": base.dataset,
        "seeds": plan.seeds,
        "selection_metric": "mean validation balanced accuracy",
        "recommended": recommend(variants),
        "variants": variants,
        "references": REFERENCES.get(base.dataset, []),
    }
