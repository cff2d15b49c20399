"""The one frozen configuration of a build; click options map onto its fields one to one."""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reportgen.seeds import member_seeds

DEFAULT_DATASET = "dermamnist"


def default_data_root() -> Path:
    """Where medmnist keeps its files: `$MEDMNIST_ROOT`, else `~/.medmnist`."""
    return Path(os.environ.get("MEDMNIST_ROOT") or Path.home() / ".medmnist").expanduser()


# Fields that say where things live or how output is made, not what training produces.
NON_TRAINING_FIELDS = frozenset(
    {
        "data_root",
        "allow_unofficial_data",
        "docs_dir",
        "site_dir",
        "cache_dir",
        "build_site",
        "retrain",
        "experiments",
        "jobs",
        "site_url",
        "repo_url",
    }
)

CHOICES = {
    "device": ("auto", "cpu", "cuda", "mps"),
    "precision": ("fp32", "bf16"),
    "model": ("study_cnn", "wide_cnn"),
    "optimizer": ("sgd", "adamw"),
    "schedule": ("constant", "cosine", "onecycle"),
    "loss_weighting": ("none", "inverse_frequency", "effective_number"),
    "sampler": ("shuffle", "balanced"),
    "select_epoch": ("last", "val_auc", "val_balanced_accuracy"),
}


# Where a build writes, relative to the working folder, unless told otherwise.
DEFAULT_DOCS_DIR = Path("docs")
DEFAULT_SITE_DIR = Path("site")
DEFAULT_CACHE_DIR = Path(".reportgen")

MAX_SEED = 2**32 - 1  # numpy's seeds are 32-bit unsigned


def _number(value: float) -> str:
    """1 for 1.0, 4294967295 for 2**32 - 1, 0.5 for 0.5."""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


@dataclass(frozen=True)
class Bounds:
    """The allowed range of a numeric field; one table serves the CLI and experiments files."""

    low: float
    high: float = math.inf
    low_open: bool = False  # low itself is not allowed
    high_open: bool = False  # high itself is not allowed

    def text(self) -> str:
        """The range in words: '> 0', '>= 1', 'in [0, 1)', 'from 1 to 20'."""
        low, high = _number(self.low), _number(self.high)
        if math.isinf(self.high):
            return f"{'>' if self.low_open else '>='} {low}"
        if not (self.low_open or self.high_open) and float(self.low).is_integer():
            return f"from {low} to {high}"
        left, right = "(" if self.low_open else "[", ")" if self.high_open else "]"
        return f"in {left}{low}, {high}{right}"

    def admits(self, value: float) -> bool:
        """Whether value is a finite number in range (NaN and infinities never are)."""
        if not math.isfinite(value):
            return False
        above = value > self.low if self.low_open else value >= self.low
        below = value < self.high if self.high_open else value <= self.high
        return above and below


BOUNDS = {
    "epochs": Bounds(1),
    "batch_size": Bounds(1),
    "lr": Bounds(0, low_open=True),
    "momentum": Bounds(0, 1, high_open=True),
    "seed": Bounds(0, MAX_SEED),
    # 256 gives the wide CNN 18 million weights (64 times the default 32's 0.29 million);
    # beyond that nothing trains in reasonable time, and a width of 100,000 asked for 360 GB.
    "width": Bounds(1, 256),
    "weight_decay": Bounds(0),
    "grad_clip": Bounds(0),
    "label_smoothing": Bounds(0, 1, high_open=True),
    "effective_number_beta": Bounds(0, 1, high_open=True),
    "patience": Bounds(0),
    "ensemble": Bounds(1, 20),
    "jobs": Bounds(0),
}


@dataclass(frozen=True)
class OutputSettings:
    """Where a build publishes and how: all that publishing pages and site needs."""

    docs_dir: Path = DEFAULT_DOCS_DIR
    site_dir: Path = DEFAULT_SITE_DIR
    build_site: bool = True
    site_url: str | None = None
    repo_url: str | None = None

    def folders(self) -> list[Path]:
        """The folders a build replaces: docs, and site unless only the pages are made."""
        return list(self.named_folders().values())

    def named_folders(self) -> dict[str, Path]:
        """folders(), each under the name of the option that sets it (for error messages)."""
        named = {"--docs-dir": self.docs_dir}
        if self.build_site:
            named["--site-dir"] = self.site_dir
        return named


@dataclass(frozen=True)
class BuildConfig:
    # data
    dataset: str = DEFAULT_DATASET  # MedMNIST 2D flag, e.g. dermamnist
    data_root: Path = dataclasses.field(default_factory=default_data_root)  # folder of <flag>.npz
    allow_unofficial_data: bool = False  # accept a file whose MD5 differs from medmnist.INFO
    # training (the study's defaults)
    epochs: int = 10  # passes over the training split
    batch_size: int = 100  # images per SGD step
    lr: float = 0.01  # SGD learning rate
    momentum: float = 0.0  # SGD momentum; the study used none
    seed: int = 0  # seeds Python, NumPy and torch, and the shuffling order
    device: str = "auto"  # auto | cpu | cuda | mps; auto picks cuda, then mps, then cpu
    precision: str = "fp32"  # fp32 (the study) | bf16: convolutions, dense layers in bfloat16
    # the study's next steps; every default below reproduces the study
    model: str = "study_cnn"  # study_cnn | wide_cnn (VGG-style, padded, global average pooling)
    width: int = 32  # wide_cnn: channels of its first block (doubled per block)
    optimizer: str = "sgd"  # sgd | adamw
    weight_decay: float = 0.0  # L2 (sgd) or decoupled (adamw) weight decay
    schedule: str = "constant"  # constant | cosine | onecycle learning-rate schedule
    grad_clip: float = 0.0  # clip the gradient norm to this value; 0 = off
    label_smoothing: float = 0.0  # cross-entropy label smoothing
    loss_weighting: str = "none"  # none | inverse_frequency | effective_number
    effective_number_beta: float = 0.999  # beta of the "effective number of samples" weights
    sampler: str = "shuffle"  # shuffle | balanced (minority oversampling by weighted sampling)
    augment: bool = False  # flips, 90-degree rotations, small affine and colour jitter per batch
    select_epoch: str = "last"  # last | val_auc | val_balanced_accuracy: which epoch's weights
    patience: int = 0  # stop after this many epochs without a better selection metric; 0 = off
    threshold_tuning: bool = False  # per-class logit offsets tuned on val for balanced accuracy
    tta: bool = False  # test-time augmentation: average over the 8 flips/rotations
    ensemble: int = 1  # networks trained with seeds seed, seed+1000, ...; probabilities averaged
    # output
    docs_dir: Path = DEFAULT_DOCS_DIR  # rendered Markdown pages, figures and data files
    site_dir: Path = DEFAULT_SITE_DIR  # the built static site
    cache_dir: Path = DEFAULT_CACHE_DIR  # cached runs (config + data + code) and colour references
    build_site: bool = True  # False: stop after writing the Markdown pages
    site_url: str | None = None  # public address of the site (canonical links, sitemap, ...)
    repo_url: str | None = None  # repository the site's header links to; None: no link
    retrain: bool = False  # ignore a cached run and train again
    experiments: Path | None = None  # TOML file of variants to run for several seeds; None = none
    jobs: int = 0  # experiment runs trained at once in worker processes; 0 = auto (CPU cores)

    def outputs(self) -> OutputSettings:
        return OutputSettings(
            self.docs_dir, self.site_dir, self.build_site, self.site_url, self.repo_url
        )

    def training_fields(self) -> dict[str, object]:
        """The fields that change what training produces (the cache key's part of the config)."""
        return {
            name: value for name, value in self.to_dict().items() if name not in NON_TRAINING_FIELDS
        }

    def to_dict(self) -> dict[str, object]:
        """JSON-ready copy of every field (paths as strings)."""
        return {
            field.name: str(value) if isinstance(value, Path) else value
            for field in dataclasses.fields(self)
            for value in [getattr(self, field.name)]
        }


# Training fields that matter only where another field has one value: field -> (other, value).
NEEDS = {
    "width": ("model", "wide_cnn"),
    "effective_number_beta": ("loss_weighting", "effective_number"),
    "momentum": ("optimizer", "sgd"),  # AdamW keeps its own running means
}


# Fields whose command-line option is not their name: a site is built unless --no-site.
OPTION_FLAGS = {"build_site": "--no-site"}


def option_flag(field: str) -> str:
    """The command-line option of a BuildConfig field: --lr for lr, --select-epoch for
    select_epoch, --no-site for build_site."""
    return OPTION_FLAGS.get(field, "--" + field.replace("_", "-"))


def unmet_needs(settings: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """Of settings (a config as a dict, e.g. results.json's), each training field that changes
    nothing under the others, with the (field, value) it would need."""
    return {
        field: (other, value)
        for field, (other, value) in NEEDS.items()
        if field in settings and other in settings and settings[other] != value
    }


def inert_fields(config: BuildConfig) -> dict[str, tuple[str, str]]:
    """Training fields that change nothing under this config's other settings, each with the
    (field, value) it would need (unmet_needs of the whole config)."""
    return unmet_needs(dataclasses.asdict(config))


def settings_conflict(config: BuildConfig) -> str | None:
    """Why settings that are each in range do not work together, or None when they do."""
    largest_seed = max(member_seeds(config.seed, config.ensemble))
    if config.patience and config.select_epoch == "last":
        return (
            f"patience = {config.patience} with select_epoch = last: early stopping waits for a "
            "better validation score, and keeping the last epoch has none, so training would "
            "never stop early. Choose an epoch on validation (--select-epoch val_auc or "
            'val_balanced_accuracy; in an experiments file, select_epoch = "val_auc") or drop '
            "patience."
        )
    if largest_seed > MAX_SEED:
        return (
            f"seed {config.seed} with ensemble = {config.ensemble} gives the last network seed "
            f"{largest_seed}, above the largest seed, {MAX_SEED}. Choose a seed of at most "
            f"{config.seed - (largest_seed - MAX_SEED)}."
        )
    return None
