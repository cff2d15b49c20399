"""The whole build, stage by stage: data -> (cached) training -> results -> figures -> pages -> site.

Output is staged and swapped in only at the end, so any failure leaves earlier docs and site intact.
"""

from __future__ import annotations

import contextlib
import io
import shutil
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

import reportgen
from reportgen import cache, figure_plan, render, results, site
from reportgen.config import BuildConfig, OutputSettings, settings_conflict
from reportgen.data import (
    LoadedDataset,
    check_flag,
    fetch_dataset_file,
    load_dataset,
    verify_dataset_file,
)
from reportgen.errors import ReportgenError
from reportgen.experiment_runs import run_plan
from reportgen.experiments import ExperimentPlan, load_plan
from reportgen.reference import colour_reference_of


@dataclass(frozen=True)
class BuildOutcome:
    results: dict[str, Any]
    docs_dir: Path
    site_dir: Path | None


def _untracked(_label: str, items: Iterable[Any], _total: int) -> Iterable[Any]:
    return items


@dataclass(frozen=True)
class Progress:
    """Callbacks the CLI supplies to show progress; the build itself never prints."""

    on_stage: Callable[[str], None] = lambda stage: None
    on_epoch: Callable[[Any], None] | None = None
    # Experiment runs are about to train: how many (none are announced when all are cached).
    on_runs_start: Callable[[int], None] = lambda total: None
    # An experiment run has finished training: (variant, seed, runs to train in all).
    on_run: Callable[[str, int, int], None] = lambda variant, seed, total: None
    # track(label, items, total) yields items while showing how far along they are.
    track: Callable[[str, Iterable[Any], int], Iterable[Any]] = _untracked
    quiet: bool = False  # also silence what libraries print (the download's progress bar)
    # Called just before finished output is swapped in: from then on the build must complete.
    on_commit: Callable[[], None] = lambda: None


@contextlib.contextmanager
def _silenced(enabled: bool) -> Iterator[None]:
    """Swallow what libraries print to stdout and stderr (medmnist's download bar) when enabled."""
    if not enabled:
        yield
        return
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        yield


class _StageClock:
    def __init__(self, progress: Progress) -> None:
        self.timings: dict[str, float] = {}
        self._progress = progress
        self._announced = ""
        self._running = 0  # stages now running: a stage run inside another is timed, not announced

    def run(self, stage: str, work: Callable[[], Any]) -> Any:
        if stage != self._announced and not self._running:
            self._progress.on_stage(stage)
            self._announced = stage
        started = time.perf_counter()
        self._running += 1
        try:
            value = work()
        finally:
            self._running -= 1
        self.timings[stage] = self.timings.get(stage, 0.0) + time.perf_counter() - started
        return value


def _dataset_loader(config: BuildConfig, clock: _StageClock) -> Callable[[], LoadedDataset]:
    """Loads the dataset through medmnist on first call only (never when every run is cached)."""
    loaded: list[LoadedDataset] = []

    def load() -> LoadedDataset:
        if not loaded:
            loaded.append(
                clock.run(
                    "load",
                    lambda: load_dataset(
                        config.dataset, config.data_root, config.allow_unofficial_data
                    ),
                )
            )
        return loaded[0]

    return load


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
    clock: _StageClock,
    dataset: Callable[[], LoadedDataset],
    on_note: Callable[[str], None],
) -> cache.TrainedRun:
    from reportgen.runner import run_training  # imports torch
    from reportgen.train import precision_notes

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


def _draw_or_reuse_figures(
    results_data: dict[str, Any],
    run: cache.TrainedRun,
    experiments_data: dict[str, Any] | None,
    docs_stage: Path,
    earlier_docs: Path,
    progress: Progress,
) -> None:
    """Copy the earlier build's figures when their inputs are unchanged, else draw them all."""
    have_samples = run.sample_images.size > 0
    digest = figure_plan.inputs_digest(
        results_data, run.test_labels, run.test_probabilities, run.sample_images, experiments_data
    )
    digest_file = Path("data") / figure_plan.DIGEST_FILE
    earlier_manifest = earlier_docs / digest_file
    if earlier_manifest.is_file() and figure_plan.reusable_figures(
        earlier_manifest.read_text(), digest, earlier_docs / "figures"
    ):
        shutil.copytree(earlier_docs / "figures", docs_stage / "figures")
    else:
        jobs = figure_plan.figure_jobs(
            results_data,
            run.test_labels,
            run.test_probabilities,
            run.sample_images if have_samples else None,
            run.sample_counts if have_samples else None,
            docs_stage / "figures",
        )
        if experiments_data is not None:
            jobs |= figure_plan.experiment_figure_jobs(
                experiments_data, results_data["dataset"]["class_names"], docs_stage / "figures"
            )
        for draw in progress.track("figures", jobs.values(), len(jobs)):
            draw()
        earlier_samples = earlier_docs / "figures" / figure_plan.FIGURE_FILES["samples"]
        if not have_samples:  # a re-render: the grid needs the data file, so it is copied
            if not earlier_samples.is_file():
                raise ReportgenError(
                    f"{earlier_samples} is missing, and re-rendering cannot draw it: it shows "
                    "training images, which only a build reads. Run reportgen build again."
                )
            shutil.copy2(earlier_samples, docs_stage / "figures" / earlier_samples.name)
    (docs_stage / digest_file).parent.mkdir(parents=True, exist_ok=True)
    (docs_stage / digest_file).write_text(
        figure_plan.figures_manifest(digest, docs_stage / "figures")
    )


def publish(
    results_data: dict[str, Any],
    run: cache.TrainedRun,
    outputs: OutputSettings,
    clock: _StageClock,
    templates: render.Templates,
    progress: Progress = Progress(),
    experiments_data: dict[str, Any] | None = None,
    keep_figures_from: Path | None = None,
) -> BuildOutcome:
    """Write data, figures, pages and site into staging folders, then swap them into place."""
    with site.staging_dir_for(outputs.docs_dir) as docs_stage:
        results.write_predictions(run.test_labels, run.test_probabilities, docs_stage)
        results.write_per_class(results_data, docs_stage)
        if experiments_data is not None:
            results.write_experiments(experiments_data, docs_stage)
        clock.run(
            "figures",
            lambda: _draw_or_reuse_figures(
                results_data,
                run,
                experiments_data,
                docs_stage,
                keep_figures_from or outputs.docs_dir,
                progress,
            ),
        )
        n_pages = len(render.PAGES) + len(render.DOWNLOADS)
        clock.run(
            "render",
            lambda: render.write_pages(
                dict(
                    progress.track(
                        "pages",
                        render.iter_pages(results_data, experiments_data, templates),
                        n_pages,
                    )
                ),
                docs_stage,
                templates,
            ),
        )
        results_data["timings"] = clock.timings
        results.write_results(results_data, docs_stage)
        if not outputs.build_site:
            progress.on_commit()
            site.swap_into((docs_stage, outputs.docs_dir))
            return BuildOutcome(results_data, outputs.docs_dir, None)
        with site.staging_dir_for(outputs.site_dir) as site_stage:
            options = site.site_options(results_data, outputs.site_url, outputs.repo_url)
            clock.run(
                "site",
                lambda: site.build_site(
                    docs_stage, site_stage, site.default_mkdocs_config(), options
                ),
            )
            results_data["timings"] = clock.timings
            for folder in (docs_stage, site_stage):
                results.write_results(results_data, folder)
            progress.on_commit()
            site.swap_into((docs_stage, outputs.docs_dir), (site_stage, outputs.site_dir))
    return BuildOutcome(results_data, outputs.docs_dir, outputs.site_dir)


def _read_project_files(build_site: bool) -> render.Templates:
    """The templates, read before any work (so a build renders them as they were when it began),
    and mkdocs.yml for a site, checked before any work rather than after it."""
    templates = render.read_templates()
    if build_site:
        site.check_site_config(site.default_mkdocs_config())
    return templates


def build(config: BuildConfig, command: str, progress: Progress = Progress()) -> BuildOutcome:
    """Train (or reuse the cached run) and publish pages and site for config."""
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
    site.check_output_dirs(config.outputs().named_folders(), kept)
    site.check_writable_folder(config.cache_dir, "--cache-dir")
    templates = _read_project_files(config.build_site)
    with site.output_lock(*folders):
        return _build_locked(config, command, plan, templates, progress)


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


def _build_locked(
    config: BuildConfig,
    command: str,
    plan: ExperimentPlan | None,
    templates: render.Templates,
    progress: Progress,
) -> BuildOutcome:
    clock = _StageClock(progress)

    def locate() -> tuple[Path, str, bool]:
        with _silenced(progress.quiet):
            path = fetch_dataset_file(config.dataset, config.data_root)
        return (path, *verify_dataset_file(config.dataset, path, config.allow_unofficial_data))

    data_file, md5, official = clock.run("load", locate)
    key = cache.run_key(config, md5)
    run = None if config.retrain else cache.load_run(config.cache_dir, key)
    reused = run is not None
    dataset = _dataset_loader(config, clock)
    on_note = _said_once(progress.on_stage)
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
                md5,
                dataset,
                on_run=progress.on_run,
                on_note=on_note,
                on_start=progress.on_runs_start,
                fresh_keys=frozenset({key}),
            ),
        )
    # Timed apart: it reads the data file again, even when every run came from the cache.
    colour_reference = clock.run(
        "simple reference",
        lambda: colour_reference_of(data_file, run.test_probabilities.shape[1]),
    )
    results_data = results.assemble_results(
        config,
        command,
        run,
        data_file,
        md5,
        official,
        {"key": key, "reused": reused},
        clock.timings,
        colour_reference,
    )
    return publish(
        results_data, run, config.outputs(), clock, templates, progress, experiments_data
    )


def rerender(
    docs_dir: Path,
    site_dir: Path,
    build_site: bool,
    progress: Progress = Progress(),
    site_url: str | None = None,
    repo_url: str | None = None,
) -> BuildOutcome:
    """Rebuild pages, figures and site from an earlier build's results.json (no torch, no data).

    site_url and repo_url default to the earlier build's.
    """
    outputs = OutputSettings(docs_dir, site_dir, build_site)
    folders = outputs.folders()
    site.check_output_dirs(outputs.named_folders(), {"the working folder": Path.cwd()})
    templates = _read_project_files(build_site)
    with site.output_lock(*folders):
        return _rerender_locked(
            docs_dir, site_dir, build_site, templates, progress, site_url, repo_url
        )


def _check_layout(
    docs_dir: Path,
    results_data: dict[str, Any],
    experiments_data: dict[str, Any] | None,
    run: cache.TrainedRun,
    templates: render.Templates,
) -> None:
    """Fail clearly when an earlier build's files lack fields, or hold other types, than the
    pages, figures and footer read: a dry run of what reads them, before any output is staged.
    Only this step's errors are taken for a bad file; later ones are reportgen's own bugs."""
    try:
        render.render_pages(results_data, experiments_data, templates)  # about 0.2 s
        figure_plan.figure_jobs(
            results_data, run.test_labels, run.test_probabilities, None, None, docs_dir
        )
        if experiments_data is not None:
            class_names = results_data["dataset"]["class_names"]
            figure_plan.experiment_figure_jobs(experiments_data, class_names, docs_dir)
        site.site_options(results_data, None, None)
    except (KeyError, IndexError, TypeError, ValueError, jinja2.UndefinedError) as error:
        # The schema version matched, but a field is missing or of another type.
        raise ReportgenError(
            f"{docs_dir / results.RESULTS_FILE} (or experiments.json beside it) does not have the "
            f"layout this reportgen ({reportgen.__version__}) renders ({type(error).__name__}: "
            f"{error}); it was written by another version or edited by hand. Rebuild it with "
            "`reportgen build`."
        ) from None


def _rerender_locked(
    docs_dir: Path,
    site_dir: Path,
    build_site: bool,
    templates: render.Templates,
    progress: Progress,
    site_url: str | None,
    repo_url: str | None,
) -> BuildOutcome:
    import numpy as np

    results_data = results.read_results(docs_dir)
    n_classes = len(results_data["dataset"]["class_names"])
    labels, probabilities = results.read_predictions(docs_dir, n_classes)
    run = cache.TrainedRun(
        record={},
        test_labels=labels,
        test_probabilities=probabilities,
        sample_images=np.zeros((0,), dtype=np.uint8),
        sample_counts=np.zeros((0,), dtype=np.int64),
    )
    earlier = results_data["config"]
    urls = {
        "site_url": site_url if site_url is not None else earlier.get("site_url"),
        "repo_url": repo_url if repo_url is not None else earlier.get("repo_url"),
    }
    earlier.update(urls)
    outputs = OutputSettings(docs_dir, site_dir, build_site, urls["site_url"], urls["repo_url"])
    clock = _StageClock(progress)
    # The stages this command does not repeat keep the earlier build's seconds; the page shows
    # the live clock, as a build's does (render and site are timed after the pages are written).
    clock.timings.update(
        (stage, seconds)
        for stage, seconds in results_data["timings"].items()
        if stage not in ("figures", "render", "site")
    )
    results_data["timings"] = clock.timings
    experiments_data = results.read_experiments(docs_dir)
    _check_layout(docs_dir, results_data, experiments_data, run, templates)
    return publish(
        results_data,
        run,
        outputs,
        clock,
        templates,
        progress,
        experiments_data,
        keep_figures_from=docs_dir,
    )
