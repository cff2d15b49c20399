"""Stage 6: Jinja2 Markdown pages from results data alone (no torch, no dataset).

One Environment; every `{{ value }}` from data is escaped for Markdown and HTML by `finalize`
unless it is explicitly `Markup` (links and numbers the templates build themselves).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from reportgen import model_card, screening, sources, study
from reportgen.compiled_templates import PAGE_TEMPLATES
from reportgen.config import unmet_needs
from reportgen.errors import ReportgenError
from reportgen.experiments_view import experiments_view
from reportgen.formatting import (
    auc_label,
    escape_markdown,
    fmt_alternatives,
    fmt_code,
    fmt_code_block,
    fmt_count,
    fmt_counted,
    fmt_device,
    fmt_difference,
    fmt_interval,
    fmt_interval_cell,
    fmt_mean_count,
    fmt_number,
    fmt_percent,
    fmt_setting,
    is_missing,
    rounded,
)
from reportgen.page_readings import (
    accuracy_gap,
    auc_extremes,
    calibration_direction,
    class_mix_shift,
    finding_rates,
    findings,
    half_width,
    largest_class,
    never_predicted,
    next_steps_view,
    ordinal_reference,
    percent_shares,
    prevalence_rows,
    study_comparison,
    training_reading,
    untested_classes,
    with_option,
)
from reportgen.recipe import architecture, kept_epoch, recipe_view
from reportgen.results import skipped_stages
from reportgen.seed_spread import recipe_over_seeds
from reportgen.variant_comparisons import (
    against_reference,
    baseline_seed_scores,
    baseline_versus_reference,
    no_better_than_reference,
)

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"

PAGES = {
    "index.md": "index.md.j2",
    "dataset.md": "dataset.md.j2",
    "model.md": "model.md.j2",
    "training.md": "training.md.j2",
    "results.md": "results.md.j2",
    "tradeoffs.md": "tradeoffs.md.j2",
    "next-steps.md": "next-steps.md.j2",
    "experiments.md": "experiments.md.j2",
    "reproducibility.md": "reproducibility.md.j2",
    "model-card.md": "model-card.md.j2",
}
# Files written beside results.json for download, not shown as pages.
DOWNLOADS = {"data/model_card.md": "model_card.md.j2"}
# Copied from templates/ as they are (mkdocs.yml's extra_css and extra_javascript).
STATIC_FILES = ("stylesheets/reportgen.css", "javascripts/reportgen.js")


def _check_templates_dir(templates_dir: Path) -> None:
    """Fail before any work when the page templates are missing: they live in reportgen's
    repository, beside the package, so reportgen runs from a checkout (pip install -e .)."""
    needed = ["index.md.j2", *STATIC_FILES]
    if not all((templates_dir / name).is_file() for name in needed):
        raise ReportgenError(
            f"reportgen's page templates are not in {templates_dir}. reportgen runs from its "
            "repository: clone it and install it there with `pip install -e .` (as the README "
            "does) rather than from a wheel."
        )


@dataclass(frozen=True)
class Templates:
    """The page templates and static files as read when a build began: the build renders them
    as they were then, whatever happens to templates/ while it trains."""

    sources: Mapping[str, str]  # template name (relative to templates/) -> Jinja source
    static_files: Mapping[str, bytes]  # STATIC_FILES name -> content


def read_templates(templates_dir: Path | None = None) -> Templates:
    """Every template and static file under templates_dir (default: reportgen's), read now."""
    templates_dir = templates_dir or TEMPLATES_DIR
    _check_templates_dir(templates_dir)
    return Templates(
        sources={
            path.relative_to(templates_dir).as_posix(): path.read_text(encoding="utf-8")
            for path in sorted(templates_dir.rglob("*.j2"))
        },
        static_files={name: (templates_dir / name).read_bytes() for name in STATIC_FILES},
    )


def make_environment(templates: Templates | None = None) -> jinja2.Environment:
    """The Environment pages render in, over templates (default: reportgen's, read now)."""
    environment = jinja2.Environment(
        loader=jinja2.DictLoader(dict((templates or read_templates()).sources)),
        bytecode_cache=PAGE_TEMPLATES,  # compiled once per process
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
        finalize=escape_markdown,
    )
    environment.filters.update(
        num=fmt_number,
        pct=fmt_percent,
        count=fmt_count,
        code=fmt_code,
        interval=fmt_interval,
        interval_cell=fmt_interval_cell,
        md=escape_markdown,
        safe_code_block=fmt_code_block,
        setting=fmt_setting,
        counted=fmt_counted,
        mean_count=fmt_mean_count,
        device=fmt_device,
        alternatives=fmt_alternatives,
        difference=fmt_difference,
        architecture=architecture,
        kept_epoch=kept_epoch,
    )
    environment.tests["missing"] = is_missing  # `x is missing`: null in the JSON files, or NaN
    return environment


def class_meanings(dataset: dict[str, Any]) -> dict[str, str]:
    """What each grade of a graded dataset means ("grade 4": "proliferative retinopathy"); empty
    for other datasets, and for a file whose classes are not the scale's grades."""
    meanings = sources.GRADE_SCALES.get(dataset["flag"], {}).get("meanings", [])
    names = dataset["class_names"]
    return dict(zip(names, meanings, strict=True)) if len(meanings) == len(names) else {}


def page_context(
    results: dict[str, Any], experiments: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Plain data for every template: the results plus values derived from them."""
    dataset = results["dataset"]
    train_counts = dataset["counts"]["train"]
    prevalence = [count / max(sum(train_counts), 1) for count in train_counts]
    class_findings = findings(results["test"], dataset["class_names"], prevalence)
    in_class_order = sorted(class_findings, key=lambda row: row["index"])
    missed_classes = [row for row in class_findings if row["recall"] < 0.1]
    never_found = [row["name"] for row in in_class_order if row["recall"] == 0]
    majority = largest_class(train_counts)
    split_totals = {split: sum(values) for split, values in dataset["counts"].items()}
    total_images = sum(split_totals.values())
    collection = results["collection"]
    test_counts = dataset["counts"]["test"]
    source_citations = sources.SOURCE_CITATIONS.get(dataset["flag"], [])
    rgb = dataset["n_channels"] == 3
    jitter_kind = "colour" if rgb else "brightness"  # what the augmentation's jitter varies
    variants = experiments_view(experiments, dataset)
    reading = training_reading(results["history"], results["config"])
    colour_reference = results.get("colour_reference")  # None in older results.json files
    reference_over_seeds = baseline_versus_reference(variants, colour_reference)
    reference_seed_scores = baseline_seed_scores(variants, colour_reference)
    return {
        "split_totals": split_totals,
        "total_images": total_images,
        "split_ratio": " / ".join(
            f"{share:.1f}%" for share in percent_shares(list(split_totals.values()))
        ),
        "collection": collection,
        "collection_2d": sum(row["dimension"] == "2D" for row in collection),
        "collection_3d": sum(row["dimension"] == "3D" for row in collection),
        "model": results["model"],
        "results": results,
        "dataset": dataset,
        "test": results["test"],
        "history": results["history"],
        "training_reading": reading,
        "config": results["config"],
        "findings": class_findings,
        "missed_classes": missed_classes,
        # Other classes found as often as the best-found one, as the pages round recall; not the
        # class the findings already call least found (where no class is missed, the first).
        "best_found_ties": [
            row["name"]
            for row in class_findings[(0 if missed_classes else 1) : -1]
            if rounded(row["recall"], 2) == rounded(class_findings[-1]["recall"], 2)
        ],
        # Class names in class order: found in none of their test images; given to no image.
        "never_found": never_found,
        "never_predicted": never_predicted(results["test"], dataset["class_names"]),
        # With two classes, one of them normal: sensitivity and specificity for the other.
        "finding_rates": finding_rates(results["test"], dataset["class_names"]),
        "untested_classes": untested_classes(results["test"]),
        "majority": {"name": dataset["class_names"][majority], "share": prevalence[majority]},
        # Accuracy of always answering the training split's most common class, on test.
        "baseline": {
            "name": dataset["class_names"][majority],
            "accuracy": test_counts[majority] / max(sum(test_counts), 1),
        },
        # Whether accuracy is above balanced accuracy: the imbalance note says it flatters only then.
        "accuracy_flatters": results["test"]["accuracy"] > results["test"]["balanced_accuracy"],
        # Whether the two read the same as the pages show them (then neither is the lower).
        "accuracy_as_balanced": rounded(results["test"]["accuracy"])
        == rounded(results["test"]["balanced_accuracy"]),
        "accuracy_gap": accuracy_gap(results["test"]),  # above, below or close to it
        # The spread a gap between two accuracies must beat (None: no interval to read it from).
        "accuracy_half_width": half_width(results["test"]["intervals"]["accuracy"]),
        # Wording for the data's kind: two classes or more, colour or grey images.
        "two_classes": len(dataset["class_names"]) == 2,
        "auc_label": auc_label(len(dataset["class_names"])),
        "image_tone": "overall colour and brightness" if rgb else "overall brightness and contrast",
        "jitter_kind": jitter_kind,
        # How the headline run was trained and decides, in the pages' words.
        "recipe": recipe_view(
            results,
            jitter_kind,
            [variant["runs"][0]["config"] for variant in experiments["variants"]]
            if experiments
            else None,
        ),
        # The build's own command, asking for the experiments as well.
        "experiments_command": with_option(results["command"], "--experiments experiments.toml"),
        # Stages this build did not run (it reused a cached run): shown as "cached", not 0.00.
        "skipped_stages": skipped_stages(results),
        # Settings this run's others leave unused (width with the study's CNN), for the
        # Reproducibility page: field -> (the field, the value it needs).
        "unused_settings": unmet_needs(results["config"]),
        "data_label": dataset["name"]
        if dataset["official"]
        else f"the unofficial file {dataset['file_name']}",
        "dermamnist_caveats": dataset["flag"] == study.STUDY_DATASET,
        "model_card": {
            "name": model_card.model_name(results),
            "front_matter": Markup(model_card.front_matter(results)),
        },
        "prevalence_rows": prevalence_rows(dataset),
        # A class much commoner or rarer on test than on validation (None: the mixes agree).
        "class_mix_shift": class_mix_shift(dataset),
        "calibration_direction": calibration_direction(results["test"]["calibration"]["bins"]),
        "auc_extremes": auc_extremes(results["test"], dataset["class_names"]),
        "ordinal_reference": ordinal_reference(results["test"], train_counts)
        if dataset["task"] == "ordinal-regression"
        else None,
        "study": study_comparison(results),
        "citations": {
            "source": source_citations,
            "entries": sources.MEDMNIST_CITATIONS + source_citations,
        },
        "grade_scale": sources.GRADE_SCALES.get(dataset["flag"]),
        # Class name -> what the grade means clinically, for graded datasets (else empty).
        "class_meanings": class_meanings(dataset),
        "split_note": sources.SPLIT_NOTES.get(dataset["flag"]),
        "orientation_note": sources.ORIENTATION_NOTES.get(dataset["flag"]),
        "image_lists": sources.IMAGE_LISTS.get(dataset["flag"]),
        "population": sources.POPULATIONS.get(dataset["flag"]),
        "colour_reference": colour_reference,
        "reference_over_seeds": reference_over_seeds,
        # The metrics on which the network does no better than the colour reference (as the
        # pages round): the recipe's means over seeds where experiments ran, else this run's.
        # Over seeds, a gap counts only beyond seed noise.
        "colour_no_better": no_better_than_reference(
            reference_over_seeds or results["test"], colour_reference, reference_seed_scores
        ),
        # ...and where the network stands against it, metric by metric: the same scores.
        "colour_sides": against_reference(
            reference_over_seeds or results["test"], colour_reference, reference_seed_scores
        ),
        # This build's run among the same recipe's runs with the experiments' other seeds.
        "recipe_seeds": recipe_over_seeds(experiments, results["config"]["seed"]),
        "screening": screening.screening_view(
            results["test"],
            dataset,
            results["referral_auc"],
            results["referral_operating_point"],
        ),
        "why_cnn": study.WHY_CNN,
        "why_not": study.WHY_NOT,
        "decisions": study.DECISIONS,
        "next_steps": next_steps_view(results, never_found, reading),
        "experiments": variants,
    }


def iter_pages(
    results: dict[str, Any],
    experiments: dict[str, Any] | None = None,
    templates: Templates | None = None,
) -> Iterator[tuple[str, str]]:
    """(file name relative to docs, Markdown text) of every page and Markdown download, rendered
    one at a time as the caller asks for them."""
    environment = make_environment(templates)
    context = page_context(results, experiments)
    for name, template in {**PAGES, **DOWNLOADS}.items():
        yield name, environment.get_template(template).render(context)


def render_pages(
    results: dict[str, Any],
    experiments: dict[str, Any] | None = None,
    templates: Templates | None = None,
) -> dict[str, str]:
    """File name (relative to docs) -> Markdown text for every page and Markdown download."""
    return dict(iter_pages(results, experiments, templates))


def write_pages(
    pages: dict[str, str], docs_dir: Path, templates: Templates | None = None
) -> list[Path]:
    """The rendered pages, and the static files the site links to, written under docs_dir."""
    written = []
    for name, content in (templates or read_templates()).static_files.items():
        path = docs_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        written.append(path)
    for name, text in pages.items():
        path = docs_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
