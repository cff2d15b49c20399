"""Stage 3: train the study's CNN on preloaded tensors; functions return values, never print.

Each split is held as one uint8 tensor; batches are sliced from it and normalised on the device,
so there is no per-image Python in the loop. Test labels are never passed in here.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn

from reportgen import metrics
from reportgen.config import BuildConfig
from reportgen.data import LoadedDataset, Split
from reportgen.errors import ReportgenError
from reportgen.model import StudyCNN

EVAL_BATCH_SIZE = 1000


@dataclass(frozen=True)
class EpochStats:
    epoch: int  # 1-based
    train_loss: float  # mean over the epoch's batches, while training
    train_accuracy: float  # on the epoch's training batches, while training
    train_auc: float
    val_loss: float  # after the epoch, model in eval mode
    val_accuracy: float
    val_auc: float
    seconds: float

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


@dataclass(frozen=True)
class TrainedModel:
    model: nn.Module
    history: list[EpochStats]
    device: str


def resolve_device(name: str) -> torch.device:
    """`auto` picks cuda, then mps, then cpu; an explicit choice that is absent is an error."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ReportgenError(
            "--device cuda was asked for, but torch sees no CUDA GPU on this machine. "
            "Use --device cpu (or auto)."
        )
    if name == "mps" and not torch.backends.mps.is_available():
        raise ReportgenError("--device mps was asked for, but MPS is not available. Use --device cpu.")
    return torch.device(name)


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and torch; return the generator that orders the training batches."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def to_device_tensors(split: Split, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """(images as (N, C, H, W) uint8, labels as (N,) int64) on the device."""
    images = torch.from_numpy(np.ascontiguousarray(split.images)).permute(0, 3, 1, 2)
    return images.contiguous().to(device), torch.from_numpy(split.labels).to(device)


def normalize(images: torch.Tensor) -> torch.Tensor:
    """uint8 pixels [0, 255] -> [0, 1] -> [-1, 1] (mean 0.5, std 0.5), as the study did."""
    return images.float().div_(255.0).sub_(0.5).div_(0.5)


def predict_proba(model: nn.Module, images: torch.Tensor) -> np.ndarray:
    """Softmax probabilities (N, K) for uint8 images (N, C, H, W), model in eval mode."""
    model.eval()
    outputs = []
    with torch.inference_mode():
        for start in range(0, images.shape[0], EVAL_BATCH_SIZE):
            logits = model(normalize(images[start : start + EVAL_BATCH_SIZE]))
            outputs.append(torch.softmax(logits, dim=1).cpu())
    return torch.cat(outputs).numpy().astype(np.float64)


def _cross_entropy(labels: np.ndarray, probabilities: np.ndarray) -> float:
    picked = probabilities[np.arange(labels.shape[0]), labels]
    return float(-np.mean(np.log(np.clip(picked, 1e-12, None))))


def train_one_epoch(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    images: torch.Tensor,
    labels: torch.Tensor,
    batch_size: int,
    generator: torch.Generator,
) -> tuple[float, np.ndarray, np.ndarray]:
    """One shuffled pass; returns (mean batch loss, labels seen, probabilities while training)."""
    model.train()
    loss_function = nn.CrossEntropyLoss()
    order = torch.randperm(images.shape[0], generator=generator).to(images.device)
    losses, seen_labels, seen_probabilities = [], [], []
    for start in range(0, images.shape[0], batch_size):
        batch = order[start : start + batch_size]
        targets = labels[batch]
        logits = model(normalize(images[batch]))
        loss = loss_function(logits, targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(loss.detach())
        seen_labels.append(targets)
        seen_probabilities.append(torch.softmax(logits.detach(), dim=1))
    mean_loss = float(torch.stack(losses).mean())
    return (
        mean_loss,
        torch.cat(seen_labels).cpu().numpy(),
        torch.cat(seen_probabilities).cpu().numpy().astype(np.float64),
    )


def _diverged(epoch: int, symptom: str, lr: float) -> ReportgenError:
    return ReportgenError(
        f"Training diverged in epoch {epoch}: {symptom}, so the weights are no longer usable. "
        f"The learning rate --lr {lr:g} is too high for this data: try a lower one, e.g. "
        f"--lr {lr / 10:g}. Nothing was published; earlier docs and site are unchanged."
    )


def train_model(
    dataset: LoadedDataset,
    config: BuildConfig,
    on_epoch: Callable[[EpochStats], None] | None = None,
) -> TrainedModel:
    """Train the study's CNN on train, logging train and val metrics every epoch."""
    device = resolve_device(config.device)
    generator = seed_everything(config.seed)
    channels = dataset.train.images.shape[-1]
    model = StudyCNN(channels, len(dataset.class_names)).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum)
    train_images, train_labels = to_device_tensors(dataset.train, device)
    val_images, _ = to_device_tensors(dataset.val, device)
    history = []
    for epoch in range(1, config.epochs + 1):
        started = time.perf_counter()
        train_loss, seen_labels, seen_probabilities = train_one_epoch(
            model, optimizer, train_images, train_labels, config.batch_size, generator
        )
        if not math.isfinite(train_loss):
            raise _diverged(epoch, f"the training loss became {train_loss}", config.lr)
        val_probabilities = predict_proba(model, val_images)
        if not np.isfinite(val_probabilities).all():  # the epoch's last step can break the weights
            raise _diverged(epoch, "the model's outputs on the val split became NaN", config.lr)
        stats = EpochStats(
            epoch=epoch,
            train_loss=train_loss,
            train_accuracy=metrics.accuracy(seen_labels, seen_probabilities),
            train_auc=metrics.mean_auc(seen_labels, seen_probabilities),
            val_loss=_cross_entropy(dataset.val.labels, val_probabilities),
            val_accuracy=metrics.accuracy(dataset.val.labels, val_probabilities),
            val_auc=metrics.mean_auc(dataset.val.labels, val_probabilities),
            seconds=time.perf_counter() - started,
        )
        history.append(stats)
        if on_epoch is not None:
            on_epoch(stats)
    return TrainedModel(model=model, history=history, device=str(device))
