"""The command line's options: each built from BuildConfig's fields (type, default, choices and
range), and the checks that turn a bad value into a message naming the value and the fix."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click

from reportgen.config import (
    BOUNDS,
    CHOICES,
    DEFAULT_CACHE_DIR,
    DEFAULT_DOCS_DIR,
    DEFAULT_SITE_DIR,
    BuildConfig,
    option_flag,
)
from reportgen.errors import ReportgenError


def check_dataset(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    from reportgen.catalog import check_flag

    flag = value.lower()  # "RetinaMNIST", as MedMNIST writes the names, means retinamnist
    try:
        check_flag(flag)
    except ReportgenError as error:
        raise click.BadParameter(str(error)) from None
    return flag


def dataset_help() -> str:
    from reportgen.catalog import supported_flags

    return (
        "MedMNIST 2D dataset (multi-class, binary-class or ordinal-regression task): "
        + ", ".join(supported_flags())
        + "."
    )


# Help text of each training option; type, default, choices and range come from BuildConfig,
# CHOICES and BOUNDS, so the CLI and experiments files accept exactly the same values.
TRAINING_OPTIONS = {
    "epochs": "Training epochs.",
    "batch_size": "Images per SGD step.",
    "lr": "Learning rate, of SGD or AdamW (the schedule's peak for onecycle).",
    "momentum": "SGD momentum; the study used 0.",
    "seed": "Seed for Python, NumPy, torch and shuffling.",
    "device": "Where to train; auto picks cuda, then mps, then cpu.",
    "precision": "fp32 as the study; bf16 runs convolutions and dense layers in bfloat16 "
    "(autocast): faster on CPUs with AVX512-BF16 or AMX and on recent GPUs (slower elsewhere: a "
    "note says so), last digits differ.",
    "model": "The study's CNN, or a wider VGG-style CNN with global average pooling.",
    "width": "wide_cnn: channels of its first block.",
    "optimizer": "Optimiser: the study's SGD (with --momentum), or AdamW (--momentum does not "
    "apply).",
    "weight_decay": "Weight decay.",
    "schedule": "Learning-rate schedule, stepped per batch.",
    "grad_clip": "Clip the gradient norm to this value; 0 = off.",
    "label_smoothing": "Cross-entropy label smoothing.",
    "loss_weighting": "Class weights in the loss.",
    "effective_number_beta": "Beta of effective-number class weights.",
    "sampler": "shuffle, or balanced: oversample minority classes.",
    "augment": "Flips, 90-degree rotations, small affine and colour jitter on training batches.",
    "select_epoch": "Which epoch's weights to keep.",
    "patience": "Early stopping: epochs without a better validation score; needs --select-epoch "
    "val_auc or val_balanced_accuracy. 0 = off.",
    "threshold_tuning": "Tune per-class decision offsets on validation for balanced accuracy.",
    "tta": "Test-time augmentation over the 8 flips/rotations.",
    "ensemble": "Train this many networks (seeds seed, seed+1000, ...) and average their "
    "probabilities.",
}
# What to suggest when a value is out of range, beyond the range itself.
RANGE_HINTS = {
    "lr": " Use e.g. 0.01, the study's learning rate.",
    "momentum": " Use 0 for plain SGD or e.g. 0.9.",
}
CONFIG_FIELDS = {field.name: field for field in dataclasses.fields(BuildConfig)}


def check_range(_ctx: click.Context, param: click.Parameter, value: float) -> float:
    # A callback, not click.FloatRange: comparisons with nan are all false, so a range lets nan
    # (and, unbounded above, inf) through.
    bounds = BOUNDS[param.name or ""]
    if not bounds.admits(value):
        raise click.BadParameter(
            f"{value} is not allowed: it must be {bounds.text()}.{RANGE_HINTS.get(param.name, '')}"
        )
    return value


def config_option(name: str, help_text: str) -> Callable[[Any], Any]:
    """The click option of a BuildConfig field: --NAME (or --NAME/--no-NAME for a switch)."""
    field = CONFIG_FIELDS[name]
    flag = option_flag(name)
    if field.type == "bool":
        return click.option(
            f"{flag}/--no-{flag[2:]}", default=field.default, show_default=True, help=help_text
        )
    if name in CHOICES:
        return click.option(
            flag,
            type=click.Choice(CHOICES[name]),
            default=field.default,
            show_default=True,
            help=help_text,
        )
    return click.option(
        flag,
        type={"int": int, "float": float}[str(field.type)],
        default=field.default,
        show_default=True,
        callback=check_range if name in BOUNDS else None,
        help=f"{help_text} Allowed: {BOUNDS[name].text()}." if name in BOUNDS else help_text,
    )


def training_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Every training option, in TRAINING_OPTIONS's order in --help."""
    for name, help_text in reversed(TRAINING_OPTIONS.items()):
        command = config_option(name, help_text)(command)
    return command


def url_problem(value: str) -> str | None:
    """Why value is not a full http(s) address a browser can open, or None."""
    if any(character.isspace() for character in value):
        return "it holds a space (write %20 in a path)"
    try:
        parts = urlsplit(value)
    except ValueError as error:
        if value.count("[") != value.count("]"):
            return "it has an unmatched [ or ]"
        return f"it cannot be read as an address ({error}; brackets only enclose an IPv6 address)"
    try:
        parts.port  # noqa: B018 - read for its check
    except ValueError:
        return "its port is not a number from 0 to 65535"
    if parts.scheme not in ("http", "https"):
        return "it does not start with http:// or https://"
    if not parts.hostname:
        return "it names no host"
    return None


# An example of each address option, as the user would give it.
URL_EXAMPLES = {
    "--site-url": "https://USER.github.io/REPO/",
    "--repo-url": "https://github.com/USER/REPO",
}


def check_url(_ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    problem = url_problem(value)
    if problem is not None:
        example = URL_EXAMPLES.get(param.opts[0] if param.opts else "", URL_EXAMPLES["--site-url"])
        raise click.BadParameter(
            f"{value!r} is not an http(s) address: {problem}. Give the full URL, e.g. {example}."
        )
    return value


def check_dev_addr(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    """HOST:PORT, as MkDocs needs it: checked before anything says it is serving."""
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise click.BadParameter(
            f"{value!r} is not HOST:PORT with a port from 1 to 65535. Use e.g. 127.0.0.1:8000."
        )
    return value


def expand_user(_ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
    """`~` is not expanded by the shell in --opt=~/x or in quotes; expand it here. A path that
    is not UTF-8 is refused: the pages quote the command that built them, in UTF-8."""
    if value is None:
        return None
    try:
        str(value).encode("utf-8")
    except UnicodeEncodeError:
        shown = str(value).encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        raise click.BadParameter(
            f"{shown} is not valid UTF-8 text, and the pages quote the command that built "
            "them. Rename the folder or file, or choose another path.",
            param=param,
        ) from None
    return value.expanduser()


# What each path option's "empty" message offers instead.
EMPTY_PATH_EXAMPLES = {
    "--data-root": "~/.medmnist",
    "--experiments": "experiments.toml",
    "--docs-dir": str(DEFAULT_DOCS_DIR),
    "--site-dir": str(DEFAULT_SITE_DIR),
    "--cache-dir": str(DEFAULT_CACHE_DIR),
}


class GivenPath(click.Path):
    """A path option that refuses an empty value. click.Path turns "" (an unset variable in
    `--cache-dir "$DIR"`) into Path("."), so the current folder would silently be used."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and value == "":
            flag = param.opts[0] if param is not None and param.opts else "the option"
            current = " (. is the current folder)" if self.dir_okay else ""
            self.fail(
                f"the path is empty: give one, e.g. {flag} {EMPTY_PATH_EXAMPLES.get(flag, 'PATH')}"
                f"{current}. An unset shell variable in quotes gives an empty path.",
                param,
                ctx,
            )
        return super().convert(value, param, ctx)


def folder_option(flag: str, default: Path, help_text: str) -> Callable[[Any], Any]:
    return click.option(
        flag,
        type=GivenPath(path_type=Path),
        callback=expand_user,
        default=default,
        show_default=True,
        help=help_text,
    )


def url_option(flag: str, help_text: str) -> Callable[[Any], Any]:
    return click.option(flag, callback=check_url, default=None, help=help_text)
