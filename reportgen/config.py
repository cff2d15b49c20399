"""The one frozen configuration of a build; click options map onto its fields one to one."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_DATASET = "dermamnist"


def default_data_root() -> Path:
    """Where medmnist keeps its files: `$MEDMNIST_ROOT`, else `~/.medmnist`."""
    return Path(os.environ.get("MEDMNIST_ROOT") or Path.home() / ".medmnist")


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
    # output
    docs_dir: Path = Path("docs")  # rendered Markdown pages, figures and data files
    site_dir: Path = Path("site")  # the built static site
    cache_dir: Path = Path(".reportgen")  # cached trained runs, keyed by config + data + code
    build_site: bool = True  # False: stop after writing the Markdown pages
    site_url: str | None = None  # public address of the site (canonical links, sitemap, instant loading)
    repo_url: str | None = None  # repository the site's header links to; None: no link
    retrain: bool = False  # ignore a cached run and train again

    def training_fields(self) -> dict[str, object]:
        """The fields that change what training produces (the cache key's part of the config)."""
        return {
            "dataset": self.dataset,
            "epochs": self.epochs,
            "batch_size": self.batch_size,
            "lr": self.lr,
            "momentum": self.momentum,
            "seed": self.seed,
        }

    def to_dict(self) -> dict[str, object]:
        """JSON-ready copy of every field (paths as strings)."""
        return {
            field.name: str(value) if isinstance(value, Path) else value
            for field in dataclasses.fields(self)
            for value in [getattr(self, field.name)]
        }
