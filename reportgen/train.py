"""Stage 3: train the study's CNN on preloaded tensors; functions return values, never print.

Each split is held as one uint8 tensor; batches are sliced from it and normalised on the device,
so there is no per-image Python in the loop; on a GPU the step is replayed as a CUDA graph where
the config allows (reportgen/cuda_graph.py). Test labels are never passed in here.
"""

from __future__ import annotations

import copy
import functools
import math
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn

from reportgen import metrics
from reportgen.augment import augment_batch, dihedral_views
from reportgen.config import BuildConfig
from reportgen.cuda_graph import GraphedStep, StepOutputs, can_capture
from reportgen.data import LoadedDataset, Split, class_counts
from reportgen.device import autocast, resolve_device
from reportgen.errors import ReportgenError
from reportgen.model import build_model
from reportgen.selection import first_best, patience_ran_out, selection_score

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
    val_balanced_accuracy: float
    seconds: float

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


@dataclass(frozen=True)
class TrainedModel:
    model: nn.Module  # with the selected epoch's weights
    history: list[EpochStats]
    device: str
    selected_epoch: int  # 1-based epoch whose weights the model holds
    stopped_early: bool  # patience ran out before the last epoch
    val_probabilities: np.ndarray  # (epochs run, N_val, K): val predictions after each epoch


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and torch; return the generator that orders the training batches.

    Also asks cuDNN for deterministic algorithms: on a GPU its fastest convolution gradients add in
    a varying order, so the same seed gave another wide CNN on every run (measured on an H100).
    """
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def warm_up(
    device: torch.device, config: BuildConfig, image_shape: tuple[int, ...], n_classes: int
) -> None:
    """Pay a process's one-off costs before a run's clock starts, so that the first run in each
    process is not charged for them: torch imports its compiler when the first optimiser is made
    (about 2 s on these CPUs, 4 s on the GPU machine), and a GPU starts its context, libraries and
    kernels. One step of a throwaway copy of the run's model on two blank images: milliseconds
    once those costs are paid. train_model reseeds every generator afterwards.
    """
    height, image_width, channels = image_shape
    model = prepare_model(build_model(config.model, channels, n_classes, config.width), device)
    optimizer = make_optimizer(model, config)
    images = torch.zeros(2, height, image_width, channels, device=device).permute(0, 3, 1, 2)
    with autocast(device, config.precision):
        logits = model(images).float()
    logits.sum().backward()
    optimizer.step()
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def to_device_tensors(split: Split, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """(images as (N, C, H, W) uint8, labels as (N,) int64) on the device.

    The images keep the file's (N, H, W, C) memory layout: a channels-last tensor, fed to the
    channels-last model without a copy (its speed against NCHW: benchmarks/RESULTS.md).
    """
    images = torch.from_numpy(np.ascontiguousarray(split.images)).permute(0, 3, 1, 2)
    return images.to(device), torch.from_numpy(split.labels).to(device)


def prepare_model(model: nn.Module, device: torch.device) -> nn.Module:
    """The model on the device, in channels-last layout to match the preloaded images."""
    return model.to(device=device, memory_format=torch.channels_last)


def normalize(images: torch.Tensor) -> torch.Tensor:
    """uint8 pixels [0, 255] -> [0, 1] -> [-1, 1] (mean 0.5, std 0.5), as the study did."""
    return images.float().div_(255.0).sub_(0.5).div_(0.5)


def predict_proba(
    model: nn.Module, images: torch.Tensor, tta: bool = False, precision: str = "fp32"
) -> np.ndarray:
    """Softmax probabilities (N, K) for uint8 images (N, C, H, W), model in eval mode.

    With tta, the mean of the probabilities over the 8 flips/rotations of each image.
    """
    model.eval()
    outputs = []
    with torch.inference_mode(), autocast(images.device, precision):
        for start in range(0, images.shape[0], EVAL_BATCH_SIZE):
            batch = normalize(images[start : start + EVAL_BATCH_SIZE])
            views = dihedral_views(batch) if tta else [batch]
            probabilities = torch.stack(
                [torch.softmax(model(view).float(), dim=1) for view in views]
            ).mean(0)
            outputs.append(probabilities.cpu())
    return torch.cat(outputs).numpy().astype(np.float64)


def class_weights(counts: list[int], mode: str, beta: float) -> torch.Tensor | None:
    """Loss weight per class, scaled to mean 1; None for plain cross-entropy.

    inverse_frequency: N / (K * n_k). effective_number (Cui et al., 2019): (1 - beta) / (1 - beta^n_k).
    """
    if mode == "none":
        return None
    n = torch.tensor(counts, dtype=torch.float64).clamp(min=1)
    if mode == "inverse_frequency":
        weights = n.sum() / (len(counts) * n)
    elif mode == "effective_number":
        weights = (1 - beta) / (1 - beta**n)
    else:
        raise ValueError(f"unknown loss weighting {mode!r}")
    return (weights / weights.mean()).float()


def epoch_order(labels: torch.Tensor, sampler: str, generator: torch.Generator) -> torch.Tensor:
    """Indices of one epoch: a permutation (shuffle), or N draws weighted 1/n_class (balanced)."""
    n = labels.shape[0]
    if sampler == "shuffle":
        return torch.randperm(n, generator=generator)
    counts = torch.bincount(labels.cpu())
    weights = 1.0 / counts[labels.cpu()].double()
    return torch.multinomial(weights, n, replacement=True, generator=generator)


def make_optimizer(model: nn.Module, config: BuildConfig) -> torch.optim.Optimizer:
    if config.optimizer == "adamw":
        return torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    return torch.optim.SGD(
        model.parameters(), lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay
    )


def make_schedule(
    optimizer: torch.optim.Optimizer, config: BuildConfig, total_steps: int
) -> torch.optim.lr_scheduler.LRScheduler | None:
    """A per-step learning-rate schedule, or None for a constant rate."""
    if config.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps)
    if config.schedule == "onecycle":
        # OneCycleLR also cycles momentum (0.95 -> 0.85 -> 0.95) by default: kept for AdamW's
        # beta1, the usual one-cycle recipe, but SGD keeps the momentum its config sets.
        return torch.optim.lr_scheduler.OneCycleLR(
            optimizer,
            max_lr=config.lr,
            total_steps=total_steps,
            cycle_momentum=config.optimizer == "adamw",
        )
    return None


def _cross_entropy(labels: np.ndarray, probabilities: np.ndarray) -> float:
    picked = probabilities[np.arange(labels.shape[0]), labels]
    return float(-np.mean(np.log(np.clip(picked, 1e-12, None))))


@dataclass(frozen=True)
class StepRecipe:
    """How one optimisation step is taken, from the config."""

    batch_size: int
    sampler: str
    augment: bool
    grad_clip: float
    loss_function: nn.Module
    precision: str = "fp32"


def training_step(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    images: torch.Tensor,
    labels: torch.Tensor,
    recipe: StepRecipe,
    generator: torch.Generator,
    index: torch.Tensor,
) -> StepOutputs:
    """One optimisation step on the images at `index`; returns (loss, targets, probabilities)."""
    targets = labels[index]
    inputs = normalize(images[index])
    if recipe.augment:
        inputs = augment_batch(inputs, generator)
    with autocast(images.device, recipe.precision):
        logits = model(inputs).float()
    loss = recipe.loss_function(logits, targets)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if recipe.grad_clip > 0:
        nn.utils.clip_grad_norm_(model.parameters(), recipe.grad_clip)
    optimizer.step()
    return loss.detach(), targets, torch.softmax(logits.detach(), dim=1)


def make_step(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    images: torch.Tensor,
    labels: torch.Tensor,
    recipe: StepRecipe,
    generator: torch.Generator,
    cuda_graph: bool = False,
) -> Callable[[torch.Tensor], StepOutputs]:
    """The step for a batch of indices into the preloaded images: a replayed CUDA graph when
    cuda_graph (see reportgen.cuda_graph.can_capture), otherwise eager."""
    step = functools.partial(training_step, model, optimizer, images, labels, recipe, generator)
    return GraphedStep(step, recipe.batch_size) if cuda_graph else step


def train_one_epoch(
    model: nn.Module,
    step: Callable[[torch.Tensor], StepOutputs],
    schedule: torch.optim.lr_scheduler.LRScheduler | None,
    labels: torch.Tensor,
    recipe: StepRecipe,
    generator: torch.Generator,
) -> tuple[float, np.ndarray, np.ndarray]:
    """One pass; returns (mean batch loss, labels seen, probabilities while training)."""
    model.train()
    order = epoch_order(labels, recipe.sampler, generator).to(labels.device)
    losses, seen_labels, seen_probabilities = [], [], []
    for start in range(0, order.shape[0], recipe.batch_size):
        loss, targets, probabilities = step(order[start : start + recipe.batch_size])
        if schedule is not None:
            schedule.step()
        losses.append(loss)
        seen_labels.append(targets)
        seen_probabilities.append(probabilities)
    mean_loss = float(torch.stack(losses).mean())
    return (
        mean_loss,
        torch.cat(seen_labels).cpu().numpy(),
        torch.cat(seen_probabilities).cpu().numpy().astype(np.float64),
    )


def _diverged(epoch: int, symptom: str, lr: float) -> ReportgenError:
    # A tenth of the rate, or the study's where that is still above it (--lr 1e30 would be told
    # 1e+29, which diverges too).
    study_lr = BuildConfig().lr
    lower = f"{lr / 10:g}" if lr / 10 <= study_lr else f"{study_lr:g}, the study's"
    return ReportgenError(
        f"Training diverged in epoch {epoch}: {symptom}, so the weights are no longer usable. "
        f"The learning rate --lr {lr:g} is too high for this data: try a lower one, e.g. "
        f"--lr {lower}. Nothing was published; earlier docs and site are unchanged."
    )


def train_model(
    dataset: LoadedDataset,
    config: BuildConfig,
    on_epoch: Callable[[EpochStats], None] | None = None,
) -> TrainedModel:
    """Train on train, log train and val metrics every epoch, keep the selected epoch's weights."""
    device = resolve_device(config.device)
    generator = seed_everything(config.seed)
    channels = dataset.train.images.shape[-1]
    n_classes = len(dataset.class_names)
    model = prepare_model(build_model(config.model, channels, n_classes, config.width), device)
    optimizer = make_optimizer(model, config)
    train_images, train_labels = to_device_tensors(dataset.train, device)
    val_images, _ = to_device_tensors(dataset.val, device)
    steps_per_epoch = -(-train_images.shape[0] // config.batch_size)
    schedule = make_schedule(optimizer, config, steps_per_epoch * config.epochs)
    weights = class_weights(
        class_counts(dataset.train.labels, n_classes),
        config.loss_weighting,
        config.effective_number_beta,
    )
    recipe = StepRecipe(
        batch_size=config.batch_size,
        sampler=config.sampler,
        augment=config.augment,
        grad_clip=config.grad_clip,
        loss_function=nn.CrossEntropyLoss(
            weight=None if weights is None else weights.to(device),
            label_smoothing=config.label_smoothing,
        ),
        precision=config.precision,
    )
    step = make_step(
        model, optimizer, train_images, train_labels, recipe, generator, can_capture(device, config)
    )
    history: list[EpochStats] = []
    val_by_epoch: list[np.ndarray] = []
    scores: list[float] = []
    best_state = None
    for epoch in range(1, config.epochs + 1):
        started = time.perf_counter()
        train_loss, seen_labels, seen_probabilities = train_one_epoch(
            model, step, schedule, train_labels, recipe, generator
        )
        if not math.isfinite(train_loss):
            raise _diverged(epoch, f"the training loss became {train_loss}", config.lr)
        # With TTA, as the run will predict: the epoch is chosen for the predictions it gives.
        val_probabilities = predict_proba(model, val_images, config.tta, config.precision)
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
            val_balanced_accuracy=metrics.balanced_accuracy(
                dataset.val.labels, val_probabilities.argmax(axis=1)
            ),
            seconds=time.perf_counter() - started,
        )
        history.append(stats)
        val_by_epoch.append(val_probabilities)
        if on_epoch is not None:
            on_epoch(stats)
        scores.append(
            float(epoch)  # "last": the latest epoch is always the best
            if config.select_epoch == "last"
            else selection_score(dataset.val.labels, val_probabilities, config.select_epoch)
        )
        if first_best(scores) == len(scores) - 1:
            if config.select_epoch != "last":
                best_state = copy.deepcopy(model.state_dict())
        elif patience_ran_out(scores, config.patience):
            break
    if best_state is not None:
        model.load_state_dict(best_state)
    return TrainedModel(
        model=model,
        history=history,
        device=str(device),
        selected_epoch=first_best(scores) + 1,
        stopped_early=len(history) < config.epochs,
        val_probabilities=np.stack(val_by_epoch),
    )
