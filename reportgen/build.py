"""The whole build, stage by stage: data -> (cached) training -> results -> figures -> pages -> site.

Training and its results are here; publishing them (staged, then swapped in) is publish.py's.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from reportgen import cache, output_folders, render, results
from reportgen.catalog import check_flag
from reportgen.config import BuildConfig, inert_fields, option_flag, settings_conflict
from reportgen.data import DataFile, LoadedDataset, locate_dataset, read_dataset
from reportgen.errors import ReportgenError
from reportgen.experiment_runs import run_plan
from reportgen.experiments import ExperimentPlan, load_plan
from reportgen.progress import Progress, StageClock, silenced
from reportgen.publish import BuildOutcome, publish, read_project_files
from reportgen.reference import colour_reference, reference_key


def _dataset_loader(
    config: BuildConfig, clock: StageClock, data_file: DataFile
) -> Callable[[], LoadedDataset]:
    """Reads the dataset on first call only (never when nothing needs the images), checking that
    the file is still the one the runs' cache keys name."""
    loaded: list[LoadedDataset] = []

    def load() -> LoadedDataset:
        if not loaded:
            loaded.append(clock.run("load", lambda: read_dataset(config.dataset, data_file)))
        return loaded[0]

    return load


def _colour_reference(
    cache_dir: Path, data_md5: str, n_classes: int, dataset: Callable[[], LoadedDataset]
) -> dict[str, Any]:
    """The colour reference on the build's data: from the cache, else fitted (reading the images
    when no run has) and cached."""
    key = reference_key(data_md5, n_classes)
    reference = cache.load_reference(cache_dir, key)
    if reference is None:
        data = dataset()
        reference = colour_reference(
            data.train.images, data.train.labels, data.test.images, data.test.labels, n_classes
        )
        cache.save_reference(reference, cache_dir, key)
    return reference


def _said_once(say: Callable[[str], None]) -> Callable[[str], None]:
    """say, but each distinct message only the first time (one build, one warning)."""
    said: set[str] = set()

    def say_once(message: str) -> None:
        if message not in said:
            said.add(message)
            say(message)

    return say_once


def _train(
    config: BuildConfig,
    progress: Progress,
    clock: StageClock,
    dataset: Callable[[], LoadedDataset],
    on_note: Callable[[str], None],
) -> cache.TrainedRun:
    from reportgen.device import precision_notes
    from reportgen.runner import run_training  # imports torch

    for note in precision_notes([config]):
        on_note(note)
    data = dataset()
    n_train = len(data.train.labels)
    if config.batch_size > n_train:
        on_note(
            f"note: --batch-size {config.batch_size} is more than the {n_train:,} training images, "
            f"so each epoch is a single step ({config.epochs} in all); the study used 100."
        )
    run = run_training(data, config, on_epoch=progress.on_epoch)
    clock.timings["train"] = run.record["seconds"]["train"]
    clock.timings["evaluate"] = run.record["seconds"]["evaluate"]
    return run


def build(
    config: BuildConfig,
    command: str,
    progress: Progress = Progress(),
    given: frozenset[str] = frozenset(),
) -> BuildOutcome:
    """Train (or reuse the cached run) and publish pages and site for config; given names the
    options set on the command line, noted where they change nothing."""
    check_flag(config.dataset)
    folders = config.outputs().folders()
    kept = {
        "--data-root": config.data_root,
        "--cache-dir": config.cache_dir,
        **({"--experiments": config.experiments} if config.experiments is not None else {}),
        "the working folder": Path.cwd(),
    }
    plan = load_plan(config.experiments) if config.experiments is not None else None
    check_settings(config, plan)
    for note in inert_option_notes(config, plan, given) + unused_output_notes(config, given):
        progress.on_note(note)
    named_folders = config.outputs().named_folders()
    # Checked, but nothing made yet: a build refused for its data file leaves nothing behind.
    output_folders.check_output_dirs(named_folders, kept, create=False)
    output_folders.check_writable_folder(config.cache_dir, "--cache-dir", create=False)
    cache.check_cache_folders(config.cache_dir)
    templates = read_project_files(config.build_site)
    clock = StageClock(progress)
    data_file = clock.run("load", lambda: _locate(config, progress.quiet))  # its only hash
    output_folders.create_output_parents(named_folders)
    output_folders.check_writable_folder(config.cache_dir, "--cache-dir")
    with output_folders.output_lock(*folders):
        return _build_locked(config, command, plan, templates, progress, clock, data_file)


def _locate(config: BuildConfig, quiet: bool) -> DataFile:
    """data.locate_dataset, with a download's own progress bar silenced when quiet."""
    with silenced(quiet):
        return locate_dataset(config.dataset, config.data_root, config.allow_unofficial_data)


def unused_output_notes(config: BuildConfig, given: frozenset[str]) -> list[str]:
    """A note for an option given that this build has no use for: --jobs without experiments to
    run. (--site-url with --no-site is kept in results.json for a later `reportgen render`.)"""
    if "jobs" in given and config.experiments is None:
        note = (
            "note: --jobs changes nothing without --experiments; it sets how many runs of an "
            "experiments file train at once."
        )
        return [note]
    return []


def inert_option_notes(
    config: BuildConfig, plan: ExperimentPlan | None, given: frozenset[str]
) -> list[str]:
    """A note for each training option given that changes nothing: not in the build's own run,
    nor in any variant of the plan that inherits it (--width without --model wide_cnn). Such a
    build trains as asked, but the option was likely meant to do something."""
    notes = []
    inert = inert_fields(config)
    for field in sorted(given & inert.keys()):
        inheriting = [
            plan.config_for(config, variant, plan.seeds[0])
            for variant in (plan.variants if plan is not None else ())
            if field not in variant.overrides
        ]
        if any(field not in inert_fields(run) for run in inheriting):
            continue  # a variant's own settings put it to use
        other, needed = inert[field]
        flag, other_flag = option_flag(field), option_flag(other)
        nor = f", nor in any variant of {config.experiments}" if plan is not None else ""
        notes.append(
            f"note: {flag} {getattr(config, field):g} changes nothing with {other_flag} "
            f"{getattr(config, other)}{nor}; it matters only with {other_flag} {needed}."
        )
    return notes


def check_settings(config: BuildConfig, plan: ExperimentPlan | None) -> None:
    """Fail before any training on settings that are each allowed but do not work together: the
    build's own, then every run of the experiments plan."""
    runs = [("", config)]
    if plan is not None:
        runs += [
            (f"{config.experiments}, variant {variant.name!r}, seed {seed}: ", run_config)
            for variant in plan.variants
            for seed in plan.seeds
            for run_config in [plan.config_for(config, variant, seed)]
        ]
    for where, run_config in runs:
        problem = settings_conflict(run_config)
        if problem is not None:
            raise ReportgenError(where + problem)
    shared = plan.shared_networks(config) if plan is not None else None
    if shared is not None:
        raise ReportgenError(f"{config.experiments}, {shared}")
    for variant in plan.variants if plan is not None else ():
        variant_config = plan.config_for(config, variant, plan.seeds[0])
        for field, (other, needed) in sorted(inert_fields(variant_config).items()):
            if field not in variant.overrides:
                continue
            inherited = (
                "" if other in variant.overrides else f" (from the build's {option_flag(other)})"
            )
            raise ReportgenError(
                f"{config.experiments}, variant {variant.name!r}: {field} = "
                f"{json.dumps(variant.overrides[field])} changes nothing, because its {other} is "
                f"{json.dumps(getattr(variant_config, other))}{inherited}; it matters only with "
                f"{other} = {json.dumps(needed)}. Set that in the variant, or drop {field}: as it "
                f"is, the variant trains the same networks as without {field}."
            )


def _build_locked(
    config: BuildConfig,
    command: str,
    plan: ExperimentPlan | None,
    templates: render.Templates,
    progress: Progress,
    clock: StageClock,
    data_file: DataFile,
) -> BuildOutcome:
    key = cache.run_key(config, data_file.md5)
    on_note = _said_once(progress.on_note)
    run = None if config.retrain else cache.load_run(config.cache_dir, key, on_damaged=on_note)
    reused = run is not None
    dataset = _dataset_loader(config, clock, data_file)
    if run is None:
        run = _train(config, progress, clock, dataset, on_note)
        cache.save_run(run, config.cache_dir, key)
    else:
        clock.timings.update(dict.fromkeys(results.CACHED_STAGES, 0.0))
    experiments_data = None
    if plan is not None:
        experiments_data = clock.run(
            "experiments",
            lambda: run_plan(
                config,
                plan,
                data_file,
                dataset,
                on_run=progress.on_run,
                on_note=on_note,
                on_start=progress.on_runs_start,
                on_run_epoch=progress.on_run_epoch,
                on_waiting=progress.on_waiting,
                fresh_keys=frozenset({key}),
            ),
        )
    reference = clock.run(
        "simple reference",
        lambda: _colour_reference(
            config.cache_dir, data_file.md5, run.test_probabilities.shape[1], dataset
        ),
    )
    results_data = results.assemble_results(
        config,
        command,
        run,
        data_file.path,
        data_file.md5,
        data_file.official,
        {"key": key, "reused": reused},
        clock.timings,
        reference,
    )
    return publish(
        results_data, run, config.outputs(), clock, templates, progress, experiments_data
    )
