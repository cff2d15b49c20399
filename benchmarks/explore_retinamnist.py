"""Which training ideas move RetinaMNIST at all? A screen that never reads the test split.

The experiments build chooses on 120 validation images, too few to tell ideas apart. This screen
trains on 80 % of the training split (864 images) and scores on the other 20 % plus validation
(336 images), three seeds per idea, so that ideas can be tried without touching test. It reuses
the package's wide CNN, augmentation and normalisation, and torchvision's ResNet-18; mixup, the
ordinal losses (earth mover's distance, regression on the grade), input upsampling, weight
averaging, local-contrast and per-image preprocessing and blending with a tree model exist only
here, to see whether they are worth adding to the package. Linear and tree models on hand-made
image features give the floor a CNN has to beat.

    python benchmarks/explore_retinamnist.py --data-root ../shared/data
    python benchmarks/explore_retinamnist.py --data-root ../shared/data --only base ensemble-5

Prints one Markdown row per idea: mean accuracy, AUC and balanced accuracy over the seeds, their
standard deviation, and seconds per run (2 torch threads unless --threads says otherwise).
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from torch import nn
from torchvision.models import resnet18
from torchvision.transforms.functional import gaussian_blur

from reportgen import metrics
from reportgen.augment import augment_batch, random_dihedral
from reportgen.model import build_model
from reportgen.train import normalize, predict_proba

HOLDOUT_SIZE = 216  # 20 % of RetinaMNIST's 1,080 training images
SPLIT_SEED = 123  # which training images are held out; fixed so every idea sees the same split
SEEDS = (0, 1, 2)
CPU = torch.device("cpu")
GRADE_TEMPERATURE = 0.5  # grade_regression: class score = -(predicted grade - class)^2 / this


@dataclass(frozen=True)
class Idea:
    """One training recipe for the wide CNN (AdamW with a one-cycle schedule throughout)."""

    width: int = 32
    epochs: int = 15
    lr: float = 3e-3
    weight_decay: float = 1e-4
    augment: str = "none"  # none | dihedral | full (the package's augment_batch)
    mixup_alpha: float = 0.0  # 0 = off
    loss: str = "cross_entropy"  # cross_entropy | ordinal_emd | grade_regression (see soft_loss)
    ensemble: int = 1
    tta: bool = False
    input_scale: int = 1  # bilinear upsampling of the 28x28 input before the network (1 = off)
    ema_decay: float = 0.0  # score an exponential moving average of the weights (0 = off)
    preprocess: str = "none"  # none | local_contrast | local_contrast_stacked | per_image
    batch_size: int = 100
    blend_gbm: float = 0.0  # weight of the gradient-boosting floor's probabilities (0 = off)
    architecture: str = "wide_cnn"  # wide_cnn | resnet18 (see residual_network; ignores width)


BASE = Idea()
IDEAS = {
    "base": BASE,
    "augment-full-30": replace(BASE, augment="full", epochs=30),
    "augment-dihedral-30": replace(BASE, augment="dihedral", epochs=30),
    "mixup-30": replace(BASE, augment="dihedral", epochs=30, mixup_alpha=0.4),
    "ordinal-emd": replace(BASE, loss="ordinal_emd"),
    "width-64": replace(BASE, width=64),
    "width-16": replace(BASE, width=16),
    "epochs-8": replace(BASE, epochs=8),
    "lr-0.001-20": replace(BASE, lr=1e-3, epochs=20),
    "weight-decay-0.05": replace(BASE, weight_decay=0.05),
    "tta": replace(BASE, tta=True),
    "ensemble-5": replace(BASE, ensemble=5),
    "grade-regression": replace(BASE, loss="grade_regression"),
    "ema-30-dihedral": replace(BASE, augment="dihedral", epochs=30, ema_decay=0.98),
    "upsample-2x": replace(BASE, input_scale=2),
    "local-contrast": replace(BASE, preprocess="local_contrast"),
    "local-contrast-stacked": replace(BASE, preprocess="local_contrast_stacked"),
    "per-image-standardised": replace(BASE, preprocess="per_image"),
    "batch-32": replace(BASE, batch_size=32),
    "resnet18": replace(BASE, architecture="resnet18"),
    "blend-gbm-0.3": replace(BASE, blend_gbm=0.3),
    "ensemble-5-blend-gbm-0.3": replace(BASE, ensemble=5, blend_gbm=0.3),
    # Compute ceilings, far past 10 minutes on 2 CPU cores (screened on a GPU with --device cuda):
    # does more capacity, training and averaging leave the plateau at all?
    "ceiling-width-128-augment-200": replace(BASE, width=128, augment="full", epochs=200),
    "ceiling-width-128-mixup-200": replace(
        BASE, width=128, augment="dihedral", mixup_alpha=0.4, epochs=200
    ),
    "ceiling-resnet18-augment-100": replace(
        BASE, architecture="resnet18", augment="full", epochs=100
    ),
    "ceiling-ensemble-20": replace(BASE, ensemble=20),
    "ceiling-width-128-augment-30": replace(BASE, width=128, augment="full", epochs=30),
    "ceiling-ensemble-5-width-64-augment-60": replace(
        BASE, width=64, augment="full", epochs=60, ensemble=5
    ),
}
LOCAL_CONTRAST_SIGMA = 2.0  # pixels: the background blur subtracted by local_contrast


@dataclass(frozen=True)
class ScreenData:
    fit_images: torch.Tensor  # (N, C, H, W) uint8
    fit_labels: torch.Tensor  # (N,) int64
    score_images: torch.Tensor
    score_labels: np.ndarray


def load_screen_data(data_root: Path) -> ScreenData:
    """Training split minus a fixed holdout to fit on; that holdout plus validation to score on."""
    with np.load(data_root / "retinamnist.npz") as npz:  # test_* keys are never read
        images, labels = npz["train_images"], npz["train_labels"].ravel()
        val_images, val_labels = npz["val_images"], npz["val_labels"].ravel()
    order = np.random.default_rng(SPLIT_SEED).permutation(labels.size)
    held_out, fit = order[:HOLDOUT_SIZE], order[HOLDOUT_SIZE:]

    def nchw(array: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(array)).permute(0, 3, 1, 2)

    return ScreenData(
        fit_images=nchw(images[fit]),
        fit_labels=torch.from_numpy(labels[fit]).long(),
        score_images=nchw(np.concatenate([images[held_out], val_images])),
        score_labels=np.concatenate([labels[held_out], val_labels]),
    )


def soft_loss(kind: str, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Cross-entropy against soft targets (N, K); ordinal_emd adds the squared earth mover's
    distance between the predicted and the target cumulative distributions (Hou et al., 2016)."""
    log_probabilities = F.log_softmax(logits, dim=1)
    loss = -(targets * log_probabilities).sum(1).mean()
    if kind == "ordinal_emd":
        gap = log_probabilities.exp().cumsum(1) - targets.cumsum(1)
        loss = loss + (gap**2).sum(1).mean()
    return loss


class ScreenNetwork(nn.Module):
    """The wide CNN, optionally fed an upsampled image, and optionally regressing the grade.

    A regressing network has one output, the grade; forward() turns it into class scores
    -(grade - k)^2 / GRADE_TEMPERATURE, so predict_proba's softmax ranks the classes near it first.
    """

    def __init__(self, idea: Idea, in_channels: int, n_classes: int) -> None:
        super().__init__()
        self.regresses = idea.loss == "grade_regression"
        self.input_scale = idea.input_scale
        self.preprocess = idea.preprocess
        self.register_buffer("grades", torch.arange(n_classes, dtype=torch.float32))
        outputs = 1 if self.regresses else n_classes
        stacked = idea.preprocess == "local_contrast_stacked"
        channels = in_channels * (2 if stacked else 1)
        if idea.architecture == "resnet18":
            self.network = residual_network(channels, outputs)
        else:
            self.network = build_model("wide_cnn", channels, outputs, idea.width)

    def raw_outputs(self, images: torch.Tensor) -> torch.Tensor:
        images = preprocess(self.preprocess, images)
        if self.input_scale > 1:
            images = F.interpolate(images, scale_factor=self.input_scale, mode="bilinear")
        return self.network(images)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        outputs = self.raw_outputs(images)
        return -((outputs - self.grades) ** 2) / GRADE_TEMPERATURE if self.regresses else outputs


def residual_network(in_channels: int, outputs: int) -> nn.Module:
    """torchvision's ResNet-18, untrained, with the stem MedMNIST's 28-pixel baselines use: one
    3x3 convolution at stride 1 and no max-pooling, so the first block still sees 28x28."""
    network = resnet18(num_classes=outputs)
    network.conv1 = nn.Conv2d(in_channels, 64, 3, stride=1, padding=1, bias=False)
    network.maxpool = nn.Identity()
    return network


def preprocess(kind: str, images: torch.Tensor) -> torch.Tensor:
    """Normalised images re-expressed before the network.

    local_contrast: each channel minus its Gaussian-blurred background, times 4 (Graham's
    preprocessing for fundus photographs, Kaggle diabetic retinopathy 2015, at 28 pixels), which
    removes differences of illumination and camera; _stacked keeps the image beside it.
    per_image: each image's channels standardised by their own mean and sd.
    """
    if kind in ("local_contrast", "local_contrast_stacked"):
        contrast = 4 * (images - gaussian_blur(images, [9, 9], [LOCAL_CONTRAST_SIGMA] * 2))
        return contrast if kind == "local_contrast" else torch.cat([images, contrast], 1)
    if kind == "per_image":
        mean = images.mean((2, 3), keepdim=True)
        return (images - mean) / images.std((2, 3), keepdim=True).clamp_min(1e-3)
    return images


def idea_loss(
    idea: Idea, model: ScreenNetwork, inputs: torch.Tensor, targets: torch.Tensor
) -> torch.Tensor:
    """grade_regression: smooth L1 between the predicted and the target (expected) grade."""
    if idea.loss == "grade_regression":
        grades = model.raw_outputs(inputs).squeeze(1)
        return F.smooth_l1_loss(grades, targets @ model.grades)
    return soft_loss(idea.loss, model(inputs), targets)


def averaged_weights(averaged: nn.Module, images: torch.Tensor, batch_size: int) -> nn.Module:
    """The weight average's network, its batch-norm statistics recomputed on the fit images."""
    batches = [normalize(images[i : i + batch_size]) for i in range(0, len(images), batch_size)]
    torch.optim.swa_utils.update_bn(batches, averaged)
    return averaged.module


def train_network(data: ScreenData, idea: Idea, seed: int, device: torch.device) -> nn.Module:
    batch_size = idea.batch_size
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)  # on the CPU, as the package's runs draw
    n_classes = int(data.fit_labels.max()) + 1
    fit_images, fit_labels = data.fit_images.to(device), data.fit_labels.to(device)
    model = ScreenNetwork(idea, data.fit_images.shape[1], n_classes).to(device)
    averaged = None
    if idea.ema_decay > 0:
        ema = torch.optim.swa_utils.get_ema_multi_avg_fn(idea.ema_decay)
        averaged = torch.optim.swa_utils.AveragedModel(model, multi_avg_fn=ema)
    optimizer = torch.optim.AdamW(model.parameters(), lr=idea.lr, weight_decay=idea.weight_decay)
    steps = -(-data.fit_labels.shape[0] // batch_size) * idea.epochs
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=idea.lr, total_steps=steps)
    for _ in range(idea.epochs):
        model.train()
        order = torch.randperm(data.fit_labels.shape[0], generator=generator)
        for start in range(0, order.shape[0], batch_size):
            batch = order[start : start + batch_size]
            inputs = normalize(fit_images[batch])
            if idea.augment == "full":
                inputs = augment_batch(inputs, generator)
            elif idea.augment == "dihedral":
                inputs = random_dihedral(inputs, generator)
            targets = F.one_hot(fit_labels[batch], n_classes).float()
            if idea.mixup_alpha > 0:
                mix = torch.distributions.Beta(idea.mixup_alpha, idea.mixup_alpha).sample()
                partner = torch.randperm(batch.shape[0], generator=generator)
                inputs = mix * inputs + (1 - mix) * inputs[partner]
                targets = mix * targets + (1 - mix) * targets[partner]
            loss = idea_loss(idea, model, inputs, targets)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            if averaged is not None:
                averaged.update_parameters(model)
    if averaged is not None:
        model = averaged_weights(averaged, fit_images, batch_size)
    return model.eval()


def mean_probabilities(models: list[nn.Module], images: torch.Tensor, tta: bool) -> np.ndarray:
    """The networks' mean probabilities, each from the package's own predict_proba (with TTA)."""
    return np.mean([predict_proba(model, images, tta) for model in models], axis=0)


def scores(labels: np.ndarray, probabilities: np.ndarray) -> dict[str, float]:
    return {
        "accuracy": metrics.accuracy(labels, probabilities),
        "auc": metrics.mean_auc(labels, probabilities),
        "balanced_accuracy": metrics.balanced_accuracy(labels, probabilities.argmax(1)),
    }


def screen(
    data: ScreenData, idea: Idea, device: torch.device = CPU
) -> tuple[list[dict[str, float]], float]:
    """Scores per seed, and mean seconds per run (all networks of an ensemble; a blended
    gradient-boosting model is fitted once, outside the timing, since it is deterministic)."""
    gbm = floor_probabilities(data, "gradient boosting on image features") if idea.blend_gbm else 0
    started, runs = time.perf_counter(), []
    for seed in SEEDS:
        models = [train_network(data, idea, seed + 1000 * m, device) for m in range(idea.ensemble)]
        probabilities = mean_probabilities(models, data.score_images.to(device), idea.tta)
        blended = (1 - idea.blend_gbm) * probabilities + idea.blend_gbm * gbm
        runs.append(scores(data.score_labels, blended))
    return runs, (time.perf_counter() - started) / len(SEEDS)


def pooled_pixel_features(images: torch.Tensor) -> np.ndarray:
    """4x4-pooled pixels (7x7x3) and per-channel mean and sd: a linear model's view of an image."""
    pixels = images.permute(0, 2, 3, 1).numpy().astype(np.float32) / 255
    pooled = pixels.reshape(len(pixels), 7, 4, 7, 4, -1).mean((2, 4)).reshape(len(pixels), -1)
    return np.concatenate([pooled, pixels.mean((1, 2)), pixels.std((1, 2))], axis=1)


def image_features(images: torch.Tensor) -> np.ndarray:
    """pooled_pixel_features plus 16-bin colour histograms, mean colour in rings around the
    centre (fundus images are round) and edge strength: what a tree model can split on."""
    pixels = images.permute(0, 2, 3, 1).numpy().astype(np.float32) / 255
    _, height, width, channels = pixels.shape
    histograms = [
        np.stack([np.histogram(image[..., c], bins=16, range=(0, 1))[0] for image in pixels])
        for c in range(channels)
    ]
    rows, columns = np.mgrid[:height, :width]
    radius = np.hypot(rows - (height - 1) / 2, columns - (width - 1) / 2).astype(int) // 2
    rings = [pixels[:, radius == r].mean(1) for r in range(radius.max() + 1)]
    gradient_rows, gradient_columns = np.gradient(pixels.mean(-1), axis=(1, 2))
    edges = np.hypot(gradient_rows, gradient_columns)
    return np.concatenate(
        [
            pooled_pixel_features(images),
            np.concatenate(histograms, 1) / (height * width),
            np.concatenate(rings, 1),
            np.stack([edges.mean((1, 2)), edges.std((1, 2)), (edges > 0.05).mean((1, 2))], 1),
        ],
        axis=1,
    )


FLOORS = {  # deterministic: one run each
    "logistic regression on pooled pixels": (
        pooled_pixel_features,
        lambda: make_pipeline(StandardScaler(), LogisticRegression(C=0.01, max_iter=3000)),
    ),
    "gradient boosting on image features": (
        image_features,
        lambda: HistGradientBoostingClassifier(
            max_iter=200,
            learning_rate=0.05,
            max_leaf_nodes=15,
            l2_regularization=1.0,
            random_state=0,
        ),
    ),
    "random forest on image features": (
        image_features,
        lambda: RandomForestClassifier(500, min_samples_leaf=3, random_state=0),
    ),
}


def floor_probabilities(data: ScreenData, name: str) -> np.ndarray:
    """A model without a CNN, fitted on the fit images: its probabilities on the score images."""
    features, make_model = FLOORS[name]
    model = make_model()
    model.fit(features(data.fit_images), data.fit_labels.numpy())
    return model.predict_proba(features(data.score_images))


def floor_row(data: ScreenData, name: str) -> dict[str, float]:
    """A floor's scores, to show what the CNN rows add."""
    return scores(data.score_labels, floor_probabilities(data, name))


def row(name: str, runs: list[dict[str, float]], seconds: float | None) -> str:
    cells = [
        f"{np.mean([r[key] for r in runs]):.3f} ± {np.std([r[key] for r in runs], ddof=1):.3f}"
        if len(runs) > 1
        else f"{runs[0][key]:.3f}"
        for key in ("accuracy", "auc", "balanced_accuracy")
    ]
    timing = "–" if seconds is None else f"{seconds:.0f}"
    return f"| {name} | {' | '.join(cells)} | {timing} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-root", type=Path, required=True, help="Folder of retinamnist.npz.")
    parser.add_argument("--only", nargs="*", choices=sorted(IDEAS), help="Screen only these.")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default 2).")
    parser.add_argument("--device", default="cpu", help="Where the networks train (cpu, cuda).")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    data = load_screen_data(args.data_root)
    print("| idea | accuracy | AUC | balanced acc. | s/run |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name in FLOORS:
        print(row(name, [floor_row(data, name)], None), flush=True)
    # The ceilings are sized for a GPU (hours on 2 cores): only when --only names them.
    default = [name for name in IDEAS if not name.startswith("ceiling-")]
    for name in args.only or default:
        runs, seconds = screen(data, IDEAS[name], torch.device(args.device))
        print(row(name, runs, seconds), flush=True)


if __name__ == "__main__":
    main()
