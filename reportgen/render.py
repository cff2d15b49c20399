"""Stage 6: Jinja2 Markdown pages from results data alone (no torch, no dataset).

One Environment; every `{{ value }}` from data is escaped for Markdown and HTML by `finalize`
unless it is explicitly `Markup` (links and numbers the templates build themselves).
"""

from __future__ import annotations

import html
import json
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import numpy as np
from markupsafe import Markup

from reportgen import metrics, model_card, screening, sources, study
from reportgen.errors import ReportgenError
from reportgen.evaluate import findings
from reportgen.experiments import mean_sd, variant_slug
from reportgen.results import PLAN_FILE

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
EXPERIMENT_COLUMNS = ("accuracy", "auc", "balanced_accuracy", "macro_f1")
# Files written beside results.json for download, not shown as pages.
DOWNLOADS = {"data/model_card.md": "model_card.md.j2"}

# The characters Python-Markdown (with the tables extension) lets a backslash escape; escaping any
# other character, e.g. `~`, would show the backslash.
_MARKDOWN_SPECIALS = re.compile(r"([\\`*_\[\]{}|#!])")


def escape_markdown(value: object) -> str:
    """Text that Markdown and HTML show literally: `<script>` stays text, `|` stays in its cell."""
    if isinstance(value, Markup):
        return str(value)
    text = html.escape(str(value), quote=False)
    return _MARKDOWN_SPECIALS.sub(r"\\\1", text).replace("\n", " ")


def fmt_number(value: float | None, digits: int = 3) -> Markup:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return Markup("n/a")
    return Markup(f"{value:.{digits}f}")


def fmt_percent(value: float | None, digits: int = 1) -> Markup:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return Markup("n/a")
    return Markup(f"{100 * value:.{digits}f}%")


def fmt_count(value: int) -> Markup:
    return Markup(f"{value:,}")


def fmt_interval(interval: dict[str, float | None], digits: int = 3) -> Markup:
    """`low–high` of an interval from confidence.metric_intervals (no spaces: one table line)."""
    if interval["low"] is None or interval["high"] is None:
        return Markup("n/a")
    return Markup(f"{fmt_number(interval['low'], digits)}–{fmt_number(interval['high'], digits)}")


def fmt_code(value: object) -> Markup:
    """Inline code fenced by more backticks than any run inside, so the text stays literal."""
    text = str(value).replace("\n", " ")
    longest_run = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest_run + 1)
    return Markup(f"{fence} {text} {fence}" if longest_run else f"`{text}`")


def fmt_setting(value: object, toml: bool = False) -> str:
    """A config value as a user writes it: true/false rather than Python's True/False, and with
    toml=True strings quoted as in an experiments file. None (no value) reads "not set"."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "not set"
    if toml and isinstance(value, str):
        return json.dumps(value)
    return str(value)


def fmt_counted(count: int, noun: str) -> str:
    """ "1 seed", "3 seeds": a count with its noun, plural when it is not one."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def fmt_alternatives(names: list[str], mark: str = "*", conjunction: str = "or") -> Markup:
    """ "*a*, *b* or *c*": names, each escaped and wrapped in `mark` (Markdown emphasis), joined
    as alternatives (or, with conjunction "and", as a list)."""
    shown = [f"{mark}{escape_markdown(name)}{mark}" for name in names]
    return Markup(
        f" {conjunction} ".join([", ".join(shown[:-1]), shown[-1]] if len(shown) > 1 else shown)
    )


def fmt_device(environment: dict[str, object]) -> str:
    """ "cuda (NVIDIA H100 80GB HBM3)": the device type, with the hardware's name where recorded
    (results written before reportgen recorded it have only the type)."""
    name = environment.get("device_name")
    return f"{environment['device']} ({name})" if name else str(environment["device"])


def fmt_code_block(value: object) -> Markup:
    """Text for a fenced code block: a fence inside it is broken so the block cannot end early."""
    return Markup(str(value).replace("```", "` ` `"))


STATIC_FILES = ("stylesheets/reportgen.css",)  # copied from templates/ as they are (mkdocs.yml)


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
        md=escape_markdown,
        safe_code_block=fmt_code_block,
        setting=fmt_setting,
        counted=fmt_counted,
        device=fmt_device,
        alternatives=fmt_alternatives,
    )
    return environment


def _prevalence_rows(dataset: dict[str, Any]) -> list[dict[str, Any]]:
    counts = dataset["counts"]
    totals = {split: max(sum(values), 1) for split, values in counts.items()}
    return [
        {
            "name": name,
            "counts": {split: counts[split][k] for split in counts},
            "shares": {split: counts[split][k] / totals[split] for split in counts},
        }
        for k, name in enumerate(dataset["class_names"])
    ]


def _study_comparison(results: dict[str, Any]) -> dict[str, Any] | None:
    """The study's numbers beside this run's, only for the study's own dataset."""
    if results["dataset"]["flag"] != study.STUDY_DATASET:
        return None
    classes = results["test"]["report"]["classes"]
    rows = []
    for row, quoted, prevalence in zip(
        classes, study.STUDY_TEST["per_class"], study.STUDY_TEST["prevalence_percent"], strict=True
    ):
        precision, recall, f1, support = quoted
        rows.append(
            {
                "name": row["name"],
                "study": {"precision": precision, "recall": recall, "f1": f1, "support": support},
                "run": row,
                "study_prevalence": prevalence / 100,
            }
        )
    return {
        "accuracy": study.STUDY_TEST["accuracy"],
        "auc": study.STUDY_TEST["auc"],
        "classes": rows,
    }


def percent_shares(counts: list[int], decimals: int = 1) -> list[float]:
    """Each count's share in percent at `decimals` places, rounded so that the shares add up to
    exactly 100 (largest remainder); all zeros when there is nothing to share."""
    total = sum(counts)
    if total == 0:
        return [0.0] * len(counts)
    units = 100 * 10**decimals
    exact = [units * count / total for count in counts]
    shares = [int(share) for share in exact]
    by_remainder = sorted(range(len(counts)), key=lambda i: exact[i] - shares[i], reverse=True)
    for i in by_remainder[: units - sum(shares)]:
        shares[i] += 1
    return [share / 10**decimals for share in shares]


def ordinal_reference(test: dict[str, Any], train_counts: list[int]) -> dict[str, Any]:
    """For ordered grades: metrics.ordinal_errors of always answering the most common training
    grade, and how many images of the highest grade were called the lowest (test split)."""
    matrix = test["confusion_matrix"]
    support = [sum(row) for row in matrix]
    labels = np.repeat(np.arange(len(support)), support)
    constant = np.full_like(labels, _largest_class(train_counts))
    return {
        **metrics.ordinal_errors(labels, constant, len(support)),
        "highest_count": support[-1],
        "highest_called_lowest": matrix[-1][0],
    }


def _largest_class(counts: list[int]) -> int:
    """Index of the class with the most images (the first, on a tie)."""
    return counts.index(max(counts))


def _smallest_class(counts: list[int]) -> int:
    """Index of the class with the fewest images (the first, on a tie)."""
    return counts.index(min(counts))


VAL_LOSS_MARGIN = 0.02  # a 2% change in val loss counts as a trend
RECENT_EPOCHS = 3  # "still falling": lower than this many epochs before the last


def val_loss_trend(history: list[dict[str, Any]]) -> str:
    """ "rising": the last val loss is VAL_LOSS_MARGIN or more above its best; "falling": it is
    the best, or that much below its value RECENT_EPOCHS epochs earlier (a one-epoch wiggle at
    the end does not hide a loss still coming down); else "flat"."""
    losses = [row["val_loss"] for row in history]
    last, best = losses[-1], min(losses)
    if last >= (1 + VAL_LOSS_MARGIN) * best:
        return "rising"
    earlier = losses[max(0, len(losses) - 1 - RECENT_EPOCHS)]
    if last == best or last <= (1 - VAL_LOSS_MARGIN) * earlier:
        return "falling"
    return "flat"


CALIBRATION_MARGIN = 0.05  # a bin's accuracy this far from its confidence is clearly off


def calibration_direction(bins: list[dict[str, Any]]) -> dict[str, Any]:
    """How many test images sit in bins where the model is clearly under-confident (right more
    often than its confidence says, by over CALIBRATION_MARGIN), clearly over-confident, or
    within the margin, and its most confident occupied bin."""
    occupied = [row for row in bins if row["count"]]
    gaps = [(row["count"], row["accuracy"] - row["confidence"]) for row in occupied]
    return {
        "margin": CALIBRATION_MARGIN,
        "under": sum(count for count, gap in gaps if gap > CALIBRATION_MARGIN),
        "over": sum(count for count, gap in gaps if gap < -CALIBRATION_MARGIN),
        "close": sum(count for count, gap in gaps if abs(gap) <= CALIBRATION_MARGIN),
        "top_bin": occupied[-1] if occupied else None,
    }


def _next_steps(
    results: dict[str, Any], class_findings: list[dict[str, Any]], zero_recall: list[str]
) -> list[dict[str, Any]]:
    """The study's proposed steps, each with the numbers from this run that motivate it."""
    counts = results["dataset"]["counts"]["train"]
    names = results["dataset"]["class_names"]
    largest, smallest = _largest_class(counts), _smallest_class(counts)
    rare = sorted(class_findings, key=lambda row: row["prevalence"])[: max(1, len(names) // 2)]
    history = results["history"]
    best_val = min(history, key=lambda row: row["val_loss"])
    return [
        {
            "key": key,
            "title": title,
            "largest": {"name": names[largest], "count": counts[largest]},
            "smallest": {"name": names[smallest], "count": counts[smallest]},
            "imbalance_ratio": counts[largest] / max(counts[smallest], 1),
            "zero_recall": zero_recall,
            "rare": rare,
            "best_val_epoch": best_val["epoch"],
            "best_val_loss": best_val["val_loss"],
            "final_val_loss": history[-1]["val_loss"],
            "final_train_loss": history[-1]["train_loss"],
            "epochs_run": history[-1]["epoch"],
            "val_loss_trend": val_loss_trend(history),
            "recent": history[max(0, len(history) - 1 - RECENT_EPOCHS)],
        }
        for key, title in study.NEXT_STEPS
    ]


def _focus_class(dataset: dict[str, Any]) -> int:
    """The class the experiments table follows: melanoma where it exists, else the rarest class."""
    names = dataset["class_names"]
    if "melanoma" in names:
        return names.index("melanoma")
    return _smallest_class(dataset["counts"]["train"])


COLLAPSED_RECALL = (0.95, 0.10)  # the largest class found this often, every other this rarely


def collapsed_onto(mean_recall: list[float], dataset: dict[str, Any]) -> str | None:
    """The largest training class, where a variant finds it nearly always and every other class
    rarely (mean test recall): a model that answers almost only that class. Else None."""
    largest = _largest_class(dataset["counts"]["train"])
    others = [recall for k, recall in enumerate(mean_recall) if k != largest]
    if (
        mean_recall[largest] >= COLLAPSED_RECALL[0]
        and max(others, default=0) <= COLLAPSED_RECALL[1]
    ):
        return str(dataset["class_names"][largest])
    return None


def selection_margin(
    recommended: dict[str, Any], rows: list[dict[str, Any]]
) -> dict[str, Any] | None:
    """How far the recommended variant's val score leads the runner-up's, against the spread of
    its own val score between seeds: `thin` where the lead is smaller than that spread."""
    others = [row for row in rows if row is not recommended]
    if not others:
        return None
    by_val = sorted(others, key=lambda row: -row["val_balanced_accuracy"])
    lead = recommended["val_balanced_accuracy"]
    noise = recommended["val_sd_balanced_accuracy"]
    # The other variants whose val score lies within that spread of it, best first.
    close = (
        [] if noise is None else [r for r in by_val if lead - r["val_balanced_accuracy"] < noise]
    )
    return {
        "runner_up": by_val[0],
        "gap": lead - by_val[0]["val_balanced_accuracy"],
        "noise": noise,
        "close": close,
        "thin": bool(close),  # the runner-up, the closest, is among them
    }


SHOWN_AS_ZERO = 0.0005  # a difference below this prints as +0.000 (three decimals)


def within_seed_noise(
    delta: float, sd: float, n: int, baseline_sd: float, baseline_n: int
) -> bool | None:
    """Whether a difference of two means over seeds is at most twice its standard error (a rough
    95% bar; a tie, up to rounding, counts): too small to tell from seed-to-seed noise. None:
    one seed, so no spread to judge."""
    if n < 2 or baseline_n < 2:
        return None
    return abs(delta) <= 2 * math.sqrt(sd**2 / n + baseline_sd**2 / baseline_n) + 1e-9


def _called(runs: list[dict[str, Any]], k: int) -> dict[str, float]:
    """Mean and sd over runs of how many test images each run called class k."""
    counts = [{"called": float(np.asarray(run["confusion_matrix"])[:, k].sum())} for run in runs]
    mean, sd = mean_sd(counts, ("called",))
    return {"mean": mean["called"], "sd": sd["called"]}


def _experiments_view(
    experiments: dict[str, Any] | None, dataset: dict[str, Any], base_tunes_offsets: bool = False
) -> dict[str, Any] | None:
    """Rows of the experiments table with the best value per column marked, plus deltas vs baseline.
    base_tunes_offsets: whether the build's own config tunes per-class offsets (variants inherit
    it unless they override threshold_tuning)."""
    if experiments is None:
        return None
    focus = _focus_class(dataset)
    variants = experiments["variants"]
    baseline = variants[0]

    def value(variant: dict[str, Any], column: str) -> float:
        return (
            variant["mean"]["per_class_recall"][focus]
            if column == "focus_recall"
            else variant["mean"][column]
        )

    columns = [*EXPERIMENT_COLUMNS, "focus_recall"]
    best = {column: max(value(variant, column) for variant in variants) for column in columns}
    rows = []
    for variant in variants:
        cells = {}
        for column in columns:
            sd = (
                variant["sd"]["per_class_recall"][focus]
                if column == "focus_recall"
                else variant["sd"][column]
            )
            cells[column] = {
                "mean": value(variant, column),
                "sd": sd,
                "best": value(variant, column) >= best[column] - 1e-12,
            }
        cells["focus_called"] = {**_called(variant["runs"], focus), "best": False}
        base_cells = rows[0]["cells"] if rows else cells  # the baseline is the first variant
        versus = {}
        for column in columns:
            delta = cells[column]["mean"] - base_cells[column]["mean"]
            within_noise = within_seed_noise(
                delta,
                cells[column]["sd"],
                len(variant["runs"]),
                base_cells[column]["sd"],
                len(baseline["runs"]),
            )
            versus[column] = {
                "delta": delta,
                "within_noise": within_noise,
                # What the pages mark: a difference that shows as +0.000 gets no mark.
                "marked": bool(within_noise) and abs(delta) >= SHOWN_AS_ZERO,
            }
        rows.append(
            {
                "name": variant["name"],
                "slug": variant_slug(variant["name"]),
                "description": variant["description"],
                "config": variant["config"],
                "steps": variant["steps"],
                "cells": cells,
                "val_balanced_accuracy": variant["val_mean"]["balanced_accuracy"],
                # Older experiments.json files have no val_sd.
                "val_sd_balanced_accuracy": variant.get("val_sd", {}).get("balanced_accuracy"),
                # Per column: the difference from the baseline's mean, and whether seed noise
                # could explain it (None: one seed each, no spread to judge by).
                "versus_baseline": versus,
                "recommended": variant["name"] == experiments["recommended"],
                "per_class_mean_recall": variant["mean"]["per_class_recall"],
                "collapsed_onto": collapsed_onto(variant["mean"]["per_class_recall"], dataset),
                "per_class_sd_recall": variant["sd"]["per_class_recall"],
                "first_run": variant["runs"][0],
                "train_seconds": sum(run["train_seconds"] for run in variant["runs"])
                / len(variant["runs"]),
            }
        )
    best_val = max(row["val_balanced_accuracy"] for row in rows)
    for row in rows:
        row["val_best"] = row["val_balanced_accuracy"] >= best_val - 1e-12
    recommended = next(row for row in rows if row["recommended"])
    labels = {
        "accuracy": "accuracy",
        "auc": "AUC",
        "balanced_accuracy": "balanced accuracy",
        "focus_recall": f"{dataset['class_names'][focus]} recall",
    }
    # The headline differences of the recommended variant from the baseline that the pages mark
    # as within seed noise.
    recommended_within_noise = [
        label
        for column, label in labels.items()
        if recommended is not rows[0] and recommended["versus_baseline"][column]["marked"]
    ]
    screening_rows = screening.screening_by_variant(experiments, dataset)
    if screening_rows is not None:
        for row, reading in zip(rows, screening_rows, strict=True):
            row["screening"] = reading
    return {
        "seeds": experiments["seeds"],
        "recommended": experiments["recommended"],
        "selection": selection_margin(recommended, rows),
        "selection_metric": experiments["selection_metric"],
        "focus_class": dataset["class_names"][focus],
        "focus_test_images": dataset["counts"]["test"][focus],
        "rows": rows,
        "baseline": rows[0],
        "recommended_row": recommended,
        "recommended_within_noise": recommended_within_noise,
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
        # Whether those readings include the referral AUC and the rates at the threshold set on
        # validation (files written before them do not).
        "screening_auc": screening_rows is not None and "auc" in screening_rows[0]["mean"],
        "screening_target": screening_rows is not None
        and screening.TARGET_RATES[0] in screening_rows[0]["mean"],
        "target_sensitivity": screening.TARGET_SENSITIVITY,
        # Variants whose reported probabilities are re-weighted by tuned per-class offsets.
        "offset_variants": [
            row for row in rows if row["config"].get("threshold_tuning", base_tunes_offsets)
        ],
    }


def page_context(
    results: dict[str, Any], experiments: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Plain data for every template: the results plus values derived from them."""
    dataset = results["dataset"]
    train_counts = dataset["counts"]["train"]
    prevalence = [count / max(sum(train_counts), 1) for count in train_counts]
    class_findings = findings(results["test"], dataset["class_names"], prevalence)
    in_class_order = sorted(class_findings, key=lambda row: row["index"])
    never_found = [row["name"] for row in in_class_order if row["recall"] == 0]
    majority = _largest_class(train_counts)
    split_totals = {split: sum(values) for split, values in dataset["counts"].items()}
    total_images = sum(split_totals.values())
    collection = results["collection"]
    test_counts = dataset["counts"]["test"]
    source_citations = sources.SOURCE_CITATIONS.get(dataset["flag"], [])
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
        "config": results["config"],
        "findings": class_findings,
        "missed_classes": [row for row in class_findings if row["recall"] < 0.1],
        # Class names in class order: found in none of their test images; given to no image.
        "never_found": never_found,
        "never_predicted": [row["name"] for row in in_class_order if row["predicted"] == 0],
        "majority": {"name": dataset["class_names"][majority], "share": prevalence[majority]},
        # Accuracy of always answering the training split's most common class, on test.
        "baseline": {
            "name": dataset["class_names"][majority],
            "accuracy": test_counts[majority] / max(sum(test_counts), 1),
        },
        "data_label": dataset["name"]
        if dataset["official"]
        else f"the unofficial file {dataset['file_name']}",
        "dermamnist_caveats": dataset["flag"] == study.STUDY_DATASET,
        "model_card": {
            "name": model_card.model_name(results),
            "front_matter": Markup(model_card.front_matter(results)),
        },
        "prevalence_rows": _prevalence_rows(dataset),
        "calibration_direction": calibration_direction(results["test"]["calibration"]["bins"]),
        "ordinal_reference": ordinal_reference(results["test"], train_counts)
        if dataset["task"] == "ordinal-regression"
        else None,
        "study": _study_comparison(results),
        "citations": {
            "source": source_citations,
            "entries": sources.MEDMNIST_CITATIONS + source_citations,
        },
        "grade_scale": sources.GRADE_SCALES.get(dataset["flag"]),
        "split_note": sources.SPLIT_NOTES.get(dataset["flag"]),
        # Older results.json files (schema 5 before it was added) have none.
        "colour_reference": results.get("colour_reference"),
        "screening": screening.screening_view(
            results["test"],
            dataset,
            results["referral_auc"],
            results["referral_operating_point"],
        ),
        "why_cnn": study.WHY_CNN,
        "why_not": study.WHY_NOT,
        "decisions": study.DECISIONS,
        "next_steps": _next_steps(results, class_findings, never_found),
        "experiments": _experiments_view(
            experiments, dataset, bool(results["config"].get("threshold_tuning"))
        ),
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
