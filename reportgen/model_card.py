"""The model card's machine-readable part: Hugging Face `model-index` metadata from results data.

The card's text is a template (templates/model_card.md.j2); this module builds the YAML front
matter that goes above it, so the metadata is valid YAML whatever the data's strings hold.
"""

from __future__ import annotations

from typing import Any

import yaml

from reportgen.formatting import auc_label, is_score

HF_METRICS = (  # (results key, Hugging Face metric type, display name)
    ("accuracy", "accuracy", "Accuracy"),
    ("auc", "roc_auc", "AUC"),  # named by auc_label for the number of classes
    ("balanced_accuracy", "balanced_accuracy", "Balanced accuracy"),
)


def hf_license(medmnist_license: str) -> str:
    """medmnist.INFO's licence ('CC BY-NC 4.0') as a Hugging Face licence id ('cc-by-nc-4.0')."""
    return medmnist_license.strip().lower().replace(" ", "-")


def hub_dataset_type(dataset: dict[str, Any]) -> str:
    """The dataset's type on the Hub, which groups results by it: an unofficial file gets its own,
    so its results stay apart from the dataset's."""
    return dataset["flag"] if dataset["official"] else f"unofficial-{dataset['flag']}"


def model_name(results: dict[str, Any]) -> str:
    """The card's model name, which names its data as the Hub's dataset type does."""
    return f"reportgen-{results['model']['name'].lower()}-{hub_dataset_type(results['dataset'])}"


def interval_method(intervals: dict[str, Any], key: str) -> dict[str, Any]:
    """How a metric's interval was made, for the card's metadata."""
    if key == "balanced_accuracy":
        return {
            "ci_method": intervals["balanced_accuracy_method"],
            "posterior_draws": intervals["posterior_draws"],
        }
    return {"ci_method": intervals["method"], "bootstrap_resamples": intervals["resamples"]}


def metadata(results: dict[str, Any]) -> dict[str, Any]:
    """The card's front matter as plain data: licence, tags and one `model-index` result."""
    dataset, test = results["dataset"], results["test"]
    intervals = test["intervals"]
    hub_type = hub_dataset_type(dataset)
    dataset_entry: dict[str, Any] = {
        "name": dataset["name"]
        if dataset["official"]
        else f"unofficial {dataset['file_name']} (not {dataset['name']})",
        "type": hub_type,
        "split": "test",
        "args": {"file_md5": dataset["md5"], "official_medmnist_file": dataset["official"]},
    }
    # The Hub needs a value for each metric: a score that is not there (null) is left out.
    reported = [(key, hf_type, name) for key, hf_type, name in HF_METRICS if is_score(test[key])]
    metrics = [
        {
            "type": hf_type,
            "name": auc_label(len(dataset["class_names"])) if key == "auc" else name,
            "value": round(test[key], 4),
            "args": {
                "ci_level": intervals["level"],
                "ci_low": None
                if intervals[key]["low"] is None
                else round(intervals[key]["low"], 4),
                "ci_high": None
                if intervals[key]["high"] is None
                else round(intervals[key]["high"], 4),
                **interval_method(intervals, key),
            },
        }
        for key, hf_type, name in reported
    ]
    metrics.append(
        {
            "type": "ece",
            "name": "Expected calibration error",
            "value": round(test["calibration"]["ece"], 4),
        }
    )
    return {
        # The weights are trained on the dataset, so its licence (and any non-commercial term)
        # binds them; an unofficial file's licence is not known (the card says so, and whose
        # terms apply if it comes from the official release): the Hub's id for that is "unknown".
        "license": hf_license(dataset["license"]) if dataset["official"] else "unknown",
        "library_name": "pytorch",
        "pipeline_tag": "image-classification",
        "tags": [
            "medmnist",
            hub_type,
            "image-classification",
            "research-only",
            "not-for-clinical-use",
            *([] if dataset["official"] else ["unofficial-data"]),
        ],
        "metrics": [hf_type for _, hf_type, _ in reported],
        "model-index": [
            {
                "name": model_name(results),
                "results": [
                    {
                        "task": {
                            "type": "image-classification",
                            "name": f"{dataset['task']} image classification",
                        },
                        "dataset": dataset_entry,
                        "metrics": metrics,
                    }
                ],
            }
        ],
    }


def front_matter(results: dict[str, Any]) -> str:
    """`---`-fenced YAML front matter for model_card.md."""
    body = yaml.safe_dump(metadata(results), sort_keys=False, allow_unicode=True, width=100)
    return f"---\n{body}---\n"
