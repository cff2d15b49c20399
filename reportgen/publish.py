"""Publishing: data, figures, pages and site written into staging folders and swapped into place,
for a build and for `reportgen render` (from an earlier build's files, without torch or data).

Output is staged and swapped in only at the end, so any failure leaves earlier docs and site intact.
"""

from __future__ import annotations

import errno
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from reportgen import cache, figure_plan, output_folders, render, results, site
from reportgen.config import OutputSettings
from reportgen.errors import ReportgenError
from reportgen.figures import drawn_source
from reportgen.progress import Progress, StageClock

# Why writing the output can fail on a sound reportgen: a full disk or quota, a file too large,
# a read-only file system, or permissions changed while the build ran.
WRITE_FAILURES = frozenset(
    code
    for code in (
        errno.ENOSPC,
        getattr(errno, "EDQUOT", None),  # not on every platform
        errno.EFBIG,
        errno.EROFS,
        errno.EACCES,
        errno.EPERM,
    )
    if code is not None
)


@dataclass(frozen=True)
class BuildOutcome:
    results: dict[str, Any]
    docs_dir: Path
    site_dir: Path | None


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
    # Digested as results.json, experiments.json and predictions.csv hold them (publish passes
    # the data in that form), so a build and a later `reportgen render` of its output agree when
    # nothing changed.
    digest = figure_plan.inputs_digest(
        results_data,
        run.test_labels,
        results.probabilities_as_written(run.test_probabilities),
        experiments_data,
    )
    digest_file = Path("data") / figure_plan.DIGEST_FILE
    earlier_manifest = earlier_docs / digest_file
    manifest = earlier_manifest.read_text() if earlier_manifest.is_file() else ""
    if figure_plan.reusable_figures(manifest, digest, earlier_docs / "figures"):
        _copy_files(earlier_docs / "figures", docs_stage / "figures")
    else:
        # A re-render copies the sample grids, which need the data file to draw; checked before
        # drawing the rest, so a missing one fails at once.
        copied_grids = (
            []
            if have_samples
            else [
                earlier_docs / "figures" / figure_plan.FIGURE_FILES[key]
                for key in ("samples", "samples_phone")
            ]
        )
        for grid in copied_grids:
            if not grid.is_file():
                raise ReportgenError(
                    f"{grid} is missing, and re-rendering cannot draw it: it shows training "
                    "images, which only a build reads. Run reportgen build again."
                )
        jobs = _figure_jobs(results_data, run, experiments_data, docs_stage / "figures")
        for draw in progress.track("figures", jobs.values(), len(jobs)):
            draw()
        for grid in copied_grids:
            shutil.copy2(grid, docs_stage / "figures" / grid.name)
        source = figure_plan.figure_source(results_data["dataset"])
        unlabelled = [grid.name for grid in copied_grids if drawn_source(grid) != source]
        if unlabelled:
            one = len(unlabelled) == 1
            progress.on_note(
                f"note: {' and '.join(unlabelled)} {'is' if one else 'are'} copied from the "
                f"earlier build, drawn by an older reportgen without the line {source!r}; run "
                f"reportgen build to draw {'it' if one else 'them'} again"
            )
        manifest = figure_plan.figures_manifest(digest, docs_stage / "figures")
    (docs_stage / digest_file).parent.mkdir(parents=True, exist_ok=True)
    (docs_stage / digest_file).write_text(manifest)  # a reused folder keeps its checked manifest


def _copy_files(source: Path, destination: Path) -> None:
    """source's files into destination, one at a time: a failed write raises its own OSError
    (ENOSPC, ...), where copytree would gather the failures into a shutil.Error without one."""
    for path in sorted(source.rglob("*")):
        if path.is_file():
            target = destination / path.relative_to(source)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)


def _figure_jobs(
    results_data: dict[str, Any],
    run: cache.TrainedRun,
    experiments_data: dict[str, Any] | None,
    figures_dir: Path,
) -> dict[str, Any]:
    """Every figure of the pages and, with experiments, of the Experiments page, drawn into
    figures_dir when called; the sample grids only where the run holds its images."""
    have_samples = run.sample_images.size > 0
    jobs = figure_plan.figure_jobs(
        results_data,
        run.test_labels,
        run.test_probabilities,
        run.sample_images if have_samples else None,
        run.sample_counts if have_samples else None,
        figures_dir,
    )
    if experiments_data is not None:
        jobs |= figure_plan.experiment_figure_jobs(
            experiments_data, results_data["dataset"], figures_dir
        )
    return jobs


@contextmanager
def _write_failures_reported(outputs: OutputSettings) -> Iterator[None]:
    try:
        yield
    except OSError as error:
        if error.errno not in WRITE_FAILURES:
            raise  # not the machine's doing: a bug, shown as one
        folders = outputs.folders()
        raise ReportgenError(
            f"Could not write the new output ({error}). Nothing was published: "
            f"{' and '.join(str(folder) for folder in folders)} "
            f"{'are' if len(folders) > 1 else 'is'} as before. Free some disk space, or make the "
            "output folders writable, then run the same command again."
        ) from None


def publish(
    results_data: dict[str, Any],
    run: cache.TrainedRun,
    outputs: OutputSettings,
    clock: StageClock,
    templates: render.Templates,
    progress: Progress = Progress(),
    experiments_data: dict[str, Any] | None = None,
    keep_figures_from: Path | None = None,
) -> BuildOutcome:
    """Write data, figures, pages and site into staging folders, then swap them into place.

    A write that fails for the machine's reasons (a full disk, a folder made read-only meanwhile)
    is reported as such; the staging folders are removed and the earlier output is left as it
    was. Other OSErrors are reportgen's own bugs and surface as they are."""
    with _write_failures_reported(outputs):
        # Figures and pages read the data as results.json and experiments.json hold it (NaN is null
        # there), so a build draws and renders what a later `reportgen render` of its output reads.
        # The timings stay the clock's own dict: Reproducibility lists the stages timed before it.
        results_data = {**results.json_safe(results_data), "timings": clock.timings}
        experiments_data = results.json_safe(experiments_data)
        with output_folders.staging_dir_for(outputs.docs_dir) as docs_stage:
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
                _note_left_behind(
                    output_folders.swap_into((docs_stage, outputs.docs_dir)), progress
                )
                return BuildOutcome(results_data, outputs.docs_dir, None)
            with output_folders.staging_dir_for(outputs.site_dir) as site_stage:
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
                left_behind = output_folders.swap_into(
                    (docs_stage, outputs.docs_dir), (site_stage, outputs.site_dir)
                )
                _note_left_behind(left_behind, progress)
        return BuildOutcome(results_data, outputs.docs_dir, outputs.site_dir)


def _note_left_behind(folders: list[Path], progress: Progress) -> None:
    """Earlier output, set aside for the new, that could not be deleted: said, not left silent."""
    for folder in folders:
        progress.on_note(
            f"note: the earlier output set aside in {folder} could not all be deleted (this user "
            "may not delete in a folder inside it); the new output is in place. Delete it by "
            "hand, e.g. with sudo."
        )


def read_project_files(build_site: bool) -> render.Templates:
    """The templates, read before any work (so a build renders them as they were when it began),
    and mkdocs.yml for a site, checked before any work rather than after it."""
    templates = render.read_templates()
    if build_site:
        site.check_site_config(site.default_mkdocs_config())
    return templates


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
    results.check_results_file(docs_dir)  # before any folder or lock is made; read under the lock
    output_folders.check_output_dirs(outputs.named_folders(), {"the working folder": Path.cwd()})
    templates = read_project_files(build_site)
    with output_folders.output_lock(*folders):
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
        _figure_jobs(results_data, run, experiments_data, docs_dir)  # listed, not drawn
        site.site_options(results_data, None, None)
    except (*results.LAYOUT_ERRORS, jinja2.UndefinedError) as error:
        # The schema version matched, but a field is missing or of another type.
        raise results.layout_error(docs_dir, error) from None


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
    try:  # what is read before the dry run (_check_layout) reads the rest
        n_classes = len(results_data["dataset"]["class_names"])
        n_images = int(results_data["test"]["n_images"])
        earlier = results_data["config"]
        urls = {
            "site_url": site_url if site_url is not None else earlier.get("site_url"),
            "repo_url": repo_url if repo_url is not None else earlier.get("repo_url"),
        }
        earlier.update(urls)
        # The stages this command does not repeat keep the earlier build's seconds; the page
        # shows the live clock, as a build's does (render and site are timed after the pages).
        kept_timings = {
            stage: seconds
            for stage, seconds in results_data["timings"].items()
            if stage not in ("figures", "render", "site")
        }
    except results.LAYOUT_ERRORS as error:
        raise results.layout_error(docs_dir, error) from None
    labels, probabilities = results.read_predictions(docs_dir, n_classes, n_images)
    run = cache.TrainedRun(
        record={},
        test_labels=labels,
        test_probabilities=probabilities,
        sample_images=np.zeros((0,), dtype=np.uint8),
        sample_counts=np.zeros((0,), dtype=np.int64),
    )
    outputs = OutputSettings(docs_dir, site_dir, build_site, urls["site_url"], urls["repo_url"])
    clock = StageClock(progress)
    clock.timings.update(kept_timings)
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
