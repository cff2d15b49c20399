"""MedMNIST metadata (`medmnist.INFO`) without importing torch.

`import medmnist` pulls in torch (seconds); its `info.py` is plain Python. Loading that file on its
own keeps `--help`, option checks and re-renders of a cached run fast, while every fact still comes
from the installed medmnist package.
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

from reportgen.errors import ReportgenError

SUPPORTED_TASKS = ("multi-class", "binary-class", "ordinal-regression")


@functools.cache
def _info_module() -> ModuleType:
    spec = importlib.util.find_spec("medmnist")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("medmnist is not installed: pip install medmnist")
    info_path = Path(next(iter(spec.submodule_search_locations))) / "info.py"
    info_spec = importlib.util.spec_from_file_location("_reportgen_medmnist_info", info_path)
    assert info_spec is not None and info_spec.loader is not None
    module = importlib.util.module_from_spec(info_spec)
    info_spec.loader.exec_module(module)
    return module


def medmnist_info() -> dict[str, dict[str, Any]]:
    """`medmnist.INFO`: flag -> metadata (description, labels, task, MD5, split sizes, licence)."""
    return _info_module().INFO  # type: ignore[no-any-return]


def medmnist_version() -> str:
    return str(_info_module().__version__)


def is_3d(flag: str) -> bool:
    return flag.endswith("3d")


def supported_flags() -> list[str]:
    """2D flags whose task reportgen trains: multi-class, binary-class or ordinal regression."""
    return [
        flag
        for flag, info in medmnist_info().items()
        if not is_3d(flag) and info["task"] in SUPPORTED_TASKS
    ]


def class_names_of(info: dict[str, Any]) -> list[str]:
    """INFO's label texts in class order. Bare numbers become 'grade 3' where the task is ordinal
    (RetinaMNIST's diabetic-retinopathy grades), else 'class 3'."""
    labels = [info["label"][str(k)] for k in range(len(info["label"]))]
    prefix = "grade" if info.get("task") == "ordinal-regression" else "class"
    return [f"{prefix} {label}" if label.isdigit() else label for label in labels]


# Slips in medmnist.INFO's descriptions, quoted as they are with "[sic]" after them, so that a
# reader sees the words are MedMNIST's and not a slip of the page (the 153 is stray).
SIC = {"computed tomography 153 (CT) scans": "computed tomography 153 [sic] (CT) scans"}


def marked_sic(text: str) -> str:
    """text with each slip of SIC marked "[sic]"."""
    for slip, marked in SIC.items():
        text = text.replace(slip, marked)
    return text


def collection_summary() -> list[dict[str, str]]:
    """One plain row per MedMNIST dataset: flag, name, dimension, task, first sentence (its
    slips marked)."""
    rows = []
    for flag, info in medmnist_info().items():
        first_sentence = marked_sic(info["description"].split(". ")[0].rstrip(".") + ".")
        rows.append(
            {
                "flag": flag,
                "name": info["python_class"],
                "dimension": "3D" if is_3d(flag) else "2D",
                "task": info["task"],
                "summary": first_sentence,
            }
        )
    return rows


def check_flag(flag: str) -> dict[str, Any]:
    """INFO[flag] for a flag reportgen can train, else a ReportgenError naming the choices."""
    info = medmnist_info()
    choices = ", ".join(supported_flags())
    if flag not in info:
        raise ReportgenError(
            f"Unknown dataset '{flag}': medmnist has no such flag. Choose one of: {choices}."
        )
    if is_3d(flag) or info[flag]["task"] not in SUPPORTED_TASKS:
        kind = "a 3D dataset" if is_3d(flag) else f"a '{info[flag]['task']}' task"
        raise ReportgenError(
            f"Dataset '{flag}' is {kind}, which reportgen does not train yet "
            f"(it trains 2D {', '.join(SUPPORTED_TASKS)} tasks). Choose one of: {choices}."
        )
    return info[flag]
