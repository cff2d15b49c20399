"""Run an experiment plan: every variant for every seed, each run cached like the main build's.

Runs missing from the cache are trained in parallel worker processes when `jobs` > 1 (each with
its share of the CPU threads), then every run is read back from the cache.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

from reportgen import cache
from reportgen.catalog import class_names_of, medmnist_info
from reportgen.config import BuildConfig
from reportgen.data import DataFile, LoadedDataset
from reportgen.errors import ReportgenError
from reportgen.experiments import (
    REFERENCES,
    ExperimentPlan,
    recommend,
    run_metrics,
    summarize_variant,
)
from reportgen.interrupt import start_resource_tracker, terminal_signals_blocked
from reportgen.screening import TARGET_NAMES, referral_auc_of, referral_operating_point_of


@dataclass(frozen=True)
class PlannedRun:
    variant: str
    seed: int
    config: BuildConfig
    key: str


def run_entry(
    planned: PlannedRun, run: cache.TrainedRun, reused: bool, dataset: dict[str, Any]
) -> dict[str, Any]:
    """What experiments.json keeps of one run: its full training settings (the variant's
    overrides applied to the build's config) and thread count, metrics, selection, curves,
    confusion matrix and, where the dataset (its flag and class names) has a screening endpoint,
    the referral AUC and the test sensitivity and specificity at the referral threshold set on
    validation."""
    record = run.record
    # Only the estimate is kept (the page shows the spread over seeds), so no bootstrap.
    auc = referral_auc_of(dataset, run.test_labels, run.test_probabilities, resamples=0)
    target = referral_operating_point_of(dataset, run)
    return {
        "seed": planned.seed,
        "key": planned.key,
        "reused": reused,
        "config": planned.config.training_fields(),
        # Runs are seeded but not bit-identical across thread counts (floating-point order).
        "torch_threads": record["environment"]["torch_threads"],
        "test": run_metrics(record["test"]),
        "val": run_metrics(record["val"]),
        "selected_epoch": record["selection"]["selected_epoch"],
        "epochs_run": record["selection"]["epochs_run"],
        "train_seconds": record["seconds"]["train"],
        "history": record["history"],
        "confusion_matrix": record["test"]["confusion_matrix"],  # counts: the screening reading
        "referral_auc": None if auc is None else auc["estimate"],
        "referral_at_target": None
        if target is None
        else {name: target["test"][name]["estimate"] for name in TARGET_NAMES},
        "confusion_matrix_normalized": record["test"]["confusion_matrix_normalized"],
        "per_class": record["test"]["report"]["classes"],
        "model": record["model"],  # the network's layers, for variants that change it
    }


# On the CPU a run keeps about this many threads busy; more cores pay as more workers. On 2 cores,
# two 1-thread workers were slower than one 2-thread run at a time (benchmarks/RESULTS.md).
CPU_THREADS_PER_WORKER = 4
# On a GPU a second worker pays only once its start-up (a torch import and a CUDA context, seconds)
# is shared by many runs: on an H100, 2 workers were slower for 6 short runs (33.2 s against 21.4 s)
# and a little faster for 45 (61.8 s against 68.3 s; benchmarks/RESULTS.md).
GPU_RUNS_PER_EXTRA_WORKER = 20
# While workers train, on_waiting is called this often, so a progress display can show time pass.
WAITING_SECONDS = 1.0


def resolve_jobs(jobs: int, device_type: str, n_runs: int) -> int:
    """jobs = 0 means auto: on the CPU one worker per 4 cores (one at a time below 8 cores); on a
    GPU two workers from 20 runs up, else one; never more workers than runs."""
    if jobs == 0:
        cores = os.cpu_count() or 1
        if device_type in {"cuda", "mps"}:
            jobs = 2 if n_runs >= GPU_RUNS_PER_EXTRA_WORKER else 1
        else:
            jobs = max(1, cores // CPU_THREADS_PER_WORKER)
    return max(1, min(jobs, n_runs))


def _set_worker_threads(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)


def _train_and_cache(config: BuildConfig, cache_dir: Any, key: str, data_file: DataFile) -> str:
    """Worker: read the data (still the file the build hashed), train one run and cache it;
    returns the key."""
    from reportgen.data import read_dataset
    from reportgen.runner import run_training  # imports torch

    dataset = read_dataset(config.dataset, data_file)
    cache.save_run(run_training(dataset, config), cache_dir, key)
    return key


def _train_missing(
    base: BuildConfig,
    data_file: DataFile,
    missing: list[PlannedRun],
    load_dataset: Callable[[], LoadedDataset],
    on_run: Callable[[str, int, int], None],
    on_note: Callable[[str], None],
    on_start: Callable[[int], None],
    on_run_epoch: Callable[[str, int, Any, int], None],
    on_waiting: Callable[[], None],
) -> None:
    if not missing:
        return  # everything cached: not even torch is imported
    from reportgen.device import precision_notes, resolve_device

    for note in precision_notes([planned.config for planned in missing]):
        on_note(note)
    jobs = resolve_jobs(base.jobs, resolve_device(base.device).type, len(missing))
    if jobs == 1:
        from reportgen.runner import run_training  # imports torch

        dataset = load_dataset()  # before on_start: loading may announce itself
        on_start(len(missing))
        for planned in missing:
            # Every network of an ensemble trains its epochs in turn.
            epochs = planned.config.epochs * planned.config.ensemble

            def on_epoch(stats: Any, planned: PlannedRun = planned, epochs: int = epochs) -> None:
                on_run_epoch(planned.variant, planned.seed, stats, epochs)

            run = run_training(dataset, planned.config, on_epoch=on_epoch)
            cache.save_run(run, base.cache_dir, planned.key)
            on_run(planned.variant, planned.seed, len(missing))
        return
    threads = max(1, (os.cpu_count() or 1) // jobs)
    context = multiprocessing.get_context("spawn")
    start_resource_tracker()  # before the pool, whose first lock would start it
    with ProcessPoolExecutor(
        jobs, mp_context=context, initializer=_set_worker_threads, initargs=(threads,)
    ) as pool:
        try:
            on_start(len(missing))
            with terminal_signals_blocked():  # the workers start in submit()
                futures = {
                    pool.submit(_train_and_cache, p.config, base.cache_dir, p.key, data_file): p
                    for p in missing
                }
            pending = set(futures)
            while pending:
                done, pending = wait(pending, WAITING_SECONDS, return_when=FIRST_COMPLETED)
                for future in done:
                    try:
                        future.result()
                    except BrokenProcessPool:
                        raise _worker_died(futures[future]) from None
                    on_run(futures[future].variant, futures[future].seed, len(missing))
                if not done:
                    on_waiting()
        except BaseException:
            _stop_workers(pool)  # before shutdown(), which forgets the worker processes
            pool.shutdown(wait=False, cancel_futures=True)
            raise


def _worker_died(planned: PlannedRun) -> ReportgenError:
    """A worker process ended without a result: killed from outside, or by the system's
    out-of-memory killer, which is the likely cause when several train at once."""
    return ReportgenError(
        f"A training worker stopped abruptly while {planned.variant}, seed {planned.seed}, was "
        "training: it was killed, by another program or by the system when memory ran out. The "
        "runs that finished are cached. Run the same command again; with --jobs 1 the runs train "
        "one at a time, which needs the least memory."
    )


def _stop_workers(pool: ProcessPoolExecutor) -> None:
    """End the workers now: after an error or an interrupt, their runs would only be waited for."""
    terminate_workers = getattr(pool, "terminate_workers", None)  # Python 3.14 and later
    if terminate_workers is not None:
        terminate_workers()
        return
    # No public way before Python 3.14.
    for process in list((pool._processes or {}).values()):
        process.terminate()


def run_plan(
    base: BuildConfig,
    plan: ExperimentPlan,
    data_file: DataFile,
    load_dataset: Callable[[], LoadedDataset],
    on_run: Callable[[str, int, int], None] = lambda name, seed, total: None,
    on_note: Callable[[str], None] = lambda note: None,
    on_start: Callable[[int], None] = lambda total: None,
    fresh_keys: frozenset[str] = frozenset(),
    on_run_epoch: Callable[[str, int, Any, int], None] = lambda name, seed, stats, epochs: None,
    on_waiting: Callable[[], None] = lambda: None,
) -> dict[str, Any]:
    """experiments.json: every variant's runs, mean and sd over seeds, and the recommended variant.

    load_dataset is called only when a run is not cached (and should load at most once). on_note
    receives warnings about the runs about to train (bf16 on a CPU without bfloat16 instructions),
    on_start how many runs are about to train, and on_run each run that has finished. Runs
    trained one at a time in this process (jobs 1) report each epoch to on_run_epoch: the
    variant, the seed, the epoch's stats and how many epochs the run trains in all (workers report
    only when a run has finished, and on_waiting is called every WAITING_SECONDS without one).
    fresh_keys are runs this build has already trained or read: taken from the cache even with
    retrain.
    """
    planned = [
        PlannedRun(variant.name, seed, config, cache.run_key(config, data_file.md5))
        for variant in plan.variants
        for seed in plan.seeds
        for config in [plan.config_for(base, variant, seed)]
    ]
    cached = {
        p.key: cache.load_run(base.cache_dir, p.key, on_damaged=on_note)
        for p in planned
        if not base.retrain or p.key in fresh_keys
    }
    missing = [p for p in planned if cached.get(p.key) is None]
    _train_missing(
        base,
        data_file,
        list({p.key: p for p in missing}.values()),
        load_dataset,
        on_run,
        on_note,
        on_start,
        on_run_epoch,
        on_waiting,
    )

    # The names screening.endpoint_of reads, without loading the data (all runs may be cached).
    class_names = class_names_of(medmnist_info()[base.dataset])
    dataset_names = {"flag": base.dataset, "class_names": class_names}
    variants = []
    for variant in plan.variants:
        runs = []
        for p in (p for p in planned if p.variant == variant.name):
            run = cached.get(p.key) or cache.load_run(base.cache_dir, p.key)
            if run is None:
                raise ReportgenError(
                    f"The run of {p.variant}, seed {p.seed}, was trained but cannot be read back "
                    f"from {base.cache_dir / p.key}: another build may have replaced or removed it "
                    "meanwhile. Run the build again; one build at a time per --cache-dir."
                )
            reused = cached.get(p.key) is not None
            runs.append(run_entry(p, run, reused, dataset_names))
        variants.append(summarize_variant(variant, runs))
    return {
        "dataset": base.dataset,
        "seeds": plan.seeds,
        "selection_metric": "mean validation balanced accuracy",
        "recommended": recommend(variants),
        "variants": variants,
        "references": REFERENCES.get(base.dataset, []),
        # The experiments file as read, so the published plan is the one that ran.
        "plan_toml": plan.source,
    }
