"""The study's next steps as experiments: named variants of the base config, run for several seeds.

An experiments file (TOML) declares `seeds` and a list of `[[variants]]`, each a `name`, a
`description` and overrides of BuildConfig's training fields. The first variant must be the
study's baseline (no overrides). The recommended variant is chosen on validation balanced accuracy
only; test numbers are reported, never used to choose.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from reportgen.config import (
    BOUNDS,
    CHOICES,
    NON_TRAINING_FIELDS,
    BuildConfig,
    option_flag,
)
from reportgen.errors import ReportgenError
from reportgen.seeds import ENSEMBLE_SEED_STRIDE, member_seeds
from reportgen.study import NEXT_STEPS

SUMMARY_METRICS = ("accuracy", "auc", "balanced_accuracy", "macro_f1")
SELECTION_METRIC = "balanced_accuracy"  # on the validation split
# Fields a variant may not override: what data is used and how runs are told apart.
FIXED_FIELDS = frozenset({"dataset", "seed", "device"}) | NON_TRAINING_FIELDS
FILE_KEYS = {"seeds", "variants"}
VARIANT_KEYS = {"name", "description", "steps"}

# Published DermaMNIST / RetinaMNIST test results at 28x28, quoted with their sources.
REFERENCES = {
    "dermamnist": [
        {
            "model": "ResNet-18 (28)",
            "accuracy": 0.735,
            "auc": 0.917,
            "resolution": "28×28",
            "source": "MedMNIST v2, Yang et al., Scientific Data 2023, Table 3",
            "like_for_like": "yes: same split and resolution, trained from scratch",
        },
        {
            "model": "VGG16, ImageNet-pretrained, mean of 3 seeds",
            "accuracy": 0.766,
            "auc": 0.927,
            # The repository's train.py pads each 28x28 image with zeros (after normalising)
            # to the 224x224 input the pretrained network expects; it does not resize it.
            "resolution": "28×28 (zero-padded to 224×224)",
            "source": "MedMNIST+, Doerrich et al., Scientific Reports 2025",
            "code": "https://github.com/sdoerrich97/rethinking-model-prototyping-MedMNISTPlus",
            "like_for_like": "no: pretrained on ImageNet, a far larger model, and each image "
            "placed in a 224×224 canvas of zeros",
        },
    ],
    "retinamnist": [
        {
            "model": "ResNet-18 (28)",
            "accuracy": 0.524,
            "auc": 0.717,
            "resolution": "28×28",
            "source": "MedMNIST v2, Yang et al., Scientific Data 2023, Table 3",
            "like_for_like": "yes: same split and resolution, trained from scratch",
        },
        {
            "model": "ResNet-50 (28)",
            "accuracy": 0.528,
            "auc": 0.726,
            "resolution": "28×28",
            "source": "MedMNIST v2, Yang et al., Scientific Data 2023, Table 3",
            "like_for_like": "yes: same split and resolution, trained from scratch",
        },
        {
            "model": "Google AutoML Vision",
            "accuracy": 0.531,
            "auc": 0.750,
            # MedMNIST's evaluation script resizes each image to 224x224 for the model
            # (MedMNIST/experiments, MedMNIST2D/eval_google_automl_vision.py).
            "resolution": "28×28 (upscaled input)",
            "source": "MedMNIST v2, Yang et al., Scientific Data 2023, Table 3",
            "like_for_like": "partly: same split and images, upscaled to 224×224, and a model searched by a commercial AutoML service",
        },
    ],
}


@dataclass(frozen=True)
class Variant:
    name: str
    description: str
    overrides: dict[str, Any]  # BuildConfig field -> value
    steps: tuple[str, ...] = ()  # which of the study's proposed next steps it implements


@dataclass(frozen=True)
class ExperimentPlan:
    seeds: list[int]
    variants: list[Variant]
    source: str = ""  # the experiments file's text, published beside experiments.json

    def config_for(self, base: BuildConfig, variant: Variant, seed: int) -> BuildConfig:
        return dataclasses.replace(base, **variant.overrides, seed=seed)

    def shared_networks(self, base: BuildConfig) -> str | None:
        """Why two of a variant's runs would train the same network, or None. An ensemble's
        member i trains with seed + ENSEMBLE_SEED_STRIDE i, so seeds 0 and 1000 with ensemble = 2
        would share seed 1000's network: the runs would not be independent, and the spread over
        seeds would look smaller than it is."""
        for variant in self.variants:
            first_with: dict[int, int] = {}  # a network's seed -> the plan seed whose run trains it
            for seed in self.seeds:
                config = self.config_for(base, variant, seed)
                for member in member_seeds(config.seed, config.ensemble):
                    if member in first_with:
                        return (
                            f"variant {variant.name!r}: seeds {first_with[member]} and {seed} "
                            f"would both train the network of seed {member} (ensemble = "
                            f"{config.ensemble}: network i trains with seed + "
                            f"{ENSEMBLE_SEED_STRIDE} i), "
                            "so their runs would not be independent and the spread over seeds "
                            f"would look smaller than it is. List seeds less than "
                            f"{ENSEMBLE_SEED_STRIDE} apart, e.g. [0, 1, 2]."
                        )
                    first_with[member] = seed
        return None


def variant_slug(name: str) -> str:
    """A file- and anchor-safe form of a variant name."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "variant"


# Anchors the Experiments page already uses for its own sections (templates/experiments.md.j2);
# a variant whose slug were one of these would share its anchor with a heading.
SECTION_ANCHORS = frozenset({"screening-by-variant", "published-results", "variants"})


def _as_written(value: Any) -> str:
    """A value as an experiments file (TOML) writes it: true, "text", [0, 1], nan, not as Python
    prints it (True, 'text', [0, 1], nan); a TOML date as Python prints it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_as_written(item) for item in value) + "]"
    return str(value)


def _check_value(where: str, field: dataclasses.Field[Any], value: Any) -> None:
    expected = {"int": int, "float": (int, float), "bool": bool, "str": str}[str(field.type)]
    if isinstance(value, bool) and expected is not bool:
        raise ReportgenError(
            f"{where}: {field.name} = {_as_written(value)} must be a number, not true/false."
        )
    if not isinstance(value, expected):
        raise ReportgenError(
            f"{where}: {field.name} = {_as_written(value)} must be of type {field.type}."
        )
    if field.name in CHOICES and value not in CHOICES[field.name]:
        raise ReportgenError(
            f"{where}: {field.name} = {_as_written(value)} is not one of {', '.join(CHOICES[field.name])}."
        )
    if field.name in BOUNDS and not BOUNDS[field.name].admits(value):
        raise ReportgenError(
            f"{where}: {field.name} = {_as_written(value)} must be {BOUNDS[field.name].text()}."
        )


def parse_plan(data: dict[str, Any], source: str) -> ExperimentPlan:
    """A checked plan from parsed TOML; errors name the variant, the key and the allowed values."""
    fields = {
        field.name: field
        for field in dataclasses.fields(BuildConfig)
        if field.name not in FIXED_FIELDS
    }
    unknown = set(data) - FILE_KEYS
    if unknown:
        raise ReportgenError(
            f"{source}: unknown top-level key(s) {', '.join(sorted(unknown))}; allowed: seeds, variants."
        )
    seeds = data.get("seeds", [0, 1, 2])
    if not (
        isinstance(seeds, list)
        and seeds
        and all(isinstance(s, int) and not isinstance(s, bool) for s in seeds)
    ):
        raise ReportgenError(
            f"{source}: seeds = {_as_written(seeds)} must be a non-empty list of integers, e.g. [0, 1, 2]."
        )
    out_of_range = [seed for seed in seeds if not BOUNDS["seed"].admits(seed)]
    if out_of_range:
        raise ReportgenError(
            f"{source}: seed {out_of_range[0]} in seeds = {_as_written(seeds)} must be "
            f"{BOUNDS['seed'].text()}, as for --seed."
        )
    if len(set(seeds)) < len(seeds):
        raise ReportgenError(
            f"{source}: seeds = {_as_written(seeds)} repeats a seed. A repeated seed trains the same run "
            "again, which would shrink the spread over seeds; list each seed once."
        )
    raw_variants = data.get("variants")
    if not isinstance(raw_variants, list) or not raw_variants:
        raise ReportgenError(
            f'{source}: no [[variants]] declared. Add at least the baseline: [[variants]] name = "baseline".'
        )
    variants, names, slugs = [], set(), {}
    for position, raw in enumerate(raw_variants, start=1):
        name = raw.get("name") if isinstance(raw, dict) else None
        where = f"{source}, variant {position}" + (f" ({name!r})" if name else "")
        if not isinstance(name, str) or not name.strip():
            raise ReportgenError(f'{where}: every variant needs a name = "...".')
        if name in names:
            raise ReportgenError(f"{where}: the name {name!r} is used twice; names must be unique.")
        names.add(name)
        slug = variant_slug(name)
        if slug in SECTION_ANCHORS or slug in slugs:
            clash = f"the variant {slugs[slug]!r}" if slug in slugs else "a section of the page"
            raise ReportgenError(
                f"{where}: the name {name!r} gives the same page anchor and figure names "
                f"({slug!r}) as {clash}. Rename it."
            )
        slugs[slug] = name
        overrides = {key: value for key, value in raw.items() if key not in VARIANT_KEYS}
        for key, value in overrides.items():
            if key not in fields:
                if key in FIXED_FIELDS:
                    raise ReportgenError(
                        f"{where}: {key} cannot differ between variants: it is the same for "
                        f"every run of a build. Set it for the whole build on the command line "
                        f"({option_flag(key)}), or drop it here."
                    )
                raise ReportgenError(
                    f"{where}: unknown key {key!r} (allowed: {', '.join(sorted(fields))})."
                )
            _check_value(where, fields[key], value)
        if position == 1 and overrides:
            raise ReportgenError(
                f"{where}: the first variant is the study's baseline and must not override anything "
                f"(found {', '.join(sorted(overrides))})."
            )
        description = raw.get("description", "")
        if not isinstance(description, str):
            raise ReportgenError(
                f"{where}: description = {_as_written(description)} must be text, in quotes."
            )
        steps = raw.get("steps", [])
        known_steps = [key for key, _ in NEXT_STEPS]
        if not isinstance(steps, list) or any(step not in known_steps for step in steps):
            raise ReportgenError(
                f"{where}: steps = {_as_written(steps)} must list some of: {', '.join(known_steps)}."
            )
        variants.append(
            Variant(
                name=name,
                description=description,
                overrides=overrides,
                steps=tuple(steps),
            )
        )
    return ExperimentPlan(seeds=seeds, variants=variants)


def load_plan(path: Path) -> ExperimentPlan:
    try:
        text = path.read_text(encoding="utf-8-sig")  # without the byte-order mark some editors add
        data = tomllib.loads(text)
    except FileNotFoundError:
        raise ReportgenError(
            f"Experiments file {path} does not exist. Pass the path of a TOML file such as experiments.toml."
        ) from None
    except (OSError, UnicodeDecodeError) as error:
        raise ReportgenError(f"Experiments file {path} cannot be read ({error}).") from None
    except tomllib.TOMLDecodeError as error:
        raise ReportgenError(
            f"Experiments file {path} is not valid TOML: {error}. Fix the line it names."
        ) from None
    return dataclasses.replace(parse_plan(data, str(path)), source=text)


def run_metrics(summary: dict[str, Any]) -> dict[str, Any]:
    """The headline numbers of one split's summary, plus per-class recall."""
    row: dict[str, Any] = {name: summary[name] for name in SUMMARY_METRICS}
    row["per_class_recall"] = [entry["recall"] for entry in summary["report"]["classes"]]
    return row


def mean_sd(
    rows: list[dict[str, Any]], names: tuple[str, ...] = (*SUMMARY_METRICS, "per_class_recall")
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Per name, the mean and sample sd (0 for one row) over rows, elementwise for lists. Equal
    values have sd 0 exactly (numpy's rounding gives 8.5e-18 for three of 0.05)."""
    mean: dict[str, Any] = {}
    sd: dict[str, Any] = {}
    for name in names:
        values = np.asarray([row[name] for row in rows], dtype=float)
        mean[name] = values.mean(axis=0).tolist()
        spread = values.std(axis=0, ddof=1) if len(rows) > 1 else np.zeros_like(values[0])
        sd[name] = np.where(values.min(axis=0) == values.max(axis=0), 0.0, spread).tolist()
    return mean, sd


def summarize_variant(variant: Variant, runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One variant's entry of experiments.json from its runs (each with `test` and `val` rows)."""
    mean, sd = mean_sd([run["test"] for run in runs])
    val_mean, val_sd = mean_sd([run["val"] for run in runs])
    return {
        "name": variant.name,
        "description": variant.description,
        "config": variant.overrides,
        "steps": list(variant.steps),
        "seeds": [run["seed"] for run in runs],
        "runs": runs,
        "mean": mean,
        "sd": sd,
        "val_mean": val_mean,
        "val_sd": val_sd,
    }


def recommend(variants: list[dict[str, Any]]) -> str:
    """The variant with the best mean validation balanced accuracy (ties: validation AUC)."""

    def score(entry: dict[str, Any]) -> tuple[float, float]:
        val = entry["val_mean"]
        return (val[SELECTION_METRIC], -math.inf if math.isnan(val["auc"]) else val["auc"])

    return max(variants, key=score)["name"]
