"""The results file: assembled from a run as plain data, written and read as JSON and CSV.

Rendering reads only these files, so pages can be rebuilt without torch or the dataset.
"""

from __future__ import annotations

import datetime
import json
import math
import re
import shlex
from pathlib import Path
from typing import Any

import numpy as np

import reportgen
from reportgen.cache import TrainedRun
from reportgen.catalog import class_names_of, collection_summary, medmnist_info
from reportgen.config import BuildConfig, inert_fields, option_flag
from reportgen.errors import ReportgenError
from reportgen.screening import referral_auc_of, referral_operating_point_of

# 2: test intervals and calibration; 3: balanced accuracy's posterior interval; 4: referral AUC;
# 5: the referral threshold set on validation
SCHEMA_VERSION = 5
RESULTS_FILE = Path("data") / "results.json"
PREDICTIONS_FILE = Path("data") / "predictions.csv"
EXPERIMENTS_FILE = Path("data") / "experiments.json"
PLAN_FILE = Path("data") / "experiments.toml"  # the experiments file, as the build read it
PER_CLASS_FILE = Path("data") / "per_class.csv"
CACHED_STAGES = ("train", "evaluate")  # the stages a build skips when it reuses a cached run
REQUIRED_KEYS = (
    "config",
    "environment",
    "dataset",
    "collection",
    "model",
    "history",
    "test",
    "referral_auc",
    "referral_operating_point",
    "timings",
)


def home_as_tilde(text: str) -> str:
    """text with the user's home folder written `~`: the published pages should not carry the
    user name. Matches the home path at the start, after a space or after `=` (--opt=PATH)."""
    home = str(Path.home()).rstrip("/")
    if not home:
        return text
    return re.sub(rf"(?:^|(?<=[\s=])){re.escape(home)}(?=/|\s|$)", "~", text)


def shareable_config(config: BuildConfig) -> dict[str, object]:
    """config.to_dict() with every path's home folder written `~` (reportgen expands it back)."""
    return {
        name: home_as_tilde(value) if isinstance(getattr(config, name), Path) else value
        for name, value in config.to_dict().items()
    }


def dataset_summary(
    config: BuildConfig, file: Path, md5: str, official: bool, counts: dict[str, list[int]]
) -> dict[str, Any]:
    info = medmnist_info()[config.dataset]
    return {
        "flag": config.dataset,
        "name": info["python_class"],
        # As the command named it (--data-root), not resolved: the pages show that command, and
        # a machine's own folders say nothing to a reader.
        "file": home_as_tilde(str(file)),
        "file_name": file.name,
        "md5": md5,
        "official": official,
        "official_md5": info["MD5"],
        "url": info["url"],
        "description": info["description"],
        "license": info["license"],
        "task": info["task"],
        "n_channels": info["n_channels"],
        "class_names": class_names_of(info),
        "counts": counts,
    }


def rebuild_command(config: BuildConfig) -> str:
    """The `reportgen build` command line that makes this exact configuration: every option,
    except those at their default that do nothing here (--width for the study's CNN)."""
    parts = ["reportgen build"]
    defaults = BuildConfig()
    inert = inert_fields(config)
    for name, value in shareable_config(config).items():
        option = option_flag(name)
        if name == "retrain" or value is None:
            continue
        if name in inert and getattr(config, name) == getattr(defaults, name):
            continue
        if name == "build_site":  # its option, --no-site, turns it off
            parts += [] if value else [option]
        elif isinstance(value, bool):
            parts += [option] if value else []
        else:
            parts.append(f"{option} {shlex.quote(str(value))}")
    return " \\\n    ".join(parts)


def assemble_results(
    config: BuildConfig,
    command: str,
    run: TrainedRun,
    data_file: Path,
    md5: str,
    official: bool,
    cache: dict[str, Any],
    timings: dict[str, float],
    colour_reference: dict[str, Any],
) -> dict[str, Any]:
    """results.json's content: the run's record, its dataset and build, and colour_reference
    (reference.colour_reference on the same file)."""
    record = run.record
    dataset = dataset_summary(config, data_file, md5, official, record["counts"])
    return {
        "schema_version": SCHEMA_VERSION,
        "reportgen_version": reportgen.__version__,
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "command": command,
        "rebuild_command": rebuild_command(config),
        "config": shareable_config(config),
        "environment": record["environment"],
        "dataset": dataset,
        "collection": collection_summary(),
        "model": record["model"],
        "history": record["history"],
        "selection": record["selection"],
        "val": record["val"],
        "test": published_test(record["test"], dataset["task"]),
        # The screening reading's parts that need probabilities (None: the dataset has no endpoint).
        "referral_auc": referral_auc_of(dataset, run.test_labels, run.test_probabilities),
        "referral_operating_point": referral_operating_point_of(dataset, run),
        # What a logistic regression on overall colour and brightness scores (reference.py).
        "colour_reference": colour_reference,
        "timings": timings,
        "cache": cache,
    }


def published_test(test: dict[str, Any], task: str) -> dict[str, Any]:
    """The test summary results.json publishes: the grade errors of evaluate.summarize_test
    (mean absolute error, kappa) only where the classes are ordered grades; between other
    classes, the distance of their numbers means nothing."""
    if task == "ordinal-regression":
        return test
    return {key: value for key, value in test.items() if key != "ordinal"}


def skipped_stages(results: dict[str, Any]) -> tuple[str, ...]:
    """The stages a build did not run (timed at 0): CACHED_STAGES where it reused a cached run."""
    return CACHED_STAGES if results.get("cache", {}).get("reused") else ()


def json_safe(value: Any) -> Any:
    """NaN and infinity become null: results.json stays valid JSON for every reader."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    return value


def write_results(results: dict[str, Any], docs_dir: Path) -> Path:
    return _write_json(results, docs_dir / RESULTS_FILE)


def _write_json(data: dict[str, Any], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(json_safe(data), indent=2, allow_nan=False), encoding="utf-8")
    return path


def write_experiments(experiments: dict[str, Any], docs_dir: Path) -> Path:
    """experiments.json, and beside it the experiments file it ran (older files keep none)."""
    if experiments.get("plan_toml"):
        (docs_dir / PLAN_FILE).parent.mkdir(parents=True, exist_ok=True)
        (docs_dir / PLAN_FILE).write_text(experiments["plan_toml"], encoding="utf-8")
    return _write_json(experiments, docs_dir / EXPERIMENTS_FILE)


def read_experiments(docs_dir: Path) -> dict[str, Any] | None:
    """experiments.json of an earlier build, or None when that build ran no experiments."""
    path = docs_dir / EXPERIMENTS_FILE
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ReportgenError(
            f"{path} is not valid JSON ({error}). Rebuild with `reportgen build --experiments FILE`."
        ) from None


PROBABILITY_FORMAT = "%.6f"  # predictions.csv's probabilities, so what `reportgen render` reads


def probabilities_as_written(probabilities: np.ndarray) -> np.ndarray:
    """The probabilities as predictions.csv writes them (text, rounded): equal for a build and for
    a render that reads them back, so the two can tell whether the figures' inputs changed."""
    return np.char.mod(PROBABILITY_FORMAT, probabilities)


def write_predictions(labels: np.ndarray, probabilities: np.ndarray, docs_dir: Path) -> Path:
    """One row per test image: index, label, prediction, prob_0 … prob_{K-1}."""
    import pandas as pd  # only when writing the table

    table = pd.DataFrame(
        {
            "index": np.arange(labels.shape[0]),
            "label": labels,
            "prediction": probabilities.argmax(axis=1),
        }
    )
    for k in range(probabilities.shape[1]):
        table[f"prob_{k}"] = probabilities[:, k]
    path = docs_dir / PREDICTIONS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(path, index=False, float_format=PROBABILITY_FORMAT)
    return path


def per_class_rows(results: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per class: split counts, test precision/recall/F1/AUC and the recall interval."""
    dataset, test = results["dataset"], results["test"]
    rows = []
    for row, recall_interval in zip(
        test["report"]["classes"], test["intervals"]["per_class_recall"], strict=True
    ):
        k = row["index"]
        rows.append(
            {
                "index": k,
                "class": row["name"],
                **{f"{split}_images": counts[k] for split, counts in dataset["counts"].items()},
                "precision": row["precision"],
                "recall": row["recall"],
                "recall_low": recall_interval["low"],
                "recall_high": recall_interval["high"],
                "f1": row["f1"],
                "auc": test["per_class_auc"][k],
            }
        )
    return rows


def write_per_class(results: dict[str, Any], docs_dir: Path) -> Path:
    """per_class.csv: the Results page's per-class table, with the recall intervals."""
    import pandas as pd  # only when writing the table

    path = docs_dir / PER_CLASS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(per_class_rows(results)).to_csv(path, index=False, float_format="%.6f")
    return path


def check_results_file(docs_dir: Path) -> Path:
    """The path of an earlier build's results.json; fails where there is none."""
    path = docs_dir / RESULTS_FILE
    if not path.is_file():
        raise ReportgenError(
            f"No results file at {path}. Run `reportgen build` first, or point --docs-dir at the "
            "folder of an earlier build."
        )
    return path


# What reading a results.json of the right schema version raises when a field is missing or of
# another type (edited by hand, or written by another version): layout_error reports it.
LAYOUT_ERRORS = (KeyError, IndexError, TypeError, ValueError, AttributeError)


def layout_error(docs_dir: Path, error: Exception, experiments: bool = True) -> ReportgenError:
    """For an earlier build's files of the right schema version whose fields are missing or of
    other types than this reportgen reads (error: what reading them raised; experiments: whether
    experiments.json was read too)."""
    beside = " (or experiments.json beside it)" if experiments else ""
    return ReportgenError(
        f"{docs_dir / RESULTS_FILE}{beside} does not have the layout this "
        f"reportgen ({reportgen.__version__}) renders ({type(error).__name__}: {error}); it was "
        "written by another version or edited by hand. Rebuild it with `reportgen build`."
    )


def read_results(docs_dir: Path) -> dict[str, Any]:
    """results.json of an earlier build, checked to be one this version can render."""
    path = check_results_file(docs_dir)
    try:
        results = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ReportgenError(
            f"{path} is not valid JSON ({error}). Rebuild it with `reportgen build`."
        ) from None
    if not isinstance(results, dict) or results.get("schema_version") != SCHEMA_VERSION:
        found = results.get("schema_version") if isinstance(results, dict) else None
        raise ReportgenError(
            f"{path} has results schema version {found}, but this reportgen "
            f"({reportgen.__version__}) renders version {SCHEMA_VERSION}. Rebuild it with "
            "`reportgen build`."
        )
    missing = [key for key in REQUIRED_KEYS if key not in results]
    if missing:
        raise ReportgenError(
            f"{path} lacks {', '.join(missing)}. Rebuild it with `reportgen build`."
        )
    return results


# How far a row of predictions.csv's probabilities may sum from 1: each is written to six
# decimals (PROBABILITY_FORMAT), so K of them are off by at most K * 5e-7.
PROBABILITY_SUM_TOLERANCE = 1e-4


def read_predictions(
    docs_dir: Path, n_classes: int, n_images: int
) -> tuple[np.ndarray, np.ndarray]:
    """(labels (N,), probabilities (N, K)) from predictions.csv, checked against what
    results.json says of the test split (n_images, n_classes): a file cut short, edited or from
    another build would redraw the figures from other predictions than the pages' numbers."""
    import pandas as pd  # only when reading the table

    path = docs_dir / PREDICTIONS_FILE
    rebuild = "Rebuild with `reportgen build`."
    try:
        table = pd.read_csv(path)
        probabilities = table[[f"prob_{k}" for k in range(n_classes)]].to_numpy(dtype=np.float64)
        labels = table["label"].to_numpy(dtype=np.float64)
    except (OSError, KeyError, ValueError) as error:
        raise ReportgenError(
            f"{path} cannot be read as this build's predictions ({error}). {rebuild}"
        ) from None
    problem = _predictions_problem(labels, probabilities, n_classes, n_images)
    if problem is not None:
        raise ReportgenError(f"{path} {problem}. {rebuild}")
    return labels.astype(np.int64), probabilities


def _predictions_problem(
    labels: np.ndarray, probabilities: np.ndarray, n_classes: int, n_images: int
) -> str | None:
    """What is wrong with predictions.csv's columns, read as floats, alone or against what
    results.json says (which of the two files is wrong, only the user can know); None if
    nothing."""
    blank = ~np.isfinite(labels) | ~np.isfinite(probabilities).all(axis=1)
    if blank.any():
        return (
            f"is damaged: line {int(np.argmax(blank)) + 2} has an empty or non-numeric cell "
            "(a file cut off in the middle of a row?)"
        )
    if labels.size != n_images:
        return (
            f"does not match results.json: it has {labels.size:,} rows, but the test split in "
            f"results.json has {n_images:,} images (a file cut short, or another build's)"
        )
    wrong_label = (labels != np.round(labels)) | (labels < 0) | (labels >= n_classes)
    if wrong_label.any():
        row = int(np.argmax(wrong_label))
        classes = f"{n_classes} class{'' if n_classes == 1 else 'es'}"
        return (
            f"does not match results.json: line {row + 2} has label {labels[row]:g}, but "
            f"results.json names {classes}, numbered 0 to {n_classes - 1}"
        )
    off = (probabilities < 0).any(axis=1) | (
        np.abs(probabilities.sum(axis=1) - 1) > PROBABILITY_SUM_TOLERANCE
    )
    if off.any():
        return f"is damaged: the probabilities on line {int(np.argmax(off)) + 2} do not sum to 1"
    return None
