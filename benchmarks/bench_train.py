"""Training throughput: reportgen's trainer against a standard medmnist + DataLoader pipeline.

Both train the study's CNN with the same optimiser, batch size and data, in one process on one
machine, so their ratio is meaningful even on a busy machine. Then, given a results.json, prints
the stage breakdown of that `reportgen build`.

    python benchmarks/bench_train.py --data-root ../shared/data --dataset retinamnist
    python benchmarks/bench_train.py --synthetic-dermamnist        # DermaMNIST-sized, no download
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import medmnist
import torch
import torchvision.transforms as T
from torch import nn
from torch.utils.data import DataLoader

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from reportgen.config import BuildConfig
from reportgen.data import load_dataset
from reportgen.model import StudyCNN
from reportgen.train import (
    StepRecipe,
    make_optimizer,
    seed_everything,
    to_device_tensors,
    train_one_epoch,
)


def reference_epochs(
    flag: str, root: Path, config: BuildConfig, device: torch.device, epochs: int
) -> float:
    """Images per second of the textbook pipeline: per-item PIL -> ToTensor -> Normalize -> DataLoader."""
    transform = T.Compose([T.ToTensor(), T.Normalize(mean=[0.5], std=[0.5])])
    dataset = getattr(medmnist, medmnist.INFO[flag]["python_class"])(
        split="train", transform=transform, root=str(root)
    )
    loader = DataLoader(dataset, batch_size=config.batch_size, shuffle=True)
    seed_everything(config.seed)
    model = StudyCNN(medmnist.INFO[flag]["n_channels"], len(medmnist.INFO[flag]["label"])).to(
        device
    )
    optimizer = torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum)
    loss_function = nn.CrossEntropyLoss()
    model.train()
    started = time.perf_counter()
    for _ in range(epochs):
        for images, labels in loader:
            images, labels = images.to(device), labels.squeeze(1).long().to(device)
            loss = loss_function(model(images), labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return epochs * len(dataset) / (time.perf_counter() - started)


def reportgen_epochs(
    flag: str,
    root: Path,
    config: BuildConfig,
    device: torch.device,
    epochs: int,
    precision: str = "fp32",
) -> float:
    """Images per second of reportgen's loop: preloaded uint8 tensors, per-batch normalisation."""
    from reportgen.train import prepare_model

    dataset = load_dataset(flag, root, allow_unofficial=True)
    generator = seed_everything(config.seed)
    model = prepare_model(
        StudyCNN(dataset.train.images.shape[-1], len(dataset.class_names)), device
    )
    optimizer = make_optimizer(model, config)
    images, labels = to_device_tensors(dataset.train, device)
    recipe = StepRecipe(config.batch_size, "shuffle", False, 0.0, nn.CrossEntropyLoss(), precision)
    started = time.perf_counter()
    for _ in range(epochs):
        train_one_epoch(model, optimizer, None, images, labels, recipe, generator)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return epochs * images.shape[0] / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dataset", default="dermamnist")
    parser.add_argument("--data-root", type=Path, default=None)
    parser.add_argument(
        "--synthetic-dermamnist",
        action="store_true",
        help="write a DermaMNIST-sized synthetic file",
    )
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument(
        "--results", type=Path, default=None, help="a results.json whose stage timings to print"
    )
    args = parser.parse_args()

    root = args.data_root
    if args.synthetic_dermamnist:
        from tests.conftest import DERMAMNIST_COUNTS, write_synthetic_npz

        root = Path(tempfile.mkdtemp())
        write_synthetic_npz(root / "dermamnist.npz", DERMAMNIST_COUNTS)
        args.dataset = "dermamnist"
    if root is None:
        parser.error("give --data-root or --synthetic-dermamnist")
    device = torch.device(args.device)
    config = BuildConfig(dataset=args.dataset, device=args.device)
    name = (
        torch.cuda.get_device_name()
        if device.type == "cuda"
        else f"CPU, {torch.get_num_threads()} torch threads"
    )
    print(
        f"device: {name}; dataset: {args.dataset}; epochs: {args.epochs}; batch {config.batch_size}"
    )
    reportgen_epochs(args.dataset, root, config, device, 1)  # warm-up every pipeline before timing
    reportgen_epochs(args.dataset, root, config, device, 1, "bf16")
    reference_epochs(args.dataset, root, config, device, 1)
    reference = reference_epochs(args.dataset, root, config, device, args.epochs)
    ours = reportgen_epochs(args.dataset, root, config, device, args.epochs)
    ours_bf16 = reportgen_epochs(args.dataset, root, config, device, args.epochs, "bf16")
    print(
        f"reference (medmnist Dataset + ToTensor/Normalize + DataLoader): {reference:9.0f} images/s"
    )
    print(
        f"reportgen --precision fp32 (preloaded, channels-last):          {ours:9.0f} images/s"
        f"  {ours / reference:.2f}x"
    )
    print(
        f"reportgen --precision bf16 (the same, bfloat16 autocast):        {ours_bf16:9.0f} images/s"
        f"  {ours_bf16 / reference:.2f}x"
    )
    if args.results is not None:
        timings = json.loads(args.results.read_text())["timings"]
        print("stage breakdown of", args.results)
        for stage, seconds in timings.items():
            print(f"  {stage:<12} {seconds:8.2f} s")
        print(f"  {'total':<12} {sum(timings.values()):8.2f} s")


if __name__ == "__main__":
    main()
